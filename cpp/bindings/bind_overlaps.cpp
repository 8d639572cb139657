#include "common.hpp"

namespace py = pybind11;

void bind_overlaps(py::module_& m) { (void)m; }
