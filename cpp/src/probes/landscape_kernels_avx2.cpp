// AVX2 + FMA cross-entropy kernels (compiled with -mavx2 -mfma; called only when the CPU has them).
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "common/avx2_math.hpp"
#include "glasslens/probes/landscape.hpp"

namespace glasslens::landscape::detail {

namespace {
// 8 int32 0/-1 masks -> 8 bytes 0/1
inline void store_bytes8(__m256i eq, unsigned char* out) {
  const __m256i one = _mm256_and_si256(eq, _mm256_set1_epi32(1));
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(one), _mm256_extracti128_si256(one, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm_packus_epi16(w, w));
}
template <int G>
inline void block(const float* base, std::int64_t ldc, int C, const std::int32_t* y, float* loss,
                  unsigned char* correct) {
  __m256i yv[G], am[G];
  __m256 m[G], zy[G], s[G];
  for (int g = 0; g < G; ++g) {
    yv[g] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y + 8 * g));
    m[g] = _mm256_loadu_ps(base + 8 * g);
    zy[g] = m[g];
    am[g] = _mm256_setzero_si256();
  }
  __m256i cv = _mm256_setzero_si256();
  const __m256i onei = _mm256_set1_epi32(1);
  for (int c = 1; c < C; ++c) {
    cv = _mm256_add_epi32(cv, onei);
    for (int g = 0; g < G; ++g) {
      const __m256 z = _mm256_loadu_ps(base + c * ldc + 8 * g);
      const __m256 gt = _mm256_cmp_ps(z, m[g], _CMP_GT_OQ);
      m[g] = _mm256_blendv_ps(m[g], z, gt);
      am[g] = _mm256_castps_si256(
          _mm256_blendv_ps(_mm256_castsi256_ps(am[g]), _mm256_castsi256_ps(cv), gt));
      zy[g] = _mm256_blendv_ps(zy[g], z, _mm256_castsi256_ps(_mm256_cmpeq_epi32(yv[g], cv)));
    }
  }
  for (int g = 0; g < G; ++g) s[g] = _mm256_setzero_ps();
  for (int c = 0; c < C; ++c)
    for (int g = 0; g < G; ++g)
      s[g] = _mm256_add_ps(s[g], avx2::exp8_nonpos(_mm256_sub_ps(_mm256_loadu_ps(base + c * ldc + 8 * g), m[g])));
  for (int g = 0; g < G; ++g) {
    _mm256_storeu_ps(loss + 8 * g, _mm256_add_ps(avx2::log8(s[g]), _mm256_sub_ps(m[g], zy[g])));
    store_bytes8(_mm256_cmpeq_epi32(am[g], yv[g]), correct + 8 * g);
  }
}
}  // namespace

void cols_loss_avx2(const float* Zc, std::int64_t ldc, std::int64_t rows, int C,
                    const std::int32_t* y, float* loss, unsigned char* correct) {
  std::int64_t r = 0;
  for (; r + 24 <= rows; r += 24) block<3>(Zc + r, ldc, C, y + r, loss + r, correct + r);
  for (; r + 8 <= rows; r += 8) block<1>(Zc + r, ldc, C, y + r, loss + r, correct + r);
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
    block<1>(zb.data(), 8, C, yb, lb, cb);
    for (std::int64_t k = 0; k < left; ++k) {
      loss[r + k] = lb[k];
      correct[r + k] = cb[k];
    }
  }
}

}  // namespace glasslens::landscape::detail
