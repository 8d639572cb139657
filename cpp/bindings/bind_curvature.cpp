#include "common.hpp"

namespace py = pybind11;

void bind_curvature(py::module_& m) { (void)m; }
