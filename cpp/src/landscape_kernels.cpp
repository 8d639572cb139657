// Portable dense-layer kernel and the run-time dispatch for the landscape engines.
#include "glasslens/landscape.hpp"
#include "glasslens/gemm.hpp"
#include "glasslens/simd.hpp"

#include <cmath>

namespace glasslens::landscape {
namespace detail {

void rows_loss_scalar(const float* Z, std::int64_t ldz, std::int64_t rows, int C,
                      const std::int32_t* y, float* loss, unsigned char* correct) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* z = Z + r * ldz;
    float m = z[0];
    int am = 0;
    for (int c = 1; c < C; ++c)
      if (z[c] > m) {
        m = z[c];
        am = c;
      }
    float s = 0.0f;
    for (int c = 0; c < C; ++c) s += std::exp(z[c] - m);
    correct[r] = am == y[r] ? 1 : 0;
    loss[r] = std::log(s) + m - z[y[r]];
  }
}

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

void rows_loss(const float* Z, std::int64_t ldz, std::int64_t rows, int C, const std::int32_t* y,
               float* loss, unsigned char* correct) {
  if (simd_path() == SimdPath::avx2)
    detail::rows_loss_avx2(Z, ldz, rows, C, y, loss, correct);
  else
    detail::rows_loss_scalar(Z, ldz, rows, C, y, loss, correct);
}

void dense_layer(const float* A, std::int64_t lda, std::int64_t n, int din, const float* W,
                 const float* b, int dout, float* Z, bool relu) {
  gemm::gemm_nt(n, dout, din, A, lda, W, din, Z, dout, false, b, relu);
}

}  // namespace glasslens::landscape
