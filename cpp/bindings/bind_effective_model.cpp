// Bindings for binary-synapse networks (the effective model): glasslens._core.effective_model.
// Arrays are copied in (forcecast), validated, and the GIL is released around the C++ work only.
#include <limits>
#include <sstream>

#include "common.hpp"
#include "glasslens/effective_model/binarynet.hpp"
#include "glasslens/common/rng.hpp"

namespace py = pybind11;
using namespace glasslens;
using namespace glasslens::bind;
namespace bn = glasslens::binarynet;

namespace {

bn::Arch make_arch(const std::vector<int>& widths) { return bn::Arch(widths); }

void check_labels(const carray<std::int32_t>& y, py::ssize_t n, int n_classes, const char* name) {
  require_ndim(y, 1, name);
  require_dim(y, 0, n, name);
  const std::int32_t* p = y.data();
  for (py::ssize_t i = 0; i < n; ++i)
    if (p[i] < 0 || p[i] >= n_classes) {
      std::ostringstream s;
      s << name << "[" << i << "] = " << p[i] << " is out of range [0, " << n_classes << ")";
      throw std::invalid_argument(s.str());
    }
}

template <class T>
void check_X(const carray<T>& X, const bn::Arch& a, const char* name) {
  require_ndim(X, 2, name);
  require_dim(X, 1, a.n_in(), name);
  if (X.shape(0) < 1) throw std::invalid_argument(std::string(name) + " has no rows");
  require_finite(X, name);
}


// Accuracy and loss of K weight configurations (int8 binary or float real), shape-checked.
template <class T>
py::tuple evaluate_configurations(const std::vector<int>& widths, const carray<T>& W,
                                  const carray<float>& X, const carray<std::int32_t>& y,
                                  double leak, int n_threads, bool with_loss, const char* name) {
  auto a = make_arch(widths);
  require_ndim(W, 2, name);
  require_dim(W, 1, a.n_weights(), name);
  check_X(X, a, "X");
  check_labels(y, X.shape(0), a.n_out(), "y");
  const py::ssize_t K = W.shape(0);
  carray<double> acc(std::vector<py::ssize_t>{K}), loss(std::vector<py::ssize_t>{K});
  {
    double* pa = acc.mutable_data();
    double* pl = loss.mutable_data();
    if (!with_loss)
      for (py::ssize_t k = 0; k < K; ++k) pl[k] = std::numeric_limits<double>::quiet_NaN();
    glasslens::bind::KernelScope rel;
    bn::evaluate(a, W.data(), K, X.data(), y.data(), X.shape(0), leak, pa,
                 with_loss ? pl : nullptr, n_threads);
  }
  return py::make_tuple(acc, loss);
}
}  // namespace

void bind_effective_model(py::module_& m) {
  const bn::TrainConfig d;
  py::class_<bn::TrainConfig>(m, "TrainConfig",
                              "Settings of train (glasslens::binarynet::TrainConfig).")
      .def(py::init([](std::int64_t batch_size, double lr, double beta1, double beta2,
                       double adam_eps, double l2, double leak) {
             bn::TrainConfig c;
             c.batch_size = batch_size;
             c.lr = lr;
             c.beta1 = beta1;
             c.beta2 = beta2;
             c.adam_eps = adam_eps;
             c.l2 = l2;
             c.leak = leak;
             return c;
           }),
           py::kw_only(), py::arg("batch_size") = d.batch_size, py::arg("lr") = d.lr,
           py::arg("beta1") = d.beta1, py::arg("beta2") = d.beta2,
           py::arg("adam_eps") = d.adam_eps, py::arg("l2") = d.l2, py::arg("leak") = d.leak)
      .def_readwrite("batch_size", &bn::TrainConfig::batch_size,
                     "minibatch size (the last minibatch of an epoch may be smaller)")
      .def_readwrite("lr", &bn::TrainConfig::lr, "Adam learning rate")
      .def_readwrite("beta1", &bn::TrainConfig::beta1, "Adam first-moment decay")
      .def_readwrite("beta2", &bn::TrainConfig::beta2, "Adam second-moment decay")
      .def_readwrite("adam_eps", &bn::TrainConfig::adam_eps, "Adam epsilon")
      .def_readwrite("l2", &bn::TrainConfig::l2, "penalty (l2 / 2) ||theta||^2")
      .def_readwrite("leak", &bn::TrainConfig::leak, "leaky-ReLU slope");

  m.def(
      "init_theta",
      [](const std::vector<int>& widths, std::uint64_t seed, std::int64_t R, double init_std,
         int n_threads) {
        auto a = make_arch(widths);
        if (R < 0) throw std::invalid_argument("R must be >= 0");
        if (!(init_std >= 0) || !std::isfinite(init_std))
          throw std::invalid_argument("init_std must be >= 0 and finite");
        auto out = carray<float>(std::vector<py::ssize_t>{R, a.n_weights()});
        float* p = out.mutable_data();
        {
          glasslens::bind::KernelScope rel;
          bn::init_theta(a, seed, R, init_std, p, n_threads);
        }
        return out;
      },
      py::arg("widths"), py::arg("seed"), py::arg("R"), py::arg("init_std"), py::arg("n_threads"),
      "Initial latent parameters theta ~ N(0, init_std^2), shape (R, n_weights) float32; replica "
      "r depends only on (seed, r).");

  m.def(
      "epoch_permutation",
      [](std::uint64_t seed, std::int64_t replica, std::int64_t epoch, std::int64_t n) {
        if (n < 0) throw std::invalid_argument("n must be >= 0");
        auto out = carray<std::int64_t>(std::vector<py::ssize_t>{n});
        bn::epoch_permutation(seed, replica, epoch, n, out.mutable_data());
        return out;
      },
      py::arg("seed"), py::arg("replica"), py::arg("epoch"), py::arg("n"),
      "Order of the training examples in one epoch of one replica (int64 permutation of n).");

  m.def(
      "step_noise",
      [](const std::vector<int>& widths, std::uint64_t seed, std::int64_t replica,
         std::int64_t step, std::int64_t rows) {
        auto a = make_arch(widths);
        if (rows < 1) throw std::invalid_argument("rows must be >= 1");
        auto out = carray<double>(std::vector<py::ssize_t>{rows, a.n_units()});
        bn::step_noise(a, seed, replica, step, rows, out.mutable_data());
        return out;
      },
      py::arg("widths"), py::arg("seed"), py::arg("replica"), py::arg("step"), py::arg("rows"),
      "The LR-net noise eps of one optimisation step, shape (rows, n_units) float64 (values are "
      "float32-exact).");

  m.def(
      "_philox_words",
      [](std::uint64_t seed, std::uint64_t stream, std::uint64_t sub, std::int64_t n_blocks,
         bool bulk) {
        if (n_blocks < 0) throw std::invalid_argument("n_blocks must be >= 0");
        carray<std::uint32_t> out(std::vector<py::ssize_t>{4 * n_blocks});
        std::uint32_t* p = out.mutable_data();
        if (bulk) {
          bn::philox_bulk(seed, stream, sub, n_blocks, p);
        } else {
          Philox rng(seed, stream, sub);
          for (std::int64_t i = 0; i < 4 * n_blocks; ++i) p[i] = rng.next_u32();
        }
        return out;
      },
      py::arg("seed"), py::arg("stream"), py::arg("sub"), py::arg("n_blocks"), py::arg("bulk"),
      "Testing aid: Philox words from the block-parallel generator (bulk) or the sequential one.");

  m.def(
      "loss_grad",
      [](const std::vector<int>& widths, const carray<double>& theta, const carray<double>& X,
         const carray<std::int32_t>& y, const carray<double>& eps, double l2, double leak) {
        auto a = make_arch(widths);
        require_ndim(theta, 1, "theta");
        require_dim(theta, 0, a.n_weights(), "theta");
        require_finite(theta, "theta");
        check_X(X, a, "X");
        const py::ssize_t n = X.shape(0);
        check_labels(y, n, a.n_out(), "y");
        require_ndim(eps, 2, "eps");
        require_dim(eps, 0, n, "eps");
        require_dim(eps, 1, a.n_units(), "eps");
        require_finite(eps, "eps");
        auto grad = carray<double>(std::vector<py::ssize_t>{a.n_weights()});
        double loss;
        {
          double* g = grad.mutable_data();
          glasslens::bind::KernelScope rel;
          loss = bn::loss_grad_fixed_eps(a, theta.data(), X.data(), y.data(), n, eps.data(), l2,
                                         leak, g);
        }
        return py::make_tuple(loss, grad);
      },
      py::arg("widths"), py::arg("theta"), py::arg("X"), py::arg("y"), py::arg("eps"),
      py::arg("l2"), py::arg("leak"),
      "LR-net mean cross-entropy + (l2/2)||theta||^2 and its gradient in theta, with the noise eps "
      "(n, n_units) held fixed (float64).");

  m.def(
      "adam_step",
      [](const carray<float>& theta, const carray<float>& grad, const carray<float>& mom,
         const carray<float>& vel, std::int64_t t, double lr, double beta1, double beta2,
         double eps) {
        require_ndim(theta, 1, "theta");
        const py::ssize_t n = theta.shape(0);
        for (auto* pr : {&grad, &mom, &vel}) {
          require_ndim(*pr, 1, "grad/m/v");
          require_dim(*pr, 0, n, "grad/m/v");
        }
        if (t < 1) throw std::invalid_argument("t must be >= 1");
        carray<float> th2(std::vector<py::ssize_t>{n}), m2(std::vector<py::ssize_t>{n}),
            v2(std::vector<py::ssize_t>{n});
        std::copy(theta.data(), theta.data() + n, th2.mutable_data());
        std::copy(mom.data(), mom.data() + n, m2.mutable_data());
        std::copy(vel.data(), vel.data() + n, v2.mutable_data());
        bn::adam_step(th2.mutable_data(), grad.data(), m2.mutable_data(), v2.mutable_data(), n, t,
                      lr, beta1, beta2, eps);
        return py::make_tuple(th2, m2, v2);
      },
      py::arg("theta"), py::arg("grad"), py::arg("m"), py::arg("v"), py::arg("t"), py::arg("lr"),
      py::arg("beta1"), py::arg("beta2"), py::arg("eps"),
      "One Adam step (float32) as used in training; returns new (theta, m, v).");

  m.def(
      "train",
      [](const std::vector<int>& widths, const carray<float>& theta, const carray<float>& adam_m,
         const carray<float>& adam_v, const carray<float>& X, const carray<std::int32_t>& y,
         std::uint64_t seed, std::int64_t epoch_begin, std::int64_t epoch_end,
         const bn::TrainConfig& cfg, int n_threads) {
        auto a = make_arch(widths);
        cfg.validate();
        require_ndim(theta, 2, "theta");
        require_dim(theta, 1, a.n_weights(), "theta");
        require_finite(theta, "theta");
        const py::ssize_t R = theta.shape(0);
        require_ndim(adam_m, 2, "adam_m");
        require_dim(adam_m, 0, R, "adam_m");
        require_dim(adam_m, 1, a.n_weights(), "adam_m");
        require_ndim(adam_v, 2, "adam_v");
        require_dim(adam_v, 0, R, "adam_v");
        require_dim(adam_v, 1, a.n_weights(), "adam_v");
        check_X(X, a, "X");
        const py::ssize_t n = X.shape(0);
        check_labels(y, n, a.n_out(), "y");
        if (epoch_begin < 0 || epoch_end < epoch_begin)
          throw std::invalid_argument("need 0 <= epoch_begin <= epoch_end");
        const py::ssize_t P = a.n_weights();
        carray<float> th(std::vector<py::ssize_t>{R, P}), mm(std::vector<py::ssize_t>{R, P}),
            vv(std::vector<py::ssize_t>{R, P});
        std::copy(theta.data(), theta.data() + R * P, th.mutable_data());
        std::copy(adam_m.data(), adam_m.data() + R * P, mm.mutable_data());
        std::copy(adam_v.data(), adam_v.data() + R * P, vv.mutable_data());
        const std::int64_t n_ep = epoch_end - epoch_begin;
        carray<double> losses(std::vector<py::ssize_t>{R, n_ep});
        {
          float* pth = th.mutable_data();
          float* pm = mm.mutable_data();
          float* pv = vv.mutable_data();
          double* pl = losses.mutable_data();
          glasslens::bind::KernelScope rel;
          bn::train(a, pth, pm, pv, R, X.data(), y.data(), n, seed, epoch_begin, epoch_end, cfg,
                    pl, n_threads);
        }
        return py::make_tuple(th, mm, vv, losses);
      },
      py::arg("widths"), py::arg("theta"), py::arg("adam_m"), py::arg("adam_v"), py::arg("X"),
      py::arg("y"), py::arg("seed"), py::arg("epoch_begin"), py::arg("epoch_end"),
      py::arg("config"), py::arg("n_threads"),
      "LR-net training of R replicas over epochs [epoch_begin, epoch_end); returns new "
      "(theta, adam_m, adam_v, losses (R, n_epochs)). Bit-identical for any n_threads.");

  m.def(
      "sample",
      [](const carray<float>& theta, std::int64_t n_per, std::uint64_t seed, int n_threads,
         std::int64_t first_replica) {
        require_ndim(theta, 2, "theta");
        require_finite(theta, "theta");
        if (n_per < 0) throw std::invalid_argument("n_per_network must be >= 0");
        const py::ssize_t R = theta.shape(0), P = theta.shape(1);
        carray<std::int8_t> out(std::vector<py::ssize_t>{R * n_per, P});
        {
          std::int8_t* po = out.mutable_data();
          glasslens::bind::KernelScope rel;
          bn::sample_binary(theta.data(), R, P, n_per, seed, po, n_threads, first_replica);
        }
        return out;
      },
      py::arg("theta"), py::arg("n_per_network"), py::arg("seed"), py::arg("n_threads"),
      py::arg("first_replica") = 0,
      "Binary configurations W ~ Bernoulli(sigmoid(theta)) as +-1 int8, shape (R * n_per, P); "
      "row r * n_per + k is draw k of network r, keyed by (seed, first_replica + r, k).");

  auto eval_doc =
      "Deterministic forward pass (leaky ReLU / sqrt(fan-in)) of K weight configurations "
      "(K, n_weights) on X; returns (accuracy (K,), mean cross-entropy (K,); NaN unless "
      "with_loss).";
  m.def(
      "evaluate_binary",
      [](const std::vector<int>& widths, const carray<std::int8_t>& W, const carray<float>& X,
         const carray<std::int32_t>& y, double leak, int n_threads, bool with_loss) {
        return evaluate_configurations(widths, W, X, y, leak, n_threads, with_loss,
                                       "configurations");
      },
      py::arg("widths"), py::arg("configurations"), py::arg("X"), py::arg("y"), py::arg("leak"),
      py::arg("n_threads"), py::arg("with_loss") = true, eval_doc);
  m.def(
      "evaluate_real",
      [](const std::vector<int>& widths, const carray<float>& W, const carray<float>& X,
         const carray<std::int32_t>& y, double leak, int n_threads, bool with_loss) {
        require_finite(W, "weights");
        return evaluate_configurations(widths, W, X, y, leak, n_threads, with_loss, "weights");
      },
      py::arg("widths"), py::arg("weights"), py::arg("X"), py::arg("y"), py::arg("leak"),
      py::arg("n_threads"), py::arg("with_loss") = true, eval_doc);
  m.def(
      "forward_logits",
      [](const std::vector<int>& widths, const carray<float>& W, const carray<float>& X,
         double leak) {
        auto a = make_arch(widths);
        require_ndim(W, 1, "weights");
        require_dim(W, 0, a.n_weights(), "weights");
        check_X(X, a, "X");
        const py::ssize_t n = X.shape(0);
        carray<float> out(std::vector<py::ssize_t>{n, a.n_out()});
        {
          float* po = out.mutable_data();
          glasslens::bind::KernelScope rel;
          bn::forward_logits(a, W.data(), X.data(), n, leak, po);
        }
        return out;
      },
      py::arg("widths"), py::arg("weights"), py::arg("X"), py::arg("leak"),
      "Logits (n, n_out) of one real or binary weight vector (n_weights,) - deterministic pass.");
}
