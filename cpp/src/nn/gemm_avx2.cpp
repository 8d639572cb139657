// AVX2+FMA GEMM path (this file is compiled with -mavx2 -mfma and only called when the CPU
// has both, see simd.hpp). Uses no standard-library templates (see gemm_impl.inc).
#include <immintrin.h>

#include <cstdint>

#include "common/avx2_math.hpp"
#include "gemm_internal.hpp"

namespace glasslens::gemm {
namespace {

struct Kern {
  static constexpr int MR = 6, NR = 16;
  static constexpr bool kXentVec = true;  // xentc_avx2: rows [0, n & ~7) vectorised

  template <int R>
  static inline __attribute__((always_inline)) void micro(
      std::int64_t kc, const float* a, std::int64_t rs, std::int64_t cs, const float* bp,
      float* c, std::int64_t ldc, int ncols, bool overwrite, const float* bias, bool relu) {
    // Named accumulators (unused ones are dead code for R < 6): with arrays GCC keeps the
    // accumulators of the smaller heights in memory.
    const __m256 z = _mm256_setzero_ps();
    __m256 l0 = z, h0 = z, l1 = z, h1 = z, l2 = z, h2 = z, l3 = z, h3 = z, l4 = z, h4 = z,
           l5 = z, h5 = z;
    const float* ap = a;
    for (std::int64_t p = 0; p < kc; ++p) {
      const __m256 b0 = _mm256_loadu_ps(bp);
      const __m256 b1 = _mm256_loadu_ps(bp + 8);
      __m256 av = _mm256_broadcast_ss(ap);
      l0 = _mm256_fmadd_ps(av, b0, l0);
      h0 = _mm256_fmadd_ps(av, b1, h0);
      if constexpr (R > 1) {
        av = _mm256_broadcast_ss(ap + rs);
        l1 = _mm256_fmadd_ps(av, b0, l1);
        h1 = _mm256_fmadd_ps(av, b1, h1);
      }
      if constexpr (R > 2) {
        av = _mm256_broadcast_ss(ap + 2 * rs);
        l2 = _mm256_fmadd_ps(av, b0, l2);
        h2 = _mm256_fmadd_ps(av, b1, h2);
      }
      if constexpr (R > 3) {
        av = _mm256_broadcast_ss(ap + 3 * rs);
        l3 = _mm256_fmadd_ps(av, b0, l3);
        h3 = _mm256_fmadd_ps(av, b1, h3);
      }
      if constexpr (R > 4) {
        av = _mm256_broadcast_ss(ap + 4 * rs);
        l4 = _mm256_fmadd_ps(av, b0, l4);
        h4 = _mm256_fmadd_ps(av, b1, h4);
      }
      if constexpr (R > 5) {
        av = _mm256_broadcast_ss(ap + 5 * rs);
        l5 = _mm256_fmadd_ps(av, b0, l5);
        h5 = _mm256_fmadd_ps(av, b1, h5);
      }
      ap += cs;
      bp += NR;
    }
    const __m256 lo[6] = {l0, l1, l2, l3, l4, l5};
    const __m256 hi[6] = {h0, h1, h2, h3, h4, h5};
    if (ncols == NR) {
      const __m256 zero = _mm256_setzero_ps();
      __m256 bl = zero, bh = zero;
      if (bias) {
        bl = _mm256_loadu_ps(bias);
        bh = _mm256_loadu_ps(bias + 8);
      }
#pragma GCC unroll 6
      for (int i = 0; i < R; ++i) {
        float* ci = c + i * ldc;
        __m256 v0 = lo[i], v1 = hi[i];
        if (!overwrite) {
          v0 = _mm256_add_ps(_mm256_loadu_ps(ci), v0);
          v1 = _mm256_add_ps(_mm256_loadu_ps(ci + 8), v1);
        }
        if (bias) {
          v0 = _mm256_add_ps(v0, bl);
          v1 = _mm256_add_ps(v1, bh);
        }
        if (relu) {
          v0 = _mm256_max_ps(v0, zero);
          v1 = _mm256_max_ps(v1, zero);
        }
        _mm256_storeu_ps(ci, v0);
        _mm256_storeu_ps(ci + 8, v1);
      }
    } else {
      alignas(32) float tmp[R][NR];
      for (int i = 0; i < R; ++i) {
        _mm256_store_ps(&tmp[i][0], lo[i]);
        _mm256_store_ps(&tmp[i][8], hi[i]);
      }
      for (int i = 0; i < R; ++i) {
        float* ci = c + i * ldc;
        for (int j = 0; j < ncols; ++j) {
          float v = overwrite ? tmp[i][j] : ci[j] + tmp[i][j];
          if (bias) v += bias[j];
          if (relu) v = v > 0.0f ? v : 0.0f;
          ci[j] = v;
        }
      }
    }
  }

  // out[p*16 + j] = B[j*ldb + p]: 8x8 register transposes.
  static inline void transpose8(const float* src, std::int64_t ld, float* dst, std::int64_t ldd) {
    __m256 r0 = _mm256_loadu_ps(src + 0 * ld), r1 = _mm256_loadu_ps(src + 1 * ld);
    __m256 r2 = _mm256_loadu_ps(src + 2 * ld), r3 = _mm256_loadu_ps(src + 3 * ld);
    __m256 r4 = _mm256_loadu_ps(src + 4 * ld), r5 = _mm256_loadu_ps(src + 5 * ld);
    __m256 r6 = _mm256_loadu_ps(src + 6 * ld), r7 = _mm256_loadu_ps(src + 7 * ld);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(dst + 0 * ldd, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + 1 * ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
  }

  static void pack_transposed(std::int64_t kc, const float* B, std::int64_t ldb, float* out) {
    std::int64_t p = 0;
    for (; p + 8 <= kc; p += 8) {
      transpose8(B + p, ldb, out + p * NR, NR);
      transpose8(B + 8 * ldb + p, ldb, out + p * NR + 8, NR);
    }
    for (; p < kc; ++p)
      for (int j = 0; j < NR; ++j) out[p * NR + j] = B[j * ldb + p];
  }

  static inline __m256 exp8(__m256 v) { return avx2::exp8(v); }

  static void exp_n(float* x, std::int64_t n) {
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, exp8(_mm256_loadu_ps(x + i)));
    if (i < n) {
      alignas(32) float tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (std::int64_t j = i; j < n; ++j) tmp[j - i] = x[j];
      _mm256_store_ps(tmp, exp8(_mm256_load_ps(tmp)));
      for (std::int64_t j = i; j < n; ++j) x[j] = tmp[j - i];
    }
  }

  static inline __m256 log8(__m256 x) { return avx2::log8(x); }

  static void log_n(float* x, std::int64_t n) {
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, log8(_mm256_loadu_ps(x + i)));
    if (i < n) {
      alignas(32) float tmp[8] = {1, 1, 1, 1, 1, 1, 1, 1};
      for (std::int64_t j = i; j < n; ++j) tmp[j - i] = x[j];
      _mm256_store_ps(tmp, log8(_mm256_load_ps(tmp)));
      for (std::int64_t j = i; j < n; ++j) x[j] = tmp[j - i];
    }
  }

  // Vertical cross-entropy of a 16-sample panel, per sample the same arithmetic as xentc_avx2
  // (and as its generic tail): max / first argmax, exp8(z - max) summed from 0 in class order,
  // log8. Lanes >= cnt are computed on whatever the panel holds and discarded.
  static std::int64_t panel_xent(const float* zb, const float* bias, int c, int cnt,
                                 const std::int32_t* y, float*, float* lse, float* zym) {
    // both 8-sample halves at once (independent chains overlap); z = bias_j + zb (the same add
    // as the GEMM's accumulate epilogue on a bias-filled output)
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    auto row = [&](int j, int h) {
      const __m256 v = _mm256_loadu_ps(zb + j * NR + h);
      return bias ? _mm256_add_ps(_mm256_set1_ps(bias[j]), v) : v;
    };
    __m256 mx0 = row(0, 0), mx1 = row(0, 8);
    __m256i arg0 = _mm256_setzero_si256(), arg1 = _mm256_setzero_si256();
    for (int j = 1; j < c; ++j) {
      const __m256 v0 = row(j, 0), v1 = row(j, 8);
      const __m256 g0 = _mm256_cmp_ps(v0, mx0, _CMP_GT_OQ);
      const __m256 g1 = _mm256_cmp_ps(v1, mx1, _CMP_GT_OQ);
      const __m256 jv = _mm256_castsi256_ps(_mm256_set1_epi32(j));
      mx0 = _mm256_blendv_ps(mx0, v0, g0);
      mx1 = _mm256_blendv_ps(mx1, v1, g1);
      arg0 = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(arg0), jv, g0));
      arg1 = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(arg1), jv, g1));
    }
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (int j = 0; j < c; ++j) {
      s0 = _mm256_add_ps(s0, avx2::exp8_nonpos(_mm256_sub_ps(row(j, 0), mx0)));
      s1 = _mm256_add_ps(s1, avx2::exp8_nonpos(_mm256_sub_ps(row(j, 8), mx1)));
    }
    const __m256i valid0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(cnt), lane);
    const __m256i valid1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(cnt - 8), lane);
    const __m256i y0 = _mm256_maskload_epi32(y, valid0);
    const __m256i y1 = _mm256_maskload_epi32(y + 8, valid1);
    __m256 zy0 = _mm256_i32gather_ps(zb, _mm256_add_epi32(_mm256_slli_epi32(y0, 4), lane), 4);
    __m256 zy1 =
        _mm256_i32gather_ps(zb + 8, _mm256_add_epi32(_mm256_slli_epi32(y1, 4), lane), 4);
    if (bias) {
      zy0 = _mm256_add_ps(_mm256_i32gather_ps(bias, y0, 4), zy0);
      zy1 = _mm256_add_ps(_mm256_i32gather_ps(bias, y1, 4), zy1);
    }
    const unsigned ok0 = static_cast<unsigned>(_mm256_movemask_ps(
        _mm256_castsi256_ps(_mm256_and_si256(_mm256_cmpeq_epi32(arg0, y0), valid0))));
    const unsigned ok1 = static_cast<unsigned>(_mm256_movemask_ps(
        _mm256_castsi256_ps(_mm256_and_si256(_mm256_cmpeq_epi32(arg1, y1), valid1))));
    _mm256_storeu_ps(lse, log8(s0));
    _mm256_storeu_ps(lse + 8, log8(s1));
    _mm256_storeu_ps(zym, _mm256_sub_ps(zy0, mx0));
    _mm256_storeu_ps(zym + 8, _mm256_sub_ps(zy1, mx1));
    const std::int64_t correct = __builtin_popcount(ok0) + __builtin_popcount(ok1);
    return correct;
  }
};

#include "gemm_impl.inc"

}  // namespace

namespace internal {
void driver_avx2(std::int64_t m, std::int64_t n, std::int64_t k, const float* A,
                 std::int64_t a_rs, std::int64_t a_cs, const float* B, std::int64_t b_rs,
                 std::int64_t b_cs, float* C, std::int64_t ldc, bool accumulate,
                 const float* bias, bool relu, float* pack) {
  gemm_driver<Kern>(m, n, k, A, a_rs, a_cs, B, b_rs, b_cs, C, ldc, accumulate, bias, relu, pack);
}
void exp_avx2(float* x, std::int64_t n) { Kern::exp_n(x, n); }
void log_avx2(float* x, std::int64_t n) { Kern::log_n(x, n); }
void sgd_avx2(std::int64_t n, float* theta, float* vel, const float* grad, float lr, float mu,
              float wd) {
  const __m256 vlr = _mm256_set1_ps(lr), vmu = _mm256_set1_ps(mu), vwd = _mm256_set1_ps(wd);
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 th = _mm256_loadu_ps(theta + i);
    const __m256 g = _mm256_add_ps(_mm256_loadu_ps(grad + i), _mm256_mul_ps(vwd, th));
    const __m256 v = _mm256_add_ps(_mm256_mul_ps(vmu, _mm256_loadu_ps(vel + i)), g);
    _mm256_storeu_ps(vel + i, v);
    _mm256_storeu_ps(theta + i, _mm256_sub_ps(th, _mm256_mul_ps(vlr, v)));
  }
  sgd_elements(i, n, theta, vel, grad, lr, mu, wd);
}
double xent_avx2(const float* Z, std::int64_t ldz, std::int64_t n, int c, const std::int32_t* y,
                 float* dZ, std::int64_t lddz, float scale, std::int64_t* n_correct,
                 float* scratch) {
  if (c > 16) return xent_rows_impl<Kern>(Z, ldz, n, c, y, dZ, lddz, scale, n_correct, scratch);
  // Up to 16 classes: one row lives in two registers; max, argmax (first index of the max),
  // exp and sum without branches. Logs are taken afterwards in one vector pass.
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i cc = _mm256_set1_epi32(c);
  const __m256i m0 = _mm256_cmpgt_epi32(cc, lane);
  const __m256i m1 = _mm256_cmpgt_epi32(cc, _mm256_add_epi32(lane, _mm256_set1_epi32(8)));
  const __m256 f0 = _mm256_castsi256_ps(m0), f1 = _mm256_castsi256_ps(m1);
  const __m256 ninf = _mm256_set1_ps(-__builtin_inff());
  const bool two = c > 8;
  float* sums = scratch;
  float* zy = scratch + n;
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const float* z = Z + i * ldz;
    const __m256 z0 = _mm256_blendv_ps(ninf, _mm256_maskload_ps(z, m0), f0);
    const __m256 z1 = two ? _mm256_blendv_ps(ninf, _mm256_maskload_ps(z + 8, m1), f1) : ninf;
    __m256 mx = _mm256_max_ps(z0, z1);
    mx = _mm256_max_ps(mx, _mm256_permute2f128_ps(mx, mx, 1));
    mx = _mm256_max_ps(mx, _mm256_shuffle_ps(mx, mx, 0x4E));
    mx = _mm256_max_ps(mx, _mm256_shuffle_ps(mx, mx, 0xB1));
    const unsigned eq =
        static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(z0, mx, _CMP_EQ_OQ))) |
        (static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(z1, mx, _CMP_EQ_OQ))) << 8);
    const int arg = eq ? __builtin_ctz(eq) : 0;
    const int yi = y[i];
    correct += (arg == yi);
    const __m256 e0 = _mm256_and_ps(Kern::exp8(_mm256_sub_ps(z0, mx)), f0);
    const __m256 e1 = two ? _mm256_and_ps(Kern::exp8(_mm256_sub_ps(z1, mx)), f1)
                          : _mm256_setzero_ps();
    __m256 sv = _mm256_add_ps(e0, e1);
    sv = _mm256_add_ps(sv, _mm256_permute2f128_ps(sv, sv, 1));
    sv = _mm256_add_ps(sv, _mm256_shuffle_ps(sv, sv, 0x4E));
    sv = _mm256_add_ps(sv, _mm256_shuffle_ps(sv, sv, 0xB1));
    const float smax = _mm256_cvtss_f32(mx);
    sums[i] = _mm256_cvtss_f32(sv);
    zy[i] = z[yi] - smax;
    if (dZ) {
      const __m256 inv = _mm256_div_ps(_mm256_set1_ps(scale), sv);
      float* d = dZ + i * lddz;
      _mm256_maskstore_ps(d, m0, _mm256_mul_ps(e0, inv));
      if (two) _mm256_maskstore_ps(d + 8, m1, _mm256_mul_ps(e1, inv));
      d[yi] -= scale;
    }
  }
  Kern::log_n(sums, n);
  double total = 0.0;
  for (std::int64_t i = 0; i < n; ++i)
    total += static_cast<double>(sums[i]) - static_cast<double>(zy[i]);
  if (n_correct) *n_correct += correct;
  return total;
}
double xentc_avx2(const float* ZT, std::int64_t ldzt, std::int64_t n, int c,
                  const std::int32_t* y, std::int64_t* n_correct, float* scratch) {
  // Eight samples per register, one register per class: max / argmax / exp / sum are vertical.
  const std::int64_t nv = n & ~std::int64_t{7};
  float* sums = scratch;
  float* zym = scratch + n;
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i vld = _mm256_set1_epi32(static_cast<int>(ldzt));
  std::int64_t correct = 0;
  for (std::int64_t i0 = 0; i0 < nv; i0 += 8) {
    const float* z = ZT + i0;
    __m256 mx = _mm256_loadu_ps(z);
    __m256i arg = _mm256_setzero_si256();
    for (int j = 1; j < c; ++j) {
      const __m256 v = _mm256_loadu_ps(z + j * ldzt);
      const __m256 gt = _mm256_cmp_ps(v, mx, _CMP_GT_OQ);
      mx = _mm256_blendv_ps(mx, v, gt);
      arg = _mm256_castps_si256(
          _mm256_blendv_ps(_mm256_castsi256_ps(arg), _mm256_castsi256_ps(_mm256_set1_epi32(j)), gt));
    }
    const __m256i yv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y + i0));
    correct += __builtin_popcount(static_cast<unsigned>(
        _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(arg, yv)))));
    __m256 s = _mm256_setzero_ps();
    for (int j = 0; j < c; ++j)
      s = _mm256_add_ps(s, avx2::exp8_nonpos(_mm256_sub_ps(_mm256_loadu_ps(z + j * ldzt), mx)));
    const __m256 zy =
        _mm256_i32gather_ps(z, _mm256_add_epi32(_mm256_mullo_epi32(yv, vld), lane), 4);
    _mm256_storeu_ps(sums + i0, s);
    _mm256_storeu_ps(zym + i0, _mm256_sub_ps(zy, mx));
  }
  Kern::log_n(sums, nv);
  double total = 0.0;
  for (std::int64_t i = 0; i < nv; ++i)
    total += static_cast<double>(sums[i]) - static_cast<double>(zym[i]);
  if (n_correct) *n_correct += correct;
  if (nv < n)
    total += xent_cols_generic<Kern>(ZT + nv, ldzt, n - nv, c, y + nv, n_correct, scratch);
  return total;
}
double mlp2_avx2(std::int64_t n, std::int64_t d0, std::int64_t d1, int c, const float* X,
                 const float* W0, const float* b0, const float* W1, const float* b1,
                 const std::int32_t* y, std::int64_t* n_correct, float* ws) {
  return mlp2_loss_impl<Kern>(n, d0, d1, c, X, W0, b0, W1, b1, y, n_correct, ws);
}
}  // namespace internal

}  // namespace glasslens::gemm
