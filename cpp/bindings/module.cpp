// The private extension module glasslens._core: creates nothing itself, each area registers
// its functions from its own translation unit.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void bind_info(py::module_& m);
void bind_nn(py::module_& m);
void bind_lap(py::module_& m);
void bind_overlaps(py::module_& m);
void bind_spinmodels(py::module_& m);
void bind_maxent(py::module_& m);
void bind_binarynet(py::module_& m);
void bind_landscape(py::module_& m);
void bind_curvature(py::module_& m);

PYBIND11_MODULE(_core, m) {
  m.doc() = "glasslens C++ core (private; use the glasslens package)";
  bind_info(m);
  bind_nn(m);
  bind_lap(m);
  bind_overlaps(m);
  bind_spinmodels(m);
  bind_maxent(m);
  bind_binarynet(m);
  bind_landscape(m);
  bind_curvature(m);
}
