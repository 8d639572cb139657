"""
Maximum-entropy (Ising) models: sampling, exact moments, pseudo-likelihood, BP
"""
from __future__ import annotations
import numpy
import numpy.typing
import typing
__all__: list[str] = ['PLMOptions', 'bp_marginals', 'bp_run', 'exact_moments', 'plm_fit', 'plm_objective', 'sample']
class PLMOptions:
    """
    Settings of plm_fit (glasslens::ising::PLMOptions; the thread count is plm_fit's n_threads).
    """
    def __init__(self, *, l2: typing.SupportsFloat | typing.SupportsIndex = 0.0, l2_h: typing.SupportsFloat | typing.SupportsIndex = 0.0, l1: typing.SupportsFloat | typing.SupportsIndex = 0.0, max_iter: typing.SupportsInt | typing.SupportsIndex = 200, tol: typing.SupportsFloat | typing.SupportsIndex = 1e-05, ftol: typing.SupportsFloat | typing.SupportsIndex = 1e-14, history: typing.SupportsInt | typing.SupportsIndex = 10, block: typing.SupportsInt | typing.SupportsIndex = 32) -> None:
        ...
    @property
    def block(self) -> int:
        """
        spins optimised together (lock-step evaluation, one GEMM per round)
        """
    @block.setter
    def block(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def ftol(self) -> float:
        """
        ... or when an accepted step's predicted decrease <= ftol * max(1, |f_i|)
        """
    @ftol.setter
    def ftol(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def history(self) -> int:
        """
        L-BFGS memory
        """
    @history.setter
    def history(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def l1(self) -> float:
        """
        L1 penalty on the couplings (> 0: OWL-QN)
        """
    @l1.setter
    def l1(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def l2(self) -> float:
        """
        L2 penalty on the couplings J_ij
        """
    @l2.setter
    def l2(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def l2_h(self) -> float:
        """
        L2 penalty on the fields h_i
        """
    @l2_h.setter
    def l2_h(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def max_iter(self) -> int:
        """
        iterations per spin
        """
    @max_iter.setter
    def max_iter(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def tol(self) -> float:
        """
        stop when max |(pseudo-)gradient| <= tol
        """
    @tol.setter
    def tol(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
def bp_marginals(h: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], J: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], messages: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], with_C: bool = True, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.float64], typing.Any, float]:
    """
    BP marginals: (m, C = <s_i s_j> or None, Bethe free energy beta*F).
    """
def bp_run(h: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], J: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], messages: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, max_sweeps: typing.SupportsInt | typing.SupportsIndex = 1000, tol: typing.SupportsFloat | typing.SupportsIndex = 1e-06, mean_criterion: bool = False, damping: typing.SupportsFloat | typing.SupportsIndex = 0.0, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.float64], int, float, bool]:
    """
    Loopy BP, synchronous sweeps. messages[i, j] = m_{i->j}. Returns (messages, sweeps, residual, converged).
    """
def exact_moments(h: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], J: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[float, numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64]]:
    """
    Exact (ln Z, m, C) by Gray-code enumeration; C = <s_i s_j> with unit diagonal.
    """
def plm_fit(samples: typing.Annotated[numpy.typing.ArrayLike, numpy.int8], P0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, options: PLMOptions = ..., n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.float64], dict]:
    """
    Per-spin pseudo-likelihood fit (OWL-QN / L-BFGS). Returns (P, info) with P[i, j] = J_ij (row i, asymmetric), P[i, i] = h_i; info has per-spin f, grad_norm, iters, evals, status.
    """
def plm_objective(samples: typing.Annotated[numpy.typing.ArrayLike, numpy.int8], P: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], l2: typing.SupportsFloat | typing.SupportsIndex = 0.0, l2_h: typing.SupportsFloat | typing.SupportsIndex = 0.0, l1: typing.SupportsFloat | typing.SupportsIndex = 0.0, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64]]:
    """
    Per-spin pseudo-likelihood objective f (N,) and gradient of its smooth part G (N, N), parameters packed as in plm_fit.
    """
def sample(h: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], J: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], chains: typing.SupportsInt | typing.SupportsIndex, per_chain: typing.SupportsInt | typing.SupportsIndex, burn_in: typing.SupportsInt | typing.SupportsIndex, thin: typing.SupportsInt | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, method: str, init: typing.Annotated[numpy.typing.ArrayLike, numpy.int8] | None = None, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.int8], float]:
    """
    Monte Carlo samples of P(s) ~ exp(h.s + 1/2 s.J.s): returns (int8 (chains*per_chain, N), flip rate). Sequential sweeps; chain c uses the random stream (seed, c).
    """
