// Internal: entry points of the per-ISA GEMM translation units (see gemm.hpp for semantics).
#pragma once
#include <cstdint>

namespace glasslens::gemm::internal {

constexpr std::int64_t kPackFloats = 256 * 1024 + 64;  // KC * NC (+ slack)

#define GLASSLENS_GEMM_DECLARE(SUFFIX)                                                           \
  void driver_##SUFFIX(std::int64_t m, std::int64_t n, std::int64_t k, const float* A,           \
                       std::int64_t a_rs, std::int64_t a_cs, const float* B, std::int64_t b_rs,  \
                       std::int64_t b_cs, float* C, std::int64_t ldc, bool accumulate,           \
                       const float* bias, bool relu, float* pack);                               \
  void exp_##SUFFIX(float* x, std::int64_t n);                                                   \
  void log_##SUFFIX(float* x, std::int64_t n);                                                   \
  void sgd_##SUFFIX(std::int64_t n, float* theta, float* vel, const float* grad, float lr,       \
                    float mu, float wd);                                                         \
  double xent_##SUFFIX(const float* Z, std::int64_t ldz, std::int64_t n, int c,                  \
                       const std::int32_t* y, float* dZ, std::int64_t lddz, float scale,         \
                       std::int64_t* n_correct, float* scratch);                                 \
  double xentc_##SUFFIX(const float* ZT, std::int64_t ldzt, std::int64_t n, int c,               \
                        const std::int32_t* y, std::int64_t* n_correct, float* scratch);     \
  double mlp2_##SUFFIX(std::int64_t n, std::int64_t d0, std::int64_t d1, int c, const float* X,  \
                       const float* W0, const float* b0, const float* W1, const float* b1,       \
                       const std::int32_t* y, std::int64_t* n_correct, float* ws);

GLASSLENS_GEMM_DECLARE(scalar)
GLASSLENS_GEMM_DECLARE(avx2)
#undef GLASSLENS_GEMM_DECLARE

}  // namespace glasslens::gemm::internal
