"""
glasslens C++ core (private; use the glasslens package)
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['binarynet_adam_step', 'binarynet_epoch_permutation', 'binarynet_evaluate_binary', 'binarynet_evaluate_real', 'binarynet_forward_logits', 'binarynet_init_theta', 'binarynet_loss_grad', 'binarynet_sample', 'binarynet_step_noise', 'binarynet_train', 'bp_marginals', 'bp_run', 'compiler', 'cpu_has_avx2_fma', 'curv_HessianOperator', 'curv_loss_many', 'curv_serial_work', 'default_threads', 'gemm', 'hamming_packed', 'has_openmp', 'has_x86_simd', 'ising_exact_moments', 'ising_sample', 'landscape_affine_eval', 'landscape_direction', 'landscape_full_loss', 'landscape_perturbed_eval', 'landscape_random_walk', 'lap_all_pairs', 'lap_solve', 'lap_solve_batch', 'nn_epoch_order', 'nn_evaluate', 'nn_exp', 'nn_log', 'nn_logits', 'nn_loss_grad', 'nn_noisy_labels', 'nn_train', 'overlap_packed', 'pack_signs', 'parallel_tempering', 'plm_fit', 'plm_objective', 'popcount_kernel', 'popcount_kernel_available', 'set_popcount_kernel', 'set_simd_path', 'simd_path', 'spin_couplings', 'spin_energies', 'triangle_sides_all', 'triangle_sides_list', 'triangle_summary', 'unpack_signs']
class curv_HessianOperator:
    """
    Hessian of the mean cross-entropy loss of one MLP on (X, y) at theta (cached forward pass).
    """
    def __init__(self, widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], n_threads: typing.SupportsInt | typing.SupportsIndex = 0, sparse_input: typing.SupportsInt | typing.SupportsIndex = -1, borrow: bool = False) -> None:
        """
        borrow=True reads X in place (no copy): X must not change while the operator lives
        """
    def apply(self, v: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float32]:
        """
        Hessian-vector products: v (P,) or (k, P) float32 -> H v with the same shape
        """
    def grad(self, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float32]:
        """
        gradient of the mean loss at theta, float32 (P,)
        """
    @property
    def accuracy(self) -> float:
        """
        training accuracy at theta
        """
    @property
    def loss(self) -> float:
        """
        mean cross-entropy at theta
        """
    @property
    def n_params(self) -> int:
        ...
    @property
    def n_samples(self) -> int:
        ...
    @property
    def sparse_input(self) -> bool:
        """
        whether the input layer uses the zero-skipping sparse path
        """
def _binarynet_philox_words(seed: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex, sub: typing.SupportsInt | typing.SupportsIndex, n_blocks: typing.SupportsInt | typing.SupportsIndex, bulk: bool) -> numpy.typing.NDArray[numpy.uint32]:
    """
    Testing aid: Philox words from the block-parallel generator (bulk) or the sequential one.
    """
def _landscape_z0_limit(floats: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    Testing hook: set the size (floats) up to which perturbed_eval keeps the shared first-layer product (negative: leave unchanged); returns the previous value.
    """
def binarynet_adam_step(theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], grad: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], m: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], v: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], t: typing.SupportsInt | typing.SupportsIndex, lr: typing.SupportsFloat | typing.SupportsIndex, beta1: typing.SupportsFloat | typing.SupportsIndex, beta2: typing.SupportsFloat | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float32]]:
    """
    One Adam step (float32) as used in training; returns new (theta, m, v).
    """
def binarynet_epoch_permutation(seed: typing.SupportsInt | typing.SupportsIndex, replica: typing.SupportsInt | typing.SupportsIndex, epoch: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.int64]:
    """
    Order of the training examples in one epoch of one replica (int64 permutation of n).
    """
def binarynet_evaluate_binary(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], configurations: typing.Annotated[numpy.typing.ArrayLike, numpy.int8], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], leak: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex, with_loss: bool = True) -> tuple:
    """
    Deterministic forward pass (leaky ReLU / sqrt(fan-in)) of K weight configurations (K, n_weights) on X; returns (accuracy (K,), mean cross-entropy (K,); NaN unless with_loss).
    """
def binarynet_evaluate_real(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], leak: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex, with_loss: bool = True) -> tuple:
    """
    Deterministic forward pass (leaky ReLU / sqrt(fan-in)) of K weight configurations (K, n_weights) on X; returns (accuracy (K,), mean cross-entropy (K,); NaN unless with_loss).
    """
def binarynet_forward_logits(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], leak: typing.SupportsFloat | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
    """
    Logits (n, n_out) of one real or binary weight vector (n_weights,) - deterministic pass.
    """
def binarynet_init_theta(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], seed: typing.SupportsInt | typing.SupportsIndex, R: typing.SupportsInt | typing.SupportsIndex, init_std: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
    """
    Initial latent parameters theta ~ N(0, init_std^2), shape (R, n_weights) float32; replica r depends only on (seed, r).
    """
def binarynet_loss_grad(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], eps: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], l2: typing.SupportsFloat | typing.SupportsIndex, leak: typing.SupportsFloat | typing.SupportsIndex) -> tuple[float, numpy.typing.NDArray[numpy.float64]]:
    """
    LR-net mean cross-entropy + (l2/2)||theta||^2 and its gradient in theta, with the noise eps (n, n_units) held fixed (float64).
    """
def binarynet_sample(theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], n_per_network: typing.SupportsInt | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex, first_replica: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.int8]:
    """
    Binary configurations W ~ Bernoulli(sigmoid(theta)) as +-1 int8, shape (R * n_per, P); row r * n_per + k is draw k of network r, keyed by (seed, first_replica + r, k).
    """
def binarynet_step_noise(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], seed: typing.SupportsInt | typing.SupportsIndex, replica: typing.SupportsInt | typing.SupportsIndex, step: typing.SupportsInt | typing.SupportsIndex, rows: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float64]:
    """
    The LR-net noise eps of one optimisation step, shape (rows, n_units) float64 (values are float32-exact).
    """
def binarynet_train(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], adam_m: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], adam_v: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], seed: typing.SupportsInt | typing.SupportsIndex, epoch_begin: typing.SupportsInt | typing.SupportsIndex, epoch_end: typing.SupportsInt | typing.SupportsIndex, batch_size: typing.SupportsInt | typing.SupportsIndex, lr: typing.SupportsFloat | typing.SupportsIndex, beta1: typing.SupportsFloat | typing.SupportsIndex, beta2: typing.SupportsFloat | typing.SupportsIndex, adam_eps: typing.SupportsFloat | typing.SupportsIndex, l2: typing.SupportsFloat | typing.SupportsIndex, leak: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float64]]:
    """
    LR-net training of R replicas over epochs [epoch_begin, epoch_end); returns new (theta, adam_m, adam_v, losses (R, n_epochs)). Bit-identical for any n_threads.
    """
def bp_marginals(h: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], J: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], messages: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], with_C: bool = True, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.float64], typing.Any, float]:
    """
    BP marginals: (m, C = <s_i s_j> or None, Bethe free energy beta*F).
    """
def bp_run(h: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], J: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], messages: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, max_sweeps: typing.SupportsInt | typing.SupportsIndex = 1000, tol: typing.SupportsFloat | typing.SupportsIndex = 1e-06, mean_criterion: bool = False, damping: typing.SupportsFloat | typing.SupportsIndex = 0.0, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.float64], int, float, bool]:
    """
    Loopy BP, synchronous sweeps. messages[i, j] = m_{i->j}. Returns (messages, sweeps, residual, converged).
    """
def cpu_has_avx2_fma() -> bool:
    """
    Whether the AVX2+FMA kernels can run: this build has them and this CPU supports them.
    """
def curv_loss_many(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, thetas: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64]]:
    """
    Mean loss and accuracy (float64 (K,), (K,)) of K parameter vectors (K, P) on (X, y).
    """
def default_threads() -> int:
    """
    Default thread count (honours OMP_NUM_THREADS).
    """
def gemm(kind: str, A: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], B: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], C: typing.Any = None, bias: typing.Any = None, relu: bool = False) -> numpy.typing.NDArray[numpy.float32]:
    """
    Single-precision product on the active SIMD path. kind 'nt': A (m,k) @ B(n,k).T; 'nn': A (m,k) @ B (k,n); 'tn': A(k,m).T @ B (k,n). With C the product is added to a copy of C; 'nt' also takes bias (n,) and relu. Returns a new (m, n) float32 array.
    """
def hamming_packed(A: typing.Annotated[numpy.typing.ArrayLike, numpy.uint64], n_bits: typing.SupportsInt | typing.SupportsIndex, B: typing.Annotated[numpy.typing.ArrayLike, numpy.uint64] | None = None, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.int64]:
    """
    Hamming distances popcount(a XOR b) between packed rows, int64 (Ma, Mb).
    """
def ising_exact_moments(h: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], J: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[float, numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64]]:
    """
    Exact (ln Z, m, C) by Gray-code enumeration; C = <s_i s_j> with unit diagonal.
    """
def ising_sample(h: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], J: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], chains: typing.SupportsInt | typing.SupportsIndex, per_chain: typing.SupportsInt | typing.SupportsIndex, burn_in: typing.SupportsInt | typing.SupportsIndex, thin: typing.SupportsInt | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, method: str, init: typing.Annotated[numpy.typing.ArrayLike, numpy.int8] | None = None, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.int8], float]:
    """
    Monte Carlo samples of P(s) ~ exp(h.s + 1/2 s.J.s): returns (int8 (chains*per_chain, N), flip rate). Sequential sweeps; chain c uses the random stream (seed, c).
    """
def landscape_affine_eval(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, theta0: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], D: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], coeffs: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], n_threads: typing.SupportsInt | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64]]:
    """
    Mean loss and accuracy at theta0 + coeffs[g] @ D for every row g of coeffs.
    """
def landscape_direction(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], seed: typing.SupportsInt | typing.SupportsIndex, k: typing.SupportsInt | typing.SupportsIndex, kind: str, normalization: str, bias_mode: str) -> numpy.typing.NDArray[numpy.float32]:
    """
    Direction u_k (float32, n_params) used by landscape_perturbed_eval.
    """
def landscape_full_loss(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], n_threads: typing.SupportsInt | typing.SupportsIndex = 1) -> tuple[float, float]:
    """
    Mean loss and accuracy of one network (the kernel used by the landscape engines; bit-identical for any n_threads).
    """
def landscape_perturbed_eval(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], seed: typing.SupportsInt | typing.SupportsIndex, K: typing.SupportsInt | typing.SupportsIndex, radii: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], kind: str, normalization: str, bias_mode: str, mode: str, X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], n_threads: typing.SupportsInt | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64], float, float]:
    """
    Mean loss and accuracy (K x R) of K perturbed copies at R radii, and the unperturbed mean loss and accuracy: (loss, acc, loss0, acc0).
    """
def landscape_random_walk(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, theta0: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], X_train: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y_train: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], X_test: typing.Any, y_test: typing.Any, steps: typing.SupportsInt | typing.SupportsIndex, sigma: typing.SupportsFloat | typing.SupportsIndex, mode: str, threshold: typing.SupportsFloat | typing.SupportsIndex, threshold_on_error: bool, temperature: typing.SupportsFloat | typing.SupportsIndex, move: str, walkers: typing.SupportsInt | typing.SupportsIndex, record_every: typing.SupportsInt | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, refresh_every: typing.SupportsInt | typing.SupportsIndex, store_theta: bool, n_threads: typing.SupportsInt | typing.SupportsIndex, layer_sigma: typing.Any = None) -> dict:
    """
    Random walks from theta0 (see glasslens.walks.random_walk); returns a dict of arrays.
    """
def lap_all_pairs(U: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], n_threads: typing.SupportsInt | typing.SupportsIndex = 0, return_costs: bool = False) -> tuple:
    """
    All-pairs weight matching of unit features U (M, H, D) float32: for every a < b the float32 cost C_ab = U[b] @ U[a].T (rows: units of b) and its exact maximum-weight assignment. Returns (perms (M, M, H) int64, totals (M, M) float64) [+ costs (M (M-1)/2, H, H) float32, pairs a < b in row-major order]: perms[a, b, j] is the unit of b matched to unit j of a, totals[a, b] the optimal value (diagonal: squared norm of U[a], in double). Bit-identical for any n_threads.
    """
def lap_solve(cost: numpy.ndarray, maximize: bool = False, duals: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, return_duals: bool = False) -> tuple:
    """
    Exact dense linear assignment of a (n, m) float64 (or float32, solved in double) cost matrix (shortest augmenting path Jonker-Volgenant). Returns (row_ind, col_ind, total) or, with return_duals, (row_ind, col_ind, total, u, v): the duals of the internal minimisation problem (transposed when n > m; negated costs when maximizing). `duals` (m,) warm-starts a square problem with column duals v.
    """
def lap_solve_batch(costs: numpy.ndarray, maximize: bool = False, duals: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, return_duals: bool = False, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple:
    """
    Solves B independent (n, m) assignment problems (costs (B, n, m) float64 or float32) in parallel with OpenMP. Returns (row_ind (B,k), col_ind (B,k), totals (B,)) [+ u (B,k), v (B,max(n,m))].
    """
def nn_epoch_order(seed: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex, epoch: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.int64]:
    """
    The permutation of range(n) that train visits in `epoch` for data-order stream `stream`.
    """
def nn_evaluate(theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64]]:
    """
    Mean cross-entropy loss and accuracy of K flat parameter vectors theta (K, P) on (X, y). Returns (loss (K,), acc (K,)) float64. Bit-identical for any n_threads (0 = default).
    """
def nn_exp(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> numpy.typing.NDArray[numpy.float32]:
    """
    Vectorised float32 exp used by the softmax kernels (for tests).
    """
def nn_log(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> numpy.typing.NDArray[numpy.float32]:
    """
    Vectorised float32 log used by the softmax kernels (for tests).
    """
def nn_logits(theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float32]:
    """
    Logits (K, n, n_out) float32 of K flat parameter vectors.
    """
def nn_loss_grad(theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32]) -> tuple[float, numpy.typing.NDArray[numpy.float32], int]:
    """
    Mean loss of one network, its gradient (P,) float32 and the number of correct predictions: (loss, grad, n_correct). Serial.
    """
def nn_noisy_labels(y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], n_classes: typing.SupportsInt | typing.SupportsIndex, fraction: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.int32]:
    """
    Training labels with exactly round(fraction*n) entries moved to a different random class.
    """
def nn_train(theta: numpy.ndarray, velocity: numpy.ndarray, epochs_run: numpy.ndarray, stopped: numpy.ndarray, hist_train_loss: numpy.ndarray, hist_train_acc: numpy.ndarray, hist_test_loss: numpy.ndarray, hist_test_acc: numpy.ndarray, widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], X_test: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y_test: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], batch_size: typing.SupportsInt | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, weight_decay: typing.SupportsFloat | typing.SupportsIndex, sam_rho: typing.SupportsFloat | typing.SupportsIndex, label_noise: typing.SupportsFloat | typing.SupportsIndex, noise_seed: typing.SupportsInt | typing.SupportsIndex, noise_stream: typing.Annotated[numpy.typing.ArrayLike, numpy.uint64], order_seed: typing.SupportsInt | typing.SupportsIndex, order_stream: typing.Annotated[numpy.typing.ArrayLike, numpy.uint64], target_train_acc: typing.SupportsFloat | typing.SupportsIndex, lr: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], epoch_begin: typing.SupportsInt | typing.SupportsIndex, epoch_end: typing.SupportsInt | typing.SupportsIndex, record_slot: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    Run epochs [epoch_begin, epoch_end) of minibatch SGD for R replicas, updating theta, velocity, epochs_run, stopped and the (R, n_records) history arrays in place. Private: use glasslens.train_ensemble.
    """
def overlap_packed(A: typing.Annotated[numpy.typing.ArrayLike, numpy.uint64], n_bits: typing.SupportsInt | typing.SupportsIndex, B: typing.Annotated[numpy.typing.ArrayLike, numpy.uint64] | None = None, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float64]:
    """
    Overlaps q_ab = (N - 2 popcount(a XOR b)) / N between packed rows of A and B (or A with itself), float64 (Ma, Mb).
    """
def pack_signs(configs: numpy.ndarray, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.uint64]:
    """
    Pack an (M, N) array of +-1 (int8/float32/float64) into (M, stride) uint64 words (bit set for -1, rows zero-padded to a multiple of 512 bits).
    """
def parallel_tempering(model: typing.SupportsInt | typing.SupportsIndex, n_spins: typing.SupportsInt | typing.SupportsIndex, n_samples: typing.SupportsInt | typing.SupportsIndex, n_replicas: typing.SupportsInt | typing.SupportsIndex, temperatures: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], n_equilibrate: typing.SupportsInt | typing.SupportsIndex, n_measure: typing.SupportsInt | typing.SupportsIndex, record_every: typing.SupportsInt | typing.SupportsIndex, record_temps: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], J: typing.SupportsFloat | typing.SupportsIndex, field: typing.SupportsFloat | typing.SupportsIndex, field_sigma: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> dict:
    """
    Parallel-tempering Monte Carlo; returns a dict of arrays (see glasslens.spinmodels).
    """
def plm_fit(samples: typing.Annotated[numpy.typing.ArrayLike, numpy.int8], P0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, l2: typing.SupportsFloat | typing.SupportsIndex = 0.0, l2_h: typing.SupportsFloat | typing.SupportsIndex = 0.0, l1: typing.SupportsFloat | typing.SupportsIndex = 0.0, max_iter: typing.SupportsInt | typing.SupportsIndex = 200, tol: typing.SupportsFloat | typing.SupportsIndex = 1e-05, ftol: typing.SupportsFloat | typing.SupportsIndex = 1e-14, history: typing.SupportsInt | typing.SupportsIndex = 10, block: typing.SupportsInt | typing.SupportsIndex = 32, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.float64], dict]:
    """
    Per-spin pseudo-likelihood fit (OWL-QN / L-BFGS). Returns (P, info) with P[i, j] = J_ij (row i, asymmetric), P[i, i] = h_i; info has per-spin f, grad_norm, iters, evals, status.
    """
def plm_objective(samples: typing.Annotated[numpy.typing.ArrayLike, numpy.int8], P: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], l2: typing.SupportsFloat | typing.SupportsIndex = 0.0, l2_h: typing.SupportsFloat | typing.SupportsIndex = 0.0, l1: typing.SupportsFloat | typing.SupportsIndex = 0.0, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64]]:
    """
    Per-spin pseudo-likelihood objective f (N,) and gradient of its smooth part G (N, N), parameters packed as in plm_fit.
    """
def popcount_kernel() -> str:
    """
    The popcount kernel in use now.
    """
def popcount_kernel_available(name: str) -> bool:
    """
    Whether this CPU can run the named popcount kernel.
    """
def set_popcount_kernel(name: str) -> None:
    """
    Force the popcount kernel: 'auto', 'scalar', 'avx2' or 'avx512'.
    """
def set_simd_path(name: str) -> None:
    """
    Force the SIMD kernel path ('avx2' or 'scalar').
    """
def simd_path() -> str:
    """
    The SIMD kernel path in use: 'avx2' or 'scalar'.
    """
def spin_couplings(model: typing.SupportsInt | typing.SupportsIndex, n_spins: typing.SupportsInt | typing.SupportsIndex, n_samples: typing.SupportsInt | typing.SupportsIndex, J: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
    """
    Couplings (S, N, N) float32 of disorder samples 0..S-1 (keyed by (seed, sample)).
    """
def spin_energies(J: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], h: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], configs: typing.Annotated[numpy.typing.ArrayLike, numpy.int8]) -> numpy.typing.NDArray[numpy.float64]:
    """
    Energy per spin of each configuration.
    """
def triangle_sides_all(distances: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float64]:
    """
    Sorted sides (d1 <= d2 <= d3) of all triangles a < b < c, lexicographic order, (T, 3).
    """
def triangle_sides_list(distances: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], triples: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float64]:
    """
    Sorted sides of the given triangles (T, 3) of point indices, (T, 3).
    """
def triangle_summary(distances: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], triples: typing.Annotated[numpy.typing.ArrayLike, numpy.int64] | None = None, tol: typing.SupportsFloat | typing.SupportsIndex = 0.05, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[float, float, int, int]:
    """
    (sum of d3 - d2, sum of (d3 - d2)^2, #near-isosceles ((d3 - d2) < tol d3), #triangles) over all triangles or the given triples, without storing them.
    """
def unpack_signs(words: typing.Annotated[numpy.typing.ArrayLike, numpy.uint64], n_bits: typing.SupportsInt | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.int8]:
    """
    Inverse of pack_signs: (M, N) int8 array of +-1.
    """
__version__: str = '0.1.0'
compiler: str = 'GNU 12.2.0'
curv_serial_work: int = 200000
has_openmp: bool = True
has_x86_simd: bool = True
