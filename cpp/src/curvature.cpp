// Curvature engine: cached forward/backward pass, Hessian-vector products by the R-operator,
// batched loss evaluation. Tile kernels live in curvature_kernels.inc (scalar + AVX2 builds).
#define GLASSLENS_CURV_NS scalar
#include "curvature_kernels.inc"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "glasslens/parallel.hpp"
#include "glasslens/simd.hpp"

namespace glasslens::curv {
namespace detail {

std::vector<std::int64_t> w_offsets(const nn::Shape& s) {
  std::vector<std::int64_t> o(s.n_layers());
  for (int l = 0; l < s.n_layers(); ++l) o[l] = s.w_offset(l);
  return o;
}

namespace {

struct Kernels {
  RTileFn r;
  FwdTileFn fwd;
  BwdTileFn bwd;
  GradTileFn grad;
};

Kernels kernels() {
  if (simd_path() == SimdPath::avx2)
    return {&avx2::r_tile, &avx2::fwd_tile, &avx2::bwd_tile, &avx2::grad_tile};
  return {&scalar::r_tile, &scalar::fwd_tile, &scalar::bwd_tile, &scalar::grad_tile};
}

// theta with the weight blocks of layers [0, n_tr) transposed (d_l x d_{l+1}), the rest and
// the biases copied.
void transpose_blocks(const nn::Shape& s, const float* src, float* dst, bool to_transposed,
                      int n_tr = 1 << 30) {
  for (int l = 0; l < s.n_layers(); ++l) {
    if (l >= n_tr) {
      const std::int64_t sz = static_cast<std::int64_t>(s.widths[l + 1]) * s.widths[l] +
                              (s.bias ? s.widths[l + 1] : 0);
      std::copy(src + s.w_offset(l), src + s.w_offset(l) + sz, dst + s.w_offset(l));
      continue;
    }
    const int di = s.widths[l], dout = s.widths[l + 1];
    const float* a = src + s.w_offset(l);
    float* b = dst + s.w_offset(l);
    if (to_transposed) {
      for (int k = 0; k < dout; ++k)
        for (int j = 0; j < di; ++j)
          b[static_cast<std::int64_t>(j) * dout + k] = a[static_cast<std::int64_t>(k) * di + j];
    } else {
      for (int k = 0; k < dout; ++k)
        for (int j = 0; j < di; ++j)
          b[static_cast<std::int64_t>(k) * di + j] = a[static_cast<std::int64_t>(j) * dout + k];
    }
    if (s.bias) std::copy(src + s.b_offset(l), src + s.b_offset(l) + dout, dst + s.b_offset(l));
  }
}

NetView make_view(const nn::Shape& s, const float* theta, const float* thetaT) {
  NetView v;
  v.w = s.widths;
  v.bias = s.bias;
  v.L = s.n_layers();
  for (int l = 0; l < v.L; ++l) {
    v.W.push_back(theta + s.w_offset(l));
    v.WT.push_back(thetaT + s.w_offset(l));
    v.b.push_back(s.bias ? theta + s.b_offset(l) : nullptr);
  }
  return v;
}

Scratch& tls_scratch() {
  thread_local Scratch s;
  return s;
}

// Sum over tiles of per-tile partial vectors (length P) in tile order, in double. fn(t, buf)
// writes tile t's partial into buf. Tiles are computed in parallel in groups bounded in memory;
// every parameter is summed in the same order whatever the thread count.
template <class F>
void reduce_tiles(std::int64_t n_tiles, std::int64_t P, int n_threads, F&& fn, double* acc) {
  std::fill(acc, acc + P, 0.0);
  const std::int64_t budget = std::int64_t(1) << 24;  // floats (64 MiB) of partials at once
  const std::int64_t group = std::max<std::int64_t>(1, std::min(n_tiles, budget / std::max<std::int64_t>(P, 1)));
  std::vector<float> buf(static_cast<std::size_t>(group * P));
  for (std::int64_t t0 = 0; t0 < n_tiles; t0 += group) {
    const std::int64_t g = std::min(group, n_tiles - t0);
    parallel_for(g, n_threads, [&](std::int64_t i) { fn(t0 + i, buf.data() + i * P); });
    const std::int64_t chunk = 4096;
    const std::int64_t n_chunks = (P + chunk - 1) / chunk;
    parallel_for(n_chunks, n_threads, [&](std::int64_t c) {
      const std::int64_t p0 = c * chunk, p1 = std::min(P, p0 + chunk);
      for (std::int64_t i = 0; i < g; ++i) {
        const float* b = buf.data() + i * P;
        for (std::int64_t p = p0; p < p1; ++p) acc[p] += static_cast<double>(b[p]);
      }
    });
  }
}

void check_labels(const std::int32_t* y, std::int64_t n, int C) {
  for (std::int64_t i = 0; i < n; ++i)
    if (y[i] < 0 || y[i] >= C)
      throw std::invalid_argument("label y[" + std::to_string(i) + "] = " + std::to_string(y[i]) +
                                  " is out of range for " + std::to_string(C) + " classes");
}

}  // namespace
}  // namespace detail

HessianOperator::HessianOperator(const nn::Shape& s, const float* theta, const float* X,
                                 const std::int32_t* y, std::int64_t n, int n_threads,
                                 int sparse_input)
    : shape_(s), n_(n) {
  using namespace detail;
  shape_.validate();
  if (n < 1) throw std::invalid_argument("the data set must hold at least one sample");
  check_labels(y, n, shape_.n_out());
  const std::int64_t P = shape_.n_params();
  const int L = shape_.n_layers();
  theta_.assign(theta, theta + P);
  thetaT_.resize(P);
  transpose_blocks(shape_, theta_.data(), thetaT_.data(), true);
  X_.assign(X, X + n * shape_.n_in());
  y_.assign(y, y + n);
  net_ = make_view(shape_, theta_.data(), thetaT_.data());
  if (sparse_input < 0) {
    std::int64_t nz = 0;
    for (float v : X_) nz += (v != 0.0f);
    net_.sparse0 = static_cast<double>(nz) < kSparseDensity * static_cast<double>(X_.size());
  } else {
    net_.sparse0 = sparse_input > 0;
  }
  A_.assign(L, {});
  G_.assign(L + 1, {});
  for (int l = 1; l < L; ++l) A_[l].resize(static_cast<std::size_t>(n) * shape_.widths[l]);
  for (int l = 1; l <= L; ++l) G_[l].resize(static_cast<std::size_t>(n) * shape_.widths[l]);
  P_.resize(static_cast<std::size_t>(n) * shape_.n_out());

  cache_.X = X_.data();
  cache_.y = y_.data();
  cache_.n = n;
  cache_.A.assign(L, nullptr);
  cache_.A[0] = X_.data();
  for (int l = 1; l < L; ++l) cache_.A[l] = A_[l].data();
  cache_.G.assign(L + 1, nullptr);
  for (int l = 1; l <= L; ++l) cache_.G[l] = G_[l].data();
  cache_.P = P_.data();

  const Kernels K = kernels();
  const std::int64_t nt = (n + kTileRows - 1) / kTileRows;
  std::vector<float*> Aout(L, nullptr), Gout(L + 1, nullptr);
  for (int l = 1; l < L; ++l) Aout[l] = A_[l].data();
  for (int l = 1; l <= L; ++l) Gout[l] = G_[l].data();
  std::vector<double> tl(nt);
  std::vector<std::int64_t> tc(nt);
  parallel_for(nt, n_threads, [&](std::int64_t t) {
    const std::int64_t r0 = t * kTileRows, r1 = std::min(n, r0 + kTileRows);
    tl[t] = K.fwd(net_, X_.data(), y_.data(), r0, r1, Aout.data(), P_.data(), &tc[t],
                  tls_scratch());
  });
  double ls = 0.0;
  std::int64_t nc = 0;
  for (std::int64_t t = 0; t < nt; ++t) {
    ls += tl[t];
    nc += tc[t];
  }
  loss_ = ls / static_cast<double>(n);
  accuracy_ = static_cast<double>(nc) / static_cast<double>(n);

  parallel_for(nt, n_threads, [&](std::int64_t t) {
    const std::int64_t r0 = t * kTileRows, r1 = std::min(n, r0 + kTileRows);
    K.bwd(net_, cache_, r0, r1, Gout.data(), tls_scratch());
  });
}

const std::vector<float>& HessianOperator::grad(int n_threads) const {
  using namespace detail;
  std::lock_guard<std::mutex> lock(grad_mu_);
  if (have_grad_) return grad_;
  const std::int64_t P = shape_.n_params();
  const Kernels K = kernels();
  const std::int64_t nt = (n_ + kTileRows - 1) / kTileRows;
  std::vector<double> acc(P);
  reduce_tiles(
      nt, P, n_threads,
      [&](std::int64_t t, float* buf) {
        const std::int64_t r0 = t * kTileRows, r1 = std::min(n_, r0 + kTileRows);
        K.grad(net_, cache_, r0, r1, buf, tls_scratch());
      },
      acc.data());
  std::vector<float> tmp(acc.begin(), acc.end());
  grad_.resize(P);
  transpose_blocks(shape_, tmp.data(), grad_.data(), false, net_.sparse0 ? 1 : 0);
  have_grad_ = true;
  return grad_;
}

void HessianOperator::apply(const float* V, std::int64_t k, float* out, int n_threads) const {
  using namespace detail;
  const std::int64_t P = shape_.n_params();
  const Kernels K = kernels();
  const std::int64_t nt = (n_ + kTileRows - 1) / kTileRows;
  // Tiny problems run serially (thread wake-ups would cost more than the work); the result does
  // not depend on the thread count either way.
  const int threads = (n_ * P < kSerialWork) ? 1 : n_threads;
  // Vectors are processed in groups: one parallel region computes every (vector, tile) partial
  // of the group, a second sums each vector's tiles in tile order (double) and writes it out.
  const std::int64_t budget = std::int64_t(1) << 24;  // floats of partials at once (64 MiB)
  const std::int64_t per_vec = nt * P;
  const std::int64_t group = std::max<std::int64_t>(1, std::min<std::int64_t>(k, budget / std::max<std::int64_t>(per_vec, 1)));
  std::vector<float> buf(static_cast<std::size_t>(group * per_vec));
  std::vector<float> vT(static_cast<std::size_t>(net_.sparse0 ? group * P : 0));
  std::vector<NetView> views(group);
  for (std::int64_t k0 = 0; k0 < k; k0 += group) {
    const std::int64_t g = std::min(group, k - k0);
    for (std::int64_t i = 0; i < g; ++i) {
      const float* v = V + (k0 + i) * P;
      if (net_.sparse0) transpose_blocks(shape_, v, vT.data() + i * P, true, 1);
      views[i] = make_view(shape_, v, net_.sparse0 ? vT.data() + i * P : v);
      views[i].sparse0 = net_.sparse0;
    }
    parallel_for(g * nt, threads, [&](std::int64_t q) {
      const std::int64_t i = q / nt, t = q % nt;
      const std::int64_t r0 = t * kTileRows, r1 = std::min(n_, r0 + kTileRows);
      K.r(net_, views[i], cache_, r0, r1, buf.data() + q * P, tls_scratch());
    });
    const std::int64_t chunk = 4096;
    const std::int64_t n_chunks = (P + chunk - 1) / chunk;
    parallel_for(g * n_chunks, threads, [&](std::int64_t q) {
      const std::int64_t i = q / n_chunks, c = q % n_chunks;
      const std::int64_t p0 = c * chunk, p1 = std::min(P, p0 + chunk);
      std::vector<double> acc(static_cast<std::size_t>(p1 - p0), 0.0);
      for (std::int64_t t = 0; t < nt; ++t) {
        const float* b = buf.data() + (i * nt + t) * P;
        for (std::int64_t p = p0; p < p1; ++p) acc[p - p0] += static_cast<double>(b[p]);
      }
      // store the sum (float) back into tile 0's slot; transposed to the flat layout below
      float* dst = buf.data() + (i * nt) * P;
      for (std::int64_t p = p0; p < p1; ++p) dst[p] = static_cast<float>(acc[p - p0]);
    });
    for (std::int64_t i = 0; i < g; ++i)
      transpose_blocks(shape_, buf.data() + (i * nt) * P, out + (k0 + i) * P, false,
                       net_.sparse0 ? 1 : 0);
  }
}

void loss_many(const nn::Shape& s, const float* thetas, std::int64_t K, const float* X,
               const std::int32_t* y, std::int64_t n, double* loss, double* acc, int n_threads) {
  using namespace detail;
  s.validate();
  if (n < 1) throw std::invalid_argument("the data set must hold at least one sample");
  check_labels(y, n, s.n_out());
  const std::int64_t P = s.n_params();
  const Kernels Kn = kernels();
  const std::int64_t nt = (n + kTileRows - 1) / kTileRows;
  std::int64_t nz = 0;
  for (std::int64_t q = 0; q < n * s.n_in(); ++q) nz += (X[q] != 0.0f);
  const bool sparse0 = static_cast<double>(nz) < kSparseDensity * static_cast<double>(n * s.n_in());
  const std::int64_t batch = std::max<std::int64_t>(1, std::min<std::int64_t>(K, (std::int64_t(1) << 23) / std::max<std::int64_t>(P, 1)));
  std::vector<float> T(static_cast<std::size_t>(batch * P));
  std::vector<double> tl(static_cast<std::size_t>(batch * nt));
  std::vector<std::int64_t> tc(static_cast<std::size_t>(batch * nt));
  for (std::int64_t k0 = 0; k0 < K; k0 += batch) {
    const std::int64_t b = std::min(batch, K - k0);
    parallel_for(b, n_threads, [&](std::int64_t i) {
      if (sparse0) transpose_blocks(s, thetas + (k0 + i) * P, T.data() + i * P, true, 1);
    });
    std::vector<NetView> views(b);
    for (std::int64_t i = 0; i < b; ++i) {
      views[i] = make_view(s, thetas + (k0 + i) * P, T.data() + i * P);
      views[i].sparse0 = sparse0;
    }
    parallel_for(b * nt, n_threads, [&](std::int64_t q) {
      const std::int64_t i = q / nt, t = q % nt;
      const std::int64_t r0 = t * kTileRows, r1 = std::min(n, r0 + kTileRows);
      tl[q] = Kn.fwd(views[i], X, y, r0, r1, nullptr, nullptr, &tc[q], tls_scratch());
    });
    for (std::int64_t i = 0; i < b; ++i) {
      double ls = 0.0;
      std::int64_t nc = 0;
      for (std::int64_t t = 0; t < nt; ++t) {
        ls += tl[i * nt + t];
        nc += tc[i * nt + t];
      }
      loss[k0 + i] = ls / static_cast<double>(n);
      acc[k0 + i] = static_cast<double>(nc) / static_cast<double>(n);
    }
  }
}

}  // namespace glasslens::curv
