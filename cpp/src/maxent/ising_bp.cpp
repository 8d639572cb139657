// Loopy belief propagation for the dense pairwise Ising model (see ising.hpp).
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "glasslens/maxent/ising.hpp"
#include "glasslens/common/parallel.hpp"

namespace glasslens::ising {

namespace {

constexpr double kClip = 1.0 - 1e-15;

inline double clip1(double x) noexcept { return std::max(-kClip, std::min(kClip, x)); }

// ln cosh x without overflow.
inline double lncosh(double x) noexcept {
  const double a = std::fabs(x);
  return a + std::log1p(std::exp(-2.0 * a)) - 0.6931471805599453;
}

// log(exp(a) + exp(b))
inline double logaddexp(double a, double b) noexcept {
  const double mx = std::max(a, b);
  return mx + std::log1p(std::exp(-std::fabs(a - b)));
}

constexpr int kRowBlock = 16;  // rows per parallel task (fixed: results do not depend on threads)

}  // namespace

BPResult bp_run(const double* h, const double* J, int N, double* msg, const BPOptions& opt) {
  if (N <= 0) throw std::invalid_argument("bp_run: N must be positive");
  if (opt.damping < 0.0 || opt.damping >= 1.0)
    throw std::invalid_argument("bp_run: damping must be in [0, 1)");
  const std::size_t NN = static_cast<std::size_t>(N) * N;
  // y_{i->j} = tanh(J_ij) m_{i->j} = tanh(u_{i->j}), the cavity field's hyperbolic tangent.
  // Y[i*N+j] = y_{i->j}; YT[j*N+i] = y_{i->j} (incoming messages of j, contiguous).
  std::vector<double> T(NN), Y(NN), YT(NN);
  for (std::size_t k = 0; k < NN; ++k) T[k] = std::tanh(J[k]);
  const std::int64_t nblocks = (N + kRowBlock - 1) / kRowBlock;
  // Threads only pay off for large graphs: a sweep has two barriers, which cost whole time
  // slices on an oversubscribed machine. Results do not depend on the count.
  const int nt = std::max(1, std::min(resolve_threads(opt.n_threads), N * N / 40000));
  auto transpose = [&] {
    parallel_for(nblocks, nt, [&](std::int64_t b) {
      const int j0 = static_cast<int>(b) * kRowBlock, j1 = std::min(N, j0 + kRowBlock);
      for (int i = 0; i < N; ++i)
        for (int j = j0; j < j1; ++j) YT[static_cast<std::size_t>(j) * N + i] = Y[static_cast<std::size_t>(i) * N + j];
    });
  };
  for (int i = 0; i < N; ++i) msg[static_cast<std::size_t>(i) * N + i] = 0.0;
  for (std::size_t k = 0; k < NN; ++k) Y[k] = clip1(T[k] * msg[k]);
  transpose();
  BPResult res;
  std::vector<double> rmax(nblocks), rsum(nblocks);
  const double nmsg = static_cast<double>(N) * (N - 1);
  for (int sweep = 1; sweep <= opt.max_sweeps; ++sweep) {
    parallel_for(nblocks, nt, [&](std::int64_t b) {
      const int i0 = static_cast<int>(b) * kRowBlock, i1 = std::min(N, i0 + kRowBlock);
      double mx = 0.0, sm = 0.0;
      for (int i = i0; i < i1; ++i) {
        const double* yi = YT.data() + static_cast<std::size_t>(i) * N;  // y_{k->i}, yi[i] = 0
        // H_i = h_i + sum_k atanh(y_k) = h_i + 1/2 sum_chunks ln prod_k (1 + y_k) / (1 - y_k):
        // one logarithm per 8 messages (each factor lies in [1e-15, 2e15]).
        double L = 0.0;
        int k = 0;
        for (; k + 8 <= N; k += 8) {
          double num = 1.0, den = 1.0;
          for (int q = 0; q < 8; ++q) {
            num *= 1.0 + yi[k + q];
            den *= 1.0 - yi[k + q];
          }
          L += std::log(num / den);
        }
        for (; k < N; ++k) L += std::log((1.0 + yi[k]) / (1.0 - yi[k]));
        const double H = h[i] + 0.5 * L;
        const double Ti = std::tanh(H);
        // m_{i->j} = tanh(H_i - atanh(y_{j->i})) = (T_i - y) / (1 - T_i y): exact identity, used
        // where it is well conditioned (|T_i| <= 0.9, so 1 - T_i y >= 0.1).
        const bool fast = std::fabs(Ti) <= 0.9;
        double* mi = msg + static_cast<std::size_t>(i) * N;
        const double* ti = T.data() + static_cast<std::size_t>(i) * N;
        double* Yi = Y.data() + static_cast<std::size_t>(i) * N;
        for (int j = 0; j < N; ++j) {
          if (j == i) continue;
          const double y = yi[j];
          double mn = fast ? (Ti - y) / (1.0 - Ti * y) : std::tanh(H - std::atanh(y));
          if (opt.damping > 0.0) mn = (1.0 - opt.damping) * mn + opt.damping * mi[j];
          const double d = std::fabs(mn - mi[j]);
          mx = std::max(mx, d);
          sm += d;
          mi[j] = mn;
          Yi[j] = clip1(ti[j] * mn);
        }
        Yi[i] = 0.0;
      }
      rmax[b] = mx;
      rsum[b] = sm;
    });
    double mx = 0.0, sm = 0.0;
    for (std::int64_t b = 0; b < nblocks; ++b) {
      mx = std::max(mx, rmax[b]);
      sm += rsum[b];
    }
    transpose();
    res.sweeps = sweep;
    res.residual = opt.mean_criterion ? (nmsg > 0 ? sm / nmsg : 0.0) : mx;
    if (!std::isfinite(res.residual)) throw std::runtime_error("bp_run: messages became non-finite");
    if (res.residual <= opt.tol) {
      res.converged = true;
      break;
    }
  }
  if (opt.max_sweeps <= 0) res.converged = false;
  return res;
}

double bp_marginals(const double* h, const double* J, int N, const double* msg, double* m,
                    double* C, int n_threads) {
  if (N <= 0) throw std::invalid_argument("bp_marginals: N must be positive");
  const std::int64_t nblocks = (N + kRowBlock - 1) / kRowBlock;
  std::vector<double> Fi(N), Fij(N, 0.0);
  parallel_for(nblocks, n_threads, [&](std::int64_t b) {
    const int i0 = static_cast<int>(b) * kRowBlock, i1 = std::min(N, i0 + kRowBlock);
    for (int i = i0; i < i1; ++i) {
      // incoming m_{k->i}: msg[k*N+i]
      double H = h[i], lp = h[i], lm = -h[i], fpair = 0.0;
      for (int k = 0; k < N; ++k) {
        if (k == i) continue;
        const double Jik = J[static_cast<std::size_t>(i) * N + k];
        const double t = std::tanh(Jik);
        const double mki = msg[static_cast<std::size_t>(k) * N + i];
        const double tm = clip1(t * mki);
        H += std::atanh(tm);
        const double lc = lncosh(Jik);
        lp += lc + std::log1p(tm);
        lm += lc + std::log1p(-tm);
        if (k > i) {
          const double mik = msg[static_cast<std::size_t>(i) * N + k];
          const double tmm = t * mik * mki;
          fpair += -(lc + std::log1p(std::max(tmm, -kClip)));
          if (C) {
            const double c = (t + mik * mki) / (1.0 + tmm);
            C[static_cast<std::size_t>(i) * N + k] = c;
          }
        }
      }
      if (m) m[i] = std::tanh(H);
      Fi[i] = -logaddexp(lp, lm);
      Fij[i] = fpair;
      if (C) C[static_cast<std::size_t>(i) * N + i] = 1.0;
    }
  });
  if (C) {
    for (int i = 0; i < N; ++i)
      for (int k = 0; k < i; ++k)
        C[static_cast<std::size_t>(i) * N + k] = C[static_cast<std::size_t>(k) * N + i];
  }
  double F = 0.0;
  for (int i = 0; i < N; ++i) F += Fi[i] - Fij[i];
  return F;
}

}  // namespace glasslens::ising
