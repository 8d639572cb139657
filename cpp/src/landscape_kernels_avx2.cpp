// AVX2 + FMA cross-entropy kernels (compiled with -mavx2 -mfma; called only when the CPU has them).
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "glasslens/landscape.hpp"

namespace glasslens::landscape::detail {

namespace {
// exp(x) for x <= 0 (Cephes-style: 2^n * p(r), |rel err| < 2e-7); x < -87 gives ~0.
inline __m256 exp_neg(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
  const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
  const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 r2 = _mm256_mul_ps(r, r);
  p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
// log(x) for finite x >= 1e-30 (Cephes logf polynomial, a few ulp).
inline __m256 log_pos(__m256 x) {
  const __m256i xi = _mm256_castps_si256(x);
  __m256 e = _mm256_cvtepi32_ps(
      _mm256_sub_epi32(_mm256_srli_epi32(xi, 23), _mm256_set1_epi32(127)));
  __m256 m = _mm256_castsi256_ps(_mm256_or_si256(
      _mm256_and_si256(xi, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f800000)));
  const __m256 big = _mm256_cmp_ps(m, _mm256_set1_ps(1.41421356237f), _CMP_GT_OQ);
  m = _mm256_blendv_ps(m, _mm256_mul_ps(m, _mm256_set1_ps(0.5f)), big);
  e = _mm256_add_ps(e, _mm256_and_ps(big, _mm256_set1_ps(1.0f)));
  const __m256 f = _mm256_sub_ps(m, _mm256_set1_ps(1.0f));
  const __m256 z = _mm256_mul_ps(f, f);
  __m256 p = _mm256_set1_ps(7.0376836292e-2f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.1514610310e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.1676998740e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.2420140846e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.4249322787e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.6668057665e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.0000714765e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-2.4999993993e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(3.3333331174e-1f));
  __m256 yv = _mm256_mul_ps(_mm256_mul_ps(p, f), z);
  yv = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.12194440e-4f), yv);
  yv = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), yv);
  __m256 r = _mm256_add_ps(f, yv);
  return _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), r);
}

// Shared tail of both layouts: loss = log(s) + m - z_y, correct = (argmax == y).
inline void finish8(__m256 s, __m256 m, __m256 zy, __m256i am, const std::int32_t* y, float* loss,
                    unsigned char* correct) {
  const __m256 l = _mm256_add_ps(log_pos(s), _mm256_sub_ps(m, zy));
  _mm256_storeu_ps(loss, l);
  alignas(32) std::int32_t abuf[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(abuf), am);
  for (int k = 0; k < 8; ++k) correct[k] = abuf[k] == y[k] ? 1 : 0;
}
}  // namespace

void cols_loss_avx2(const float* Zc, std::int64_t ldc, std::int64_t rows, int C,
                    const std::int32_t* y, float* loss, unsigned char* correct) {
  std::int64_t r = 0;
  for (; r + 8 <= rows; r += 8) {
    const float* base = Zc + r;
    const __m256i yv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y + r));
    __m256 m = _mm256_loadu_ps(base);
    __m256 zy = m;  // z_y for y == 0
    __m256i am = _mm256_setzero_si256();
    for (int c = 1; c < C; ++c) {
      const __m256 z = _mm256_loadu_ps(base + c * ldc);
      const __m256i cv = _mm256_set1_epi32(c);
      const __m256 gt = _mm256_cmp_ps(z, m, _CMP_GT_OQ);
      m = _mm256_blendv_ps(m, z, gt);
      am = _mm256_castps_si256(
          _mm256_blendv_ps(_mm256_castsi256_ps(am), _mm256_castsi256_ps(cv), gt));
      zy = _mm256_blendv_ps(zy, z, _mm256_castsi256_ps(_mm256_cmpeq_epi32(yv, cv)));
    }
    __m256 s = _mm256_setzero_ps();
    for (int c = 0; c < C; ++c)
      s = _mm256_add_ps(s, exp_neg(_mm256_sub_ps(_mm256_loadu_ps(base + c * ldc), m)));
    finish8(s, m, zy, am, y + r, loss + r, correct + r);
  }
  if (r < rows) {
    const std::int64_t left = rows - r;
    std::vector<float> zb(static_cast<std::size_t>(8) * C);
    std::int32_t yb[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    float lb[8];
    unsigned char cb[8];
    for (std::int64_t k = 0; k < 8; ++k) {
      const std::int64_t src = r + (k < left ? k : left - 1);
      for (int c = 0; c < C; ++c) zb[static_cast<std::size_t>(c) * 8 + k] = Zc[c * ldc + src];
      yb[k] = y[src];
    }
    cols_loss_avx2(zb.data(), 8, 8, C, yb, lb, cb);
    for (std::int64_t k = 0; k < left; ++k) {
      loss[r + k] = lb[k];
      correct[r + k] = cb[k];
    }
  }
}

}  // namespace glasslens::landscape::detail
