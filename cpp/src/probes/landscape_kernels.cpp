// Portable cross-entropy kernel and its run-time dispatch for the landscape engines.
#include "glasslens/probes/landscape.hpp"
#include "glasslens/common/simd.hpp"
#include "common/portable_vec.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace glasslens::landscape {
namespace detail {

using portable::exp4_nonpos;
using portable::load4;
using portable::v4f;
using portable::v4i;

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
