// Perturbed evaluation engine and random walks (Protocol 1). See landscape.hpp.
#include "glasslens/probes/landscape.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "glasslens/nn/gemm.hpp"
#include "glasslens/common/parallel.hpp"
#include "glasslens/common/rng.hpp"

namespace glasslens::landscape {
using nn::Shape;
using i64 = std::int64_t;

namespace {

// Every loss total in this file is the same function of (theta, X, y): the samples are cut into
// tiles of tile_rows(s) rows; a tile's loss is the sum (double, row order) of its per-row losses
// (cols_loss on the transposed logits); the total is the sum of the tile losses in tile order
// starting from 0. The forward pass per tile mirrors nn::loss_sum: hidden layers by gemm_nt with
// the bias and ReLU epilogue, the output layer transposed (bias rows, then accumulated product).
i64 tile_rows(const Shape& s) { return nn::eval_tile_rows(s); }

// Per-thread scratch of one tile.
struct Fwd {
  std::vector<float> h0, h1, zt, loss;
  std::vector<unsigned char> corr;
  void reserve(const Shape& s, i64 rows) {
    int mw = 1;
    for (int l = 1; l < s.n_layers(); ++l) mw = std::max(mw, s.widths[l]);
    const std::size_t nh = static_cast<std::size_t>(rows) * mw;
    if (h0.size() < nh) {
      h0.resize(nh);
      h1.resize(nh);
    }
    const std::size_t nz = static_cast<std::size_t>(rows) * s.n_out();
    if (zt.size() < nz) zt.resize(nz);
    if (loss.size() < static_cast<std::size_t>(rows)) {
      loss.resize(rows);
      corr.resize(rows);
    }
  }
};

// Sum (double, row order) of per-row losses; adds the number of correct rows to corr.
double row_sums(const float* loss, const unsigned char* correct, i64 rows, i64& corr) {
  double tot = 0.0;
  i64 cr = 0;
  for (i64 r = 0; r < rows; ++r) {
    tot += loss[r];
    cr += correct[r];
  }
  corr += cr;
  return tot;
}

// Loss sum (double, row order) of `rows` samples through layers l0..L-1; A is the input of layer
// l0 (the data for l0 = 0, else post-ReLU activations), row stride lda. Layer l's weights are at
// th + (s.w_offset(l) - shift), its bias at th + (s.b_offset(l) - shift). Adds the correct
// predictions to corr.
double tile_loss(const Shape& s, int l0, const float* th, i64 shift, const float* A, i64 lda,
                 i64 rows, const std::int32_t* y, Fwd& f, i64& corr) {
  f.reserve(s, rows);
  const int L = s.n_layers(), C = s.n_out();
  const float* h = A;
  i64 ldh = lda;
  for (int l = l0; l < L - 1; ++l) {
    const int din = s.widths[l], dout = s.widths[l + 1];
    float* out = ((l - l0) % 2 == 0) ? f.h0.data() : f.h1.data();
    gemm::gemm_nt(rows, dout, din, h, ldh, th + (s.w_offset(l) - shift), din, out, dout, false,
                  s.bias ? th + (s.b_offset(l) - shift) : nullptr, true);
    h = out;
    ldh = dout;
  }
  float* zt = f.zt.data();
  nn::output_logits_t(C, s.widths[L - 1], th + (s.w_offset(L - 1) - shift),
                      s.bias ? th + (s.b_offset(L - 1) - shift) : nullptr, h, ldh, rows, zt, rows);
  cols_loss(zt, rows, rows, C, y, f.loss.data(), f.corr.data());
  return row_sums(f.loss.data(), f.corr.data(), rows, corr);
}

// Serial loss total of one network (see above).
double serial_total(const Shape& s, const float* theta, const float* X, const std::int32_t* y,
                    i64 n, Fwd& f, i64& corr) {
  const i64 T = tile_rows(s);
  const int d0 = s.n_in();
  double tot = 0.0;
  for (i64 t0 = 0; t0 < n; t0 += T) {
    const i64 rows = std::min(T, n - t0);
    tot += tile_loss(s, 0, theta, 0, X + t0 * d0, d0, rows, y + t0, f, corr);
  }
  return tot;
}

// The same total, parallel over tiles (serial when called inside an active parallel region).
double parallel_total(const Shape& s, const float* theta, const float* X, const std::int32_t* y,
                      i64 n, int n_threads, i64& corr) {
  const i64 T = tile_rows(s);
  const i64 ntiles = (n + T - 1) / T;
  const int d0 = s.n_in();
  if (ntiles == 1 || resolve_threads(n_threads) == 1) {
    thread_local Fwd f;
    return serial_total(s, theta, X, y, n, f, corr);
  }
  std::vector<double> part(ntiles);
  std::vector<i64> pc(ntiles, 0);
  parallel_for(ntiles, n_threads, [&](i64 t) {
    thread_local Fwd f;
    const i64 t0 = t * T, rows = std::min(T, n - t0);
    part[t] = tile_loss(s, 0, theta, 0, X + t0 * d0, d0, rows, y + t0, f, pc[t]);
  });
  double tot = 0.0;
  for (i64 t = 0; t < ntiles; ++t) {
    tot += part[t];
    corr += pc[t];
  }
  return tot;
}

}  // namespace

// ---- batched evaluation -----------------------------------------------------------------------

namespace {
std::atomic<std::int64_t> g_z0_limit{std::int64_t(1) << 26};
}  // namespace
std::int64_t z0_limit() noexcept { return g_z0_limit.load(std::memory_order_relaxed); }
void set_z0_limit(std::int64_t floats) noexcept {
  g_z0_limit.store(floats, std::memory_order_relaxed);
}

double full_loss(const Shape& s, const float* theta, const float* X, const std::int32_t* y,
                 std::int64_t n, double* acc, int n_threads) {
  if (n <= 0) throw std::invalid_argument("full_loss: needs at least one sample");
  i64 corr = 0;
  const double tot = parallel_total(s, theta, X, y, n, n_threads, corr);
  if (acc) *acc = static_cast<double>(corr) / static_cast<double>(n);
  return tot / static_cast<double>(n);
}

// Two evaluation paths, chosen by the number of radii and the depth only (never by K or the
// thread count):
//  * direct (one radius, or a network without hidden layer): the perturbed vector theta + r u
//    (or theta * (1 + r u)) is formed in the worker's buffer right after u is generated and
//    evaluated tile by tile like full_loss;
//  * linear (several radii): the first layer is evaluated by linearity,
//    z1 = Z0 + r (U0 x + ub0), Z0 = W0 x + b0 computed once per call and U0 x once per direction
//    and tile (multiplicative mode uses the effective direction theta * u); layers above are
//    evaluated from relu(z1) with the perturbed upper weights like full_loss.
// At r = 0 both give full_loss exactly. Work items are (direction, block of radii, chunk of
// tiles); tile losses are summed in tile order, so results never depend on the item split.
void perturbed_eval(const Shape& s, const float* theta, std::uint64_t seed, std::int64_t K,
                    const double* radii, std::int64_t R, DirKind kind, Norm norm, BiasMode bias,
                    PertMode mode, const float* X, const std::int32_t* y, std::int64_t n,
                    double* loss_out, double* acc_out, int n_threads, double* base_loss,
                    double* base_acc) {
  if (K <= 0 || R <= 0 || n <= 0) throw std::invalid_argument("K, R and n must be positive");
  const int nt = resolve_threads(n_threads);
  const i64 P = s.n_params();
  const int L = s.n_layers(), d0 = s.n_in();
  const bool lin = R >= 2 && L >= 2;
  const bool mult = mode == PertMode::multiplicative;
  const int d1 = s.widths[1];
  const i64 first = L > 1 ? s.w_offset(1) : P;  // size of the [W0, b0] block
  const i64 rest = P - first;
  const i64 T = tile_rows(s);
  const i64 ntiles = (n + T - 1) / T;
  const DirectionGen gen(s, theta, kind, norm, bias);

  if (base_loss) {
    i64 corr = 0;
    *base_loss = parallel_total(s, theta, X, y, n, nt, corr) / static_cast<double>(n);
    if (base_acc) *base_acc = static_cast<double>(corr) / static_cast<double>(n);
  }

  // radius blocks: enough items for the threads; a worker keeps its block's perturbed vectors
  // (direct: P floats each, linear: the layers >= 1), capped at ~16M floats
  const i64 per_r = std::max<i64>(1, lin ? rest : P);
  i64 blocks = std::min<i64>(R, std::max<i64>(1, (4 * nt + K - 1) / K));
  i64 rb = (R + blocks - 1) / blocks;
  rb = std::max<i64>(1, std::min<i64>(rb, (i64(1) << 24) / per_r));
  blocks = (R + rb - 1) / rb;
  // tile chunks when there are still too few items
  const i64 items0 = K * blocks;
  i64 chunks = items0 >= 4 * nt ? 1 : std::min<i64>(ntiles, (4 * nt + items0 - 1) / items0);
  const i64 tc = (ntiles + chunks - 1) / chunks;
  chunks = (ntiles + tc - 1) / tc;
  std::vector<double> part(chunks > 1 ? static_cast<std::size_t>(K * R * ntiles) : 0);
  std::vector<i64> pcorr(part.size(), 0);

  // Z0 = W0 x + b0 for all samples (linear path) unless that exceeds z0_limit() floats; then
  // every work item recomputes its tile of Z0 (same values).
  const bool keep_z0 = lin && static_cast<double>(n) * d1 <= static_cast<double>(z0_limit());
  std::vector<float> Z0(keep_z0 ? static_cast<std::size_t>(n) * d1 : 0);
  const float* b0 = s.bias ? theta + s.b_offset(0) : nullptr;
  auto z0_tile = [&](i64 t0, i64 rows, float* dst) {
    gemm::gemm_nt(rows, d1, d0, X + t0 * d0, d0, theta, d0, dst, d1, false, b0, false);
  };
  if (keep_z0)
    parallel_for(ntiles, nt, [&](i64 t) {
      const i64 t0 = t * T;
      z0_tile(t0, std::min(T, n - t0), Z0.data() + t0 * d1);
    });

  parallel_for(K * blocks * chunks, nt, [&](i64 item) {
    thread_local Fwd f;
    const i64 k = item / (blocks * chunks), bc = item % (blocks * chunks);
    const i64 r0 = (bc / chunks) * rb, ch = bc % chunks;
    const i64 r1 = std::min(R, r0 + rb), nr = r1 - r0;
    const i64 tile0 = ch * tc, tile1 = std::min(ntiles, tile0 + tc);
    // direction and perturbed vectors: per-thread buffers reused across items (cache-hot)
    // unless they are large
    const std::size_t nu = static_cast<std::size_t>(P), nv = static_cast<std::size_t>(nr) * per_r;
    thread_local std::vector<float> u_tl, v_tl;
    std::vector<float> u_own, v_own;
    const bool small = nu + nv <= (std::size_t(1) << 20);
    std::vector<float>& u = small ? u_tl : u_own;
    std::vector<float>& v = small ? v_tl : v_own;
    if (u.size() < nu) u.resize(nu);
    if (v.size() < nv) v.resize(nv);
    gen.make(seed, k, u.data());
    // perturbed vectors: all of theta (direct) or the layers >= 1 (linear)
    const i64 off = lin ? first : 0;
    for (i64 ri = 0; ri < nr; ++ri) {
      const float r = static_cast<float>(radii[r0 + ri]);
      float* dst = v.data() + ri * per_r;
      const float* tp = theta + off;
      const float* up = u.data() + off;
      const i64 cnt = P - off;
      if (!mult)
        for (i64 p = 0; p < cnt; ++p) dst[p] = tp[p] + r * up[p];
      else
        for (i64 p = 0; p < cnt; ++p) dst[p] = tp[p] * (1.0f + r * up[p]);
    }
    std::vector<double> tot(nr, 0.0);
    std::vector<i64> corr(nr, 0);
    std::vector<float> zu, z0b, a;
    if (lin) {
      // layer-0 block [W0, b0] of the effective direction (u, or theta * u), in place
      if (mult)
        for (i64 q = 0; q < first; ++q) u[q] = theta[q] * u[q];
      zu.resize(static_cast<std::size_t>(T) * d1);
      a.resize(static_cast<std::size_t>(T) * d1);
      if (!keep_z0) z0b.resize(static_cast<std::size_t>(T) * d1);
    }
    for (i64 t = tile0; t < tile1; ++t) {
      const i64 t0 = t * T, rows = std::min(T, n - t0);
      const float* xt = X + t0 * d0;
      const float* z0 = nullptr;
      if (lin) {
        gemm::gemm_nt(rows, d1, d0, xt, d0, u.data(), d0, zu.data(), d1, false,
                      s.bias ? u.data() + s.b_offset(0) : nullptr, false);
        if (!keep_z0) z0_tile(t0, rows, z0b.data());
        z0 = keep_z0 ? Z0.data() + t0 * d1 : z0b.data();
      }
      for (i64 ri = 0; ri < nr; ++ri) {
        const float* vr = v.data() + ri * per_r;
        i64 c = 0;
        double ts;
        if (lin) {
          const float r = static_cast<float>(radii[r0 + ri]);
          const i64 cnt = rows * d1;
          float* ap = a.data();
          const float* zup = zu.data();
          for (i64 q = 0; q < cnt; ++q) {
            const float w = z0[q] + r * zup[q];
            ap[q] = w > 0.0f ? w : 0.0f;
          }
          ts = tile_loss(s, 1, vr, first, ap, d1, rows, y + t0, f, c);
        } else {
          ts = tile_loss(s, 0, vr, 0, xt, d0, rows, y + t0, f, c);
        }
        if (chunks > 1) {
          const i64 o = ((k * R) + r0 + ri) * ntiles + t;
          part[o] = ts;
          pcorr[o] = c;
        } else {
          tot[ri] += ts;
          corr[ri] += c;
        }
      }
    }
    if (chunks == 1)
      for (i64 ri = 0; ri < nr; ++ri) {
        loss_out[k * R + r0 + ri] = tot[ri] / static_cast<double>(n);
        if (acc_out)
          acc_out[k * R + r0 + ri] = static_cast<double>(corr[ri]) / static_cast<double>(n);
      }
  });
  if (chunks > 1)
    for (i64 kr = 0; kr < K * R; ++kr) {
      double tot = 0.0;
      i64 c = 0;
      for (i64 t = 0; t < ntiles; ++t) {
        tot += part[kr * ntiles + t];
        c += pcorr[kr * ntiles + t];
      }
      loss_out[kr] = tot / static_cast<double>(n);
      if (acc_out) acc_out[kr] = static_cast<double>(c) / static_cast<double>(n);
    }
}

void affine_eval(const Shape& s, const float* theta0, const float* D, int m,
                 const double* coeffs, std::int64_t G, const float* X, const std::int32_t* y,
                 std::int64_t n, double* loss_out, double* acc_out, int n_threads) {
  if (G <= 0 || n <= 0 || m < 0) throw std::invalid_argument("G and n must be positive");
  const std::int64_t P = s.n_params();
  parallel_for(G, n_threads, [&](std::int64_t g) {
    thread_local Fwd f;
    std::vector<float> v(theta0, theta0 + P);
    for (int j = 0; j < m; ++j) {
      const float c = static_cast<float>(coeffs[g * m + j]);
      const float* d = D + static_cast<std::int64_t>(j) * P;
      for (std::int64_t p = 0; p < P; ++p) v[p] = v[p] + c * d[p];
    }
    i64 corr = 0;
    const double tot = serial_total(s, v.data(), X, y, n, f, corr);
    loss_out[g] = tot / static_cast<double>(n);
    if (acc_out) acc_out[g] = static_cast<double>(corr) / static_cast<double>(n);
  });
}

// ---- random walks ----------------------------------------------------------------------------
namespace {

// Stored forward state of one network on the train set, updated incrementally by sparse moves.
// Hidden pre-activations are stored unit-major (Z[l][j * n + s], l = 1..L-1), logits sample-major
// (n x C), per-sample losses and correctness flags, and their sums.
struct IncState {
  const Shape& s;
  const float* XT;  // d0 x n (unit-major copy of X)
  const std::int32_t* y;
  std::int64_t n;
  int L, C;
  std::vector<std::vector<float>> Z;  // index 1..L-1
  std::vector<float> logits, lossv;
  std::vector<unsigned char> corr;
  double total = 0.0;
  std::int64_t ncorr = 0;

  // proposal scratch
  std::vector<float> dz, colnew, block;
  std::vector<std::int64_t> touched;
  std::vector<float> newloss;
  std::vector<unsigned char> newcorr;
  std::vector<std::int32_t> ytmp;
  std::vector<float> lsoa;  // C x n: new logits of touched samples, class-major
  std::vector<float> tmp_a, tmp_b;
  double dtotal = 0.0;
  std::int64_t dcorr = 0;
  int pm = 0, pj = 0, down = 0;  // layer/unit of the proposal, floats per touched sample

  IncState(const Shape& sh, const float* xt, const std::int32_t* yy, std::int64_t nn)
      : s(sh), XT(xt), y(yy), n(nn), L(sh.n_layers()), C(sh.n_out()) {
    Z.resize(L);
    for (int l = 1; l < L; ++l) Z[l].assign(static_cast<std::size_t>(s.widths[l]) * n, 0.0f);
    logits.assign(static_cast<std::size_t>(n) * C, 0.0f);
    lossv.assign(n, 0.0f);
    corr.assign(n, 0);
    dz.assign(n, 0.0f);
    colnew.assign(n, 0.0f);
    lsoa.assign(static_cast<std::size_t>(n) * C, 0.0f);
    touched.reserve(n);
    tmp_a.assign(s.max_width(), 0.0f);
    tmp_b.assign(s.max_width(), 0.0f);
  }

  float act(int l, int i, std::int64_t smp) const {
    if (l == 0) return XT[static_cast<std::int64_t>(i) * n + smp];
    const float z = Z[l][static_cast<std::int64_t>(i) * n + smp];
    return z > 0.0f ? z : 0.0f;
  }

  // Full recomputation from theta: the same operations and summation order as full_loss (so
  // the refreshed total equals full_loss exactly), parallel over tiles when not nested, and the
  // stored state (pre-activations, logits, per-sample losses) on the way.
  void refresh(const float* theta, const float* X, int n_threads) {
    const i64 T = tile_rows(s);
    const i64 ntiles = (n + T - 1) / T;
    const int d0 = s.n_in();
    std::vector<double> part(ntiles);
    std::vector<i64> pc(ntiles, 0);
    parallel_for(ntiles, n_threads, [&](i64 t) {
      thread_local Fwd f;
      const i64 t0 = t * T, rows = std::min(T, n - t0);
      f.reserve(s, rows);
      const float* h = X + t0 * d0;
      i64 ldh = d0;
      for (int l = 0; l < L - 1; ++l) {
        const int din = s.widths[l], dout = s.widths[l + 1];
        float* out = (l % 2 == 0) ? f.h0.data() : f.h1.data();
        gemm::gemm_nt(rows, dout, din, h, ldh, theta + s.w_offset(l), din, out, dout, false,
                      s.bias ? theta + s.b_offset(l) : nullptr, false);
        float* dst = Z[l + 1].data() + t0;
        for (i64 r = 0; r < rows; ++r)
          for (int j = 0; j < dout; ++j) {
            float& z = out[r * dout + j];
            dst[static_cast<i64>(j) * n + r] = z;
            z = z > 0.0f ? z : 0.0f;
          }
        h = out;
        ldh = dout;
      }
      float* zt = f.zt.data();
      nn::output_logits_t(C, s.widths[L - 1], theta + s.w_offset(L - 1),
                          s.bias ? theta + s.b_offset(L - 1) : nullptr, h, ldh, rows, zt, rows);
      cols_loss(zt, rows, rows, C, y + t0, lossv.data() + t0, corr.data() + t0);
      for (i64 r = 0; r < rows; ++r)
        for (int c = 0; c < C; ++c) logits[(t0 + r) * C + c] = zt[c * rows + r];
      part[t] = row_sums(lossv.data() + t0, corr.data() + t0, rows, pc[t]);
    });
    double tot = 0.0;
    i64 cr = 0;
    for (i64 t = 0; t < ntiles; ++t) {
      tot += part[t];
      cr += pc[t];
    }
    total = tot;
    ncorr = cr;
  }

  // Forward one sample from post-activation h of layer l0 (l0 >= 1) through layers l0..L-1,
  // writing pre-activations of layers l0+1..L into out (consecutive blocks).
  void forward_tail(const float* theta, int l0, const float* h, float* out) {
    const float* in = h;
    float* o = out;
    for (int l = l0; l < L; ++l) {
      const int din = s.widths[l], dout = s.widths[l + 1];
      const float* W = theta + s.w_offset(l);
      for (int c = 0; c < dout; ++c) {
        float acc = s.bias ? theta[s.b_offset(l) + c] : 0.0f;
        const float* w = W + static_cast<std::int64_t>(c) * din;
        for (int i = 0; i < din; ++i) acc += w[i] * in[i];
        o[c] = acc;
      }
      if (l < L - 1) {
        float* hb = (in == tmp_a.data()) ? tmp_b.data() : tmp_a.data();
        for (int c = 0; c < dout; ++c) hb[c] = o[c] > 0.0f ? o[c] : 0.0f;
        in = hb;
      }
      o += dout;
    }
  }

  // Evaluate the proposal "z_m[j, :] += dz" (and, when wout_old/dwout are given, the outgoing
  // column W_m[:, j] changes from wout_old to wout_old + dwout). theta_new must already hold the
  // proposed parameters for layers > m (unchanged by any sparse move).
  void propose(int m, int j, const float* theta, const float* wout_old, const float* dwout) {
    pm = m;
    pj = j;
    touched.clear();
    dtotal = 0.0;
    dcorr = 0;
    float* ls = lsoa.data();
    if (m == L) {  // an output unit's pre-activation (logit j) changes
      for (std::int64_t smp = 0; smp < n; ++smp)
        if (dz[smp] != 0.0f) touched.push_back(smp);
      const std::int64_t T = static_cast<std::int64_t>(touched.size());
      for (int c = 0; c < C; ++c)
        for (std::int64_t t = 0; t < T; ++t) ls[c * n + t] = logits[touched[t] * C + c];
      for (std::int64_t t = 0; t < T; ++t) ls[j * n + t] = ls[j * n + t] + dz[touched[t]];
      finish_proposal();
      return;
    }
    // hidden unit j of layer m: new pre-activation column; dz becomes the change of its ReLU
    // output; only samples whose output changes are touched
    const float* zc = Z[m].data() + static_cast<std::int64_t>(j) * n;
    float* dh = dz.data();
    for (std::int64_t smp = 0; smp < n; ++smp) {
      const float zo = zc[smp], zn = zo + dz[smp];
      colnew[smp] = zn;
      dh[smp] = (zn > 0.0f ? zn : 0.0f) - (zo > 0.0f ? zo : 0.0f);
    }
    if (dwout) {
      for (std::int64_t smp = 0; smp < n; ++smp)
        if (dh[smp] != 0.0f || colnew[smp] > 0.0f) touched.push_back(smp);
    } else {
      for (std::int64_t smp = 0; smp < n; ++smp)
        if (dh[smp] != 0.0f) touched.push_back(smp);
    }
    const std::int64_t T = static_cast<std::int64_t>(touched.size());
    const int dn = s.widths[m + 1];
    if (m + 1 == L) {
      for (int c = 0; c < C; ++c) {
        const float w = wout_old[c], dw = dwout ? dwout[c] : 0.0f;
        float* o = ls + c * n;
        for (std::int64_t t = 0; t < T; ++t) {
          const std::int64_t smp = touched[t];
          float v = logits[smp * C + c] + w * dh[smp];
          if (dwout) {
            const float hn = colnew[smp] > 0.0f ? colnew[smp] : 0.0f;
            v = v + dw * hn;
          }
          o[t] = v;
        }
      }
    } else {
      down = 0;
      for (int l = m + 1; l <= L; ++l) down += s.widths[l];
      if (block.size() < static_cast<std::size_t>(down) * n) block.resize(static_cast<std::size_t>(down) * n);
      const std::vector<float>& next = Z[m + 1];
      for (std::int64_t t = 0; t < T; ++t) {
        const std::int64_t smp = touched[t];
        const float hn = colnew[smp] > 0.0f ? colnew[smp] : 0.0f;
        float* out = block.data() + t * down;
        for (int c = 0; c < dn; ++c) {
          float v = next[static_cast<std::int64_t>(c) * n + smp] + wout_old[c] * dh[smp];
          if (dwout) v = v + dwout[c] * hn;
          out[c] = v;
        }
        // forward_tail ping-pongs between tmp_a and tmp_b; the input starts in tmp_b
        for (int c = 0; c < dn; ++c) tmp_b[c] = out[c] > 0.0f ? out[c] : 0.0f;
        forward_tail(theta, m + 1, tmp_b.data(), out + dn);
        const float* lg = out + down - C;
        for (int c = 0; c < C; ++c) ls[c * n + t] = lg[c];
      }
    }
    finish_proposal();
  }

  // Losses of the touched samples' new logits (class-major in lsoa).
  void finish_proposal() {
    const std::size_t T = touched.size();
    ytmp.resize(T);
    newloss.resize(T);
    newcorr.resize(T);
    for (std::size_t t = 0; t < T; ++t) ytmp[t] = y[touched[t]];
    if (T) cols_loss(lsoa.data(), n, static_cast<std::int64_t>(T), C, ytmp.data(), newloss.data(),
                     newcorr.data());
    for (std::size_t t = 0; t < T; ++t) {
      dtotal += static_cast<double>(newloss[t]) - lossv[touched[t]];
      dcorr += static_cast<int>(newcorr[t]) - static_cast<int>(corr[touched[t]]);
    }
  }

  void commit() {
    const std::size_t T = touched.size();
    if (pm == L) {
      for (std::size_t t = 0; t < T; ++t) logits[touched[t] * C + pj] = lsoa[pj * n + t];
    } else {
      std::memcpy(Z[pm].data() + static_cast<std::int64_t>(pj) * n, colnew.data(), sizeof(float) * n);
      for (std::size_t t = 0; t < T; ++t) {
        const std::int64_t smp = touched[t];
        for (int c = 0; c < C; ++c) logits[smp * C + c] = lsoa[c * n + t];
      }
      if (pm + 1 < L) {  // intermediate layers from the per-sample blocks
        for (std::size_t t = 0; t < T; ++t) {
          const std::int64_t smp = touched[t];
          const float* out = block.data() + t * down;
          int off = 0;
          for (int l = pm + 1; l < L; ++l) {
            const int d = s.widths[l];
            float* zl = Z[l].data();
            for (int c = 0; c < d; ++c) zl[static_cast<std::int64_t>(c) * n + smp] = out[off + c];
            off += d;
          }
        }
      }
    }
    for (std::size_t t = 0; t < T; ++t) {
      lossv[touched[t]] = newloss[t];
      corr[touched[t]] = newcorr[t];
    }
    total += dtotal;
    ncorr += dcorr;
  }
};

}  // namespace

namespace {

// What every walker of random_walk reads; shared by the threads, unchanged during the walk.
struct WalkContext {
  const Shape& s;
  const float* theta0;                 // start point (P)
  const float* Xtr;                    // training inputs, row-major (ntr x d0)
  const std::int32_t* ytr;
  std::int64_t ntr;
  const float* Xte;                    // test set (used when have_test)
  const std::int32_t* yte;
  std::int64_t nte;
  const WalkParams& p;
  const float* XT;                     // training inputs transposed (d0 x ntr), sparse moves only
  bool sparse;                         // move != dense: incremental evaluation (IncState)
  bool have_test;
  double n0;                           // |theta0|
  std::int64_t NR;                     // records per walker
  std::int64_t P;                      // parameters
  std::int64_t H;                      // hidden units (move='unit')
  int L;                               // layers
  int inner;                           // threads of each full pass inside the walker
};

// Walker w: its random stream is Philox(seed, w, 1); it writes row w of the records in `out`,
// out.final_theta[w], out.max_drift[w] and out.n_accepted[w] (disjoint between walkers).
void run_walker(const WalkContext& c, std::int64_t w, WalkOutput& out) {
  const Shape& s = c.s;
  const WalkParams& p = c.p;
  const float* theta0 = c.theta0;
  const float* Xtr = c.Xtr;
  const std::int32_t* ytr = c.ytr;
  const std::int64_t ntr = c.ntr;
  const float* Xte = c.Xte;
  const std::int32_t* yte = c.yte;
  const std::int64_t nte = c.nte;
  const bool sparse = c.sparse, have_test = c.have_test;
  const double n0 = c.n0;
  const std::int64_t NR = c.NR, P = c.P, H = c.H;
  const int L = c.L, inner = c.inner;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto sig = [&](int l) { return p.layer_sigma.empty() ? p.sigma : p.layer_sigma[l]; };
  Philox g(p.seed, static_cast<std::uint64_t>(w), 1);
  std::vector<float> theta(theta0, theta0 + P), prop;
  double cur_loss = 0.0, cur_acc = 0.0;
  IncState* st = nullptr;
  std::unique_ptr<IncState> holder;
  if (sparse) {
    holder.reset(new IncState(s, c.XT, ytr, ntr));
    st = holder.get();
    st->refresh(theta.data(), Xtr, inner);
  } else {
    prop.resize(P);
    cur_loss = full_loss(s, theta.data(), Xtr, ytr, ntr, &cur_acc, inner);
  }
  auto loss_now = [&] { return sparse ? st->total / ntr : cur_loss; };
  auto acc_now = [&] { return sparse ? static_cast<double>(st->ncorr) / ntr : cur_acc; };
  std::int64_t acc_window = 0, win_steps = 0;
  auto record = [&](std::int64_t r) {
    const std::int64_t o = w * NR + r;
    double dd = 0.0, dot = 0.0, nt2 = 0.0;
    for (std::int64_t q = 0; q < P; ++q) {
      const double a = theta[q], b = theta0[q];
      dd += (a - b) * (a - b);
      dot += a * b;
      nt2 += a * a;
    }
    out.dist[o] = n0 > 0 ? std::sqrt(dd) / n0 : std::sqrt(dd);
    out.overlap[o] = (n0 > 0 && nt2 > 0) ? dot / (n0 * std::sqrt(nt2)) : nan;
    out.train_loss[o] = loss_now();
    out.train_acc[o] = acc_now();
    if (have_test) {
      double a;
      out.test_loss[o] = full_loss(s, theta.data(), Xte, yte, nte, &a, inner);
      out.test_acc[o] = a;
    }
    out.accept[o] = win_steps > 0 ? static_cast<double>(acc_window) / win_steps : nan;
    acc_window = 0;
    win_steps = 0;
    if (p.store_theta)
      std::copy(theta.begin(), theta.end(), out.thetas.begin() + o * P);
  };
  auto accept = [&](double new_loss, double new_acc) {
    switch (p.mode) {
      case WalkMode::free_walk:
        return true;
      case WalkMode::threshold:
        return p.threshold_on_error ? (1.0 - new_acc) <= p.threshold : new_loss <= p.threshold;
      case WalkMode::metropolis: {
        const double dl = new_loss - loss_now();
        if (dl <= 0.0) return true;
        return g.uniform() < std::exp(-dl / p.temperature);
      }
    }
    return false;
  };
  record(0);
  std::vector<float> din, dout, wcol;
  for (std::int64_t t = 1; t <= p.steps; ++t) {
    if ((t & 63) == 0) check_interrupt();
    bool ok = false;
    if (!sparse) {
      for (int l = 0; l < L; ++l) {
        const double sl = sig(l);
        const std::int64_t q1 = l + 1 < L ? s.w_offset(l + 1) : P;
        for (std::int64_t q = s.w_offset(l); q < q1; ++q)
          prop[q] = theta[q] + static_cast<float>(sl * g.normal());
      }
      std::int64_t corr = 0;
      const double nl = parallel_total(s, prop.data(), Xtr, ytr, ntr, inner, corr) / ntr;
      const double na = static_cast<double>(corr) / ntr;
      ok = accept(nl, na);
      if (ok) {
        theta.swap(prop);
        cur_loss = nl;
        cur_acc = na;
      }
    } else if (p.move == MoveKind::weight) {
      const std::int64_t q = g.below(static_cast<std::uint32_t>(P));
      int l = 0;
      while (l + 1 < L && q >= s.w_offset(l + 1)) ++l;
      const float dw = static_cast<float>(sig(l) * g.normal());
      const int dinl = s.widths[l], doutl = s.widths[l + 1];
      const std::int64_t off = q - s.w_offset(l);
      const std::int64_t nw = static_cast<std::int64_t>(doutl) * dinl;
      int j;
      if (off < nw) {
        j = static_cast<int>(off / dinl);
        const int i = static_cast<int>(off % dinl);
        if (l == 0) {
          const float* x = st->XT + static_cast<std::int64_t>(i) * ntr;
          for (std::int64_t smp = 0; smp < ntr; ++smp) st->dz[smp] = dw * x[smp];
        } else {
          const float* z = st->Z[l].data() + static_cast<std::int64_t>(i) * ntr;
          for (std::int64_t smp = 0; smp < ntr; ++smp)
            st->dz[smp] = dw * (z[smp] > 0.0f ? z[smp] : 0.0f);
        }
      } else {
        j = static_cast<int>(off - nw);
        std::fill(st->dz.begin(), st->dz.end(), dw);
      }
      const int m = l + 1;
      if (m < L) {
        // outgoing column of unit j in layer m (unchanged by this move)
        const int dn = s.widths[m + 1];
        wcol.resize(dn);
        for (int c = 0; c < dn; ++c) wcol[c] = theta[s.w_offset(m) + static_cast<std::int64_t>(c) * s.widths[m] + j];
      }
      st->propose(m, j, theta.data(), m < L ? wcol.data() : nullptr, nullptr);
      ok = accept((st->total + st->dtotal) / ntr, static_cast<double>(st->ncorr + st->dcorr) / ntr);
      if (ok) {
        st->commit();
        theta[q] = theta[q] + dw;
      }
    } else {  // unit
      std::int64_t u = g.below(static_cast<std::uint32_t>(H));
      int m = 1;
      while (u >= s.widths[m]) {
        u -= s.widths[m];
        ++m;
      }
      const int j = static_cast<int>(u);
      const int dprev = s.widths[m - 1], dn = s.widths[m + 1];
      din.resize(dprev);
      dout.resize(dn);
      wcol.resize(dn);
      const double s_in = sig(m - 1), s_out = sig(m);
      for (int i = 0; i < dprev; ++i) din[i] = static_cast<float>(s_in * g.normal());
      const float db = s.bias ? static_cast<float>(s_in * g.normal()) : 0.0f;
      for (int c = 0; c < dn; ++c) dout[c] = static_cast<float>(s_out * g.normal());
      for (int c = 0; c < dn; ++c)
        wcol[c] = theta[s.w_offset(m) + static_cast<std::int64_t>(c) * s.widths[m] + j];
      std::fill(st->dz.begin(), st->dz.end(), db);
      for (int i = 0; i < dprev; ++i) {
        const float di = din[i];
        if (m == 1) {
          const float* x = st->XT + static_cast<std::int64_t>(i) * ntr;
          for (std::int64_t smp = 0; smp < ntr; ++smp) st->dz[smp] += di * x[smp];
        } else {
          const float* z = st->Z[m - 1].data() + static_cast<std::int64_t>(i) * ntr;
          for (std::int64_t smp = 0; smp < ntr; ++smp)
            st->dz[smp] += di * (z[smp] > 0.0f ? z[smp] : 0.0f);
        }
      }
      st->propose(m, j, theta.data(), wcol.data(), dout.data());
      ok = accept((st->total + st->dtotal) / ntr, static_cast<double>(st->ncorr + st->dcorr) / ntr);
      if (ok) {
        st->commit();
        const std::int64_t wo = s.w_offset(m - 1) + static_cast<std::int64_t>(j) * dprev;
        for (int i = 0; i < dprev; ++i) theta[wo + i] = theta[wo + i] + din[i];
        if (s.bias) theta[s.b_offset(m - 1) + j] = theta[s.b_offset(m - 1) + j] + db;
        for (int c = 0; c < dn; ++c) {
          float& v = theta[s.w_offset(m) + static_cast<std::int64_t>(c) * s.widths[m] + j];
          v = v + dout[c];
        }
      }
    }
    if (ok) {
      ++acc_window;
      ++out.n_accepted[w];
    }
    ++win_steps;
    if (sparse && p.refresh_every > 0 && t % p.refresh_every == 0) {
      const double before = st->total / ntr;
      st->refresh(theta.data(), Xtr, inner);
      out.max_drift[w] = std::max(out.max_drift[w], std::fabs(before - st->total / ntr));
    }
    if (t % p.record_every == 0) record(t / p.record_every);
  }
  std::copy(theta.begin(), theta.end(), out.final_theta.begin() + w * P);
}

}  // namespace

void random_walk(const Shape& s, const float* theta0, const float* Xtr, const std::int32_t* ytr,
                 std::int64_t ntr, const float* Xte, const std::int32_t* yte, std::int64_t nte,
                 const WalkParams& p, WalkOutput& out, int n_threads) {
  if (p.steps < 0 || p.walkers < 1 || p.record_every < 1 || ntr < 1)
    throw std::invalid_argument("random_walk: bad steps / walkers / record_every / data size");
  if (p.mode == WalkMode::metropolis && !(p.temperature > 0.0))
    throw std::invalid_argument("random_walk: temperature must be > 0 in metropolis mode");
  const int L = s.n_layers();
  const std::int64_t P = s.n_params();
  if (p.move == MoveKind::unit && L < 2)
    throw std::invalid_argument("random_walk: move='unit' needs at least one hidden layer");
  if (P >= (std::int64_t(1) << 32)) throw std::invalid_argument("random_walk: too many parameters");
  const bool sparse = p.move != MoveKind::dense;
  if (!p.layer_sigma.empty() && static_cast<int>(p.layer_sigma.size()) != L)
    throw std::invalid_argument("random_walk: layer_sigma needs one entry per layer");
  const bool have_test = p.eval_test && Xte != nullptr && nte > 0;
  const std::int64_t W = p.walkers, NR = p.steps / p.record_every + 1;
  out.n_records = NR;
  out.step.resize(NR);
  for (std::int64_t r = 0; r < NR; ++r) out.step[r] = r * p.record_every;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (auto* v : {&out.dist, &out.overlap, &out.train_loss, &out.train_acc, &out.test_loss,
                  &out.test_acc, &out.accept})
    v->assign(static_cast<std::size_t>(W * NR), nan);
  out.final_theta.assign(static_cast<std::size_t>(W * P), 0.0f);
  out.thetas.assign(p.store_theta ? static_cast<std::size_t>(W * NR * P) : 0, 0.0f);
  out.max_drift.assign(W, 0.0);
  out.n_accepted.assign(W, 0);

  double n0 = 0.0;
  for (std::int64_t q = 0; q < P; ++q) n0 += static_cast<double>(theta0[q]) * theta0[q];
  n0 = std::sqrt(n0);

  std::vector<float> XT;
  if (sparse) {
    const int d0 = s.n_in();
    XT.resize(static_cast<std::size_t>(d0) * ntr);
    // blocked transpose (64 x 64 tiles), parallel over blocks of samples
    constexpr std::int64_t B = 64;
    float* xt = XT.data();
    parallel_for((ntr + B - 1) / B, n_threads, [&](std::int64_t sb) {
      const std::int64_t s0 = sb * B, s1 = std::min(ntr, s0 + B);
      for (int i0 = 0; i0 < d0; i0 += B) {
        const int i1 = static_cast<int>(std::min<std::int64_t>(d0, i0 + B));
        for (int i = i0; i < i1; ++i) {
          float* dst = xt + static_cast<std::int64_t>(i) * ntr;
          for (std::int64_t smp = s0; smp < s1; ++smp) dst[smp] = Xtr[smp * d0 + i];
        }
      }
    });
  }
  // hidden units for move='unit': (layer, index) by flat index
  std::int64_t H = 0;
  for (int l = 1; l < L; ++l) H += s.widths[l];

  // one walker: its full passes (refresh, dense steps, test records) use the threads; several:
  // one walker per thread, serial passes
  const int inner = W == 1 ? n_threads : 1;
  const WalkContext c{s, theta0, Xtr, ytr, ntr, Xte, yte, nte, p, XT.data(),
                      sparse, have_test, n0, NR, P, H, L, inner};
  parallel_for(W, n_threads, [&](std::int64_t w) { run_walker(c, w, out); });
}

}  // namespace glasslens::landscape
