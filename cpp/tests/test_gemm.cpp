// C++ check and micro-benchmark of the GEMM layer and the fused evaluator (no Python).
// Build with -DGLASSLENS_BUILD_TESTS=ON; run ./test_gemm [--bench]. Exit status 0 = all checks
// passed. With --bench it also prints GFLOP/s of the products used by training and evaluation.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "glasslens/gemm.hpp"
#include "glasslens/mlp.hpp"
#include "glasslens/simd.hpp"

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

template <class F>
double seconds(F&& f, int reps) {
  f();
  double best = 1e30;
  for (int r = 0; r < 3; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) f();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, dt / reps);
  }
  return best;
}

void bench(std::mt19937& g) {
  struct Case { const char* what; i64 m, n, k; int kind; };
  const Case cases[] = {{"forward  X W^T  64x128x784 (nt)", 64, 128, 784, 0},
                        {"weights dZ^T X 128x784x64 (tn)", 128, 784, 64, 2},
                        {"backward dZ W   64x784x128 (nn)", 64, 784, 128, 1},
                        {"eval tile      720x128x784 (nt)", 720, 128, 784, 0},
                        {"small         1000x32x64  (nt)", 1000, 32, 64, 0}};
  for (const auto& c : cases) {
    const auto A = randv(c.m * c.k, g), B = randv(c.n * c.k, g);
    std::vector<float> C(static_cast<std::size_t>(c.m * c.n));
    const double t = seconds([&] {
      if (c.kind == 0) gemm::gemm_nt(c.m, c.n, c.k, A.data(), c.k, B.data(), c.k, C.data(), c.n);
      else if (c.kind == 1) gemm::gemm_nn(c.m, c.n, c.k, A.data(), c.k, B.data(), c.n, C.data(), c.n);
      else gemm::gemm_tn(c.m, c.n, c.k, A.data(), c.m, B.data(), c.n, C.data(), c.n);
    }, 50);
    std::printf("  %-34s %7.1f GFLOP/s\n", c.what, 2.0 * c.m * c.n * c.k / t / 1e9);
  }
  // fused evaluation, one thread: 8 x 784-128-10 on 2,400 samples
  nn::Shape s({784, 128, 10}, true);
  const i64 K = 8, n = 2400;
  const auto th = randv(K * s.n_params(), g);
  const auto X = randv(n * 784, g);
  std::vector<std::int32_t> y(static_cast<std::size_t>(n));
  for (i64 i = 0; i < n; ++i) y[i] = static_cast<std::int32_t>(i % 10);
  std::vector<double> l(K), a(K);
  const double t = seconds([&] { nn::evaluate(s, th.data(), K, X.data(), y.data(), n, l.data(), a.data(), 1); }, 3);
  std::printf("  %-34s %7.1f GFLOP/s\n", "evaluate 8 x 784-128-10, n=2400",
              2.0 * K * n * (784 * 128 + 128 * 10) / t / 1e9);
}

}  // namespace

int main(int argc, char** argv) {
  const bool do_bench = argc > 1 && std::strcmp(argv[1], "--bench") == 0;
  std::mt19937 g(42);
  std::vector<SimdPath> paths = {SimdPath::scalar};
  if (cpu_has_avx2_fma()) paths.push_back(SimdPath::avx2);
  for (SimdPath p : paths) {
    set_simd_path(p);
    const i64 sizes[][3] = {{1, 1, 1}, {7, 13, 300}, {6, 16, 256}, {241, 17, 513},
                            {5, 1100, 9}, {64, 128, 784}, {3, 5, 0}};
    for (const auto& sz : sizes) check(sz[0], sz[1], sz[2], g);
    if (do_bench) {
      std::printf("%s path:\n", simd_path_name(p).c_str());
      bench(g);
    }
  }
  std::printf("%s\n", failures ? "FAILED" : "all gemm checks passed");
  return failures ? 1 : 0;
}
