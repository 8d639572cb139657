"""Command line and report glue of Protocol 4 (flatness against generalisation).

* ``add_flatness_parser(subparsers)`` / ``cli_flatness(args)``: the ``glasslens flatness``
  subcommand (runs :func:`glasslens.generalization_study` and writes a table, a scatter panel
  and the raw results).
* ``report_section_protocol4(ctx)``: the Protocol 4 section of ``glasslens analyze``: the
  measures of every replica of the analysed ensemble and their rank correlation with test
  accuracy and generalisation gap.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

# deprecated alias (0.2): the section moved to glasslens.flatness._section
from ..flatness._section import section as report_section_protocol4  # noqa: E402,F401

__all__ = ["add_flatness_parser", "cli_flatness", "VARIANT_PRESETS"]

#: named variant grids for ``--variants``
VARIANT_PRESETS = {
    "default": None,  # generalization.default_variants
    "batch": [{"batch_size": 16}, {"batch_size": 64}, {"batch_size": 256},
              {"batch_size": "full", "lr": 0.5, "epochs": "10x"}],
    "sam": [{"batch_size": 64}, {"batch_size": 64, "sam_rho": 0.01},
            {"batch_size": 64, "sam_rho": 0.05}, {"batch_size": 64, "sam_rho": 0.1}],
    "noise": [{"batch_size": 64}, {"batch_size": 64, "label_noise": 0.1},
              {"batch_size": 64, "label_noise": 0.2}, {"batch_size": 64, "label_noise": 0.4}],
}


def _hidden(text: str):
    try:
        h = tuple(int(v) for v in text.replace(",", " ").split())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden expects integers like '32' or '64,32', got {text!r}")
    if not h or min(h) < 1:
        raise argparse.ArgumentTypeError(f"--hidden expects positive integers, got {text!r}")
    return h


def _variants(text: str):
    if text in VARIANT_PRESETS:
        return text
    try:
        v = json.loads(text)
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError(
            f"--variants expects one of {sorted(VARIANT_PRESETS)} or a JSON list/dict, got {text!r}")
    if not isinstance(v, (list, dict)):
        raise argparse.ArgumentTypeError("--variants JSON must be a list of dicts or a dict of lists")
    return v


def add_flatness_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``flatness`` subcommand to an argparse subparsers object."""
    from ..flatness._study import STUDY_MEASURES

    p = subparsers.add_parser(
        "flatness", help="Protocol 4: train variants and correlate flatness with generalisation",
        description="Train replicas under a grid of training variants, compute flatness measures "
                    "and report their rank correlations with test accuracy and the "
                    "generalisation gap (with bootstrap confidence intervals).")
    p.add_argument("--dataset", default="digits", help="dataset name (default: digits)")
    p.add_argument("--data-path", default=None, help="directory of the IDX files")
    p.add_argument("--n-train", type=int, default=None, help="training subset size")
    p.add_argument("--n-test", type=int, default=None, help="test subset size")
    p.add_argument("--pca", type=int, default=None,
                   help="project the standardised inputs on this many principal components")
    p.add_argument("--hidden", type=_hidden, default=(32,), help="hidden widths, e.g. 32 or 64,32")
    p.add_argument("--replicas", type=int, default=4, help="replicas per variant (default 4)")
    p.add_argument("--epochs", type=int, default=30, help="epochs per variant (default 30)")
    p.add_argument("--checkpoints", type=int, default=4, help="geometric checkpoints (default 4)")
    p.add_argument("--variants", type=_variants, default="default",
                   help=f"preset {sorted(VARIANT_PRESETS)} or JSON, e.g. "
                        "'{\"batch_size\": [16, 256], \"sam_rho\": [0, 0.05]}'")
    p.add_argument("--measures", default=",".join(STUDY_MEASURES),
                   help="comma-separated measures (default: all)")
    p.add_argument("--no-balance", action="store_true",
                   help="measure without balancing the ReLU rescaling symmetry")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--match-tol", type=float, default=0.2,
                   help="relative train-loss tolerance of the matched comparison (default 0.2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="threads (default: all / OMP_NUM_THREADS)")
    p.add_argument("--out", default="flatness-out", help="output directory (default flatness-out)")
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    p.set_defaults(func=cli_flatness)
    return p


def cli_flatness(args: argparse.Namespace) -> int:
    """Run the study from parsed arguments; writes ``<out>/flatness.md``, ``flatness.png`` and
    ``flatness.json`` and prints the table. Returns the exit status."""
    from .. import datasets
    from ..flatness._study import generalization_study

    t0 = time.time()
    kw: Dict[str, Any] = {"standardize": True}
    if args.n_train is not None:
        kw["n_train"] = args.n_train
    if args.n_test is not None:
        kw["n_test"] = args.n_test
    if args.data_path is not None:
        kw["path"] = args.data_path
    if getattr(args, "pca", None) is not None:
        kw["pca"] = args.pca
    ds = datasets.load(args.dataset, seed=args.seed, **kw)
    variants = VARIANT_PRESETS[args.variants] if isinstance(args.variants, str) else args.variants
    which = [m.strip() for m in str(args.measures).split(",") if m.strip()]
    st = generalization_study(ds, hidden=args.hidden, variants=variants, n_replicas=args.replicas,
                              epochs=args.epochs, measures=which, balance=not args.no_balance,
                              n_checkpoints=args.checkpoints, lr=args.lr, momentum=args.momentum,
                              seed=args.seed, n_threads=args.threads, n_boot=args.n_boot,
                              match_tol=args.match_tol, progress=args.progress)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    head = (f"# Protocol 4: flatness vs generalisation on {ds.name}\n\n"
            f"hidden={list(args.hidden)}, replicas={args.replicas} per variant, "
            f"epochs={args.epochs}, checkpoints={args.checkpoints}, "
            f"balance={not args.no_balance}, n_train={ds.n_train}, n_test={ds.n_test}, "
            f"n_features={ds.n_features}{' (PCA)' if getattr(args, 'pca', None) else ''}, "
            f"seed={args.seed}, {time.time() - t0:.0f} s\n\n")
    table = st.table()
    (out / "flatness.md").write_text(head + table + "\n")
    fig = st.plot()
    fig.savefig(out / "flatness.png", dpi=110)
    st.save_json(out / "flatness.json")
    print(head + table)
    print(f"\nwrote {out / 'flatness.md'}, {out / 'flatness.png'}, {out / 'flatness.json'}")
    return 0


