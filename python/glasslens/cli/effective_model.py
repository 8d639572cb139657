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
    from ..effective_model import RUN_PRESETS

    q = RUN_PRESETS["quick"]
    p = subparsers.add_parser(
        NAME,
        help="binary nets -> pairwise maximum-entropy model of weight space -> entropy "
             "landscapes, TAP states, liquid/solid layers (Zou & Huang 2021)",
        description="The Zou & Huang pipeline per regime. --preset quick (default): "
                    f"{q.description}, about a minute on 2 cores; --preset paper: "
                    f"{RUN_PRESETS['paper'].description}, tens of minutes (the estimate is "
                    "printed first). Every option below overrides the preset.")
    g = p.add_argument_group("preset")
    g.add_argument("--preset", choices=sorted(RUN_PRESETS), default="quick",
                   help="sizes of the run (default: quick, on digits; paper: the paper's "
                        "scale on Fashion-MNIST)")
    C.add_data_options(p, dataset=None, pca=False, classes=False,
                       dataset_help="digits (quick), fashion-mnist (paper), mnist, cifar10; "
                                    "PCA to 20 components of the raw pixels")
    g = p.add_argument_group("protocol (default: the preset's)")
    g.add_argument("--regimes", nargs="+", choices=_REGIMES, default=None)
    g.add_argument("--trainings", type=C.positive_int, default=None,
                   help="independent trainings (quick 20, paper 100)")
    g.add_argument("--draws", type=C.positive_int, default=None,
                   help="configurations drawn per trained network (quick 50, paper 100)")
    g.add_argument("--epochs", type=C.nonneg_int, default=None,
                   help="override the regime's epochs (50; deep-over 5000)")
    g.add_argument("--min-accuracy", type=float, default=None,
                   help="keep configurations with test accuracy >= this")
    g.add_argument("--fit", choices=["boltzmann", "pseudolikelihood"], default=None,
                   help="quick: pseudolikelihood, paper: boltzmann")
    g.add_argument("--fit-iters", type=C.positive_int, default=None,
                   help="Boltzmann-learning iterations (default 100, best after 50)")
    g.add_argument("--references", type=C.nonneg_int, default=None,
                   help="references per energy level (low/medium/high) for the landscapes "
                        "(default 1)")
    g.add_argument("--x-max", type=float, default=None,
                   help="tilts x in [-x_max, x_max] (quick 2, paper 3)")
    g.add_argument("--x-step", type=float, default=None, help="quick 0.5, paper 0.1")
    g.add_argument("--direction", choices=["outward", "both", "forward", "backward"],
                   default=None, help="landscape sweep (default outward; both: hysteresis loop)")
    g.add_argument("--tap-starts", type=C.nonneg_int, default=None,
                   help="TAP starts per block (quick 30, paper 200)")
    g.add_argument("--alignment", type=C.alignment_arg, default=None,
                   metavar="{none,reference,medoid,mean}[,...]",
                   help="the hidden-unit labellings fitted, comma-separated: as drawn (none) "
                        "and/or one common labelling (reference, medoid or mean); default "
                        "none,mean (the old 'both')")
    g.add_argument("--seed", type=C.nonneg_int, default=0)
    C.add_run_options(p, out="effective-model", out_help="output directory")
    p.set_defaults(func=run)
    return p


def _settings(args: argparse.Namespace) -> Any:
    """The preset with the options given on the command line."""
    from dataclasses import replace

    from ..effective_model import run_preset

    pre = run_preset(args.preset)
    over = {"dataset": args.dataset, "regimes": tuple(args.regimes) if args.regimes else None,
            "n_train": args.n_train, "n_test": args.n_test, "n_replicas": args.trainings,
            "n_per_network": args.draws, "epochs": args.epochs, "fit": args.fit,
            "n_references": args.references, "x_max": args.x_max, "x_step": args.x_step,
            "direction": args.direction, "n_tap_starts": args.tap_starts,
            "alignment": tuple(args.alignment) if args.alignment else None}
    over = {k: v for k, v in over.items() if v is not None}
    if args.fit is not None and args.fit != pre.fit:
        over["fit_kwargs"] = {}  # the preset's fit settings belong to its own fit
    if args.fit_iters is not None:
        if over.get("fit", pre.fit) != "boltzmann":
            raise ValueError(f"--fit-iters applies to --fit boltzmann (preset {pre.name} fits "
                             f"by {pre.fit}); add --fit boltzmann")
        over["fit_kwargs"] = {**over.get("fit_kwargs", pre.fit_kwargs),
                              "iters": args.fit_iters, "keep_after": args.fit_iters // 2}
    return replace(pre, **over)


def _duration(sec: float) -> str:
    return f"{sec:.0f} s" if sec < 120 else f"{sec / 60:.0f} min"


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
    """Run the pipeline for each regime of the preset and write figures + summary.json; the
    estimated time is printed before the work starts."""
    import sys

    from .. import effective_model as em
    from .._lib._threads import resolve_threads

    st = _settings(args)
    xs = em.tilt_grid(st.x_max, st.x_step)
    if args.min_accuracy is not None and not 0.0 <= args.min_accuracy <= 1.0:
        raise ValueError(f"--min-accuracy must be in [0, 1], got {args.min_accuracy}")
    threads = resolve_threads(args.threads)
    out = C.out_dir(args.out)
    t0 = time.perf_counter()
    print(f"effective-model: preset {st.name}: loading {st.dataset} (PCA to 20 components)",
          file=sys.stderr)
    data = em.load_paper_data(st.dataset, n_train=st.n_train, n_test=st.n_test,
                              path=args.data_path, seed=args.seed, n_threads=threads)
    n_tr, n_te = int(data.X_train.shape[0]), int(data.X_test.shape[0])
    est = {r: em.estimate_seconds(st, r, n_tr, n_te, threads) for r in st.regimes}
    total = sum(e["total"] for e in est.values())
    parts = ", ".join(f"{k} {_duration(sum(e[k] for e in est.values()))}"
                      for k in ("train", "fit", "landscapes", "tap"))
    print(f"effective-model: {', '.join(st.regimes)} on {st.dataset} ({n_tr:,} training, "
          f"{n_te:,} test examples), {st.n_replicas or 100} trainings x "
          f"{st.n_per_network or 100} draws, {st.fit} fits, {len(xs)} tilts, "
          f"{st.n_tap_starts} TAP starts: estimated {_duration(total)} on {threads} thread(s) "
          f"({parts}; sizes x per-unit costs measured on 2 cores)", file=sys.stderr)
    summary: Dict[str, Any] = {"dataset": st.dataset, "preset": st.name,
                               "n_train": n_tr, "n_test": n_te,
                               "estimated_seconds": total, "options": {
        k: v for k, v in vars(args).items() if k != "func"}, "regimes": {}}
    lkw: Dict[str, Any] = {"direction": st.direction}
    if st.max_sweeps is not None:
        lkw["max_sweeps"] = st.max_sweeps
    tkw = {} if st.tap_max_iter is None else {"max_iter": st.tap_max_iter}
    for regime in st.regimes:
        t1 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = em.run_effective_model(
                data, regime, n_replicas=st.n_replicas, epochs=st.epochs,
                n_per_network=st.n_per_network, min_accuracy=args.min_accuracy, fit=st.fit,
                fit_kwargs=dict(st.fit_kwargs), n_references=st.n_references, xs=xs,
                landscape_kwargs=lkw, n_tap_starts=st.n_tap_starts, tap_kwargs=tkw,
                alignment=tuple(st.alignment) if regime != "shallow" else "none",
                n_train=em.preset_n_train(regime, n_tr),
                seed=args.seed, n_threads=threads, progress=C.show_progress(args))
        msgs = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
        for m in msgs:
            print(f"warning: {m}")
        figs = save_figures(r, out, regime, title=f"{regime}, {st.dataset}")
        d = r.to_dict(arrays=True)
        d.update({"seconds": time.perf_counter() - t1,
                  "estimated_seconds": est[regime]["total"], "warnings": msgs,
                  "figures": [p.name for p in figs]})
        summary["regimes"][regime] = d
        print(r.report())
        print(em.liquid_solid_table(r))
    summary["seconds"] = time.perf_counter() - t0
    p = out / "summary.json"
    p.write_text(json.dumps(summary, indent=1, allow_nan=False))
    print(f"effective-model: {len(st.regimes)} regime(s) in {summary['seconds']:.1f} s "
          f"(estimated {total:.0f} s); wrote {out}")
    return 0
