// Binary-synapse networks (+-1 weights, no biases) trained by local reparameterisation (LR-net,
// Shayer et al. 2018; settings of Zou & Huang 2021).
//
// Architecture: widths = [d0, d1, ..., dL]; layer l maps d_l -> d_{l+1} with an (out x in) weight
// matrix. Every weight w has a latent theta with P(w = +1) = sigmoid(theta), so
//   mu  = E[w]   = 2 sigmoid(theta) - 1 = tanh(theta / 2),
//   var = Var[w] = 1 - mu^2            = 1 / cosh^2(theta / 2)   (computed in this stable form).
// LR-net pre-activation of unit o for input activations a (in):
//   z_o = sum_i mu_oi a_i + sqrt(sum_i var_oi a_i^2) * eps_o,   eps_o ~ N(0, 1).
// Hidden activation: a' = leaky_relu(z; slope `leak`) / sqrt(in); the output z are the logits of a
// softmax cross-entropy (natural log). The deterministic binary network uses z = W a with the same
// activation.
//
// Flat layout of theta and of binary configurations: layers in order, each row-major (out x in).
// Eps layout for loss_grad_fixed_eps / noise: (n, n_units) row-major, n_units = d1 + ... + dL, the
// columns of each sample holding layer 1's units, then layer 2's, ...
#pragma once
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "glasslens/nn/mlp.hpp"

namespace glasslens::binarynet {

// Layer widths of a bias-free fully connected network: the nn::Shape of the real-valued MLPs
// without bias blocks, with the binary-synapse names for its counts.
struct Arch : nn::Shape {
  Arch() { bias = false; }
  explicit Arch(std::vector<int> w) : nn::Shape(std::move(w), false) {}

  std::int64_t n_weights() const noexcept { return n_params(); }
  std::int64_t offset(int l) const noexcept { return w_offset(l); }
  // Number of noise variables per sample (all non-input units).
  std::int64_t n_units() const noexcept {
    std::int64_t u = 0;
    for (int l = 1; l < static_cast<int>(widths.size()); ++l) u += widths[l];
    return u;
  }
};

struct TrainConfig {
  std::int64_t batch_size = 200;  // the last minibatch of an epoch may be smaller
  double lr = 0.3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double adam_eps = 1e-8;
  double l2 = 1e-5;   // gradient of the penalty (l2 / 2) * ||theta||^2 is l2 * theta
  double leak = 0.1;  // leaky-ReLU slope

  void validate() const;
};

// ---- random streams (all keyed by (seed, replica, counter), never by thread) -------------------

// Initial theta ~ N(0, init_std^2) of replicas [0, R): theta (R x n_weights), float32.
void init_theta(const Arch& a, std::uint64_t seed, std::int64_t R, double init_std, float* theta,
                int n_threads);

// Order of the training examples in epoch `epoch` of replica `replica` (a permutation of [0, n)).
void epoch_permutation(std::uint64_t seed, std::int64_t replica, std::int64_t epoch, std::int64_t n,
                       std::int64_t* perm);

// The LR-net noise eps used at optimisation step `step` (0-based, counted over all epochs) of
// replica `replica` for a minibatch of `rows` samples; written as (rows, n_units) row-major.
// Standard normals by the ziggurat method on block-parallel Philox words.
void step_noise(const Arch& a, std::uint64_t seed, std::int64_t replica, std::int64_t step,
                std::int64_t rows, double* eps_out);

// Words [0, 4 n_blocks) of Philox(seed, stream, sub), computed block-parallel (the generator
// behind the LR-net noise; equal to 4 n_blocks calls of Philox::next_u32()).
void philox_bulk(std::uint64_t seed, std::uint64_t stream, std::uint64_t sub, std::int64_t n_blocks,
                 std::uint32_t* out);

// ---- LR-net loss and gradient with fixed noise (reference / testing, double precision) ---------

// Mean softmax cross-entropy over the n rows plus (l2 / 2) ||theta||^2, and its gradient in theta
// (n_weights doubles, overwritten). X: (n x d0) row-major; eps: (n x n_units) row-major.
double loss_grad_fixed_eps(const Arch& a, const double* theta, const double* X,
                           const std::int32_t* y, std::int64_t n, const double* eps, double l2,
                           double leak, double* grad);

// ---- Adam ---------------------------------------------------------------------------------------

// One Adam step (t >= 1 is the 1-based step count used for the bias corrections) on n entries:
// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; theta -= lr (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps).
void adam_step(float* theta, const float* grad, float* m, float* v, std::int64_t n, std::int64_t t,
               double lr, double beta1, double beta2, double eps);

// ---- training -----------------------------------------------------------------------------------

// Trains R replicas in place over epochs [epoch_begin, epoch_end). theta, adam_m, adam_v are
// (R x n_weights); the Adam step count is derived from the epoch so training can be resumed.
// Each epoch visits the n examples (X: n x d0, y: n) in the order epoch_permutation gives, in
// minibatches of cfg.batch_size (last one possibly smaller). loss_out (R x (epoch_end -
// epoch_begin)) receives the mean LR-net cross-entropy (without the L2 term) of every epoch.
// Parallel over replicas; bit-identical for any n_threads.
void train(const Arch& a, float* theta, float* adam_m, float* adam_v, std::int64_t R,
           const float* X, const std::int32_t* y, std::int64_t n, std::uint64_t seed,
           std::int64_t epoch_begin, std::int64_t epoch_end, const TrainConfig& cfg,
           double* loss_out, int n_threads);

// ---- binary networks ----------------------------------------------------------------------------

// Draws n_per configurations W ~ Bernoulli(sigmoid(theta)) (+-1) from each of the R networks;
// out is ((R * n_per) x n_weights) int8, rows r * n_per + k. Draw k of network r depends only on
// (seed, first_replica + r, k), so a large set can be drawn in chunks of networks.
void sample_binary(const float* theta, std::int64_t R, std::int64_t n_weights, std::int64_t n_per,
                   std::uint64_t seed, std::int8_t* out, int n_threads,
                   std::int64_t first_replica = 0);

// Deterministic forward pass of K weight configurations (W: K x n_weights, int8 +-1 or any real
// float weights) on X (n x d0); acc_out[k] = fraction of correct argmax predictions (ties -> lowest
// index), loss_out[k] = mean cross-entropy (either output may be null). Parallel over
// configurations; bit-identical for any n_threads.
void evaluate(const Arch& a, const std::int8_t* W, std::int64_t K, const float* X,
              const std::int32_t* y, std::int64_t n, double leak, double* acc_out,
              double* loss_out, int n_threads);
void evaluate(const Arch& a, const float* W, std::int64_t K, const float* X, const std::int32_t* y,
              std::int64_t n, double leak, double* acc_out, double* loss_out, int n_threads);

// Logits (n x n_out) of one real-valued weight configuration (float, n_weights). Serial.
void forward_logits(const Arch& a, const float* W, const float* X, std::int64_t n, double leak,
                    float* logits);

}  // namespace glasslens::binarynet
