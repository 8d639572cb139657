// Overlaps of +-1 configurations with a bit-packed XOR/popcount kernel.
//
// A configuration s in {-1,+1}^N is stored as bits (bit = 1 for s = -1), 64 per uint64 word,
// little-endian within a word, rows padded with zero words to a stride that is a multiple of
// kWordAlign. Padding bits are 0 in every row, so they never contribute to XOR counts.
// The overlap of two rows is q_ab = (N - 2 popcount(a XOR b)) / N, computed exactly.
#pragma once
#include <cstdint>
#include <string>

namespace glasslens::overlaps {

constexpr std::int64_t kWordAlign = 8;  // 512 bits: one AVX-512 vector

// Words per packed row for n_bits spins (padded to kWordAlign).
inline std::int64_t packed_stride(std::int64_t n_bits) noexcept {
  const std::int64_t w = (n_bits + 63) / 64;
  return (w + kWordAlign - 1) / kWordAlign * kWordAlign;
}

// Pack an M x N row-major array of +-1 values into M x stride words (stride = packed_stride(N)).
// Returns -1 on success or the flat index of the first entry that is not exactly +1 or -1
// (the output is then unspecified). Parallel over rows; result independent of n_threads.
std::int64_t pack_signs(const std::int8_t* s, std::int64_t M, std::int64_t N, std::uint64_t* out,
                        int n_threads);
std::int64_t pack_signs(const float* s, std::int64_t M, std::int64_t N, std::uint64_t* out,
                        int n_threads);
std::int64_t pack_signs(const double* s, std::int64_t M, std::int64_t N, std::uint64_t* out,
                        int n_threads);

// Unpack to int8 +-1 (M x N).
void unpack_signs(const std::uint64_t* words, std::int64_t M, std::int64_t N, std::int8_t* out,
                  int n_threads);

// Overlap matrix q (Ma x Mb, row-major doubles) between the packed rows of A and B (both with
// stride packed_stride(n_bits)). If B == nullptr the symmetric matrix of A with itself is computed
// (only tiles on and above the diagonal are evaluated, then mirrored). Work is split over
// (row tile, column tile) pairs; counts are exact integers, so results do not depend on n_threads.
void overlap_packed(const std::uint64_t* A, std::int64_t Ma, const std::uint64_t* B,
                    std::int64_t Mb, std::int64_t n_bits, double* q, int n_threads);

// Same, but writes the raw Hamming distances popcount(a XOR b).
void hamming_packed(const std::uint64_t* A, std::int64_t Ma, const std::uint64_t* B,
                    std::int64_t Mb, std::int64_t n_bits, std::int64_t* d, int n_threads);

// Kernel selection: "auto" (default: best the CPU and simd_path() allow), "scalar", "avx2",
// "avx512" (AVX-512 VPOPCNTDQ). Throws std::invalid_argument for an unknown or unsupported name.
void set_popcount_kernel(const std::string& name);
std::string popcount_kernel();             // kernel in use now
bool popcount_kernel_available(const std::string& name) noexcept;

// ---- micro-kernels (4 rows of A x 4 rows of B over L words, L a multiple of kWordAlign) ----
// cnt[4*r + c] += popcount(a[r][0:L] XOR b[c][0:L]).
namespace detail {
void xor_popcount_4x4_scalar(const std::uint64_t* const* a, const std::uint64_t* const* b,
                             std::int64_t L, std::uint64_t* cnt) noexcept;
void xor_popcount_4x4_avx2(const std::uint64_t* const* a, const std::uint64_t* const* b,
                           std::int64_t L, std::uint64_t* cnt) noexcept;
void xor_popcount_4x4_avx512(const std::uint64_t* const* a, const std::uint64_t* const* b,
                             std::int64_t L, std::uint64_t* cnt) noexcept;
bool cpu_has_avx512_vpopcntdq() noexcept;
// Pack one int8 row (bits for -1) into out[0 .. ceil(N/64)); false if an entry is not +-1.
bool pack_row_i8_avx2(const std::int8_t* row, std::int64_t N, std::uint64_t* out) noexcept;
}  // namespace detail

}  // namespace glasslens::overlaps
