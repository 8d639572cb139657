// Binary-synapse networks trained by local reparameterisation. See binarynet.hpp.
//
// Internally every batch is stored feature-major: an activation matrix of a layer with `w` units
// over a batch of B samples is (w x B) row-major, so the inner loops run over the batch
// (contiguous, vectorisable axpy and 8-lane dot products with a fixed summation order).
#include "glasslens/binarynet.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>

#include "glasslens/parallel.hpp"
#include "glasslens/rng.hpp"

namespace glasslens::binarynet {

namespace {

// Philox sub-stream kinds: stream = replica, sub = (kind << 56) ^ counter.
constexpr std::uint64_t kInit = 1ull << 56;
constexpr std::uint64_t kPerm = 2ull << 56;
constexpr std::uint64_t kNoise = 3ull << 56;
constexpr std::uint64_t kSample = 4ull << 56;

template <class T>
inline void axpy(T* __restrict y, T alpha, const T* __restrict x, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

// Dot product with 8 independent accumulators combined in a fixed order (vectorisable without
// reassociation flags; the result does not depend on alignment or threads).
template <class T>
inline T dot8(const T* __restrict a, const T* __restrict b, std::int64_t n) {
  T acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
  T s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// ---- fast standard normals: block-parallel Philox words + ziggurat ------------------------------

// Words [0, 4 nb) of the stream Philox(seed, stream, sub): identical to calling next_u32() 4 nb
// times on a fresh Philox(seed, stream, sub), but computed block by block in structure-of-arrays
// form so that the rounds vectorise.
void philox_words(std::uint64_t seed, std::uint64_t stream, std::uint64_t sub, std::int64_t nb,
                  std::uint32_t* out) {
  constexpr int kChunk = 64;
  const std::uint32_t key0 = static_cast<std::uint32_t>(seed) ^
                             (0x9E3779B9u * (static_cast<std::uint32_t>(stream) + 1u));
  const std::uint32_t key1 = static_cast<std::uint32_t>(seed >> 32) ^
                             (0xBB67AE85u * (static_cast<std::uint32_t>(stream >> 32) + 1u));
  const std::uint32_t c2i = static_cast<std::uint32_t>(sub) ^ static_cast<std::uint32_t>(stream);
  const std::uint32_t c3i =
      static_cast<std::uint32_t>(sub >> 32) ^ static_cast<std::uint32_t>(stream >> 32);
  std::uint32_t c0[kChunk], c1[kChunk], c2[kChunk], c3[kChunk];
  for (std::int64_t s = 0; s < nb; s += kChunk) {
    const int m = static_cast<int>(std::min<std::int64_t>(kChunk, nb - s));
    for (int j = 0; j < m; ++j) {
      const std::uint64_t blk = static_cast<std::uint64_t>(s + j);
      c0[j] = static_cast<std::uint32_t>(blk);
      c1[j] = static_cast<std::uint32_t>(blk >> 32);
      c2[j] = c2i;
      c3[j] = c3i;
    }
    std::uint32_t k0 = key0, k1 = key1;
    for (int r = 0; r < 10; ++r) {
      for (int j = 0; j < m; ++j) {
        const std::uint64_t p0 = static_cast<std::uint64_t>(0xD2511F53u) * c0[j];
        const std::uint64_t p1 = static_cast<std::uint64_t>(0xCD9E8D57u) * c2[j];
        const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1[j] ^ k0;
        const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3[j] ^ k1;
        c1[j] = static_cast<std::uint32_t>(p1);
        c3[j] = static_cast<std::uint32_t>(p0);
        c0[j] = n0;
        c2[j] = n2;
      }
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    std::uint32_t* o = out + 4 * s;
    for (int j = 0; j < m; ++j) {
      o[4 * j] = c0[j];
      o[4 * j + 1] = c1[j];
      o[4 * j + 2] = c2[j];
      o[4 * j + 3] = c3[j];
    }
  }
}

// Ziggurat tables (Marsaglia & Tsang 2000, 128 layers). A 32-bit word gives the layer (low 7
// bits) and a signed 25-bit abscissa (high bits), so layer and value use disjoint bits.
struct Ziggurat {
  std::int64_t kn[128];
  double wn[128], fn[128];
  Ziggurat() {
    const double m1 = 16777216.0;  // 2^24
    double dn = 3.442619855899, tn = dn;
    const double vn = 9.91256303526217e-3;
    const double q = vn / std::exp(-0.5 * dn * dn);
    kn[0] = static_cast<std::int64_t>((dn / q) * m1);
    kn[1] = 0;
    wn[0] = q / m1;
    wn[127] = dn / m1;
    fn[0] = 1.0;
    fn[127] = std::exp(-0.5 * dn * dn);
    for (int i = 126; i >= 1; --i) {
      dn = std::sqrt(-2.0 * std::log(vn / dn + std::exp(-0.5 * dn * dn)));
      kn[i + 1] = static_cast<std::int64_t>((dn / tn) * m1);
      tn = dn;
      fn[i] = std::exp(-0.5 * dn * dn);
      wn[i] = dn / m1;
    }
  }
};

const Ziggurat& zig() {
  static const Ziggurat z;
  return z;
}

// Slow path of the ziggurat (wedges and tail, ~1% of draws); extra randomness from `side`.
double zig_fix(std::int64_t j, int iz, Philox& side, const Ziggurat& z) {
  constexpr double r = 3.442619855899;
  for (;;) {
    const double x = static_cast<double>(j) * z.wn[iz];
    if (iz == 0) {
      double xt, yt;
      do {
        xt = -std::log(side.uniform_pos()) / r;
        yt = -std::log(side.uniform_pos());
      } while (yt + yt < xt * xt);
      return j > 0 ? r + xt : -r - xt;
    }
    if (z.fn[iz] + side.uniform() * (z.fn[iz - 1] - z.fn[iz]) < std::exp(-0.5 * x * x)) return x;
    const std::uint32_t u = side.next_u32();
    iz = static_cast<int>(u & 127u);
    j = static_cast<std::int64_t>(static_cast<std::int32_t>(u) >> 7);
    if ((j < 0 ? -j : j) < z.kn[iz]) return static_cast<double>(j) * z.wn[iz];
  }
}

// `count` standard normals of the stream (seed, stream, sub): output i is a function of word i
// of Philox(seed, stream, sub) (plus, on the ziggurat's slow path, of a side stream).
void fill_normal(std::uint64_t seed, std::uint64_t stream, std::uint64_t sub, float* out,
                 std::int64_t count, std::vector<std::uint32_t>& words) {
  const std::int64_t nb = (count + 3) / 4;
  if (static_cast<std::int64_t>(words.size()) < 4 * nb) words.resize(static_cast<std::size_t>(4 * nb));
  philox_words(seed, stream, sub, nb, words.data());
  const Ziggurat& z = zig();
  Philox side(seed, stream, sub ^ (1ull << 55));
  for (std::int64_t i = 0; i < count; ++i) {
    const std::uint32_t u = words[i];
    const int iz = static_cast<int>(u & 127u);
    const std::int64_t j = static_cast<std::int64_t>(static_cast<std::int32_t>(u) >> 7);
    out[i] = ((j < 0 ? -j : j) < z.kn[iz]) ? static_cast<float>(static_cast<double>(j) * z.wn[iz])
                                           : static_cast<float>(zig_fix(j, iz, side, z));
  }
}

// Noise of one step, feature-major per layer: layer l's block is (widths[l+1] x rows).
void gen_step_noise(const Arch& a, std::uint64_t seed, std::int64_t replica, std::int64_t step,
                    std::int64_t rows, float* eps, std::vector<std::uint32_t>& words) {
  fill_normal(seed, static_cast<std::uint64_t>(replica), kNoise ^ static_cast<std::uint64_t>(step),
              eps, a.n_units() * rows, words);
}

template <class T>
void mean_var(const T* theta, std::int64_t P, T* mu, T* var) {
  for (std::int64_t j = 0; j < P; ++j) {
    const T h = theta[j] * T(0.5);
    mu[j] = std::tanh(h);
    const T c = std::cosh(h);
    var[j] = T(1) / (c * c);
  }
}

template <class T>
struct Work {
  std::vector<std::vector<T>> A, A2, Z, V;  // per layer
  std::vector<T> G, Gn, GV, dA, T2;
  void reserve(const Arch& a, std::int64_t B) {
    const int L = a.n_layers();
    A.resize(L);
    A2.resize(L);
    Z.resize(L);
    V.resize(L);
    for (int l = 0; l < L; ++l) {
      A[l].resize(static_cast<std::size_t>(a.widths[l] * B));
      A2[l].resize(static_cast<std::size_t>(a.widths[l] * B));
      Z[l].resize(static_cast<std::size_t>(a.widths[l + 1] * B));
      V[l].resize(static_cast<std::size_t>(a.widths[l + 1] * B));
    }
    const std::size_t m = static_cast<std::size_t>(a.max_width() * B);
    G.resize(m);
    Gn.resize(m);
    GV.resize(m);
    dA.resize(m);
    T2.resize(m);
  }
};

// LR-net forward + backward on one batch of B samples whose inputs are already in w.A[0]
// (d0 x B). eps: feature-major per layer. Returns the mean cross-entropy; gtheta (n_weights)
// receives d(mean CE)/d(theta).
template <class T, class E>
double lr_batch(const Arch& a, const T* mu, const T* var, const std::int32_t* y, std::int64_t B,
                const E* eps, double leak, Work<T>& w, T* gtheta) {
  const int L = a.n_layers();
  const T lk = static_cast<T>(leak);
  std::vector<std::int64_t> eoff(L);
  {
    std::int64_t e = 0;
    for (int l = 0; l < L; ++l) {
      eoff[l] = e;
      e += a.widths[l + 1] * B;
    }
  }
  // ---- forward
  for (int l = 0; l < L; ++l) {
    const int in = a.widths[l], out = a.widths[l + 1];
    const std::int64_t off = a.offset(l);
    const T* A = w.A[l].data();
    T* A2 = w.A2[l].data();
    for (std::int64_t k = 0; k < in * B; ++k) A2[k] = A[k] * A[k];
    T* Z = w.Z[l].data();
    T* V = w.V[l].data();
    const E* el = eps + eoff[l];
    for (int o = 0; o < out; ++o) {
      T* m = Z + o * B;
      T* s = V + o * B;
      std::fill(m, m + B, T(0));
      std::fill(s, s + B, T(0));
      const T* mur = mu + off + static_cast<std::int64_t>(o) * in;
      const T* varr = var + off + static_cast<std::int64_t>(o) * in;
      for (int i = 0; i < in; ++i) {
        axpy(m, mur[i], A + i * B, B);
        axpy(s, varr[i], A2 + i * B, B);
      }
      const E* eo = el + o * B;
      for (std::int64_t b = 0; b < B; ++b) {
        s[b] = std::sqrt(s[b]);
        m[b] += s[b] * static_cast<T>(eo[b]);
      }
    }
    if (l + 1 < L) {
      const T scale = T(1) / std::sqrt(static_cast<T>(in));
      T* An = w.A[l + 1].data();
      for (std::int64_t k = 0; k < out * B; ++k) {
        const T z = Z[k];
        An[k] = (z > T(0) ? z : lk * z) * scale;
      }
    }
  }
  // ---- softmax cross-entropy on the logits Z[L-1] (n_out x B)
  const int C = a.n_out();
  const T* Zo = w.Z[L - 1].data();
  T* G = w.G.data();
  double loss = 0.0;
  const T invB = T(1) / static_cast<T>(B);
  for (std::int64_t b = 0; b < B; ++b) {
    T mx = Zo[b];
    for (int o = 1; o < C; ++o) mx = std::max(mx, Zo[o * B + b]);
    T se = 0;
    for (int o = 0; o < C; ++o) {
      const T ex = std::exp(Zo[o * B + b] - mx);
      G[o * B + b] = ex;
      se += ex;
    }
    const T lse = mx + std::log(se);
    loss += static_cast<double>(lse - Zo[y[b] * B + b]);
    const T inv = T(1) / se;
    for (int o = 0; o < C; ++o) G[o * B + b] *= inv;
    G[y[b] * B + b] -= T(1);
    for (int o = 0; o < C; ++o) G[o * B + b] *= invB;
  }
  loss /= static_cast<double>(B);
  // ---- backward
  for (int l = L - 1; l >= 0; --l) {
    const int in = a.widths[l], out = a.widths[l + 1];
    const std::int64_t off = a.offset(l);
    const T* A = w.A[l].data();
    const T* A2 = w.A2[l].data();
    const T* V = w.V[l].data();
    const E* el = eps + eoff[l];
    T* GV = w.GV.data();
    G = w.G.data();
    for (std::int64_t k = 0; k < out * B; ++k)
      GV[k] = V[k] > T(0) ? G[k] * static_cast<T>(el[k]) / V[k] : T(0);
    for (int o = 0; o < out; ++o) {
      const T* Go = G + o * B;
      const T* GVo = GV + o * B;
      for (int i = 0; i < in; ++i) {
        const std::int64_t j = off + static_cast<std::int64_t>(o) * in + i;
        const T g1 = dot8(Go, A + i * B, B);
        const T g2 = dot8(GVo, A2 + i * B, B);
        gtheta[j] = (g1 - mu[j] * g2) * var[j] * T(0.5);
      }
    }
    if (l > 0) {
      T* dA = w.dA.data();
      T* T2 = w.T2.data();
      std::fill(dA, dA + in * B, T(0));
      std::fill(T2, T2 + in * B, T(0));
      for (int o = 0; o < out; ++o) {
        const T* mur = mu + off + static_cast<std::int64_t>(o) * in;
        const T* varr = var + off + static_cast<std::int64_t>(o) * in;
        for (int i = 0; i < in; ++i) {
          axpy(dA + i * B, mur[i], G + o * B, B);
          axpy(T2 + i * B, varr[i], GV + o * B, B);
        }
      }
      const T scale = T(1) / std::sqrt(static_cast<T>(a.widths[l - 1]));
      const T* Zp = w.Z[l - 1].data();
      T* Gn = w.Gn.data();
      for (std::int64_t k = 0; k < in * B; ++k) {
        const T d = dA[k] + A[k] * T2[k];
        Gn[k] = d * (Zp[k] > T(0) ? T(1) : lk) * scale;
      }
      std::swap(w.G, w.Gn);
    }
  }
  return loss;
}

// Deterministic forward of real weights Wf (n_weights) on the feature-major batch in w.A[0];
// logits end up in w.Z[L-1] (n_out x B).
template <class T>
void det_forward(const Arch& a, const T* Wf, std::int64_t B, double leak, Work<T>& w) {
  const int L = a.n_layers();
  const T lk = static_cast<T>(leak);
  for (int l = 0; l < L; ++l) {
    const int in = a.widths[l], out = a.widths[l + 1];
    const std::int64_t off = a.offset(l);
    const T* A = w.A[l].data();
    T* Z = w.Z[l].data();
    for (int o = 0; o < out; ++o) {
      T* m = Z + o * B;
      std::fill(m, m + B, T(0));
      const T* wr = Wf + off + static_cast<std::int64_t>(o) * in;
      for (int i = 0; i < in; ++i) axpy(m, wr[i], A + i * B, B);
    }
    if (l + 1 < L) {
      const T scale = T(1) / std::sqrt(static_cast<T>(in));
      T* An = w.A[l + 1].data();
      for (std::int64_t k = 0; k < out * B; ++k) {
        const T z = Z[k];
        An[k] = (z > T(0) ? z : lk * z) * scale;
      }
    }
  }
}

template <class T, class S>
void gather_T(const S* X, const std::int64_t* idx, std::int64_t first, std::int64_t rows, int d,
              T* At) {
  for (std::int64_t j = 0; j < rows; ++j) {
    const std::int64_t r = idx ? idx[first + j] : first + j;
    const S* xr = X + r * d;
    for (int f = 0; f < d; ++f) At[f * rows + j] = static_cast<T>(xr[f]);
  }
}

constexpr std::int64_t kEvalTile = 256;

template <class Wt>
void evaluate_impl(const Arch& a, const Wt* W, std::int64_t K, const float* X,
                   const std::int32_t* y, std::int64_t n, double leak, double* acc_out,
                   double* loss_out, int n_threads) {
  a.validate();
  const std::int64_t P = a.n_weights();
  const int C = a.n_out();
  const int L = a.n_layers();
  parallel_for(K, n_threads, [&](std::int64_t k) {
    Work<float> w;
    w.reserve(a, std::min(kEvalTile, n));
    std::vector<float> Wf(static_cast<std::size_t>(P));
    for (std::int64_t j = 0; j < P; ++j) Wf[j] = static_cast<float>(W[k * P + j]);
    std::int64_t correct = 0;
    double loss = 0.0;
    for (std::int64_t t0 = 0; t0 < n; t0 += kEvalTile) {
      const std::int64_t B = std::min(kEvalTile, n - t0);
      gather_T(X, static_cast<const std::int64_t*>(nullptr), t0, B, a.n_in(), w.A[0].data());
      det_forward(a, Wf.data(), B, leak, w);
      const float* Zo = w.Z[L - 1].data();
      for (std::int64_t b = 0; b < B; ++b) {
        int best = 0;
        float mx = Zo[b];
        for (int o = 1; o < C; ++o)
          if (Zo[o * B + b] > mx) {
            mx = Zo[o * B + b];
            best = o;
          }
        const int yb = y[t0 + b];
        if (best == yb) ++correct;
        if (loss_out) {
          double se = 0.0;
          for (int o = 0; o < C; ++o) se += std::exp(static_cast<double>(Zo[o * B + b]) - mx);
          loss += static_cast<double>(mx) + std::log(se) - static_cast<double>(Zo[yb * B + b]);
        }
      }
    }
    if (acc_out) acc_out[k] = static_cast<double>(correct) / static_cast<double>(n);
    if (loss_out) loss_out[k] = loss / static_cast<double>(n);
  });
}

}  // namespace

void philox_bulk(std::uint64_t seed, std::uint64_t stream, std::uint64_t sub, std::int64_t n_blocks,
                 std::uint32_t* out) {
  philox_words(seed, stream, sub, n_blocks, out);
}

void TrainConfig::validate() const {
  auto bad = [](const std::string& m) { throw std::invalid_argument(m); };
  if (batch_size < 1) bad("batch_size must be >= 1");
  if (!(lr > 0) || !std::isfinite(lr)) bad("lr must be positive and finite");
  if (!(beta1 >= 0 && beta1 < 1)) bad("beta1 must be in [0, 1)");
  if (!(beta2 >= 0 && beta2 < 1)) bad("beta2 must be in [0, 1)");
  if (!(adam_eps > 0) || !std::isfinite(adam_eps)) bad("adam_eps must be positive");
  if (!(l2 >= 0) || !std::isfinite(l2)) bad("l2 must be >= 0 and finite");
  if (!std::isfinite(leak)) bad("leak must be finite");
}

void init_theta(const Arch& a, std::uint64_t seed, std::int64_t R, double init_std, float* theta,
                int n_threads) {
  a.validate();
  const std::int64_t P = a.n_weights();
  parallel_for(R, n_threads, [&](std::int64_t r) {
    Philox rng(seed, static_cast<std::uint64_t>(r), kInit);
    for (std::int64_t j = 0; j < P; ++j)
      theta[r * P + j] = static_cast<float>(init_std * rng.normal());
  });
}

void epoch_permutation(std::uint64_t seed, std::int64_t replica, std::int64_t epoch, std::int64_t n,
                       std::int64_t* perm) {
  if (n > 0xFFFFFFFFll) throw std::invalid_argument("too many training examples (> 2^32 - 1)");
  for (std::int64_t i = 0; i < n; ++i) perm[i] = i;
  Philox rng(seed, static_cast<std::uint64_t>(replica), kPerm ^ static_cast<std::uint64_t>(epoch));
  for (std::int64_t i = n - 1; i > 0; --i) {
    const std::int64_t j = rng.below(static_cast<std::uint32_t>(i + 1));
    std::swap(perm[i], perm[j]);
  }
}

void step_noise(const Arch& a, std::uint64_t seed, std::int64_t replica, std::int64_t step,
                std::int64_t rows, double* eps_out) {
  a.validate();
  const std::int64_t U = a.n_units();
  std::vector<float> buf(static_cast<std::size_t>(U * rows));
  std::vector<std::uint32_t> words;
  gen_step_noise(a, seed, replica, step, rows, buf.data(), words);
  // feature-major per layer -> (rows, U)
  std::int64_t col = 0, e = 0;
  for (int l = 0; l < a.n_layers(); ++l) {
    const int out = a.widths[l + 1];
    for (int o = 0; o < out; ++o)
      for (std::int64_t b = 0; b < rows; ++b) eps_out[b * U + col + o] = buf[e + o * rows + b];
    col += out;
    e += out * rows;
  }
}

double loss_grad_fixed_eps(const Arch& a, const double* theta, const double* X,
                           const std::int32_t* y, std::int64_t n, const double* eps, double l2,
                           double leak, double* grad) {
  a.validate();
  if (n < 1) throw std::invalid_argument("need at least one sample");
  const std::int64_t P = a.n_weights(), U = a.n_units();
  std::vector<double> mu(P), var(P), epsT(static_cast<std::size_t>(U * n));
  mean_var(theta, P, mu.data(), var.data());
  std::int64_t col = 0, e = 0;
  for (int l = 0; l < a.n_layers(); ++l) {
    const int out = a.widths[l + 1];
    for (int o = 0; o < out; ++o)
      for (std::int64_t b = 0; b < n; ++b) epsT[e + o * n + b] = eps[b * U + col + o];
    col += out;
    e += out * n;
  }
  Work<double> w;
  w.reserve(a, n);
  gather_T(X, static_cast<const std::int64_t*>(nullptr), 0, n, a.n_in(), w.A[0].data());
  double loss = lr_batch(a, mu.data(), var.data(), y, n, epsT.data(), leak, w, grad);
  double pen = 0.0;
  for (std::int64_t j = 0; j < P; ++j) {
    pen += theta[j] * theta[j];
    grad[j] += l2 * theta[j];
  }
  return loss + 0.5 * l2 * pen;
}

void adam_step(float* theta, const float* grad, float* m, float* v, std::int64_t n, std::int64_t t,
               double lr, double beta1, double beta2, double eps) {
  const float b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
  const float c1 = static_cast<float>(1.0 - beta1), c2 = static_cast<float>(1.0 - beta2);
  const float bc1 = static_cast<float>(1.0 - std::pow(beta1, static_cast<double>(t)));
  const float bc2 = static_cast<float>(1.0 - std::pow(beta2, static_cast<double>(t)));
  const float lrf = static_cast<float>(lr), ef = static_cast<float>(eps);
  for (std::int64_t j = 0; j < n; ++j) {
    const float g = grad[j];
    m[j] = b1 * m[j] + c1 * g;
    v[j] = b2 * v[j] + c2 * (g * g);
    const float mh = m[j] / bc1;
    const float vh = v[j] / bc2;
    theta[j] -= lrf * mh / (std::sqrt(vh) + ef);
  }
}

void train(const Arch& a, float* theta, float* adam_m, float* adam_v, std::int64_t R,
           const float* X, const std::int32_t* y, std::int64_t n, std::uint64_t seed,
           std::int64_t epoch_begin, std::int64_t epoch_end, const TrainConfig& cfg,
           double* loss_out, int n_threads) {
  a.validate();
  cfg.validate();
  if (n < 1) throw std::invalid_argument("need at least one training example");
  if (epoch_begin < 0 || epoch_end < epoch_begin)
    throw std::invalid_argument("need 0 <= epoch_begin <= epoch_end");
  const std::int64_t P = a.n_weights();
  const std::int64_t Bmax = std::min(cfg.batch_size, n);
  const std::int64_t n_batches = (n + Bmax - 1) / Bmax;
  const std::int64_t n_ep = epoch_end - epoch_begin;
  const int d0 = a.n_in();
  parallel_for(R, n_threads, [&](std::int64_t r) {
    Work<float> w;
    w.reserve(a, Bmax);
    std::vector<float> mu(P), var(P), grad(P), eps(static_cast<std::size_t>(a.n_units() * Bmax));
    std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
    std::vector<std::int32_t> yb(static_cast<std::size_t>(Bmax));
    std::vector<std::uint32_t> words;
    float* th = theta + r * P;
    float* m = adam_m + r * P;
    float* v = adam_v + r * P;
    for (std::int64_t ep = epoch_begin; ep < epoch_end; ++ep) {
      epoch_permutation(seed, r, ep, n, perm.data());
      double acc = 0.0;
      for (std::int64_t bi = 0; bi < n_batches; ++bi) {
        const std::int64_t step = ep * n_batches + bi;
        const std::int64_t first = bi * Bmax;
        const std::int64_t B = std::min(Bmax, n - first);
        gather_T(X, perm.data(), first, B, d0, w.A[0].data());
        for (std::int64_t j = 0; j < B; ++j) yb[j] = y[perm[first + j]];
        gen_step_noise(a, seed, r, step, B, eps.data(), words);
        mean_var(th, P, mu.data(), var.data());
        const double loss = lr_batch(a, mu.data(), var.data(), yb.data(), B, eps.data(), cfg.leak,
                                     w, grad.data());
        const float l2 = static_cast<float>(cfg.l2);
        for (std::int64_t j = 0; j < P; ++j) grad[j] += l2 * th[j];
        adam_step(th, grad.data(), m, v, P, step + 1, cfg.lr, cfg.beta1, cfg.beta2, cfg.adam_eps);
        acc += loss * static_cast<double>(B);
      }
      if (loss_out) loss_out[r * n_ep + (ep - epoch_begin)] = acc / static_cast<double>(n);
    }
  });
}

void sample_binary(const float* theta, std::int64_t R, std::int64_t n_weights, std::int64_t n_per,
                   std::uint64_t seed, std::int8_t* out, int n_threads,
                   std::int64_t first_replica) {
  if (first_replica < 0) throw std::invalid_argument("first_replica must be >= 0");
  const std::int64_t P = n_weights;
  std::vector<double> prob(static_cast<std::size_t>(R * P));
  for (std::int64_t j = 0; j < R * P; ++j)
    prob[j] = 1.0 / (1.0 + std::exp(-static_cast<double>(theta[j])));
  parallel_for(R * n_per, n_threads, [&](std::int64_t item) {
    const std::int64_t r = item / n_per, k = item % n_per;
    Philox rng(seed, static_cast<std::uint64_t>(first_replica + r),
               kSample ^ static_cast<std::uint64_t>(k));
    const double* p = prob.data() + r * P;
    std::int8_t* o = out + item * P;
    for (std::int64_t j = 0; j < P; ++j) o[j] = rng.uniform() < p[j] ? 1 : -1;
  }, 16);
}

void evaluate(const Arch& a, const std::int8_t* W, std::int64_t K, const float* X,
              const std::int32_t* y, std::int64_t n, double leak, double* acc_out,
              double* loss_out, int n_threads) {
  evaluate_impl(a, W, K, X, y, n, leak, acc_out, loss_out, n_threads);
}

void evaluate(const Arch& a, const float* W, std::int64_t K, const float* X, const std::int32_t* y,
              std::int64_t n, double leak, double* acc_out, double* loss_out, int n_threads) {
  evaluate_impl(a, W, K, X, y, n, leak, acc_out, loss_out, n_threads);
}

void forward_logits(const Arch& a, const float* W, const float* X, std::int64_t n, double leak,
                    float* logits) {
  a.validate();
  const int C = a.n_out(), L = a.n_layers();
  Work<float> w;
  w.reserve(a, std::min(kEvalTile, std::max<std::int64_t>(n, 1)));
  for (std::int64_t t0 = 0; t0 < n; t0 += kEvalTile) {
    const std::int64_t B = std::min(kEvalTile, n - t0);
    gather_T(X, static_cast<const std::int64_t*>(nullptr), t0, B, a.n_in(), w.A[0].data());
    det_forward(a, W, B, leak, w);
    const float* Zo = w.Z[L - 1].data();
    for (std::int64_t b = 0; b < B; ++b)
      for (int o = 0; o < C; ++o) logits[(t0 + b) * C + o] = Zo[o * B + b];
  }
}

}  // namespace glasslens::binarynet
