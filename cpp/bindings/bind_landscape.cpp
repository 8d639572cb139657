#include "common.hpp"

namespace py = pybind11;

void bind_landscape(py::module_& m) { (void)m; }
