// C++ check of the GEMM layer (no Python): the three product variants on both SIMD paths against
// a double-precision reference. Build with -DGLASSLENS_BUILD_TESTS=ON; run ./test_gemm. Exit
// status 0 = all checks passed (tests/test_cpp_core.py runs it). Timings of these products and of
// every other hot kernel: bench/cpp/bench_kernels.cpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "glasslens/nn/gemm.hpp"
#include "glasslens/common/simd.hpp"

using namespace glasslens;
using i64 = std::int64_t;

namespace {

int failures = 0;

std::vector<float> randv(i64 n, std::mt19937& g) {
  std::normal_distribution<float> d;
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = d(g);
  return v;
}

// C = A (m x k) * B^T (B: n x k), double reference
void check(i64 m, i64 n, i64 k, std::mt19937& g) {
  const auto A = randv(m * k, g), B = randv(n * k, g);
  std::vector<double> ref(static_cast<std::size_t>(m * n), 0.0);
  for (i64 i = 0; i < m; ++i)
    for (i64 j = 0; j < n; ++j) {
      double s = 0;
      for (i64 p = 0; p < k; ++p) s += static_cast<double>(A[i * k + p]) * B[j * k + p];
      ref[i * n + j] = s;
    }
  std::vector<float> At(static_cast<std::size_t>(k * m)), Bt(static_cast<std::size_t>(k * n));
  for (i64 i = 0; i < m; ++i)
    for (i64 p = 0; p < k; ++p) At[p * m + i] = A[i * k + p];
  for (i64 j = 0; j < n; ++j)
    for (i64 p = 0; p < k; ++p) Bt[p * n + j] = B[j * k + p];
  std::vector<float> C1(static_cast<std::size_t>(m * n)), C2 = C1, C3 = C1;
  gemm::gemm_nt(m, n, k, A.data(), k, B.data(), k, C1.data(), n);
  gemm::gemm_nn(m, n, k, A.data(), k, Bt.data(), n, C2.data(), n);
  gemm::gemm_tn(m, n, k, At.data(), m, Bt.data(), n, C3.data(), n);
  const double tol = 1e-5 * (std::sqrt(static_cast<double>(k)) + 1) * 4;
  for (i64 i = 0; i < m * n; ++i) {
    const double e = std::max({std::fabs(C1[i] - ref[i]), std::fabs(C2[i] - ref[i]),
                               std::fabs(C3[i] - ref[i])});
    if (!(e <= tol)) {
      std::printf("FAIL %s m=%lld n=%lld k=%lld at %lld: err %g\n",
                  simd_path_name(simd_path()).c_str(), (long long)m, (long long)n, (long long)k,
                  (long long)i, e);
      ++failures;
      return;
    }
  }
}

}  // namespace

int main() {
  std::mt19937 g(42);
  std::vector<SimdPath> paths = {SimdPath::scalar};
  if (cpu_has_avx2_fma()) paths.push_back(SimdPath::avx2);
  for (SimdPath p : paths) {
    set_simd_path(p);
    const i64 sizes[][3] = {{1, 1, 1}, {7, 13, 300}, {6, 16, 256}, {241, 17, 513},
                            {5, 1100, 9}, {64, 128, 784}, {3, 5, 0}};
    for (const auto& sz : sizes) check(sz[0], sz[1], sz[2], g);
  }
  std::printf("%s\n", failures ? "FAILED" : "all gemm checks passed");
  return failures ? 1 : 0;
}
