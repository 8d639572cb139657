"""Protocol 4 study: do flatter minima generalise better?

``generalization_study(dataset, ...)`` trains replicas under a grid of training variants (batch
size, learning rate, SAM radius, label noise, weight decay) with ``glasslens.train_ensemble``,
computes the flatness measures of :mod:`glasslens.flatness` of every trained network (on the
clean training set, by default after balancing the ReLU rescaling symmetry), and reports for
each measure the Spearman and Kendall rank correlation with the test accuracy and with the
generalisation gap (train accuracy - test accuracy, clean labels), with percentile bootstrap
confidence intervals,

* across networks (every replica of every variant is one point; bootstrap over networks), and
* across variants (variant means; bootstrap over replicas within each variant),

plus a small-batch against large-batch comparison at matched training loss: networks are
checkpointed ``checkpoints`` times during training and every (small-batch, large-batch) pair of
checkpoints whose training losses agree within ``match_tol`` (relative) is compared.

Sign convention: ``FLAT_SIGN[m]`` is +1 when a larger value of measure m means flatter (basin
radius, correlation length) and -1 when it means sharper. The "flatness-oriented" correlation
``FLAT_SIGN[m] * rho(m, test_acc)`` is positive when flatter minima generalise better.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._lib._deprecation import deprecated_method, renamed_kwargs
from .._lib._results import Result
from .._lib._data import as_data
from .._lib._io import to_jsonable as _jsonable, write_json
from .._lib._threads import resolve_threads
from .._lib._validate import check_float, check_int, check_seed
from ._measures import ALL_MEASURES, batch_loss
from ._measures import measures as flat_measures
from ..nn._network import Ensemble, MLP

__all__ = ["generalization_study", "GeneralizationStudy", "FLAT_SIGN", "STUDY_MEASURES",
           "rank_correlations", "partial_rank_correlation", "default_variants", "analyse_rows"]

#: +1: larger = flatter / smoother; -1: larger = sharper / more rugged. ``ruggedness`` (the
#: dimensionless Var(increments) / mean increment^2 at the calibrated step) is -1: a larger value
#: means a rougher walk for the same mean climb; ``corr_length`` (in those steps) is +1.
FLAT_SIGN: Dict[str, int] = {
    "local_energy": -1, "basin_radius": +1, "eps_sharpness": -1, "hessian_top": -1,
    "hessian_trace": -1, "ruggedness": -1, "corr_length": +1, "copy_barrier": -1,
}
#: the scalar measures reported by the study (``ruggedness`` yields two)
STUDY_MEASURES: Tuple[str, ...] = ("local_energy", "basin_radius", "eps_sharpness", "hessian_top",
                                   "hessian_trace", "ruggedness", "corr_length", "copy_barrier")
_TRAIN_KEYS = ("batch_size", "lr", "momentum", "weight_decay", "schedule", "warmup_epochs",
               "sam_rho", "label_noise", "epochs")


def oriented(c: Dict[str, Any], sign: int) -> Dict[str, Any]:
    """A correlation ``c`` (``spearman``, ``spearman_ci``) of a measure whose larger values mean
    flatter (``sign`` +1) or sharper (-1), turned into the correlation of FLATNESS: rho and
    its interval times ``sign`` (the interval reordered)."""
    lo, hi = c.get("spearman_ci", (float("nan"), float("nan")))
    if sign > 0:
        return {"spearman": float(c["spearman"]), "spearman_ci": [float(lo), float(hi)]}
    return {"spearman": -float(c["spearman"]), "spearman_ci": [-float(hi), -float(lo)]}


def direction(flat_ci: Sequence[float]) -> str:
    """'flatter -> better' / 'flatter -> worse' when the flatness-oriented 95% interval
    ``flat_ci`` (lo, hi) excludes 0 on that side, else 'no evidence'."""
    lo, hi = flat_ci
    if np.isfinite(lo) and lo > 0:
        return "flatter -> better"
    if np.isfinite(hi) and hi < 0:
        return "flatter -> worse"
    return "no evidence"


def default_variants(n_train: int) -> List[Dict[str, Any]]:
    """The default grid: batch sizes 16, 64, 256 and full batch (plain SGD with momentum; full
    batch with lr 0.5 and 10x the epochs, so that its training loss reaches the range of the
    others), and at batch 64 a SAM (rho = 0.05), a label-noise (20%) and a weight-decay (5e-4)
    variant. ``epochs`` entries multiply nothing: they replace the study's ``epochs``."""
    return [
        {"batch_size": 16}, {"batch_size": 64}, {"batch_size": 256},
        {"batch_size": int(n_train), "lr": 0.5, "epochs": "10x"},
        {"batch_size": 64, "sam_rho": 0.05},
        {"batch_size": 64, "label_noise": 0.2},
        {"batch_size": 64, "weight_decay": 5e-4},
    ]


def _expand_variants(variants: Any, n_train: int) -> List[Dict[str, Any]]:
    if variants is None:
        return default_variants(n_train)
    if isinstance(variants, dict):  # a grid: every key maps to a list of values
        keys = list(variants)
        vals = [v if isinstance(v, (list, tuple)) else [v] for v in variants.values()]
        out = [dict(zip(keys, combo)) for combo in itertools.product(*vals)]
    else:
        out = [dict(v) for v in variants]
    if not out:
        raise ValueError("variants must not be empty")
    for v in out:
        for k in v:
            if k not in _TRAIN_KEYS:
                raise ValueError(f"unknown variant key {k!r}; allowed: {_TRAIN_KEYS}")
        if v.get("batch_size") in ("full", -1, None) and "batch_size" in v:
            v["batch_size"] = int(n_train)
    return out


def _label(v: Dict[str, Any], n_train: int) -> str:
    parts = []
    for k, val in v.items():
        if k == "epochs":
            parts.append(f"E={val}")
        elif k == "batch_size" and int(val) >= n_train:
            parts.append("B=full")
        elif k == "batch_size":
            parts.append(f"B={val}")
        else:
            short = {"sam_rho": "SAM", "label_noise": "noise", "weight_decay": "wd"}.get(k, k)
            parts.append(f"{short}={val}")
    return ", ".join(parts) or "base"


# ---- statistics -----------------------------------------------------------------------------------
def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def _kendall(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import kendalltau

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(kendalltau(a, b).statistic)


def _partial_spearman(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    """Spearman correlation of a and b after regressing the ranks of c out of both."""
    from scipy.stats import rankdata

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    ra, rb, rc = (rankdata(v) for v in (a, b, c))
    Z = np.column_stack([np.ones_like(rc), rc])
    res = [v - Z @ np.linalg.lstsq(Z, v, rcond=None)[0] for v in (ra, rb)]
    den = float(np.linalg.norm(res[0]) * np.linalg.norm(res[1]))
    return float(res[0] @ res[1] / den) if den > 0 else float("nan")


def partial_rank_correlation(x: Any, y: Any, control: Any, n_boot: int = 1000, seed: int = 0,
                             level: float = 0.95) -> Dict[str, Any]:
    """Partial Spearman correlation of x and y controlling for ``control`` (e.g. the training
    loss), with a percentile bootstrap interval over points."""
    xa, ya, ca = (np.asarray(v, dtype=np.float64) for v in (x, y, control))
    rng = np.random.default_rng(check_seed(seed))
    out: Dict[str, Any] = {"n": int(len(xa)), "spearman": _partial_spearman(xa, ya, ca)}
    bs = []
    for _ in range(check_int(n_boot, "n_boot", 0)):
        i = rng.integers(0, len(xa), len(xa))
        bs.append(_partial_spearman(xa[i], ya[i], ca[i]))
    arr = np.asarray(bs)
    arr = arr[np.isfinite(arr)]
    a = (1 - level) / 2
    out["spearman_ci"] = ((float(np.quantile(arr, a)), float(np.quantile(arr, 1 - a)))
                          if arr.size else (float("nan"), float("nan")))
    return out


def rank_correlations(x: Any, y: Any, n_boot: int = 1000, seed: int = 0,
                      groups: Optional[Any] = None, level: float = 0.95) -> Dict[str, Any]:
    """Spearman and Kendall correlation of ``x`` and ``y`` with percentile bootstrap intervals.

    Without ``groups``: points are resampled with replacement. With ``groups`` (one label per
    point): the correlation is computed between group means, and the bootstrap resamples
    points within each group (the across-variant analysis)."""
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if xa.shape != ya.shape or xa.ndim != 1:
        raise ValueError(f"x and y must be 1-d of equal length, got {xa.shape} and {ya.shape}")
    nb = check_int(n_boot, "n_boot", 0)
    rng = np.random.default_rng(check_seed(seed))
    if groups is None:
        idx_sets = None
        stat_x, stat_y = xa, ya
    else:
        g = np.asarray(groups)
        labels = list(dict.fromkeys(g.tolist()))
        idx_sets = [np.flatnonzero(g == lab) for lab in labels]
        stat_x = np.array([xa[i].mean() for i in idx_sets])
        stat_y = np.array([ya[i].mean() for i in idx_sets])
    out: Dict[str, Any] = {"n": int(len(stat_x)), "spearman": _spearman(stat_x, stat_y),
                           "kendall": _kendall(stat_x, stat_y)}
    if nb:
        bs, bk = [], []
        for _ in range(nb):
            if idx_sets is None:
                i = rng.integers(0, len(xa), len(xa))
                bx, by = xa[i], ya[i]
            else:
                sel = [s[rng.integers(0, len(s), len(s))] for s in idx_sets]
                bx = np.array([xa[s].mean() for s in sel])
                by = np.array([ya[s].mean() for s in sel])
            bs.append(_spearman(bx, by))
            bk.append(_kendall(bx, by))
        a = (1 - check_float(level, "level", 0.0, 1.0)) / 2
        for name, arr in (("spearman", np.asarray(bs)), ("kendall", np.asarray(bk))):
            arr = arr[np.isfinite(arr)]
            out[name + "_ci"] = ((float(np.quantile(arr, a)), float(np.quantile(arr, 1 - a)))
                                 if arr.size else (float("nan"), float("nan")))
    return out


# ---- result -----------------------------------------------------------------------------------------
@dataclass
class GeneralizationStudy(Result):
    """Result of :func:`generalization_study`.

    ``rows``: one dict per network and checkpoint (variant, replica, epoch, train/test loss and
    accuracy on clean labels, gap, and every measure). ``final``: the rows at the last
    checkpoint. ``correlations[measure][target][scope]`` with target in {'test_acc', 'gap'} and
    scope in {'networks', 'variants'}. ``matched``: the small- vs large-batch comparison.
    """

    rows: List[Dict[str, Any]]
    variants: List[Dict[str, Any]]
    labels: List[str]
    measures: List[str]
    correlations: Dict[str, Any]
    matched: Dict[str, Any]
    params: Dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> List[Dict[str, Any]]:
        """Rows of the last checkpoint of every variant."""
        return _final_rows(self.rows)

    def verdict(self) -> str:
        """Plain-language answer to 'do flatter minima generalise better here?', from the
        flatness-oriented Spearman correlations with test accuracy (95% bootstrap CI)."""

        def classify(scope: str) -> Tuple[List[str], List[str], List[str]]:
            out: Dict[str, List[str]] = {"flatter -> better": [], "flatter -> worse": [],
                                         "no evidence": []}
            for m in self.measures:
                fa = oriented(self.correlations[m]["test_acc"][scope], FLAT_SIGN.get(m, -1))
                out[direction(fa["spearman_ci"])].append(m)
            return out["flatter -> better"], out["flatter -> worse"], out["no evidence"]

        def fmt(lst: List[str]) -> str:
            return f"{len(lst)}" + (f" ({', '.join(lst)})" if lst else "")

        pos, neg, unc = classify("networks")
        txt = (f"Across {len(self.final)} networks: flatter -> higher test accuracy (95% CI "
               f"excludes 0) for {fmt(pos)} of {len(self.measures)} measures; flatter -> lower "
               f"test accuracy for {fmt(neg)}; inconclusive for {fmt(unc)}.")
        pos, neg, unc = classify("networks_given_train_loss")
        txt += (f" Controlling for the training loss (partial Spearman): flatter -> better for "
                f"{fmt(pos)}, flatter -> worse for {fmt(neg)}, inconclusive for {fmt(unc)}.")
        mt = self.matched
        if mt.get("n_pairs", 0):
            flatter = [m for m in self.measures if mt["measures"][m]["frac_small_flatter"] > 0.5]
            txt += (f" Small batch ({mt['small']}) vs large batch ({mt['large']}) at matched "
                    f"train loss ({mt['n_pairs']} checkpoint pairs, train loss "
                    f"{mt['train_loss_small']:.3g} vs {mt['train_loss_large']:.3g}): test "
                    f"accuracy {mt['test_acc_small']:.4f} vs {mt['test_acc_large']:.4f}; the "
                    f"small-batch solution is flatter in most pairs by {fmt(flatter)} of "
                    f"{len(self.measures)} measures.")
        return txt

    def table(self, fmt: str = "markdown") -> str:
        """Correlation table (and the per-variant summary and matched comparison)."""
        if fmt not in ("markdown", "text"):
            raise ValueError(f"fmt must be 'markdown' or 'text', got {fmt!r}")

        def ci(c: Dict[str, Any], key: str) -> str:
            v = c[key]
            lo, hi = c.get(key + "_ci", (np.nan, np.nan))
            return f"{v:+.2f} [{lo:+.2f}, {hi:+.2f}]"

        lines = []
        sep = " | "
        head = ["measure", "flat sign", "Spearman(test acc)", "Kendall(test acc)", "Spearman(gap)",
                "Kendall(gap)", "Spearman(test acc), variant means",
                "partial Spearman(test acc | train loss)"]
        lines.append("| " + sep.join(head) + " |")
        lines.append("|" + "---|" * len(head))
        for m in self.measures:
            c = self.correlations[m]
            lines.append("| " + sep.join([
                m, f"{FLAT_SIGN.get(m, -1):+d}", ci(c["test_acc"]["networks"], "spearman"),
                ci(c["test_acc"]["networks"], "kendall"), ci(c["gap"]["networks"], "spearman"),
                ci(c["gap"]["networks"], "kendall"), ci(c["test_acc"]["variants"], "spearman"),
                ci(c["test_acc"]["networks_given_train_loss"], "spearman"),
            ]) + " |")
        lines.append("")
        lines.append("| variant | train loss | train acc | test acc | gap | "
                     + " | ".join(self.measures) + " |")
        lines.append("|" + "---|" * (5 + len(self.measures)))
        fin = self.final
        for lab in self.labels:
            rs = [r for r in fin if r["variant"] == lab]
            if not rs:
                continue
            mean = lambda k: float(np.mean([r[k] for r in rs]))  # noqa: E731
            lines.append("| " + " | ".join(
                [lab, f"{mean('train_loss'):.4f}", f"{mean('train_acc'):.4f}",
                 f"{mean('test_acc'):.4f}", f"{mean('gap'):.4f}"]
                + [f"{mean(m):.4g}" for m in self.measures]) + " |")
        mt = self.matched
        lines.append("")
        if mt.get("n_pairs", 0):
            lines.append(f"Small batch ({mt['small']}) vs large batch ({mt['large']}) at matched "
                         f"train loss (relative tolerance {mt['tol']}): {mt['n_pairs']} pairs, "
                         f"train loss {mt['train_loss_small']:.4f} vs {mt['train_loss_large']:.4f}, "
                         f"test acc {mt['test_acc_small']:.4f} vs {mt['test_acc_large']:.4f} "
                         f"(small batch better in {mt['frac_small_better']:.0%} of pairs).")
            lines.append("")
            lines.append("| measure | small batch | large batch | small batch flatter (fraction of pairs) |")
            lines.append("|---|---|---|---|")
            for m in self.measures:
                d = mt["measures"][m]
                lines.append(f"| {m} | {d['small']:.4g} | {d['large']:.4g} | {d['frac_small_flatter']:.0%} |")
        else:
            lines.append(f"Small vs large batch at matched train loss: {mt.get('note', 'no pairs')}.")
        lines.append("")
        lines.append(self.verdict())
        txt = "\n".join(lines)
        if fmt == "text":
            txt = txt.replace("|---", "").replace("| ", "").replace(" |", "")
        return txt

    @deprecated_method("figure", "plot")
    def figure(self, max_cols: int = 4) -> Any:
        """Deprecated: use :meth:`plot`."""
        return self.plot(max_cols=max_cols)

    def plot(self, ax_or_fig: Any = None, max_cols: int = 4) -> Any:
        """Scatter-plot panel: test accuracy against each measure, coloured by variant
        (a matplotlib Figure; no pyplot, no backend switch). ``ax_or_fig``: None or a Figure
        to draw into."""
        import matplotlib
        from matplotlib.figure import Figure

        ms = self.measures
        nc = min(max_cols, len(ms))
        nr = (len(ms) + nc - 1) // nc
        if ax_or_fig is not None and not isinstance(ax_or_fig, Figure):
            raise TypeError("GeneralizationStudy.plot draws several panels; pass a Figure or None")
        fig = ax_or_fig if ax_or_fig is not None else Figure(figsize=(3.2 * nc, 2.8 * nr))
        axes = fig.subplots(nr, nc, squeeze=False)
        fin = self.final
        cmap = matplotlib.colormaps["tab10"]
        for i, m in enumerate(ms):
            ax = axes[i // nc][i % nc]
            for j, lab in enumerate(self.labels):
                rs = [r for r in fin if r["variant"] == lab]
                ax.scatter([r[m] for r in rs], [r["test_acc"] for r in rs], s=14,
                           color=cmap(j % 10), label=lab)
            vals = np.array([r[m] for r in fin])
            if vals.size and np.all(vals > 0) and vals.max() / max(vals.min(), 1e-300) > 30:
                ax.set_xscale("log")
            c = self.correlations[m]["test_acc"]["networks"]
            ax.set_title(f"{m}\nSpearman {c['spearman']:+.2f}", fontsize=8)
            ax.tick_params(labelsize=7)
            if i % nc == 0:
                ax.set_ylabel("test accuracy", fontsize=8)
        for i in range(len(ms), nr * nc):
            axes[i // nc][i % nc].axis("off")
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=7)
        fig.tight_layout(rect=(0, 0.08, 1, 1))
        return fig

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        """Rows, variants, labels, measures, correlations, the matched comparison and the
        parameters, as JSON types (everything is small; ``arrays`` changes nothing)."""
        return _jsonable({"rows": self.rows, "variants": self.variants, "labels": self.labels,
                          "measures": self.measures, "correlations": self.correlations,
                          "matched": self.matched, "params": self.params})

    def save_json(self, path: Union[str, Path]) -> None:
        write_json(path, self.to_dict(), indent=1, newline=False)


def _final_rows(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    last: Dict[str, int] = {}
    for r in rows:
        last[r["variant"]] = max(last.get(r["variant"], -1), r["checkpoint"])
    return [r for r in rows if r["checkpoint"] == last[r["variant"]]]


# ---- the study ---------------------------------------------------------------------------------------
def _measure_names(which: Sequence[str]) -> Tuple[List[str], List[str]]:
    """(measures passed to flatness.measures, scalar columns reported)."""
    cols = []
    calls = []
    for m in which:
        if m == "corr_length":
            base = "ruggedness"
        elif m in ALL_MEASURES:
            base = m
        else:
            raise ValueError(f"unknown measure {m!r}; choose from {STUDY_MEASURES}")
        if base not in calls:
            calls.append(base)
        cols.append(m)
    return calls, cols


def analyse_rows(rows: List[Dict[str, Any]], measures: Sequence[str], labels: Sequence[str],
                 n_boot: int = 1000, seed: int = 0, match_tol: float = 0.1,
                 small: Optional[str] = None, large: Optional[str] = None
                 ) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Correlations and the matched small/large-batch comparison from study rows."""
    fin = _final_rows(rows)
    groups = [r["variant"] for r in fin]
    corr: Dict[str, Any] = {}
    for k, m in enumerate(measures):
        x = np.array([r[m] for r in fin])
        corr[m] = {}
        for t, target in enumerate(("test_acc", "gap")):
            yv = np.array([r[target] for r in fin])
            corr[m][target] = {
                "networks": rank_correlations(x, yv, n_boot, seed=seed + 7919 * k + t),
                "variants": rank_correlations(x, yv, n_boot, seed=seed + 7919 * k + t + 17,
                                              groups=groups) if len(set(groups)) > 2 else
                {"n": len(set(groups)), "spearman": float("nan"), "kendall": float("nan"),
                 "spearman_ci": (float("nan"),) * 2, "kendall_ci": (float("nan"),) * 2},
                "networks_given_train_loss": partial_rank_correlation(
                    x, yv, [r["train_loss"] for r in fin], n_boot, seed=seed + 7919 * k + t + 31),
            }
    matched: Dict[str, Any] = {"tol": match_tol, "small": small, "large": large}
    if small is None or large is None or small == large:
        matched["note"] = "needs two plain variants that differ in batch size"
        return corr, matched
    S = [r for r in rows if r["variant"] == small]
    Lr = [r for r in rows if r["variant"] == large]
    pairs = [(a, b) for a in S for b in Lr
             if abs(a["train_loss"] - b["train_loss"]) <= match_tol * max(a["train_loss"], b["train_loss"])]
    matched["n_pairs"] = len(pairs)
    if not pairs:
        matched["note"] = (f"no pair of checkpoints with train losses within {match_tol:.0%} "
                           "(train longer or raise match_tol)")
        return corr, matched
    mean = lambda xs: float(np.mean(xs))  # noqa: E731
    matched.update({
        "train_loss_small": mean([a["train_loss"] for a, _ in pairs]),
        "train_loss_large": mean([b["train_loss"] for _, b in pairs]),
        "test_acc_small": mean([a["test_acc"] for a, _ in pairs]),
        "test_acc_large": mean([b["test_acc"] for _, b in pairs]),
        "frac_small_better": mean([a["test_acc"] > b["test_acc"] for a, b in pairs]),
        "measures": {},
    })
    for m in measures:
        s = FLAT_SIGN.get(m, -1)
        matched["measures"][m] = {
            "small": mean([a[m] for a, _ in pairs]), "large": mean([b[m] for _, b in pairs]),
            "frac_small_flatter": mean([s * (a[m] - b[m]) > 0 for a, b in pairs]),
        }
    return corr, matched


@renamed_kwargs(replicas="n_replicas", checkpoints="n_checkpoints")
def generalization_study(
    dataset: Any,
    hidden: Union[int, Sequence[int]] = (32,),
    variants: Any = None,
    n_replicas: int = 4,
    epochs: int = 30,
    measures: Sequence[str] = STUDY_MEASURES,
    *,
    balance: bool = True,
    n_checkpoints: int = 4,
    lr: float = 0.05,
    momentum: float = 0.9,
    seed: int = 0,
    n_threads: Optional[int] = None,
    n_boot: int = 1000,
    match_tol: float = 0.2,
    measure_params: Optional[Dict[str, Dict[str, Any]]] = None,
    progress: bool = False,
) -> GeneralizationStudy:
    """Train ``n_replicas`` networks per variant and relate their flatness to generalisation.

    Parameters
    ----------
    dataset : a ``Dataset`` (e.g. ``glasslens.datasets.load``), an object with X_train, y_train,
        X_test, y_test, a tuple ``(X_train, y_train, X_test, y_test)`` or a mapping with those
        keys (a test split is required)
    hidden : hidden widths
    variants : list of dicts of ``train_ensemble`` settings (keys: batch_size, lr, momentum,
        weight_decay, schedule, warmup_epochs, sam_rho, label_noise; ``batch_size="full"``),
        or a dict of lists (the grid of all combinations); None: ``default_variants``
    n_replicas, epochs : per variant (a variant's ``epochs`` entry overrides it; "10x" means ten
        times ``epochs``); training stops at ``n_checkpoints`` geometrically spaced epochs
        (``round(E ** (c / C))``, c = 1..C, continuing from the previous checkpoint) and the
        measures are computed at each; correlations use the last checkpoint, the matched
        small/large-batch comparison uses all of them
    measures : names from ``STUDY_MEASURES``
    balance : measure after balancing the ReLU rescaling symmetry (recommended)
    lr, momentum : defaults for variants that do not set them
    seed : master seed (training seeds are ``seed + variant index``; measures use ``seed``)
    n_boot : bootstrap resamples for the confidence intervals (95%, percentile)
    match_tol : relative train-loss tolerance of the matched small/large-batch comparison
    measure_params : overrides passed to ``flatness.measures(params=...)``
    """
    from ..nn._training import train_ensemble

    R = check_int(n_replicas, "n_replicas", 2)
    E = check_int(epochs, "epochs", 1)
    C = check_int(n_checkpoints, "n_checkpoints", 1, 50)
    s = check_seed(seed)
    nt = resolve_threads(n_threads)
    tol = check_float(match_tol, "match_tol", 0.0)
    calls, cols = _measure_names(list(measures))
    d = as_data(dataset, need_test=True, name="dataset")
    Xtr, ytr, Xte, yte = d.X_train, d.y_train, d.X_test, d.y_test
    n_train = int(len(ytr))
    var = _expand_variants(variants, n_train)
    labels = [_label(v, n_train) for v in var]
    if len(set(labels)) != len(labels):
        raise ValueError(f"variants must be distinct, got {labels}")
    rows: List[Dict[str, Any]] = []
    it = list(enumerate(var))
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="variants")
    for vi, v in it:
        kw = {"lr": lr, "momentum": momentum, **v}
        Ev = kw.pop("epochs", E)
        if isinstance(Ev, str) and Ev.endswith("x"):
            Ev = int(round(float(Ev[:-1]) * E))
        Ev = check_int(Ev, "epochs", 1)
        bounds = sorted({max(1, int(round(Ev ** ((c + 1) / C)))) for c in range(C)})
        ens: Optional[Ensemble] = None
        done = 0
        for c, e_end in enumerate(bounds):
            ens = train_ensemble(dataset, hidden=hidden, replicas=R, epochs=e_end - done,
                                 seed=s + vi, init=ens, n_threads=nt, **kw)
            done = e_end
            for r in range(R):
                net: MLP = ens[r]
                theta = net.flat()[None, :]
                trl, tra = batch_loss(net, theta, Xtr, ytr, nt)
                tel, tea = batch_loss(net, theta, Xte, yte, nt)
                fm = flat_measures(net, (Xtr, ytr), which=calls, balance=balance,
                                   params=measure_params, seed=s, n_threads=nt)
                row = {"variant": labels[vi], "variant_index": vi, "replica": r,
                       "checkpoint": c, "epoch": e_end, "train_loss": float(trl[0]),
                       "train_acc": float(tra[0]), "test_loss": float(tel[0]),
                       "test_acc": float(tea[0]), "gap": float(tra[0] - tea[0]),
                       "loss_gap": float(tel[0] - trl[0])}
                for m in cols:
                    row[m] = float(fm.values[m])
                rows.append(row)
    # small/large batch: plain variants (no SAM, noise, wd) with the smallest / largest batch
    plain = [(v.get("batch_size", 64), labels[i]) for i, v in enumerate(var)
             if not v.get("sam_rho") and not v.get("label_noise") and not v.get("weight_decay")]
    small = min(plain)[1] if plain else None
    large = max(plain)[1] if plain else None
    corr, matched = analyse_rows(rows, cols, labels, n_boot, s, tol, small, large)
    params = {"dataset": getattr(dataset, "name", None), "hidden": list(np.atleast_1d(hidden).tolist()),
              "replicas": R, "epochs": E, "checkpoints": C, "lr": lr, "momentum": momentum,
              "balance": bool(balance), "seed": s, "n_boot": n_boot, "match_tol": tol,
              "measure_params": measure_params or {}, "n_train": n_train, "n_test": int(len(yte))}
    return GeneralizationStudy(rows=rows, variants=var, labels=labels, measures=cols,
                               correlations=corr, matched=matched, params=params)
