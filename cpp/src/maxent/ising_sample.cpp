// Monte Carlo samplers and exact enumeration for the pairwise Ising model (see ising.hpp).
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "glasslens/maxent/ising.hpp"
#include "glasslens/common/parallel.hpp"
#include "glasslens/common/rng.hpp"

namespace glasslens::ising {

namespace {

void recompute_fields(const double* h, const double* J, int N, const std::int8_t* s, double* H) {
  for (int i = 0; i < N; ++i) {
    const double* Ji = J + static_cast<std::size_t>(i) * N;
    double acc = h[i];
    for (int j = 0; j < N; ++j) acc += Ji[j] * s[j];
    H[i] = acc;
  }
}

}  // namespace

double sample(const double* h, const double* J, int N, const std::int8_t* init,
              const SampleOptions& opt, std::int8_t* out) {
  if (N <= 0) throw std::invalid_argument("sample: N must be positive");
  if (opt.chains <= 0) throw std::invalid_argument("sample: chains must be positive");
  if (opt.per_chain < 0 || opt.burn_in < 0 || opt.thin < 1)
    throw std::invalid_argument("sample: per_chain, burn_in must be >= 0 and thin >= 1");
  std::vector<std::int64_t> flips(opt.chains, 0);
  parallel_for(opt.chains, opt.n_threads, [&](std::int64_t c) {
    Philox rng(opt.seed, static_cast<std::uint64_t>(c), 0x5A4D);
    std::vector<std::int8_t> s(N);
    std::vector<double> H(N);
    if (init) {
      for (int i = 0; i < N; ++i) s[i] = init[static_cast<std::size_t>(c) * N + i] > 0 ? 1 : -1;
    } else {
      for (int i = 0; i < N; ++i) s[i] = static_cast<std::int8_t>(rng.rademacher());
    }
    recompute_fields(h, J, N, s.data(), H.data());
    const std::int64_t total = opt.burn_in + opt.per_chain * opt.thin;
    std::int64_t recorded = 0, nflip = 0;
    const bool gibbs = opt.method == Sampler::gibbs;
    for (std::int64_t sweep = 1; sweep <= total; ++sweep) {
      check_interrupt();
      for (int i = 0; i < N; ++i) {
        const double u = rng.uniform();
        const double Hi = H[i];
        int snew;
        if (gibbs) {
          // P(s_i = +1 | rest) = 1 / (1 + exp(-2 H_i))
          const double p = 1.0 / (1.0 + std::exp(-2.0 * Hi));
          snew = u < p ? 1 : -1;
        } else {
          // energy change of flipping s_i; a move that leaves the energy unchanged is accepted
          // with probability 1/2 (still detailed balance): accepting it always made free spins
          // (zero field and couplings) flip deterministically every sweep
          const double dE = 2.0 * s[i] * Hi;
          const bool accept = dE < 0.0 || (dE == 0.0 ? u < 0.5 : u < std::exp(-dE));
          snew = accept ? -s[i] : s[i];
        }
        if (snew != s[i]) {
          s[i] = static_cast<std::int8_t>(snew);
          const double d = 2.0 * snew;
          const double* Ji = J + static_cast<std::size_t>(i) * N;
          for (int k = 0; k < N; ++k) H[k] += Ji[k] * d;
          ++nflip;
        }
      }
      if (sweep % 256 == 0) recompute_fields(h, J, N, s.data(), H.data());  // no drift
      if (sweep > opt.burn_in && (sweep - opt.burn_in) % opt.thin == 0) {
        std::int8_t* o = out + (static_cast<std::size_t>(c) * opt.per_chain + recorded) * N;
        std::copy(s.begin(), s.end(), o);
        ++recorded;
      }
    }
    flips[c] = nflip;
  });
  std::int64_t tot = 0;
  for (auto f : flips) tot += f;
  const double updates = static_cast<double>(opt.chains) * N *
                         static_cast<double>(opt.burn_in + opt.per_chain * opt.thin);
  return updates > 0 ? static_cast<double>(tot) / updates : 0.0;
}

double exact_moments(const double* h, const double* J, int N, double* m, double* C,
                     int n_threads) {
  if (N <= 0 || N > 30) throw std::invalid_argument("exact_moments: need 1 <= N <= 30");
  const std::uint64_t total = 1ull << N;
  const int K = static_cast<int>(std::min<std::uint64_t>(total, 256));  // fixed chunking
  const std::uint64_t per = total / static_cast<std::uint64_t>(K);
  // Walk Gray codes g(t) = t ^ (t >> 1), t in [a, a + per); bit b set -> s_b = +1.
  auto walk = [&](int chunk, auto&& visit) {
    std::vector<std::int8_t> s(N);
    std::vector<double> F(N);  // sum_j J_ij s_j
    const std::uint64_t a = static_cast<std::uint64_t>(chunk) * per;
    const std::uint64_t g = a ^ (a >> 1);
    for (int i = 0; i < N; ++i) s[i] = ((g >> i) & 1ull) ? 1 : -1;
    double lw = 0.0;  // -E = 1/2 s J s + h s
    for (int i = 0; i < N; ++i) {
      const double* Ji = J + static_cast<std::size_t>(i) * N;
      double acc = 0.0;
      for (int j = 0; j < N; ++j) acc += Ji[j] * s[j];
      F[i] = acc;
      lw += 0.5 * acc * s[i] + h[i] * s[i];
    }
    for (std::uint64_t t = a;; ++t) {
      visit(s, lw);
      if (t + 1 == a + per) break;
      const int k = __builtin_ctzll(t + 1);
      // flipping s_k changes -E by -2 s_k (F_k + h_k) (J_kk = 0)
      lw -= 2.0 * s[k] * (F[k] + h[k]);
      s[k] = static_cast<std::int8_t>(-s[k]);
      const double d = 2.0 * s[k];
      const double* Jk = J + static_cast<std::size_t>(k) * N;
      for (int i = 0; i < N; ++i) F[i] += Jk[i] * d;
    }
  };
  std::vector<double> cmax(K, -std::numeric_limits<double>::infinity());
  parallel_for(K, n_threads, [&](std::int64_t c) {
    double mx = -std::numeric_limits<double>::infinity();
    walk(static_cast<int>(c), [&](const std::vector<std::int8_t>&, double lw) { mx = std::max(mx, lw); });
    cmax[c] = mx;
  });
  const double lmax = *std::max_element(cmax.begin(), cmax.end());
  const std::size_t NN = static_cast<std::size_t>(N) * N;
  std::vector<double> zs(K, 0.0), ms(static_cast<std::size_t>(K) * N, 0.0);
  std::vector<double> cs(C ? static_cast<std::size_t>(K) * NN : 0, 0.0);
  parallel_for(K, n_threads, [&](std::int64_t c) {
    double z = 0.0;
    double* mc = ms.data() + static_cast<std::size_t>(c) * N;
    double* cc = C ? cs.data() + static_cast<std::size_t>(c) * NN : nullptr;
    walk(static_cast<int>(c), [&](const std::vector<std::int8_t>& s, double lw) {
      const double w = std::exp(lw - lmax);
      z += w;
      for (int i = 0; i < N; ++i) mc[i] += w * s[i];
      if (cc) {
        for (int i = 0; i < N; ++i) {
          const double wi = w * s[i];
          double* row = cc + static_cast<std::size_t>(i) * N;
          for (int j = i + 1; j < N; ++j) row[j] += wi * s[j];
        }
      }
    });
    zs[c] = z;
  });
  double Z = 0.0;
  for (int c = 0; c < K; ++c) Z += zs[c];
  if (m) {
    for (int i = 0; i < N; ++i) {
      double acc = 0.0;
      for (int c = 0; c < K; ++c) acc += ms[static_cast<std::size_t>(c) * N + i];
      m[i] = acc / Z;
    }
  }
  if (C) {
    for (int i = 0; i < N; ++i) {
      C[static_cast<std::size_t>(i) * N + i] = 1.0;
      for (int j = i + 1; j < N; ++j) {
        double acc = 0.0;
        for (int c = 0; c < K; ++c) acc += cs[static_cast<std::size_t>(c) * NN + static_cast<std::size_t>(i) * N + j];
        C[static_cast<std::size_t>(i) * N + j] = C[static_cast<std::size_t>(j) * N + i] = acc / Z;
      }
    }
  }
  return lmax + std::log(Z);
}

}  // namespace glasslens::ising
