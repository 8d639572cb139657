// Bindings for the perturbation probes and random walks (Protocol 1).
#include <string>

#include "common.hpp"
#include "glasslens/probes/landscape.hpp"

namespace py = pybind11;
using namespace glasslens;
using namespace glasslens::bind;
namespace ls = glasslens::landscape;

namespace {

nn::Shape make_shape(const std::vector<int>& widths, bool bias) {
  nn::Shape s(widths, bias);
  return s;
}

void check_theta(const carray<float>& theta, const nn::Shape& s, const char* name) {
  require_ndim(theta, 1, name);
  require_dim(theta, 0, s.n_params(), name);
  require_finite(theta, name);
}

void check_data(const carray<float>& X, const carray<std::int32_t>& y, const nn::Shape& s,
                const char* xn, const char* yn) {
  require_ndim(X, 2, xn);
  require_dim(X, 1, s.n_in(), xn);
  if (X.shape(0) < 1) throw std::invalid_argument(std::string(xn) + " must not be empty");
  require_finite(X, xn);
  require_ndim(y, 1, yn);
  require_dim(y, 0, X.shape(0), yn);
  const std::int32_t* p = y.data();
  for (py::ssize_t i = 0; i < y.size(); ++i)
    if (p[i] < 0 || p[i] >= s.n_out())
      throw std::invalid_argument(std::string(yn) + " has a label out of range [0, " +
                                  std::to_string(s.n_out()) + ") at index " + std::to_string(i));
}

ls::DirKind parse_kind(const std::string& k) {
  if (k == "gaussian") return ls::DirKind::gaussian;
  if (k == "rademacher") return ls::DirKind::rademacher;
  throw std::invalid_argument("kind must be 'gaussian' or 'rademacher', got '" + k + "'");
}
ls::Norm parse_norm(const std::string& k) {
  if (k == "none") return ls::Norm::none;
  if (k == "global") return ls::Norm::global;
  if (k == "layer") return ls::Norm::layer;
  if (k == "filter") return ls::Norm::filter;
  throw std::invalid_argument("normalization must be 'none', 'global', 'layer' or 'filter', got '" + k + "'");
}
ls::BiasMode parse_bias(const std::string& k) {
  if (k == "include") return ls::BiasMode::include;
  if (k == "zero") return ls::BiasMode::zero;
  throw std::invalid_argument("bias_mode must be 'include' or 'zero', got '" + k + "'");
}
ls::PertMode parse_mode(const std::string& k) {
  if (k == "additive") return ls::PertMode::additive;
  if (k == "multiplicative") return ls::PertMode::multiplicative;
  throw std::invalid_argument("mode must be 'additive' or 'multiplicative', got '" + k + "'");
}

}  // namespace

void bind_landscape(py::module_& m) {
  m.def(
      "landscape_direction",
      [](const std::vector<int>& widths, bool bias, carray<float> theta, std::uint64_t seed,
         std::int64_t k, const std::string& kind, const std::string& normalization,
         const std::string& bias_mode) {
        const auto s = make_shape(widths, bias);
        check_theta(theta, s, "theta");
        if (k < 0) throw std::invalid_argument("k must be >= 0");
        const auto dk = parse_kind(kind);
        const auto nm = parse_norm(normalization);
        const auto bm = parse_bias(bias_mode);
        carray<float> u(std::vector<py::ssize_t>{static_cast<py::ssize_t>(s.n_params())});
        float* up = u.mutable_data();
        const float* tp = theta.data();
        {
          py::gil_scoped_release rel;
          ls::make_direction(s, tp, seed, k, dk, nm, bm, up);
        }
        return u;
      },
      py::arg("widths"), py::arg("bias"), py::arg("theta"), py::arg("seed"), py::arg("k"),
      py::arg("kind"), py::arg("normalization"), py::arg("bias_mode"),
      "Direction u_k (float32, n_params) used by landscape_perturbed_eval.");

  m.def(
      "landscape_perturbed_eval",
      [](const std::vector<int>& widths, bool bias, carray<float> theta, std::uint64_t seed,
         std::int64_t K, carray<double> radii, const std::string& kind,
         const std::string& normalization, const std::string& bias_mode, const std::string& mode,
         carray<float> X, carray<std::int32_t> y, int n_threads) {
        const auto s = make_shape(widths, bias);
        check_theta(theta, s, "theta");
        check_data(X, y, s, "X", "y");
        require_ndim(radii, 1, "radii");
        require_finite(radii, "radii");
        if (radii.size() < 1) throw std::invalid_argument("radii must not be empty");
        if (K < 1) throw std::invalid_argument("K (directions) must be >= 1");
        const auto dk = parse_kind(kind);
        const auto nm = parse_norm(normalization);
        const auto bm = parse_bias(bias_mode);
        const auto md = parse_mode(mode);
        const std::int64_t R = radii.size();
        carray<double> loss(std::vector<py::ssize_t>{static_cast<py::ssize_t>(K), static_cast<py::ssize_t>(R)});
        carray<double> acc(std::vector<py::ssize_t>{static_cast<py::ssize_t>(K), static_cast<py::ssize_t>(R)});
        double* lp = loss.mutable_data();
        double* ap = acc.mutable_data();
        const float* tp = theta.data();
        const double* rp = radii.data();
        const float* xp = X.data();
        const std::int32_t* yp = y.data();
        const std::int64_t n = X.shape(0);
        double l0 = 0.0, a0 = 0.0;
        {
          py::gil_scoped_release rel;
          ls::perturbed_eval(s, tp, seed, K, rp, R, dk, nm, bm, md, xp, yp, n, lp, ap, n_threads,
                             &l0, &a0);
        }
        return py::make_tuple(loss, acc, l0, a0);
      },
      py::arg("widths"), py::arg("bias"), py::arg("theta"), py::arg("seed"), py::arg("K"),
      py::arg("radii"), py::arg("kind"), py::arg("normalization"), py::arg("bias_mode"),
      py::arg("mode"), py::arg("X"), py::arg("y"), py::arg("n_threads"),
      "Mean loss and accuracy (K x R) of K perturbed copies at R radii, and the unperturbed "
      "mean loss and accuracy: (loss, acc, loss0, acc0).");

  m.def(
      "_landscape_z0_limit",
      [](std::int64_t floats) {
        const std::int64_t old = ls::z0_limit();
        if (floats >= 0) ls::set_z0_limit(floats);
        return old;
      },
      py::arg("floats"),
      "Testing hook: set the size (floats) up to which perturbed_eval keeps the shared "
      "first-layer product (negative: leave unchanged); returns the previous value.");

  m.def(
      "landscape_affine_eval",
      [](const std::vector<int>& widths, bool bias, carray<float> theta0, carray<float> D,
         carray<double> coeffs, carray<float> X, carray<std::int32_t> y, int n_threads) {
        const auto s = make_shape(widths, bias);
        check_theta(theta0, s, "theta0");
        check_data(X, y, s, "X", "y");
        require_ndim(D, 2, "D");
        require_dim(D, 1, s.n_params(), "D");
        require_finite(D, "D");
        require_ndim(coeffs, 2, "coeffs");
        require_dim(coeffs, 1, D.shape(0), "coeffs");
        require_finite(coeffs, "coeffs");
        if (coeffs.shape(0) < 1) throw std::invalid_argument("coeffs must not be empty");
        const std::int64_t G = coeffs.shape(0);
        const int md = static_cast<int>(D.shape(0));
        carray<double> loss(std::vector<py::ssize_t>{static_cast<py::ssize_t>(G)});
        carray<double> acc(std::vector<py::ssize_t>{static_cast<py::ssize_t>(G)});
        double* lp = loss.mutable_data();
        double* ap = acc.mutable_data();
        const float *tp = theta0.data(), *dp = D.data(), *xp = X.data();
        const double* cp = coeffs.data();
        const std::int32_t* yp = y.data();
        const std::int64_t n = X.shape(0);
        {
          py::gil_scoped_release rel;
          ls::affine_eval(s, tp, dp, md, cp, G, xp, yp, n, lp, ap, n_threads);
        }
        return py::make_tuple(loss, acc);
      },
      py::arg("widths"), py::arg("bias"), py::arg("theta0"), py::arg("D"), py::arg("coeffs"),
      py::arg("X"), py::arg("y"), py::arg("n_threads"),
      "Mean loss and accuracy at theta0 + coeffs[g] @ D for every row g of coeffs.");

  m.def(
      "landscape_full_loss",
      [](const std::vector<int>& widths, bool bias, carray<float> theta, carray<float> X,
         carray<std::int32_t> y, int n_threads) {
        const auto s = make_shape(widths, bias);
        check_theta(theta, s, "theta");
        check_data(X, y, s, "X", "y");
        double acc = 0.0, loss = 0.0;
        const float *tp = theta.data(), *xp = X.data();
        const std::int32_t* yp = y.data();
        const std::int64_t n = X.shape(0);
        {
          py::gil_scoped_release rel;
          loss = ls::full_loss(s, tp, xp, yp, n, &acc, n_threads);
        }
        return py::make_tuple(loss, acc);
      },
      py::arg("widths"), py::arg("bias"), py::arg("theta"), py::arg("X"), py::arg("y"),
      py::arg("n_threads") = 1,
      "Mean loss and accuracy of one network (the kernel used by the landscape engines; "
      "bit-identical for any n_threads).");

  m.def(
      "landscape_random_walk",
      [](const std::vector<int>& widths, bool bias, carray<float> theta0, carray<float> Xtr,
         carray<std::int32_t> ytr, py::object Xte_o, py::object yte_o, std::int64_t steps,
         double sigma, const std::string& mode, double threshold, bool threshold_on_error,
         double temperature, const std::string& move, std::int64_t walkers,
         std::int64_t record_every, std::uint64_t seed, std::int64_t refresh_every,
         bool store_theta, int n_threads, py::object layer_sigma) {
        const auto s = make_shape(widths, bias);
        check_theta(theta0, s, "theta0");
        check_data(Xtr, ytr, s, "X_train", "y_train");
        carray<float> Xte;
        carray<std::int32_t> yte;
        const bool have_test = !Xte_o.is_none();
        if (have_test) {
          Xte = Xte_o.cast<carray<float>>();
          yte = yte_o.cast<carray<std::int32_t>>();
          check_data(Xte, yte, s, "X_test", "y_test");
        }
        ls::WalkParams p;
        p.steps = steps;
        if (!(sigma >= 0.0) || !std::isfinite(sigma)) throw std::invalid_argument("sigma must be finite and >= 0");
        p.sigma = sigma;
        if (!layer_sigma.is_none()) {
          p.layer_sigma = layer_sigma.cast<std::vector<double>>();
          if (static_cast<int>(p.layer_sigma.size()) != s.n_layers())
            throw std::invalid_argument("layer_sigma needs one entry per layer");
          for (double v : p.layer_sigma)
            if (!(v >= 0.0) || !std::isfinite(v))
              throw std::invalid_argument("layer_sigma entries must be finite and >= 0");
        }
        if (mode == "free") p.mode = ls::WalkMode::free_walk;
        else if (mode == "threshold") p.mode = ls::WalkMode::threshold;
        else if (mode == "metropolis") p.mode = ls::WalkMode::metropolis;
        else throw std::invalid_argument("mode must be 'free', 'threshold' or 'metropolis', got '" + mode + "'");
        p.threshold = threshold;
        p.threshold_on_error = threshold_on_error;
        p.temperature = temperature;
        if (move == "dense") p.move = ls::MoveKind::dense;
        else if (move == "weight") p.move = ls::MoveKind::weight;
        else if (move == "unit") p.move = ls::MoveKind::unit;
        else throw std::invalid_argument("move must be 'dense', 'weight' or 'unit', got '" + move + "'");
        if (steps < 0) throw std::invalid_argument("steps must be >= 0");
        if (walkers < 1) throw std::invalid_argument("walkers must be >= 1");
        if (record_every < 1) throw std::invalid_argument("record_every must be >= 1");
        if (refresh_every < 0) throw std::invalid_argument("refresh_every must be >= 0");
        p.walkers = walkers;
        p.record_every = record_every;
        p.seed = seed;
        p.refresh_every = refresh_every;
        p.eval_test = have_test;
        p.store_theta = store_theta;
        ls::WalkOutput out;
        const float *tp = theta0.data(), *xp = Xtr.data();
        const std::int32_t* yp = ytr.data();
        const float* xtp = have_test ? Xte.data() : nullptr;
        const std::int32_t* ytp = have_test ? yte.data() : nullptr;
        const std::int64_t ntr = Xtr.shape(0), nte = have_test ? Xte.shape(0) : 0;
        {
          py::gil_scoped_release rel;
          ls::random_walk(s, tp, xp, yp, ntr, xtp, ytp, nte, p, out, n_threads);
        }
        const py::ssize_t W = walkers, NR = out.n_records, P = s.n_params();
        auto mat = [&](const std::vector<double>& v) {
          carray<double> a(std::vector<py::ssize_t>{W, NR});
          std::copy(v.begin(), v.end(), a.mutable_data());
          return a;
        };
        py::dict d;
        carray<std::int64_t> stp(std::vector<py::ssize_t>{NR});
        std::copy(out.step.begin(), out.step.end(), stp.mutable_data());
        d["step"] = stp;
        d["distance"] = mat(out.dist);
        d["overlap"] = mat(out.overlap);
        d["train_loss"] = mat(out.train_loss);
        d["train_acc"] = mat(out.train_acc);
        d["test_loss"] = mat(out.test_loss);
        d["test_acc"] = mat(out.test_acc);
        d["acceptance"] = mat(out.accept);
        carray<float> ft(std::vector<py::ssize_t>{W, P});
        std::copy(out.final_theta.begin(), out.final_theta.end(), ft.mutable_data());
        d["final_theta"] = ft;
        if (store_theta) {
          carray<float> th(std::vector<py::ssize_t>{W, NR, P});
          std::copy(out.thetas.begin(), out.thetas.end(), th.mutable_data());
          d["thetas"] = th;
        }
        carray<double> md(std::vector<py::ssize_t>{W});
        std::copy(out.max_drift.begin(), out.max_drift.end(), md.mutable_data());
        d["max_drift"] = md;
        carray<std::int64_t> na(std::vector<py::ssize_t>{W});
        std::copy(out.n_accepted.begin(), out.n_accepted.end(), na.mutable_data());
        d["n_accepted"] = na;
        return d;
      },
      py::arg("widths"), py::arg("bias"), py::arg("theta0"), py::arg("X_train"),
      py::arg("y_train"), py::arg("X_test"), py::arg("y_test"), py::arg("steps"),
      py::arg("sigma"), py::arg("mode"), py::arg("threshold"), py::arg("threshold_on_error"),
      py::arg("temperature"), py::arg("move"), py::arg("walkers"), py::arg("record_every"),
      py::arg("seed"), py::arg("refresh_every"), py::arg("store_theta"), py::arg("n_threads"),
      py::arg("layer_sigma") = py::none(),
      "Random walks from theta0 (see glasslens.walks.random_walk); returns a dict of arrays.");
}
