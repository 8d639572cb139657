// Perturbation directions: portable kernels, run-time dispatch and normalisation. See
// landscape.hpp and landscape_dirs.inc (the stream layout and the transform).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "glasslens/probes/landscape.hpp"
#include "glasslens/common/rng.hpp"
#include "glasslens/common/simd.hpp"
#include "landscape_dirs.inc"

namespace glasslens::landscape {
using nn::Shape;

namespace detail {
namespace {

// One lane. The baseline target has no FMA instruction, so a * b + c is never contracted here;
// on other architectures the barrier keeps it that way.
struct VScalar {
  using F = float;
  using I = std::uint32_t;
  static F set1(float v) { return v; }
  static I set1_i(std::uint32_t v) { return v; }
  static F mul(F a, F b) {
    F r = a * b;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __asm__("" : "+x"(r));
#elif defined(__GNUC__) && defined(__aarch64__)
    __asm__("" : "+w"(r));
#endif
    return r;
  }
  static F add(F a, F b) { return a + b; }
  static F sub(F a, F b) { return a - b; }
  static F max(F a, F b) { return a > b ? a : b; }  // as _mm256_max_ps
  static F sqrt(F a) { return std::sqrt(a); }
  static F cvt(I a) { return static_cast<float>(static_cast<std::int32_t>(a)); }
  static I as_i(F a) {
    I r;
    std::memcpy(&r, &a, sizeof r);
    return r;
  }
  static F as_f(I a) {
    F r;
    std::memcpy(&r, &a, sizeof r);
    return r;
  }
  static I srl(I a, int n) { return a >> n; }
  static I sll(I a, int n) { return a << n; }
  static I add_i(I a, I b) { return a + b; }
  static I sub_i(I a, I b) { return a - b; }
  static I and_i(I a, I b) { return a & b; }
  static I or_i(I a, I b) { return a | b; }
  static I xor_i(I a, I b) { return a ^ b; }
  static I cmpgt(F a, F b) { return a > b ? ~0u : 0u; }
  static I cmpeq_i(I a, I b) { return a == b ? ~0u : 0u; }
  static F select(I m, F a, F b) { return m ? a : b; }
};

}  // namespace

void gaussian_fill_scalar(std::uint64_t seed, std::int64_t k, std::int64_t P, float* u) {
  Philox g(seed, static_cast<std::uint64_t>(k), 0);
  float tmp[32];
  for (std::int64_t base = 0; base < P; base += 32) {
    for (int j = 0; j < 8; ++j) {
      const std::uint32_t w0 = g.next_u32(), w1 = g.next_u32(), w2 = g.next_u32(),
                          w3 = g.next_u32();
      box_muller<VScalar>(w0, w1, tmp[j], tmp[8 + j]);
      box_muller<VScalar>(w2, w3, tmp[16 + j], tmp[24 + j]);
    }
    const std::int64_t e = std::min<std::int64_t>(32, P - base);
    std::memcpy(u + base, tmp, sizeof(float) * static_cast<std::size_t>(e));
  }
}

double sumsq_scalar(const float* a, std::int64_t n) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) s[j] += static_cast<double>(a[i + j]) * a[i + j];
  for (std::int64_t t = 0; i < n; ++i, ++t) s[t] += static_cast<double>(a[i]) * a[i];
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

}  // namespace detail

void gaussian_fill(std::uint64_t seed, std::int64_t k, std::int64_t P, float* u) {
  if (simd_path() == SimdPath::avx2)
    detail::gaussian_fill_avx2(seed, k, P, u);
  else
    detail::gaussian_fill_scalar(seed, k, P, u);
}

double sumsq(const float* a, std::int64_t n) {
  return simd_path() == SimdPath::avx2 ? detail::sumsq_avx2(a, n) : detail::sumsq_scalar(a, n);
}

// ---- normalisation groups ----------------------------------------------------------------------

DirectionGen::DirectionGen(const Shape& s, const float* theta, DirKind kind, Norm norm,
                           BiasMode bias)
    : s_(s), kind_(kind), norm_(norm), bias_(bias), P_(s.n_params()) {
  const int L = s.n_layers();
  const bool incl = s.bias && bias == BiasMode::include;
  auto add = [&](std::int64_t a0, std::int64_t a1, std::int64_t b0, std::int64_t b1) {
    groups_.push_back({a0, a1, b0, b1});
  };
  if (norm == Norm::layer || norm == Norm::global) {
    for (int l = 0; l < L; ++l) {
      const std::int64_t wo = s.w_offset(l);
      const std::int64_t nw = static_cast<std::int64_t>(s.widths[l + 1]) * s.widths[l];
      const std::int64_t bo = incl ? s.b_offset(l) : 0;
      add(wo, wo + nw, bo, incl ? bo + s.widths[l + 1] : bo);
    }
  } else if (norm == Norm::filter) {
    for (int l = 0; l < L; ++l) {
      const int din = s.widths[l], dout = s.widths[l + 1];
      const std::int64_t wo = s.w_offset(l);
      const std::int64_t bo = incl ? s.b_offset(l) : 0;
      for (int j = 0; j < dout; ++j) {
        const std::int64_t r0 = wo + static_cast<std::int64_t>(j) * din;
        add(r0, r0 + din, incl ? bo + j : 0, incl ? bo + j + 1 : 0);
      }
    }
  }
  if (norm == Norm::global) {
    double nt = 0.0;
    for (const auto& g : groups_) nt += group_sumsq(g, theta);
    tnorm_.assign(1, std::sqrt(nt));
  } else {
    tnorm_.resize(groups_.size());
    for (std::size_t i = 0; i < groups_.size(); ++i)
      tnorm_[i] = std::sqrt(group_sumsq(groups_[i], theta));
  }
}

double DirectionGen::group_sumsq(const Group& g, const float* v) {
  return sumsq(v + g.a0, g.a1 - g.a0) + sumsq(v + g.b0, g.b1 - g.b0);
}

void DirectionGen::make(std::uint64_t seed, std::int64_t k, float* u) const {
  const std::int64_t P = P_;
  if (kind_ == DirKind::gaussian) {
    gaussian_fill(seed, k, P, u);
  } else {
    Philox g(seed, static_cast<std::uint64_t>(k), 0);
    for (std::int64_t p = 0; p < P; p += 32) {
      const std::uint32_t w = g.next_u32();
      const std::int64_t e = std::min<std::int64_t>(32, P - p);
      for (std::int64_t b = 0; b < e; ++b) u[p + b] = ((w >> b) & 1u) ? 1.0f : -1.0f;
    }
  }
  const int L = s_.n_layers();
  if (bias_ == BiasMode::zero && s_.bias)
    for (int l = 0; l < L; ++l)
      std::fill(u + s_.b_offset(l), u + s_.b_offset(l) + s_.widths[l + 1], 0.0f);
  if (norm_ == Norm::none) return;
  auto factor = [](double tn, double nu) {
    return nu > 0.0 ? static_cast<float>(tn / std::sqrt(nu)) : 0.0f;
  };
  if (norm_ == Norm::global) {
    double nu = 0.0;
    for (const auto& g : groups_) nu += group_sumsq(g, u);
    const float f = factor(tnorm_[0], nu);
    for (std::int64_t p = 0; p < P; ++p) u[p] *= f;
    return;
  }
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    const Group& g = groups_[i];
    const float f = factor(tnorm_[i], group_sumsq(g, u));
    for (std::int64_t p = g.a0; p < g.a1; ++p) u[p] *= f;
    for (std::int64_t p = g.b0; p < g.b1; ++p) u[p] *= f;
  }
}

void make_direction(const Shape& s, const float* theta, std::uint64_t seed, std::int64_t k,
                    DirKind kind, Norm norm, BiasMode bias, float* u) {
  DirectionGen(s, theta, kind, norm, bias).make(seed, k, u);
}

}  // namespace glasslens::landscape
