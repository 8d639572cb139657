// All-pairs weight matching of an ensemble of one-hidden-layer networks: for every pair a < b of
// M replicas with unit features U_r (H x D, row j = [W1 row j, b1_j, W2 column j]), the cost
// matrix C_ab = U_b U_a^T (H x H, float32; rows: units of b, columns: units of a) is formed by a
// register-blocked GEMM (U_a packed once per task and reused across a block of b's) and the
// exact maximum-weight assignment of C_ab is found by lap_solve (in double, on -C_ab; -C_ab in
// float32 is passed as LapOptions::cost_f32 so that the heuristic start runs in float32 at twice
// the SIMD width, and the validation scan is skipped when every cost is finite).
//
// Every pair's cost matrix is computed by the same code whatever the thread or the task it runs
// in (fixed summation order along D), so results are bit-identical for any thread count. The
// AVX2+FMA and portable kernels differ by FMA rounding only.
#pragma once
#include <cstdint>

#include "glasslens/common/simd.hpp"

namespace glasslens {

// U: (M, H, D) float32 row-major. Outputs:
//   perms  (M, M, H) int64: perms[a][b][j] = the unit of b matched to unit j of a
//          (perms[a][a] = identity, perms[b][a] = inverse of perms[a][b]);
//   totals (M, M) double: totals[a][b] = totals[b][a] = sum_j C_ab[perms..] (the optimal
//          assignment value, summed in double over rows of C_ab in order); the diagonal
//          totals[a][a] holds the squared norm of U_a (double, a fixed summation order);
//   costs  optional (M (M - 1) / 2, H, H) float32: C_ab for the pairs a < b in row-major
//          upper-triangle order (for tests), or nullptr.
// warm_start: each pair after the first of a task (replica a against a block of later b's)
// starts the solver from the mean column duals of the pairs solved before it in the task
// (the columns are the units of a in all of them); the optimum is exact either way, only the
// work changes (and, where the optimum is tied, which optimal assignment is returned).
void lap_all_pairs(const float* U, std::int64_t M, std::int64_t H, std::int64_t D,
                   std::int64_t* perms, double* totals, float* costs, int n_threads,
                   bool warm_start = true);

namespace lap_pairs_detail {
constexpr std::int64_t NR = 16;  // packed panel width (columns of C)
// C (m x 16 npan, row stride ldc) = [C +] A (m x kc, row stride lda) * Bp, Bp holding npan
// packed panels of kc x 16 floats (panel q at Bp + q kc 16, element (p, j) at p 16 + j).
// overwrite: C = product, else C += product. Summation along kc is sequential.
using GramFn = void (*)(std::int64_t m, std::int64_t npan, std::int64_t kc, const float* A,
                        std::int64_t lda, const float* Bp, float* C, std::int64_t ldc,
                        bool overwrite);
void gram_scalar(std::int64_t, std::int64_t, std::int64_t, const float*, std::int64_t,
                 const float*, float*, std::int64_t, bool);
#if GLASSLENS_HAVE_X86_SIMD
void gram_avx2(std::int64_t, std::int64_t, std::int64_t, const float*, std::int64_t,
               const float*, float*, std::int64_t, bool);
#define GLASSLENS_LAP_PAIRS_HAVE_AVX2 1
#endif
}  // namespace lap_pairs_detail

}  // namespace glasslens
