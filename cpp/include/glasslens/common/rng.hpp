// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011).
// Streams are keyed by (seed, item) so results never depend on the thread that draws them.
#pragma once
#include <array>
#include <cmath>
#include <cstdint>

namespace glasslens {

class Philox {
 public:
  // seed: user seed; stream: work item (replica, direction, chain...); sub: optional second key.
  Philox(std::uint64_t seed, std::uint64_t stream, std::uint64_t sub = 0) noexcept
      : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)},
        ctr_{static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32),
             static_cast<std::uint32_t>(sub), static_cast<std::uint32_t>(sub >> 32)} {}

  // Jump to block `b` of this stream (each block yields 4 words). Allows random access.
  void seek(std::uint64_t block) noexcept {
    block_ = block;
    idx_ = 4;
  }

  std::uint32_t next_u32() noexcept {
    if (idx_ >= 4) refill();
    return buf_[idx_++];
  }
  std::uint64_t next_u64() noexcept {
    std::uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }
  // Uniform in [0, 1) with 24 bits (float) / 53 bits (double).
  float uniformf() noexcept { return static_cast<float>(next_u32() >> 8) * (1.0f / 16777216.0f); }
  double uniform() noexcept {
    return static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0);
  }
  // Uniform in (0, 1]: safe for log().
  double uniform_pos() noexcept { return 1.0 - uniform(); }
  // Standard normal by Box-Muller (both values used).
  double normal() noexcept {
    if (have_spare_) {
      have_spare_ = false;
      return spare_;
    }
    const double u1 = uniform_pos();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double t = 6.283185307179586 * u2;
    spare_ = r * std::sin(t);
    have_spare_ = true;
    return r * std::cos(t);
  }
  // +1 or -1 with equal probability.
  int rademacher() noexcept { return (next_u32() & 1u) ? 1 : -1; }
  // Uniform integer in [0, n) (n > 0), Lemire's nearly-divisionless method.
  std::uint32_t below(std::uint32_t n) noexcept {
    std::uint64_t m = static_cast<std::uint64_t>(next_u32()) * n;
    std::uint32_t l = static_cast<std::uint32_t>(m);
    if (l < n) {
      const std::uint32_t t = static_cast<std::uint32_t>(-n) % n;
      while (l < t) {
        m = static_cast<std::uint64_t>(next_u32()) * n;
        l = static_cast<std::uint32_t>(m);
      }
    }
    return static_cast<std::uint32_t>(m >> 32);
  }

 private:
  void refill() noexcept {
    std::array<std::uint32_t, 4> c = {static_cast<std::uint32_t>(block_),
                                      static_cast<std::uint32_t>(block_ >> 32), ctr_[2], ctr_[3]};
    // The stream index is mixed into the counter's high words together with `sub`.
    c[2] ^= ctr_[0];
    c[3] ^= ctr_[1];
    std::array<std::uint32_t, 2> k = key_;
    // Fold the stream into the key as well so (stream, sub) pairs never collide.
    k[0] ^= 0x9E3779B9u * (ctr_[0] + 1u);
    k[1] ^= 0xBB67AE85u * (ctr_[1] + 1u);
    for (int r = 0; r < 10; ++r) {
      const std::uint64_t p0 = static_cast<std::uint64_t>(0xD2511F53u) * c[0];
      const std::uint64_t p1 = static_cast<std::uint64_t>(0xCD9E8D57u) * c[2];
      const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
      const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
      c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
      k[0] += 0x9E3779B9u;
      k[1] += 0xBB67AE85u;
    }
    buf_ = c;
    idx_ = 0;
    ++block_;
  }

  std::array<std::uint32_t, 2> key_;
  std::array<std::uint32_t, 4> ctr_;
  std::array<std::uint32_t, 4> buf_{};
  std::uint64_t block_ = 0;
  int idx_ = 4;
  bool have_spare_ = false;
  double spare_ = 0.0;
};

// Mix a seed with up to two indices into a new 64-bit seed (splitmix64 finaliser).
inline std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0) noexcept {
  auto sm = [](std::uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  return sm(sm(sm(seed) ^ a) ^ b);
}

}  // namespace glasslens
