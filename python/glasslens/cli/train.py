"""``glasslens train``: train an ensemble (``glasslens.nn.train_ensemble``) and save it."""
from __future__ import annotations

import argparse
import time
from typing import Any

from . import _common as C

NAME = "train"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from ..report import ANALYSIS_TRAINING

    p = subparsers.add_parser(NAME, help="train an ensemble and save it as .npz")
    C.add_data_options(p)
    C.add_training_options(p, ANALYSIS_TRAINING)
    C.add_run_options(p, out="ensemble.npz", out_help="output file")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from .. import nn
    from .._lib._threads import resolve_threads
    from ..report import ANALYSIS_TRAINING

    threads = resolve_threads(args.threads)
    config = C.training_config(args, ANALYSIS_TRAINING)
    t0 = time.perf_counter()
    ds = C.load_data(args, seed=config.seed, n_threads=threads)
    ens = nn.train_ensemble(ds, config, n_threads=threads, progress=C.show_progress(args))
    ens.save(args.out)
    print(f"trained {ens.n_replicas} x {ens.widths} on {ds.name} ({ds.n_train} samples) in "
          f"{time.perf_counter() - t0:.1f} s with {threads} thread(s); saved {args.out}")
    print("\n".join(C.metric_lines(ens.metrics)))
    return 0
