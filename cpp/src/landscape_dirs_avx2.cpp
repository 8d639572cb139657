// AVX2 direction kernels (compiled with -mavx2 -mfma; called only when the CPU has them). Eight
// Philox blocks per register (one block per lane), then the shared Box-Muller template of
// landscape_dirs.inc. Every multiply goes through an empty asm barrier so that the compiler can
// never contract it with an add into an FMA: the results equal the portable path bit for bit.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "glasslens/landscape.hpp"
#include "landscape_dirs.inc"

namespace glasslens::landscape::detail {

namespace {

struct VAvx2 {
  using F = __m256;
  using I = __m256i;
  static F set1(float v) { return _mm256_set1_ps(v); }
  static I set1_i(std::uint32_t v) { return _mm256_set1_epi32(static_cast<int>(v)); }
  static F mul(F a, F b) {
    F r = _mm256_mul_ps(a, b);
    __asm__("" : "+x"(r));
    return r;
  }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F sqrt(F a) { return _mm256_sqrt_ps(a); }
  static F cvt(I a) { return _mm256_cvtepi32_ps(a); }
  static I as_i(F a) { return _mm256_castps_si256(a); }
  static F as_f(I a) { return _mm256_castsi256_ps(a); }
  static I srl(I a, int n) { return _mm256_srli_epi32(a, n); }
  static I sll(I a, int n) { return _mm256_slli_epi32(a, n); }
  static I add_i(I a, I b) { return _mm256_add_epi32(a, b); }
  static I sub_i(I a, I b) { return _mm256_sub_epi32(a, b); }
  static I and_i(I a, I b) { return _mm256_and_si256(a, b); }
  static I or_i(I a, I b) { return _mm256_or_si256(a, b); }
  static I xor_i(I a, I b) { return _mm256_xor_si256(a, b); }
  static I cmpgt(F a, F b) { return _mm256_castps_si256(_mm256_cmp_ps(a, b, _CMP_GT_OQ)); }
  static I cmpeq_i(I a, I b) { return _mm256_cmpeq_epi32(a, b); }
  static F select(I m, F a, F b) { return _mm256_blendv_ps(b, a, _mm256_castsi256_ps(m)); }
};

inline void mulhilo(__m256i a, __m256i m, __m256i& hi, __m256i& lo) {
  const __m256i pe = _mm256_mul_epu32(a, m);
  const __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
  lo = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
}

// The 32 entries of group g (blocks 8g .. 8g+7) into out[0..32).
inline void group32(const PhiloxKey& key, std::uint64_t g, float* out) {
  const std::uint64_t b0 = 8 * g;
  __m256i c0 = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(b0))),
                                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  __m256i c1 = _mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(b0 >> 32)));
  __m256i c2 = _mm256_set1_epi32(static_cast<int>(key.c2));
  __m256i c3 = _mm256_set1_epi32(static_cast<int>(key.c3));
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(0xD2511F53u));
  const __m256i m1 = _mm256_set1_epi32(static_cast<int>(0xCD9E8D57u));
  std::uint32_t k0 = key.k0, k1 = key.k1;
  for (int r = 0; r < 10; ++r) {
    __m256i hi0, lo0, hi1, lo1;
    mulhilo(c0, m0, hi0, lo0);
    mulhilo(c2, m1, hi1, lo1);
    const __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1),
                                        _mm256_set1_epi32(static_cast<int>(k0)));
    const __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3),
                                        _mm256_set1_epi32(static_cast<int>(k1)));
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  __m256 o1, o2, o3, o4;
  box_muller<VAvx2>(c0, c1, o1, o2);
  box_muller<VAvx2>(c2, c3, o3, o4);
  _mm256_storeu_ps(out, o1);
  _mm256_storeu_ps(out + 8, o2);
  _mm256_storeu_ps(out + 16, o3);
  _mm256_storeu_ps(out + 24, o4);
}

}  // namespace

void gaussian_fill_avx2(std::uint64_t seed, std::int64_t k, std::int64_t P, float* u) {
  const PhiloxKey key = philox_key(seed, static_cast<std::uint64_t>(k));
  const std::int64_t full = P / 32;
  for (std::int64_t g = 0; g < full; ++g) group32(key, static_cast<std::uint64_t>(g), u + 32 * g);
  if (full * 32 < P) {
    alignas(32) float tmp[32];
    group32(key, static_cast<std::uint64_t>(full), tmp);
    std::memcpy(u + full * 32, tmp, sizeof(float) * static_cast<std::size_t>(P - full * 32));
  }
}

double sumsq_avx2(const float* a, std::int64_t n) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256d v0 = _mm256_cvtps_pd(_mm_loadu_ps(a + i));
    const __m256d v1 = _mm256_cvtps_pd(_mm_loadu_ps(a + i + 4));
    // products of two floats are exact in double, so an FMA here gives the same bits
    s0 = _mm256_add_pd(s0, _mm256_mul_pd(v0, v0));
    s1 = _mm256_add_pd(s1, _mm256_mul_pd(v1, v1));
  }
  alignas(32) double s[8];
  _mm256_store_pd(s, s0);
  _mm256_store_pd(s + 4, s1);
  for (std::int64_t t = 0; i < n; ++i, ++t) s[t] += static_cast<double>(a[i]) * a[i];
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

}  // namespace glasslens::landscape::detail
