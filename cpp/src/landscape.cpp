// Perturbed evaluation engine and random walks (Protocol 1). See landscape.hpp.
#include "glasslens/landscape.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "glasslens/parallel.hpp"
#include "glasslens/rng.hpp"

namespace glasslens::landscape {
using nn::Shape;

namespace {

constexpr std::int64_t kTile = 480;  // samples per forward tile (2 GEMM m-blocks)

inline int round8(int v) { return (v + 7) / 8 * 8; }

// Layout of the parameter buffers the forward kernels read: the flat theta layout itself
// (W_l row-major dout x din, then b_l); dpad[l] is the activation row stride of layer l's output.
struct Packing {
  std::vector<int> dpad;
  std::vector<std::int64_t> wt_off, b_off;  // b_off = -1 without biases
  std::int64_t size = 0;
  int max_pad = 0;
  explicit Packing(const Shape& s) {
    const int L = s.n_layers();
    for (int l = 0; l < L; ++l) {
      dpad.push_back(s.widths[l + 1]);
      wt_off.push_back(s.w_offset(l));
      b_off.push_back(s.bias ? s.b_offset(l) : -1);
      max_pad = std::max(max_pad, s.widths[l + 1]);
    }
    size = s.n_params();
  }
  // Bias pointer of layer l in a buffer whose element 0 is packed offset `shift` (or null).
  const float* bias(const float* buf, int l, std::int64_t shift = 0) const {
    return b_off[l] < 0 ? nullptr : buf + (b_off[l] - shift);
  }
};

// Writes f(p) for every parameter p into buf. f(p) must be a pure function of p.
template <class F>
void pack_with(const Shape& s, const Packing& pk, float* buf, F&& f) {
  (void)s;
  for (std::int64_t p = 0; p < pk.size; ++p) buf[p] = f(p);
}

struct FwdBuffers {
  std::vector<float> a, b, lt;
  std::vector<unsigned char> ct;
  void reserve(const Packing& pk) {
    const std::size_t need = static_cast<std::size_t>(kTile) * pk.max_pad;
    if (a.size() < need) a.assign(need, 0.0f);
    if (b.size() < need) b.assign(need, 0.0f);
    if (lt.size() < static_cast<std::size_t>(kTile)) {
      lt.assign(kTile, 0.0f);
      ct.assign(kTile, 0);
    }
  }
};

// Adds the losses of a tile (computed by rows_loss) to total in row order.
inline void tile_loss(const float* Z, std::int64_t ldz, std::int64_t rows, int C,
                      const std::int32_t* y, FwdBuffers& fb, double& total, std::int64_t& corr) {
  rows_loss(Z, ldz, rows, C, y, fb.lt.data(), fb.ct.data());
  for (std::int64_t r = 0; r < rows; ++r) {
    total += fb.lt[r];
    corr += fb.ct[r];
  }
}

// Sum of per-sample losses (double, in sample order) and number of correct predictions.
double packed_loss_sum(const Shape& s, const Packing& pk, const float* buf, const float* X,
                       const std::int32_t* y, std::int64_t n, std::int64_t& n_correct,
                       FwdBuffers& fb) {
  fb.reserve(pk);
  const int L = s.n_layers(), C = s.n_out(), d0 = s.n_in();
  double total = 0.0;
  std::int64_t corr = 0;
  for (std::int64_t t0 = 0; t0 < n; t0 += kTile) {
    const std::int64_t rows = std::min(kTile, n - t0);
    const float* A = X + t0 * d0;
    std::int64_t lda = d0;
    for (int l = 0; l < L; ++l) {
      float* Z = (l % 2 == 0) ? fb.a.data() : fb.b.data();
      dense_layer(A, lda, rows, s.widths[l], buf + pk.wt_off[l], pk.bias(buf, l), pk.dpad[l], Z,
                  l < L - 1);
      A = Z;
      lda = pk.dpad[l];
    }
    tile_loss(A, lda, rows, C, y + t0, fb, total, corr);
  }
  n_correct = corr;
  return total;
}

}  // namespace

// ---- directions ------------------------------------------------------------------------------

void make_direction(const Shape& s, const float* theta, std::uint64_t seed, std::int64_t k,
                    DirKind kind, Norm norm, BiasMode bias, float* u) {
  const std::int64_t P = s.n_params();
  Philox g(seed, static_cast<std::uint64_t>(k), 0);
  if (kind == DirKind::gaussian) {
    // Box-Muller in single precision from 24-bit uniforms (two u32 per pair of normals; the
    // tails are cut at |z| = sqrt(2 ln 2^24) = 5.77, probability 8e-9).
    constexpr float kInv24 = 1.0f / 16777216.0f;
    constexpr float kTwoPi = 6.28318530717958648f;
    for (std::int64_t p = 0; p < P; p += 2) {
      const std::uint32_t w1 = g.next_u32(), w2 = g.next_u32();
      const float u1 = static_cast<float>((w1 >> 8) + 1u) * kInv24;  // (0, 1]
      const float u2 = static_cast<float>(w2 >> 8) * kInv24;          // [0, 1)
      const float r = std::sqrt(-2.0f * std::log(u1));
      const float t = kTwoPi * u2;
      u[p] = r * std::cos(t);
      if (p + 1 < P) u[p + 1] = r * std::sin(t);
    }
  } else {
    for (std::int64_t p = 0; p < P; p += 32) {
      const std::uint32_t w = g.next_u32();
      const std::int64_t e = std::min<std::int64_t>(32, P - p);
      for (std::int64_t b = 0; b < e; ++b) u[p + b] = ((w >> b) & 1u) ? 1.0f : -1.0f;
    }
  }
  const int L = s.n_layers();
  if (bias == BiasMode::zero && s.bias)
    for (int l = 0; l < L; ++l)
      std::fill(u + s.b_offset(l), u + s.b_offset(l) + s.widths[l + 1], 0.0f);
  if (norm == Norm::none) return;

  // Scale the entries of one group (given as a list of [begin, end) ranges, in order).
  auto scale_group = [&](std::initializer_list<std::pair<std::int64_t, std::int64_t>> ranges) {
    double nt = 0.0, nu = 0.0;
    for (auto& r : ranges)
      for (std::int64_t p = r.first; p < r.second; ++p) {
        nt += static_cast<double>(theta[p]) * theta[p];
        nu += static_cast<double>(u[p]) * u[p];
      }
    const float f = nu > 0.0 ? static_cast<float>(std::sqrt(nt) / std::sqrt(nu)) : 0.0f;
    for (auto& r : ranges)
      for (std::int64_t p = r.first; p < r.second; ++p) u[p] *= f;
  };
  const bool incl = s.bias && bias == BiasMode::include;
  if (norm == Norm::global) {
    double nt = 0.0, nu = 0.0;
    for (int l = 0; l < L; ++l) {
      const std::int64_t wo = s.w_offset(l), nw = static_cast<std::int64_t>(s.widths[l + 1]) * s.widths[l];
      const std::int64_t end = wo + nw + (incl ? s.widths[l + 1] : 0);
      for (std::int64_t p = wo; p < end; ++p) {
        nt += static_cast<double>(theta[p]) * theta[p];
        nu += static_cast<double>(u[p]) * u[p];
      }
    }
    const float f = nu > 0.0 ? static_cast<float>(std::sqrt(nt) / std::sqrt(nu)) : 0.0f;
    for (std::int64_t p = 0; p < P; ++p) u[p] *= f;
    return;
  }
  for (int l = 0; l < L; ++l) {
    const int din = s.widths[l], dout = s.widths[l + 1];
    const std::int64_t wo = s.w_offset(l), nw = static_cast<std::int64_t>(dout) * din;
    const std::int64_t bo = s.bias ? s.b_offset(l) : 0;
    if (norm == Norm::layer) {
      if (incl)
        scale_group({{wo, wo + nw}, {bo, bo + dout}});
      else
        scale_group({{wo, wo + nw}});
    } else {  // filter
      for (int j = 0; j < dout; ++j) {
        const std::int64_t r0 = wo + static_cast<std::int64_t>(j) * din;
        if (incl)
          scale_group({{r0, r0 + din}, {bo + j, bo + j + 1}});
        else
          scale_group({{r0, r0 + din}});
      }
    }
  }
}

// ---- batched evaluation -----------------------------------------------------------------------

namespace {
std::atomic<std::int64_t> g_z0_limit{std::int64_t(1) << 26};
}  // namespace
std::int64_t z0_limit() noexcept { return g_z0_limit.load(std::memory_order_relaxed); }
void set_z0_limit(std::int64_t floats) noexcept {
  g_z0_limit.store(floats, std::memory_order_relaxed);
}

double full_loss(const Shape& s, const float* theta, const float* X, const std::int32_t* y,
                 std::int64_t n, double* acc) {
  Packing pk(s);
  std::vector<float> buf(pk.size, 0.0f);
  pack_with(s, pk, buf.data(), [&](std::int64_t p) { return theta[p]; });
  FwdBuffers fb;
  std::int64_t corr = 0;
  const double tot = packed_loss_sum(s, pk, buf.data(), X, y, n, corr, fb);
  if (acc) *acc = static_cast<double>(corr) / static_cast<double>(n);
  return tot / static_cast<double>(n);
}

// The first layer is evaluated by linearity: z1 = (W0 + r U0) x + (b0 + r ub0)
// = Z0 + r * (U0 x + ub0), with Z0 = W0 x + b0 computed once per call and U0 x once per direction
// (multiplicative mode uses the effective direction theta * u). Layers above the first are
// materialised per radius in the worker's buffer. At r = 0 the result equals full_loss exactly.
void perturbed_eval(const Shape& s, const float* theta, std::uint64_t seed, std::int64_t K,
                    const double* radii, std::int64_t R, DirKind kind, Norm norm, BiasMode bias,
                    PertMode mode, const float* X, const std::int32_t* y, std::int64_t n,
                    double* loss_out, double* acc_out, int n_threads, double* base_loss,
                    double* base_acc) {
  if (K <= 0 || R <= 0 || n <= 0) throw std::invalid_argument("K, R and n must be positive");
  const int nt = resolve_threads(n_threads);
  // Radii are grouped in blocks so that there are enough items for the threads; the grouping
  // only decides which values share a generated direction, never the values themselves.
  const std::int64_t P = s.n_params();
  const int L = s.n_layers(), C = s.n_out(), d0 = s.n_in();
  Packing pk(s);
  const int dp0 = pk.dpad[0];
  const std::int64_t first = L > 1 ? pk.wt_off[1] : pk.size;  // size of the [W0, b0] block
  std::int64_t blocks = std::min<std::int64_t>(R, std::max<std::int64_t>(1, (4 * nt + K - 1) / K));
  std::int64_t rb = (R + blocks - 1) / blocks;
  // a worker keeps the layers >= 1 of its rb perturbed networks: cap that at ~16M floats
  rb = std::max<std::int64_t>(1, std::min<std::int64_t>(rb, (std::int64_t(1) << 24) / std::max<std::int64_t>(1, pk.size - first)));
  blocks = (R + rb - 1) / rb;
  // packed base network (layer 0 used for Z0)
  std::vector<float> base(pk.size, 0.0f);
  pack_with(s, pk, base.data(), [&](std::int64_t p) { return theta[p]; });
  const std::int64_t ntiles = (n + kTile - 1) / kTile;
  // Z0 is kept for all samples unless that would exceed 2^26 floats (256 MB); then every work
  // item recomputes its tile of Z0 (same values, one more product per tile).
  const bool keep_z0 = static_cast<double>(n) * dp0 <= static_cast<double>(z0_limit());
  std::vector<float> Z0(keep_z0 ? static_cast<std::size_t>(n) * dp0 : 0);
  auto z0_tile = [&](std::int64_t t0, std::int64_t rows, float* dst) {
    dense_layer(X + t0 * d0, d0, rows, d0, base.data() + pk.wt_off[0], pk.bias(base.data(), 0),
                dp0, dst, false);
  };
  if (keep_z0)
    parallel_for(ntiles, nt, [&](std::int64_t t) {
      const std::int64_t t0 = t * kTile;
      z0_tile(t0, std::min(kTile, n - t0), Z0.data() + t0 * dp0);
    });
  const std::int64_t rest = pk.size - first;  // packed size of layers >= 1
  if (base_loss) {  // the unperturbed network from Z0 (same operations as full_loss)
    FwdBuffers fb;
    fb.reserve(pk);
    double tot = 0.0;
    std::int64_t corr = 0;
    std::vector<float> z0b(keep_z0 ? 0 : static_cast<std::size_t>(kTile) * dp0);
    for (std::int64_t t0 = 0; t0 < n; t0 += kTile) {
      const std::int64_t rows = std::min(kTile, n - t0);
      if (!keep_z0) z0_tile(t0, rows, z0b.data());
      const float* z0 = keep_z0 ? Z0.data() + t0 * dp0 : z0b.data();
      const float* in = z0;
      std::int64_t lda = dp0;
      if (L > 1) {
        float* A = fb.a.data();
        for (std::int64_t q = 0; q < rows * dp0; ++q) A[q] = z0[q] > 0.0f ? z0[q] : 0.0f;
        in = A;
      }
      for (int l = 1; l < L; ++l) {
        float* Z = (l % 2 == 1) ? fb.b.data() : fb.a.data();
        dense_layer(in, lda, rows, s.widths[l], base.data() + pk.wt_off[l], pk.bias(base.data(), l),
                    pk.dpad[l], Z, l < L - 1);
        in = Z;
        lda = pk.dpad[l];
      }
      tile_loss(in, lda, rows, C, y + t0, fb, tot, corr);
    }
    *base_loss = tot / static_cast<double>(n);
    if (base_acc) *base_acc = static_cast<double>(corr) / static_cast<double>(n);
  }
  parallel_for(K * blocks, nt, [&](std::int64_t item) {
    const std::int64_t k = item / blocks, r0 = (item % blocks) * rb;
    const std::int64_t r1 = std::min(R, r0 + rb), nr = r1 - r0;
    std::vector<float> u(P), u0(first, 0.0f);
    std::vector<float> bufs(static_cast<std::size_t>(nr) * rest, 0.0f);
    std::vector<float> zu(static_cast<std::size_t>(kTile) * dp0);
    std::vector<float> z0b(keep_z0 ? 0 : static_cast<std::size_t>(kTile) * dp0);
    std::vector<double> tot(nr, 0.0);
    std::vector<std::int64_t> corr(nr, 0);
    FwdBuffers fb;
    fb.reserve(pk);
    make_direction(s, theta, seed, k, kind, norm, bias, u.data());
    const bool mult = mode == PertMode::multiplicative;
    // layer-0 block [W0, b0] of the effective direction (u, or theta * u)
    for (std::int64_t q = 0; q < first; ++q) u0[q] = mult ? theta[q] * u[q] : u[q];
    // layers >= 1, materialised per radius (pack_with writes every slot of every layer; the
    // layer-0 slots are discarded by writing into a scratch vector first)
    if (L > 1) {
      std::vector<float> full(pk.size, 0.0f);
      for (std::int64_t ri = 0; ri < nr; ++ri) {
        const float r = static_cast<float>(radii[r0 + ri]);
        if (!mult)
          pack_with(s, pk, full.data(), [&](std::int64_t p) { return theta[p] + r * u[p]; });
        else
          pack_with(s, pk, full.data(), [&](std::int64_t p) { return theta[p] * (1.0f + r * u[p]); });
        std::copy(full.begin() + first, full.end(), bufs.begin() + ri * rest);
      }
    }
    for (std::int64_t t0 = 0; t0 < n; t0 += kTile) {
      const std::int64_t rows = std::min(kTile, n - t0);
      dense_layer(X + t0 * d0, d0, rows, d0, u0.data(), pk.bias(u0.data(), 0), dp0, zu.data(),
                  false);
      if (!keep_z0) z0_tile(t0, rows, z0b.data());
      const float* z0 = keep_z0 ? Z0.data() + t0 * dp0 : z0b.data();
      for (std::int64_t ri = 0; ri < nr; ++ri) {
        const float r = static_cast<float>(radii[r0 + ri]);
        float* A = fb.a.data();
        const std::int64_t cnt = rows * dp0;
        if (L > 1) {
          for (std::int64_t q = 0; q < cnt; ++q) {
            const float v = z0[q] + r * zu[q];
            A[q] = v > 0.0f ? v : 0.0f;
          }
        } else {
          for (std::int64_t q = 0; q < cnt; ++q) A[q] = z0[q] + r * zu[q];
        }
        std::int64_t lda = dp0;
        const float* buf = bufs.data() + ri * rest;  // layers >= 1, offsets shifted by first
        const float* in = A;
        for (int l = 1; l < L; ++l) {
          float* Z = (l % 2 == 1) ? fb.b.data() : fb.a.data();
          dense_layer(in, lda, rows, s.widths[l], buf + (pk.wt_off[l] - first),
                      pk.bias(buf, l, first), pk.dpad[l], Z, l < L - 1);
          in = Z;
          lda = pk.dpad[l];
        }
        tile_loss(in, lda, rows, C, y + t0, fb, tot[ri], corr[ri]);
      }
    }
    for (std::int64_t ri = 0; ri < nr; ++ri) {
      loss_out[k * R + r0 + ri] = tot[ri] / static_cast<double>(n);
      if (acc_out) acc_out[k * R + r0 + ri] = static_cast<double>(corr[ri]) / static_cast<double>(n);
    }
  });
}

void affine_eval(const Shape& s, const float* theta0, const float* D, int m,
                 const double* coeffs, std::int64_t G, const float* X, const std::int32_t* y,
                 std::int64_t n, double* loss_out, double* acc_out, int n_threads) {
  if (G <= 0 || n <= 0 || m < 0) throw std::invalid_argument("G and n must be positive");
  const std::int64_t P = s.n_params();
  Packing pk(s);
  parallel_for(G, n_threads, [&](std::int64_t g) {
    std::vector<float> buf(pk.size, 0.0f), v(theta0, theta0 + P);
    for (int j = 0; j < m; ++j) {
      const float c = static_cast<float>(coeffs[g * m + j]);
      const float* d = D + static_cast<std::int64_t>(j) * P;
      for (std::int64_t p = 0; p < P; ++p) v[p] = v[p] + c * d[p];
    }
    pack_with(s, pk, buf.data(), [&](std::int64_t p) { return v[p]; });
    FwdBuffers fb;
    std::int64_t corr = 0;
    const double tot = packed_loss_sum(s, pk, buf.data(), X, y, n, corr, fb);
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

  // Full recomputation from theta (same kernel and summation order as full_loss).
  void refresh(const float* theta, const float* X) {
    Packing pk(s);
    std::vector<float> buf(pk.size, 0.0f);
    pack_with(s, pk, buf.data(), [&](std::int64_t p) { return theta[p]; });
    std::vector<float> a(static_cast<std::size_t>(kTile) * pk.max_pad),
        b(static_cast<std::size_t>(kTile) * pk.max_pad);
    const int d0 = s.n_in();
    double tot = 0.0;
    std::int64_t cr = 0;
    for (std::int64_t t0 = 0; t0 < n; t0 += kTile) {
      const std::int64_t rows = std::min(kTile, n - t0);
      const float* A = X + t0 * d0;
      std::int64_t lda = d0;
      for (int l = 0; l < L; ++l) {
        float* Zb = (l % 2 == 0) ? a.data() : b.data();
        const int dp = pk.dpad[l], dout = s.widths[l + 1];
        dense_layer(A, lda, rows, s.widths[l], buf.data() + pk.wt_off[l], pk.bias(buf.data(), l),
                    dp, Zb, false);
        if (l < L - 1) {
          float* dst = Z[l + 1].data();
          for (std::int64_t r = 0; r < rows; ++r)
            for (int j = 0; j < dout; ++j) {
              float& z = Zb[r * dp + j];
              dst[static_cast<std::int64_t>(j) * n + t0 + r] = z;
              z = z > 0.0f ? z : 0.0f;
            }
        } else {
          for (std::int64_t r = 0; r < rows; ++r)
            std::memcpy(&logits[(t0 + r) * C], Zb + r * dp, sizeof(float) * C);
        }
        A = Zb;
        lda = dp;
      }
      rows_loss(A, lda, rows, C, y + t0, lossv.data() + t0, corr.data() + t0);
      for (std::int64_t r = 0; r < rows; ++r) {
        tot += lossv[t0 + r];
        cr += corr[t0 + r];
      }
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
  auto sig = [&](int l) { return p.layer_sigma.empty() ? p.sigma : p.layer_sigma[l]; };
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
    for (std::int64_t smp = 0; smp < ntr; ++smp)
      for (int i = 0; i < d0; ++i) XT[static_cast<std::int64_t>(i) * ntr + smp] = Xtr[smp * d0 + i];
  }
  // hidden units for move='unit': (layer, index) by flat index
  std::int64_t H = 0;
  for (int l = 1; l < L; ++l) H += s.widths[l];

  parallel_for(W, n_threads, [&](std::int64_t w) {
    Philox g(p.seed, static_cast<std::uint64_t>(w), 1);
    std::vector<float> theta(theta0, theta0 + P), prop;
    double cur_loss = 0.0, cur_acc = 0.0;
    IncState* st = nullptr;
    std::unique_ptr<IncState> holder;
    Packing pk(s);
    FwdBuffers fb;
    if (sparse) {
      holder.reset(new IncState(s, XT.data(), ytr, ntr));
      st = holder.get();
      st->refresh(theta.data(), Xtr);
    } else {
      prop.resize(P);
      cur_loss = full_loss(s, theta.data(), Xtr, ytr, ntr, &cur_acc);
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
        out.test_loss[o] = full_loss(s, theta.data(), Xte, yte, nte, &a);
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
      bool ok = false;
      if (!sparse) {
        for (int l = 0; l < L; ++l) {
          const double sl = sig(l);
          const std::int64_t q1 = l + 1 < L ? s.w_offset(l + 1) : P;
          for (std::int64_t q = s.w_offset(l); q < q1; ++q)
            prop[q] = theta[q] + static_cast<float>(sl * g.normal());
        }
        std::int64_t corr = 0;
        const double nl = packed_loss_sum(s, pk, prop.data(), Xtr, ytr, ntr, corr, fb) / ntr;
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
        st->refresh(theta.data(), Xtr);
        out.max_drift[w] = std::max(out.max_drift[w], std::fabs(before - st->total / ntr));
      }
      if (t % p.record_every == 0) record(t / p.record_every);
    }
    std::copy(theta.begin(), theta.end(), out.final_theta.begin() + w * P);
  });
}

}  // namespace glasslens::landscape
