// Exact curvature of the mean training cross-entropy loss of a ReLU MLP.
//
// HessianOperator caches one forward/backward pass at theta (activations, softmax outputs and the
// per-sample output-gradient of every layer) and then applies the Hessian to vectors by
// forward-over-backward differentiation (Pearlmutter's R-operator): one R-forward and one
// R-backward pass per product, exact up to float32 rounding. The ReLU second derivative is zero
// almost everywhere, so the result is the Hessian of the piecewise-smooth loss at theta.
//
// A product runs in two phases: (1) the row-local R-forward / R-backward pass over chunks of
// samples (each row's result is independent of the chunking), then (2) the weight blocks as
// products summed over all samples (GEMM with k = n, split over output columns; each output
// element is summed in the same order whatever the split). So results are bit-identical for any
// thread count without per-tile partial vectors.
//
// Parameter layout: that of mlp.hpp / network.py ([W0 row-major (d1 x d0), b0, W1, b1, ...]).
// Storage is float32; the loss, softmax normalisation and the reduction over sample tiles are
// accumulated in double. Loss sums over samples use fixed chunks (kChunkRows rows) combined in
// chunk order, so results are bit-identical for any thread count.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "glasslens/nn/mlp.hpp"

namespace glasslens::curv {

constexpr std::int64_t kTileRows = 64;    // loss_many sample tiles
constexpr std::int64_t kChunkRows = 256;  // HessianOperator forward/backward sample chunks
constexpr double kSparseDensity = 0.1;
constexpr std::int64_t kSerialWork = 200000;  // n_samples * n_params below which work is serial

namespace detail {
// Read-only view of one network (or of a tangent vector with the network's shape).
struct NetView {
  std::vector<int> w;  // widths d0..dL
  bool bias = true;
  int L = 0;
  std::vector<const float*> W;   // W[l]: d_{l+1} x d_l row-major
  std::vector<const float*> WT;  // WT[l]: d_l x d_{l+1} (transpose of W[l])
  std::vector<const float*> b;   // b[l]: d_{l+1}, or nullptr
  // Layer 0 reads its input through a zero-skipping sparse path (sparse X, e.g. raw pixels);
  // its weight-block partials are then stored transposed (d_0 x d_1). Other layers use GEMM.
  bool sparse0 = false;
};
// Per-sample quantities at theta.
struct Cache {
  const float* X = nullptr;
  const std::int32_t* y = nullptr;
  std::int64_t n = 0;
  std::vector<const float*> A;  // A[l] for l = 0..L-1: inputs of layer l (A[0] = X), n x d_l
  std::vector<const float*> G;  // G[l] for l = 1..L: d(mean loss)/dz_l, n x d_l
  const float* P = nullptr;     // softmax probabilities, n x d_L
  const float* PT = nullptr;    // the same transposed, d_L x n
};
struct Scratch {
  std::vector<std::vector<float>> ra;  // R{a_l}, rows x d_l
  std::vector<float> rz, rg, rga;
};
// Offsets of W_l / b_l blocks in the flat layout (also used for transposed-W partials).
std::vector<std::int64_t> w_offsets(const nn::Shape& s);

// Row-local part of Hessian-vector products for rows [r0, r1) (every row is independent of
// the others and of the chunking): the R-forward pass and the R-backward pass of the per-sample
// quantities. RA[l] (l = 1..L-1): R{a_l}, n x d_l; RG[l] (l = 1..L): R{d(mean loss)/dz_l},
// n x d_l. The weight blocks of H v are then products summed over all rows (see weight_phase).
using RRowsFn = void (*)(const NetView& net, const NetView& v, const Cache& c, std::int64_t r0,
                         std::int64_t r1, float* const* RA, float* const* RG, Scratch& s);
// One tile of the forward pass for a tile: stores activations (A[l+1] rows, the logits' softmax
// into P) and returns the loss sum and the number of correct predictions.
using FwdTileFn = double (*)(const NetView& net, const float* X, const std::int32_t* y,
                             std::int64_t r0, std::int64_t r1, float* const* Aout, float* P,
                             std::int64_t* n_correct, Scratch& s);
// One tile of the backward pass: given P rows, writes G rows for every layer.
using BwdTileFn = void (*)(const NetView& net, const Cache& c, std::int64_t r0, std::int64_t r1,
                           float* const* Gout, Scratch& s);
// Input-layer weight block on the zero-skipping path, features j0..j1: GT ((j1 - j0) x d1) +=
// A[:, j0:j1]^T D over the T rows of A (T x d0) and D (T x d1), skipping zeros of A, rows in
// order.
using SparseTnFn = void (*)(std::int64_t T, int d0, int d1, const float* A, const float* D,
                            std::int64_t j0, std::int64_t j1, float* GT);
// acc[k] += sum over the n rows of D (n x d): float sums of blocks of 32 rows (row order)
// added to the double accumulators.
using ColSumsFn = void (*)(const float* D, std::int64_t n, int d, double* acc);

namespace scalar {
void col_sums(const float*, std::int64_t, int, double*);
void r_rows(const NetView&, const NetView&, const Cache&, std::int64_t, std::int64_t,
            float* const*, float* const*, Scratch&);
void sparse_tn(std::int64_t, int, int, const float*, const float*, std::int64_t, std::int64_t,
               float*);
double fwd_tile(const NetView&, const float*, const std::int32_t*, std::int64_t, std::int64_t,
                float* const*, float*, std::int64_t*, Scratch&);
void bwd_tile(const NetView&, const Cache&, std::int64_t, std::int64_t, float* const*, Scratch&);
}  // namespace scalar
namespace avx2 {
void col_sums(const float*, std::int64_t, int, double*);
void r_rows(const NetView&, const NetView&, const Cache&, std::int64_t, std::int64_t,
            float* const*, float* const*, Scratch&);
void sparse_tn(std::int64_t, int, int, const float*, const float*, std::int64_t, std::int64_t,
               float*);
double fwd_tile(const NetView&, const float*, const std::int32_t*, std::int64_t, std::int64_t,
                float* const*, float*, std::int64_t*, Scratch&);
void bwd_tile(const NetView&, const Cache&, std::int64_t, std::int64_t, float* const*, Scratch&);
}  // namespace avx2
}  // namespace detail

// The Hessian of the mean cross-entropy loss of one network on one data set, at theta.
// The constructor copies theta, X and y and runs the forward/backward pass (parallel over tiles).
class HessianOperator {
 public:
  // sparse_input: 1 = zero-skipping path for the input layer, 0 = dense GEMM, -1 = automatic
  // (sparse when fewer than kSparseDensity of the entries of X are nonzero).
  // copy_data = false: X is not copied; the caller keeps it alive and unchanged for the
  // operator's lifetime (saves a copy of the data set for one-shot products).
  HessianOperator(const nn::Shape& s, const float* theta, const float* X, const std::int32_t* y,
                  std::int64_t n, int n_threads, int sparse_input = -1, bool copy_data = true);
  bool sparse_input() const noexcept { return net_.sparse0; }

  const nn::Shape& shape() const noexcept { return shape_; }
  std::int64_t n_params() const noexcept { return shape_.n_params(); }
  std::int64_t n_samples() const noexcept { return n_; }
  double loss() const noexcept { return loss_; }          // mean cross-entropy at theta
  double accuracy() const noexcept { return accuracy_; }  // fraction of correct argmax
  // d(mean loss)/d(theta); computed on first use (an HVP does not need it), thread-safe.
  const std::vector<float>& grad(int n_threads = 0) const;

  // out = H v for k vectors (V: k x n_params row-major, out likewise). Parallel over
  // (vector, tile); bit-identical for any n_threads.
  void apply(const float* V, std::int64_t k, float* out, int n_threads) const;

 private:
  nn::Shape shape_;
  std::int64_t n_;
  std::vector<float> theta_, thetaT_, X_;
  std::vector<std::int32_t> y_;
  std::unique_ptr<float[]> store_;  // A[1..L-1], G[1..L], P (uninitialised until the passes)
  // workspace of apply (RA, RG of a group of vectors), reused when not in use by another call
  mutable std::vector<float> ws_;
  mutable std::mutex ws_mu_;
  mutable std::vector<float> grad_;
  mutable bool have_grad_ = false;
  mutable std::mutex grad_mu_;
  double loss_ = 0.0, accuracy_ = 0.0;
  detail::NetView net_;
  detail::Cache cache_;
};

// Mean loss and accuracy of K parameter vectors (thetas: K x n_params) on (X, y); parallel over
// (vector, tile), bit-identical for any n_threads.
void loss_many(const nn::Shape& s, const float* thetas, std::int64_t K, const float* X,
               const std::int32_t* y, std::int64_t n, double* loss, double* acc, int n_threads);

}  // namespace glasslens::curv
