"""Helpers shared by the report sections of every protocol (no dependency on the report).

A section is a function ``section(ctx)`` that receives the report's ``AnalysisContext`` (duck
typed: ``dataset``, ``ensemble``, ``options``, ``report``, ``n_threads``, ``progress``,
``results``) and adds its text, figures and data with ``ctx.report.add_section(...)``.
"""
from __future__ import annotations

from typing import Any, Dict

import numpy as np


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
