// Replica-parallel minibatch SGD (see train.hpp).
#include "glasslens/nn/train.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "glasslens/nn/gemm.hpp"
#include "glasslens/common/parallel.hpp"
#include "glasslens/common/rng.hpp"

namespace glasslens::nn {

using i64 = std::int64_t;

namespace {
constexpr std::uint64_t kNoiseKey = 0x6c6162656c6e6f69ull;  // "labelnoi"

// Mean loss and accuracy of one network over a data set, in fixed chunks (bit-identical to
// evaluate() on the same data).
void metrics(const Shape& s, const float* theta, const float* X, const std::int32_t* y, i64 n,
             Workspace& ws, double* loss, double* acc) {
  if (n <= 0) {
    *loss = std::numeric_limits<double>::quiet_NaN();
    *acc = std::numeric_limits<double>::quiet_NaN();
    return;
  }
  const i64 chunk = eval_tile_rows(s);  // same tiles as evaluate()
  double l = 0.0;
  i64 c = 0;
  for (i64 r0 = 0; r0 < n; r0 += chunk) {
    const i64 rows = std::min(chunk, n - r0);
    i64 cc = 0;
    l += loss_sum(s, theta, X + r0 * s.n_in(), y + r0, rows, &cc, ws);
    c += cc;
  }
  *loss = l / static_cast<double>(n);
  *acc = static_cast<double>(c) / static_cast<double>(n);
}
}  // namespace

void epoch_order(std::uint64_t seed, std::uint64_t stream, std::int64_t epoch, std::int64_t n,
                 std::int64_t* out) {
  if (n < 0) throw std::invalid_argument("epoch_order: n must be >= 0");
  if (n > 0xFFFFFFFFll) throw std::invalid_argument("epoch_order: n too large");
  for (i64 i = 0; i < n; ++i) out[i] = i;
  Philox rng(seed, stream, static_cast<std::uint64_t>(epoch));
  for (i64 i = n - 1; i > 0; --i) {
    const i64 j = rng.below(static_cast<std::uint32_t>(i + 1));
    std::swap(out[i], out[j]);
  }
}

void noisy_labels(const std::int32_t* y, std::int64_t n, int n_classes, double fraction,
                  std::uint64_t seed, std::uint64_t stream, std::int32_t* out) {
  if (!(fraction >= 0.0 && fraction <= 1.0))
    throw std::invalid_argument("label noise fraction must be in [0, 1]");
  if (n > 0xFFFFFFFFll) throw std::invalid_argument("noisy_labels: n too large");
  std::copy(y, y + n, out);
  const i64 m = static_cast<i64>(std::llround(fraction * static_cast<double>(n)));
  if (m == 0) return;
  if (n_classes < 2) throw std::invalid_argument("label noise needs at least 2 classes");
  Philox rng(mix_seed(seed, kNoiseKey), stream, 1);
  std::vector<i64> idx(static_cast<std::size_t>(n));
  for (i64 i = 0; i < n; ++i) idx[i] = i;
  // Partial Fisher-Yates: the first m entries are a uniform random subset.
  for (i64 i = 0; i < m; ++i) {
    const i64 j = i + rng.below(static_cast<std::uint32_t>(n - i));
    std::swap(idx[i], idx[j]);
    const i64 row = idx[i];
    const std::uint32_t shift = 1 + rng.below(static_cast<std::uint32_t>(n_classes - 1));
    out[row] = static_cast<std::int32_t>((static_cast<std::uint32_t>(y[row]) + shift) %
                                         static_cast<std::uint32_t>(n_classes));
  }
}

void train(const TrainSpec& sp, TrainState& st) {
  const Shape& s = sp.shape;
  s.validate();
  if (sp.n < 1) throw std::invalid_argument("train: needs at least one training sample");
  if (sp.batch_size < 1) throw std::invalid_argument("train: batch_size must be >= 1");
  if (sp.epoch_begin < 0 || sp.epoch_end < sp.epoch_begin || sp.epoch_end > sp.total_epochs)
    throw std::invalid_argument("train: bad epoch range");
  if (!sp.lr) throw std::invalid_argument("train: learning-rate schedule missing");
  if (!(sp.sam_rho >= 0.0)) throw std::invalid_argument("train: sam_rho must be >= 0");
  if (!(sp.label_noise >= 0.0 && sp.label_noise <= 1.0))
    throw std::invalid_argument("train: label_noise must be in [0, 1]");
  const i64 R = st.R;
  const i64 P = s.n_params();
  const int d0 = s.n_in();
  const i64 n = sp.n;
  const bool full_batch = sp.batch_size >= n;
  const i64 B = full_batch ? n : sp.batch_size;
  const float mu = static_cast<float>(sp.momentum);
  const float wd = static_cast<float>(sp.weight_decay);
  const bool want_target = sp.target_train_acc > 0.0;
  // the recorded train metrics on a subset of rows: its inputs gathered once (shared, read-only)
  const bool sub = sp.record_rows != nullptr;
  const i64 n_sub = sub ? sp.n_record_rows : n;
  std::vector<float> X_sub;
  if (sub) {
    if (n_sub < 1) throw std::invalid_argument("train: record_rows must not be empty");
    X_sub.resize(static_cast<std::size_t>(n_sub * d0));
    for (i64 i = 0; i < n_sub; ++i) {
      const i64 src = sp.record_rows[i];
      if (src < 0 || src >= n) throw std::invalid_argument("train: record_rows out of range");
      std::memcpy(X_sub.data() + i * d0, sp.X + src * d0, sizeof(float) * d0);
    }
  }

  parallel_for(R, sp.n_threads, [&](i64 r) {
    if (st.stopped[r]) return;
    float* theta = st.theta + r * P;
    float* vel = st.velocity + r * P;
    Workspace ws;
    ws.reserve(s, std::max<i64>(B, eval_tile_rows(s)));
    std::vector<float> grad(static_cast<std::size_t>(P));
    std::vector<float> pert;
    if (sp.sam_rho > 0.0) pert.resize(static_cast<std::size_t>(P));
    std::vector<i64> perm;
    std::vector<float> Xb;
    std::vector<std::int32_t> yb;
    if (!full_batch) {
      perm.resize(static_cast<std::size_t>(n));
      Xb.resize(static_cast<std::size_t>(B * d0));
      yb.resize(static_cast<std::size_t>(B));
    }
    std::vector<std::int32_t> ynoisy;
    const std::int32_t* ylab = sp.y;
    if (sp.label_noise > 0.0) {
      ynoisy.resize(static_cast<std::size_t>(n));
      noisy_labels(sp.y, n, s.n_out(), sp.label_noise, sp.noise_seed,
                   sp.noise_stream ? sp.noise_stream[r] : static_cast<std::uint64_t>(r),
                   ynoisy.data());
      ylab = ynoisy.data();
    }
    std::vector<std::int32_t> y_sub;
    if (sub) {
      y_sub.resize(static_cast<std::size_t>(n_sub));
      for (i64 i = 0; i < n_sub; ++i) y_sub[i] = ylab[sp.record_rows[i]];
    }
    const std::uint64_t ostream =
        sp.order_stream ? sp.order_stream[r] : static_cast<std::uint64_t>(r);

    auto step_grad = [&](const float* th, const float* Xs, const std::int32_t* ys, i64 rows,
                         float* g) { loss_grad(s, th, Xs, ys, rows, g, ws); };

    for (i64 e = sp.epoch_begin; e < sp.epoch_end; ++e) {
      const float lr = static_cast<float>(sp.lr[e]);
      if (!full_batch) epoch_order(sp.order_seed, ostream, e, n, perm.data());
      for (i64 b0 = 0; b0 < n; b0 += B) {
        check_interrupt();
        const i64 rows = std::min(B, n - b0);
        const float* Xs = sp.X;
        const std::int32_t* ys = ylab;
        if (!full_batch) {
          for (i64 i = 0; i < rows; ++i) {
            const i64 src = perm[b0 + i];
            std::memcpy(Xb.data() + i * d0, sp.X + src * d0, sizeof(float) * d0);
            yb[i] = ylab[src];
          }
          Xs = Xb.data();
          ys = yb.data();
        }
        step_grad(theta, Xs, ys, rows, grad.data());
        if (sp.sam_rho > 0.0) {
          double nrm = 0.0;
          for (i64 i = 0; i < P; ++i) nrm += static_cast<double>(grad[i]) * grad[i];
          const float sc = static_cast<float>(sp.sam_rho / (std::sqrt(nrm) + 1e-12));
          for (i64 i = 0; i < P; ++i) pert[i] = theta[i] + sc * grad[i];
          step_grad(pert.data(), Xs, ys, rows, grad.data());
        }
        gemm::sgd_update(P, theta, vel, grad.data(), lr, mu, wd);
      }
      st.epochs_run[r] = e + 1;
      const i64 slot = sp.record_slot ? sp.record_slot[e] : -1;
      double tr_loss = 0.0, tr_acc = 0.0;  // all rows: the early-stop check
      double rec_loss = 0.0, rec_acc = 0.0;  // the recorded rows
      if (want_target || (slot >= 0 && !sub))
        metrics(s, theta, sp.X, ylab, n, ws, &tr_loss, &tr_acc);
      if (slot >= 0) {
        if (sub) {
          metrics(s, theta, X_sub.data(), y_sub.data(), n_sub, ws, &rec_loss, &rec_acc);
        } else {
          rec_loss = tr_loss;
          rec_acc = tr_acc;
        }
        if (slot >= sp.n_records) throw std::invalid_argument("train: record slot out of range");
        double te_loss = 0.0, te_acc = 0.0;
        metrics(s, theta, sp.X_test, sp.y_test, sp.n_test, ws, &te_loss, &te_acc);
        st.train_loss[r * sp.n_records + slot] = rec_loss;
        st.train_acc[r * sp.n_records + slot] = rec_acc;
        st.test_loss[r * sp.n_records + slot] = te_loss;
        st.test_acc[r * sp.n_records + slot] = te_acc;
      }
      if (want_target && tr_acc >= sp.target_train_acc) {
        st.stopped[r] = 1;
        break;
      }
    }
  });
}

}  // namespace glasslens::nn
