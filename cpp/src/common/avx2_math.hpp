// AVX2+FMA float exp and log (Cephes polynomials), shared by the AVX2 translation units.
// Include ONLY from files compiled with -mavx2 -mfma (*_avx2.cpp). Everything here has internal
// linkage (anonymous namespace), so no AVX2 code can be picked by the linker for a baseline
// caller (see cmake/check_avx2_isolation.cmake).
#pragma once
#include <immintrin.h>

namespace glasslens::avx2 {
namespace {

// exp(v) for v <= 0 (a logit minus its row maximum): the lower clamp only, since the upper one
// cannot bind there; exp8(v) == exp8_nonpos(min(v, 88.72)) bit for bit.
inline __m256 exp8_nonpos(__m256 v) {
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

// exp(x) for 8 floats, relative error ~2 ulp, inputs clamped to [-87.34, 88.72] (see gemm.hpp:
// exp_inplace).
inline __m256 exp8(__m256 v) { return exp8_nonpos(_mm256_min_ps(v, _mm256_set1_ps(88.7228317f))); }

// Natural log of 8 positive normal floats (Cephes logf polynomial, a few ulp).
inline __m256 log8(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256i xi = _mm256_castps_si256(x);
  __m256 e = _mm256_cvtepi32_ps(
      _mm256_sub_epi32(_mm256_srli_epi32(xi, 23), _mm256_set1_epi32(126)));
  // mantissa in [0.5, 1)
  __m256 m = _mm256_castsi256_ps(_mm256_or_si256(
      _mm256_and_si256(xi, _mm256_set1_epi32(0x007FFFFF)), _mm256_set1_epi32(0x3F000000)));
  const __m256 small = _mm256_cmp_ps(m, _mm256_set1_ps(0.707106781186547524f), _CMP_LT_OQ);
  e = _mm256_sub_ps(e, _mm256_and_ps(one, small));
  m = _mm256_add_ps(_mm256_sub_ps(m, one), _mm256_and_ps(m, small));
  const __m256 z = _mm256_mul_ps(m, m);
  __m256 p = _mm256_set1_ps(7.0376836292e-2f);
  p = _mm256_fmadd_ps(p, m, _mm256_set1_ps(-1.1514610310e-1f));
  p = _mm256_fmadd_ps(p, m, _mm256_set1_ps(1.1676998740e-1f));
  p = _mm256_fmadd_ps(p, m, _mm256_set1_ps(-1.2420140846e-1f));
  p = _mm256_fmadd_ps(p, m, _mm256_set1_ps(1.4249322787e-1f));
  p = _mm256_fmadd_ps(p, m, _mm256_set1_ps(-1.6668057665e-1f));
  p = _mm256_fmadd_ps(p, m, _mm256_set1_ps(2.0000714765e-1f));
  p = _mm256_fmadd_ps(p, m, _mm256_set1_ps(-2.4999993993e-1f));
  p = _mm256_fmadd_ps(p, m, _mm256_set1_ps(3.3333331174e-1f));
  p = _mm256_mul_ps(_mm256_mul_ps(p, m), z);
  p = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.12194440e-4f), p);
  p = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), p);
  __m256 r = _mm256_add_ps(m, p);
  return _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), r);
}

}  // namespace
}  // namespace glasslens::avx2
