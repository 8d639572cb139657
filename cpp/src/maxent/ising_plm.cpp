// Pseudo-likelihood inference of the pairwise Ising model (see ising.hpp).
//
// Every spin i is an independent L2/L1-penalised logistic problem. Spins are optimised in blocks of
// `block` spins that advance in lock step: each round evaluates all active spins of the block at
// their own trial points with one pass over the data, as two small GEMMs per chunk of samples
// (float32, spins in SIMD lanes, chunk sums accumulated in double). Each spin runs its own OWL-QN
// (L-BFGS when l1 == 0) with a backtracking Armijo line search. Blocks are fixed by spin index and
// a spin's arithmetic does not depend on its lane, so results are identical for any thread count.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "glasslens/maxent/ising.hpp"
#include "glasslens/common/parallel.hpp"
#include "glasslens/common/simd.hpp"

namespace glasslens::ising {

namespace detail {

void plm_forward_scalar(const float* XcT, int Np, int S, const float* Wt, int B, float* Hc) {
  for (int s = 0; s < S; ++s) {
    float* o = Hc + static_cast<long>(s) * B;
    for (int b = 0; b < B; ++b) o[b] = 0.0f;
    for (int j = 0; j < Np; ++j) {
      const float x = XcT[static_cast<long>(j) * S + s];
      const float* w = Wt + static_cast<long>(j) * B;
      for (int b = 0; b < B; ++b) o[b] += x * w[b];
    }
  }
}

void plm_backward_scalar(const float* XcT, int Np, int S, const float* R, int B, float* Gc) {
  for (int j = 0; j < Np; ++j) {
    float* o = Gc + static_cast<long>(j) * B;
    for (int b = 0; b < B; ++b) o[b] = 0.0f;
    const float* x = XcT + static_cast<long>(j) * S;
    for (int s = 0; s < S; ++s) {
      const float* r = R + static_cast<long>(s) * B;
      const float xs = x[s];
      for (int b = 0; b < B; ++b) o[b] += xs * r[b];
    }
  }
}

namespace {
inline float exp_neg_scalar(float x) {  // same Cephes polynomial as the AVX2 kernel
  x = std::max(x, -87.0f);
  const float n = std::nearbyint(x * 1.44269504088896341f);
  x = x - n * 0.693359375f;
  x = x - n * -2.12194440e-4f;
  float y = 1.9875691500E-4f;
  y = y * x + 1.3981999507E-3f;
  y = y * x + 8.3334519073E-3f;
  y = y * x + 4.1665795894E-2f;
  y = y * x + 1.6666665459E-1f;
  y = y * x + 5.0000001201E-1f;
  y = y * x * x + x + 1.0f;
  return std::ldexp(y, static_cast<int>(n));
}
inline float log1p_01_scalar(float e) {
  const bool big = e > 0.41421356237f;
  const float f = big ? (e - 1.0f) * 0.5f : e;
  const float k = big ? 1.0f : 0.0f;
  const float z = f * f;
  float y = 7.0376836292E-2f;
  y = y * f + -1.1514610310E-1f;
  y = y * f + 1.1676998740E-1f;
  y = y * f + -1.2420140846E-1f;
  y = y * f + 1.4249322787E-1f;
  y = y * f + -1.6668057665E-1f;
  y = y * f + 2.0000714765E-1f;
  y = y * f + -2.4999993993E-1f;
  y = y * f + 3.3333331174E-1f;
  y = y * f * z;
  y = y + k * -2.12194440e-4f;
  y = y - z * 0.5f;
  return (f + y) + k * 0.693359375f;
}
}  // namespace

void plm_loss_scalar(const float* Hc, const float* Sg, const float* hb, int S, int B, float* R,
                     double* loss, float* gh) {
  for (int b = 0; b < B; ++b) {
    double L = loss[b];
    float G = gh[b];
    for (int s = 0; s < S; ++s) {
      const long o = static_cast<long>(s) * B + b;
      const float sg = Sg[o];
      const float t = (-2.0f * sg) * (Hc[o] + hb[b]);
      const float e = exp_neg_scalar(-std::fabs(t));
      L += static_cast<double>((sg * sg) * (std::max(t, 0.0f) + log1p_01_scalar(e)));
      const float inv = 1.0f / (1.0f + e);
      const float r = (-2.0f * sg) * (t >= 0.0f ? inv : e * inv);
      R[o] = r;
      G += r;
    }
    loss[b] = L;
    gh[b] = G;
  }
}

}  // namespace detail

namespace {

constexpr int kChunk = 128;  // samples per chunk (multiple of 4)

// Data transposed to spins x samples (int8), rows padded to a multiple of 4.
struct Data {
  const std::int8_t* X;
  std::int64_t M;
  int N, Np;
  std::vector<std::int8_t> XT;  // Np x M
};

// Evaluates the smooth part (loss + L2) for `na` spins `spins[a]` at parameter rows `xs[a]`.
class Evaluator {
 public:
  Evaluator(const Data& d, int max_lanes, double l2, double l2_h)
      : d_(d), l2_(l2), l2h_(l2_h), Bmax_((max_lanes + 15) / 16 * 16) {
    XcT_.assign(static_cast<std::size_t>(d.Np) * kChunk, 0.0f);
    Wt_.resize(static_cast<std::size_t>(d.Np) * Bmax_);
    Hc_.resize(static_cast<std::size_t>(kChunk) * Bmax_);
    R_.resize(static_cast<std::size_t>(kChunk) * Bmax_);
    Gc_.resize(static_cast<std::size_t>(d.Np) * Bmax_);
    Gd_.resize(static_cast<std::size_t>(d.Np) * Bmax_);
    Sg_.resize(static_cast<std::size_t>(kChunk) * Bmax_);
    hbf_.resize(Bmax_);
    lc_.resize(Bmax_);
    gc_.resize(Bmax_);
    avx2_ = simd_path() == SimdPath::avx2;
  }

  // f[a]: smooth objective; g[a]: its gradient (length N, packed like the parameters).
  void eval(int na, const int* spins, const double* const* xs, double* f, double* const* g) {
    const int N = d_.N, Np = d_.Np;
    const int B = (na + 15) / 16 * 16;
    std::fill(Wt_.begin(), Wt_.begin() + static_cast<std::size_t>(Np) * B, 0.0f);
    std::vector<double> loss(na, 0.0), gh(na, 0.0);
    for (int a = 0; a < na; ++a) {
      const int i = spins[a];
      const double* x = xs[a];
      for (int j = 0; j < N; ++j) Wt_[static_cast<std::size_t>(j) * B + a] = (j == i) ? 0.0f : static_cast<float>(x[j]);
      hbf_[a] = static_cast<float>(x[i]);
    }
    for (int a = na; a < B; ++a) hbf_[a] = 0.0f;
    std::fill(Gd_.begin(), Gd_.begin() + static_cast<std::size_t>(Np) * B, 0.0);
    const std::int64_t M = d_.M;
    for (std::int64_t s0 = 0; s0 < M; s0 += kChunk) {
      const int ns = static_cast<int>(std::min<std::int64_t>(kChunk, M - s0));
      for (int j = 0; j < N; ++j) {
        const std::int8_t* src = d_.XT.data() + static_cast<std::size_t>(j) * M + s0;
        float* dst = XcT_.data() + static_cast<std::size_t>(j) * kChunk;
        for (int s = 0; s < ns; ++s) dst[s] = static_cast<float>(src[s]);
        for (int s = ns; s < kChunk; ++s) dst[s] = 0.0f;
      }
      if (avx2_)
        detail::plm_forward_avx2(XcT_.data(), Np, kChunk, Wt_.data(), B, Hc_.data());
      else
        detail::plm_forward_scalar(XcT_.data(), Np, kChunk, Wt_.data(), B, Hc_.data());
      // Sg[s, a] = s_{i_a} of sample s (0 for padding samples and lanes).
      std::fill(Sg_.begin(), Sg_.begin() + static_cast<std::size_t>(kChunk) * B, 0.0f);
      for (int a = 0; a < na; ++a) {
        const float* xi = XcT_.data() + static_cast<std::size_t>(spins[a]) * kChunk;
        for (int s = 0; s < ns; ++s) Sg_[static_cast<std::size_t>(s) * B + a] = xi[s];
      }
      std::fill(lc_.begin(), lc_.begin() + B, 0.0);
      std::fill(gc_.begin(), gc_.begin() + B, 0.0f);
      if (avx2_)
        detail::plm_loss_avx2(Hc_.data(), Sg_.data(), hbf_.data(), kChunk, B, R_.data(), lc_.data(), gc_.data());
      else
        detail::plm_loss_scalar(Hc_.data(), Sg_.data(), hbf_.data(), kChunk, B, R_.data(), lc_.data(), gc_.data());
      for (int a = 0; a < na; ++a) {
        loss[a] += lc_[a];
        gh[a] += gc_[a];
      }
      if (avx2_)
        detail::plm_backward_avx2(XcT_.data(), Np, kChunk, R_.data(), B, Gc_.data());
      else
        detail::plm_backward_scalar(XcT_.data(), Np, kChunk, R_.data(), B, Gc_.data());
      const std::size_t nb = static_cast<std::size_t>(N) * B;
      for (std::size_t k = 0; k < nb; ++k) Gd_[k] += Gc_[k];
    }
    const double invM = 1.0 / static_cast<double>(M);
    for (int a = 0; a < na; ++a) {
      const int i = spins[a];
      const double* x = xs[a];
      double* ga = g[a];
      double pen = 0.0;
      for (int j = 0; j < N; ++j) {
        if (j == i) continue;
        ga[j] = Gd_[static_cast<std::size_t>(j) * B + a] * invM + 2.0 * l2_ * x[j];
        pen += x[j] * x[j];
      }
      ga[i] = gh[a] * invM + 2.0 * l2h_ * x[i];
      f[a] = loss[a] * invM + l2_ * pen + l2h_ * x[i] * x[i];
    }
  }

 private:
  const Data& d_;
  double l2_, l2h_;
  int Bmax_;
  bool avx2_;
  std::vector<float> XcT_, Wt_, Hc_, R_, Gc_, Sg_, hbf_, gc_;
  std::vector<double> lc_;
  std::vector<double> Gd_;
};

Data make_data(const std::int8_t* X, std::int64_t M, int N) {
  if (N <= 1) throw std::invalid_argument("pseudo-likelihood: need at least 2 spins");
  if (M <= 0) throw std::invalid_argument("pseudo-likelihood: need at least one sample");
  Data d{X, M, N, (N + 3) / 4 * 4, {}};
  d.XT.assign(static_cast<std::size_t>(d.Np) * M, 0);
  // Blocked transpose.
  constexpr std::int64_t TB = 64;
  for (std::int64_t s0 = 0; s0 < M; s0 += TB)
    for (int j0 = 0; j0 < N; j0 += static_cast<int>(TB)) {
      const std::int64_t s1 = std::min(M, s0 + TB);
      const int j1 = std::min<int>(N, j0 + static_cast<int>(TB));
      for (std::int64_t s = s0; s < s1; ++s)
        for (int j = j0; j < j1; ++j) d.XT[static_cast<std::size_t>(j) * M + s] = X[static_cast<std::size_t>(s) * N + j];
    }
  return d;
}

inline double dot(const double* a, const double* b, int n) {
  double s = 0.0;
  for (int k = 0; k < n; ++k) s += a[k] * b[k];
  return s;
}

// Per-spin OWL-QN state.
struct Spin {
  int i = 0;
  std::vector<double> x, g, pg, d, xt, gt, Sh, Yh, rho;
  double F = 0.0, Ft = 0.0, ft = 0.0, alpha = 1.0;
  int hist = 0, head = 0, iters = 0, evals = 0, ls = 0, status = -1;
  double Fprev = 0.0;
};

// l1 * sum_{j != i} |x_j| (the non-smooth part of spin i's objective).
double l1_norm(const Spin& s, const std::vector<double>& x, int N, double l1) {
  if (l1 == 0.0) return 0.0;
  double a = 0.0;
  for (int j = 0; j < N; ++j)
    if (j != s.i) a += std::fabs(x[j]);
  return l1 * a;
}

// The OWL-QN pseudo-gradient of s into s.pg; returns its max norm.
double pseudo_grad(Spin& s, int N, double l1) {
  double mx = 0.0;
  for (int j = 0; j < N; ++j) {
    double v = s.g[j];
    if (l1 > 0.0 && j != s.i) {
      const double xj = s.x[j];
      if (xj > 0) v += l1;
      else if (xj < 0) v -= l1;
      else if (v + l1 < 0) v += l1;
      else if (v - l1 > 0) v -= l1;
      else v = 0.0;
    }
    s.pg[j] = v;
    mx = std::max(mx, std::fabs(v));
  }
  return mx;
}

// Trial point x + alpha d, projected on the orthant of x (L1 coordinates only).
void make_trial(Spin& s, int N, double l1) {
  for (int j = 0; j < N; ++j) {
    double v = s.x[j] + s.alpha * s.d[j];
    if (l1 > 0.0 && j != s.i) {
      const double xi = s.x[j] != 0.0 ? s.x[j] : -s.pg[j];
      if (v * xi <= 0.0) v = 0.0;
    }
    s.xt[j] = v;
  }
}

// L-BFGS direction (two-loop recursion over the last m curvature pairs, restricted to the
// orthant for L1) and the first trial step.
void direction(Spin& s, int N, double l1, int m) {
  // two-loop recursion on -pg
  for (int j = 0; j < N; ++j) s.d[j] = -s.pg[j];
  std::vector<double> al(m);
  for (int k = 0; k < s.hist; ++k) {
    const int idx = (s.head - 1 - k + m) % m;
    const double* Sk = s.Sh.data() + static_cast<std::size_t>(idx) * N;
    const double* Yk = s.Yh.data() + static_cast<std::size_t>(idx) * N;
    al[k] = s.rho[idx] * dot(Sk, s.d.data(), N);
    for (int j = 0; j < N; ++j) s.d[j] -= al[k] * Yk[j];
  }
  if (s.hist > 0) {
    const int idx = (s.head - 1 + m) % m;
    const double* Sk = s.Sh.data() + static_cast<std::size_t>(idx) * N;
    const double* Yk = s.Yh.data() + static_cast<std::size_t>(idx) * N;
    const double gam = dot(Sk, Yk, N) / dot(Yk, Yk, N);
    for (int j = 0; j < N; ++j) s.d[j] *= gam;
  }
  for (int k = s.hist - 1; k >= 0; --k) {
    const int idx = (s.head - 1 - k + m) % m;
    const double* Sk = s.Sh.data() + static_cast<std::size_t>(idx) * N;
    const double* Yk = s.Yh.data() + static_cast<std::size_t>(idx) * N;
    const double be = s.rho[idx] * dot(Yk, s.d.data(), N);
    for (int j = 0; j < N; ++j) s.d[j] += (al[k] - be) * Sk[j];
  }
  if (l1 > 0.0)
    for (int j = 0; j < N; ++j)
      if (j != s.i && s.d[j] * s.pg[j] >= 0.0) s.d[j] = 0.0;
  if (dot(s.d.data(), s.pg.data(), N) >= 0.0) {  // not a descent direction: restart
    s.hist = 0;
    for (int j = 0; j < N; ++j) s.d[j] = -s.pg[j];
  }
  if (s.hist == 0) {
    double n2 = std::sqrt(dot(s.pg.data(), s.pg.data(), N));
    s.alpha = n2 > 1.0 ? 1.0 / n2 : 1.0;
  } else {
    s.alpha = 1.0;
  }
  s.ls = 0;
  make_trial(s, N, l1);
}

// Fits spins [i0, i1) together (one Evaluator, lock-step evaluation of the active spins):
// writes their rows of P and their entries of info. Called once per block by plm_fit.
void fit_block(const Data& data, const PLMOptions& opt, const double* P0, int i0, int i1,
               PLMInfo& info, double* P) {
  const int N = data.N;
  const int m = opt.history;
  const double l1 = opt.l1;
  const int nb = i1 - i0;
  Evaluator ev(data, nb, opt.l2, opt.l2_h);
  std::vector<Spin> sp(nb);
  for (int a = 0; a < nb; ++a) {
    Spin& s = sp[a];
    s.i = i0 + a;
    s.x.assign(N, 0.0);
    if (P0) std::copy(P0 + static_cast<std::size_t>(s.i) * N, P0 + static_cast<std::size_t>(s.i + 1) * N, s.x.begin());
    s.g.assign(N, 0.0); s.pg.assign(N, 0.0); s.d.assign(N, 0.0);
    s.xt = s.x; s.gt.assign(N, 0.0);
    s.Sh.assign(static_cast<std::size_t>(m) * N, 0.0);
    s.Yh.assign(static_cast<std::size_t>(m) * N, 0.0);
    s.rho.assign(m, 0.0);
  }

  std::vector<int> act, spins;
  std::vector<const double*> xs;
  std::vector<double*> gs;
  std::vector<double> fv;
  auto evaluate = [&](const std::vector<int>& which, bool at_trial) {
    const int na = static_cast<int>(which.size());
    spins.resize(na); xs.resize(na); gs.resize(na); fv.resize(na);
    for (int k = 0; k < na; ++k) {
      Spin& s = sp[which[k]];
      spins[k] = s.i;
      xs[k] = at_trial ? s.xt.data() : s.x.data();
      gs[k] = at_trial ? s.gt.data() : s.g.data();
      ++s.evals;
    }
    ev.eval(na, spins.data(), xs.data(), fv.data(), gs.data());
    for (int k = 0; k < na; ++k) {
      Spin& s = sp[which[k]];
      if (at_trial) {
        s.ft = fv[k];
        s.Ft = fv[k] + l1_norm(s, s.xt, N, l1);
      } else {
        s.F = fv[k] + l1_norm(s, s.x, N, l1);
      }
    }
  };
  auto finish = [&](Spin& s, int status, double gn) {
    s.status = status;
    info.f[s.i] = s.F;
    info.grad_norm[s.i] = gn;
    info.iters[s.i] = s.iters;
    info.evals[s.i] = s.evals;
    info.status[s.i] = status;
    std::copy(s.x.begin(), s.x.end(), P + static_cast<std::size_t>(s.i) * N);
  };

  for (int a = 0; a < nb; ++a) act.push_back(a);
  evaluate(act, false);
  {
    std::vector<int> keep;
    for (int a : act) {
      Spin& s = sp[a];
      const double gn = pseudo_grad(s, N, l1);
      if (gn <= opt.tol) finish(s, 0, gn);
      else if (opt.max_iter == 0) finish(s, 2, gn);
      else { direction(s, N, l1, m); keep.push_back(a); }
    }
    act.swap(keep);
  }
  while (!act.empty()) {
    check_interrupt();
    evaluate(act, true);
    std::vector<int> keep;
    for (int a : act) {
      Spin& s = sp[a];
      double decr = 0.0;
      for (int j = 0; j < N; ++j) decr += s.pg[j] * (s.xt[j] - s.x[j]);
      // Sufficient decrease, either measured (Armijo) or certified by convexity: for convex
      // F, F(xt) - F(x) <= xi . (xt - x) for any subgradient xi at xt. The certificate uses
      // gradients, which float32 evaluation gives far more accurately than differences of F
      // near the optimum.
      double ub = 0.0;
      for (int j = 0; j < N; ++j) {
        const double sj = s.xt[j] - s.x[j];
        double xi = s.gt[j];
        if (l1 > 0.0 && j != s.i) {
          if (s.xt[j] > 0) xi += l1;
          else if (s.xt[j] < 0) xi -= l1;
          else xi -= (sj > 0 ? l1 : (sj < 0 ? -l1 : 0.0));
        }
        ub += xi * sj;
      }
      if (s.Ft <= s.F + 1e-4 * decr || ub <= 1e-4 * decr) {
        // accept; update the curvature pairs with the smooth gradients
        double* Sk = s.Sh.data() + static_cast<std::size_t>(s.head) * N;
        double* Yk = s.Yh.data() + static_cast<std::size_t>(s.head) * N;
        double sy = 0.0, yy = 0.0;
        for (int j = 0; j < N; ++j) {
          Sk[j] = s.xt[j] - s.x[j];
          Yk[j] = s.gt[j] - s.g[j];
          sy += Sk[j] * Yk[j];
          yy += Yk[j] * Yk[j];
        }
        if (sy > 1e-12 * yy && yy > 0.0) {
          s.rho[s.head] = 1.0 / sy;
          s.head = (s.head + 1) % m;
          s.hist = std::min(s.hist + 1, m);
        }
        const double Fold = s.F;
        s.x.swap(s.xt);
        s.g.swap(s.gt);
        s.F = s.Ft;
        ++s.iters;
        const double gn = pseudo_grad(s, N, l1);
        if (gn <= opt.tol) { finish(s, 0, gn); continue; }
        // f differences are at float32 noise near the optimum: use the step's predicted
        // (first-order) decrease instead.
        (void)Fold;
        if (-decr <= opt.ftol * std::max(1.0, std::fabs(s.F))) { finish(s, 1, gn); continue; }
        if (s.iters >= opt.max_iter) { finish(s, 2, gn); continue; }
        direction(s, N, l1, m);
        keep.push_back(a);
      } else {
        s.alpha *= 0.5;
        if (++s.ls > 40) {
          double gn = 0.0;
          for (int j = 0; j < N; ++j) gn = std::max(gn, std::fabs(s.pg[j]));
          finish(s, 3, gn);
          continue;
        }
        make_trial(s, N, l1);
        keep.push_back(a);
      }
    }
    act.swap(keep);
  }
}

}  // namespace

PLMInfo plm_fit(const std::int8_t* X, std::int64_t M, int N, const double* P0,
                const PLMOptions& opt, double* P) {
  if (opt.l2 < 0 || opt.l2_h < 0 || opt.l1 < 0)
    throw std::invalid_argument("pseudo-likelihood: penalties must be >= 0");
  if (opt.max_iter < 0 || opt.history < 1 || opt.block < 1)
    throw std::invalid_argument("pseudo-likelihood: max_iter >= 0, history >= 1, block >= 1");
  const Data data = make_data(X, M, N);
  PLMInfo info;
  info.f.assign(N, 0.0);
  info.grad_norm.assign(N, 0.0);
  info.iters.assign(N, 0);
  info.evals.assign(N, 0);
  info.status.assign(N, 0);
  const int bs = std::min(opt.block, N);
  const std::int64_t nblocks = (N + bs - 1) / bs;
  parallel_for(nblocks, opt.n_threads, [&](std::int64_t blk) {
    const int i0 = static_cast<int>(blk) * bs, i1 = std::min(N, i0 + bs);
    fit_block(data, opt, P0, i0, i1, info, P);
  });
  return info;
}

void plm_objective(const std::int8_t* X, std::int64_t M, int N, const double* P, double l2,
                   double l2_h, double l1, int n_threads, double* f, double* G) {
  const Data data = make_data(X, M, N);
  const int bs = std::min(32, N);
  const std::int64_t nblocks = (N + bs - 1) / bs;
  parallel_for(nblocks, n_threads, [&](std::int64_t blk) {
    const int i0 = static_cast<int>(blk) * bs, i1 = std::min(N, i0 + bs);
    const int nb = i1 - i0;
    Evaluator ev(data, nb, l2, l2_h);
    std::vector<int> spins(nb);
    std::vector<const double*> xs(nb);
    std::vector<double*> gs(nb);
    for (int a = 0; a < nb; ++a) {
      spins[a] = i0 + a;
      xs[a] = P + static_cast<std::size_t>(i0 + a) * N;
      gs[a] = G + static_cast<std::size_t>(i0 + a) * N;
    }
    ev.eval(nb, spins.data(), xs.data(), f + i0, gs.data());
    if (l1 > 0.0)
      for (int a = 0; a < nb; ++a) {
        double s = 0.0;
        for (int j = 0; j < N; ++j)
          if (j != i0 + a) s += std::fabs(xs[a][j]);
        f[i0 + a] += l1 * s;
      }
  });
}

}  // namespace glasslens::ising
