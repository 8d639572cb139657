// Pairwise maximum-entropy (Ising) models: P(s) ∝ exp(h.s + sum_{i<j} J_ij s_i s_j), s in {-1,+1}^N,
// beta = 1, J symmetric with zero diagonal, energy E(s) = -1/2 s^T J s - h^T s.
//
// - Monte Carlo samplers (Metropolis / Gibbs heat bath, sequential sweeps, parallel chains keyed by
//   (seed, chain)), exact enumeration (Gray code, N <= 30 in principle, 20 in practice),
// - pseudo-likelihood inference (one logistic problem per spin, L2 + L1, batched OWL-QN / L-BFGS),
// - loopy belief propagation on the dense graph (moments and Bethe free energy).
// All arrays are row-major; matrices are N x N. Results are bit-identical for any thread count.
#pragma once
#include <cstdint>
#include <vector>

namespace glasslens::ising {

// ---- sampling ------------------------------------------------------------------------------
enum class Sampler { metropolis = 0, gibbs = 1 };

struct SampleOptions {
  std::int64_t per_chain = 1000;  // recorded samples per chain
  std::int64_t burn_in = 100;     // sweeps discarded at the start of each chain
  std::int64_t thin = 1;          // sweeps between recorded samples (>= 1)
  int chains = 1;
  std::uint64_t seed = 0;
  Sampler method = Sampler::metropolis;
  int n_threads = 0;
};

// out: (chains * per_chain) x N, chain-major (chain c fills rows [c*per_chain, (c+1)*per_chain)).
// init: optional chains x N start configurations (+-1); nullptr draws them uniformly at random.
// Returns the acceptance (flip) rate over all sweeps, all chains.
double sample(const double* h, const double* J, int N, const std::int8_t* init,
              const SampleOptions& opt, std::int8_t* out);

// Exact moments by Gray-code enumeration of all 2^N states (N <= 30). m: N, C: N x N (<s_i s_j>,
// diagonal 1), either may be nullptr. Returns ln Z.
double exact_moments(const double* h, const double* J, int N, double* m, double* C, int n_threads);

// ---- pseudo-likelihood ---------------------------------------------------------------------
// Per spin i the parameters are packed in row i of an N x N matrix P: P[i][j] = J_ij (j != i),
// P[i][i] = h_i. Objective for row i:
//   f_i = (1/M) sum_mu ln(1 + exp(-2 s_i^mu H_i^mu)) + l2 sum_{j!=i} J_ij^2 + l2_h h_i^2
//         + l1 sum_{j!=i} |J_ij|,          H_i = h_i + sum_{j!=i} J_ij s_j.
struct PLMOptions {
  double l2 = 0.0;
  double l2_h = 0.0;
  double l1 = 0.0;
  int max_iter = 200;
  double tol = 1e-5;    // stop when max |(pseudo-)gradient| <= tol
  double ftol = 1e-14;  // ... or when an accepted step's predicted decrease <= ftol * max(1, |f_i|)
  int history = 10;     // L-BFGS memory
  int block = 32;       // spins optimised together (lock-step evaluation, one GEMM per round)
  int n_threads = 0;
};

struct PLMInfo {  // per spin
  std::vector<double> f;          // final objective
  std::vector<double> grad_norm;  // final max |pseudo-gradient|
  std::vector<int> iters;
  std::vector<int> evals;
  std::vector<int> status;  // 0 gradient tolerance, 1 ftol, 2 max_iter, 3 line search failed
};

// X: M x N samples (+-1, int8). P0: optional start (N x N packed as above); P: output.
PLMInfo plm_fit(const std::int8_t* X, std::int64_t M, int N, const double* P0,
                const PLMOptions& opt, double* P);

// Objective and gradient of all rows at P (same kernels as plm_fit); f: N, G: N x N (packed like P,
// the gradient of the smooth part: loss + L2). Used for testing and diagnostics.
void plm_objective(const std::int8_t* X, std::int64_t M, int N, const double* P, double l2,
                   double l2_h, double l1, int n_threads, double* f, double* G);

namespace detail {
// Float32 kernels on a chunk of S samples stored transposed (XcT: Np x S, Np % 4 == 0,
// S % 4 == 0) and B spins in lanes (B % 16 == 0).
//   forward:  Hc[s*B + b] = sum_{j<Np} XcT[j*S + s] * Wt[j*B + b]
//   backward: Gc[j*B + b] = sum_{s<S} XcT[j*S + s] * R[s*B + b]
void plm_forward_scalar(const float* XcT, int Np, int S, const float* Wt, int B, float* Hc);
void plm_backward_scalar(const float* XcT, int Np, int S, const float* R, int B, float* Gc);
void plm_forward_avx2(const float* XcT, int Np, int S, const float* Wt, int B, float* Hc);
void plm_backward_avx2(const float* XcT, int Np, int S, const float* R, int B, float* Gc);
// Loss and residual on a chunk, spins in lanes: with t = -2 Sg[s,b] (Hc[s,b] + hb[b]),
//   loss[b] += Sg^2 softplus(t),  R[s,b] = -2 Sg sigmoid(t),  gh[b] += R[s,b]
// (Sg = 0 marks padding). float32 exp/log polynomials (Cephes), |rel. error| < 2e-7.
void plm_loss_scalar(const float* Hc, const float* Sg, const float* hb, int S, int B, float* R,
                     double* loss, float* gh);
void plm_loss_avx2(const float* Hc, const float* Sg, const float* hb, int S, int B, float* R,
                   double* loss, float* gh);
}  // namespace detail

// ---- belief propagation --------------------------------------------------------------------
// Messages: msg[i*N + j] = m_{i->j} = tanh(h_i + sum_{k != j} atanh(tanh J_ik m_{k->i})).
struct BPOptions {
  int max_sweeps = 1000;
  double tol = 1e-6;
  bool mean_criterion = false;  // false: max |dm| <= tol; true: mean |dm| <= tol
  double damping = 0.0;         // m <- (1 - damping) m_new + damping m_old
  int n_threads = 0;
};

struct BPResult {
  int sweeps = 0;
  double residual = 0.0;  // last sweep's max (or mean) |dm|
  bool converged = false;
};

// Synchronous (parallel) updates of all messages; msg is read as the start and overwritten.
BPResult bp_run(const double* h, const double* J, int N, double* msg, const BPOptions& opt);

// Marginals from (converged) messages: m (N), C (N x N, <s_i s_j>, diagonal 1; may be nullptr),
// returns the Bethe free energy beta*F = sum_i F_i - sum_{i<j} F_ij.
double bp_marginals(const double* h, const double* J, int N, const double* msg, double* m,
                    double* C, int n_threads);

}  // namespace glasslens::ising
