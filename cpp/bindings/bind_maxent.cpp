#include "common.hpp"

namespace py = pybind11;

void bind_maxent(py::module_& m) { (void)m; }
