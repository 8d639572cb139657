// Bindings of the maximum-entropy (Ising) core, glasslens._core.maxent: samplers, exact
// enumeration, pseudo-likelihood, belief propagation. Validation of meaning (+-1 values, symmetry) lives in glasslens.maxent;
// here we check shapes and finiteness so that no call can crash the interpreter.
#include <algorithm>
#include <optional>

#include "common.hpp"
#include "glasslens/maxent/ising.hpp"

namespace py = pybind11;
using namespace glasslens;
using namespace glasslens::bind;

namespace {

int check_model(const carray<double>& h, const carray<double>& J) {
  require_ndim(h, 1, "h");
  const auto N = h.shape(0);
  if (N <= 0) throw std::invalid_argument("h must not be empty");
  require_ndim(J, 2, "J");
  require_dim(J, 0, N, "J");
  require_dim(J, 1, N, "J");
  require_finite(h, "h");
  require_finite(J, "J");
  return static_cast<int>(N);
}

void check_pm1(const carray<std::int8_t>& X, const char* name) {
  const std::int8_t* p = X.data();
  for (py::ssize_t k = 0; k < X.size(); ++k)
    if (p[k] != 1 && p[k] != -1)
      throw std::invalid_argument(std::string(name) + " must contain only +1 and -1");
}

}  // namespace

void bind_maxent(py::module_& m) {
  const ising::PLMOptions d;
  py::class_<ising::PLMOptions>(
      m, "PLMOptions",
      "Settings of plm_fit (glasslens::ising::PLMOptions; the thread count is plm_fit's "
      "n_threads).")
      .def(py::init([](double l2, double l2_h, double l1, int max_iter, double tol, double ftol,
                       int history, int block) {
             ising::PLMOptions o;
             o.l2 = l2; o.l2_h = l2_h; o.l1 = l1; o.max_iter = max_iter; o.tol = tol;
             o.ftol = ftol; o.history = history; o.block = block;
             return o;
           }),
           py::kw_only(), py::arg("l2") = d.l2, py::arg("l2_h") = d.l2_h, py::arg("l1") = d.l1,
           py::arg("max_iter") = d.max_iter, py::arg("tol") = d.tol, py::arg("ftol") = d.ftol,
           py::arg("history") = d.history, py::arg("block") = d.block)
      .def_readwrite("l2", &ising::PLMOptions::l2, "L2 penalty on the couplings J_ij")
      .def_readwrite("l2_h", &ising::PLMOptions::l2_h, "L2 penalty on the fields h_i")
      .def_readwrite("l1", &ising::PLMOptions::l1, "L1 penalty on the couplings (> 0: OWL-QN)")
      .def_readwrite("max_iter", &ising::PLMOptions::max_iter, "iterations per spin")
      .def_readwrite("tol", &ising::PLMOptions::tol,
                     "stop when max |(pseudo-)gradient| <= tol")
      .def_readwrite("ftol", &ising::PLMOptions::ftol,
                     "... or when an accepted step's predicted decrease <= ftol * max(1, |f_i|)")
      .def_readwrite("history", &ising::PLMOptions::history, "L-BFGS memory")
      .def_readwrite("block", &ising::PLMOptions::block,
                     "spins optimised together (lock-step evaluation, one GEMM per round)");

  m.def(
      "sample",
      [](const carray<double>& h, const carray<double>& J, int chains, std::int64_t per_chain,
         std::int64_t burn_in, std::int64_t thin, std::uint64_t seed, const std::string& method,
         std::optional<carray<std::int8_t>> init, int n_threads) {
        const int N = check_model(h, J);
        if (chains < 1) throw std::invalid_argument("chains must be >= 1");
        if (per_chain < 0 || burn_in < 0 || thin < 1)
          throw std::invalid_argument("per_chain and burn_in must be >= 0, thin >= 1");
        ising::SampleOptions opt;
        opt.chains = chains;
        opt.per_chain = per_chain;
        opt.burn_in = burn_in;
        opt.thin = thin;
        opt.seed = seed;
        opt.n_threads = n_threads;
        if (method == "metropolis") opt.method = ising::Sampler::metropolis;
        else if (method == "gibbs") opt.method = ising::Sampler::gibbs;
        else throw std::invalid_argument("method must be 'metropolis' or 'gibbs', got '" + method + "'");
        const std::int8_t* ip = nullptr;
        if (init) {
          require_ndim(*init, 2, "init");
          require_dim(*init, 0, chains, "init");
          require_dim(*init, 1, N, "init");
          check_pm1(*init, "init");
          ip = init->data();
        }
        auto out = carray<std::int8_t>(std::vector<py::ssize_t>{static_cast<py::ssize_t>(chains * per_chain), N});
        double acc;
        {
          glasslens::bind::KernelScope release;
          acc = ising::sample(h.data(), J.data(), N, ip, opt, out.mutable_data());
        }
        return py::make_tuple(out, acc);
      },
      py::arg("h"), py::arg("J"), py::arg("chains"), py::arg("per_chain"), py::arg("burn_in"),
      py::arg("thin"), py::arg("seed"), py::arg("method"), py::arg("init") = py::none(),
      py::arg("n_threads") = 0,
      "Monte Carlo samples of P(s) ~ exp(h.s + 1/2 s.J.s): returns (int8 (chains*per_chain, N), "
      "flip rate). Sequential sweeps; chain c uses the random stream (seed, c).");

  m.def(
      "exact_moments",
      [](const carray<double>& h, const carray<double>& J, int n_threads) {
        const int N = check_model(h, J);
        if (N > 26) throw std::invalid_argument("exact enumeration needs N <= 26");
        auto mm = carray<double>(std::vector<py::ssize_t>{N});
        auto C = carray<double>(std::vector<py::ssize_t>{N, N});
        double lz;
        {
          glasslens::bind::KernelScope release;
          lz = ising::exact_moments(h.data(), J.data(), N, mm.mutable_data(), C.mutable_data(), n_threads);
        }
        return py::make_tuple(lz, mm, C);
      },
      py::arg("h"), py::arg("J"), py::arg("n_threads") = 0,
      "Exact (ln Z, m, C) by Gray-code enumeration; C = <s_i s_j> with unit diagonal.");

  m.def(
      "plm_fit",
      [](const carray<std::int8_t>& X, std::optional<carray<double>> P0,
         const ising::PLMOptions& options, int n_threads) {
        require_ndim(X, 2, "samples");
        const auto M = X.shape(0);
        const auto N = X.shape(1);
        if (M < 1 || N < 2) throw std::invalid_argument("samples must have >= 1 row and >= 2 spins");
        check_pm1(X, "samples");
        const double* p0 = nullptr;
        if (P0) {
          require_ndim(*P0, 2, "P0");
          require_dim(*P0, 0, N, "P0");
          require_dim(*P0, 1, N, "P0");
          require_finite(*P0, "P0");
          p0 = P0->data();
        }
        ising::PLMOptions opt = options;
        opt.n_threads = n_threads;
        auto P = carray<double>(std::vector<py::ssize_t>{N, N});
        ising::PLMInfo info;
        {
          glasslens::bind::KernelScope release;
          info = ising::plm_fit(X.data(), M, static_cast<int>(N), p0, opt, P.mutable_data());
        }
        py::dict d;
        d["f"] = py::array_t<double>(static_cast<py::ssize_t>(N), info.f.data());
        d["grad_norm"] = py::array_t<double>(static_cast<py::ssize_t>(N), info.grad_norm.data());
        d["iters"] = py::array_t<int>(static_cast<py::ssize_t>(N), info.iters.data());
        d["evals"] = py::array_t<int>(static_cast<py::ssize_t>(N), info.evals.data());
        d["status"] = py::array_t<int>(static_cast<py::ssize_t>(N), info.status.data());
        return py::make_tuple(P, d);
      },
      py::arg("samples"), py::arg("P0") = py::none(),
      py::arg_v("options", ising::PLMOptions(), "PLMOptions()"),
      py::arg("n_threads") = 0,
      "Per-spin pseudo-likelihood fit (OWL-QN / L-BFGS). Returns (P, info) with P[i, j] = J_ij "
      "(row i, asymmetric), P[i, i] = h_i; info has per-spin f, grad_norm, iters, evals, status.");

  m.def(
      "plm_objective",
      [](const carray<std::int8_t>& X, const carray<double>& P, double l2, double l2_h, double l1,
         int n_threads) {
        require_ndim(X, 2, "samples");
        const auto M = X.shape(0);
        const auto N = X.shape(1);
        if (M < 1 || N < 2) throw std::invalid_argument("samples must have >= 1 row and >= 2 spins");
        check_pm1(X, "samples");
        require_ndim(P, 2, "P");
        require_dim(P, 0, N, "P");
        require_dim(P, 1, N, "P");
        require_finite(P, "P");
        auto f = carray<double>(std::vector<py::ssize_t>{N});
        auto G = carray<double>(std::vector<py::ssize_t>{N, N});
        {
          glasslens::bind::KernelScope release;
          ising::plm_objective(X.data(), M, static_cast<int>(N), P.data(), l2, l2_h, l1, n_threads,
                               f.mutable_data(), G.mutable_data());
        }
        return py::make_tuple(f, G);
      },
      py::arg("samples"), py::arg("P"), py::arg("l2") = 0.0, py::arg("l2_h") = 0.0,
      py::arg("l1") = 0.0, py::arg("n_threads") = 0,
      "Per-spin pseudo-likelihood objective f (N,) and gradient of its smooth part G (N, N), "
      "parameters packed as in plm_fit.");

  m.def(
      "bp_run",
      [](const carray<double>& h, const carray<double>& J, std::optional<carray<double>> msg,
         int max_sweeps, double tol, bool mean_criterion, double damping, int n_threads) {
        const int N = check_model(h, J);
        auto out = carray<double>(std::vector<py::ssize_t>{N, N});
        double* o = out.mutable_data();
        if (msg) {
          require_ndim(*msg, 2, "messages");
          require_dim(*msg, 0, N, "messages");
          require_dim(*msg, 1, N, "messages");
          require_finite(*msg, "messages");
          std::copy(msg->data(), msg->data() + static_cast<std::size_t>(N) * N, o);
        } else {
          std::fill(o, o + static_cast<std::size_t>(N) * N, 0.0);
        }
        if (max_sweeps < 0) throw std::invalid_argument("max_sweeps must be >= 0");
        if (!(tol >= 0)) throw std::invalid_argument("tol must be >= 0");
        if (!(damping >= 0 && damping < 1)) throw std::invalid_argument("damping must be in [0, 1)");
        ising::BPOptions opt;
        opt.max_sweeps = max_sweeps; opt.tol = tol; opt.mean_criterion = mean_criterion;
        opt.damping = damping; opt.n_threads = n_threads;
        ising::BPResult r;
        {
          glasslens::bind::KernelScope release;
          r = ising::bp_run(h.data(), J.data(), N, o, opt);
        }
        return py::make_tuple(out, r.sweeps, r.residual, r.converged);
      },
      py::arg("h"), py::arg("J"), py::arg("messages") = py::none(), py::arg("max_sweeps") = 1000,
      py::arg("tol") = 1e-6, py::arg("mean_criterion") = false, py::arg("damping") = 0.0,
      py::arg("n_threads") = 0,
      "Loopy BP, synchronous sweeps. messages[i, j] = m_{i->j}. Returns (messages, sweeps, "
      "residual, converged).");

  m.def(
      "bp_marginals",
      [](const carray<double>& h, const carray<double>& J, const carray<double>& msg,
         bool with_C, int n_threads) {
        const int N = check_model(h, J);
        require_ndim(msg, 2, "messages");
        require_dim(msg, 0, N, "messages");
        require_dim(msg, 1, N, "messages");
        require_finite(msg, "messages");
        auto mm = carray<double>(std::vector<py::ssize_t>{N});
        py::object Cobj = py::none();
        carray<double> C;
        if (with_C) C = carray<double>(std::vector<py::ssize_t>{N, N});
        double F;
        {
          glasslens::bind::KernelScope release;
          F = ising::bp_marginals(h.data(), J.data(), N, msg.data(), mm.mutable_data(),
                                  with_C ? C.mutable_data() : nullptr, n_threads);
        }
        if (with_C) Cobj = C;
        return py::make_tuple(mm, Cobj, F);
      },
      py::arg("h"), py::arg("J"), py::arg("messages"), py::arg("with_C") = true,
      py::arg("n_threads") = 0,
      "BP marginals: (m, C = <s_i s_j> or None, Bethe free energy beta*F).");
}
