#include "common.hpp"

namespace py = pybind11;

void bind_binarynet(py::module_& m) { (void)m; }
