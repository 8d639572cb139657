#include "common.hpp"

namespace py = pybind11;

void bind_spinmodels(py::module_& m) { (void)m; }
