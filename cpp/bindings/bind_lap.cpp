#include "common.hpp"

namespace py = pybind11;

void bind_lap(py::module_& m) { (void)m; }
