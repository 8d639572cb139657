// AVX2 kernels of the linear assignment solver (compiled with -mavx2 -mfma; chosen at run time).
// They return bit-identical results to the scalar kernels in lap.cpp: same arithmetic (no FMA
// contraction: sub then add), same lowest-index tie rule.
#include "glasslens/lap.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

namespace glasslens {
namespace lap_detail {

namespace {
#include "lap_kernels.inc"
}  // namespace

namespace {
// Lexicographic (value, index) order; absent entries are (inf, -1) and never beat present ones
// (present values are finite).
inline __m256d lexlt(__m256d x, __m256d ix, __m256d y, __m256d iy) {
  return _mm256_or_pd(_mm256_cmp_pd(x, y, _CMP_LT_OQ),
                      _mm256_and_pd(_mm256_cmp_pd(x, y, _CMP_EQ_OQ),
                                    _mm256_cmp_pd(ix, iy, _CMP_LT_OQ)));
}
inline __m256d swap_halves(__m256d x) { return _mm256_permute2f128_pd(x, x, 1); }
inline __m256d swap_pairs(__m256d x) { return _mm256_permute_pd(x, 0x5); }

// Lane-wise lexicographic minimum of (v, i) and (w, j).
inline void min_merge(__m256d& v, __m256d& i, __m256d w, __m256d j) {
  const __m256d m = lexlt(w, j, v, i);
  v = _mm256_blendv_pd(v, w, m);
  i = _mm256_blendv_pd(i, j, m);
}

// Lexicographic minimum over two accumulator sets and all lanes -> (*best, *jbest).
inline void reduce_min(__m256d v, __m256d i, __m256d w, __m256d j, double* best,
                       std::int64_t* jbest) {
  min_merge(v, i, w, j);
  min_merge(v, i, swap_halves(v), swap_halves(i));
  min_merge(v, i, swap_pairs(v), swap_pairs(i));
  *best = _mm256_cvtsd_f64(v);
  *jbest = static_cast<std::int64_t>(_mm256_cvtsd_f64(i));
}

// Lane-wise merge of two sorted top-2 lists (a <= b lexicographically).
inline void top2_merge(__m256d& a, __m256d& ia, __m256d& b, __m256d& ib, __m256d a2,
                       __m256d ia2, __m256d b2, __m256d ib2) {
  const __m256d m = lexlt(a2, ia2, a, ia);  // the second list holds the minimum
  const __m256d A = _mm256_blendv_pd(a, a2, m), IA = _mm256_blendv_pd(ia, ia2, m);
  const __m256d L = _mm256_blendv_pd(a2, a, m), IL = _mm256_blendv_pd(ia2, ia, m);
  const __m256d W = _mm256_blendv_pd(b, b2, m), IW = _mm256_blendv_pd(ib, ib2, m);
  const __m256d m2 = lexlt(W, IW, L, IL);
  a = A;
  ia = IA;
  b = _mm256_blendv_pd(L, W, m2);
  ib = _mm256_blendv_pd(IL, IW, m2);
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
  const __m256d eight = _mm256_set1_pd(8.0);
  __m256d a0 = _mm256_set1_pd(kInf), b0 = a0, a1 = a0, b1 = a0;
  __m256d ia0 = _mm256_set1_pd(-1.0), ib0 = ia0, ia1 = ia0, ib1 = ia0;
  __m256d idx0 = _mm256_setr_pd(0.0, 1.0, 2.0, 3.0);
  __m256d idx1 = _mm256_setr_pd(4.0, 5.0, 6.0, 7.0);
  auto upd = [](__m256d h, __m256d idx, __m256d& a, __m256d& b, __m256d& ia, __m256d& ib) {
    const __m256d lt1 = _mm256_cmp_pd(h, a, _CMP_LT_OQ);
    const __m256d lt2 = _mm256_cmp_pd(h, b, _CMP_LT_OQ);
    b = _mm256_blendv_pd(_mm256_blendv_pd(b, h, lt2), a, lt1);
    ib = _mm256_blendv_pd(_mm256_blendv_pd(ib, idx, lt2), ia, lt1);
    a = _mm256_blendv_pd(a, h, lt1);
    ia = _mm256_blendv_pd(ia, idx, lt1);
  };
  std::int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    upd(_mm256_sub_pd(_mm256_loadu_pd(crow + j), _mm256_loadu_pd(v + j)), idx0, a0, b0, ia0, ib0);
    upd(_mm256_sub_pd(_mm256_loadu_pd(crow + j + 4), _mm256_loadu_pd(v + j + 4)), idx1, a1, b1,
        ia1, ib1);
    idx0 = _mm256_add_pd(idx0, eight);
    idx1 = _mm256_add_pd(idx1, eight);
  }
  if (j + 4 <= n) {
    upd(_mm256_sub_pd(_mm256_loadu_pd(crow + j), _mm256_loadu_pd(v + j)), idx0, a0, b0, ia0, ib0);
    j += 4;
  }
  // merge the per-lane top-2 lists (lexicographic in (value, index)), then the tail
  top2_merge(a0, ia0, b0, ib0, a1, ia1, b1, ib1);
  top2_merge(a0, ia0, b0, ib0, swap_halves(a0), swap_halves(ia0), swap_halves(b0),
             swap_halves(ib0));
  top2_merge(a0, ia0, b0, ib0, swap_pairs(a0), swap_pairs(ia0), swap_pairs(b0),
             swap_pairs(ib0));
  two_min_from(crow, v, j, n, _mm256_cvtsd_f64(a0),
               static_cast<std::int64_t>(_mm256_cvtsd_f64(ia0)), _mm256_cvtsd_f64(b0),
               static_cast<std::int64_t>(_mm256_cvtsd_f64(ib0)), m1, j1, m2, j2);
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
  m0 = _mm256_min_pd(m0, swap_halves(m0));
  m0 = _mm256_min_pd(m0, swap_pairs(m0));
  return row_min_from(crow, v, j, n, _mm256_cvtsd_f64(m0));
}

namespace {
// float32 counterparts: 8 lanes, indices held as exact floats (n < 2^24).
inline __m256 lexlt_ps(__m256 x, __m256 ix, __m256 y, __m256 iy) {
  return _mm256_or_ps(_mm256_cmp_ps(x, y, _CMP_LT_OQ),
                      _mm256_and_ps(_mm256_cmp_ps(x, y, _CMP_EQ_OQ),
                                    _mm256_cmp_ps(ix, iy, _CMP_LT_OQ)));
}
inline void top2_merge_ps(__m256& a, __m256& ia, __m256& b, __m256& ib, __m256 a2, __m256 ia2,
                          __m256 b2, __m256 ib2) {
  const __m256 m = lexlt_ps(a2, ia2, a, ia);
  const __m256 A = _mm256_blendv_ps(a, a2, m), IA = _mm256_blendv_ps(ia, ia2, m);
  const __m256 L = _mm256_blendv_ps(a2, a, m), IL = _mm256_blendv_ps(ia2, ia, m);
  const __m256 W = _mm256_blendv_ps(b, b2, m), IW = _mm256_blendv_ps(ib, ib2, m);
  const __m256 m2 = lexlt_ps(W, IW, L, IL);
  a = A;
  ia = IA;
  b = _mm256_blendv_ps(L, W, m2);
  ib = _mm256_blendv_ps(IL, IW, m2);
}
inline void upd_ps(__m256 h, __m256 idx, __m256& a, __m256& b, __m256& ia, __m256& ib) {
  const __m256 lt1 = _mm256_cmp_ps(h, a, _CMP_LT_OQ);
  const __m256 lt2 = _mm256_cmp_ps(h, b, _CMP_LT_OQ);
  b = _mm256_blendv_ps(_mm256_blendv_ps(b, h, lt2), a, lt1);
  ib = _mm256_blendv_ps(_mm256_blendv_ps(ib, idx, lt2), ia, lt1);
  a = _mm256_blendv_ps(a, h, lt1);
  ia = _mm256_blendv_ps(ia, idx, lt1);
}
}  // namespace

void two_min_f32_avx2(const float* crow, const float* v, std::int64_t n, std::int64_t* j1,
                      std::int64_t* j2) {
  const __m256 sixteen = _mm256_set1_ps(16.0f);
  __m256 a0 = _mm256_set1_ps(kInfF), b0 = a0, a1 = a0, b1 = a0;
  __m256 ia0 = _mm256_set1_ps(-1.0f), ib0 = ia0, ia1 = ia0, ib1 = ia0;
  __m256 idx0 = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
  __m256 idx1 = _mm256_setr_ps(8, 9, 10, 11, 12, 13, 14, 15);
  std::int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    upd_ps(_mm256_sub_ps(_mm256_loadu_ps(crow + j), _mm256_loadu_ps(v + j)), idx0, a0, b0, ia0,
           ib0);
    upd_ps(_mm256_sub_ps(_mm256_loadu_ps(crow + j + 8), _mm256_loadu_ps(v + j + 8)), idx1, a1,
           b1, ia1, ib1);
    idx0 = _mm256_add_ps(idx0, sixteen);
    idx1 = _mm256_add_ps(idx1, sixteen);
  }
  if (j + 8 <= n) {
    upd_ps(_mm256_sub_ps(_mm256_loadu_ps(crow + j), _mm256_loadu_ps(v + j)), idx0, a0, b0, ia0,
           ib0);
    j += 8;
  }
  top2_merge_ps(a0, ia0, b0, ib0, a1, ia1, b1, ib1);
  __m256 t0 = _mm256_permute2f128_ps(a0, a0, 1), t1 = _mm256_permute2f128_ps(ia0, ia0, 1);
  __m256 t2 = _mm256_permute2f128_ps(b0, b0, 1), t3 = _mm256_permute2f128_ps(ib0, ib0, 1);
  top2_merge_ps(a0, ia0, b0, ib0, t0, t1, t2, t3);
  top2_merge_ps(a0, ia0, b0, ib0, _mm256_permute_ps(a0, 0x4E), _mm256_permute_ps(ia0, 0x4E),
                _mm256_permute_ps(b0, 0x4E), _mm256_permute_ps(ib0, 0x4E));
  top2_merge_ps(a0, ia0, b0, ib0, _mm256_permute_ps(a0, 0xB1), _mm256_permute_ps(ia0, 0xB1),
                _mm256_permute_ps(b0, 0xB1), _mm256_permute_ps(ib0, 0xB1));
  two_min_from<float>(crow, v, j, n, _mm256_cvtss_f32(a0),
                      static_cast<std::int64_t>(_mm256_cvtss_f32(ia0)), _mm256_cvtss_f32(b0),
                      static_cast<std::int64_t>(_mm256_cvtss_f32(ib0)), nullptr, j1, nullptr, j2);
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
