"""The data-driven effective model of Zou & Huang 2021, end to end.

``run_effective_model(dataset, regime)``:

1. trains many binary LR-nets with the paper's settings (:func:`glasslens.binarynet.paper_preset`);
2. draws +-1 weight configurations from every trained network, each with its test accuracy
   (optionally keeping only configurations above an accuracy threshold);
3. fits a pairwise maximum-entropy (Ising) model per block of weights - LB (input -> h1),
   ITER (h1 -> h2), RB (h2 -> output) for the deep 20-15-15-10 net; FULL for the shallow net -
   by Boltzmann learning with belief-propagation moments (the paper's method) or by
   pseudo-likelihood;
4. computes the entropy landscape of every block around low-, medium- and high-energy reference
   configurations (tilted BP, swept both ways so first-order jumps show up as hysteresis) and the
   per-block liquid/solid indicators, plus the TAP free energies from many random starts
   (number of distinct states);
5. optionally (``alignment="both"`` or ``"aligned"``) repeats steps 3-4 on the same samples
   brought into a common hidden-unit labelling (:func:`align_hidden_units`,
   :func:`permute_configurations`): hidden units are interchangeable, so part of what looks like
   a "liquid" (structureless) middle layer can be permutation symmetry (Zou & Huang's own
   permutation test; docs section 10). Reporting both variants shows how much.

The result keeps every intermediate product so each step can be inspected or redone.
``analyse_configurations`` runs steps 3-4 on +-1 samples you already have.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import warnings

import numpy as np

from .._lib._alignment import COMMON_LABELLING, check_alignment, check_alignments
from .._lib._deprecation import renamed_kwargs, warn_moved
from .._lib._results import Result, figure_axes, markdown_table
from .._lib._validate import as_array, check_float, check_int, check_seed
from .._lib._limits import MAX_RUNS
from ._binarynet import (
    BinaryEnsemble,
    BinarySamples,
    PaperPreset,
    block_indices,
    paper_preset,
    sample_configurations,
    train_binary,
)

_UNSET: Any = object()

__all__ = [
    "EffectiveModelResult",
    "BlockAnalysis",
    "run_effective_model",
    "analyse_configurations",
    "align_hidden_units",
    "permute_configurations",
    "liquid_solid_table",
]


@dataclass
class BlockAnalysis(Result):
    """Maximum-entropy fits and their geometry for one set of +-1 samples, per block.

    fits : block name -> fitted ``maxent.Ising``
    moments : block name -> (m (N,), C (N, N) = <s_i s_j>) of the samples
    references : block name -> {"low"|"medium"|"high": row indices into the samples}
    landscapes : block name -> {level: [maxent.Landscape per reference]}
    tap : block name -> {"free_energy": (K,) per spin of the converged TAP solutions,
        "n_states": distinct solutions, "n_converged", "n_starts"}
    summaries : block name -> liquid/solid indicators: ``n``, ``J_std``, ``mean_abs_conn_C``,
        ``mean_abs_m``, ``std_m`` (``maxent.block_summary``), ``n_constant`` (spins constant in
        the samples), for Boltzmann fits ``fit_error`` / ``cold_bp_error`` (moment error
        sqrt(mean dm^2 + mean dC^2) with the learning's and with fresh BP messages), with landscapes ``s_over_H2_min``/``max``/``mean`` (s(d)/H2(d) over every
        converged landscape point with 0.01 < d < 0.99: the "liquid-like score", 1 for a
        paramagnet), ``n_jumps``, ``bp_nonconverged``; with TAP ``n_tap_states``.
    """

    fits: Dict[str, Any] = field(default_factory=dict)
    moments: Dict[str, Any] = field(default_factory=dict)
    references: Dict[str, Dict[str, np.ndarray]] = field(default_factory=dict)
    landscapes: Dict[str, Dict[str, List[Any]]] = field(default_factory=dict)
    tap: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    summaries: Dict[str, Dict[str, float]] = field(default_factory=dict)

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        """Per block the indicators, jumps and TAP histogram (:func:`analysis_to_dict`); the
        landscape curves and magnetisations with ``arrays=True``."""
        out = analysis_to_dict(self, curves=arrays)
        if not arrays:
            for d in out.values():
                d.pop("magnetisations", None)
        return out

    def table(self) -> str:
        """Markdown table of the per-block liquid/solid indicators."""
        rows = [{"block": b, **{k: _f(v) for k, v in s.items()}} for b, s in self.summaries.items()]
        return markdown_table(rows) if rows else markdown_table([{"block": "-"}])

    def plot(self, ax_or_fig: Any = None) -> Any:
        """Per-block liquid/solid indicators (:func:`plotting.plot_liquid_solid`; always a new
        Figure, ``ax_or_fig`` must be None)."""
        from .plotting import plot_liquid_solid

        if ax_or_fig is not None:
            raise TypeError("BlockAnalysis.plot draws a new Figure; ax_or_fig must be None")
        return plot_liquid_solid(self)


@dataclass
class EffectiveModelResult(Result):
    """Products of :func:`run_effective_model`.

    preset : the settings used (after overrides)
    ensemble : the trained networks
    samples : the pooled +-1 configurations with their test accuracies (training labelling)
    blocks : block name -> weight indices (flat order)
    fits, moments, references, landscapes, tap, summaries : the analysis of the samples as drawn
        (see :class:`BlockAnalysis`; empty when ``alignment="aligned"``)
    aligned : the same analysis of the samples in a common hidden-unit labelling (or None)
    alignment : ``perms`` (list per hidden layer of (R, H_l) permutations applied to each
        trained network), ``cosine`` (R,) of each aligned network's mean weights with the
        template, ``method``
    data : what ran: ``dataset`` (the data's name), ``n_train``, ``n_test`` (the examples
        trained and tested on; not the preset's nominal values)
    """

    preset: PaperPreset
    ensemble: BinaryEnsemble
    samples: BinarySamples
    blocks: Dict[str, np.ndarray]
    fits: Dict[str, Any] = field(default_factory=dict)
    moments: Dict[str, Any] = field(default_factory=dict)
    references: Dict[str, Dict[str, np.ndarray]] = field(default_factory=dict)
    landscapes: Dict[str, Dict[str, List[Any]]] = field(default_factory=dict)
    summaries: Dict[str, Dict[str, float]] = field(default_factory=dict)
    tap: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    aligned: Optional[BlockAnalysis] = None
    alignment: Optional[Dict[str, Any]] = None
    data: Dict[str, Any] = field(default_factory=dict)

    def variants(self) -> Dict[str, BlockAnalysis]:
        """``{"raw": ..., "aligned": ...}`` for the analyses that were run."""
        out: Dict[str, BlockAnalysis] = {}
        if self.fits:
            out["raw"] = BlockAnalysis(self.fits, self.moments, self.references, self.landscapes,
                                       self.tap, self.summaries)
        if self.aligned is not None:
            out["aligned"] = self.aligned
        return out

    def report(self) -> str:
        """A short plain-text summary."""
        acc = self.samples.accuracy
        lines = [f"regime {self.preset.regime}: widths {self.preset.widths}, "
                 f"{self.ensemble.n_replicas} trainings, {len(acc)} configurations, "
                 f"test accuracy {np.nanmean(acc):.3f} +- {np.nanstd(acc):.3f}"]
        for name, an in self.variants().items():
            lines.append(f" {name} hidden-unit labelling:")
            for b, s in an.summaries.items():
                lines.append("  " + _summary_line(b, s))
        return "\n".join(lines)

    def to_dict(self, arrays: bool = False, *, curves: Any = _UNSET) -> Dict[str, Any]:
        """JSON-serialisable summary (floats, lists): preset, accuracies, per variant and block
        the indicators, jumps, TAP histogram and (``arrays=True``) the landscape curves.
        (The keyword was ``curves``, default True: deprecated.)"""
        if curves is not _UNSET:
            warn_moved("EffectiveModelResult.to_dict(curves=...)", "to_dict(arrays=...)")
            arrays = bool(curves)
        curves = arrays
        acc = self.samples.accuracy
        out: Dict[str, Any] = {
            "regime": self.preset.regime, "widths": self.preset.widths,
            "dataset": self.data.get("dataset", self.preset.dataset),
            "n_train": self.data.get("n_train", self.preset.n_train),
            "n_test": self.data.get("n_test"),
            "epochs": self.preset.epochs, "trainings": self.ensemble.n_replicas,
            "draws_per_network": self.preset.n_per_network,
            "n_configurations": int(len(acc)),
            "test_accuracy_mean": _f(np.nanmean(acc)) if len(acc) else None,
            "test_accuracy_std": _f(np.nanstd(acc)) if len(acc) else None,
            "variants": {},
        }
        if self.alignment is not None:
            out["alignment"] = {"method": self.alignment["method"],
                                "mean_cosine": _f(np.mean(self.alignment["cosine"]))}
        for name, an in self.variants().items():
            out["variants"][name] = analysis_to_dict(an, curves=curves)
        return out

    def table(self) -> str:
        """Markdown table of the per-block liquid/solid indicators per labelling."""
        return liquid_solid_table(self)

    def plot(self, ax_or_fig: Any = None) -> Any:
        """Liquid/solid indicators per block, as drawn and aligned
        (:func:`plotting.plot_liquid_solid`; always a new Figure, ``ax_or_fig`` must be None)."""
        from .plotting import plot_liquid_solid

        if ax_or_fig is not None:
            raise TypeError("EffectiveModelResult.plot draws a new Figure; ax_or_fig must be None")
        return plot_liquid_solid(self)


def _f(x: Any) -> Optional[float]:
    x = float(x)
    return x if np.isfinite(x) else None


def _summary_line(b: str, s: Dict[str, float]) -> str:
    part = (f"{b:5s} N={int(s['n'])}: std J {s['J_std']:.4f}, mean |conn C| "
            f"{s['mean_abs_conn_C']:.4f}, mean |m| {s['mean_abs_m']:.3f}")
    if "s_over_H2_min" in s:
        part += (f", s/H2 {s['s_over_H2_min']:.3f}..{s['s_over_H2_max']:.3f} "
                 f"(mean {s['s_over_H2_mean']:.3f}), jumps {int(s['n_jumps'])}")
    if "n_tap_states" in s:
        part += f", TAP states {int(s['n_tap_states'])}"
    return part


def analysis_to_dict(an: BlockAnalysis, curves: bool = True) -> Dict[str, Any]:
    """JSON-serialisable form of a :class:`BlockAnalysis`."""
    out: Dict[str, Any] = {}
    for b, s in an.summaries.items():
        d: Dict[str, Any] = {"summary": {k: _f(v) for k, v in s.items()}}
        if b in an.moments:
            m = an.moments[b][0]
            d["magnetisations"] = [float(v) for v in m]
        if b in an.landscapes:
            jumps, cv = [], {}
            for level, Ls in an.landscapes[b].items():
                cv[level] = []
                for L in Ls:
                    jumps += [dict(j, level=level) for j in L.jumps]
                    if curves:
                        cv[level].append({br.name: {"x": br.x.tolist(), "d": br.d.tolist(),
                                                    "s": br.entropy.tolist(), "H2": br.H2.tolist(),
                                                    "converged": br.converged.tolist()}
                                          for br in L.branches.values()})
            d["jumps"] = jumps
            if curves:
                d["landscapes"] = cv
        if b in an.tap:
            t = an.tap[b]
            F = np.asarray(t["free_energy"])
            d["tap"] = {"n_states": int(t["n_states"]), "n_converged": int(t["n_converged"]),
                        "n_starts": int(t["n_starts"]),
                        "free_energy_min": _f(F.min()) if F.size else None,
                        "free_energy_max": _f(F.max()) if F.size else None}
            if curves:
                d["tap"]["free_energy"] = F.tolist()
        out[b] = d
    return out


def liquid_solid_table(result: "EffectiveModelResult") -> str:
    """Markdown table of the per-block liquid/solid indicators for every variant
    (as drawn / aligned)."""
    rows = ["| labelling | block | N | std J | mean abs conn. C | mean abs m | std m | "
            "s/H2 min..max (mean) | jumps | TAP states |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for name, an in result.variants().items():
        for b, s in an.summaries.items():
            rat = (f"{s['s_over_H2_min']:.3f}..{s['s_over_H2_max']:.3f} ({s['s_over_H2_mean']:.3f})"
                   if "s_over_H2_min" in s else "-")
            jumps = str(int(s["n_jumps"])) if "n_jumps" in s else "-"
            tap = str(int(s["n_tap_states"])) if "n_tap_states" in s else "-"
            rows.append(f"| {name} | {b} | {int(s['n'])} | {s['J_std']:.4f} | "
                        f"{s['mean_abs_conn_C']:.4f} | {s['mean_abs_m']:.3f} | {s['std_m']:.3f} | "
                        f"{rat} | {jumps} | {tap} |")
    return "\n".join(rows)


# ---- hidden-unit alignment -----------------------------------------------------------------------
@renamed_kwargs(method="alignment")
def align_hidden_units(
    ensemble: BinaryEnsemble,
    alignment: str = "mean",
    reference: int = 0,
    on: str = "mean_weights",
    n_threads: Optional[int] = None,
    seed: int = 0,
) -> Dict[str, Any]:
    """Hidden-unit permutations that bring every trained binary network into one labelling.

    Each network is represented by its mean weights ``mu = 2 sigmoid(theta) - 1``
    (``on="mean_weights"``) or its latent parameters (``on="theta"``) and weight-matched
    (``glasslens.symmetry.align_ensemble``: exact LAP per hidden layer, coordinate descent
    over layers) to ``reference`` (``alignment="reference"``), to the medoid ("medoid") or
    iteratively to the mean of the aligned networks ("mean", default; the keyword was
    ``method``, deprecated). Permutations act consistently on the rows of
    a layer's weights and the columns of the next layer's, so every network computes the same
    function afterwards.

    Returns ``{"perms": [ (R, H_l) int64 per hidden layer ], "cosine": (R,), "method": ...}``;
    apply them to samples with :func:`permute_configurations`. A network without hidden
    layers (the shallow 20-10 net) has nothing to align: ``perms`` is empty.
    """
    from ..symmetry import _matching as symmetry
    from ..nn._network import Ensemble

    if not isinstance(ensemble, BinaryEnsemble):
        raise TypeError(f"ensemble must be a BinaryEnsemble, got {type(ensemble).__name__}")
    if on not in ("mean_weights", "theta"):
        raise ValueError(f"on must be 'mean_weights' or 'theta', got {on!r}")
    method = check_alignment(alignment, COMMON_LABELLING)
    R = ensemble.n_replicas
    if len(ensemble.widths) <= 2:
        return {"perms": [], "cosine": np.ones(R), "method": method}
    if R < 2:
        H = ensemble.widths[1:-1]
        return {"perms": [np.arange(h, dtype=np.int64)[None, :] for h in H],
                "cosine": np.ones(R), "method": method}
    vals = ensemble.mean_weights() if on == "mean_weights" else ensemble.flat().astype(np.float64)
    net = Ensemble.from_flat(ensemble.widths, vals.astype(np.float32), bias=False)
    al = symmetry.align_ensemble(net, alignment=method, reference=reference,
                                 n_threads=n_threads, seed=seed)
    return {"perms": [np.asarray(p, dtype=np.int64) for p in al.perms],
            "cosine": np.asarray(al.cosine, dtype=np.float64), "method": method}


def permute_configurations(
    configurations: Any,
    widths: Sequence[int],
    perms: Sequence[Any],
    network: Any = None,
) -> np.ndarray:
    """Relabel the hidden units of +-1 weight configurations ``(M, n_weights)`` (flat order,
    layers row-major ``(out, in)``).

    ``perms``: one permutation per hidden layer, each ``(H_l,)`` (the same for every row) or
    ``(R, H_l)`` with ``network`` ``(M,)`` giving the row's network index (as in
    ``BinarySamples.network``). Hidden unit ``j`` of layer ``l`` of the result is unit
    ``perms[l][j]`` of the input: ``W_l' = W_l[p_l][:, p_{l-1}]`` (inputs and outputs fixed), the
    convention of ``glasslens.symmetry.permute``; the network function is unchanged.
    """
    from ._binarynet import _as_spins, _check_widths, n_weights as _nw

    w = _check_widths(widths)
    P = _nw(w)
    cfg = _as_spins(configurations, "configurations", P)
    M = cfg.shape[0]
    H = w[1:-1]
    if len(perms) != len(H):
        raise ValueError(f"perms has {len(perms)} entries, the network has {len(H)} hidden layers")
    ps: List[np.ndarray] = []
    for l, (p, h) in enumerate(zip(perms, H)):
        a = np.asarray(p)
        if a.dtype.kind not in "iu":
            raise TypeError(f"perms[{l}] must hold integers, got dtype {a.dtype}")
        a = a.astype(np.int64)
        if a.ndim == 1:
            a = a[None, :]
        if a.ndim != 2 or a.shape[1] != h:
            raise ValueError(f"perms[{l}] must have shape ({h},) or (R, {h}), got {np.shape(p)}")
        if not np.array_equal(np.sort(a, axis=1), np.broadcast_to(np.arange(h), a.shape)):
            raise ValueError(f"perms[{l}] is not a permutation of 0..{h - 1}")
        ps.append(a)
    R = max([a.shape[0] for a in ps], default=1)
    if R > 1 or network is not None:
        if network is None:
            raise ValueError("perms are per network: give network (M,) with each row's network")
        net = as_array(network, "network", np.int64, shape=(M,))
        if net.size and (net.min() < 0 or net.max() >= R):
            raise ValueError(f"network indices must lie in 0..{R - 1}")
        if R == 1:
            net = np.zeros(M, dtype=np.int64)
    else:
        net = np.zeros(M, dtype=np.int64)
    out = np.empty_like(cfg)
    pos = 0
    rows = np.arange(M)[:, None]
    for l in range(len(w) - 1):
        o, i = w[l + 1], w[l]
        W = cfg[:, pos:pos + o * i].reshape(M, o, i)
        if l < len(H):
            W = W[rows, ps[l][net]]
        if l > 0:
            W = np.take_along_axis(W, ps[l - 1][net][:, None, :], axis=2)
        out[:, pos:pos + o * i] = W.reshape(M, o * i)
        pos += o * i
    return out


# ---- analysis of samples -------------------------------------------------------------------------
@renamed_kwargs(tap_starts="n_tap_starts")
def analyse_configurations(
    configurations: Any,
    blocks: Dict[str, Any],
    *,
    fit: str = "boltzmann",
    fit_kwargs: Optional[Dict[str, Any]] = None,
    n_references: int = 3,
    xs: Any = None,
    landscape: bool = True,
    landscape_kwargs: Optional[Dict[str, Any]] = None,
    n_tap_starts: int = 200,
    tap_kwargs: Optional[Dict[str, Any]] = None,
    fit_error_warn: float = 0.1,
    seed: int = 0,
    n_threads: Optional[int] = None,
    progress: bool = False,
) -> BlockAnalysis:
    """Fit the pairwise maximum-entropy model to every block of +-1 samples ``(M, P)`` and read
    its geometry (steps 3-4 of :func:`run_effective_model`).

    blocks : name -> column indices (e.g. ``binarynet.block_indices(widths)``).
    fit : ``"boltzmann"`` (BP moments, the paper's) or ``"pseudolikelihood"``; ``fit_kwargs``
        go to the fitting function.
    n_references, xs, landscape, landscape_kwargs : entropy landscapes around references at
        the 5%, 50% and 95% energy quantiles (see :func:`run_effective_model`).
    n_tap_starts : random starts of the TAP iteration per block (0 skips; ``tap_kwargs`` go to
        ``maxent.tap_free_energies``).

    Bad input: non +-1 samples raise ValueError. Spins constant in the samples (an unused
    weight frozen at +-1 in every network) have infinite maximum-likelihood fields: Boltzmann
    learning keeps them finite only because it runs a finite number of iterations (each moves
    h by at most 2 lr_h), pseudo-likelihood through its ``l2_h`` penalty; a RuntimeWarning says
    how many there are, and ``summaries[b]["n_constant"]`` records it. Fewer samples than spins
    give a warning (the fit is then driven by the regulariser). BP that does not converge is
    retried with damping; points that still fail raise a ``BPConvergenceWarning`` with the
    residual and are counted in ``bp_nonconverged``. A Boltzmann fit whose kept parameters
    have a moment error above ``fit_error_warn`` and above twice the best error seen during
    learning (learning went unstable) is warned about. ``progress``: a tqdm bar over the
    blocks and their stages (fit, landscapes, TAP).
    """
    from .. import maxent

    S_all = maxent.check_spins(configurations, "configurations")
    M, P = S_all.shape
    if M < 2:
        raise ValueError(f"configurations has {M} row(s); need at least 2")
    if fit not in ("boltzmann", "pseudolikelihood"):
        raise ValueError(f"fit must be 'boltzmann' or 'pseudolikelihood', got {fit!r}")
    n_references = check_int(n_references, "n_references", 0)
    tap_starts = check_int(n_tap_starts, "n_tap_starts", 0, MAX_RUNS)
    if not isinstance(blocks, dict) or not blocks:
        raise TypeError("blocks must be a non-empty dict name -> column indices")
    grid = np.round(np.arange(-3.0, 3.0 + 1e-9, 0.1), 10) if xs is None else xs
    kw = dict(fit_kwargs or {})
    lkw: Dict[str, Any] = {"direction": "both", **dict(landscape_kwargs or {})}
    res = BlockAnalysis()
    from tqdm.auto import tqdm

    stages = 1 + int(landscape and n_references > 0) + int(tap_starts > 0)
    bar = tqdm(total=len(blocks) * stages, unit="stage", disable=not progress,
               desc=f"{fit} fits, landscapes, TAP of {len(blocks)} block(s)")
    try:
        for b, idx in blocks.items():
            _analyse_block(res, b, idx, S_all, M, P, fit, kw, n_references, grid, landscape, lkw,
                           tap_starts, tap_kwargs, fit_error_warn, seed, n_threads, bar)
    finally:
        bar.close()
    return res


def _analyse_block(res: BlockAnalysis, b: str, idx: Any, S_all: np.ndarray, M: int, P: int,
                   fit: str, kw: Dict[str, Any], n_references: int, grid: Any, landscape: bool,
                   lkw: Dict[str, Any], tap_starts: int, tap_kwargs: Any, fit_error_warn: float,
                   seed: int, n_threads: Optional[int], bar: Any) -> None:
    """Steps 3-4 of :func:`analyse_configurations` for block ``b``, into ``res``."""
    from .. import maxent

    idx = np.asarray(idx)
    if idx.dtype.kind not in "iu" or idx.ndim != 1 or idx.size < 2 or idx.min() < 0 \
            or idx.max() >= P:
        raise ValueError(f"blocks[{b!r}] must be >= 2 column indices in 0..{P - 1}")
    S = np.ascontiguousarray(S_all[:, idx])
    N = S.shape[1]
    bar.set_postfix_str(f"block {b} (N={N}): {fit} fit")
    m, C = maxent.moments(S)
    res.moments[b] = (m, C)
    n_const = int(np.sum(np.abs(m) >= 1.0))
    if fit == "boltzmann":
        if n_const:
            lr_h = float(kw.get("lr_h", 0.3))
            iters = int(kw.get("iters", 100))
            warnings.warn(
                f"block {b}: {n_const} spin(s) are constant in the data; their maximum-"
                f"likelihood fields are infinite - Boltzmann learning holds them finite only "
                f"by its {iters} iterations (|h| <= {2 * lr_h * iters:g}); their couplings are "
                f"damped by gamma", RuntimeWarning, stacklevel=3)
        if M < N:
            warnings.warn(f"block {b}: fewer samples ({M}) than spins ({N}): the correlations "
                          f"are rank-deficient and the fit is driven by the regulariser",
                          RuntimeWarning, stacklevel=3)
        model = maxent.fit_boltzmann(S, moments="bp", seed=seed, n_threads=n_threads, **kw)
    else:
        model = maxent.fit_pseudolikelihood(S, n_threads=n_threads, **kw)
    res.fits[b] = model
    bar.update(1)
    summary = maxent.block_summary(model, m, C)
    summary["n_constant"] = float(n_const)
    if fit == "boltzmann":  # moment error of the kept parameters, and of BP from scratch
        summary["fit_error"] = float(model.info.get("best_error", np.nan))
        cold = model.info.get("cold_bp_error")
        summary["cold_bp_error"] = float(np.nan if cold is None else cold)
        errs = np.asarray(model.info.get("errors", []), dtype=np.float64)
        if summary["fit_error"] > max(fit_error_warn, 2.0 * float(np.min(errs, initial=np.inf))):
            warnings.warn(
                f"block {b}: Boltzmann learning ended with moment error "
                f"{summary['fit_error']:.3g} (best over all iterations {np.min(errs):.3g} at "
                f"iteration {int(np.argmin(errs))}): learning became unstable and the fit does "
                f"not reproduce the data's moments, so its landscape is unreliable; try "
                f"keep_after=0, a smaller lr_J, or fit='pseudolikelihood'",
                RuntimeWarning, stacklevel=3)
    if landscape and n_references > 0:
        bar.set_postfix_str(f"block {b} (N={N}): entropy landscapes")
        E = np.asarray(model.energy(S), dtype=np.float64)
        order = np.argsort(E, kind="stable")
        k = min(n_references, len(order))
        refs: Dict[str, np.ndarray] = {}
        for level, q in (("low", 0.05), ("medium", 0.5), ("high", 0.95)):
            c = int(round(q * (len(order) - 1)))
            lo = max(0, min(len(order) - k, c - k // 2))
            refs[level] = order[lo:lo + k]
        res.references[b] = refs
        res.landscapes[b] = {}
        ratios: List[np.ndarray] = []
        n_jumps = nonconv = 0
        for level, rows in refs.items():
            res.landscapes[b][level] = []
            for r in rows:
                L = maxent.entropy_landscape(model, S[r], xs=grid, n_threads=n_threads, **lkw)
                res.landscapes[b][level].append(L)
                n_jumps += len(L.jumps)
                for br in L.branches.values():
                    nonconv += int((~br.converged).sum())
                    ok = br.converged & (br.d > 0.01) & (br.d < 0.99)
                    rat = br.ratio[ok]
                    ratios.append(rat[np.isfinite(rat)])
        allr = np.concatenate(ratios) if ratios else np.zeros(0)
        summary.update({
            "s_over_H2_min": float(allr.min()) if allr.size else float("nan"),
            "s_over_H2_max": float(allr.max()) if allr.size else float("nan"),
            "s_over_H2_mean": float(allr.mean()) if allr.size else float("nan"),
            "n_jumps": float(n_jumps), "bp_nonconverged": float(nonconv)})
        bar.update(1)
    if tap_starts > 0:
        bar.set_postfix_str(f"block {b} (N={N}): {tap_starts} TAP starts")
        t = maxent.tap_free_energies(model, n_starts=tap_starts, seed=seed,
                                     **dict(tap_kwargs or {}))
        conv = np.asarray(t["converged"], bool)
        res.tap[b] = {"free_energy": np.asarray(t["free_energy"])[conv],
                      "n_states": int(t["n_states"]), "n_converged": int(conv.sum()),
                      "n_starts": tap_starts}
        summary["n_tap_states"] = float(t["n_states"])
        bar.update(1)
    res.summaries[b] = summary


def effective_alignments(alignment: Any, align_method: Any = _UNSET) -> tuple:
    """The labellings analysed by :func:`run_effective_model`: a tuple of "none" and/or one
    common labelling ("reference", "medoid", "mean"). ``"both"`` is the shorthand of
    ``("none", "mean")``; the old value ``"aligned"`` (deprecated) is ``("mean",)``; the old
    ``align_method`` (deprecated) replaces the common labelling."""
    if isinstance(alignment, str) and alignment == "aligned":
        warn_moved("alignment='aligned' of run_effective_model()",
                   "alignment='mean' (or 'reference' / 'medoid')")
        alignment = ("mean",)
    elif isinstance(alignment, str) and alignment == "both":
        alignment = ("none", "mean")
    vals = check_alignments(alignment, ("none",) + COMMON_LABELLING)
    if align_method is not _UNSET:
        warn_moved("the keyword align_method= of run_effective_model()",
                   "alignment=('none', 'mean') (the labelling is an alignment value)")
        m = check_alignment(align_method, COMMON_LABELLING, "align_method")
        vals = tuple(m if v in COMMON_LABELLING else v for v in vals)
    common = [v for v in vals if v in COMMON_LABELLING]
    if len(common) > 1:
        raise ValueError(f"alignment may name one common labelling (reference, medoid or "
                         f"mean) next to 'none', got {alignment!r}")
    return vals


@renamed_kwargs(tap_starts="n_tap_starts", replicas="n_replicas")
def run_effective_model(
    dataset: Any,
    regime: str = "deep-under",
    *,
    n_replicas: Optional[int] = None,
    epochs: Optional[int] = None,
    n_per_network: Optional[int] = None,
    min_accuracy: Optional[float] = None,
    blocks: Optional[Sequence[str]] = None,
    fit: str = "boltzmann",
    fit_kwargs: Optional[Dict[str, Any]] = None,
    n_references: int = 3,
    xs: Any = None,
    landscape: bool = True,
    landscape_kwargs: Optional[Dict[str, Any]] = None,
    n_tap_starts: int = 200,
    tap_kwargs: Optional[Dict[str, Any]] = None,
    alignment: Any = "none",
    align_method: Any = _UNSET,
    n_train: Optional[int] = None,
    seed: int = 0,
    n_threads: Optional[int] = None,
    progress: bool = False,
) -> EffectiveModelResult:
    """Train, sample, fit and analyse the effective model for one regime.

    Parameters
    ----------
    dataset : data with ``X_train, y_train, X_test, y_test`` whose first 20 columns are principal
        components (e.g. ``glasslens.datasets.load("mnist", pca=20)``); the preset keeps the
        first ``n_train`` training examples.
    regime : ``"deep-under"``, ``"deep-over"`` or ``"shallow"`` (:func:`paper_preset`).
    n_replicas, epochs, n_per_network, min_accuracy, n_train : override the preset (the
        paper: 100 trainings x 100 draws; fewer make a quick run).
    blocks : block names to fit (default: LB, ITER, RB for the deep net, FULL for the shallow
        one; "FULL" of the deep net is N = 675 and slow with BP moments).
    fit : ``"boltzmann"`` (BP moments, the paper's) or ``"pseudolikelihood"``;
        ``fit_kwargs`` go to the fitting function.
    n_references : references per energy level (low / medium / high: the 5%, 50% and 95%
        quantiles of the samples' energies under the block's fit).
    xs : tilt grid for the landscapes (default -3..3 step 0.1); ``landscape=False`` skips them;
        ``landscape_kwargs`` go to ``maxent.entropy_landscape`` (e.g. ``max_sweeps``,
        ``damping``, ``direction``; default direction "both", a hysteresis loop).
    n_tap_starts, tap_kwargs : TAP free energies from random starts per block (0 skips).
    alignment : the hidden-unit labellings analysed, one or a tuple: ``"none"`` (the samples as
        drawn: ``result.fits`` etc.) and/or one common labelling, ``"reference"``,
        ``"medoid"`` or ``"mean"`` (every network's hidden units brought into one labelling by
        :func:`align_hidden_units`: ``result.aligned``). ``"both"`` is the shorthand of
        ``("none", "mean")`` (the comparison). Pairwise alignment gives no common labelling
        and is not offered.

    Deprecated: ``replicas`` (``n_replicas``), ``tap_starts`` (``n_tap_starts``),
    ``alignment="aligned"`` (``"mean"``, or the ``align_method`` given), ``align_method=M``
    (the common labelling M in ``alignment``: ``alignment="both", align_method="reference"``
    is ``alignment=("none", "reference")``).
    """
    replicas, tap_starts = n_replicas, n_tap_starts
    try:
        from .. import maxent  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the build
        raise ImportError("run_effective_model needs glasslens.maxent") from exc
    preset = paper_preset(regime)
    over: Dict[str, Any] = {}
    if replicas is not None:
        over["replicas"] = check_int(replicas, "n_replicas", 1)
    if epochs is not None:
        over["epochs"] = check_int(epochs, "epochs", 0)
    if n_per_network is not None:
        over["n_per_network"] = check_int(n_per_network, "n_per_network", 1)
    if min_accuracy is not None:
        over["min_accuracy"] = check_float(min_accuracy, "min_accuracy", 0.0, 1.0)
    if n_train is not None:
        over["n_train"] = check_int(n_train, "n_train", 1)
    if over:
        from dataclasses import replace

        preset = replace(preset, **over)
    if fit not in ("boltzmann", "pseudolikelihood"):
        raise ValueError(f"fit must be 'boltzmann' or 'pseudolikelihood', got {fit!r}")
    labellings = effective_alignments(alignment, align_method)
    common = [v for v in labellings if v in COMMON_LABELLING]
    n_references = check_int(n_references, "n_references", 0)
    tap_starts = check_int(tap_starts, "n_tap_starts", 0, MAX_RUNS)
    seed = check_seed(seed)
    data = preset.prepare(dataset)
    if data.X_test is None:
        raise ValueError("dataset needs a test set (X_test, y_test) for the accuracies")

    all_blocks = block_indices(preset.widths)
    if blocks is None:
        names = [b for b in all_blocks if b != "FULL"] if len(preset.widths) > 2 else ["FULL"]
    else:
        names = list(blocks)
        for b in names:
            if b not in all_blocks:
                raise ValueError(f"unknown block {b!r}; this net has {sorted(all_blocks)}")

    ens = train_binary(data, seed=seed, n_threads=n_threads, progress=progress,
                       n_classes=preset.n_classes, **preset.train_kwargs())
    samples = sample_configurations(ens, preset.n_per_network, seed=seed + 1,
                                    X_test=data.X_test, y_test=data.y_test,
                                    min_accuracy=preset.min_accuracy, n_threads=n_threads)
    if samples.configurations.shape[0] < 2:
        raise ValueError(f"only {samples.configurations.shape[0]} configurations passed "
                         f"min_accuracy={preset.min_accuracy}; lower it or sample more")
    res = EffectiveModelResult(preset, ens, samples, {b: all_blocks[b] for b in names})
    res.data = {"dataset": str(getattr(dataset, "name", type(dataset).__name__)),
                "n_train": int(data.X_train.shape[0]), "n_test": int(data.X_test.shape[0])}
    akw = dict(fit=fit, fit_kwargs=fit_kwargs, n_references=n_references, xs=xs,
               landscape=landscape, landscape_kwargs=landscape_kwargs, n_tap_starts=tap_starts,
               tap_kwargs=tap_kwargs, seed=seed, n_threads=n_threads, progress=progress)
    if "none" in labellings:
        raw = analyse_configurations(samples.configurations, res.blocks, **akw)
        res.fits, res.moments, res.references = raw.fits, raw.moments, raw.references
        res.landscapes, res.tap, res.summaries = raw.landscapes, raw.tap, raw.summaries
    if common:
        al = align_hidden_units(ens, alignment=common[0], n_threads=n_threads, seed=seed)
        res.alignment = al
        cfg = samples.configurations
        if al["perms"]:
            cfg = permute_configurations(cfg, preset.widths, al["perms"], samples.network)
        res.aligned = analyse_configurations(cfg, res.blocks, **akw)
    return res
