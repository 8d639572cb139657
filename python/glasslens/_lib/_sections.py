"""Helpers shared by the report sections of every protocol (no dependency on the report).

A section is a function ``section(ctx)`` that receives the report's ``AnalysisContext`` (duck
typed: ``dataset``, ``ensemble``, ``options``, ``report``, ``n_threads``, ``progress``,
``results``) and adds its text, figures and data with ``ctx.report.add_section(...)``.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Tuple

import numpy as np

#: the questions of the report's findings panel: section name -> (question, the key of the
#: report section that answers it); :func:`put_finding` reads them, the report lists them
FINDINGS: Dict[str, Tuple[str, str]] = {
    "probes": ("Protocol 1: what does the basin look like to random walks?", "protocol1"),
    "symmetry": ("Protocol 2: how much of the barrier between replicas is permutation "
                 "symmetry?", "protocol2"),
    "replicas": ("Protocol 3: what is the shape of P(q), and is the replica space "
                 "ultrametric?", "protocol3"),
    "flatness": ("Protocol 4: which flatness measures predict generalisation?", "protocol4"),
    "effective_model": ("Effective model (Zou & Huang): is the middle layer liquid-like?",
                        "effective_model"),
}


def section_settings(ctx: Any) -> Dict[str, Any]:
    """The ``-O key=value`` settings of a run (``ctx.options['extra']``) as a new dict."""
    return dict((getattr(ctx, "options", None) or {}).get("extra", {}) or {})


def run_seed(ctx: Any) -> int:
    """The run's seed (``ctx.options['seed']``, 0 when absent)."""
    return int((getattr(ctx, "options", None) or {}).get("seed", 0) or 0)


def opt_int(extra: Dict[str, Any], key: str, default: int, low: int = 1) -> int:
    """Integer setting ``key`` of ``extra`` (``default`` when absent), checked ``>= low``."""
    v = extra.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < low:
        raise ValueError(f"-O {key}= expects an integer >= {low}, got {v!r}")
    return int(v)


def stats(v: Any) -> Dict[str, float]:
    """mean, std, min, max and median of ``v`` as floats."""
    v = np.asarray(v, dtype=np.float64)
    return {"mean": float(v.mean()), "std": float(v.std()), "min": float(v.min()),
            "max": float(v.max()), "median": float(np.median(v))}


def slug(text: str) -> str:
    """The report's anchor of a section key or title: lower case, runs of other characters
    as one ``-`` ("effective_model" -> "effective-model")."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s or "section"


def put_finding(ctx: Any, name: str, *, verdict: str, numbers: Dict[str, Any],
                calibration: str, calibration_status: str) -> Dict[str, Any]:
    """Record the answer of section ``name`` (a key of :data:`FINDINGS`, which holds its
    question and the report section with the details) for the report's findings panel
    (``ctx.report.add_finding``; a report without it, e.g. a test double, ignores it).

    verdict : one plain-language sentence; numbers : the deciding numbers (JSON scalars, with
    units in the key or the verdict); calibration : what a known answer gave in this run, or
    "not calibrated in this run"; calibration_status : "ok", "warning" or "not calibrated"."""
    if name not in FINDINGS:
        raise ValueError(f"name must be one of {sorted(FINDINGS)}, got {name!r}")
    if calibration_status not in ("ok", "warning", "not calibrated"):
        raise ValueError(f"calibration_status must be 'ok', 'warning' or 'not calibrated', "
                         f"got {calibration_status!r}")
    question, section = FINDINGS[name]
    f = {"question": question, "verdict": verdict, "numbers": dict(numbers),
         "calibration": calibration, "calibration_status": calibration_status,
         "section": slug(section)}
    add = getattr(getattr(ctx, "report", None), "add_finding", None)
    if callable(add):
        add(name, f)
    return f


def bootstrap_mean_ci(x: Any, n_boot: int = 1000, seed: int = 0,
                      level: float = 0.95) -> tuple:
    """Percentile bootstrap interval of the mean of ``x`` (1-D; NaN dropped): (lo, hi); (nan,
    nan) for fewer than 2 values."""
    v = np.asarray(x, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size < 2:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
    a = (1.0 - level) / 2.0
    return (float(np.quantile(means, a)), float(np.quantile(means, 1.0 - a)))
