// Triangle statistics for ultrametricity tests: for triples of points (a, b, c) of a distance
// matrix, the three sides sorted so that d1 <= d2 <= d3.
#pragma once
#include <cstdint>

namespace glasslens::triangles {

// Number of triples a < b < c among M points.
inline std::int64_t n_triples(std::int64_t M) noexcept {
  return M < 3 ? 0 : M * (M - 1) * (M - 2) / 6;
}

// All triples a < b < c in lexicographic order; D is M x M (row-major, symmetric);
// out is n_triples(M) x 3. Parallel over a; each triple has a fixed output row.
void sorted_sides_all(const double* D, std::int64_t M, double* out, int n_threads);

// Given triples idx (T x 3, entries in [0, M), caller checks); out is T x 3.
void sorted_sides_list(const double* D, std::int64_t M, const std::int64_t* idx, std::int64_t T,
                       double* out, int n_threads);

// Summary over triangles without storing them: with sorted sides d1 <= d2 <= d3 and gap = d3 - d2,
// sum_gap = sum of gaps, sum_gap2 = sum of squared gaps, n_iso = #{gap < tol * d3 or d3 == 0 (and
// tol > 0)}, n = #triangles. Partial sums per work item are combined in a fixed order, so the
// result does not depend on n_threads.
struct Summary {
  double sum_gap = 0.0;
  double sum_gap2 = 0.0;
  std::int64_t n_iso = 0;
  std::int64_t n = 0;
};
Summary summarize_all(const double* D, std::int64_t M, double tol, int n_threads);
Summary summarize_list(const double* D, std::int64_t M, const std::int64_t* idx, std::int64_t T,
                       double tol, int n_threads);

}  // namespace glasslens::triangles
