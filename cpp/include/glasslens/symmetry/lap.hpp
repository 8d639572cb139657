// Dense linear assignment (exact): shortest augmenting path Jonker-Volgenant.
//
// Square problems start with the classic LAPJV initialisation (column reduction with reduction
// transfer, two rounds of augmenting row reduction); a repair pass then restores exact
// complementary slackness (rows whose assigned column is no longer a row minimum of the reduced
// costs are freed), and every remaining free row is assigned by a Dijkstra shortest augmenting
// path (Crouse 2016, as scipy) whose inner update/minimum-search loop is SIMD-dispatched
// (branch-free updates: which columns improve is unpredictable). With LapOptions::cost_f32 the
// heuristic start picks its columns in float32; the repair pass and the shortest paths stay in
// double, so the optimum is exact either way.
// Rectangular problems (rows < columns; wider problems are transposed by the caller) start from
// a row reduction with v = 0 so that unassigned columns keep v_j = 0 (needed for optimality).
//
// Costs are double; +inf marks a forbidden pair; NaN and -inf are rejected. A problem without
// a complete assignment of the smaller side throws std::invalid_argument.
#pragma once
#include <cstdint>

#include "glasslens/common/simd.hpp"
#include <vector>

namespace glasslens {

struct LapOptions {
  bool maximize = false;
  // Warm start (square problems only): when `v_init` is non-null it holds nc column duals of
  // the internal minimisation problem (cost, or -cost when maximising); the solver starts from
  // them instead of the column reduction. Any finite vector is accepted.
  const double* v_init = nullptr;
  // Fast-path hints for internal callers (lap_all_pairs). assume_finite: the caller guarantees
  // every cost is finite (the validation scan is skipped). cost_f32 (square minimisation
  // problems only, i.e. maximize = false, n < 2^24): the same matrix rounded to float32; the
  // heuristic initialisation (column reduction, reduction transfer, augmenting row reduction)
  // then picks its candidate columns in float32 (twice the SIMD width). The repair pass and the
  // shortest augmenting paths still run in double on `cost`, so the result is the exact optimum.
  bool assume_finite = false;
  const float* cost_f32 = nullptr;
};

// Solves one nr x nc row-major problem (any nr, nc >= 0). Writes k = min(nr, nc) pairs to
// row_ind / col_ind in scipy's convention (row_ind increasing). If u_out / v_out are non-null
// they receive the final duals of the internal (nr' <= nc') minimisation problem: for nr <= nc,
// u_out has nr entries and v_out nc; for nr > nc the problem is solved transposed and u_out has
// nc entries (one per column of the input), v_out nr. Returns the optimal total cost (of the
// original matrix, with its sign).
double lap_solve(const double* cost, std::int64_t nr, std::int64_t nc, const LapOptions& opt,
                 std::int64_t* row_ind, std::int64_t* col_ind, double* u_out = nullptr,
                 double* v_out = nullptr);

// float32 costs: solved exactly in double (float -> double is exact).
double lap_solve(const float* cost, std::int64_t nr, std::int64_t nc, const LapOptions& opt,
                 std::int64_t* row_ind, std::int64_t* col_ind, double* u_out = nullptr,
                 double* v_out = nullptr);

// B independent problems stored contiguously (B, nr, nc); outputs (B, k) each, totals (B).
// v_init, if given, holds (B, nc) warm-start duals (square problems only); u_out/v_out, if
// given, (B, k) and (B, max(nr, nc)). Parallel over problems; results do not depend on the
// thread count.
void lap_solve_batch(const double* costs, std::int64_t B, std::int64_t nr, std::int64_t nc,
                     bool maximize, const double* v_init, std::int64_t* row_ind,
                     std::int64_t* col_ind, double* totals, double* u_out, double* v_out,
                     int n_threads);
void lap_solve_batch(const float* costs, std::int64_t B, std::int64_t nr, std::int64_t nc,
                     bool maximize, const double* v_init, std::int64_t* row_ind,
                     std::int64_t* col_ind, double* totals, double* u_out, double* v_out,
                     int n_threads);

namespace lap_detail {
// Kernels (scalar in lap.cpp, AVX2 in lap_avx2.cpp). Masks are 0 or ~0 per column.
struct StepResult {
  double best;        // min over active columns of d (inf if none)
  std::int64_t jbest;  // its lowest index
  double bestf;       // min over active free columns of d (only when freecol is given)
  std::int64_t jfree;  // its lowest index (-1 if none)
};
// One Dijkstra row scan. Finished ("scanned") columns hold d[j] = NaN, every other column is
// active. For active j: h_j = (crow[j] - v[j]) + base; if h_j < d[j]: d[j] = h_j, pred[j] = row.
// Returns the minimum of d over active columns and, if freecol (0/~0 mask) is non-null, over
// active free columns.
using StepFn = StepResult (*)(const double* crow, const double* v, double base, double* d,
                              std::int64_t* pred, const std::uint64_t* freecol, std::int64_t n,
                              std::int64_t row);
// Two smallest of crow[j] - v[j] (lowest indices on ties); j2 = -1 if n < 2.
using TwoMinFn = void (*)(const double* crow, const double* v, std::int64_t n, double* m1,
                          std::int64_t* j1, double* m2, std::int64_t* j2);
// min_j (crow[j] - v[j]) (inf if n = 0; the sign of a zero minimum is unspecified).
using RowMinFn = double (*)(const double* crow, const double* v, std::int64_t n);
// Column minima: for i in rows, v[j] = min_i c[i][j], arg[j] = the smallest such i.
using ColMinFn = void (*)(const double* c, std::int64_t nr, std::int64_t nc, double* v,
                          std::int64_t* arg);

// Scans n costs (multiplied by sign = +-1): bit 0 set if some entry is +inf, bit 1 if some entry
// is NaN or -inf.
using ScanFn = int (*)(const double* c, std::int64_t n, double sign);
// float32 variants (heuristic phases of the cost_f32 path): indices of the two smallest of
// crow[j] - v[j] in float (lexicographic in (value, index)); column minima with lowest-index
// arguments. n < 2^24.
using TwoMinF32Fn = void (*)(const float* crow, const float* v, std::int64_t n, std::int64_t* j1,
                             std::int64_t* j2);
using ColMinF32Fn = void (*)(const float* c, std::int64_t nr, std::int64_t nc, float* v,
                             std::int64_t* arg);
void two_min_f32_scalar(const float*, const float*, std::int64_t, std::int64_t*, std::int64_t*);
void col_min_f32_scalar(const float*, std::int64_t, std::int64_t, float*, std::int64_t*);

int scan_scalar(const double*, std::int64_t, double);
StepResult step_scalar(const double*, const double*, double, double*, std::int64_t*,
                       const std::uint64_t*, std::int64_t, std::int64_t);
void two_min_scalar(const double*, const double*, std::int64_t, double*, std::int64_t*, double*,
                    std::int64_t*);
void col_min_scalar(const double*, std::int64_t, std::int64_t, double*, std::int64_t*);
double row_min_scalar(const double*, const double*, std::int64_t);
#if GLASSLENS_HAVE_X86_SIMD
int scan_avx2(const double*, std::int64_t, double);
StepResult step_avx2(const double*, const double*, double, double*, std::int64_t*,
                     const std::uint64_t*, std::int64_t, std::int64_t);
void two_min_avx2(const double*, const double*, std::int64_t, double*, std::int64_t*, double*,
                  std::int64_t*);
void col_min_avx2(const double*, std::int64_t, std::int64_t, double*, std::int64_t*);
double row_min_avx2(const double*, const double*, std::int64_t);
void two_min_f32_avx2(const float*, const float*, std::int64_t, std::int64_t*, std::int64_t*);
void col_min_f32_avx2(const float*, std::int64_t, std::int64_t, float*, std::int64_t*);
#define GLASSLENS_LAP_HAVE_AVX2 1
#endif
}  // namespace lap_detail

}  // namespace glasslens
