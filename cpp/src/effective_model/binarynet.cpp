// Binary-synapse networks trained by local reparameterisation. See binarynet.hpp.
//
// Internally every batch is stored feature-major: an activation matrix of a layer with `w` units
// over a batch of B samples is (w x B) row-major, so the inner loops run over the batch
// (contiguous; register-blocked kernels in binarynet_gemm.inl, AVX2 copy in binarynet_avx2.cpp).
#include "glasslens/effective_model/binarynet.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>

#include "glasslens/common/parallel.hpp"
#include "glasslens/common/rng.hpp"
#include "glasslens/common/simd.hpp"

namespace glasslens::binarynet {

namespace k_base {
#define GLB_VW 4
#include "binarynet_gemm.inl"
#undef GLB_VW

// Plain reference loops for double precision (finite-difference checks), same contract.
template <class T>
void gemm_nn(int M, int K, long N, const T* A, long sam, long sak, const T* B, T* C) {
  for (int m = 0; m < M; ++m) {
    T* c = C + m * N;
    for (long n = 0; n < N; ++n) c[n] = T(0);
    for (int k = 0; k < K; ++k) {
      const T a = A[m * sam + k * sak];
      const T* b = B + k * N;
      for (long n = 0; n < N; ++n) c[n] += a * b[n];
    }
  }
}
template <class T>
void gemm_nt(int M, int K, long N, const T* A, const T* B, T* C) {
  for (int m = 0; m < M; ++m)
    for (int k = 0; k < K; ++k) {
      T v = 0;
      for (long n = 0; n < N; ++n) v += A[m * N + n] * B[k * N + n];
      C[m * K + k] = v;
    }
}
template <class T>
void leaky_fwd(long n, const T* Z, T leak, T scale, T* An) {
  for (long k = 0; k < n; ++k) An[k] = (Z[k] > T(0) ? Z[k] : leak * Z[k]) * scale;
}
template <class T>
void leaky_bwd(long n, const T* dA, const T* A, const T* T2, const T* Zp, T leak, T scale, T* Gn) {
  for (long k = 0; k < n; ++k) Gn[k] = (dA[k] + A[k] * T2[k]) * (Zp[k] > T(0) ? T(1) : leak) * scale;
}
template <class T>
void gv(long n, const T* G, const T* E, const T* V, T* GV) {
  for (long k = 0; k < n; ++k) GV[k] = V[k] > T(0) ? G[k] * E[k] / V[k] : T(0);
}
template <>
void leaky_fwd<float>(long n, const float* Z, float leak, float scale, float* An) {
  leaky_fwd_v(n, Z, leak, scale, An);
}
template <>
void leaky_bwd<float>(long n, const float* dA, const float* A, const float* T2, const float* Zp,
                      float leak, float scale, float* Gn) {
  leaky_bwd_v(n, dA, A, T2, Zp, leak, scale, Gn);
}
template <>
void gv<float>(long n, const float* G, const float* E, const float* V, float* GV) {
  gv_v(n, G, E, V, GV);
}
template <>
void gemm_nn<float>(int M, int K, long N, const float* A, long sam, long sak, const float* B,
                    float* C) {
  gemm_nn_v(M, K, N, A, sam, sak, B, C);
}
template <>
void gemm_nt<float>(int M, int K, long N, const float* A, const float* B, float* C) {
  gemm_nt_v(M, K, N, A, B, C);
}
}  // namespace k_base

namespace k_avx2 {
void gemm_nn_f(int M, int K, long N, const float* A, long sam, long sak, const float* B,
               float* C);
void gemm_nt_f(int M, int K, long N, const float* A, const float* B, float* C);
void leaky_fwd_f(long n, const float* Z, float leak, float scale, float* An);
void leaky_bwd_f(long n, const float* dA, const float* A, const float* T2, const float* Zp,
                 float leak, float scale, float* Gn);
void gv_f(long n, const float* G, const float* E, const float* V, float* GV);
void philox_words_f(std::uint64_t seed, std::uint64_t stream, std::uint64_t sub, std::int64_t nb,
                    std::uint32_t* out);
void gather_rows_f(const float* XT, long n, int d, const std::int64_t* idx, long first, long rows,
                   float* At);
}  // namespace k_avx2

namespace {

// Philox sub-stream kinds: stream = replica, sub = (kind << 56) ^ counter.
constexpr std::uint64_t kInit = 1ull << 56;
constexpr std::uint64_t kPerm = 2ull << 56;
constexpr std::uint64_t kNoise = 3ull << 56;
constexpr std::uint64_t kSample = 4ull << 56;

// ---- fast standard normals: block-parallel Philox words + ziggurat ------------------------------

// The dense kernels of one SIMD path.
template <class T>
struct Kernels {
  void (*nn)(int, int, long, const T*, long, long, const T*, T*) = &k_base::gemm_nn<T>;
  void (*nt)(int, int, long, const T*, const T*, T*) = &k_base::gemm_nt<T>;
  void (*leaky_fwd)(long, const T*, T, T, T*) = &k_base::leaky_fwd<T>;
  void (*leaky_bwd)(long, const T*, const T*, const T*, const T*, T, T, T*) =
      &k_base::leaky_bwd<T>;
  void (*gv)(long, const T*, const T*, const T*, T*) = &k_base::gv<T>;
  void (*philox)(std::uint64_t, std::uint64_t, std::uint64_t, std::int64_t, std::uint32_t*) =
      &k_base::philox_words_v;
  void (*gather)(const float*, long, int, const std::int64_t*, long, long, float*) =
      &k_base::gather_rows_v;
};

template <class T>
Kernels<T> kernels() {
  return Kernels<T>{};
}
template <>
Kernels<float> kernels<float>() {
  Kernels<float> k;
  if (simd_path() == SimdPath::avx2) {
    k.nn = &k_avx2::gemm_nn_f;
    k.nt = &k_avx2::gemm_nt_f;
    k.leaky_fwd = &k_avx2::leaky_fwd_f;
    k.leaky_bwd = &k_avx2::leaky_bwd_f;
    k.gv = &k_avx2::gv_f;
    k.philox = &k_avx2::philox_words_f;
    k.gather = &k_avx2::gather_rows_f;
  }
  return k;
}

// Ziggurat tables (Marsaglia & Tsang 2000, 128 layers). A 32-bit word gives the layer (low 7
// bits) and a signed 25-bit abscissa (high bits), so layer and value use disjoint bits.
struct Ziggurat {
  std::int64_t kn[128];
  double wn[128], fn[128];
  std::int32_t kn32[128];  // float copies for the vector fast path
  float wnf[128];
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
    for (int i = 0; i < 128; ++i) {
      kn32[i] = static_cast<std::int32_t>(kn[i]);
      wnf[i] = static_cast<float>(wn[i]);
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
// of Philox(seed, stream, sub) (plus, on the ziggurat's slow path, of a side stream consumed in
// index order). Fast path (~99%): out = j * wn[iz] in float.
struct NoiseScratch {
  std::vector<std::uint32_t> words;
};

void fill_normal(const Kernels<float>& k, std::uint64_t seed, std::uint64_t stream,
                 std::uint64_t sub, float* out, std::int64_t count, NoiseScratch& sc) {
  const std::int64_t nb = (count + 3) / 4;
  if (static_cast<std::int64_t>(sc.words.size()) < 4 * nb) sc.words.resize(static_cast<std::size_t>(4 * nb));
  k.philox(seed, stream, sub, nb, sc.words.data());
  const Ziggurat& z = zig();
  Philox side(seed, stream, sub ^ (1ull << 55));
  const std::uint32_t* wd = sc.words.data();
  for (std::int64_t i = 0; i < count; ++i) {
    const std::uint32_t u = wd[i];
    const int iz = static_cast<int>(u & 127u);
    const std::int32_t j = static_cast<std::int32_t>(u) >> 7;
    if ((j < 0 ? -j : j) < z.kn32[iz])
      out[i] = static_cast<float>(j) * z.wnf[iz];
    else
      out[i] = static_cast<float>(zig_fix(j, iz, side, z));
  }
}

// Noise of one step, feature-major per layer: layer l's block is (widths[l+1] x rows).
void gen_step_noise(const Kernels<float>& k, const Arch& a, std::uint64_t seed,
                    std::int64_t replica, std::int64_t step, std::int64_t rows, float* eps,
                    NoiseScratch& sc) {
  fill_normal(k, seed, static_cast<std::uint64_t>(replica),
              kNoise ^ static_cast<std::uint64_t>(step), eps, a.n_units() * rows, sc);
}

// mu = tanh(theta / 2) and var = 1 - mu^2 = 1 / cosh^2(theta / 2) from one exponential:
// with e = exp(-|theta|), |mu| = (1 - e) / (1 + e) and var = 4 e / (1 + e)^2 (no cancellation).
template <class T>
void mean_var(const T* theta, std::int64_t P, T* mu, T* var) {
  for (std::int64_t j = 0; j < P; ++j) {
    const T t = theta[j];
    const T e = std::exp(-std::fabs(t));
    const T inv = T(1) / (T(1) + e);
    const T m = (T(1) - e) * inv;
    mu[j] = t < T(0) ? -m : m;
    var[j] = T(4) * e * inv * inv;
  }
}

template <class T>
struct Work {
  Kernels<T> k = kernels<T>();
  std::vector<T> g1, g2;  // (out x in) gradient pieces
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
    g1.resize(static_cast<std::size_t>(a.max_width()) * static_cast<std::size_t>(a.max_width()));
    g2.resize(g1.size());
  }
};

// LR-net forward + backward on one batch of B samples whose inputs are already in w.A[0]
// (d0 x B). eps: feature-major per layer. Returns the mean cross-entropy; gtheta (n_weights)
// receives d(mean CE)/d(theta).
template <class T>
double lr_batch(const Arch& a, const T* mu, const T* var, const std::int32_t* y, std::int64_t B,
                const T* eps, double leak, Work<T>& w, T* gtheta) {
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
    const T* el = eps + eoff[l];
    w.k.nn(out, in, B, mu + off, in, 1, A, Z);
    w.k.nn(out, in, B, var + off, in, 1, A2, V);
    for (std::int64_t k = 0; k < out * B; ++k) {
      V[k] = std::sqrt(V[k]);
      Z[k] += V[k] * el[k];
    }
    if (l + 1 < L) {
      const T scale = T(1) / std::sqrt(static_cast<T>(in));
      w.k.leaky_fwd(out * B, Z, lk, scale, w.A[l + 1].data());
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
    const T* el = eps + eoff[l];
    T* GV = w.GV.data();
    G = w.G.data();
    w.k.gv(out * B, G, el, V, GV);
    T* g1 = w.g1.data();
    T* g2 = w.g2.data();
    w.k.nt(out, in, B, G, A, g1);
    w.k.nt(out, in, B, GV, A2, g2);
    for (std::int64_t q = 0; q < static_cast<std::int64_t>(out) * in; ++q) {
      const std::int64_t j = off + q;
      gtheta[j] = (g1[q] - mu[j] * g2[q]) * var[j] * T(0.5);
    }
    if (l > 0) {
      T* dA = w.dA.data();
      T* T2 = w.T2.data();
      // dA (in x B) = mu^T G, T2 = var^T GV
      w.k.nn(in, out, B, mu + off, 1, in, G, dA);
      w.k.nn(in, out, B, var + off, 1, in, GV, T2);
      const T scale = T(1) / std::sqrt(static_cast<T>(a.widths[l - 1]));
      w.k.leaky_bwd(in * B, dA, A, T2, w.Z[l - 1].data(), lk, scale, w.Gn.data());
      std::swap(w.G, w.Gn);
    }
  }
  return loss;
}

// Deterministic forward of real weights Wf on a feature-major input batch (d0 x B): `input`, or
// w.A[0] when null.
template <class T>
void det_forward(const Arch& a, const T* Wf, std::int64_t B, double leak, Work<T>& w,
                 const T* input = nullptr) {
  const int L = a.n_layers();
  const T lk = static_cast<T>(leak);
  for (int l = 0; l < L; ++l) {
    const int in = a.widths[l], out = a.widths[l + 1];
    const std::int64_t off = a.offset(l);
    const T* A = (l == 0 && input) ? input : w.A[l].data();
    T* Z = w.Z[l].data();
    w.k.nn(out, in, B, Wf + off, in, 1, A, Z);
    if (l + 1 < L) {
      const T scale = T(1) / std::sqrt(static_cast<T>(in));
      w.k.leaky_fwd(out * B, Z, lk, scale, w.A[l + 1].data());
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
  // X cut into tiles of kEvalTile rows, each stored feature-major (d0 x rows), once for all
  // configurations: tile starting at row t0 is at XT + t0 * d0.
  const int d0 = a.n_in();
  std::vector<float> XT(static_cast<std::size_t>(n) * static_cast<std::size_t>(d0));
  for (std::int64_t t0 = 0; t0 < n; t0 += kEvalTile) {
    const std::int64_t B = std::min(kEvalTile, n - t0);
    gather_T(X, static_cast<const std::int64_t*>(nullptr), t0, B, d0, XT.data() + t0 * d0);
  }
  parallel_for(K, n_threads, [&](std::int64_t k) {
    Work<float> w;
    w.reserve(a, std::min(kEvalTile, n));
    std::vector<float> Wf(static_cast<std::size_t>(P));
    for (std::int64_t j = 0; j < P; ++j) Wf[j] = static_cast<float>(W[k * P + j]);
    std::int64_t correct = 0;
    double loss = 0.0;
    for (std::int64_t t0 = 0; t0 < n; t0 += kEvalTile) {
      const std::int64_t B = std::min(kEvalTile, n - t0);
      det_forward(a, Wf.data(), B, leak, w, XT.data() + t0 * d0);
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
  kernels<float>().philox(seed, stream, sub, n_blocks, out);
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
  NoiseScratch sc;
  gen_step_noise(kernels<float>(), a, seed, replica, step, rows, buf.data(), sc);
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
  std::vector<float> XT(static_cast<std::size_t>(n) * static_cast<std::size_t>(d0));
  for (std::int64_t i = 0; i < n; ++i)
    for (int f = 0; f < d0; ++f) XT[f * n + i] = X[i * d0 + f];
  parallel_for(R, n_threads, [&](std::int64_t r) {
    Work<float> w;
    w.reserve(a, Bmax);
    std::vector<float> mu(P), var(P), grad(P), eps(static_cast<std::size_t>(a.n_units() * Bmax));
    std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
    std::vector<std::int32_t> yb(static_cast<std::size_t>(Bmax));
    NoiseScratch sc;
    float* th = theta + r * P;
    float* m = adam_m + r * P;
    float* v = adam_v + r * P;
    for (std::int64_t ep = epoch_begin; ep < epoch_end; ++ep) {
      epoch_permutation(seed, r, ep, n, perm.data());
      double acc = 0.0;
      for (std::int64_t bi = 0; bi < n_batches; ++bi) {
        check_interrupt();
        const std::int64_t step = ep * n_batches + bi;
        const std::int64_t first = bi * Bmax;
        const std::int64_t B = std::min(Bmax, n - first);
        w.k.gather(XT.data(), n, d0, perm.data(), first, B, w.A[0].data());
        for (std::int64_t j = 0; j < B; ++j) yb[j] = y[perm[first + j]];
        gen_step_noise(w.k, a, seed, r, step, B, eps.data(), sc);
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
