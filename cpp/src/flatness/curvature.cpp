// Curvature engine: cached forward/backward pass, Hessian-vector products by the R-operator,
// batched loss evaluation. Tile kernels live in curvature_kernels.inc (scalar + AVX2 builds).
#define GLASSLENS_CURV_NS scalar
#include "curvature_kernels.inc"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "glasslens/common/parallel.hpp"
#include "glasslens/common/simd.hpp"

namespace glasslens::curv {
namespace detail {

std::vector<std::int64_t> w_offsets(const nn::Shape& s) {
  std::vector<std::int64_t> o(s.n_layers());
  for (int l = 0; l < s.n_layers(); ++l) o[l] = s.w_offset(l);
  return o;
}

namespace {

struct Kernels {
  RRowsFn r;
  FwdTileFn fwd;
  BwdTileFn bwd;
  SparseTnFn stn;
  ColSumsFn colsum;
};

Kernels kernels() {
  if (simd_path() == SimdPath::avx2)
    return {&avx2::r_rows, &avx2::fwd_tile, &avx2::bwd_tile, &avx2::sparse_tn, &avx2::col_sums};
  return {&scalar::r_rows, &scalar::fwd_tile, &scalar::bwd_tile, &scalar::sparse_tn, &scalar::col_sums};
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

// Weight blocks summed over all n samples, written into out (flat layout, overwritten):
//   hW_l = D[l+1]^T A[l] (+ E[l+1]^T RA[l] for l > 0 when RA), hb_l = column sums of D[l+1].
// Work items are (layer, block of output columns); each sums over the samples chunk by chunk
// (kChunkRows rows, in chunk order, GEMM accumulating into the output), so every element is
// summed in the same order whatever the column split or the thread count, and the fused
// serial path below (weight products of a chunk right after its R-pass) gives the same bits.
struct WeightTask {
  int l = 0;
  std::int64_t j0 = 0, j1 = 0;
  std::vector<float> tmp;    // transposed input-layer block (features x units)
  std::vector<double> bacc;  // bias sums
};

struct WeightPlan {
  const nn::Shape& s;
  const NetView& net;
  const Cache& c;
  const float* const* D;
  const float* const* E;
  const float* const* RA;
  float* out;
  const Kernels& K;

  bool transposed0() const { return !net.sparse0 && s.widths[1] < s.widths[0]; }

  std::vector<WeightTask> tasks(int threads) const {
    std::vector<WeightTask> t;
    const int L = s.n_layers();
    for (int l = 0; l < L; ++l) {
      const std::int64_t di = s.widths[l], dout = s.widths[l + 1];
      const std::int64_t work = c.n * di * dout * ((RA && l > 0) ? 2 : 1);
      std::int64_t nb = 1;
      if (threads > 1 && work > (std::int64_t(1) << 18))
        nb = std::min<std::int64_t>((di + 15) / 16, 2 * threads);
      const std::int64_t wdt = ((di + nb - 1) / nb + 15) / 16 * 16;
      for (std::int64_t j0 = 0; j0 < di; j0 += wdt) {
        WeightTask w;
        w.l = l;
        w.j0 = j0;
        w.j1 = std::min(di, j0 + wdt);
        t.push_back(std::move(w));
      }
    }
    std::stable_sort(t.begin(), t.end(), [&](const WeightTask& a, const WeightTask& b) {
      return (a.j1 - a.j0) * s.widths[a.l + 1] > (b.j1 - b.j0) * s.widths[b.l + 1];
    });
    return t;
  }

  // rows [r0, r1) of the task's sums (r0 == 0 starts them)
  void chunk(WeightTask& t, std::int64_t r0, std::int64_t r1) const {
    const int l = t.l;
    const std::int64_t di = s.widths[l], dout = s.widths[l + 1], T = r1 - r0, w = t.j1 - t.j0;
    const bool first = (r0 == 0);
    if (l == 0 && net.sparse0) {
      // zero-skipping path: A[:, j0:j1]^T D (features x units), rows in order
      if (first) t.tmp.assign(static_cast<std::size_t>(w * dout), 0.0f);
      K.stn(T, static_cast<int>(di), static_cast<int>(dout), c.A[0] + r0 * di, D[1] + r0 * dout,
            t.j0, t.j1, t.tmp.data());
    } else if (l == 0 && transposed0()) {
      // X^T D (features x units): packs the narrower D instead of X
      if (first) t.tmp.resize(static_cast<std::size_t>(w * dout));
      gemm::gemm_tn(w, dout, T, c.A[0] + r0 * di + t.j0, di, D[1] + r0 * dout, dout,
                    t.tmp.data(), dout, !first);
    } else {
      float* hW = out + s.w_offset(l) + t.j0;
      gemm::gemm_tn(dout, w, T, D[l + 1] + r0 * dout, dout, c.A[l] + r0 * di + t.j0, di, hW, di,
                    !first);
      if (RA && l > 0)
        gemm::gemm_tn(dout, w, T, E[l + 1] + r0 * dout, dout, RA[l] + r0 * di + t.j0, di, hW,
                      di, true);
    }
    if (s.bias && t.j0 == 0) {
      if (first) t.bacc.assign(static_cast<std::size_t>(dout), 0.0);
      K.colsum(D[l + 1] + r0 * dout, T, static_cast<int>(dout), t.bacc.data());
    }
  }

  void finish(WeightTask& t) const {
    const int l = t.l;
    const std::int64_t di = s.widths[l], dout = s.widths[l + 1];
    float* hW = out + s.w_offset(l);
    if (l == 0 && (net.sparse0 || transposed0())) {
      const std::int64_t w = t.j1 - t.j0;
      for (std::int64_t k = 0; k < dout; ++k)
        for (std::int64_t j = 0; j < w; ++j) hW[k * di + t.j0 + j] = t.tmp[j * dout + k];
    }
    if (s.bias && t.j0 == 0) {
      float* hb = out + s.b_offset(l);
      for (std::int64_t k = 0; k < dout; ++k) hb[k] = static_cast<float>(t.bacc[k]);
    }
  }
};

void weight_phase(const WeightPlan& plan, int threads) {
  std::vector<WeightTask> tasks = plan.tasks(threads);
  const std::int64_t n = plan.c.n;
  parallel_for(static_cast<std::int64_t>(tasks.size()), threads, [&](std::int64_t q) {
    for (std::int64_t r0 = 0; r0 < n; r0 += kChunkRows)
      plan.chunk(tasks[q], r0, std::min(n, r0 + kChunkRows));
    plan.finish(tasks[q]);
  });
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
                                 int sparse_input, bool copy_data)
    : shape_(s), n_(n) {
  using namespace detail;
  shape_.validate();
  if (n < 1) throw std::invalid_argument("the data set must hold at least one sample");
  check_labels(y, n, shape_.n_out());
  const std::int64_t P = shape_.n_params();
  const int L = shape_.n_layers();
  const int d0 = shape_.n_in();
  theta_.assign(theta, theta + P);
  if (copy_data) {
    X_.assign(X, X + n * d0);
    X = X_.data();
  }
  y_.assign(y, y + n);
  const std::int64_t nx = n * d0;
  if (sparse_input < 0) {
    std::int64_t nz = 0;
    for (std::int64_t q = 0; q < nx; ++q) nz += (X[q] != 0.0f);
    net_.sparse0 = static_cast<double>(nz) < kSparseDensity * static_cast<double>(nx);
  } else {
    net_.sparse0 = sparse_input > 0;
  }
  const bool sp = net_.sparse0;
  if (sp) {  // transposed layer-0 weights for the zero-skipping path
    thetaT_.resize(P);
    transpose_blocks(shape_, theta_.data(), thetaT_.data(), true, 1);
  }
  net_ = [&] {
    NetView v = make_view(shape_, theta_.data(), sp ? thetaT_.data() : theta_.data());
    v.sparse0 = sp;
    return v;
  }();

  // one uninitialised block for A[1..L-1], G[1..L] and P (every entry is written below)
  std::int64_t total = 0;
  for (int l = 1; l < L; ++l) total += n * shape_.widths[l];
  for (int l = 1; l <= L; ++l) total += n * shape_.widths[l];
  total += 2 * n * shape_.n_out();
  store_.reset(new float[static_cast<std::size_t>(total)]);
  float* q = store_.get();
  cache_.X = X;
  cache_.y = y_.data();
  cache_.n = n;
  cache_.A.assign(L, nullptr);
  cache_.A[0] = X;
  std::vector<float*> Aout(L, nullptr), Gout(L + 1, nullptr);
  for (int l = 1; l < L; ++l) {
    Aout[l] = q;
    cache_.A[l] = q;
    q += n * shape_.widths[l];
  }
  cache_.G.assign(L + 1, nullptr);
  for (int l = 1; l <= L; ++l) {
    Gout[l] = q;
    cache_.G[l] = q;
    q += n * shape_.widths[l];
  }
  float* Pp = q;
  cache_.P = Pp;
  float* PTp = q + n * shape_.n_out();
  cache_.PT = PTp;

  // forward and backward in one pass over fixed chunks (loss partials summed in chunk order)
  const Kernels K = kernels();
  const std::int64_t nt = (n + kChunkRows - 1) / kChunkRows;
  const int threads = (n * P < kSerialWork) ? 1 : n_threads;
  std::vector<double> tl(nt);
  std::vector<std::int64_t> tc(nt);
  parallel_for(nt, threads, [&](std::int64_t t) {
    const std::int64_t r0 = t * kChunkRows, r1 = std::min(n, r0 + kChunkRows);
    Scratch& sc = tls_scratch();
    tl[t] = K.fwd(net_, X, y_.data(), r0, r1, Aout.data(), Pp, &tc[t], sc);
    K.bwd(net_, cache_, r0, r1, Gout.data(), sc);
    const int C = shape_.n_out();
    for (int k = 0; k < C; ++k)
      for (std::int64_t i = r0; i < r1; ++i) PTp[k * n + i] = Pp[i * C + k];
  });
  double ls = 0.0;
  std::int64_t nc = 0;
  for (std::int64_t t = 0; t < nt; ++t) {
    ls += tl[t];
    nc += tc[t];
  }
  loss_ = ls / static_cast<double>(n);
  accuracy_ = static_cast<double>(nc) / static_cast<double>(n);
}

const std::vector<float>& HessianOperator::grad(int n_threads) const {
  using namespace detail;
  std::lock_guard<std::mutex> lock(grad_mu_);
  if (have_grad_) return grad_;
  const std::int64_t P = shape_.n_params();
  const Kernels K = kernels();
  const int threads = (n_ * P < kSerialWork) ? 1 : n_threads;
  grad_.resize(P);
  const WeightPlan plan{shape_, net_, cache_, cache_.G.data(), nullptr, nullptr,
                        grad_.data(), K};
  weight_phase(plan, threads);
  have_grad_ = true;
  return grad_;
}

void HessianOperator::apply(const float* V, std::int64_t k, float* out, int n_threads) const {
  using namespace detail;
  const std::int64_t P = shape_.n_params();
  const int L = shape_.n_layers();
  const Kernels K = kernels();
  // Tiny problems run serially (thread wake-ups would cost more than the work); the result does
  // not depend on the thread count either way.
  const int threads = (n_ * P < kSerialWork) ? 1 : resolve_threads(n_threads);
  // workspace per vector: RA[1..L-1] and RG[1..L]
  std::int64_t per_vec = 0;
  for (int l = 1; l < L; ++l) per_vec += n_ * shape_.widths[l];
  for (int l = 1; l <= L; ++l) per_vec += n_ * shape_.widths[l];
  const std::int64_t budget = std::int64_t(1) << 24;  // floats (64 MiB) of workspace at once
  const std::int64_t group =
      std::max<std::int64_t>(1, std::min<std::int64_t>(k, budget / std::max<std::int64_t>(per_vec, 1)));
  std::unique_lock<std::mutex> lk(ws_mu_, std::try_to_lock);
  std::vector<float> local;
  std::vector<float>& ws = lk.owns_lock() ? ws_ : local;
  if (ws.size() < static_cast<std::size_t>(group * per_vec))
    ws.resize(static_cast<std::size_t>(group * per_vec));
  const bool sp = net_.sparse0;
  std::vector<float> vT(static_cast<std::size_t>(sp ? group * P : 0));
  std::vector<NetView> views(group);
  std::vector<std::vector<float*>> RA(group, std::vector<float*>(L, nullptr)),
      RG(group, std::vector<float*>(L + 1, nullptr));
  for (std::int64_t i = 0; i < group; ++i) {
    float* q = ws.data() + i * per_vec;
    for (int l = 1; l < L; ++l) {
      RA[i][l] = q;
      q += n_ * shape_.widths[l];
    }
    for (int l = 1; l <= L; ++l) {
      RG[i][l] = q;
      q += n_ * shape_.widths[l];
    }
  }
  const std::int64_t ch = kChunkRows;
  const std::int64_t nch = (n_ + ch - 1) / ch;
  for (std::int64_t k0 = 0; k0 < k; k0 += group) {
    const std::int64_t g = std::min(group, k - k0);
    for (std::int64_t i = 0; i < g; ++i) {
      const float* v = V + (k0 + i) * P;
      if (sp) transpose_blocks(shape_, v, vT.data() + i * P, true, 1);
      views[i] = make_view(shape_, v, sp ? vT.data() + i * P : v);
      views[i].sparse0 = sp;
    }
    if (threads == 1) {
      // serial: the weight products of each chunk right after its R-pass (data still in
      // cache); same summation order as the parallel path, so the same bits
      for (std::int64_t i = 0; i < g; ++i) {
        const WeightPlan plan{shape_, net_, cache_, RG[i].data(), cache_.G.data(),
                              RA[i].data(), out + (k0 + i) * P, K};
        std::vector<WeightTask> tasks = plan.tasks(1);
        Scratch& sc = tls_scratch();
        for (std::int64_t r0 = 0; r0 < n_; r0 += ch) {
          const std::int64_t r1 = std::min(n_, r0 + ch);
          K.r(net_, views[i], cache_, r0, r1, RA[i].data(), RG[i].data(), sc);
          for (auto& t : tasks) plan.chunk(t, r0, r1);
        }
        for (auto& t : tasks) plan.finish(t);
      }
      continue;
    }
    // phase 1: row-local R-forward / R-backward, parallel over (vector, row chunk)
    parallel_for(g * nch, threads, [&](std::int64_t q) {
      const std::int64_t i = q / nch, t = q % nch;
      const std::int64_t r0 = t * ch, r1 = std::min(n_, r0 + ch);
      K.r(net_, views[i], cache_, r0, r1, RA[i].data(), RG[i].data(), tls_scratch());
    });
    // phase 2: weight blocks summed over all samples
    for (std::int64_t i = 0; i < g; ++i) {
      const WeightPlan plan{shape_, net_, cache_, RG[i].data(), cache_.G.data(),
                            RA[i].data(), out + (k0 + i) * P, K};
      weight_phase(plan, threads);
    }
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
