// Fully connected ReLU networks on flat float32 parameter vectors.
//
// Layout (shared with python/glasslens/network.py): widths = [d0, d1, ..., dL]; layer l maps
// d_l -> d_{l+1}; hidden layers ReLU, output linear, loss = mean softmax cross-entropy.
// theta = [W0 (d1 x d0, row-major), b0 (d1), W1, b1, ...]; without biases the b blocks are absent.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace glasslens::nn {

struct Shape {
  std::vector<int> widths;  // d0 .. dL, at least two entries
  bool bias = true;

  Shape() = default;
  Shape(std::vector<int> w, bool b) : widths(std::move(w)), bias(b) { validate(); }

  void validate() const {
    if (widths.size() < 2) throw std::invalid_argument("widths needs at least 2 entries");
    for (int v : widths)
      if (v < 1) throw std::invalid_argument("widths must be positive");
  }
  int n_layers() const noexcept { return static_cast<int>(widths.size()) - 1; }
  int n_in() const noexcept { return widths.front(); }
  int n_out() const noexcept { return widths.back(); }
  int max_width() const noexcept {
    int m = 0;
    for (int v : widths) m = v > m ? v : m;
    return m;
  }
  std::int64_t n_params() const noexcept {
    std::int64_t p = 0;
    for (int l = 0; l < n_layers(); ++l)
      p += static_cast<std::int64_t>(widths[l + 1]) * widths[l] + (bias ? widths[l + 1] : 0);
    return p;
  }
  // Offset of W_l in theta.
  std::int64_t w_offset(int l) const noexcept {
    std::int64_t p = 0;
    for (int i = 0; i < l; ++i)
      p += static_cast<std::int64_t>(widths[i + 1]) * widths[i] + (bias ? widths[i + 1] : 0);
    return p;
  }
  // Offset of b_l in theta, or -1 when the network has no biases.
  std::int64_t b_offset(int l) const noexcept {
    return bias ? w_offset(l) + static_cast<std::int64_t>(widths[l + 1]) * widths[l] : -1;
  }
};

// Scratch memory for serial passes of one network over up to `max_rows` samples.
// Create one per thread and reuse it; the buffers grow on demand (a pass over n rows keeps about
// n * (sum of widths + n_out) floats, twice that with gradients: call large data sets in tiles
// of eval_tile_rows() rows and sum the tiles in order).
struct Workspace {
  std::vector<std::vector<float>> act;   // act[l]: rows x widths[l] (act[0] unused: input is X)
  std::vector<std::vector<float>> delta; // backward buffers
  std::vector<float> scratch;
  void reserve(const Shape& s, std::int64_t rows);
};

// ---- serial building blocks (callers parallelise over networks / items) ------------------------

// Sum over the n rows of the cross-entropy loss (natural log) and the number of correct argmax
// predictions (ties -> lowest index). Returns the *sum* of losses (not the mean) so callers can
// combine tiles in a fixed order. Serial. Networks with one hidden layer (input and hidden width
// <= gemm::kFusedMaxK) take the fused kernel gemm::mlp2_loss, bit-identical to the layer-by-layer
// pass (hidden layers by gemm_nt, output layer transposed, xent_cols) that the others take.
double loss_sum(const Shape& s, const float* theta, const float* X, const std::int32_t* y,
                std::int64_t n, std::int64_t* n_correct, Workspace& ws);

// Mean loss over the n rows and its gradient d(mean loss)/d(theta) written to grad (n_params
// floats, overwritten). Optionally the number of correct predictions. Serial.
double loss_grad(const Shape& s, const float* theta, const float* X, const std::int32_t* y,
                 std::int64_t n, float* grad, Workspace& ws, std::int64_t* n_correct = nullptr);

// Output layer written transposed, one row per class: ZT (n_out x rows, row stride ldzt) =
// b + W H^T for the rows x d_in activations H (row stride ldh); W is n_out x d_in row-major and b
// may be null (no bias). The bias rows are filled first and the product accumulated onto them, the
// order every loss kernel here relies on for identical bits. Serial.
void output_logits_t(int n_out, int d_in, const float* W, const float* b, const float* H,
                     std::int64_t ldh, std::int64_t rows, float* ZT, std::int64_t ldzt);

// Logits (n x n_out) of one network. Serial.
void forward_logits(const Shape& s, const float* theta, const float* X, std::int64_t n,
                    float* logits, Workspace& ws);

// ---- parallel engines ----------------------------------------------------------------------------

// Mean loss and accuracy of K parameter vectors (theta: K x n_params) on one data matrix.
// Work is split over (weight set, fixed-size sample tile); partial sums are combined in a fixed
// order, so results are bit-identical for any n_threads.
void evaluate(const Shape& s, const float* theta, std::int64_t K, const float* X,
              const std::int32_t* y, std::int64_t n, double* loss_out, double* acc_out,
              int n_threads);

// Rows per sample tile used by evaluate() and forward_logits_many() (depends on the shape only).
// Summing loss_sum() over consecutive tiles of this size, in order, reproduces evaluate() bit for
// bit.
std::int64_t eval_tile_rows(const Shape& s);

// Logits of K parameter vectors (theta: K x n_params) on one data matrix: out is K x n x n_out.
// Parallel over (weight set, sample tile); each row's logits do not depend on the tiling.
void forward_logits_many(const Shape& s, const float* theta, std::int64_t K, const float* X,
                         std::int64_t n, float* out, int n_threads);

}  // namespace glasslens::nn
