#include "glasslens/replicas/overlaps.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "glasslens/common/parallel.hpp"
#include "glasslens/common/simd.hpp"

namespace glasslens::overlaps {

namespace detail {
namespace {
inline std::uint64_t popcount64(std::uint64_t x) noexcept {  // portable SWAR popcount
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
  return (x * 0x0101010101010101ull) >> 56;
}
}  // namespace

void xor_popcount_4x4_scalar(const std::uint64_t* const* a, const std::uint64_t* const* b,
                             std::int64_t L, std::uint64_t* cnt) noexcept {
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      const std::uint64_t* x = a[r];
      const std::uint64_t* y = b[c];
      std::uint64_t s = 0;
      for (std::int64_t w = 0; w < L; ++w) s += popcount64(x[w] ^ y[w]);
      cnt[4 * r + c] += s;
    }
}
}  // namespace detail

// ---- kernel selection ---------------------------------------------------------------------------
namespace {
enum Kernel : int { kAuto = -1, kScalar = 0, kAvx2 = 1, kAvx512 = 2 };
std::atomic<int> g_kernel{kAuto};

bool available(int k) noexcept {
  switch (k) {
    case kScalar: return true;
    case kAvx2: return cpu_has_avx2_fma();
    case kAvx512: return detail::cpu_has_avx512_vpopcntdq();
    default: return false;
  }
}

int parse(const std::string& name) {
  if (name == "auto") return kAuto;
  if (name == "scalar") return kScalar;
  if (name == "avx2") return kAvx2;
  if (name == "avx512") return kAvx512;
  throw std::invalid_argument("popcount kernel must be 'auto', 'scalar', 'avx2' or 'avx512', got '" +
                              name + "'");
}

int active() noexcept {
  const int k = g_kernel.load(std::memory_order_relaxed);
  if (k != kAuto) return k;
  if (simd_path() == SimdPath::scalar) return kScalar;
  if (detail::cpu_has_avx512_vpopcntdq()) return kAvx512;
  return kAvx2;
}

using MicroKernel = void (*)(const std::uint64_t* const*, const std::uint64_t* const*,
                             std::int64_t, std::uint64_t*) noexcept;

MicroKernel micro(int k) noexcept {
  switch (k) {
    case kAvx512: return detail::xor_popcount_4x4_avx512;
    case kAvx2: return detail::xor_popcount_4x4_avx2;
    default: return detail::xor_popcount_4x4_scalar;
  }
}
}  // namespace

void set_popcount_kernel(const std::string& name) {
  const int k = parse(name);
  if (k != kAuto && !available(k))
    throw std::invalid_argument("popcount kernel '" + name + "' is not supported by this CPU");
  g_kernel.store(k, std::memory_order_relaxed);
}

std::string popcount_kernel() {
  switch (active()) {
    case kAvx512: return "avx512";
    case kAvx2: return "avx2";
    default: return "scalar";
  }
}

bool popcount_kernel_available(const std::string& name) noexcept {
  try {
    const int k = parse(name);
    return k == kAuto || available(k);
  } catch (...) {
    return false;
  }
}

// ---- packing ------------------------------------------------------------------------------------
namespace {
template <class T>
std::int64_t pack_impl(const T* s, std::int64_t M, std::int64_t N, std::uint64_t* out,
                       int n_threads) {
  const std::int64_t stride = packed_stride(N);
  std::vector<std::int64_t> bad(static_cast<std::size_t>(M), -1);
  if (static_cast<double>(M) * static_cast<double>(N) < 4e6) n_threads = 1;
  const bool fast_i8 = std::is_same<T, std::int8_t>::value && simd_path() == SimdPath::avx2;
  parallel_for(M, n_threads, [&](std::int64_t i) {
    const T* row = s + i * N;
    std::uint64_t* o = out + i * stride;
    std::fill(o, o + stride, std::uint64_t{0});
    bool ok = true;
    if (fast_i8) {
      ok = detail::pack_row_i8_avx2(reinterpret_cast<const std::int8_t*>(row), N, o);
    } else {
      for (std::int64_t w0 = 0; w0 < N && ok; w0 += 64) {
        const std::int64_t n = std::min<std::int64_t>(64, N - w0);
        const T* v = row + w0;
        std::uint64_t word = 0;
        int good = 1;
        for (std::int64_t b = 0; b < n; ++b) {
          word |= static_cast<std::uint64_t>(v[b] < T(0)) << b;
          good &= static_cast<int>((v[b] == T(1)) | (v[b] == T(-1)));
        }
        o[w0 >> 6] = word;
        ok = good != 0;
      }
    }
    if (!ok) {
      for (std::int64_t j = 0; j < N; ++j)
        if (!(row[j] == T(1) || row[j] == T(-1))) {
          bad[static_cast<std::size_t>(i)] = i * N + j;
          break;
        }
    }
  });
  for (std::int64_t i = 0; i < M; ++i)
    if (bad[static_cast<std::size_t>(i)] >= 0) return bad[static_cast<std::size_t>(i)];
  return -1;
}
}  // namespace

std::int64_t pack_signs(const std::int8_t* s, std::int64_t M, std::int64_t N, std::uint64_t* out,
                        int n_threads) {
  return pack_impl(s, M, N, out, n_threads);
}
std::int64_t pack_signs(const float* s, std::int64_t M, std::int64_t N, std::uint64_t* out,
                        int n_threads) {
  return pack_impl(s, M, N, out, n_threads);
}
std::int64_t pack_signs(const double* s, std::int64_t M, std::int64_t N, std::uint64_t* out,
                        int n_threads) {
  return pack_impl(s, M, N, out, n_threads);
}

void unpack_signs(const std::uint64_t* words, std::int64_t M, std::int64_t N, std::int8_t* out,
                  int n_threads) {
  const std::int64_t stride = packed_stride(N);
  parallel_for(M, n_threads, [&](std::int64_t i) {
    const std::uint64_t* w = words + i * stride;
    std::int8_t* o = out + i * N;
    for (std::int64_t j = 0; j < N; ++j) o[j] = ((w[j >> 6] >> (j & 63)) & 1u) ? -1 : 1;
  });
}

// ---- tiled all-pairs kernel ----------------------------------------------------------------------
namespace {
constexpr std::int64_t kTile = 32;   // rows per tile (multiple of 4)
constexpr std::int64_t kChunk = 128; // words per chunk along the bit axis (multiple of kWordAlign)

template <class Emit>
void tiled(const std::uint64_t* A, std::int64_t Ma, const std::uint64_t* B, std::int64_t Mb,
           std::int64_t n_bits, int n_threads, Emit&& emit) {
  const bool sym = (B == nullptr);
  if (sym) {
    B = A;
    Mb = Ma;
  }
  if (Ma <= 0 || Mb <= 0) return;
  const std::int64_t stride = packed_stride(n_bits);
  const std::int64_t ta = (Ma + kTile - 1) / kTile, tb = (Mb + kTile - 1) / kTile;
  std::vector<std::pair<std::int64_t, std::int64_t>> items;
  for (std::int64_t i = 0; i < ta; ++i)
    for (std::int64_t j = sym ? i : 0; j < tb; ++j) items.emplace_back(i, j);
  const MicroKernel kern = micro(active());
  // Small problems run serially: thread start-up would dominate (results are identical).
  if (static_cast<double>(Ma) * static_cast<double>(Mb) * static_cast<double>(stride) < 2e6)
    n_threads = 1;
  parallel_for(static_cast<std::int64_t>(items.size()), n_threads, [&](std::int64_t it) {
    const auto [ti, tj] = items[static_cast<std::size_t>(it)];
    const std::int64_t r0 = ti * kTile, r1 = std::min(Ma, r0 + kTile);
    const std::int64_t c0 = tj * kTile, c1 = std::min(Mb, c0 + kTile);
    std::uint64_t cnt[kTile * kTile] = {};
    std::uint64_t loc[16];
    const std::uint64_t* ap[4];
    const std::uint64_t* bp[4];
    for (std::int64_t k0 = 0; k0 < stride; k0 += kChunk) {
      const std::int64_t L = std::min(kChunk, stride - k0);
      for (std::int64_t r = r0; r < r1; r += 4) {
        for (int u = 0; u < 4; ++u) ap[u] = A + std::min(r + u, r1 - 1) * stride + k0;
        for (std::int64_t c = c0; c < c1; c += 4) {
          for (int u = 0; u < 4; ++u) bp[u] = B + std::min(c + u, c1 - 1) * stride + k0;
          std::fill(loc, loc + 16, std::uint64_t{0});
          kern(ap, bp, L, loc);
          for (int u = 0; u < 4 && r + u < r1; ++u)
            for (int v = 0; v < 4 && c + v < c1; ++v)
              cnt[(r + u - r0) * kTile + (c + v - c0)] += loc[4 * u + v];
        }
      }
    }
    for (std::int64_t r = r0; r < r1; ++r)
      for (std::int64_t c = c0; c < c1; ++c) {
        const std::uint64_t d = cnt[(r - r0) * kTile + (c - c0)];
        emit(r, c, d);
        if (sym && ti != tj) emit(c, r, d);
      }
  });
}
}  // namespace

void hamming_packed(const std::uint64_t* A, std::int64_t Ma, const std::uint64_t* B,
                    std::int64_t Mb, std::int64_t n_bits, std::int64_t* d, int n_threads) {
  const std::int64_t ncol = B ? Mb : Ma;
  tiled(A, Ma, B, Mb, n_bits, n_threads, [&](std::int64_t r, std::int64_t c, std::uint64_t v) {
    d[r * ncol + c] = static_cast<std::int64_t>(v);
  });
}

void overlap_packed(const std::uint64_t* A, std::int64_t Ma, const std::uint64_t* B,
                    std::int64_t Mb, std::int64_t n_bits, double* q, int n_threads) {
  if (n_bits <= 0) throw std::invalid_argument("n_bits must be positive");
  const std::int64_t ncol = B ? Mb : Ma;
  const double n = static_cast<double>(n_bits);
  tiled(A, Ma, B, Mb, n_bits, n_threads, [&](std::int64_t r, std::int64_t c, std::uint64_t v) {
    q[r * ncol + c] = (n - 2.0 * static_cast<double>(v)) / n;
  });
}

}  // namespace glasslens::overlaps
