// All-pairs weight matching: packed Gram GEMM per pair + exact LAP (see lap_pairs.hpp).
#include "glasslens/symmetry/lap_pairs.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "glasslens/symmetry/lap.hpp"
#include "glasslens/common/parallel.hpp"
#include "glasslens/common/simd.hpp"
#include "common/portable_vec.hpp"

namespace glasslens {
namespace lap_pairs_detail {

namespace {
// GR rows of C against one packed panel with 4-float vectors (SSE2 / NEON, GCC/Clang vector
// extensions), each element summed sequentially along kc: the same order as one row at a time.
using portable::load4;
using portable::store4;
using portable::v4f;
template <int GR>
inline void gram_rows(const float* A, std::int64_t lda, const float* bp, std::int64_t kc,
                      float* C, std::int64_t ldc, bool overwrite) {
  constexpr int NV = static_cast<int>(NR) / 4;
  v4f acc[GR][NV];
  for (int r = 0; r < GR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = v4f{};
  for (std::int64_t p = 0; p < kc; ++p) {
    v4f b[NV];
    for (int v = 0; v < NV; ++v) b[v] = load4(bp + p * NR + 4 * v);
    for (int r = 0; r < GR; ++r) {
      const float av = A[r * lda + p];
      for (int v = 0; v < NV; ++v) acc[r][v] += av * b[v];
    }
  }
  for (int r = 0; r < GR; ++r) {
    float* c = C + r * ldc;
    for (int v = 0; v < NV; ++v) {
      store4(c + 4 * v, overwrite ? acc[r][v] : load4(c + 4 * v) + acc[r][v]);
    }
  }
}
}  // namespace

void gram_scalar(std::int64_t m, std::int64_t npan, std::int64_t kc, const float* A,
                 std::int64_t lda, const float* Bp, float* C, std::int64_t ldc, bool overwrite) {
  constexpr int GR = 3;  // 3 rows x 16 columns: 12 accumulators + 4 panel vectors = 16 registers
  for (std::int64_t q = 0; q < npan; ++q) {
    const float* bp = Bp + q * kc * NR;
    std::int64_t i = 0;
    for (; i + GR <= m; i += GR)
      gram_rows<GR>(A + i * lda, lda, bp, kc, C + i * ldc + q * NR, ldc, overwrite);
    for (; i < m; ++i) gram_rows<1>(A + i * lda, lda, bp, kc, C + i * ldc + q * NR, ldc, overwrite);
  }
}

}  // namespace lap_pairs_detail

namespace {
using i64 = std::int64_t;
using namespace lap_pairs_detail;

GramFn pick_gram() {
#ifdef GLASSLENS_LAP_PAIRS_HAVE_AVX2
  if (simd_path() == SimdPath::avx2) return &gram_avx2;
#endif
  return &gram_scalar;
}

constexpr i64 kBlockB = 32;   // replicas b per task (U_a is packed once per task)
constexpr i64 kMaxKc = 320;   // k-block: a packed panel (kc x 16 floats) stays in L1

// Packs U_a (H x D) transposed into k-blocks of 16-column panels, zero padded to Hp columns:
// k-block starting at p0 (length kc) at out + p0 Hp, panel q at + q kc 16, (p, j) at p 16 + j.
void pack_rows(const float* Ua, i64 H, i64 D, i64 Hp, i64 kcb, float* out) {
  for (i64 p0 = 0; p0 < D; p0 += kcb) {
    const i64 kc = std::min(kcb, D - p0);
    float* blk = out + p0 * Hp;
    for (i64 q = 0; q < Hp / NR; ++q) {
      float* panel = blk + q * kc * NR;
      for (i64 j = 0; j < NR; ++j) {
        const i64 unit = q * NR + j;
        if (unit < H) {
          const float* src = Ua + unit * D + p0;
          for (i64 p = 0; p < kc; ++p) panel[p * NR + j] = src[p];
        } else {
          for (i64 p = 0; p < kc; ++p) panel[p * NR + j] = 0.0f;
        }
      }
    }
  }
}
}  // namespace

void lap_all_pairs(const float* U, i64 M, i64 H, i64 D, i64* perms, double* totals,
                   float* costs, int n_threads, bool warm_start) {
  if (M < 0 || H < 0 || D < 0) throw std::invalid_argument("dimensions must be >= 0");
  for (i64 t = 0; t < M * M; ++t) totals[t] = 0.0;
  for (i64 a = 0; a < M; ++a)
    for (i64 j = 0; j < H; ++j) perms[(a * M + a) * H + j] = j;
  // diagonal: squared norms of the replicas' features (4 interleaved partial sums, fixed order)
  parallel_for(M, n_threads, [&](i64 a) {
    const float* u = U + a * H * D;
    const i64 n = H * D;
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    i64 t = 0;
    for (; t + 4 <= n; t += 4)
      for (int l = 0; l < 4; ++l) s[l] += static_cast<double>(u[t + l]) * u[t + l];
    for (; t < n; ++t) s[0] += static_cast<double>(u[t]) * u[t];
    totals[a * M + a] = (s[0] + s[1]) + (s[2] + s[3]);
  });
  if (M < 2 || H == 0) return;
  const GramFn gram = pick_gram();
  const i64 npan = (H + NR - 1) / NR, Hp = npan * NR;
  const i64 nkb = std::max<i64>(1, (D + kMaxKc - 1) / kMaxKc);
  const i64 kcb = std::max<i64>(1, (D + nkb - 1) / nkb);
  struct Task {
    i64 a, b0, b1;
  };
  std::vector<Task> tasks;
  for (i64 a = 0; a + 1 < M; ++a)
    for (i64 s = a + 1; s < M; s += kBlockB) tasks.push_back({a, s, std::min(M, s + kBlockB)});

  parallel_for(static_cast<i64>(tasks.size()), n_threads, [&](i64 t) {
    static thread_local std::vector<float> pack, cbuf;
    static thread_local std::vector<double> wbuf;
    static thread_local std::vector<float> wfbuf;
    static thread_local std::vector<i64> rows, cols;
    static thread_local std::vector<double> vsum, vinit, vout;
    const i64 a = tasks[t].a;
    if (static_cast<i64>(pack.size()) < Hp * D) pack.resize(static_cast<size_t>(Hp * D));
    if (static_cast<i64>(cbuf.size()) < H * Hp) cbuf.resize(static_cast<size_t>(H * Hp));
    if (static_cast<i64>(wbuf.size()) < H * H) wbuf.resize(static_cast<size_t>(H * H));
    if (static_cast<i64>(wfbuf.size()) < H * H) wfbuf.resize(static_cast<size_t>(H * H));
    rows.resize(static_cast<size_t>(H));
    cols.resize(static_cast<size_t>(H));
    pack_rows(U + a * H * D, H, D, Hp, kcb, pack.data());
    float* C = cbuf.data();
    // minimisation of -C (exact: float -> double, negation); the costs are finite (a finite
    // float GEMM of finite features; non-finite features are rejected by the caller), and -C in
    // float32 (also exact) drives the heuristic start of the solver
    double* W = wbuf.data();
    float* Wf = wfbuf.data();
    LapOptions opt;
    opt.cost_f32 = Wf;
    // Warm start: the columns of every C_ab of this task are the units of a, and a column dual
    // v_j mostly reflects that unit (its norm, how strongly it matches anything), so the mean
    // column duals of the pairs solved before in this task start the next one (the column
    // reduction is skipped). The optimum does not depend on the start; the task's pairs are
    // fixed (not the thread's), so the results stay bit-identical for any thread count.
    if (warm_start) {
      vsum.assign(static_cast<size_t>(H), 0.0);
      vinit.resize(static_cast<size_t>(H));
      vout.resize(static_cast<size_t>(H));
    }
    i64 n_solved = 0;
    for (i64 b = tasks[t].b0; b < tasks[t].b1; ++b) {
      const float* Ub = U + b * H * D;
      if (D == 0) std::fill(C, C + H * Hp, 0.0f);
      for (i64 p0 = 0; p0 < D; p0 += kcb)
        gram(H, npan, std::min(kcb, D - p0), Ub + p0, D, pack.data() + p0 * Hp, C, Hp, p0 == 0);
      if (Hp != H)
        for (i64 i = 1; i < H; ++i) std::memmove(C + i * H, C + i * Hp, sizeof(float) * H);
      bool finite = true;
      for (i64 t = 0; t < H * H; ++t) {
        const float x = -C[t];
        Wf[t] = x;
        W[t] = static_cast<double>(x);
        finite &= (x - x) == 0.0f;  // false for inf and NaN
      }
      opt.assume_finite = finite;  // otherwise lap_solve validates (and reports) as before
      const bool warm = warm_start && finite && n_solved > 0;
      if (warm) {
        const double inv = 1.0 / static_cast<double>(n_solved);
        for (i64 j = 0; j < H; ++j) vinit[j] = vsum[j] * inv;
      }
      opt.v_init = warm ? vinit.data() : nullptr;
      // rows of C: units of b, columns: units of a; the total of -C, negated, is exactly the
      // sum of the chosen float entries in double, rows in order
      const double tot = -lap_solve(W, H, H, opt, rows.data(), cols.data(), nullptr,
                                    warm_start && finite ? vout.data() : nullptr);
      if (warm_start && finite) {
        for (i64 j = 0; j < H; ++j) vsum[j] += vout[j];
        ++n_solved;
      }
      i64* pab = perms + (a * M + b) * H;
      i64* pba = perms + (b * M + a) * H;
      for (i64 i = 0; i < H; ++i) {
        pab[cols[i]] = i;
        pba[i] = cols[i];
      }
      totals[a * M + b] = totals[b * M + a] = tot;
      if (costs) {
        const i64 idx = a * M - a * (a + 1) / 2 + (b - a - 1);
        std::memcpy(costs + idx * H * H, C, sizeof(float) * H * H);
      }
    }
  });
}

}  // namespace glasslens
