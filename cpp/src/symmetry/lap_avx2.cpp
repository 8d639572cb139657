// AVX2 kernels of the linear assignment solver (compiled with -mavx2 -mfma; chosen at run time).
// They return bit-identical results to the scalar kernels in lap.cpp: same arithmetic (no FMA
// contraction: sub then add), same lowest-index tie rule; the columns after the last full vector
// block run the very loops of the scalar kernels (lap_kernels.inc).
#include "glasslens/symmetry/lap.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

namespace glasslens {
namespace lap_detail {

namespace {
#include "lap_kernels.inc"
}  // namespace

namespace {
// Lane types of the kernels: packed doubles (4 lanes) and packed floats (8 lanes; indices are
// held as exact floats, n < 2^24), with the operations of the shared lexicographic searches.
// The element-wise operations, for the intrinsic suffix SFX (pd / ps) of lane type V:
#define GLASSLENS_LAP_LANE_OPS(SFX)                                          \
  static V set1(T x) { return _mm256_set1_##SFX(x); }                        \
  static V load(const T* p) { return _mm256_loadu_##SFX(p); }                \
  static V add(V a, V b) { return _mm256_add_##SFX(a, b); }                  \
  static V sub(V a, V b) { return _mm256_sub_##SFX(a, b); }                  \
  static V lt(V a, V b) { return _mm256_cmp_##SFX(a, b, _CMP_LT_OQ); }       \
  static V eq(V a, V b) { return _mm256_cmp_##SFX(a, b, _CMP_EQ_OQ); }       \
  static V or_(V a, V b) { return _mm256_or_##SFX(a, b); }                   \
  static V and_(V a, V b) { return _mm256_and_##SFX(a, b); }                 \
  static V blend(V a, V b, V m) { return _mm256_blendv_##SFX(a, b, m); }

struct PD {
  using T = double;
  using V = __m256d;
  static constexpr int W = 4;
  GLASSLENS_LAP_LANE_OPS(pd)
  static V iota() { return _mm256_setr_pd(0.0, 1.0, 2.0, 3.0); }
  static T first(V a) { return _mm256_cvtsd_f64(a); }
  // f(swap) for the lane swaps of an all-lanes reduction, widest first
  template <class F>
  static void each_swap(F f) {
    f([](V x) { return _mm256_permute2f128_pd(x, x, 1); });
    f([](V x) { return _mm256_permute_pd(x, 0x5); });
  }
};

struct PS {
  using T = float;
  using V = __m256;
  static constexpr int W = 8;
  GLASSLENS_LAP_LANE_OPS(ps)
  static V iota() { return _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7); }
  static T first(V a) { return _mm256_cvtss_f32(a); }
  template <class F>
  static void each_swap(F f) {
    f([](V x) { return _mm256_permute2f128_ps(x, x, 1); });
    f([](V x) { return _mm256_permute_ps(x, 0x4E); });
    f([](V x) { return _mm256_permute_ps(x, 0xB1); });
  }
};
#undef GLASSLENS_LAP_LANE_OPS

// Lexicographic (value, index) order; absent entries are (inf, -1) and never beat present ones
// (present values are finite).
template <class S>
inline typename S::V lexlt(typename S::V x, typename S::V ix, typename S::V y, typename S::V iy) {
  return S::or_(S::lt(x, y), S::and_(S::eq(x, y), S::lt(ix, iy)));
}

// Lane-wise lexicographic minimum of (v, i) and (w, j).
inline void min_merge(__m256d& v, __m256d& i, __m256d w, __m256d j) {
  const __m256d m = lexlt<PD>(w, j, v, i);
  v = _mm256_blendv_pd(v, w, m);
  i = _mm256_blendv_pd(i, j, m);
}

// Lexicographic minimum over two accumulator sets and all lanes -> (*best, *jbest).
inline void reduce_min(__m256d v, __m256d i, __m256d w, __m256d j, double* best,
                       std::int64_t* jbest) {
  min_merge(v, i, w, j);
  PD::each_swap([&](auto sw) { min_merge(v, i, sw(v), sw(i)); });
  *best = _mm256_cvtsd_f64(v);
  *jbest = static_cast<std::int64_t>(_mm256_cvtsd_f64(i));
}

// Lane-wise insertion of (h, idx) into the sorted top-2 list (a, ia) <= (b, ib); indices only
// grow, so strict < keeps the lowest index on ties.
template <class S, class V = typename S::V>
inline void top2_insert(V h, V idx, V& a, V& b, V& ia, V& ib) {
  const V lt1 = S::lt(h, a);
  const V lt2 = S::lt(h, b);
  b = S::blend(S::blend(b, h, lt2), a, lt1);
  ib = S::blend(S::blend(ib, idx, lt2), ia, lt1);
  a = S::blend(a, h, lt1);
  ia = S::blend(ia, idx, lt1);
}

// Lane-wise merge of two sorted top-2 lists (a <= b lexicographically).
template <class S, class V = typename S::V>
inline void top2_merge(V& a, V& ia, V& b, V& ib, V a2, V ia2, V b2, V ib2) {
  const V m = lexlt<S>(a2, ia2, a, ia);  // the second list holds the minimum
  const V A = S::blend(a, a2, m), IA = S::blend(ia, ia2, m);
  const V L = S::blend(a2, a, m), IL = S::blend(ia2, ia, m);
  const V W = S::blend(b, b2, m), IW = S::blend(ib, ib2, m);
  const V m2 = lexlt<S>(W, IW, L, IL);
  a = A;
  ia = IA;
  b = S::blend(L, W, m2);
  ib = S::blend(IL, IW, m2);
}

// Two smallest of crow[j] - v[j] (see TwoMinFn; m1 / m2 may be null): two accumulator sets of
// per-lane top-2 lists, merged lexicographically over sets and lanes, then the scalar tail.
template <class S, class T = typename S::T>
void two_min_lanes(const typename S::T* crow, const typename S::T* v, std::int64_t n,
                   typename S::T* m1, std::int64_t* j1, typename S::T* m2, std::int64_t* j2) {
  using V = typename S::V;
  constexpr int W = S::W;
  const V step = S::set1(2 * W);
  V a0 = S::set1(inf_of<T>()), b0 = a0, a1 = a0, b1 = a0;
  V ia0 = S::set1(-1), ib0 = ia0, ia1 = ia0, ib1 = ia0;
  V idx0 = S::iota(), idx1 = S::add(idx0, S::set1(W));
  std::int64_t j = 0;
  for (; j + 2 * W <= n; j += 2 * W) {
    top2_insert<S>(S::sub(S::load(crow + j), S::load(v + j)), idx0, a0, b0, ia0, ib0);
    top2_insert<S>(S::sub(S::load(crow + j + W), S::load(v + j + W)), idx1, a1, b1, ia1, ib1);
    idx0 = S::add(idx0, step);
    idx1 = S::add(idx1, step);
  }
  if (j + W <= n) {
    top2_insert<S>(S::sub(S::load(crow + j), S::load(v + j)), idx0, a0, b0, ia0, ib0);
    j += W;
  }
  top2_merge<S>(a0, ia0, b0, ib0, a1, ia1, b1, ib1);
  S::each_swap([&](auto sw) { top2_merge<S>(a0, ia0, b0, ib0, sw(a0), sw(ia0), sw(b0), sw(ib0)); });
  two_min_from<T>(crow, v, j, n, S::first(a0), static_cast<std::int64_t>(S::first(ia0)),
                  S::first(b0), static_cast<std::int64_t>(S::first(ib0)), m1, j1, m2, j2);
}

struct LaneState {
  __m256d best, bidx, bestf, bfidx;
};

template <bool TrackFree>
inline void step_block(const double* crow, const double* v, __m256d vbase, double* d,
                       std::int64_t* pred, const std::uint64_t* freecol, std::int64_t j,
                       __m256d idx, __m256d rowv, __m256d vinf, LaneState& s) {
  const __m256d c = _mm256_loadu_pd(crow + j);
  const __m256d vv = _mm256_loadu_pd(v + j);
  __m256d dd = _mm256_loadu_pd(d + j);
  const __m256d h = _mm256_add_pd(_mm256_sub_pd(c, vv), vbase);
  const __m256d lt = _mm256_cmp_pd(h, dd, _CMP_LT_OQ);  // false on NaN (finished columns)
  // branch-free update (always stored): which lanes improve is unpredictable, and a
  // mispredicted branch costs more than the two stores
  dd = _mm256_blendv_pd(dd, h, lt);
  _mm256_storeu_pd(d + j, dd);
  __m256i* pp = reinterpret_cast<__m256i*>(pred + j);
  const __m256d p = _mm256_castsi256_pd(_mm256_loadu_si256(pp));
  _mm256_storeu_si256(pp, _mm256_castpd_si256(_mm256_blendv_pd(p, rowv, lt)));
  const __m256d m = _mm256_cmp_pd(dd, s.best, _CMP_LT_OQ);
  s.best = _mm256_blendv_pd(s.best, dd, m);
  s.bidx = _mm256_blendv_pd(s.bidx, idx, m);
  if (TrackFree) {
    const __m256d f =
        _mm256_castsi256_pd(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(freecol + j)));
    const __m256d candf = _mm256_blendv_pd(vinf, dd, f);
    const __m256d mf = _mm256_cmp_pd(candf, s.bestf, _CMP_LT_OQ);
    s.bestf = _mm256_blendv_pd(s.bestf, candf, mf);
    s.bfidx = _mm256_blendv_pd(s.bfidx, idx, mf);
  }
}

template <bool TrackFree>
StepResult step_impl(const double* crow, const double* v, double base, double* d,
                     std::int64_t* pred, const std::uint64_t* freecol, std::int64_t n,
                     std::int64_t row) {
  const __m256d vinf = _mm256_set1_pd(kInf);
  const __m256d vbase = _mm256_set1_pd(base);
  const __m256d eight = _mm256_set1_pd(8.0);
  const __m256d four = _mm256_set1_pd(4.0);
  const __m256d rowv = _mm256_castsi256_pd(_mm256_set1_epi64x(row));
  const __m256d none = _mm256_set1_pd(-1.0);
  LaneState s0{vinf, none, vinf, none}, s1{vinf, none, vinf, none};
  __m256d idx0 = _mm256_setr_pd(0.0, 1.0, 2.0, 3.0);
  __m256d idx1 = _mm256_add_pd(idx0, four);
  std::int64_t j = 0;
  // two independent accumulator sets hide the compare/blend latency chain
  for (; j + 8 <= n; j += 8) {
    step_block<TrackFree>(crow, v, vbase, d, pred, freecol, j, idx0, rowv, vinf, s0);
    step_block<TrackFree>(crow, v, vbase, d, pred, freecol, j + 4, idx1, rowv, vinf, s1);
    idx0 = _mm256_add_pd(idx0, eight);
    idx1 = _mm256_add_pd(idx1, eight);
  }
  if (j + 4 <= n) {
    step_block<TrackFree>(crow, v, vbase, d, pred, freecol, j, idx0, rowv, vinf, s0);
    j += 4;
  }
  StepResult r{kInf, -1, kInf, -1};
  reduce_min(s0.best, s0.bidx, s1.best, s1.bidx, &r.best, &r.jbest);
  if (TrackFree) reduce_min(s0.bestf, s0.bfidx, s1.bestf, s1.bfidx, &r.bestf, &r.jfree);
  step_from(crow, v, base, d, pred, TrackFree ? freecol : nullptr, j, n, row, r);
  return r;
}
}  // namespace

StepResult step_avx2(const double* crow, const double* v, double base, double* d,
                     std::int64_t* pred, const std::uint64_t* freecol, std::int64_t n,
                     std::int64_t row) {
  if (freecol) return step_impl<true>(crow, v, base, d, pred, freecol, n, row);
  return step_impl<false>(crow, v, base, d, pred, freecol, n, row);
}

int scan_avx2(const double* c, std::int64_t n, double sign) {
  const __m256d vs = _mm256_set1_pd(sign);
  const __m256d pinf = _mm256_set1_pd(kInf), ninf = _mm256_set1_pd(-kInf);
  __m256d is_inf = _mm256_setzero_pd(), bad = _mm256_setzero_pd();
  std::int64_t t = 0;
  for (; t + 4 <= n; t += 4) {
    const __m256d x = _mm256_mul_pd(_mm256_loadu_pd(c + t), vs);
    is_inf = _mm256_or_pd(is_inf, _mm256_cmp_pd(x, pinf, _CMP_EQ_OQ));
    bad = _mm256_or_pd(bad, _mm256_cmp_pd(x, ninf, _CMP_NGT_UQ));  // NaN or -inf
  }
  const int flags = (_mm256_movemask_pd(is_inf) ? 1 : 0) | (_mm256_movemask_pd(bad) ? 2 : 0);
  return scan_from(c, t, n, sign, flags);
}

void two_min_avx2(const double* crow, const double* v, std::int64_t n, double* m1,
                  std::int64_t* j1, double* m2, std::int64_t* j2) {
  two_min_lanes<PD>(crow, v, n, m1, j1, m2, j2);
}

void col_min_avx2(const double* c, std::int64_t nr, std::int64_t nc, double* v,
                  std::int64_t* arg) {
  col_min_init(v, arg, nc);
  for (std::int64_t i = 0; i < nr; ++i) {
    const double* row = c + i * nc;
    const __m256d rowv = _mm256_castsi256_pd(_mm256_set1_epi64x(i));
    std::int64_t j = 0;
    for (; j + 4 <= nc; j += 4) {
      const __m256d x = _mm256_loadu_pd(row + j);
      const __m256d vv = _mm256_loadu_pd(v + j);
      const __m256d lt = _mm256_cmp_pd(x, vv, _CMP_LT_OQ);
      _mm256_storeu_pd(v + j, _mm256_blendv_pd(vv, x, lt));  // branch-free (see step_block)
      __m256i* pa = reinterpret_cast<__m256i*>(arg + j);
      const __m256d p = _mm256_castsi256_pd(_mm256_loadu_si256(pa));
      _mm256_storeu_si256(pa, _mm256_castpd_si256(_mm256_blendv_pd(p, rowv, lt)));
    }
    col_min_row_from(row, v, arg, j, nc, i);
  }
}

double row_min_avx2(const double* crow, const double* v, std::int64_t n) {
  __m256d m0 = _mm256_set1_pd(kInf), m1 = m0;
  std::int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    m0 = _mm256_min_pd(_mm256_sub_pd(_mm256_loadu_pd(crow + j), _mm256_loadu_pd(v + j)), m0);
    m1 = _mm256_min_pd(_mm256_sub_pd(_mm256_loadu_pd(crow + j + 4), _mm256_loadu_pd(v + j + 4)),
                       m1);
  }
  if (j + 4 <= n) {
    m0 = _mm256_min_pd(_mm256_sub_pd(_mm256_loadu_pd(crow + j), _mm256_loadu_pd(v + j)), m0);
    j += 4;
  }
  m0 = _mm256_min_pd(m0, m1);
  PD::each_swap([&](auto sw) { m0 = _mm256_min_pd(m0, sw(m0)); });
  return row_min_from(crow, v, j, n, _mm256_cvtsd_f64(m0));
}

void two_min_f32_avx2(const float* crow, const float* v, std::int64_t n, std::int64_t* j1,
                      std::int64_t* j2) {
  two_min_lanes<PS>(crow, v, n, nullptr, j1, nullptr, j2);
}

void col_min_f32_avx2(const float* c, std::int64_t nr, std::int64_t nc, float* v,
                      std::int64_t* arg) {
  // lanes: row index of the current minimum as int32 (nr < 2^24), widened at the end
  std::int32_t iarg[1024];
  for (std::int64_t j0 = 0; j0 < nc; j0 += 1024) {
    const std::int64_t w = nc - j0 < 1024 ? nc - j0 : 1024;
    col_min_init(v + j0, iarg, w);
    for (std::int64_t i = 0; i < nr; ++i) {
      const float* row = c + i * nc + j0;
      float* vv0 = v + j0;
      const __m256 rowv = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(i)));
      std::int64_t j = 0;
      for (; j + 8 <= w; j += 8) {
        const __m256 x = _mm256_loadu_ps(row + j);
        const __m256 vv = _mm256_loadu_ps(vv0 + j);
        const __m256 lt = _mm256_cmp_ps(x, vv, _CMP_LT_OQ);
        _mm256_storeu_ps(vv0 + j, _mm256_blendv_ps(vv, x, lt));
        float* pa = reinterpret_cast<float*>(iarg + j);
        _mm256_storeu_ps(pa, _mm256_blendv_ps(_mm256_loadu_ps(pa), rowv, lt));
      }
      col_min_row_from(row, vv0, iarg, j, w, static_cast<std::int32_t>(i));
    }
    for (std::int64_t j = 0; j < w; ++j) arg[j0 + j] = iarg[j];
  }
}

}  // namespace lap_detail
}  // namespace glasslens
#endif
