// Single-precision matrix products for small and medium dense layers (serial; callers
// parallelise over networks / tiles).
//
// All matrices are row-major float32 with an explicit leading dimension (ld = distance in
// elements between consecutive rows, >= the number of columns). Three variants cover a dense
// layer's forward pass, backward pass and weight gradient:
//
//   gemm_nt :  C (m x n) = A (m x k) * B^T,  B stored (n x k)   forward    Z  = X  W^T
//   gemm_nn :  C (m x n) = A (m x k) * B,    B stored (k x n)   backward   dX = dZ W
//   gemm_tn :  C (m x n) = A^T * B,          A stored (k x m)   weights    dW = dZ^T X
//
// With `accumulate` the product is added to C, otherwise C is overwritten (C need not be
// initialised). gemm_nt has an epilogue applied after the full sum: C += bias[j] (if bias is not
// null) and then C = max(C, 0) (if relu). With k == 0 the product is zero (C becomes 0, or is
// kept with `accumulate`, then the epilogue is applied). m == 0 or n == 0 does nothing.
//
// Implementation: B is packed into k-blocks (KC) of NR-wide column panels (zero padded), A is
// read in place with broadcasts, and a register-blocked MR x NR microkernel accumulates each C
// block. The path is chosen at run time by simd_path(): AVX2+FMA (6 x 16 kernel) or portable
// (4 x 8 kernel, compiled for the baseline target). The order of the additions along k is the
// same on both paths (sequential within a KC block, blocks in order) so each row of C depends
// only on the corresponding row of A and on B, never on m, on the tiling or on the thread.
// Both paths are deterministic; they differ by FMA rounding only.
//
// Thread safety: every function is reentrant; each thread uses its own packing buffer.
#pragma once
#include <cstdint>

namespace glasslens::gemm {

void gemm_nt(std::int64_t m, std::int64_t n, std::int64_t k, const float* A, std::int64_t lda,
             const float* B, std::int64_t ldb, float* C, std::int64_t ldc, bool accumulate = false,
             const float* bias = nullptr, bool relu = false);

void gemm_nn(std::int64_t m, std::int64_t n, std::int64_t k, const float* A, std::int64_t lda,
             const float* B, std::int64_t ldb, float* C, std::int64_t ldc, bool accumulate = false);

void gemm_tn(std::int64_t m, std::int64_t n, std::int64_t k, const float* A, std::int64_t lda,
             const float* B, std::int64_t ldb, float* C, std::int64_t ldc, bool accumulate = false);

// ---- small vector kernels used by the softmax / cross-entropy layers ---------------------------

// x[i] = exp(x[i]) in place (float, relative error ~2 ulp, inputs below -87.3 give 0 or a tiny
// value, above 88.7 give +inf). Same formula on both SIMD paths, so both are deterministic.
void exp_inplace(float* x, std::int64_t n);

// x[i] = log(x[i]) in place for positive normal floats (relative error ~1e-7); the kernels only
// apply it to softmax denominators, which lie in [1, c].
void log_inplace(float* x, std::int64_t n);

// SGD with momentum and weight decay, PyTorch convention, element-wise over n parameters:
//   g = grad + wd * theta;  vel = mu * vel + g;  theta -= lr * vel
// (separate multiplies and adds, no FMA: both SIMD paths give identical bits).
void sgd_update(std::int64_t n, float* theta, float* vel, const float* grad, float lr, float mu,
                float wd);

// Cross-entropy rows. Z: n x c logits (row stride ldz). For each row: loss = logsumexp(z) - z_y
// (natural log), prediction = argmax (ties -> lowest index). Returns the sum of row losses
// (accumulated in double, rows in order) and adds the number of correct predictions to
// *n_correct when not null. If dZ is not null it receives scale * (softmax(z) - onehot(y))
// (n x c, row stride lddz; may alias Z with the same stride). `scratch` must hold n * (c + 2) floats.
double xent_rows(const float* Z, std::int64_t ldz, std::int64_t n, int c, const std::int32_t* y,
                 float* dZ, std::int64_t lddz, float scale, std::int64_t* n_correct,
                 float* scratch);

// xent_rows for logits stored transposed: ZT is c x n (row stride ldzt >= n), i.e. one row per
// class. Same per-row losses and predictions (up to the rounding of the exp sums); returns the
// loss sum (double, fixed order) and adds the correct predictions to *n_correct when not null.
// `scratch` must hold n * (2c + 4) floats.
double xent_cols(const float* ZT, std::int64_t ldzt, std::int64_t n, int c, const std::int32_t* y,
                 std::int64_t* n_correct, float* scratch);

// ---- fused small-network kernel ---------------------------------------------------------------

// Largest input / hidden width accepted by mlp2_loss (one k-block of the GEMM).
constexpr std::int64_t kFusedMaxK = 256;

// Cross-entropy loss sum of a one-hidden-layer ReLU network on n rows, fused: blocks of rows go
// through H = relu(X W0^T + b0), ZT = b1 + W1 H^T and the loss while they are in L1. Returns the
// same bits as the unfused sequence gemm_nt (hidden layer, bias + relu epilogue), ZT filled with b1
// then gemm_nt(c, n, d1, W1, ..., H, ..., accumulate), xent_cols(ZT) - on both SIMD paths - and
// adds the correct argmax predictions to *n_correct when not null. X: n x d0, W0: d1 x d0,
// W1: c x d1 (row-major, dense), b0 / b1 may be null (no bias). Requires 1 <= d0, d1 <=
// kFusedMaxK. Serial; uses a thread-local workspace.
double mlp2_loss(std::int64_t n, std::int64_t d0, std::int64_t d1, int c, const float* X,
                 const float* W0, const float* b0, const float* W1, const float* b1,
                 const std::int32_t* y, std::int64_t* n_correct);

}  // namespace glasslens::gemm
