"""``glasslens replicas``: Protocol 3, aligned overlaps, P(q), clustering and ultrametricity
(``glasslens.replicas.replica_analysis``), for one ensemble or a sweep."""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

from . import _common as C

NAME = "replicas"

_SWEEP_KEYS = ("hidden", "n-train", "batch-size")


def _sweep(text: str) -> Tuple[str, List[int]]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--sweep expects KEY=V1,V2,... with KEY in "
                                         f"{_SWEEP_KEYS}, got {text!r}")
    k, v = text.split("=", 1)
    k = k.strip().replace("_", "-")
    if k not in _SWEEP_KEYS:
        raise argparse.ArgumentTypeError(f"--sweep key must be one of {_SWEEP_KEYS}, got {k!r}")
    vals = C.int_list(v)
    if len(vals) < 1 or min(vals) < 1:
        raise argparse.ArgumentTypeError(f"--sweep values must be positive integers, got {v!r}")
    return k, list(vals)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from ..report import ANALYSIS_TRAINING

    p = subparsers.add_parser(
        NAME, help="Protocol 3: aligned overlaps, P(q), clustering, ultrametricity",
        description="Replica analysis of a trained ensemble (glasslens.replicas."
                    "replica_analysis): overlap matrix modulo the permutation symmetry, P(q), "
                    "hierarchical clustering and ultrametricity against null models; with "
                    "--sweep one ensemble per value. Writes replicas.md, replicas.png and "
                    "replicas.json.")
    C.add_model_option(p)
    C.add_data_options(p)
    C.add_training_options(p, ANALYSIS_TRAINING)
    g = p.add_argument_group("protocol")
    g.add_argument("--kind", default="weights", choices=("weights", "function"),
                   help="overlaps of weights (aligned) or of predictions on the test set")
    g.add_argument("--alignment", type=C.alignment_arg, default=("pairwise",),
                   metavar="{none,pairwise,reference,medoid,mean}",
                   help="alignment of weight overlaps: every pair separately (pairwise, "
                        "default), all to replica 0 (reference), to the medoid, to the "
                        "iterated mean, or none (raw)")
    g.add_argument("--align", dest="alignment", type=C.alignment_arg,
                   action=C.deprecated_flag("--alignment"), help=argparse.SUPPRESS)
    g.add_argument("--distance", default="1-q", choices=("1-q", "1-|q|", "sqrt"))
    g.add_argument("--methods", default="average,complete,ward",
                   help="linkages (default average,complete,ward)")
    g.add_argument("--n-null", type=C.positive_int, default=39,
                   help="realisations of each null model (default 39)")
    g.add_argument("--sweep", type=_sweep, default=None, metavar="KEY=V1,V2,...",
                   help="train one ensemble per value: hidden=8,16,32 (one hidden layer), "
                        "n-train=200,800 or batch-size=16,128")
    C.add_run_options(p, out="replicas-out", out_help="output directory")
    p.set_defaults(func=run)
    return p


def _runs(args: argparse.Namespace, config: Any, threads: int) -> Dict[str, Tuple[Any, Any]]:
    """label -> (ensemble, data): the one ensemble, or one per ``--sweep`` value."""
    if args.sweep is None:
        ds = C.load_data(args, seed=config.seed, n_threads=threads)
        ens = C.get_ensemble(args, ds, config, threads)
        if ens.n_replicas < 3:
            raise ValueError(f"the replica analysis needs at least 3 replicas, got "
                             f"{ens.n_replicas} (--replicas)")
        return {"ensemble": (ens, ds)}
    if args.model is not None:
        raise ValueError("--sweep trains its own ensembles; it cannot be used with --model")
    if config.replicas < 3:
        raise ValueError("--replicas must be at least 3 for the replica analysis")
    key, vals = args.sweep
    runs: Dict[str, Tuple[Any, Any]] = {}
    ds = None
    for v in vals:
        if key == "n-train":
            dsv = C.load_data(argparse.Namespace(**{**vars(args), "n_train": v}),
                              seed=config.seed, n_threads=threads)
            cfg = config
        else:
            ds = ds or C.load_data(args, seed=config.seed, n_threads=threads)
            dsv = ds
            cfg = config.replace(**({"hidden": (v,)} if key == "hidden" else {"batch_size": v}))
        runs[f"{key}={v}"] = (C.get_ensemble(args, dsv, cfg, threads), dsv)
    return runs


def run(args: argparse.Namespace) -> int:
    from .. import replicas
    from .._lib._threads import resolve_threads
    from ..report import ANALYSIS_TRAINING

    threads = resolve_threads(args.threads)
    config = C.training_config(args, ANALYSIS_TRAINING)
    t0 = time.perf_counter()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if not methods:
        raise ValueError("--methods must name at least one linkage")
    from .._lib._alignment import check_alignment

    alignment = check_alignment(args.alignment[0] if len(args.alignment) == 1
                                else ",".join(args.alignment))
    kw: Dict[str, Any] = dict(kind=args.kind, alignment=alignment, distance=args.distance,
                              methods=methods, n_null=args.n_null, seed=config.seed,
                              n_threads=threads)
    runs = _runs(args, config, threads)
    res = replicas.ReplicaSweep({k: replicas.replica_analysis(
        e, X=d.X_test if args.kind == "function" else None, **kw) for k, (e, d) in runs.items()})
    dt = time.perf_counter() - t0
    e0, d0 = next(iter(runs.values()))
    head = (f"# Protocol 3: replica analysis on {d0.name}\n\n"
            f"{len(runs)} ensemble(s) of {e0.n_replicas} replicas (widths "
            f"{_widths_text(runs)}"
            f"{', from ' + args.model if args.model else ''}); overlaps: {args.kind}, "
            f"alignment {alignment if args.kind == 'weights' else 'none'}, "
            f"distance {args.distance}; "
            f"{dt:.1f} s on {threads} thread(s)\n\n")
    verdicts = "\n".join(f"- {k}: {v.ultrametricity.verdict}" for k, v in res.items())
    fig = res.plot() if len(res) > 1 else next(iter(res.values())).plot()
    files = C.write_outputs(args.out, "replicas", head, res.table() + "\n\n" + verdicts, fig,
                            {"runs": {k: v.to_dict() for k, v in res.items()},
                             "Q": {k: v.Q for k, v in res.items()}, "seconds": dt})
    if args.model is None and len(runs) == 1:
        e0.save(Path(args.out) / "ensemble.npz")
    print(head + res.table() + "\n\n" + verdicts)
    print(f"\nwrote {', '.join(files)}")
    return 0


def _widths_text(runs: Dict[str, Any]) -> str:
    """The widths of every sweep point (one list when they all agree)."""
    ws = {k: e.widths for k, (e, _) in runs.items()}
    if len({tuple(w) for w in ws.values()}) == 1:
        return str(next(iter(ws.values())))
    return ", ".join(f"{k}: {w}" for k, w in ws.items())
