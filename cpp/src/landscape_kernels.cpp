// Portable dense-layer kernel and the run-time dispatch for the landscape engines.
#include "glasslens/landscape.hpp"
#include "glasslens/simd.hpp"

namespace glasslens::landscape {
namespace detail {

void dense_layer_scalar(const float* A, std::int64_t lda, std::int64_t n, int din,
                        const float* WT, const float* b, int dpad, float* Z, bool relu) {
  for (std::int64_t r = 0; r < n; ++r) {
    float* z = Z + r * dpad;
    const float* a = A + r * lda;
    for (int c = 0; c < dpad; ++c) z[c] = b ? b[c] : 0.0f;
    for (int i = 0; i < din; ++i) {
      const float ai = a[i];
      if (ai == 0.0f) continue;
      const float* w = WT + static_cast<std::int64_t>(i) * dpad;
      for (int c = 0; c < dpad; ++c) z[c] += ai * w[c];
    }
    if (relu)
      for (int c = 0; c < dpad; ++c) z[c] = z[c] > 0.0f ? z[c] : 0.0f;
  }
}

}  // namespace detail

void dense_layer(const float* A, std::int64_t lda, std::int64_t n, int din, const float* WT,
                 const float* b, int dpad, float* Z, bool relu) {
  if (simd_path() == SimdPath::avx2)
    detail::dense_layer_avx2(A, lda, n, din, WT, b, dpad, Z, relu);
  else
    detail::dense_layer_scalar(A, lda, n, din, WT, b, dpad, Z, relu);
}

}  // namespace glasslens::landscape
