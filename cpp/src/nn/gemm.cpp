// Portable GEMM path (baseline target) and the run-time dispatcher. See gemm.hpp.
#include "glasslens/nn/gemm.hpp"

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "gemm_internal.hpp"
#include "glasslens/common/simd.hpp"
#include "common/portable_vec.hpp"

namespace glasslens::gemm {
namespace {

// Portable 4 x 8 microkernel written with GCC/Clang vector extensions (4 floats per vector,
// lowered to SSE2 on x86-64, NEON on arm64, scalars elsewhere): 8 accumulators stay in registers.
using portable::load4;
using portable::v4f;

struct Kern {
  static constexpr int MR = 4, NR = 8;
  static constexpr bool kXentVec = false;  // xentc_scalar: one generic pass

  template <int R>
  static void micro(std::int64_t kc, const float* a, std::int64_t rs, std::int64_t cs,
                    const float* bp, float* c, std::int64_t ldc, int ncols, bool overwrite,
                    const float* bias, bool relu) {
    v4f lo[R], hi[R];
    for (int i = 0; i < R; ++i) {
      lo[i] = v4f{0.0f, 0.0f, 0.0f, 0.0f};
      hi[i] = lo[i];
    }
    for (std::int64_t p = 0; p < kc; ++p) {
      const v4f b0 = load4(bp + p * NR), b1 = load4(bp + p * NR + 4);
      for (int i = 0; i < R; ++i) {
        const float av = a[i * rs + p * cs];
        const v4f va = {av, av, av, av};
        lo[i] += va * b0;
        hi[i] += va * b1;
      }
    }
    float acc[R][NR];
    for (int i = 0; i < R; ++i) {
      __builtin_memcpy(&acc[i][0], &lo[i], sizeof(v4f));
      __builtin_memcpy(&acc[i][4], &hi[i], sizeof(v4f));
    }
    for (int i = 0; i < R; ++i) {
      float* ci = c + i * ldc;
      for (int j = 0; j < ncols; ++j) {
        float v = overwrite ? acc[i][j] : ci[j] + acc[i][j];
        if (bias) v += bias[j];
        if (relu) v = v > 0.0f ? v : 0.0f;
        ci[j] = v;
      }
    }
  }

  static void exp_n(float* x, std::int64_t n) {
    std::int64_t i = 0;
    for (; i + 4 <= n; i += 4) portable::store4(x + i, portable::exp4(load4(x + i)));
    if (i < n) {
      float tmp[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      for (std::int64_t j = i; j < n; ++j) tmp[j - i] = x[j];
      portable::store4(tmp, portable::exp4(load4(tmp)));
      for (std::int64_t j = i; j < n; ++j) x[j] = tmp[j - i];
    }
  }

  static void pack_transposed(std::int64_t kc, const float* B, std::int64_t ldb, float* out) {
    for (int j = 0; j < NR; ++j) {
      const float* src = B + j * ldb;
      for (std::int64_t p = 0; p < kc; ++p) out[p * NR + j] = src[p];
    }
  }

  static void log_n(float* x, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) x[i] = __builtin_logf(x[i]);
  }

  // Same per-sample arithmetic as xent_rows_impl (used by xent_cols on this path).
  static std::int64_t panel_xent(const float* zb, const float* bias, int c, int cnt,
                                 const std::int32_t* y, float* e, float* lse, float* zym) {
    // z = bias_j + zb: the same add as the GEMM's accumulate epilogue on a bias-filled output
    auto z = [&](int j, int i) { return bias ? bias[j] + zb[j * NR + i] : zb[j * NR + i]; };
    float mx[NR];
    int arg[NR];
    for (int i = 0; i < cnt; ++i) {
      mx[i] = z(0, i);
      arg[i] = 0;
    }
    for (int j = 1; j < c; ++j)
      for (int i = 0; i < cnt; ++i)
        if (z(j, i) > mx[i]) {
          mx[i] = z(j, i);
          arg[i] = j;
        }
    for (int j = 0; j < c; ++j)
      for (int i = 0; i < cnt; ++i) e[j * cnt + i] = z(j, i) - mx[i];
    exp_n(e, static_cast<std::int64_t>(c) * cnt);
    std::int64_t correct = 0;
    for (int i = 0; i < cnt; ++i) {
      float sm = 0.0f;
      for (int j = 0; j < c; ++j) sm += e[j * cnt + i];
      lse[i] = sm;
      zym[i] = z(y[i], i) - mx[i];
      correct += (arg[i] == y[i]);
    }
    log_n(lse, cnt);
    return correct;
  }
};

#include "gemm_impl.inc"

// 64-byte aligned (a large vector's data sits 16 bytes into its mapping: unaligned panels make
// half of the microkernel's B loads split cache lines).
float* align64(std::vector<float>& v) {
  const auto addr = reinterpret_cast<std::uintptr_t>(v.data());
  return v.data() + ((64 - addr % 64) % 64) / sizeof(float);
}

float* pack_buffer() {
  thread_local std::vector<float> buf(static_cast<std::size_t>(internal::kPackFloats + 16));
  return align64(buf);
}

bool use_avx2() noexcept { return simd_path() == SimdPath::avx2; }

void driver(std::int64_t m, std::int64_t n, std::int64_t k, const float* A, std::int64_t a_rs,
            std::int64_t a_cs, const float* B, std::int64_t b_rs, std::int64_t b_cs, float* C,
            std::int64_t ldc, bool accumulate, const float* bias, bool relu) {
  if (m <= 0 || n <= 0) return;
  float* pack = pack_buffer();
  if (use_avx2())
    internal::driver_avx2(m, n, k, A, a_rs, a_cs, B, b_rs, b_cs, C, ldc, accumulate, bias, relu,
                          pack);
  else
    internal::driver_scalar(m, n, k, A, a_rs, a_cs, B, b_rs, b_cs, C, ldc, accumulate, bias,
                            relu, pack);
}

}  // namespace

namespace internal {
void driver_scalar(std::int64_t m, std::int64_t n, std::int64_t k, const float* A,
                   std::int64_t a_rs, std::int64_t a_cs, const float* B, std::int64_t b_rs,
                   std::int64_t b_cs, float* C, std::int64_t ldc, bool accumulate,
                   const float* bias, bool relu, float* pack) {
  gemm_driver<Kern>(m, n, k, A, a_rs, a_cs, B, b_rs, b_cs, C, ldc, accumulate, bias, relu, pack);
}
void exp_scalar(float* x, std::int64_t n) { Kern::exp_n(x, n); }
void log_scalar(float* x, std::int64_t n) { Kern::log_n(x, n); }
void sgd_scalar(std::int64_t n, float* theta, float* vel, const float* grad, float lr, float mu,
                float wd) {
  sgd_elements(0, n, theta, vel, grad, lr, mu, wd);
}
double xent_scalar(const float* Z, std::int64_t ldz, std::int64_t n, int c,
                   const std::int32_t* y, float* dZ, std::int64_t lddz, float scale,
                   std::int64_t* n_correct, float* scratch) {
  return xent_rows_impl<Kern>(Z, ldz, n, c, y, dZ, lddz, scale, n_correct, scratch);
}
double xentc_scalar(const float* ZT, std::int64_t ldzt, std::int64_t n, int c,
                    const std::int32_t* y, std::int64_t* n_correct, float* scratch) {
  return xent_cols_generic<Kern>(ZT, ldzt, n, c, y, n_correct, scratch);
}
double mlp2_scalar(std::int64_t n, std::int64_t d0, std::int64_t d1, int c, const float* X,
                   const float* W0, const float* b0, const float* W1, const float* b1,
                   const std::int32_t* y, std::int64_t* n_correct, float* ws) {
  return mlp2_loss_impl<Kern>(n, d0, d1, c, X, W0, b0, W1, b1, y, n_correct, ws);
}
}  // namespace internal

double mlp2_loss(std::int64_t n, std::int64_t d0, std::int64_t d1, int c, const float* X,
                 const float* W0, const float* b0, const float* W1, const float* b1,
                 const std::int32_t* y, std::int64_t* n_correct) {
  if (n <= 0) return 0.0;
  if (d0 < 1 || d1 < 1 || c < 1 || d0 > kFusedMaxK || d1 > kFusedMaxK)
    throw std::invalid_argument("mlp2_loss: needs 1 <= d0, d1 <= kFusedMaxK and c >= 1");
  thread_local std::vector<float> buf;
  const std::int64_t need = mlp2_ws_floats_impl(d0, d1, c) + 16;  // + room to align to 64 B
  if (static_cast<std::int64_t>(buf.size()) < need) buf.resize(static_cast<std::size_t>(need));
  float* ws = align64(buf);
  if (use_avx2()) return internal::mlp2_avx2(n, d0, d1, c, X, W0, b0, W1, b1, y, n_correct, ws);
  return internal::mlp2_scalar(n, d0, d1, c, X, W0, b0, W1, b1, y, n_correct, ws);
}

void gemm_nt(std::int64_t m, std::int64_t n, std::int64_t k, const float* A, std::int64_t lda,
             const float* B, std::int64_t ldb, float* C, std::int64_t ldc, bool accumulate,
             const float* bias, bool relu) {
  driver(m, n, k, A, lda, 1, B, 1, ldb, C, ldc, accumulate, bias, relu);
}

void gemm_nn(std::int64_t m, std::int64_t n, std::int64_t k, const float* A, std::int64_t lda,
             const float* B, std::int64_t ldb, float* C, std::int64_t ldc, bool accumulate) {
  driver(m, n, k, A, lda, 1, B, ldb, 1, C, ldc, accumulate, nullptr, false);
}

void gemm_tn(std::int64_t m, std::int64_t n, std::int64_t k, const float* A, std::int64_t lda,
             const float* B, std::int64_t ldb, float* C, std::int64_t ldc, bool accumulate) {
  driver(m, n, k, A, 1, lda, B, ldb, 1, C, ldc, accumulate, nullptr, false);
}

void exp_inplace(float* x, std::int64_t n) {
  if (n <= 0) return;
  if (use_avx2())
    internal::exp_avx2(x, n);
  else
    internal::exp_scalar(x, n);
}

void sgd_update(std::int64_t n, float* theta, float* vel, const float* grad, float lr, float mu,
                float wd) {
  if (n <= 0) return;
  if (use_avx2())
    internal::sgd_avx2(n, theta, vel, grad, lr, mu, wd);
  else
    internal::sgd_scalar(n, theta, vel, grad, lr, mu, wd);
}

void log_inplace(float* x, std::int64_t n) {
  if (n <= 0) return;
  if (use_avx2())
    internal::log_avx2(x, n);
  else
    internal::log_scalar(x, n);
}

double xent_rows(const float* Z, std::int64_t ldz, std::int64_t n, int c, const std::int32_t* y,
                 float* dZ, std::int64_t lddz, float scale, std::int64_t* n_correct,
                 float* scratch) {
  if (n <= 0) return 0.0;
  if (use_avx2())
    return internal::xent_avx2(Z, ldz, n, c, y, dZ, lddz, scale, n_correct, scratch);
  return internal::xent_scalar(Z, ldz, n, c, y, dZ, lddz, scale, n_correct, scratch);
}

double xent_cols(const float* ZT, std::int64_t ldzt, std::int64_t n, int c, const std::int32_t* y,
                 std::int64_t* n_correct, float* scratch) {
  if (n <= 0) return 0.0;
  if (use_avx2()) return internal::xentc_avx2(ZT, ldzt, n, c, y, n_correct, scratch);
  return internal::xentc_scalar(ZT, ldzt, n, c, y, n_correct, scratch);
}

}  // namespace glasslens::gemm
