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
   per-block liquid/solid indicators.

The result keeps every intermediate product so each step can be inspected or redone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ._validate import check_float, check_int, check_seed
from .binarynet import (
    BinaryEnsemble,
    BinarySamples,
    PaperPreset,
    block_indices,
    paper_preset,
    sample_configurations,
    train_binary,
)

__all__ = ["EffectiveModelResult", "run_effective_model"]


@dataclass
class EffectiveModelResult:
    """Products of :func:`run_effective_model`.

    preset : the settings used (after overrides)
    ensemble : the trained networks
    samples : the pooled +-1 configurations with their test accuracies
    blocks : block name -> weight indices (flat order)
    fits : block name -> fitted ``maxent.Ising``
    moments : block name -> (m (N,), C (N, N)) of the samples
    references : block name -> {"low"|"medium"|"high": row indices into samples}
    landscapes : block name -> {level: [Landscape per reference]}
    summaries : block name -> liquid/solid indicators (``maxent.block_summary``) plus the range
        of s(d)/H2(d) over the landscapes (``s_over_H2_min``/``max``) and ``n_jumps``
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

    def report(self) -> str:
        """A short plain-text summary."""
        acc = self.samples.accuracy
        lines = [f"regime {self.preset.regime}: widths {self.preset.widths}, "
                 f"{self.ensemble.n_replicas} trainings, {len(acc)} configurations, "
                 f"test accuracy {np.nanmean(acc):.3f} +- {np.nanstd(acc):.3f}"]
        for b, s in self.summaries.items():
            part = (f"  {b:5s} N={int(s['n'])}: std J {s['J_std']:.4f}, mean |conn C| "
                    f"{s['mean_abs_conn_C']:.4f}, mean |m| {s['mean_abs_m']:.3f}")
            if "s_over_H2_min" in s:
                part += (f", s/H2 {s['s_over_H2_min']:.3f}..{s['s_over_H2_max']:.3f}, "
                         f"jumps {int(s['n_jumps'])}")
            lines.append(part)
        return "\n".join(lines)


def run_effective_model(
    dataset: Any,
    regime: str = "deep-under",
    *,
    replicas: Optional[int] = None,
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
    replicas, epochs, n_per_network, min_accuracy : override the preset (the paper: 100
        trainings x 100 draws; fewer make a quick run).
    blocks : block names to fit (default: LB, ITER, RB for the deep net, FULL for the shallow
        one; "FULL" of the deep net is N = 675 and slow with BP moments).
    fit : ``"boltzmann"`` (BP moments, the paper's) or ``"pseudolikelihood"``;
        ``fit_kwargs`` go to the fitting function.
    n_references : references per energy level (low / medium / high: the 5%, 50% and 95%
        quantiles of the samples' energies under the block's fit).
    xs : tilt grid for the landscapes (default -3..3 step 0.1); ``landscape=False`` skips them;
        ``landscape_kwargs`` go to ``maxent.entropy_landscape`` (e.g. ``max_sweeps``,
        ``damping``, ``direction``; default direction "both", a hysteresis loop).
    """
    try:
        from . import maxent
    except ImportError as exc:  # pragma: no cover - depends on the build
        raise ImportError("run_effective_model needs glasslens.maxent") from exc
    preset = paper_preset(regime)
    over: Dict[str, Any] = {}
    if replicas is not None:
        over["replicas"] = check_int(replicas, "replicas", 1)
    if epochs is not None:
        over["epochs"] = check_int(epochs, "epochs", 0)
    if n_per_network is not None:
        over["n_per_network"] = check_int(n_per_network, "n_per_network", 1)
    if min_accuracy is not None:
        over["min_accuracy"] = check_float(min_accuracy, "min_accuracy", 0.0, 1.0)
    if over:
        from dataclasses import replace

        preset = replace(preset, **over)
    if fit not in ("boltzmann", "pseudolikelihood"):
        raise ValueError(f"fit must be 'boltzmann' or 'pseudolikelihood', got {fit!r}")
    n_references = check_int(n_references, "n_references", 0)
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
    grid = np.round(np.arange(-3.0, 3.0 + 1e-9, 0.1), 10) if xs is None else xs
    kw = dict(fit_kwargs or {})
    lkw: Dict[str, Any] = {"direction": "both", **dict(landscape_kwargs or {})}
    for b in names:
        S = samples.configurations[:, all_blocks[b]]
        m, C = maxent.moments(S)
        res.moments[b] = (m, C)
        if fit == "boltzmann":
            model = maxent.fit_boltzmann(S, moments="bp", seed=seed, n_threads=n_threads, **kw)
        else:
            model = maxent.fit_pseudolikelihood(S, n_threads=n_threads, **kw)
        res.fits[b] = model
        summary = maxent.block_summary(model, m, C)
        if landscape and n_references > 0:
            E = np.asarray(model.energy(S), dtype=np.float64)
            order = np.argsort(E, kind="stable")
            refs: Dict[str, np.ndarray] = {}
            for level, q in (("low", 0.05), ("medium", 0.5), ("high", 0.95)):
                c = int(round(q * (len(order) - 1)))
                lo = max(0, min(len(order) - n_references, c - n_references // 2))
                refs[level] = order[lo:lo + n_references]
            res.references[b] = refs
            res.landscapes[b] = {}
            ratios_lo, ratios_hi, n_jumps = np.inf, -np.inf, 0
            for level, rows in refs.items():
                res.landscapes[b][level] = []
                for r in rows:
                    L = maxent.entropy_landscape(model, S[r], xs=grid, n_threads=n_threads,
                                                 **lkw)
                    res.landscapes[b][level].append(L)
                    n_jumps += len(L.jumps)
                    for br in L.branches.values():
                        rat = br.ratio[np.isfinite(br.ratio)]
                        if rat.size:
                            ratios_lo = min(ratios_lo, float(rat.min()))
                            ratios_hi = max(ratios_hi, float(rat.max()))
            summary.update({"s_over_H2_min": ratios_lo, "s_over_H2_max": ratios_hi,
                            "n_jumps": float(n_jumps)})
        res.summaries[b] = summary
    return res
