// Many replicas of minibatch SGD with momentum on fully connected ReLU networks.
//
// Update (PyTorch convention, per minibatch B):
//   g = d(mean loss over B)/d(theta)           [SAM: g evaluated at theta + rho g0/||g0||]
//   g += weight_decay * theta
//   v = momentum * v + g
//   theta -= lr(epoch) * v
// Data order: epoch e of replica r visits the training rows in the permutation
// epoch_order(order_seed, order_stream[r], e, n) (Fisher-Yates with Philox(order_seed, stream, e)),
// cut into consecutive batches of batch_size (the last one may be smaller). batch_size >= n
// means full-batch gradient descent. Each replica runs inside one thread, so results are
// bit-identical for any thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "glasslens/nn/mlp.hpp"

namespace glasslens::nn {

// The permutation of [0, n) used in `epoch` for data-order stream `stream`.
void epoch_order(std::uint64_t seed, std::uint64_t stream, std::int64_t epoch, std::int64_t n,
                 std::int64_t* out);

// Labels with label noise: exactly round(fraction * n) rows, chosen uniformly at random with
// Philox(seed, stream, 1), get a label drawn uniformly from the other n_classes - 1 classes.
void noisy_labels(const std::int32_t* y, std::int64_t n, int n_classes, double fraction,
                  std::uint64_t seed, std::uint64_t stream, std::int32_t* out);

// The scalar settings of a training run (bound to Python as glasslens._core.nn.TrainOptions).
struct TrainOptions {
  std::int64_t batch_size = 64;
  double momentum = 0.0;
  double weight_decay = 0.0;
  double sam_rho = 0.0;            // 0: plain SGD

  double label_noise = 0.0;        // fraction of training labels replaced (per noise stream)
  std::uint64_t noise_seed = 0;
  std::uint64_t order_seed = 0;

  double target_train_acc = -1.0; // > 0: a replica stops after the first epoch that reaches it

  std::int64_t epoch_begin = 0;    // this call runs epochs [epoch_begin, epoch_end)
  std::int64_t epoch_end = 0;
};

// A training run: the options, the architecture and the arrays.
struct TrainSpec : TrainOptions {
  Shape shape;
  const float* X = nullptr;        // n x d0 training inputs
  const std::int32_t* y = nullptr; // n labels
  std::int64_t n = 0;
  const float* X_test = nullptr;   // n_test x d0 (may be null with n_test = 0)
  const std::int32_t* y_test = nullptr;
  std::int64_t n_test = 0;

  const std::uint64_t* noise_stream = nullptr;  // R entries (null: stream r)
  const std::uint64_t* order_stream = nullptr;  // R entries (null: stream r)

  std::int64_t total_epochs = 0;   // schedule length
  const double* lr = nullptr;      // learning rate per epoch (total_epochs entries)
  const std::int64_t* record_slot = nullptr;  // per epoch: history column after it, or -1
  std::int64_t n_records = 0;
  // Rows of the training set on which the recorded train metrics are evaluated (n_record_rows
  // indices in [0, n); null: all rows). The early-stop check always uses all rows. The recorded
  // test metrics use whatever X_test holds (the caller passes a subsample there).
  const std::int64_t* record_rows = nullptr;
  std::int64_t n_record_rows = 0;
  int n_threads = 0;
};

struct TrainState {
  std::int64_t R = 0;
  float* theta = nullptr;          // R x P, updated in place
  float* velocity = nullptr;       // R x P, updated in place (zeros at the start)
  std::int64_t* epochs_run = nullptr;  // R, updated
  std::uint8_t* stopped = nullptr;     // R, set when the early-stop target is reached
  // History (R x n_records, row-major); entries of unrecorded epochs are left untouched.
  double* train_loss = nullptr;
  double* train_acc = nullptr;
  double* test_loss = nullptr;
  double* test_acc = nullptr;
};

// Runs the epochs [epoch_begin, epoch_end) for all replicas (parallel over replicas).
// Throws std::invalid_argument for inconsistent settings.
void train(const TrainSpec& spec, TrainState& state);

}  // namespace glasslens::nn
