// The private extension module glasslens._core. It creates nothing itself: the build
// information stays at the top level (bind_info.cpp), and every concept area of the package gets
// one submodule, filled by its own translation unit cpp/bindings/bind_<area>.cpp from the C++
// core in cpp/src/<area>/ (headers cpp/include/glasslens/<area>/). Names inside a submodule
// carry no area prefix: _core.nn.train, _core.probes.random_walk, _core.maxent.plm_fit, ...
// (cpp/RENAMES.md maps the former flat names). Bindings with many scalar settings take an
// options struct (_core.nn.TrainOptions, _core.probes.WalkParams, ...) instead of a long
// positional list.
#include <Python.h>
#include <pybind11/pybind11.h>

#include <exception>

#include "glasslens/common/interrupt.hpp"

namespace py = pybind11;

void bind_info(py::module_& m);
void bind_nn(py::module_& m);
void bind_probes(py::module_& m);
void bind_symmetry(py::module_& m);
void bind_replicas(py::module_& m);
void bind_flatness(py::module_& m);
void bind_spinmodels(py::module_& m);
void bind_maxent(py::module_& m);
void bind_effective_model(py::module_& m);

PYBIND11_MODULE(_core, m) {
  m.doc() = "glasslens C++ core (private; use the glasslens package)";
  // A kernel stopped by Ctrl-C (bindings/common.hpp, KernelScope) raises what Python's SIGINT
  // handler raises (KeyboardInterrupt by default), or KeyboardInterrupt when the signal reached
  // a kernel outside the main thread.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const glasslens::Interrupted&) {
      glasslens::clear_interrupt();
      if (PyErr_CheckSignals() != 0) return;
      PyErr_SetNone(PyExc_KeyboardInterrupt);
    }
  });
  bind_info(m);
  auto nn = m.def_submodule("nn", "MLP engine: GEMM, fused evaluation, loss/gradient, replica SGD");
  bind_nn(nn);
  auto probes = m.def_submodule(
      "probes", "Protocol 1: perturbation probes, affine slices and random walks of the loss");
  bind_probes(probes);
  auto symmetry = m.def_submodule(
      "symmetry", "Protocol 2: linear assignment (single, batched, all replica pairs)");
  bind_symmetry(symmetry);
  auto replicas = m.def_submodule(
      "replicas", "Protocol 3: bit-packed overlaps, Hamming distances, triangle statistics");
  bind_replicas(replicas);
  auto flatness = m.def_submodule(
      "flatness", "Protocol 4: Hessian-vector products and batched loss evaluation");
  bind_flatness(flatness);
  auto spinmodels = m.def_submodule(
      "spinmodels", "SK / Curie-Weiss / paramagnet models by parallel-tempering Monte Carlo");
  bind_spinmodels(spinmodels);
  auto maxent = m.def_submodule(
      "maxent", "Maximum-entropy (Ising) models: sampling, exact moments, pseudo-likelihood, BP");
  bind_maxent(maxent);
  auto effective_model = m.def_submodule(
      "effective_model", "Binary-synapse networks (LR-nets): training, sampling, evaluation");
  bind_effective_model(effective_model);
}
