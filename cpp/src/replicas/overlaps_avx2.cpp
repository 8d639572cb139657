// SIMD micro-kernels for the XOR/popcount overlaps (compiled with -mavx2 -mfma; the AVX-512
// kernel additionally carries a function-level target attribute and is only called after a
// run-time check of avx512f + avx512vpopcntdq).
#include <immintrin.h>

#include "glasslens/replicas/overlaps.hpp"

namespace glasslens::overlaps::detail {

namespace {
// Muła's nibble-lookup popcount: bytes of v -> per-byte bit counts.
inline __m256i popcnt_bytes(__m256i v, __m256i lut, __m256i low) noexcept {
  const __m256i lo = _mm256_and_si256(v, low);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
  return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

inline std::uint64_t hsum_u64(__m256i v) noexcept {
  alignas(32) std::uint64_t t[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(t), v);
  return t[0] + t[1] + t[2] + t[3];
}
}  // namespace

void xor_popcount_4x4_avx2(const std::uint64_t* const* a, const std::uint64_t* const* b,
                           std::int64_t L, std::uint64_t* cnt) noexcept {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1,
                                       2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i zero = _mm256_setzero_si256();
  const std::int64_t nv = L / 4;  // 256-bit vectors per row
  // 2 x 2 register blocks: 4 byte accumulators, flushed to 64-bit lanes every <= 28 vectors
  // (each vector adds at most 8 per byte: 28 * 8 = 224 < 256).
  for (int r0 = 0; r0 < 4; r0 += 2) {
    for (int c0 = 0; c0 < 4; c0 += 2) {
      const __m256i* A0 = reinterpret_cast<const __m256i*>(a[r0]);
      const __m256i* A1 = reinterpret_cast<const __m256i*>(a[r0 + 1]);
      const __m256i* B0 = reinterpret_cast<const __m256i*>(b[c0]);
      const __m256i* B1 = reinterpret_cast<const __m256i*>(b[c0 + 1]);
      __m256i s00 = zero, s01 = zero, s10 = zero, s11 = zero;
      for (std::int64_t v0 = 0; v0 < nv; v0 += 28) {
        const std::int64_t v1 = v0 + 28 < nv ? v0 + 28 : nv;
        __m256i t00 = zero, t01 = zero, t10 = zero, t11 = zero;
        for (std::int64_t v = v0; v < v1; ++v) {
          const __m256i x0 = _mm256_loadu_si256(A0 + v), x1 = _mm256_loadu_si256(A1 + v);
          const __m256i y0 = _mm256_loadu_si256(B0 + v), y1 = _mm256_loadu_si256(B1 + v);
          t00 = _mm256_add_epi8(t00, popcnt_bytes(_mm256_xor_si256(x0, y0), lut, low));
          t01 = _mm256_add_epi8(t01, popcnt_bytes(_mm256_xor_si256(x0, y1), lut, low));
          t10 = _mm256_add_epi8(t10, popcnt_bytes(_mm256_xor_si256(x1, y0), lut, low));
          t11 = _mm256_add_epi8(t11, popcnt_bytes(_mm256_xor_si256(x1, y1), lut, low));
        }
        s00 = _mm256_add_epi64(s00, _mm256_sad_epu8(t00, zero));
        s01 = _mm256_add_epi64(s01, _mm256_sad_epu8(t01, zero));
        s10 = _mm256_add_epi64(s10, _mm256_sad_epu8(t10, zero));
        s11 = _mm256_add_epi64(s11, _mm256_sad_epu8(t11, zero));
      }
      cnt[4 * r0 + c0] += hsum_u64(s00);
      cnt[4 * r0 + c0 + 1] += hsum_u64(s01);
      cnt[4 * (r0 + 1) + c0] += hsum_u64(s10);
      cnt[4 * (r0 + 1) + c0 + 1] += hsum_u64(s11);
    }
  }
}

__attribute__((target("avx512f,avx512vpopcntdq"))) void xor_popcount_4x4_avx512(
    const std::uint64_t* const* a, const std::uint64_t* const* b, std::int64_t L,
    std::uint64_t* cnt) noexcept {
  __m512i s[16];
  for (int k = 0; k < 16; ++k) s[k] = _mm512_setzero_si512();
  for (std::int64_t w = 0; w < L; w += 8) {
    const __m512i y0 = _mm512_loadu_si512(b[0] + w), y1 = _mm512_loadu_si512(b[1] + w);
    const __m512i y2 = _mm512_loadu_si512(b[2] + w), y3 = _mm512_loadu_si512(b[3] + w);
    for (int r = 0; r < 4; ++r) {
      const __m512i x = _mm512_loadu_si512(a[r] + w);
      s[4 * r + 0] = _mm512_add_epi64(s[4 * r + 0], _mm512_popcnt_epi64(_mm512_xor_si512(x, y0)));
      s[4 * r + 1] = _mm512_add_epi64(s[4 * r + 1], _mm512_popcnt_epi64(_mm512_xor_si512(x, y1)));
      s[4 * r + 2] = _mm512_add_epi64(s[4 * r + 2], _mm512_popcnt_epi64(_mm512_xor_si512(x, y2)));
      s[4 * r + 3] = _mm512_add_epi64(s[4 * r + 3], _mm512_popcnt_epi64(_mm512_xor_si512(x, y3)));
    }
  }
  alignas(64) std::uint64_t t[8];
  for (int k = 0; k < 16; ++k) {
    _mm512_store_si512(t, s[k]);
    cnt[k] += t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
  }
}

bool pack_row_i8_avx2(const std::int8_t* row, std::int64_t N, std::uint64_t* out) noexcept {
  const __m256i one = _mm256_set1_epi8(1), minus = _mm256_set1_epi8(-1);
  std::int64_t w0 = 0;
  for (; w0 + 64 <= N; w0 += 64) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + w0));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + w0 + 32));
    const __m256i na = _mm256_cmpeq_epi8(a, minus), nb = _mm256_cmpeq_epi8(b, minus);
    const __m256i ok = _mm256_and_si256(_mm256_or_si256(na, _mm256_cmpeq_epi8(a, one)),
                                        _mm256_or_si256(nb, _mm256_cmpeq_epi8(b, one)));
    if (static_cast<std::uint32_t>(_mm256_movemask_epi8(ok)) != 0xffffffffu) return false;
    const std::uint64_t lo = static_cast<std::uint32_t>(_mm256_movemask_epi8(na));
    const std::uint64_t hi = static_cast<std::uint32_t>(_mm256_movemask_epi8(nb));
    out[w0 >> 6] = lo | (hi << 32);
  }
  if (w0 < N) {
    std::uint64_t word = 0;
    for (std::int64_t b = 0; w0 + b < N; ++b) {
      const std::int8_t v = row[w0 + b];
      if (v != 1 && v != -1) return false;
      word |= static_cast<std::uint64_t>(v < 0) << b;
    }
    out[w0 >> 6] = word;
  }
  return true;
}

bool cpu_has_avx512_vpopcntdq() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
#else
  return false;
#endif
}

}  // namespace glasslens::overlaps::detail
