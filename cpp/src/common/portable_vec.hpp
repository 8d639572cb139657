// 4-float vectors for the portable kernels (GCC/Clang vector extensions: SSE2 on baseline x86-64,
// NEON on arm64, scalars elsewhere) and the Cephes float exp on them. Include only from files
// compiled for the baseline target; everything here has internal linkage.
//
// exp4 is the polynomial of avx2_math.hpp's exp8 without FMA (the baseline target has none and
// ISO C++ mode does not contract), element for element the same arithmetic as a scalar loop of
// it: floor(x) is taken by truncation and a compare, exact for |x| < 2^31 (here |x| <= 129).
#pragma once
#include <cstdint>
#include <cstring>

namespace glasslens::portable {
namespace {

typedef float v4f __attribute__((vector_size(16)));
typedef std::int32_t v4i __attribute__((vector_size(16)));

inline v4f load4(const float* p) {
  v4f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store4(float* p, v4f v) { std::memcpy(p, &v, sizeof v); }

// exp(v) for v <= 0 (a logit minus its row maximum): the lower clamp only, since the upper one
// cannot bind there; exp4(v) == exp4_nonpos(min(v, 88.72)) bit for bit.
inline v4f exp4_nonpos(v4f v) {
  const v4f lo = v4f{} - 87.3365448f;
  v = v > lo ? v : lo;
  const v4f x = v * 1.44269504088896341f + 0.5f;
  const v4f t = __builtin_convertvector(__builtin_convertvector(x, v4i), v4f);
  const v4f fx = t - (x < t ? v4f{} + 1.0f : v4f{});
  v4f r = v - fx * 0.693359375f;
  r = r - fx * -2.12194440e-4f;
  v4f p = v4f{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const v4i e = (__builtin_convertvector(fx, v4i) + 127) << 23;
  v4f scale;
  std::memcpy(&scale, &e, sizeof scale);
  return p * scale;
}

// exp(x) for 4 floats, inputs clamped to [-87.34, 88.72] (see gemm.hpp: exp_inplace).
inline v4f exp4(v4f v) {
  const v4f hi = v4f{} + 88.7228317f;
  return exp4_nonpos(v < hi ? v : hi);
}

}  // namespace
}  // namespace glasslens::portable
