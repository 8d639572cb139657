// Bindings for the perturbation probes and random walks (Protocol 1): glasslens._core.probes.
#include <optional>
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

ls::WalkMode parse_walk_mode(const std::string& mode) {
  if (mode == "free") return ls::WalkMode::free_walk;
  if (mode == "threshold") return ls::WalkMode::threshold;
  if (mode == "metropolis") return ls::WalkMode::metropolis;
  throw std::invalid_argument("mode must be 'free', 'threshold' or 'metropolis', got '" + mode + "'");
}
std::string walk_mode_name(ls::WalkMode m) {
  switch (m) {
    case ls::WalkMode::free_walk: return "free";
    case ls::WalkMode::threshold: return "threshold";
    case ls::WalkMode::metropolis: return "metropolis";
  }
  return "?";
}
ls::MoveKind parse_move(const std::string& move) {
  if (move == "dense") return ls::MoveKind::dense;
  if (move == "weight") return ls::MoveKind::weight;
  if (move == "unit") return ls::MoveKind::unit;
  throw std::invalid_argument("move must be 'dense', 'weight' or 'unit', got '" + move + "'");
}
std::string move_name(ls::MoveKind m) {
  switch (m) {
    case ls::MoveKind::dense: return "dense";
    case ls::MoveKind::weight: return "weight";
    case ls::MoveKind::unit: return "unit";
  }
  return "?";
}

void bind_walk_params(py::module_& m) {
  const ls::WalkParams d;
  py::class_<ls::WalkParams>(m, "WalkParams",
                             "Settings of random_walk (glasslens::landscape::WalkParams).")
      .def(py::init([](std::int64_t steps, double sigma, const std::string& mode, double threshold,
                       bool threshold_on_error, double temperature, const std::string& move,
                       std::int64_t walkers, std::int64_t record_every, std::uint64_t seed,
                       std::int64_t refresh_every, bool store_theta,
                       std::optional<std::vector<double>> layer_sigma) {
             ls::WalkParams p;
             p.steps = steps;
             p.sigma = sigma;
             p.mode = parse_walk_mode(mode);
             p.threshold = threshold;
             p.threshold_on_error = threshold_on_error;
             p.temperature = temperature;
             p.move = parse_move(move);
             p.walkers = walkers;
             p.record_every = record_every;
             p.seed = seed;
             p.refresh_every = refresh_every;
             p.store_theta = store_theta;
             if (layer_sigma) p.layer_sigma = std::move(*layer_sigma);
             return p;
           }),
           py::kw_only(), py::arg("steps") = d.steps, py::arg("sigma") = d.sigma,
           py::arg("mode") = walk_mode_name(d.mode), py::arg("threshold") = d.threshold,
           py::arg("threshold_on_error") = d.threshold_on_error,
           py::arg("temperature") = d.temperature, py::arg("move") = move_name(d.move),
           py::arg("walkers") = d.walkers, py::arg("record_every") = d.record_every,
           py::arg("seed") = d.seed, py::arg("refresh_every") = d.refresh_every,
           py::arg("store_theta") = d.store_theta, py::arg("layer_sigma") = py::none())
      .def_readwrite("steps", &ls::WalkParams::steps, "proposed moves per walker (>= 0)")
      .def_readwrite("sigma", &ls::WalkParams::sigma,
                     "per-coordinate standard deviation of a move (finite, >= 0)")
      .def_property(
          "mode", [](const ls::WalkParams& p) { return walk_mode_name(p.mode); },
          [](ls::WalkParams& p, const std::string& v) { p.mode = parse_walk_mode(v); },
          "'free', 'threshold' or 'metropolis'")
      .def_readwrite("threshold", &ls::WalkParams::threshold,
                     "threshold mode: level on the train loss (or error)")
      .def_readwrite("threshold_on_error", &ls::WalkParams::threshold_on_error,
                     "threshold mode: the level applies to the train error instead of the loss")
      .def_readwrite("temperature", &ls::WalkParams::temperature, "metropolis mode (> 0)")
      .def_property(
          "move", [](const ls::WalkParams& p) { return move_name(p.move); },
          [](ls::WalkParams& p, const std::string& v) { p.move = parse_move(v); },
          "'dense' (all parameters), 'weight' (one parameter) or 'unit' (one hidden unit)")
      .def_readwrite("walkers", &ls::WalkParams::walkers, "independent walkers (>= 1)")
      .def_readwrite("record_every", &ls::WalkParams::record_every,
                     "record every this many steps (>= 1)")
      .def_readwrite("seed", &ls::WalkParams::seed, "walker w draws from Philox(seed, w)")
      .def_readwrite("refresh_every", &ls::WalkParams::refresh_every,
                     "sparse moves: full recomputation every this many steps (0: never)")
      .def_readwrite("store_theta", &ls::WalkParams::store_theta,
                     "keep theta at every record (walkers x records x P)")
      .def_readwrite("layer_sigma", &ls::WalkParams::layer_sigma,
                     "if not empty: the sigma of each layer's block [W_l, b_l] (overrides sigma)");
}

}  // namespace

void bind_probes(py::module_& m) {
  bind_walk_params(m);
  m.def(
      "direction",
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
          glasslens::bind::KernelScope rel;
          ls::make_direction(s, tp, seed, k, dk, nm, bm, up);
        }
        return u;
      },
      py::arg("widths"), py::arg("bias"), py::arg("theta"), py::arg("seed"), py::arg("k"),
      py::arg("kind"), py::arg("normalization"), py::arg("bias_mode"),
      "Direction u_k (float32, n_params) used by perturbed_eval.");

  m.def(
      "perturbed_eval",
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
          glasslens::bind::KernelScope rel;
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
      "_z0_limit",
      [](std::int64_t floats) {
        const std::int64_t old = ls::z0_limit();
        if (floats >= 0) ls::set_z0_limit(floats);
        return old;
      },
      py::arg("floats"),
      "Testing hook: set the size (floats) up to which perturbed_eval keeps the shared "
      "first-layer product (negative: leave unchanged); returns the previous value.");

  m.def(
      "affine_eval",
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
          glasslens::bind::KernelScope rel;
          ls::affine_eval(s, tp, dp, md, cp, G, xp, yp, n, lp, ap, n_threads);
        }
        return py::make_tuple(loss, acc);
      },
      py::arg("widths"), py::arg("bias"), py::arg("theta0"), py::arg("D"), py::arg("coeffs"),
      py::arg("X"), py::arg("y"), py::arg("n_threads"),
      "Mean loss and accuracy at theta0 + coeffs[g] @ D for every row g of coeffs.");

  m.def(
      "full_loss",
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
          glasslens::bind::KernelScope rel;
          loss = ls::full_loss(s, tp, xp, yp, n, &acc, n_threads);
        }
        return py::make_tuple(loss, acc);
      },
      py::arg("widths"), py::arg("bias"), py::arg("theta"), py::arg("X"), py::arg("y"),
      py::arg("n_threads") = 1,
      "Mean loss and accuracy of one network (the kernel used by the landscape engines; "
      "bit-identical for any n_threads).");

  m.def(
      "random_walk",
      [](const std::vector<int>& widths, bool bias, carray<float> theta0, carray<float> Xtr,
         carray<std::int32_t> ytr, py::object Xte_o, py::object yte_o,
         const ls::WalkParams& params, int n_threads) {
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
        ls::WalkParams p = params;
        if (!(p.sigma >= 0.0) || !std::isfinite(p.sigma)) throw std::invalid_argument("sigma must be finite and >= 0");
        if (!p.layer_sigma.empty()) {
          if (static_cast<int>(p.layer_sigma.size()) != s.n_layers())
            throw std::invalid_argument("layer_sigma needs one entry per layer");
          for (double v : p.layer_sigma)
            if (!(v >= 0.0) || !std::isfinite(v))
              throw std::invalid_argument("layer_sigma entries must be finite and >= 0");
        }
        if (p.steps < 0) throw std::invalid_argument("steps must be >= 0");
        if (p.walkers < 1) throw std::invalid_argument("walkers must be >= 1");
        if (p.record_every < 1) throw std::invalid_argument("record_every must be >= 1");
        if (p.refresh_every < 0) throw std::invalid_argument("refresh_every must be >= 0");
        p.eval_test = have_test;
        ls::WalkOutput out;
        const float *tp = theta0.data(), *xp = Xtr.data();
        const std::int32_t* yp = ytr.data();
        const float* xtp = have_test ? Xte.data() : nullptr;
        const std::int32_t* ytp = have_test ? yte.data() : nullptr;
        const std::int64_t ntr = Xtr.shape(0), nte = have_test ? Xte.shape(0) : 0;
        {
          glasslens::bind::KernelScope rel;
          ls::random_walk(s, tp, xp, yp, ntr, xtp, ytp, nte, p, out, n_threads);
        }
        const py::ssize_t W = p.walkers, NR = out.n_records, P = s.n_params();
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
        if (p.store_theta) {
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
      py::arg("y_train"), py::arg("X_test"), py::arg("y_test"), py::arg("params"),
      py::arg("n_threads"),
      "Random walks from theta0 (see glasslens.walks.random_walk; X_test/y_test may be None); "
      "returns a dict of arrays.");
}
