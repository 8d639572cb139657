// AVX2/FMA kernels of the pseudo-likelihood objective (compiled with -mavx2 -mfma; called only when
// simd_path() == avx2). Same contract as the scalar versions in ising_plm.cpp.
#include <immintrin.h>

#include "glasslens/ising.hpp"

namespace glasslens::ising::detail {

void plm_forward_avx2(const float* XcT, int Np, int S, const float* Wt, int B, float* Hc) {
  for (int s0 = 0; s0 < S; s0 += 4) {
    for (int b0 = 0; b0 < B; b0 += 16) {
      __m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps();
      __m256 a10 = _mm256_setzero_ps(), a11 = _mm256_setzero_ps();
      __m256 a20 = _mm256_setzero_ps(), a21 = _mm256_setzero_ps();
      __m256 a30 = _mm256_setzero_ps(), a31 = _mm256_setzero_ps();
      const float* w = Wt + b0;
      const float* x = XcT + s0;
      for (int j = 0; j < Np; ++j, w += B, x += S) {
        const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
        const __m256 x0 = _mm256_broadcast_ss(x), x1 = _mm256_broadcast_ss(x + 1);
        const __m256 x2 = _mm256_broadcast_ss(x + 2), x3 = _mm256_broadcast_ss(x + 3);
        a00 = _mm256_fmadd_ps(x0, w0, a00);
        a01 = _mm256_fmadd_ps(x0, w1, a01);
        a10 = _mm256_fmadd_ps(x1, w0, a10);
        a11 = _mm256_fmadd_ps(x1, w1, a11);
        a20 = _mm256_fmadd_ps(x2, w0, a20);
        a21 = _mm256_fmadd_ps(x2, w1, a21);
        a30 = _mm256_fmadd_ps(x3, w0, a30);
        a31 = _mm256_fmadd_ps(x3, w1, a31);
      }
      float* o = Hc + static_cast<long>(s0) * B + b0;
      _mm256_storeu_ps(o, a00);
      _mm256_storeu_ps(o + 8, a01);
      _mm256_storeu_ps(o + B, a10);
      _mm256_storeu_ps(o + B + 8, a11);
      _mm256_storeu_ps(o + 2 * B, a20);
      _mm256_storeu_ps(o + 2 * B + 8, a21);
      _mm256_storeu_ps(o + 3 * B, a30);
      _mm256_storeu_ps(o + 3 * B + 8, a31);
    }
  }
}

void plm_backward_avx2(const float* XcT, int Np, int S, const float* R, int B, float* Gc) {
  for (int j0 = 0; j0 < Np; j0 += 4) {
    const float* x0p = XcT + static_cast<long>(j0) * S;
    const float* x1p = x0p + S;
    const float* x2p = x1p + S;
    const float* x3p = x2p + S;
    for (int b0 = 0; b0 < B; b0 += 16) {
      __m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps();
      __m256 a10 = _mm256_setzero_ps(), a11 = _mm256_setzero_ps();
      __m256 a20 = _mm256_setzero_ps(), a21 = _mm256_setzero_ps();
      __m256 a30 = _mm256_setzero_ps(), a31 = _mm256_setzero_ps();
      const float* r = R + b0;
      for (int s = 0; s < S; ++s, r += B) {
        const __m256 r0 = _mm256_loadu_ps(r), r1 = _mm256_loadu_ps(r + 8);
        const __m256 x0 = _mm256_broadcast_ss(x0p + s), x1 = _mm256_broadcast_ss(x1p + s);
        const __m256 x2 = _mm256_broadcast_ss(x2p + s), x3 = _mm256_broadcast_ss(x3p + s);
        a00 = _mm256_fmadd_ps(x0, r0, a00);
        a01 = _mm256_fmadd_ps(x0, r1, a01);
        a10 = _mm256_fmadd_ps(x1, r0, a10);
        a11 = _mm256_fmadd_ps(x1, r1, a11);
        a20 = _mm256_fmadd_ps(x2, r0, a20);
        a21 = _mm256_fmadd_ps(x2, r1, a21);
        a30 = _mm256_fmadd_ps(x3, r0, a30);
        a31 = _mm256_fmadd_ps(x3, r1, a31);
      }
      float* o = Gc + static_cast<long>(j0) * B + b0;
      _mm256_storeu_ps(o, a00);
      _mm256_storeu_ps(o + 8, a01);
      _mm256_storeu_ps(o + B, a10);
      _mm256_storeu_ps(o + B + 8, a11);
      _mm256_storeu_ps(o + 2 * B, a20);
      _mm256_storeu_ps(o + 2 * B + 8, a21);
      _mm256_storeu_ps(o + 3 * B, a30);
      _mm256_storeu_ps(o + 3 * B + 8, a31);
    }
  }
}

}  // namespace glasslens::ising::detail
