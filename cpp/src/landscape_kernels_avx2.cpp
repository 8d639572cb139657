// AVX2 + FMA cross-entropy kernels (compiled with -mavx2 -mfma; called only when the CPU has them).
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "avx2_math.hpp"
#include "glasslens/landscape.hpp"

namespace glasslens::landscape::detail {

namespace {
// Shared tail of both layouts: loss = log(s) + m - z_y, correct = (argmax == y).
inline void finish8(__m256 s, __m256 m, __m256 zy, __m256i am, const std::int32_t* y, float* loss,
                    unsigned char* correct) {
  const __m256 l = _mm256_add_ps(avx2::log8(s), _mm256_sub_ps(m, zy));
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
      s = _mm256_add_ps(s, avx2::exp8(_mm256_sub_ps(_mm256_loadu_ps(base + c * ldc), m)));
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
