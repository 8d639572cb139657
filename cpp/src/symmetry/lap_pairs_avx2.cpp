// AVX2+FMA Gram kernel of the all-pairs weight matching (see lap_pairs.hpp). No standard-library
// templates here (AVX2 isolation guard).
#include "glasslens/symmetry/lap_pairs.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

namespace glasslens {
namespace lap_pairs_detail {
namespace {

using i64 = std::int64_t;

// R x 16 block of C from R rows of A (read in place, broadcast) and one packed panel.
template <int R>
inline __attribute__((always_inline)) void micro_avx2(i64 kc, const float* a, i64 lda,
                                                      const float* bp, float* c, i64 ldc,
                                                      bool overwrite) {
  __m256 lo[R], hi[R];
  const float* ar[R];
#pragma GCC unroll 6
  for (int i = 0; i < R; ++i) {
    lo[i] = _mm256_setzero_ps();
    hi[i] = _mm256_setzero_ps();
    ar[i] = a + i * lda;
  }
  for (i64 p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(bp);
    const __m256 b1 = _mm256_loadu_ps(bp + 8);
#pragma GCC unroll 6
    for (int i = 0; i < R; ++i) {
      const __m256 av = _mm256_broadcast_ss(ar[i] + p);
      lo[i] = _mm256_fmadd_ps(av, b0, lo[i]);
      hi[i] = _mm256_fmadd_ps(av, b1, hi[i]);
    }
    bp += NR;
  }
#pragma GCC unroll 6
  for (int i = 0; i < R; ++i) {
    float* ci = c + i * ldc;
    __m256 v0 = lo[i], v1 = hi[i];
    if (!overwrite) {
      v0 = _mm256_add_ps(_mm256_loadu_ps(ci), v0);
      v1 = _mm256_add_ps(_mm256_loadu_ps(ci + 8), v1);
    }
    _mm256_storeu_ps(ci, v0);
    _mm256_storeu_ps(ci + 8, v1);
  }
}

}  // namespace

void gram_avx2(i64 m, i64 npan, i64 kc, const float* A, i64 lda, const float* Bp, float* C,
               i64 ldc, bool overwrite) {
  // rows outer: one A micro-panel (MR x kc) stays in L1 while the packed panels stream from L2
  constexpr int MR = 6;
  i64 i = 0;
  for (; i + MR <= m; i += MR)
    for (i64 q = 0; q < npan; ++q)
      micro_avx2<MR>(kc, A + i * lda, lda, Bp + q * kc * NR, C + i * ldc + q * NR, ldc, overwrite);
  for (i64 q = 0; q < npan; ++q) {
    const float* bp = Bp + q * kc * NR;
    const float* a = A + i * lda;
    float* c = C + i * ldc + q * NR;
    switch (m - i) {
      case 1: micro_avx2<1>(kc, a, lda, bp, c, ldc, overwrite); break;
      case 2: micro_avx2<2>(kc, a, lda, bp, c, ldc, overwrite); break;
      case 3: micro_avx2<3>(kc, a, lda, bp, c, ldc, overwrite); break;
      case 4: micro_avx2<4>(kc, a, lda, bp, c, ldc, overwrite); break;
      case 5: micro_avx2<5>(kc, a, lda, bp, c, ldc, overwrite); break;
      default: break;
    }
  }
}

}  // namespace lap_pairs_detail
}  // namespace glasslens
#endif
