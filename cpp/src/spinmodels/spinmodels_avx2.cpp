// AVX2 kernel for the local-field update of the Monte Carlo (compiled with -mavx2 -mfma).
// Uses mul + add (no FMA contraction) so results equal the scalar path bit for bit.
#include <immintrin.h>

#include "glasslens/spinmodels/spinmodels.hpp"

namespace glasslens::spin::detail {

void add_scaled_row_avx2(double* f, const float* J, double c, int n) noexcept {
  const __m256d vc = _mm256_set1_pd(c);
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 jv = _mm256_loadu_ps(J + j);
    const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(jv));
    const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(jv, 1));
    _mm256_storeu_pd(f + j, _mm256_add_pd(_mm256_loadu_pd(f + j), _mm256_mul_pd(vc, lo)));
    _mm256_storeu_pd(f + j + 4, _mm256_add_pd(_mm256_loadu_pd(f + j + 4), _mm256_mul_pd(vc, hi)));
  }
  for (; j < n; ++j) f[j] += c * static_cast<double>(J[j]);
}

}  // namespace glasslens::spin::detail
