// Perturbation probes and random walks in the parameter space of an MLP (Protocol 1).
//
// Parameter layout: see mlp.hpp (theta = [W0 row-major (d1 x d0), b0, W1, b1, ...]).
// Directions u_k are generated from Philox(seed, k, 0) and never stored as K full copies: each
// work item materialises one perturbed vector at a time in a thread-local buffer. Every result
// is bit-identical for any thread count (work items are serial and written to fixed slots).
#pragma once
#include <cstdint>
#include <vector>

#include "glasslens/nn/mlp.hpp"

namespace glasslens::landscape {

enum class DirKind : int { gaussian = 0, rademacher = 1 };
// none: raw direction; global: ||u|| = ||theta||; layer: ||u_l|| = ||theta_l|| per layer;
// filter: per hidden/output unit j of every layer (row j of W_l, Li et al. 2018).
enum class Norm : int { none = 0, global = 1, layer = 2, filter = 3 };
// include: bias b_l[j] belongs to unit j's filter (and to layer l's block) and is normalised with
// it; zero: bias entries of u are set to 0 (Goldstein's `biasbn` ignore option) and the norms
// are taken over the weights only.
enum class BiasMode : int { include = 0, zero = 1 };
// additive: theta + r u; multiplicative: theta * (1 + r u) (elementwise).
enum class PertMode : int { additive = 0, multiplicative = 1 };

// The direction u_k (n_params floats written to u). Deterministic in (seed, k), identical on
// both SIMD paths (the Gaussian stream layout is described in src/landscape_dirs.inc).
void make_direction(const nn::Shape& s, const float* theta, std::uint64_t seed, std::int64_t k,
                    DirKind kind, Norm norm, BiasMode bias, float* u);

// make_direction for many k: the norms of theta's groups are computed once. Reentrant.
class DirectionGen {
 public:
  DirectionGen(const nn::Shape& s, const float* theta, DirKind kind, Norm norm, BiasMode bias);
  void make(std::uint64_t seed, std::int64_t k, float* u) const;

 private:
  struct Group {  // two ranges [a0, a1) and [b0, b1) of the flat vector (b may be empty)
    std::int64_t a0, a1, b0, b1;
  };
  static double group_sumsq(const Group& g, const float* v);
  nn::Shape s_;
  DirKind kind_;
  Norm norm_;
  BiasMode bias_;
  std::int64_t P_;
  std::vector<Group> groups_;   // filter: one per unit; layer / global: one per layer
  std::vector<double> tnorm_;   // ||theta|| of each group (global: one entry)
};

// The raw Gaussian entries of direction k (Philox(seed, k, 0)), P floats. Dispatches on
// simd_path(); both paths give identical bits.
void gaussian_fill(std::uint64_t seed, std::int64_t k, std::int64_t P, float* u);
// Sum of squares in double with a fixed summation order (8 interleaved partial sums), identical
// on both SIMD paths.
double sumsq(const float* a, std::int64_t n);

// Mean loss / accuracy of theta perturbed along K directions at R radii on (X, y): outputs are
// K x R (row-major). Work items are (direction, block of radii, chunk of sample tiles); with one
// radius (or no hidden layer) theta + r u is evaluated directly, with several the first layer by
// linearity (see landscape.cpp). When base_loss is not null it
// receives the unperturbed mean loss (and base_acc the accuracy), equal to full_loss exactly.
void perturbed_eval(const nn::Shape& s, const float* theta, std::uint64_t seed, std::int64_t K,
                    const double* radii, std::int64_t R, DirKind kind, Norm norm, BiasMode bias,
                    PertMode mode, const float* X, const std::int32_t* y, std::int64_t n,
                    double* loss_out, double* acc_out, int n_threads,
                    double* base_loss = nullptr, double* base_acc = nullptr);

// perturbed_eval keeps the first-layer product W0 x + b0 of all samples when it has at most
// this many floats (default 2^26), otherwise recomputes it per tile (same values). Tests lower it.
std::int64_t z0_limit() noexcept;
void set_z0_limit(std::int64_t floats) noexcept;

// Mean loss / accuracy of theta0 + sum_j coeffs[g, j] * D[j] for g < G (D: m x n_params,
// coeffs: G x m). Used for 1-D and 2-D slices.
void affine_eval(const nn::Shape& s, const float* theta0, const float* D, int m,
                 const double* coeffs, std::int64_t G, const float* X, const std::int32_t* y,
                 std::int64_t n, double* loss_out, double* acc_out, int n_threads);

// Mean loss and accuracy of one parameter vector, parallel over sample tiles (serial when called
// inside an active parallel region); bit-identical for any n_threads. The reference for every
// engine here: perturbed_eval at r = 0, affine_eval at coefficient 0 and the walk refresh give
// exactly this value.
double full_loss(const nn::Shape& s, const float* theta, const float* X, const std::int32_t* y,
                 std::int64_t n, double* acc, int n_threads = 1);

// Cross-entropy on class-major logits: logit (row r, class c) at Zc[c * ldc + r]; writes the
// per-row loss and whether the argmax (ties -> lowest index) equals the label y[r]. Dispatches
// on simd_path() (the AVX2 path uses polynomial exp / log accurate to a few ulp).
void cols_loss(const float* Zc, std::int64_t ldc, std::int64_t rows, int C, const std::int32_t* y,
               float* loss, unsigned char* correct);

namespace detail {
void gaussian_fill_scalar(std::uint64_t seed, std::int64_t k, std::int64_t P, float* u);
void gaussian_fill_avx2(std::uint64_t seed, std::int64_t k, std::int64_t P, float* u);
double sumsq_scalar(const float* a, std::int64_t n);
double sumsq_avx2(const float* a, std::int64_t n);
void cols_loss_scalar(const float* Zc, std::int64_t ldc, std::int64_t rows, int C,
                      const std::int32_t* y, float* loss, unsigned char* correct);
void cols_loss_avx2(const float* Zc, std::int64_t ldc, std::int64_t rows, int C,
                    const std::int32_t* y, float* loss, unsigned char* correct);
}  // namespace detail

// ---- random walks ------------------------------------------------------------------------------
enum class WalkMode : int { free_walk = 0, threshold = 1, metropolis = 2 };
// dense: all parameters move; weight: one parameter (weight or bias) chosen uniformly;
// unit: one hidden unit's incoming weights, bias and outgoing weights.
enum class MoveKind : int { dense = 0, weight = 1, unit = 2 };

struct WalkParams {
  std::int64_t steps = 1000;
  double sigma = 1e-3;              // per-coordinate standard deviation of a move
  std::vector<double> layer_sigma;  // if not empty: sigma of the coordinates of layer l's
                                    // block [W_l, b_l] (overrides sigma)
  WalkMode mode = WalkMode::free_walk;
  double threshold = 0.0;           // threshold mode: level on the train loss (or error)
  bool threshold_on_error = false;
  double temperature = 1.0;         // metropolis mode
  MoveKind move = MoveKind::dense;
  std::int64_t walkers = 1;
  std::int64_t record_every = 10;
  std::uint64_t seed = 0;
  std::int64_t refresh_every = 1000;  // sparse moves: full recomputation every this many steps
                                      // (0 = never)
  bool eval_test = true;
  bool store_theta = false;           // keep theta at every record (walkers x records x P)
};

struct WalkOutput {
  std::int64_t n_records = 0;
  std::vector<std::int64_t> step;                     // n_records
  // walkers x n_records
  std::vector<double> dist, overlap, train_loss, train_acc, test_loss, test_acc, accept;
  std::vector<float> final_theta;                     // walkers x P
  std::vector<float> thetas;                          // walkers x n_records x P (store_theta)
  std::vector<double> max_drift;                      // walkers: largest |incremental - full|
                                                      // train-loss gap seen at a refresh
  std::vector<std::int64_t> n_accepted;               // walkers
};

void random_walk(const nn::Shape& s, const float* theta0, const float* Xtr,
                 const std::int32_t* ytr, std::int64_t ntr, const float* Xte,
                 const std::int32_t* yte, std::int64_t nte, const WalkParams& p, WalkOutput& out,
                 int n_threads);

}  // namespace glasslens::landscape
