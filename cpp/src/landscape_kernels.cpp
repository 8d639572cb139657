// Portable cross-entropy kernel and its run-time dispatch for the landscape engines.
#include "glasslens/landscape.hpp"
#include "glasslens/simd.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace glasslens::landscape {
namespace detail {

namespace {
// Four rows per vector (GCC/Clang vector extensions: SSE2 on baseline x86, NEON on ARM).
typedef float v4f __attribute__((vector_size(16)));
typedef std::int32_t v4i __attribute__((vector_size(16)));

inline v4f load4(const float* p) {
  v4f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// exp(v) for v <= 0 (a logit minus its row maximum): the Cephes polynomial of the AVX2 kernel
// (avx2_math.hpp) without FMA; floor by truncation and a compare (exact for |x| < 2^31).
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
}  // namespace

// Portable kernel: blocks of up to 64 rows copied class by class into a padded buffer (the last
// row repeated), then four rows per vector. Per row: first argmax, max, exp of (z - max) summed
// in class order, log, loss = log(sum) + (max - z_y).
void cols_loss_scalar(const float* Zc, std::int64_t ldc, std::int64_t rows, int C,
                      const std::int32_t* y, float* loss, unsigned char* correct) {
  constexpr std::int64_t B = 64, NV = B / 4;
  std::vector<float> zb(static_cast<std::size_t>(C) * B);
  for (std::int64_t r0 = 0; r0 < rows; r0 += B) {
    const std::int64_t nb = rows - r0 < B ? rows - r0 : B;
    for (int c = 0; c < C; ++c) {
      float* dst = zb.data() + static_cast<std::int64_t>(c) * B;
      std::memcpy(dst, Zc + c * ldc + r0, sizeof(float) * static_cast<std::size_t>(nb));
      for (std::int64_t r = nb; r < B; ++r) dst[r] = dst[nb - 1];
    }
    const std::int64_t nv = (nb + 3) / 4;
    v4f m[NV], s[NV];
    v4i am[NV];
    for (std::int64_t q = 0; q < nv; ++q) {
      m[q] = load4(zb.data() + 4 * q);
      am[q] = v4i{};
      s[q] = v4f{};
    }
    for (int c = 1; c < C; ++c)
      for (std::int64_t q = 0; q < nv; ++q) {
        const v4f z = load4(zb.data() + static_cast<std::int64_t>(c) * B + 4 * q);
        const v4i gt = z > m[q];
        m[q] = gt ? z : m[q];
        am[q] = gt ? v4i{} + c : am[q];
      }
    for (int c = 0; c < C; ++c)
      for (std::int64_t q = 0; q < nv; ++q)
        s[q] += exp4_nonpos(load4(zb.data() + static_cast<std::int64_t>(c) * B + 4 * q) - m[q]);
    for (std::int64_t r = 0; r < nb; ++r) {
      const std::int64_t q = r / 4, l = r % 4;
      const std::int32_t yr = y[r0 + r];
      const float zy = zb[static_cast<std::size_t>(yr) * B + static_cast<std::size_t>(r)];
      loss[r0 + r] = std::log(s[q][l]) + (m[q][l] - zy);
      correct[r0 + r] = am[q][l] == yr ? 1 : 0;
    }
  }
}

}  // namespace detail

void cols_loss(const float* Zc, std::int64_t ldc, std::int64_t rows, int C, const std::int32_t* y,
               float* loss, unsigned char* correct) {
  if (simd_path() == SimdPath::avx2)
    detail::cols_loss_avx2(Zc, ldc, rows, C, y, loss, correct);
  else
    detail::cols_loss_scalar(Zc, ldc, rows, C, y, loss, correct);
}

}  // namespace glasslens::landscape
