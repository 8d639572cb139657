// Ising models with all-to-all couplings, sampled by Metropolis Monte Carlo with parallel
// tempering (replica exchange): Sherrington-Kirkpatrick (Gaussian or +-1 couplings), the
// Curie-Weiss ferromagnet and the paramagnet (no couplings, optional fields).
//
// H(s) = - sum_{i<j} J_ij s_i s_j - sum_i h_i s_i,   s_i = +-1.
//   SK Gaussian: J_ij ~ N(0, J^2 / N);  SK +-1: J_ij = +-J / sqrt(N);  Curie-Weiss: J_ij = J / N;
//   paramagnet: J_ij = 0.  Fields: h_i = field + field_sigma * N(0, 1).
// Randomness: couplings and fields of disorder sample `s` are keyed by (seed, s); the Monte Carlo
// stream of replica r at temperature index k by (seed, s, r, k); swap decisions by (seed, s, r).
// Results are therefore independent of the number of threads.
#pragma once
#include <cstdint>
#include <vector>

namespace glasslens::spin {

enum class Model : int { sk_gaussian = 0, sk_pm1 = 1, curie_weiss = 2, paramagnet = 3 };

// Couplings of one sample: N x N, symmetric, zero diagonal (row-major, float32).
void make_couplings(Model model, int N, double J, std::uint64_t seed, std::int64_t sample,
                    float* out);
// Fields of one sample (N doubles).
void make_fields(int N, double field, double field_sigma, std::uint64_t seed,
                 std::int64_t sample, double* out);

struct PTParams {
  Model model = Model::sk_gaussian;
  int N = 64;
  std::int64_t n_samples = 1;
  std::int64_t n_replicas = 2;
  std::vector<double> temperatures;   // increasing or any order; all > 0
  std::int64_t n_equilibrate = 1000;  // sweeps before measuring
  std::int64_t n_measure = 1000;      // sweeps while measuring
  std::int64_t record_every = 10;     // record configurations every this many measuring sweeps
  std::vector<int> record_temps;      // temperature indices whose configurations are recorded
  double J = 1.0;
  double field = 0.0;
  double field_sigma = 0.0;
  std::uint64_t seed = 0;
  void validate() const;
  std::int64_t n_records() const noexcept { return n_measure / record_every; }
};

// Output buffers (caller allocates; S = n_samples, R = n_replicas, T = #temperatures,
// C = #record_temps, K = n_records()):
struct PTOutput {
  std::int8_t* configs;      // S x R x K x C x N
  double* energy_mean;       // S x R x T   <E>/N over measuring sweeps
  double* energy_sq_mean;    // S x R x T   <(E/N)^2>
  double* abs_mag_mean;      // S x R x T   <|m|>
  double* final_energy;      // S x R x T   E/N at the end (recomputed from scratch)
  double* flip_acceptance;   // S x R x T   accepted / proposed single-spin flips
  double* swap_acceptance;   // S x R x (T-1) accepted / attempted swaps between k and k+1
  float* couplings;          // S x N x N   (may be nullptr)
  double* fields;            // S x N       (may be nullptr)
};

void run_parallel_tempering(const PTParams& p, const PTOutput& out, int n_threads);

// Energy per spin of configurations (n x N int8) for given couplings and fields (for checks).
void energies(const float* J, const double* h, int N, const std::int8_t* s, std::int64_t n,
              double* out);

}  // namespace glasslens::spin

namespace glasslens::spin::detail {
// f[j] += c * J[j] for j < n (the local-field update after a flip); scalar and AVX2 versions.
void add_scaled_row_scalar(double* f, const float* J, double c, int n) noexcept;
void add_scaled_row_avx2(double* f, const float* J, double c, int n) noexcept;
}  // namespace glasslens::spin::detail
