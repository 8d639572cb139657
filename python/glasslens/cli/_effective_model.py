"""``glasslens effective-model``: the Zou & Huang 2021 pipeline from the command line, and the
``glasslens analyze`` report section.

``add_effective_model_parser(subparsers)`` registers the subcommand (it sets ``func`` to
:func:`cli_effective_model`); :func:`report_section_effective_model` is the cheap report
section. Outputs per regime in ``--out``: ``<regime>-landscapes.png`` (entropy landscapes per
block with the H2 bound), ``<regime>-tap.png`` (TAP free-energy histograms),
``<regime>-liquid-solid.png`` (per-block bars, as drawn vs aligned) and one
``summary.json`` with every indicator, jump and curve.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from ._argtypes import alignment_arg as _alignment_arg
from ._argtypes import nonneg_int as _nonneg_int
from ._argtypes import positive_int as _positive_int

# deprecated alias (0.2): the section moved to glasslens.effective_model._section
from ..effective_model._section import section as report_section_effective_model  # noqa: E402,F401

__all__ = ["add_effective_model_parser", "cli_effective_model"]

_REGIMES = ("deep-under", "deep-over", "shallow")


def add_effective_model_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``effective-model`` subcommand on an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "effective-model",
        help="binary nets -> pairwise maximum-entropy model of weight space -> entropy "
             "landscapes, TAP states, liquid/solid layers (Zou & Huang 2021)")
    p.add_argument("--dataset", default="fashion-mnist",
                   help="glasslens.datasets name (fashion-mnist, mnist, digits); PCA to 20 "
                        "components of the raw pixels (default fashion-mnist)")
    p.add_argument("--data-path", default=None, help="directory of the IDX files")
    p.add_argument("--n-train", type=_positive_int, default=None,
                   help="training examples to load (default: all; deep-over uses the first 500)")
    p.add_argument("--n-test", type=_positive_int, default=None, help="test examples to load")
    p.add_argument("--regimes", nargs="+", choices=_REGIMES, default=["deep-under", "shallow"])
    p.add_argument("--trainings", type=_positive_int, default=None,
                   help="independent trainings (paper 100)")
    p.add_argument("--draws", type=_positive_int, default=None,
                   help="configurations drawn per trained network (paper 100)")
    p.add_argument("--epochs", type=_nonneg_int, default=None, help="override the preset's epochs")
    p.add_argument("--min-accuracy", type=float, default=None,
                   help="keep configurations with test accuracy >= this")
    p.add_argument("--fit", choices=["boltzmann", "pseudolikelihood"], default="boltzmann")
    p.add_argument("--fit-iters", type=_positive_int, default=None,
                   help="Boltzmann-learning iterations (default 100, best after 50)")
    p.add_argument("--references", type=_nonneg_int, default=1,
                   help="references per energy level (low/medium/high) for the landscapes")
    p.add_argument("--x-max", type=float, default=3.0, help="tilts x in [-x_max, x_max]")
    p.add_argument("--x-step", type=float, default=0.1)
    p.add_argument("--direction", choices=["outward", "both", "forward", "backward"],
                   default="outward", help="landscape sweep (both: hysteresis loop)")
    p.add_argument("--tap-starts", type=_nonneg_int, default=200)
    p.add_argument("--alignment", type=_alignment_arg, default=("none", "mean"),
                   metavar="{none,reference,medoid,mean}[,...]",
                   help="the hidden-unit labellings fitted, comma-separated: as drawn (none) "
                        "and/or one common labelling (reference, medoid or mean); default "
                        "none,mean (the old 'both')")
    p.add_argument("--out", default="effective-model", help="output directory")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=cli_effective_model)
    return p


def _grid(x_max: float, step: float) -> np.ndarray:
    if not (np.isfinite(x_max) and x_max > 0):
        raise ValueError(f"--x-max must be a positive number, got {x_max}")
    if not (np.isfinite(step) and 0 < step <= x_max):
        raise ValueError(f"--x-step must be in (0, x_max], got {step}")
    n = int(round(x_max / step))
    if n > 10_000:
        raise ValueError(f"--x-max / --x-step gives {2 * n + 1} tilts; use a coarser step")
    return np.round(np.linspace(-n * step, n * step, 2 * n + 1), 10)


def save_figures(result: Any, out: Path, prefix: str, title: str = "") -> List[Path]:
    """Write the landscape, TAP and liquid/solid figures of ``result``; returns the paths."""
    from ..effective_model.plotting import plot_entropy_landscapes, plot_liquid_solid, plot_tap_histograms

    paths: List[Path] = []
    for name, an in result.variants().items():
        tag = "" if name == "raw" else f"-{name}"
        if an.landscapes:
            p = out / f"{prefix}-landscapes{tag}.png"
            plot_entropy_landscapes(an, title=f"{title} ({name} labelling)").savefig(p)
            paths.append(p)
        if an.tap:
            p = out / f"{prefix}-tap{tag}.png"
            plot_tap_histograms(an, title=f"{title} ({name} labelling)").savefig(p)
            paths.append(p)
    if result.variants():
        p = out / f"{prefix}-liquid-solid.png"
        plot_liquid_solid(result, title=title).savefig(p)
        paths.append(p)
    return paths


def cli_effective_model(args: argparse.Namespace) -> int:
    """Run the pipeline for each ``--regimes`` preset and write figures + summary.json."""
    from ..effective_model._pipeline import liquid_solid_table, run_effective_model

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    xs = _grid(args.x_max, args.x_step)
    if args.min_accuracy is not None and not 0.0 <= args.min_accuracy <= 1.0:
        raise ValueError(f"--min-accuracy must be in [0, 1], got {args.min_accuracy}")
    from .. import datasets

    t0 = time.perf_counter()
    kw: Dict[str, Any] = {"standardize": False, "n_threads": args.threads, "seed": args.seed}
    if args.data_path:
        kw["path"] = args.data_path
    if args.n_train:
        kw["n_train"] = args.n_train
    if args.n_test:
        kw["n_test"] = args.n_test
    data = datasets.load(args.dataset, pca=20, **kw)
    summary: Dict[str, Any] = {"dataset": args.dataset, "options": {
        k: v for k, v in vars(args).items() if k != "func"}, "regimes": {}}
    for regime in args.regimes:
        t1 = time.perf_counter()
        fkw = {} if args.fit_iters is None else {"iters": args.fit_iters,
                                                 "keep_after": args.fit_iters // 2}
        n_train = None
        if regime == "deep-over" and data.X_train.shape[0] < 500:
            n_train = data.X_train.shape[0]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = run_effective_model(
                data, regime, n_replicas=args.trainings, epochs=args.epochs,
                n_per_network=args.draws, min_accuracy=args.min_accuracy, fit=args.fit,
                fit_kwargs=fkw, n_references=args.references, xs=xs,
                landscape_kwargs={"direction": args.direction}, n_tap_starts=args.tap_starts,
                alignment=tuple(args.alignment) if regime != "shallow" else "none",
                n_train=n_train,
                seed=args.seed, n_threads=args.threads)
        msgs = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
        for m in msgs:
            print(f"warning: {m}")
        figs = save_figures(r, out, regime, title=f"{regime}, {args.dataset}")
        d = r.to_dict(arrays=True)
        d.update({"seconds": time.perf_counter() - t1, "warnings": msgs,
                  "figures": [p.name for p in figs]})
        summary["regimes"][regime] = d
        print(r.report())
        print(liquid_solid_table(r))
    summary["seconds"] = time.perf_counter() - t0
    p = out / "summary.json"
    p.write_text(json.dumps(summary, indent=1, allow_nan=False))
    print(f"effective-model: {len(args.regimes)} regime(s) in {summary['seconds']:.1f} s; wrote {out}")
    return 0


# ---- report section ------------------------------------------------------------------------------


