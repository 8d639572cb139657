// AVX2+FMA GEMM path (this file is compiled with -mavx2 -mfma and only called when the CPU
// has both, see simd.hpp). Uses no standard-library templates (see gemm_impl.inc).
#include <immintrin.h>

#include <cstdint>

#include "gemm_internal.hpp"

namespace glasslens::gemm {
namespace {

struct Kern {
  static constexpr int MR = 6, NR = 16;

  template <int R>
  static inline __attribute__((always_inline)) void micro(
      std::int64_t kc, const float* a, std::int64_t rs, std::int64_t cs, const float* bp,
      float* c, std::int64_t ldc, int ncols, bool overwrite, const float* bias, bool relu) {
    __m256 lo[R], hi[R];
#pragma GCC unroll 6
    for (int i = 0; i < R; ++i) {
      lo[i] = _mm256_setzero_ps();
      hi[i] = _mm256_setzero_ps();
    }
    const float* ap = a;
    for (std::int64_t p = 0; p < kc; ++p) {
      const __m256 b0 = _mm256_loadu_ps(bp);
      const __m256 b1 = _mm256_loadu_ps(bp + 8);
#pragma GCC unroll 6
      for (int i = 0; i < R; ++i) {
        const __m256 av = _mm256_broadcast_ss(ap + i * rs);
        lo[i] = _mm256_fmadd_ps(av, b0, lo[i]);
        hi[i] = _mm256_fmadd_ps(av, b1, hi[i]);
      }
      ap += cs;
      bp += NR;
    }
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

  static inline __m256 exp8(__m256 v) {
    v = _mm256_min_ps(v, _mm256_set1_ps(88.7228317f));
    v = _mm256_max_ps(v, _mm256_set1_ps(-87.3365448f));
    const __m256 fx = _mm256_floor_ps(
        _mm256_fmadd_ps(v, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
    __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), v);
    r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(
        _mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  }

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
double xent_avx2(const float* Z, std::int64_t ldz, std::int64_t n, int c, const std::int32_t* y,
                 float* dZ, std::int64_t lddz, float scale, std::int64_t* n_correct,
                 float* scratch) {
  return xent_rows_impl<Kern>(Z, ldz, n, c, y, dZ, lddz, scale, n_correct, scratch);
}
}  // namespace internal

}  // namespace glasslens::gemm
