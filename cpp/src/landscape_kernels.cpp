// Portable cross-entropy kernel and its run-time dispatch for the landscape engines.
#include "glasslens/landscape.hpp"
#include "glasslens/simd.hpp"

#include <cmath>

namespace glasslens::landscape {
namespace detail {

void cols_loss_scalar(const float* Zc, std::int64_t ldc, std::int64_t rows, int C,
                      const std::int32_t* y, float* loss, unsigned char* correct) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float m = Zc[r];
    int am = 0;
    for (int c = 1; c < C; ++c) {
      const float z = Zc[c * ldc + r];
      if (z > m) {
        m = z;
        am = c;
      }
    }
    float s = 0.0f;
    for (int c = 0; c < C; ++c) s += std::exp(Zc[c * ldc + r] - m);
    correct[r] = am == y[r] ? 1 : 0;
    loss[r] = std::log(s) + m - Zc[y[r] * ldc + r];
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
