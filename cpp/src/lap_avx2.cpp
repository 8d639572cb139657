// AVX2 kernels of the linear assignment solver (compiled with -mavx2 -mfma; chosen at run time).
// They return bit-identical results to the scalar kernels in lap.cpp: same arithmetic (no FMA
// contraction: sub then add), same lowest-index tie rule.
#include "glasslens/lap.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include <limits>

namespace glasslens {
namespace lap_detail {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

namespace {
// Lexicographic (value, index) merge of lane results into (*best, *jbest).
inline void lane_merge(__m256d val, __m256d idx, double* best, std::int64_t* jbest) {
  alignas(32) double v[4], ix[4];
  _mm256_store_pd(v, val);
  _mm256_store_pd(ix, idx);
  for (int l = 0; l < 4; ++l) {
    const std::int64_t j = static_cast<std::int64_t>(ix[l]);
    if (j < 0) continue;
    if (v[l] < *best || (v[l] == *best && (*jbest < 0 || j < *jbest))) {
      *best = v[l];
      *jbest = j;
    }
  }
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
  if (_mm256_movemask_pd(lt)) {
    dd = _mm256_blendv_pd(dd, h, lt);
    _mm256_storeu_pd(d + j, dd);
    __m256i* pp = reinterpret_cast<__m256i*>(pred + j);
    const __m256d p = _mm256_castsi256_pd(_mm256_loadu_si256(pp));
    _mm256_storeu_si256(pp, _mm256_castpd_si256(_mm256_blendv_pd(p, rowv, lt)));
  }
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
  lane_merge(s0.best, s0.bidx, &r.best, &r.jbest);
  lane_merge(s1.best, s1.bidx, &r.best, &r.jbest);
  if (TrackFree) {
    lane_merge(s0.bestf, s0.bfidx, &r.bestf, &r.jfree);
    lane_merge(s1.bestf, s1.bfidx, &r.bestf, &r.jfree);
  }
  for (; j < n; ++j) {
    const double h = (crow[j] - v[j]) + base;
    double dj = d[j];
    if (h < dj) {
      d[j] = dj = h;
      pred[j] = row;
    }
    if (dj < r.best) {
      r.best = dj;
      r.jbest = j;
    }
    if (TrackFree && freecol[j] && dj < r.bestf) {
      r.bestf = dj;
      r.jfree = j;
    }
  }
  return r;
}
}  // namespace

StepResult step_avx2(const double* crow, const double* v, double base, double* d,
                     std::int64_t* pred, const std::uint64_t* freecol, std::int64_t n,
                     std::int64_t row) {
  if (freecol) return step_impl<true>(crow, v, base, d, pred, freecol, n, row);
  return step_impl<false>(crow, v, base, d, pred, freecol, n, row);
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
  alignas(32) double va[8], vb[8], xa[8], xb[8];
  _mm256_store_pd(va, a0);
  _mm256_store_pd(vb, b0);
  _mm256_store_pd(xa, ia0);
  _mm256_store_pd(xb, ib0);
  _mm256_store_pd(va + 4, a1);
  _mm256_store_pd(vb + 4, b1);
  _mm256_store_pd(xa + 4, ia1);
  _mm256_store_pd(xb + 4, ib1);
  double A = kInf, Bv = kInf;
  std::int64_t IA = -1, IB = -1;
  auto push = [&](double h, std::int64_t jj) {
    if (jj < 0) return;
    auto less = [](double x, std::int64_t ix, double y, std::int64_t iy) {
      return x < y || (x == y && (iy < 0 || ix < iy));
    };
    if (less(h, jj, A, IA)) {
      Bv = A;
      IB = IA;
      A = h;
      IA = jj;
    } else if (less(h, jj, Bv, IB)) {
      Bv = h;
      IB = jj;
    }
  };
  for (int l = 0; l < 8; ++l) {
    push(va[l], static_cast<std::int64_t>(xa[l]));
    push(vb[l], static_cast<std::int64_t>(xb[l]));
  }
  for (; j < n; ++j) {
    const double h = crow[j] - v[j];
    if (h < A) {
      Bv = A;
      IB = IA;
      A = h;
      IA = j;
    } else if (h < Bv) {
      Bv = h;
      IB = j;
    }
  }
  *m1 = A;
  *j1 = IA;
  *m2 = Bv;
  *j2 = IB;
}

void col_min_avx2(const double* c, std::int64_t nr, std::int64_t nc, double* v,
                  std::int64_t* arg) {
  for (std::int64_t j = 0; j < nc; ++j) {
    v[j] = kInf;
    arg[j] = -1;
  }
  for (std::int64_t i = 0; i < nr; ++i) {
    const double* row = c + i * nc;
    const __m256d rowv = _mm256_castsi256_pd(_mm256_set1_epi64x(i));
    std::int64_t j = 0;
    for (; j + 4 <= nc; j += 4) {
      const __m256d x = _mm256_loadu_pd(row + j);
      const __m256d vv = _mm256_loadu_pd(v + j);
      const __m256d lt = _mm256_cmp_pd(x, vv, _CMP_LT_OQ);
      if (!_mm256_movemask_pd(lt)) continue;
      _mm256_storeu_pd(v + j, _mm256_blendv_pd(vv, x, lt));
      __m256i* pa = reinterpret_cast<__m256i*>(arg + j);
      const __m256d p = _mm256_castsi256_pd(_mm256_loadu_si256(pa));
      _mm256_storeu_si256(pa, _mm256_castpd_si256(_mm256_blendv_pd(p, rowv, lt)));
    }
    for (; j < nc; ++j) {
      if (row[j] < v[j]) {
        v[j] = row[j];
        arg[j] = i;
      }
    }
  }
}

}  // namespace lap_detail
}  // namespace glasslens
#endif
