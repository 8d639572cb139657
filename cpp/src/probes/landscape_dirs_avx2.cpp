// AVX2 direction kernels (compiled with -mavx2 -mfma; called only when the CPU has them). Eight
// Philox blocks per register (one block per lane), then the shared Box-Muller template of
// landscape_dirs.inc. Every multiply goes through an empty asm barrier so that the compiler can
// never contract it with an add into an FMA: the results equal the portable path bit for bit.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "glasslens/probes/landscape.hpp"
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

// The 32 entries of each of the G groups g0 .. g0+G-1 (blocks 8g .. 8g+7) into out[32 i ..);
// G independent Philox chains interleaved so that their latencies overlap.
template <int G>
inline void groups32(const PhiloxKey& key, std::uint64_t g0, float* out) {
  __m256i c0[G], c1[G], c2[G], c3[G];
  for (int i = 0; i < G; ++i) {
    const std::uint64_t b0 = 8 * (g0 + static_cast<std::uint64_t>(i));
    c0[i] = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(b0))),
                             _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    c1[i] = _mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(b0 >> 32)));
    c2[i] = _mm256_set1_epi32(static_cast<int>(key.c2));
    c3[i] = _mm256_set1_epi32(static_cast<int>(key.c3));
  }
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(0xD2511F53u));
  const __m256i m1 = _mm256_set1_epi32(static_cast<int>(0xCD9E8D57u));
  std::uint32_t k0 = key.k0, k1 = key.k1;
  for (int r = 0; r < 10; ++r) {
    const __m256i vk0 = _mm256_set1_epi32(static_cast<int>(k0));
    const __m256i vk1 = _mm256_set1_epi32(static_cast<int>(k1));
    for (int i = 0; i < G; ++i) {
      __m256i hi0, lo0, hi1, lo1;
      mulhilo(c0[i], m0, hi0, lo0);
      mulhilo(c2[i], m1, hi1, lo1);
      c0[i] = _mm256_xor_si256(_mm256_xor_si256(hi1, c1[i]), vk0);
      c2[i] = _mm256_xor_si256(_mm256_xor_si256(hi0, c3[i]), vk1);
      c1[i] = lo1;
      c3[i] = lo0;
    }
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  for (int i = 0; i < G; ++i) {
    __m256 o1, o2, o3, o4;
    box_muller<VAvx2>(c0[i], c1[i], o1, o2);
    box_muller<VAvx2>(c2[i], c3[i], o3, o4);
    _mm256_storeu_ps(out + 32 * i, o1);
    _mm256_storeu_ps(out + 32 * i + 8, o2);
    _mm256_storeu_ps(out + 32 * i + 16, o3);
    _mm256_storeu_ps(out + 32 * i + 24, o4);
  }
}

}  // namespace

void gaussian_fill_avx2(std::uint64_t seed, std::int64_t k, std::int64_t P, float* u) {
  const PhiloxKey key = philox_key(seed, static_cast<std::uint64_t>(k));
  const std::int64_t full = P / 32;
  std::int64_t g = 0;
  for (; g + 3 <= full; g += 3) groups32<3>(key, static_cast<std::uint64_t>(g), u + 32 * g);
  for (; g < full; ++g) groups32<1>(key, static_cast<std::uint64_t>(g), u + 32 * g);
  if (full * 32 < P) {
    alignas(32) float tmp[32];
    groups32<1>(key, static_cast<std::uint64_t>(full), tmp);
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
