"""Inverse Ising: fit the pairwise maximum-entropy model to +-1 samples.

* ``fit_pseudolikelihood``: per-spin L2/L1-penalised logistic regressions (C++, OWL-QN),
  symmetrised afterwards (Aurell & Ekeberg's asymmetric pseudo-likelihood).
* ``fit_boltzmann``: Boltzmann learning (moment matching) with moments from belief propagation
  (the paper's method), Monte Carlo, or exact enumeration; keeps the lowest-error parameters.
* ``mean_field_init``: naive mean-field and TAP inversion of the connected correlations.
* Validation: ``moments``, ``compare_moments`` (means, connected pairwise and third-order
  correlations), ``reconstruction_error`` and ``planted_recovery``.
"""
from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import _core
from .._lib._threads import resolve_threads
from .._lib._validate import as_array, check_float, check_int, check_seed
from ._ising import BPConvergenceWarning, Ising, check_spins


# ---- moments ------------------------------------------------------------------------------------
def moments(samples: Any) -> Tuple[np.ndarray, np.ndarray]:
    """Data moments ``m = <s_i>`` (N,) and ``C = <s_i s_j>`` (N, N, not connected, unit diagonal),
    float64, from +-1 samples (M, N). Exact integer sums (float32 GEMM on chunks < 2^24 rows)."""
    X = check_spins(samples)
    M, N = X.shape
    C = np.zeros((N, N))
    step = 1 << 22
    for a in range(0, M, step):
        Xa = X[a:a + step].astype(np.float32)
        C += (Xa.T @ Xa).astype(np.float64)
    m = X.sum(axis=0, dtype=np.int64).astype(np.float64) / M
    return m, C / M


_sample_moments = moments  # the name `moments` is also a keyword argument below


def _data_moments(samples: Any, data_moments: Any, name: str = "samples") -> Tuple[np.ndarray, np.ndarray, Optional[int]]:
    if (samples is None) == (data_moments is None):
        raise ValueError(f"give exactly one of {name} and data_moments=(m, C)")
    if samples is not None:
        X = check_spins(samples, name)
        m, C = _sample_moments(X)
        return m, C, X.shape[0]
    try:
        m_raw, C_raw = data_moments
    except Exception as exc:
        raise TypeError("data_moments must be a pair (m, C)") from exc
    m = as_array(m_raw, "m", np.float64, ndim=1)
    n = m.shape[0]
    C = as_array(C_raw, "C", np.float64, shape=(n, n))
    if np.any(np.abs(m) > 1) or np.any(np.abs(C) > 1 + 1e-12):
        raise ValueError("moments of +-1 spins must lie in [-1, 1]")
    if np.max(np.abs(C - C.T)) > 1e-10:
        raise ValueError("C must be symmetric")
    return m, C, None


def _warn_constant(m: np.ndarray, what: str) -> None:
    const = np.flatnonzero(np.abs(m) >= 1.0)
    if const.size:
        warnings.warn(
            f"{const.size} spin(s) are constant in the data (first: {const[:5].tolist()}); their "
            f"maximum-likelihood fields are infinite - {what}",
            RuntimeWarning, stacklevel=3)


# ---- pseudo-likelihood --------------------------------------------------------------------------
def fit_pseudolikelihood(
    samples: Any,
    l2: float = 1e-4,
    l1: float = 0.0,
    l2_h: float = 1e-6,
    max_iter: int = 200,
    tol: float = 1e-5,
    history: int = 10,
    block: int = 32,
    symmetrize: bool = True,
    n_threads: Optional[int] = None,
) -> Ising:
    """Pseudo-likelihood fit of the Ising model to +-1 samples (M, N).

    Minimises, independently for every spin i (C++, OpenMP over blocks of spins),
    ``(1/M) sum_mu ln(1 + exp(-2 s_i^mu H_i^mu)) + l2 sum_j J_ij^2 + l1 sum_j |J_ij| + l2_h h_i^2``
    with ``H_i = h_i + sum_{j != i} J_ij s_j``, by L-BFGS (OWL-QN when l1 > 0) to
    max |gradient| <= tol; then ``J = (J + J^T) / 2`` (symmetrize=True). Constant spins get
    fields bounded only by ``l2_h`` (warned). The returned model's ``info`` holds the asymmetric
    couplings ``J_asym``, per-spin objective ``f``, ``grad_norm``, ``iters``, ``evals`` and
    ``status`` (0 gradient tolerance, 1 negligible predicted decrease, 2 max_iter,
    3 line search failed).

    Cost: about 4 M N^2 float32 flops per objective evaluation of all spins (two GEMM-like passes,
    AVX2 when available), ~20-30 evaluations; memory: one transposed int8 copy of the samples
    (M x N bytes) plus ~ block * N * (2 history + 8) doubles per thread. Deterministic for any
    n_threads and block.
    """
    X = check_spins(samples)
    M, N = X.shape
    if N < 2:
        raise ValueError("samples must have at least 2 spins")
    l2 = check_float(l2, "l2", 0.0)
    l1 = check_float(l1, "l1", 0.0)
    l2_h = check_float(l2_h, "l2_h", 0.0)
    max_iter = check_int(max_iter, "max_iter", 0)
    tol = check_float(tol, "tol", 0.0)
    history = check_int(history, "history", 1, 100)
    block = check_int(block, "block", 1, 4096)
    if M < 2:
        raise ValueError(f"samples has {M} row(s); need at least 2")
    m = X.mean(axis=0, dtype=np.float64)
    if l2_h == 0.0:
        _warn_constant(m, "l2_h = 0 lets them diverge; set l2_h > 0")
    else:
        _warn_constant(m, f"they are held finite by l2_h = {l2_h:g}")
    if M < N:
        warnings.warn(f"fewer samples ({M}) than spins ({N}): the fit is driven by the penalty",
                      RuntimeWarning, stacklevel=2)
    if not symmetrize:
        raise ValueError("symmetrize=False is not supported by Ising (J must be symmetric); "
                         "read model.info['J_asym'] instead")
    P, info = _core.maxent.plm_fit(X, None, _core.maxent.PLMOptions(
        l2=l2, l2_h=l2_h, l1=l1, max_iter=max_iter, tol=tol, ftol=1e-14, history=history,
        block=block), resolve_threads(n_threads))
    h = np.diag(P).copy()
    Ja = P.copy()
    np.fill_diagonal(Ja, 0.0)
    J = 0.5 * (Ja + Ja.T)
    model = Ising(h, J)
    model.info = dict(info)
    model.info.update({"method": "pseudolikelihood", "J_asym": Ja, "l2": l2, "l1": l1,
                       "l2_h": l2_h, "n_samples": M})
    return model


# ---- mean field ---------------------------------------------------------------------------------
def mean_field_init(
    samples: Any = None,
    method: str = "tap",
    data_moments: Any = None,
    reg: float = 1e-4,
    m_clip: float = 1 - 1e-4,
) -> Ising:
    """Naive mean-field (method="nmf") or TAP ("tap") inversion of samples (M, N) or of
    data_moments = (m, C).

    nMF: ``J = -(C_conn^{-1})`` off the diagonal, ``h_i = atanh(m_i) - sum_j J_ij m_j``.
    TAP: ``J_ij = -2 A_ij / (1 + sqrt(1 - 8 A_ij m_i m_j))`` with ``A = C_conn^{-1}``,
    ``h_i = atanh(m_i) - sum_j J_ij m_j + m_i sum_j J_ij^2 (1 - m_j^2)``.
    The connected correlation matrix gets ``reg`` on its diagonal (constant spins make it
    singular) and magnetisations are clipped to ``|m| <= m_clip``.
    """
    if method not in ("nmf", "tap"):
        raise ValueError(f"method must be 'nmf' or 'tap', got {method!r}")
    reg = check_float(reg, "reg", 0.0)
    m_clip = check_float(m_clip, "m_clip", 0.0, 1.0, low_open=True)
    m, C, _ = _data_moments(samples, data_moments)
    _warn_constant(m, f"mean-field fields clipped via |m| <= {m_clip}")
    N = m.shape[0]
    mc = np.clip(m, -m_clip, m_clip)
    Cc = C - np.outer(m, m)
    Cc[np.diag_indices(N)] = 1.0 - mc ** 2
    A = np.linalg.inv(Cc + reg * np.eye(N))
    if method == "nmf":
        J = -A
    else:
        mm = np.outer(mc, mc)
        disc = np.clip(1.0 - 8.0 * A * mm, 0.0, None)
        J = -2.0 * A / (1.0 + np.sqrt(disc))
    np.fill_diagonal(J, 0.0)
    J = 0.5 * (J + J.T)
    h = np.arctanh(mc) - J @ mc
    if method == "tap":
        h += mc * ((J ** 2) @ (1.0 - mc ** 2))
    model = Ising(h, J)
    model.info = {"method": method}
    return model


# ---- Boltzmann learning -------------------------------------------------------------------------
def moment_error(m_model: np.ndarray, C_model: np.ndarray, m_data: np.ndarray, C_data: np.ndarray) -> float:
    """``sqrt(mean_i dm_i^2 + mean_{i != j} dC_ij^2)`` (the paper's fit error)."""
    N = m_data.shape[0]
    dC = C_model - C_data
    off = ~np.eye(N, dtype=bool)
    return float(np.sqrt(np.mean((m_model - m_data) ** 2) + (np.mean(dC[off] ** 2) if N > 1 else 0.0)))


class FitConvergenceWarning(RuntimeWarning):
    """An iterative fit stopped without converging (still improving, or diverged: the error at the
    last iteration is well above the best one). The fit's ``info`` says which."""


def _frozen_mean_field(m_d: np.ndarray, C_d: np.ndarray, method: str, m_clip: float) -> Tuple[np.ndarray, np.ndarray]:
    """Mean-field start for Boltzmann learning. Spins frozen in the data (|m| >= m_clip) make the
    connected correlation matrix singular and give couplings ~ 1 / (1 - m^2) (thousands, BP then
    overflows); they get zero couplings and the clipped field atanh(m), the others the mean-field
    inversion among themselves."""
    N = m_d.shape[0]
    free = np.flatnonzero(np.abs(m_d) < m_clip)
    h = np.arctanh(np.clip(m_d, -m_clip, m_clip))
    J = np.zeros((N, N))
    if free.size >= 2:
        mf = mean_field_init(data_moments=(m_d[free], C_d[np.ix_(free, free)]), method=method,
                             m_clip=m_clip)
        J[np.ix_(free, free)] = mf.J
        h[free] = mf.h
    return h, J


def _bethe_inverse(m: Any, C: Any, eps: float = 1e-6) -> Ising:
    """The Ising model whose belief-propagation fixed point has exactly the moments ``m`` (N,) and
    ``C = <s_i s_j>`` (N, N) on the complete graph (the closed-form inverse of BP moments;
    Nguyen & Berg 2012, Ricci-Tersenghi 2012).

    With pair beliefs ``b_ij(s, t) = (1 + s m_i + t m_j + s t C_ij) / 4`` (clipped to >= eps):
    ``J_ij = 1/4 ln[b(++) b(--) / (b(+-) b(-+))]``, cavity fields
    ``H_{i\\j} = 1/4 ln[b(++) b(+-) / (b(-+) b(--))]`` and
    ``h_i = sum_{j != i} H_{i\\j} - (N - 2) atanh(m_i)``. BP on the returned model has a fixed
    point with these moments; it may be unstable (BP from zero messages then lands elsewhere),
    which ``fit_boltzmann(init="auto")`` checks.
    """
    m = as_array(m, "m", np.float64, ndim=1)
    N = m.shape[0]
    C = as_array(C, "C", np.float64, shape=(N, N))
    mi, mj = m[:, None], m[None, :]
    pp, pm, mp, mm = (np.clip((1 + s * mi + t * mj + s * t * C) / 4, eps, None)
                      for s, t in ((1, 1), (1, -1), (-1, 1), (-1, -1)))
    J = 0.25 * np.log(pp * mm / (pm * mp))
    Hc = 0.25 * np.log(pp * pm / (mp * mm))
    np.fill_diagonal(J, 0.0)
    np.fill_diagonal(Hc, 0.0)
    H = np.arctanh(np.clip(m, -1 + eps, 1 - eps))
    h = Hc.sum(axis=1) - (N - 2) * H
    model = Ising(h, 0.5 * (J + J.T))
    model.info = {"method": "bethe-inverse", "eps": eps}
    return model


def fit_boltzmann(
    samples: Any = None,
    moments: str = "bp",
    data_moments: Any = None,
    lr_J: float = 0.01,
    lr_h: float = 0.3,
    gamma: float = 1e-4,
    iters: int = 100,
    keep_after: int = 50,
    init: Any = "auto",
    init_scale: float = 1e-3,
    bp_tol: float = 1e-6,
    bp_criterion: str = "max",
    bp_max_sweeps: int = 1000,
    damping: float = 0.0,
    mc_samples: int = 20000,
    mc_chains: int = 8,
    mc_burn_in: int = 200,
    seed: int = 0,
    n_threads: Optional[int] = None,
    step: str = "auto",
    lr_grow: float = 1.1,
    lr_shrink: float = 0.5,
    conv_window: int = 10,
    conv_rtol: float = 0.01,
    conv_atol: Optional[float] = None,
    warn: bool = True,
    explore: Optional[int] = None,
    adam_lr_J: float = 0.003,
    adam_lr_h: float = 0.03,
) -> Ising:
    """Boltzmann learning (gradient ascent of the likelihood by moment matching).

    samples: +-1 data (M, N), or give data_moments = (m, C) instead (C = <s_i s_j>).
    Each iteration computes model moments (moments = "bp": loopy BP warm-started from the previous
    messages, the paper's choice; "mc": Metropolis samples; "exact": enumeration, N <= 20) and
    takes the step ``J <- J - a lr_J ((C_model - C_data) + gamma J)``, ``h <- h - a lr_h
    (m_model - m_data)`` with a step scale ``a``.

    step: how ``a`` is chosen.

    * "adaptive" (the default for BP and exact moments; "auto"): backtracking on the gradient norm
      ("bold driver"). ``a`` starts at 1; a step whose new parameters have a larger error than the
      current ones is rejected (parameters and BP messages revert) and ``a *= lr_shrink``; an
      accepted step sets ``a = min(1, a * lr_grow)``. The merit is the squared gradient norm in
      the metric of the steps, ``g^T P g`` with ``P = diag(lr_J, lr_h)`` and g the moment
      mismatch (plus gamma J); with BP a trial is also rejected when undamped BP does not
      converge from the warm start. So lr_J and lr_h are the initial and
      *maximum* steps. Why: on polarised data the likelihood's curvature in J is large (top
      eigenvalue ~960 on the authors' shallow data), plain steps are stable only for lr_J <~ 0.002
      and the paper's 0.01 diverges (error 0.26 instead of 0.029); backtracking settles at
      lr_J ~ 3e-4 there by itself and the error decreases monotonically (bench/results/maxent.md).
      The returned parameters are the last accepted iterate, which is also the best one;
      keep_after is not used.
      With BP, every ``check_every = 10`` accepted steps (and at the end) BP is rerun from zero
      messages: its moments replace the warm-started ones when their error agrees (within 2%) or
      is still lower than at the last check; otherwise the parameters go back to the last check
      and the step halves (``info["n_check_failed"]``). So the returned fit's moments are those of
      BP from zero messages, what a user of the model gets.
    * "fixed" (the default for "mc", whose noisy error cannot arbitrate steps): ``a = 1``, the
      paper's rule; returns the lowest-error parameters among ``errors[keep_after:]`` (all if
      iters <= keep_after) and says so (FitConvergenceWarning) if the last iterate is much worse.

    Convergence (``info["converged"]``): the error of the current parameters at the last iteration
    is within 10% of the best error seen and improved by at most ``conv_rtol`` (relative) over the
    last ``conv_window`` iterations, and the step did not collapse (a > 1e-6; exact moments only);
    and BP from zero messages agrees with the reported moments; or the error is
    below ``conv_atol`` (moments matched; default 1e-5 with data_moments, 0.25 / sqrt(M) with M
    samples - a quarter of the sampling noise of one moment). A fit that did not
    converge - still improving, diverged, or stuck - raises a FitConvergenceWarning (warn=True)
    naming the reason (``info["reason"]``). With step="fixed" a run whose last error is more than
    twice the best is reported as diverged: the best iterate is returned, but not silently.

    init: "auto" (default): with BP moments and the adaptive step, "bethe" when BP from zero
    messages on it has a lower error than the random start, else "random"; otherwise "random".
    "bethe": the closed-form inverse of BP moments (``J_ij = 1/4 ln[b(++) b(--) / (b(+-) b(-+))]``
    from the data's pair marginals, Nguyen & Berg 2012), exact whenever the data's moments are
    those of a stable BP fixed point (e.g. the authors' over ITER block: error 1.4e-7 at once).
    "random" (small symmetric J ~ N(0, init_scale^2), h = 0), "tap"/"nmf" (mean field; spins
    frozen in the data get zero couplings and the field atanh(1 - 1e-4) - their unclipped
    mean-field couplings are ~1/(1 - m^2) and overflow BP) or an Ising model.
    BP runs to max |dm| <= bp_tol = 1e-6 by default, stricter than the authors' mean |dm| <= 1e-4:
    with warm starts, the loose rule lets learning settle on parameters whose BP solution is
    unstable (seen on the authors' RB block: BP restarted from zero then lands elsewhere, moment
    error 1.0 instead of 0.02). After learning, BP is rerun from zero messages and a
    BPConvergenceWarning is raised if it disagrees by more than 2x (``info["cold_bp_error"]``).

    explore: Adam iterations before the backtracking phase (BP moments with the adaptive step
    only; None = 2 x iters there when iters >= 100 (200 by default), else 0 - a short
    exploration does not pay: 40 Adam steps before 20 iterations on a small shallow fit ended at
    0.040 against 0.033 without; skipped when the start already has error <= conv_atol).
    Adam steps (peak rates adam_lr_J, adam_lr_h per coordinate, cosine decay to 0, BP warm-started)
    wander over BP branches; the six lowest-error iterates are rerun with BP from zero messages and
    the best of them (if better than the start) starts the backtracking phase. Why: from a small
    random J the plain Boltzmann step follows one BP branch to its spinodal and stalls there
    (authors' LB/RB blocks: 0.031-0.049, above the authors' 0.025-0.057 and inconsistent with BP
    from zero messages); Adam's coordinate-wise steps reach branches with lower error, and the
    backtracking phase then ends at or below the authors' fits (bench/results/maxent.md).
    A step collapse with BP (``info["at_boundary"]``) is then not a failure: the checked fit sits
    at the edge of its BP branch and no step along the gradient keeps BP there.

    ``info``: ``errors`` (iters + 1 entries: the error of the start of the backtracking phase, then
    of the current parameters after every iteration; with step "adaptive" the merit ``g^T P g``
    never increases between checks and the moment error nearly never), ``trial_errors`` (error of
    every evaluated iterate, rejected ones included), ``steps`` (the scale ``a`` used by each iteration's step: lr_J * a, lr_h * a),
    ``converged``, ``reason``, ``final_error`` (error of the returned parameters), ``last_error``
    (of the current parameters at the last iteration), ``best_error``, ``best_iter``,
    ``iterations``, ``n_rejected``, ``cold_bp_error``, ``bp_nonconverged``, ``start`` ("init",
    "bethe" or "explore"), ``explore_errors``, ``n_check_failed``, ``at_boundary``. A fit whose
    BP from zero messages disagrees with the reported moments (by > 2%) is not converged. With
    BP moments,
    ``info["bp_messages"]`` holds the messages behind the returned parameters' moments: pass them
    as ``model.bp(messages=...)`` (and as a landscape warm start) - a fit can have several BP fixed
    points, and BP started from zero messages may land on another one (e.g. a flipped state).
    """
    method = moments
    if method not in ("bp", "mc", "exact"):
        raise ValueError(f"moments must be 'bp', 'mc' or 'exact', got {method!r}")
    if step not in ("auto", "adaptive", "fixed"):
        raise ValueError(f"step must be 'auto', 'adaptive' or 'fixed', got {step!r}")
    adaptive = step == "adaptive" or (step == "auto" and method != "mc")
    m_d, C_d, n_samp = _data_moments(samples, data_moments)
    N = m_d.shape[0]
    lr_J = check_float(lr_J, "lr_J", 0.0)
    lr_h = check_float(lr_h, "lr_h", 0.0)
    gamma = check_float(gamma, "gamma", 0.0)
    iters = check_int(iters, "iters", 1, 10**7)
    keep_after = check_int(keep_after, "keep_after", 0)
    lr_grow = check_float(lr_grow, "lr_grow", 1.0)
    lr_shrink = check_float(lr_shrink, "lr_shrink", 0.0, 1.0, low_open=True)
    conv_window = check_int(conv_window, "conv_window", 1)
    conv_rtol = check_float(conv_rtol, "conv_rtol", 0.0)
    if conv_atol is None:  # a quarter of one moment's sampling noise, 1/sqrt(M)
        conv_atol = 1e-5 if n_samp is None else 0.25 / np.sqrt(n_samp)
    conv_atol = check_float(conv_atol, "conv_atol", 0.0)
    seed = check_seed(seed)
    nt = resolve_threads(n_threads)
    if method == "exact" and N > 20:
        raise ValueError(f"moments='exact' needs N <= 20, got N = {N}")
    explore_n = (2 * iters if adaptive and method == "bp" and iters >= 100 else 0) \
        if explore is None else \
        check_int(explore, "explore", 0, 10**7)
    adam_lr_J = check_float(adam_lr_J, "adam_lr_J", 0.0)
    adam_lr_h = check_float(adam_lr_h, "adam_lr_h", 0.0)
    check_every = 10  # accepted steps between checks with BP from zero messages
    if isinstance(init, str) and init == "auto":
        init = "bethe+random" if method == "bp" and adaptive else "random"
    rng = np.random.default_rng(seed)
    bethe_start = None
    if isinstance(init, str) and init in ("bethe", "bethe+random"):
        bethe_start = _bethe_inverse(m_d, C_d)
        if init == "bethe":
            init = bethe_start
    if isinstance(init, Ising):
        if init.n != N:
            raise ValueError(f"init has N = {init.n}, data has N = {N}")
        h, J = init.h.copy(), init.J.copy()
    elif isinstance(init, str) and init in ("random", "bethe+random"):
        A = rng.normal(0.0, check_float(init_scale, "init_scale", 0.0), size=(N, N))
        J = np.triu(A, 1)
        J = J + J.T
        h = np.zeros(N)
    elif isinstance(init, str) and init in ("tap", "nmf"):
        h, J = _frozen_mean_field(m_d, C_d, init, 1 - 1e-4)
        if not (np.all(np.isfinite(J)) and np.all(np.isfinite(h))):
            raise FloatingPointError(f"init={init!r}: the mean-field inversion of the data's "
                                     f"connected correlations is not finite; use init='random'")
    else:
        raise ValueError(f"init must be 'auto', 'random', 'bethe', 'tap', 'nmf' or an Ising model, "
                         f"got {init!r}")

    def evaluate(h: np.ndarray, J: np.ndarray, msg: Optional[np.ndarray]):
        """Model moments, BP messages, BP convergence, moment error and the step rule's merit."""
        model = Ising(h, J)
        conv = True
        if method == "bp":
            st = model.bp(messages=msg, tol=bp_tol, max_sweeps=bp_max_sweeps,
                          criterion=bp_criterion, damping=damping, warn=False,
                          auto_damping=0.0 if adaptive else 0.5, n_threads=nt)
            m_m, C_m, msg, conv = st.m, st.C, st.messages, st.converged
        elif method == "exact":
            ex = model.exact_moments(n_threads=nt)
            m_m, C_m = ex["m"], ex["C"]
        else:
            X = model.sample(mc_samples, method="metropolis", burn_in=mc_burn_in,
                             chains=mc_chains, seed=int(rng.integers(2**63)), n_threads=nt)
            m_m, C_m = _sample_moments(X)
        # merit of the step rule: the squared gradient norm in the metric of the steps,
        # g^T P g with P = diag(lr_J, lr_h); -P g is a descent direction of it for any symmetric
        # positive semi-definite curvature (the plain moment error's weights are not, and steps
        # stall near its minimum)
        gJ = (C_m - C_d) + gamma * J
        np.fill_diagonal(gJ, 0.0)
        nll = float(0.5 * lr_J * np.sum(gJ * gJ) + lr_h * np.sum((m_m - m_d) ** 2))
        return m_m, C_m, msg, conv, moment_error(m_m, C_m, m_d, C_d), nll

    start = 0 if adaptive or iters <= keep_after else keep_after
    msg = None
    errors: List[float] = []
    trials: List[float] = []
    steps: List[float] = []
    nonconv = 0
    n_rej = 0
    a = 1.0
    m_m, C_m, msg, conv, err, nll = evaluate(h, J, msg)
    if not np.isfinite(err):
        why = ""
        if isinstance(init, str) and init in ("tap", "nmf"):
            free = np.abs(m_d) < 1 - 1e-4
            Cc = (C_d - np.outer(m_d, m_d))[np.ix_(free, free)]
            ev = np.linalg.eigvalsh(Cc) if Cc.size else np.ones(1)
            why = (f": the {init} inversion gives couplings up to |J| = {np.max(np.abs(J)):.3g} "
                   f"(connected correlations of the {int(free.sum())} non-frozen spins have "
                   f"eigenvalues {ev.min():.2g}..{ev.max():.2g}, nearly singular), far outside "
                   f"the range where BP is defined; use init='random'")
        raise FloatingPointError("the initial parameters give non-finite model moments"
                                 + (" (BP overflowed)" if method == "bp" else "") + why)
    verify = adaptive and method == "bp"  # BP from zero messages must give the reported moments
    start_from = "init"
    if bethe_start is not None and err > conv_atol:
        r = evaluate(bethe_start.h, bethe_start.J, None)
        if r[3] and (r[4] < err or not conv):
            h, J = bethe_start.h.copy(), bethe_start.J.copy()
            m_m, C_m, msg, conv, err, nll = r
            start_from = "bethe"
    explore_errors: List[float] = []
    if verify and explore_n > 0 and err > conv_atol:
        # Exploration: Adam (diagonally preconditioned, momentum) with a cosine-decaying rate,
        # BP warm-started along the path. Plain Boltzmann steps from a small random J follow one
        # BP branch to its spinodal and stall there (deep LB/RB blocks); Adam's coordinate-wise
        # steps reach other branches with lower error. The lowest-error iterates are then checked
        # with BP from zero messages; the best checked one starts the backtracking phase.
        xh, xJ, xmsg, xm, xC = h.copy(), J.copy(), msg, m_m, C_m
        mom = [np.zeros_like(J), np.zeros_like(h)]
        var = [np.zeros_like(J), np.zeros_like(h)]
        cands: List[Tuple[float, int, np.ndarray, np.ndarray]] = []
        for t in range(explore_n):
            fac = 0.5 * (1.0 + np.cos(np.pi * t / explore_n))
            gJ = (xC - C_d) + gamma * xJ
            np.fill_diagonal(gJ, 0.0)
            step_ = []
            for k, g in enumerate((gJ, xm - m_d)):
                mom[k] = 0.9 * mom[k] + 0.1 * g
                var[k] = 0.999 * var[k] + 0.001 * g * g
                step_.append((mom[k] / (1 - 0.9 ** (t + 1)))
                             / (np.sqrt(var[k] / (1 - 0.999 ** (t + 1))) + 1e-8))
            xJ = xJ - (fac * adam_lr_J) * step_[0]
            xJ = 0.5 * (xJ + xJ.T)
            np.fill_diagonal(xJ, 0.0)
            xh = xh - (fac * adam_lr_h) * step_[1]
            xm, xC, xmsg_n, xconv, xerr, _ = evaluate(xh, xJ, None if xmsg is None else xmsg.copy())
            if not np.isfinite(xerr):
                break
            xmsg = xmsg_n
            explore_errors.append(xerr)
            if xconv and (len(cands) < 6 or xerr < cands[-1][0]):
                cands = sorted(cands + [(xerr, t, xh.copy(), xJ.copy())], key=lambda c: c[0])[:6]
        for ce, _, ch, cJ in cands:  # lowest first; BP from zero messages decides
            if ce >= err:
                break
            r = evaluate(ch, cJ, None)
            if r[3] and r[4] < err:
                h, J = ch, cJ
                m_m, C_m, msg, conv, err, nll = r
                start_from = "explore"
                if r[4] <= 1.02 * ce + 1e-5:
                    break
    errors.append(err)
    best: Tuple[float, np.ndarray, np.ndarray, int] = (np.inf, h, J, -1)
    best_msg: Optional[np.ndarray] = None
    cur = (err, h, J, msg, m_m, C_m, nll)  # current (accepted) parameters and their moments
    checked = cur  # last current parameters whose moments came from BP from zero messages
    since = 0  # accepted steps since then
    n_cold_fail = 0

    def check(cur, checked, a):
        """BP from zero messages on the current parameters: keep them with those moments when
        the error agrees (within 2%) or is still below the last checked one's, else go back to
        the last checked parameters; halve a unless they agreed."""
        r = evaluate(cur[1], cur[2], None)
        new = (r[4], cur[1], cur[2], r[2], r[0], r[1], r[5])
        if r[3] and r[4] <= 1.02 * cur[0] + 1e-5:
            return new, new, a, 0
        if r[3] and r[4] < checked[0]:  # another fixed point, but still better: continue there
            return new, new, a * lr_shrink, 0
        return checked, checked, a * lr_shrink, 1

    for t in range(iters):
        err = cur[0]
        if t >= start and err < best[0]:
            best = (err, cur[1].copy(), cur[2].copy(), t)
            best_msg = None if cur[3] is None else cur[3].copy()
        _, h, J, msg, m_m, C_m, nll = cur
        dJ = (C_m - C_d) + gamma * J
        np.fill_diagonal(dJ, 0.0)
        Jn = J - (a * lr_J) * dJ
        Jn = 0.5 * (Jn + Jn.T)
        hn = h - (a * lr_h) * (m_m - m_d)
        steps.append(a)
        if not (np.all(np.isfinite(Jn)) and np.all(np.isfinite(hn))):
            raise FloatingPointError(f"Boltzmann learning diverged at iteration {t}; lower lr_J/lr_h")
        m_n, C_n, msg_n, conv, err_n, nll_n = evaluate(hn, Jn, None if msg is None else msg.copy())
        nonconv += (not conv) and not adaptive  # adaptive: such trials are rejected
        trials.append(err_n)
        if adaptive and not (conv and nll_n <= nll):  # also rejects NaN
            n_rej += 1
            a *= lr_shrink
        else:
            if adaptive:
                a = min(1.0, a * lr_grow)
            elif not np.isfinite(err_n):
                raise FloatingPointError(f"Boltzmann learning diverged at iteration {t}; "
                                         f"lower lr_J/lr_h")
            cur = (err_n, hn, Jn, msg_n, m_n, C_n, nll_n)
            since += 1
            if verify and (since >= check_every or t == iters - 1):
                cur, checked, a, f = check(cur, checked, a)
                n_cold_fail += f
                since = 0
        errors.append(cur[0])
    if verify and since:  # (only when the last iteration rejected its step)
        cur, checked, a, f = check(cur, checked, a)
        n_cold_fail += f
        errors[-1] = cur[0]
    if iters >= start and cur[0] < best[0]:
        best = (cur[0], cur[1].copy(), cur[2].copy(), iters)
        best_msg = None if cur[3] is None else cur[3].copy()
    if nonconv and warn:
        warnings.warn(f"BP did not reach tol {bp_tol:g} in {nonconv} of {iters} iterations; "
                      f"moments there are approximate (try damping > 0)", BPConvergenceWarning,
                      stacklevel=2)
    # convergence verdict
    E = np.asarray(errors)
    last = float(E[-1])
    best_all = float(min(E.min(), best[0]))
    w = min(conv_window, len(E) - 1)
    prev = float(E[-1 - w]) if w >= 1 else np.inf
    improving = prev - last > conv_rtol * max(last, 1e-300)
    if last <= conv_atol:
        reason = ""
    elif last > 2.0 * best_all + 1e-12:
        reason = (f"diverged: error at the last iteration {last:.3g} vs best {best_all:.3g}; "
                  f"the best iterate is returned")
    elif last > 1.1 * best_all + 1e-12:
        reason = f"unstable: error at the last iteration {last:.3g} vs best {best_all:.3g}"
    elif adaptive and a < 1e-6 and not verify:
        reason = f"step collapsed to {a:.2g} x (lr_J, lr_h) without reaching a stationary point"
    elif improving:
        reason = (f"still improving: error {prev:.3g} -> {last:.3g} over the last {w} iterations "
                  f"(> {conv_rtol:g} relative); raise iters")
    else:
        reason = ""
    if adaptive:  # the current iterate is the best one
        best = (cur[0], cur[1].copy(), cur[2].copy(), int(np.flatnonzero(E <= cur[0])[0]))
        best_msg = None if cur[3] is None else cur[3].copy()
    out = Ising(best[1], best[2])
    cold_err = None
    if method == "bp":
        # BP from zero messages must land on the same solution; if it does not, learning tracked
        # an unstable BP fixed point through its warm starts, and the fit is not converged.
        st = out.bp(tol=bp_tol, max_sweeps=bp_max_sweeps, criterion=bp_criterion,
                    damping=damping, warn=False, n_threads=nt)
        cold_err = moment_error(st.m, st.C, m_d, C_d)
        if cold_err > 1.02 * best[0] + 1e-5:
            reason = (f"BP from zero messages reaches another fixed point of the fit (moment error "
                      f"{cold_err:.3g} vs {best[0]:.3g} with the messages of learning)"
                      + (f"; {reason}" if reason else ""))
        if cold_err > 2.0 * best[0] + 1e-3 and warn:
            warnings.warn(
                f"BP from zero messages reaches a different fixed point of the fitted model (moment "
                f"error {cold_err:.3g} vs {best[0]:.3g} during learning): the fit tracked an "
                f"unstable BP solution; use a tighter bp_tol with bp_criterion='max'",
                BPConvergenceWarning, stacklevel=2)
    converged = not reason
    if not converged and warn:
        warnings.warn(f"Boltzmann learning did not converge in {iters} iterations: {reason}",
                      FitConvergenceWarning, stacklevel=2)
    out.info = {"method": f"boltzmann-{method}", "step": "adaptive" if adaptive else "fixed",
                "errors": E, "trial_errors": np.array(trials), "steps": np.array(steps),
                "bp_messages": best_msg, "cold_bp_error": cold_err,
                "converged": bool(converged), "reason": reason,
                "final_error": float(best[0]), "last_error": last,
                "best_error": float(best[0]), "best_iter": int(best[3]),
                "iterations": int(iters), "n_rejected": int(n_rej),
                "bp_nonconverged": int(nonconv), "start": start_from,
                "explore_errors": np.array(explore_errors), "n_check_failed": int(n_cold_fail),
                "at_boundary": bool(adaptive and a < 1e-6)}
    return out


# ---- validation ---------------------------------------------------------------------------------
def _third_order(X: np.ndarray, m: np.ndarray, trip: np.ndarray) -> np.ndarray:
    D = X.astype(np.float64) - m
    out = np.empty(len(trip))
    for a in range(0, len(trip), 4096):
        t = trip[a:a + 4096]
        out[a:a + 4096] = np.mean(D[:, t[:, 0]] * D[:, t[:, 1]] * D[:, t[:, 2]], axis=0)
    return out


def compare_moments(
    model_samples: Any,
    data: Any,
    n_triplets: int = 20000,
    seed: int = 0,
) -> Dict[str, Any]:
    """Compare model samples (M1, N) with data samples (M2, N): means, connected pairwise
    correlations ``C_ij - m_i m_j`` (i < j) and connected third-order correlations
    ``<(s_i - m_i)(s_j - m_j)(s_k - m_k)>`` (all i < j < k when there are at most n_triplets,
    else a random subset). Returns per-order arrays (model, data), RMS and max absolute errors
    and Pearson correlations."""
    Xm = check_spins(model_samples, "model_samples")
    Xd = check_spins(data, "data", Xm.shape[1])
    N = Xm.shape[1]
    n_triplets = check_int(n_triplets, "n_triplets", 1)
    mm, Cm = moments(Xm)
    md, Cd = moments(Xd)
    iu = np.triu_indices(N, 1)
    cm = (Cm - np.outer(mm, mm))[iu]
    cd = (Cd - np.outer(md, md))[iu]
    total = N * (N - 1) * (N - 2) // 6
    if total == 0:
        trip = np.zeros((0, 3), dtype=np.int64)
    elif total <= n_triplets:
        i, j, k = np.meshgrid(np.arange(N), np.arange(N), np.arange(N), indexing="ij")
        sel = (i < j) & (j < k)
        trip = np.stack([i[sel], j[sel], k[sel]], axis=1)
    else:
        rng = np.random.default_rng(check_seed(seed))
        trip = np.sort(np.stack([rng.choice(N, 3, replace=False) for _ in range(n_triplets)]), axis=1)
    tm = _third_order(Xm, mm, trip)
    td = _third_order(Xd, md, trip)

    def stats(a: np.ndarray, b: np.ndarray) -> Dict[str, float]:
        if a.size == 0:
            return {"rms": 0.0, "max": 0.0, "pearson": float("nan")}
        d = a - b
        pr = float(np.corrcoef(a, b)[0, 1]) if a.size > 1 and a.std() > 0 and b.std() > 0 else float("nan")
        return {"rms": float(np.sqrt(np.mean(d ** 2))), "max": float(np.max(np.abs(d))), "pearson": pr}

    return {
        "means": {"model": mm, "data": md, **stats(mm, md)},
        "pairwise": {"model": cm, "data": cd, **stats(cm, cd)},
        "third": {"model": tm, "data": td, "triplets": trip, **stats(tm, td)},
    }


def reconstruction_error(true: Ising, fitted: Ising) -> Dict[str, float]:
    """Coupling and field errors of a fit against the planted model: ``J_rel`` =
    ||J_fit - J_true||_F / ||J_true||_F (off-diagonal), ``J_rms``, ``J_max``, ``h_rms``."""
    if true.n != fitted.n:
        raise ValueError(f"models differ in size: {true.n} vs {fitted.n}")
    iu = np.triu_indices(true.n, 1)
    d = fitted.J[iu] - true.J[iu]
    nt = np.linalg.norm(true.J[iu])
    return {
        "J_rel": float(np.linalg.norm(d) / nt) if nt > 0 else float(np.linalg.norm(d)),
        "J_rms": float(np.sqrt(np.mean(d ** 2))) if d.size else 0.0,
        "J_max": float(np.max(np.abs(d))) if d.size else 0.0,
        "h_rms": float(np.sqrt(np.mean((fitted.h - true.h) ** 2))),
    }


def planted_recovery(
    model: Ising,
    sizes: Sequence[int] = (1000, 10000, 100000),
    fit: str = "pseudolikelihood",
    sample_kwargs: Optional[Dict[str, Any]] = None,
    fit_kwargs: Optional[Dict[str, Any]] = None,
    seed: int = 0,
    n_threads: Optional[int] = None,
) -> List[Dict[str, Any]]:
    """Sample the planted ``model`` (Metropolis, nested sample sets of the given sizes), fit it
    back (fit = "pseudolikelihood", "boltzmann" or "tap"/"nmf") and report the reconstruction
    error for each sample size: a list of dicts with ``n_samples`` and the keys of
    ``reconstruction_error``."""
    if not isinstance(model, Ising):
        raise TypeError("model must be an Ising model")
    sizes = [check_int(int(s), "sizes entry", 2) for s in sizes]
    if not sizes:
        raise ValueError("sizes must not be empty")
    kw = {"burn_in": 500, "thin": 2, "chains": 16}
    kw.update(sample_kwargs or {})
    X = model.sample(max(sizes), seed=check_seed(seed), n_threads=n_threads, **kw)
    rng = np.random.default_rng(seed)
    X = X[rng.permutation(len(X))]  # mix chains so every prefix spans all of them
    out = []
    for M in sizes:
        fk = dict(fit_kwargs or {})
        if fit == "pseudolikelihood":
            est = fit_pseudolikelihood(X[:M], n_threads=n_threads, **fk)
        elif fit == "boltzmann":
            est = fit_boltzmann(X[:M], n_threads=n_threads, **fk)
        elif fit in ("tap", "nmf"):
            est = mean_field_init(X[:M], method=fit, **fk)
        else:
            raise ValueError(f"fit must be 'pseudolikelihood', 'boltzmann', 'tap' or 'nmf', got {fit!r}")
        out.append({"n_samples": M, **reconstruction_error(model, est)})
    return out
