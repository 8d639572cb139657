"""``glasslens effective-model``: the Zou & Huang 2021 pipeline
(``glasslens.effective_model.run_effective_model``) for one or more regimes.

Outputs per regime in ``--out``: ``<regime>-landscapes.png`` (entropy landscapes per block with
the H2 bound), ``<regime>-tap.png`` (TAP free-energy histograms), ``<regime>-liquid-solid.png``
(per-block bars, as drawn vs aligned) and one ``summary.json`` with every indicator, jump and
curve.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List

from . import _common as C

NAME = "effective-model"

__all__ = ["add_parser", "run", "save_figures"]

_REGIMES = ("deep-under", "deep-over", "shallow")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        NAME,
        help="binary nets -> pairwise maximum-entropy model of weight space -> entropy "
             "landscapes, TAP states, liquid/solid layers (Zou & Huang 2021)")
    C.add_data_options(p, dataset="fashion-mnist", pca=False, classes=False,
                       dataset_help="fashion-mnist, mnist, digits; PCA to 20 components of "
                                    "the raw pixels")
    g = p.add_argument_group("protocol")
    g.add_argument("--regimes", nargs="+", choices=_REGIMES, default=["deep-under", "shallow"])
    g.add_argument("--trainings", type=C.positive_int, default=None,
                   help="independent trainings (paper 100)")
    g.add_argument("--draws", type=C.positive_int, default=None,
                   help="configurations drawn per trained network (paper 100)")
    g.add_argument("--epochs", type=C.nonneg_int, default=None,
                   help="override the preset's epochs")
    g.add_argument("--min-accuracy", type=float, default=None,
                   help="keep configurations with test accuracy >= this")
    g.add_argument("--fit", choices=["boltzmann", "pseudolikelihood"], default="boltzmann")
    g.add_argument("--fit-iters", type=C.positive_int, default=None,
                   help="Boltzmann-learning iterations (default 100, best after 50)")
    g.add_argument("--references", type=C.nonneg_int, default=1,
                   help="references per energy level (low/medium/high) for the landscapes")
    g.add_argument("--x-max", type=float, default=3.0, help="tilts x in [-x_max, x_max]")
    g.add_argument("--x-step", type=float, default=0.1)
    g.add_argument("--direction", choices=["outward", "both", "forward", "backward"],
                   default="outward", help="landscape sweep (both: hysteresis loop)")
    g.add_argument("--tap-starts", type=C.nonneg_int, default=200)
    g.add_argument("--alignment", type=C.alignment_arg, default=("none", "mean"),
                   metavar="{none,reference,medoid,mean}[,...]",
                   help="the hidden-unit labellings fitted, comma-separated: as drawn (none) "
                        "and/or one common labelling (reference, medoid or mean); default "
                        "none,mean (the old 'both')")
    g.add_argument("--seed", type=C.nonneg_int, default=0)
    C.add_run_options(p, out="effective-model", out_help="output directory")
    p.set_defaults(func=run)
    return p


def save_figures(result: Any, out: Path, prefix: str, title: str = "") -> List[Path]:
    """Write the landscape, TAP and liquid/solid figures of ``result``; returns the paths."""
    from ..effective_model.plotting import (plot_entropy_landscapes, plot_liquid_solid,
                                            plot_tap_histograms)

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


def run(args: argparse.Namespace) -> int:
    """Run the pipeline for each ``--regimes`` preset and write figures + summary.json."""
    from .. import effective_model as em
    from .._lib._threads import resolve_threads

    out = C.out_dir(args.out)
    xs = em.tilt_grid(args.x_max, args.x_step)
    if args.min_accuracy is not None and not 0.0 <= args.min_accuracy <= 1.0:
        raise ValueError(f"--min-accuracy must be in [0, 1], got {args.min_accuracy}")
    threads = resolve_threads(args.threads)
    t0 = time.perf_counter()
    data = em.load_paper_data(args.dataset, n_train=args.n_train, n_test=args.n_test,
                              path=args.data_path, seed=args.seed, n_threads=threads)
    summary: Dict[str, Any] = {"dataset": args.dataset, "options": {
        k: v for k, v in vars(args).items() if k != "func"}, "regimes": {}}
    for regime in args.regimes:
        t1 = time.perf_counter()
        fkw = {} if args.fit_iters is None else {"iters": args.fit_iters,
                                                 "keep_after": args.fit_iters // 2}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = em.run_effective_model(
                data, regime, n_replicas=args.trainings, epochs=args.epochs,
                n_per_network=args.draws, min_accuracy=args.min_accuracy, fit=args.fit,
                fit_kwargs=fkw, n_references=args.references, xs=xs,
                landscape_kwargs={"direction": args.direction}, n_tap_starts=args.tap_starts,
                alignment=tuple(args.alignment) if regime != "shallow" else "none",
                n_train=em.preset_n_train(regime, data.X_train.shape[0]),
                seed=args.seed, n_threads=threads, progress=C.show_progress(args))
        msgs = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
        for m in msgs:
            print(f"warning: {m}")
        figs = save_figures(r, out, regime, title=f"{regime}, {args.dataset}")
        d = r.to_dict(arrays=True)
        d.update({"seconds": time.perf_counter() - t1, "warnings": msgs,
                  "figures": [p.name for p in figs]})
        summary["regimes"][regime] = d
        print(r.report())
        print(em.liquid_solid_table(r))
    summary["seconds"] = time.perf_counter() - t0
    p = out / "summary.json"
    p.write_text(json.dumps(summary, indent=1, allow_nan=False))
    print(f"effective-model: {len(args.regimes)} regime(s) in {summary['seconds']:.1f} s; "
          f"wrote {out}")
    return 0
