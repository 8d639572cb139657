// AVX2/FMA kernels of the pseudo-likelihood objective (compiled with -mavx2 -mfma; called only when
// simd_path() == avx2). Same contract as the scalar versions in ising_plm.cpp.
#include <immintrin.h>

#include "glasslens/maxent/ising.hpp"

namespace glasslens::ising::detail {

namespace {
// out[r * B + j] = sum_t a[r * a_rs + t * a_ts] * w[t * B + j] for r < 4, j < 16: a 4 x 16 block
// of a product with T terms, accumulated in t order (one FMA per term and output).
inline void block4x16(const float* a, long a_rs, long a_ts, const float* w, int B, int T,
                      float* out) {
  __m256 acc[4][2];
  for (int r = 0; r < 4; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int t = 0; t < T; ++t, a += a_ts, w += B) {
    const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
      const __m256 x = _mm256_broadcast_ss(a + r * a_rs);
      acc[r][0] = _mm256_fmadd_ps(x, w0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x, w1, acc[r][1]);
    }
  }
  for (int r = 0; r < 4; ++r) {
    _mm256_storeu_ps(out + r * B, acc[r][0]);
    _mm256_storeu_ps(out + r * B + 8, acc[r][1]);
  }
}
}  // namespace

// Hc (S x B) = Xc (S x Np) Wt (Np x B), with XcT the transposed samples (Np x S).
void plm_forward_avx2(const float* XcT, int Np, int S, const float* Wt, int B, float* Hc) {
  for (int s0 = 0; s0 < S; s0 += 4)
    for (int b0 = 0; b0 < B; b0 += 16)
      block4x16(XcT + s0, 1, S, Wt + b0, B, Np, Hc + static_cast<long>(s0) * B + b0);
}

// Gc (Np x B) = XcT (Np x S) R (S x B).
void plm_backward_avx2(const float* XcT, int Np, int S, const float* R, int B, float* Gc) {
  for (int j0 = 0; j0 < Np; j0 += 4)
    for (int b0 = 0; b0 < B; b0 += 16)
      block4x16(XcT + static_cast<long>(j0) * S, S, 1, R + b0, B, S,
                Gc + static_cast<long>(j0) * B + b0);
}

}  // namespace glasslens::ising::detail

namespace glasslens::ising::detail {

namespace {
// exp(x) for x <= 0 (Cephes expf polynomial), x clamped at -87.
inline __m256 exp_neg(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(0.693359375f)));
  x = _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(-2.12194440e-4f)));
  __m256 y = _mm256_set1_ps(1.9875691500E-4f);
  y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(1.3981999507E-3f));
  y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(8.3334519073E-3f));
  y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(4.1665795894E-2f));
  y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(1.6666665459E-1f));
  y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(5.0000001201E-1f));
  y = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(y, x), x), x), _mm256_set1_ps(1.0f));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

// log(1 + e) for e in [0, 1] (Cephes logf polynomial on f = e or f = (e - 1) / 2, k = 0 or 1).
inline __m256 log1p_01(__m256 e) {
  const __m256 big = _mm256_cmp_ps(e, _mm256_set1_ps(0.41421356237f), _CMP_GT_OQ);
  const __m256 f = _mm256_blendv_ps(e, _mm256_mul_ps(_mm256_sub_ps(e, _mm256_set1_ps(1.0f)), _mm256_set1_ps(0.5f)), big);
  const __m256 k = _mm256_and_ps(big, _mm256_set1_ps(1.0f));
  const __m256 z = _mm256_mul_ps(f, f);
  __m256 y = _mm256_set1_ps(7.0376836292E-2f);
  y = _mm256_add_ps(_mm256_mul_ps(y, f), _mm256_set1_ps(-1.1514610310E-1f));
  y = _mm256_add_ps(_mm256_mul_ps(y, f), _mm256_set1_ps(1.1676998740E-1f));
  y = _mm256_add_ps(_mm256_mul_ps(y, f), _mm256_set1_ps(-1.2420140846E-1f));
  y = _mm256_add_ps(_mm256_mul_ps(y, f), _mm256_set1_ps(1.4249322787E-1f));
  y = _mm256_add_ps(_mm256_mul_ps(y, f), _mm256_set1_ps(-1.6668057665E-1f));
  y = _mm256_add_ps(_mm256_mul_ps(y, f), _mm256_set1_ps(2.0000714765E-1f));
  y = _mm256_add_ps(_mm256_mul_ps(y, f), _mm256_set1_ps(-2.4999993993E-1f));
  y = _mm256_add_ps(_mm256_mul_ps(y, f), _mm256_set1_ps(3.3333331174E-1f));
  y = _mm256_mul_ps(_mm256_mul_ps(y, f), z);
  y = _mm256_add_ps(y, _mm256_mul_ps(k, _mm256_set1_ps(-2.12194440e-4f)));
  y = _mm256_sub_ps(y, _mm256_mul_ps(z, _mm256_set1_ps(0.5f)));
  return _mm256_add_ps(_mm256_add_ps(f, y), _mm256_mul_ps(k, _mm256_set1_ps(0.693359375f)));
}
}  // namespace

void plm_loss_avx2(const float* Hc, const float* Sg, const float* hb, int S, int B, float* R,
                   double* loss, float* gh) {
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 one = _mm256_set1_ps(1.0f), m2 = _mm256_set1_ps(-2.0f), zero = _mm256_setzero_ps();
  for (int b0 = 0; b0 < B; b0 += 8) {
    const __m256 h = _mm256_loadu_ps(hb + b0);
    __m256d L0 = _mm256_loadu_pd(loss + b0), L1 = _mm256_loadu_pd(loss + b0 + 4);
    __m256 G = _mm256_loadu_ps(gh + b0);
    for (int s = 0; s < S; ++s) {
      const long o = static_cast<long>(s) * B + b0;
      const __m256 sg = _mm256_loadu_ps(Sg + o);
      const __m256 t = _mm256_mul_ps(_mm256_mul_ps(m2, sg), _mm256_add_ps(_mm256_loadu_ps(Hc + o), h));
      const __m256 e = exp_neg(_mm256_sub_ps(zero, _mm256_and_ps(t, absmask)));
      const __m256 sp = _mm256_add_ps(_mm256_max_ps(t, zero), log1p_01(e));
      const __m256 l = _mm256_mul_ps(_mm256_mul_ps(sg, sg), sp);
      L0 = _mm256_add_pd(L0, _mm256_cvtps_pd(_mm256_castps256_ps128(l)));
      L1 = _mm256_add_pd(L1, _mm256_cvtps_pd(_mm256_extractf128_ps(l, 1)));
      const __m256 inv = _mm256_div_ps(one, _mm256_add_ps(one, e));
      const __m256 sig = _mm256_blendv_ps(_mm256_mul_ps(e, inv), inv, _mm256_cmp_ps(t, zero, _CMP_GE_OQ));
      const __m256 r = _mm256_mul_ps(_mm256_mul_ps(m2, sg), sig);
      _mm256_storeu_ps(R + o, r);
      G = _mm256_add_ps(G, r);
    }
    _mm256_storeu_pd(loss + b0, L0);
    _mm256_storeu_pd(loss + b0 + 4, L1);
    _mm256_storeu_ps(gh + b0, G);
  }
}

}  // namespace glasslens::ising::detail
