// AVX2 + FMA dense-layer kernel (compiled with -mavx2 -mfma; called only when the CPU has them).
#include <immintrin.h>

#include "glasslens/landscape.hpp"

namespace glasslens::landscape::detail {

namespace {
template <int ROWS>
inline void block16(const float* A, std::int64_t lda, int din, const float* WT, int dpad,
                    const float* b, float* Z, int c0, bool relu) {
  __m256 acc0[ROWS], acc1[ROWS];
  const __m256 b0 = b ? _mm256_loadu_ps(b + c0) : _mm256_setzero_ps();
  const __m256 b1 = b ? _mm256_loadu_ps(b + c0 + 8) : _mm256_setzero_ps();
  for (int r = 0; r < ROWS; ++r) {
    acc0[r] = b0;
    acc1[r] = b1;
  }
  for (int i = 0; i < din; ++i) {
    const float* w = WT + static_cast<std::int64_t>(i) * dpad + c0;
    const __m256 w0 = _mm256_loadu_ps(w);
    const __m256 w1 = _mm256_loadu_ps(w + 8);
    for (int r = 0; r < ROWS; ++r) {
      const __m256 a = _mm256_broadcast_ss(A + r * lda + i);
      acc0[r] = _mm256_fmadd_ps(a, w0, acc0[r]);
      acc1[r] = _mm256_fmadd_ps(a, w1, acc1[r]);
    }
  }
  const __m256 zero = _mm256_setzero_ps();
  for (int r = 0; r < ROWS; ++r) {
    if (relu) {
      acc0[r] = _mm256_max_ps(acc0[r], zero);
      acc1[r] = _mm256_max_ps(acc1[r], zero);
    }
    _mm256_storeu_ps(Z + static_cast<std::int64_t>(r) * dpad + c0, acc0[r]);
    _mm256_storeu_ps(Z + static_cast<std::int64_t>(r) * dpad + c0 + 8, acc1[r]);
  }
}

template <int ROWS>
inline void block8(const float* A, std::int64_t lda, int din, const float* WT, int dpad,
                   const float* b, float* Z, int c0, bool relu) {
  __m256 acc[ROWS];
  const __m256 b0 = b ? _mm256_loadu_ps(b + c0) : _mm256_setzero_ps();
  for (int r = 0; r < ROWS; ++r) acc[r] = b0;
  for (int i = 0; i < din; ++i) {
    const __m256 w0 = _mm256_loadu_ps(WT + static_cast<std::int64_t>(i) * dpad + c0);
    for (int r = 0; r < ROWS; ++r)
      acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(A + r * lda + i), w0, acc[r]);
  }
  const __m256 zero = _mm256_setzero_ps();
  for (int r = 0; r < ROWS; ++r) {
    if (relu) acc[r] = _mm256_max_ps(acc[r], zero);
    _mm256_storeu_ps(Z + static_cast<std::int64_t>(r) * dpad + c0, acc[r]);
  }
}

template <int ROWS>
inline void rows_block(const float* A, std::int64_t lda, int din, const float* WT, int dpad,
                       const float* b, float* Z, bool relu) {
  int c = 0;
  for (; c + 16 <= dpad; c += 16) block16<ROWS>(A, lda, din, WT, dpad, b, Z, c, relu);
  for (; c + 8 <= dpad; c += 8) block8<ROWS>(A, lda, din, WT, dpad, b, Z, c, relu);
}
}  // namespace

void dense_layer_avx2(const float* A, std::int64_t lda, std::int64_t n, int din, const float* WT,
                      const float* b, int dpad, float* Z, bool relu) {
  std::int64_t r = 0;
  for (; r + 4 <= n; r += 4) rows_block<4>(A + r * lda, lda, din, WT, dpad, b, Z + r * dpad, relu);
  for (; r < n; ++r) rows_block<1>(A + r * lda, lda, din, WT, dpad, b, Z + r * dpad, relu);
}

}  // namespace glasslens::landscape::detail
