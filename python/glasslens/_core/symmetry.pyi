"""
Protocol 2: linear assignment (single, batched, all replica pairs)
"""
from __future__ import annotations
import numpy
import numpy.typing
import typing
__all__: list[str] = ['lap_all_pairs', 'lap_solve', 'lap_solve_batch']
def lap_all_pairs(U: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], n_threads: typing.SupportsInt | typing.SupportsIndex = 0, return_costs: bool = False, warm_start: bool = True) -> tuple:
    """
    All-pairs weight matching of unit features U (M, H, D) float32: for every a < b the float32 cost C_ab = U[b] @ U[a].T (rows: units of b) and its exact maximum-weight assignment. Returns (perms (M, M, H) int64, totals (M, M) float64) [+ costs (M (M-1)/2, H, H) float32, pairs a < b in row-major order]: perms[a, b, j] is the unit of b matched to unit j of a, totals[a, b] the optimal value (diagonal: squared norm of U[a], in double). warm_start: start each LAP after the first of a task (a against a block of 32 later b) from the mean column duals of the task's earlier pairs (exact either way; fewer iterations). Bit-identical for any n_threads.
    """
def lap_solve(cost: numpy.ndarray, maximize: bool = False, duals: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, return_duals: bool = False) -> tuple:
    """
    Exact dense linear assignment of a (n, m) float64 (or float32, solved in double) cost matrix (shortest augmenting path Jonker-Volgenant). Returns (row_ind, col_ind, total) or, with return_duals, (row_ind, col_ind, total, u, v): the duals of the internal minimisation problem (transposed when n > m; negated costs when maximizing). `duals` (m,) warm-starts a square problem with column duals v.
    """
def lap_solve_batch(costs: numpy.ndarray, maximize: bool = False, duals: typing.Annotated[numpy.typing.ArrayLike, numpy.float64] | None = None, return_duals: bool = False, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple:
    """
    Solves B independent (n, m) assignment problems (costs (B, n, m) float64 or float32) in parallel with OpenMP. Returns (row_ind (B,k), col_ind (B,k), totals (B,)) [+ u (B,k), v (B,max(n,m))].
    """
