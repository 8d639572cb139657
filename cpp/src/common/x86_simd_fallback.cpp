// Builds without the x86 SIMD kernels (ARM, POWER, ... or GLASSLENS_X86_SIMD=OFF): the files with
// AVX2 / AVX-512 intrinsics are left out (CMakeLists.txt), and the AVX2 entry points that the
// run-time dispatchers name are defined here as their portable versions. The dispatchers never
// pick them there (cpu_has_avx2_fma() is false and set_simd_path("avx2") throws), so these exist
// only to link; tests/test_cpp_core.py builds this configuration on x86 too, so a new AVX2 entry
// point without its line here fails the test suite, not just an ARM user's install.
#include "glasslens/common/simd.hpp"

#if !GLASSLENS_HAVE_X86_SIMD

#include <cstdint>

#include "nn/gemm_internal.hpp"
#include "glasslens/maxent/ising.hpp"
#include "glasslens/probes/landscape.hpp"
#include "glasslens/replicas/overlaps.hpp"
#include "glasslens/spinmodels/spinmodels.hpp"

namespace glasslens {

namespace gemm::internal {
void driver_avx2(std::int64_t m, std::int64_t n, std::int64_t k, const float* A,
                 std::int64_t a_rs, std::int64_t a_cs, const float* B, std::int64_t b_rs,
                 std::int64_t b_cs, float* C, std::int64_t ldc, bool accumulate, const float* bias,
                 bool relu, float* pack) {
  driver_scalar(m, n, k, A, a_rs, a_cs, B, b_rs, b_cs, C, ldc, accumulate, bias, relu, pack);
}
void exp_avx2(float* x, std::int64_t n) { exp_scalar(x, n); }
void log_avx2(float* x, std::int64_t n) { log_scalar(x, n); }
void sgd_avx2(std::int64_t n, float* theta, float* vel, const float* grad, float lr, float mu,
              float wd) {
  sgd_scalar(n, theta, vel, grad, lr, mu, wd);
}
double xent_avx2(const float* Z, std::int64_t ldz, std::int64_t n, int c, const std::int32_t* y,
                 float* dZ, std::int64_t lddz, float scale, std::int64_t* n_correct,
                 float* scratch) {
  return xent_scalar(Z, ldz, n, c, y, dZ, lddz, scale, n_correct, scratch);
}
double xentc_avx2(const float* ZT, std::int64_t ldzt, std::int64_t n, int c,
                  const std::int32_t* y, std::int64_t* n_correct, float* scratch) {
  return xentc_scalar(ZT, ldzt, n, c, y, n_correct, scratch);
}
double mlp2_avx2(std::int64_t n, std::int64_t d0, std::int64_t d1, int c, const float* X,
                 const float* W0, const float* b0, const float* W1, const float* b1,
                 const std::int32_t* y, std::int64_t* n_correct, float* ws) {
  return mlp2_scalar(n, d0, d1, c, X, W0, b0, W1, b1, y, n_correct, ws);
}
}  // namespace gemm::internal

namespace ising::detail {
void plm_forward_avx2(const float* XcT, int Np, int S, const float* Wt, int B, float* Hc) {
  plm_forward_scalar(XcT, Np, S, Wt, B, Hc);
}
void plm_backward_avx2(const float* XcT, int Np, int S, const float* R, int B, float* Gc) {
  plm_backward_scalar(XcT, Np, S, R, B, Gc);
}
void plm_loss_avx2(const float* Hc, const float* Sg, const float* hb, int S, int B, float* R,
                   double* loss, float* gh) {
  plm_loss_scalar(Hc, Sg, hb, S, B, R, loss, gh);
}
}  // namespace ising::detail

namespace landscape::detail {
void gaussian_fill_avx2(std::uint64_t seed, std::int64_t k, std::int64_t P, float* u) {
  gaussian_fill_scalar(seed, k, P, u);
}
double sumsq_avx2(const float* a, std::int64_t n) { return sumsq_scalar(a, n); }
void cols_loss_avx2(const float* Zc, std::int64_t ldc, std::int64_t rows, int C,
                    const std::int32_t* y, float* loss, unsigned char* correct) {
  cols_loss_scalar(Zc, ldc, rows, C, y, loss, correct);
}
}  // namespace landscape::detail

namespace overlaps::detail {
void xor_popcount_4x4_avx2(const std::uint64_t* const* a, const std::uint64_t* const* b,
                           std::int64_t L, std::uint64_t* cnt) noexcept {
  xor_popcount_4x4_scalar(a, b, L, cnt);
}
void xor_popcount_4x4_avx512(const std::uint64_t* const* a, const std::uint64_t* const* b,
                             std::int64_t L, std::uint64_t* cnt) noexcept {
  xor_popcount_4x4_scalar(a, b, L, cnt);
}
bool cpu_has_avx512_vpopcntdq() noexcept { return false; }
bool pack_row_i8_avx2(const std::int8_t* row, std::int64_t N, std::uint64_t* out) noexcept {
  bool ok = true;
  for (std::int64_t i = 0; i < N; ++i) {
    out[i / 64] |= static_cast<std::uint64_t>(row[i] < 0) << (i % 64);
    ok = ok && (row[i] == 1 || row[i] == -1);
  }
  return ok;
}
}  // namespace overlaps::detail

namespace spin::detail {
void add_scaled_row_avx2(double* f, const float* J, double c, int n) noexcept {
  add_scaled_row_scalar(f, J, c, n);
}
}  // namespace spin::detail

}  // namespace glasslens

#endif  // !GLASSLENS_HAVE_X86_SIMD
