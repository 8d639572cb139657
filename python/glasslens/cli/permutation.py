"""``glasslens permutation``: Protocol 2, barriers to permuted copies and between replicas
(``glasslens.symmetry.permutation_interpolation``)."""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from . import _common as C

NAME = "permutation"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from ..report import ANALYSIS_TRAINING

    p = subparsers.add_parser(
        NAME, help="Protocol 2: barriers to permuted copies and between replicas, raw and "
                   "aligned",
        description="Interpolate a trained network to function-preserving copies with k random "
                    "transpositions of hidden units and a full random permutation, and pairs of "
                    "independently trained replicas raw and after alignment; writes "
                    "permutation.md (table), permutation.png (figure) and permutation.json.")
    C.add_model_option(p)
    C.add_data_options(p)
    C.add_training_options(p, ANALYSIS_TRAINING)
    g = p.add_argument_group("protocol")
    g.add_argument("--ks", type=C.int_list, default=None, metavar="K,K,...",
                   help="numbers of disjoint transpositions (default 1,2,4,...,H/2)")
    g.add_argument("--no-full", action="store_true", help="skip the full random permutation")
    g.add_argument("--trials", type=C.positive_int, default=3, help="copies per k (default 3)")
    g.add_argument("--n-points", type=int, default=41, help="points per path (default 41)")
    g.add_argument("--pairs", type=int, default=10,
                   help="replica pairs compared (default 10; 0 = none)")
    g.add_argument("--matching", default="weights", choices=("weights", "activations", "both"),
                   help="criterion of the pairwise alignment of replica pairs, compared with "
                        "the raw path (default: weights)")
    g.add_argument("--align", dest="matching", choices=("weights", "activations", "both"),
                   action=C.deprecated_flag("--matching"), help=argparse.SUPPRESS)
    g.add_argument("--layer", type=int, default=0, help="hidden layer permuted (default 0)")
    g.add_argument("--replica", type=int, default=0,
                   help="replica whose copies are studied (default 0)")
    g.add_argument("--metric", default="loss", choices=("loss", "error"))
    g.add_argument("--barrier-kind", default="max", choices=("max", "midpoint"))
    g.add_argument("--reference", default="interpolated", choices=("interpolated", "mean"))
    g.add_argument("--split", default="train", choices=("train", "test"))
    C.add_run_options(p, out="permutation-out", out_help="output directory")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from .. import symmetry
    from .._lib._threads import resolve_threads
    from ..report import ANALYSIS_TRAINING

    threads = resolve_threads(args.threads)
    config = C.training_config(args, ANALYSIS_TRAINING)
    t0 = time.perf_counter()
    ds = C.load_data(args, seed=config.seed, n_threads=threads)
    ens = C.get_ensemble(args, ds, config, threads)
    matching = ["weights", "activations"] if args.matching == "both" else [args.matching]
    res = symmetry.permutation_interpolation(
        ens, ds, ks=args.ks, full=not args.no_full, n_trials=args.trials,
        n_points=args.n_points,
        n_replica_pairs=args.pairs, matching=matching, replica=args.replica, layer=args.layer,
        metric=args.metric, kind=args.barrier_kind, reference=args.reference, split=args.split,
        seed=config.seed, n_threads=threads)
    dt = time.perf_counter() - t0
    head = (f"# Protocol 2: permutation interpolation on {ds.name}\n\n"
            f"{ens.n_replicas} replicas of widths {ens.widths}"
            f"{' from ' + args.model if args.model else ''}; copies of replica {args.replica}, "
            f"hidden layer {res.options['layer']} (H = {res.width}); barrier = "
            f"{res.definition}; {dt:.1f} s on {threads} thread(s)\n\n")
    files = C.write_outputs(args.out, "permutation", head, res.table(), res.plot(),
                            {**res.to_dict(arrays=True), "seconds": dt, "widths": ens.widths,
                             "dataset": ds.name})
    if args.model is None:
        ens.save(Path(args.out) / "ensemble.npz")
    print(head + res.table())
    print(f"\nwrote {', '.join(files)}")
    return 0
