// Build information and SIMD path control: the top level of glasslens._core.
#include "common.hpp"
#include "glasslens/common/parallel.hpp"
#include "glasslens/common/simd.hpp"

namespace py = pybind11;
using namespace glasslens;

void bind_info(py::module_& m) {
  m.attr("__version__") = GLASSLENS_VERSION;
  m.attr("compiler") = GLASSLENS_COMPILER;
  m.attr("has_openmp") = has_openmp();
  m.def("default_threads", &default_threads, "Default thread count (honours OMP_NUM_THREADS).");
  m.def("cpu_has_avx2_fma", &cpu_has_avx2_fma,
        "Whether the AVX2+FMA kernels can run: this build has them and this CPU supports them.");
  m.attr("has_x86_simd") = static_cast<bool>(GLASSLENS_HAVE_X86_SIMD);
  m.def("simd_path", [] { return simd_path_name(simd_path()); },
        "The SIMD kernel path in use: 'avx2' or 'scalar'.");
  m.def(
      "set_simd_path",
      [](const std::string& name) {
        if (name == "avx2")
          set_simd_path(SimdPath::avx2);
        else if (name == "scalar")
          set_simd_path(SimdPath::scalar);
        else
          throw std::invalid_argument("simd path must be 'avx2' or 'scalar', got '" + name + "'");
      },
      py::arg("name"), "Force the SIMD kernel path ('avx2' or 'scalar').");
}
