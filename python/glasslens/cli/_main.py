"""Command line: ``glasslens {info,train,analyze,profile,walk,permutation,replicas,flatness}``
(also ``python -m glasslens``).

``glasslens analyze`` with no arguments trains an ensemble on the digits data and writes the
report directory ``./glasslens-report`` (summary.json, figures/*.png, index.html,
ensemble.npz) with a section per protocol. ``glasslens train`` trains and saves an ensemble
``.npz``. ``glasslens info`` prints the build configuration. One command per protocol:
``profile`` and ``walk`` (Protocol 1, around a saved network), ``permutation`` (Protocol 2),
``replicas`` (Protocol 3), ``flatness`` (Protocol 4); ``permutation`` and ``replicas`` train a
small ensemble unless ``--model`` names a saved one.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ._argtypes import positive_int as _positive_int

__all__ = ["main", "build_parser"]


def _hidden(text: str) -> Tuple[int, ...]:
    t = text.strip().lower()
    if t in ("", "none", "0", "-"):
        return ()
    try:
        vals = tuple(int(v) for v in t.replace("x", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--hidden must be comma-separated widths such as 32 or 64,32, got {text!r}") from None
    if any(v < 1 for v in vals):
        raise argparse.ArgumentTypeError(f"--hidden widths must be positive, got {text!r}")
    return vals


def _int_list(text: str) -> Tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 0,1, got {text!r}") from None


def _threads(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer thread count, got {text!r}") from None
    if v == 0:
        raise argparse.ArgumentTypeError("--threads must be positive or negative (-1 = all CPUs)")
    return v


def _kv(text: str) -> Tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"-O expects KEY=VALUE, got {text!r}")
    k, v = text.split("=", 1)
    try:
        val: Any = json.loads(v)
    except ValueError:
        val = v
    return k.strip(), val


def _add_training_args(p: argparse.ArgumentParser) -> None:
    from ..report._analyze import _legacy_defaults

    D = _legacy_defaults()

    g = p.add_argument_group("data")
    g.add_argument("--dataset", default=D["dataset"],
                   help="digits (default, bundled), teacher, fashion-mnist, mnist")
    g.add_argument("--data-path", default=None, metavar="DIR",
                   help="directory with the IDX files (fashion-mnist, mnist); default: "
                        "$GLASSLENS_DATA or /usr/share/datasets/<name>")
    g.add_argument("--n-train", type=_positive_int, default=None, metavar="N",
                   help="seeded stratified training subset (default: all)")
    g.add_argument("--n-test", type=_positive_int, default=None, metavar="N",
                   help="seeded stratified test subset (default: all)")
    g.add_argument("--pca", type=_positive_int, default=None, metavar="K",
                   help="project on the first K principal components of the training set")
    g.add_argument("--classes", type=_int_list, default=None, metavar="A,B,...",
                   help="keep only these labels (renumbered 0..c-1), e.g. 0,1")
    g = p.add_argument_group("training")
    g.add_argument("--hidden", type=_hidden, default=D["hidden"], metavar="W[,W...]",
                   help="hidden layer widths, e.g. 32 or 64,32 (default: 32)")
    g.add_argument("--replicas", type=_positive_int, default=D["replicas"],
                   help=f"number of networks trained (default: {D['replicas']})")
    g.add_argument("--epochs", type=_positive_int, default=D["epochs"],
                   help=f"training epochs (default: {D['epochs']})")
    g.add_argument("--batch-size", type=_positive_int, default=D["batch_size"],
                   help=f"minibatch size (default: {D['batch_size']})")
    g.add_argument("--lr", type=float, default=D["lr"],
                   help=f"learning rate (default: {D['lr']})")
    g.add_argument("--momentum", type=float, default=D["momentum"],
                   help=f"SGD momentum (default: {D['momentum']})")
    g.add_argument("--weight-decay", type=float, default=D["weight_decay"],
                   help="L2 weight decay (default: 0)")
    g.add_argument("--family", default=D["family"], choices=("init", "order", "both"),
                   help="replicas differ by initialisation (init, default) or share one "
                        "initialisation and differ by data order (order), or both")
    g.add_argument("--seed", type=int, default=D["seed"], help="master seed (default: 0)")
    g.add_argument("--threads", type=_threads, default=None, metavar="N",
                   help="threads (default: OMP_NUM_THREADS or all cores; -1 = all CPUs)")


def build_parser() -> argparse.ArgumentParser:
    from .._lib._build import __version__

    p = argparse.ArgumentParser(
        prog="glasslens",
        description="Loss landscapes of neural networks through the lens of spin-glass physics.")
    p.add_argument("--version", action="version", version=f"glasslens {__version__}")
    sub = p.add_subparsers(
        dest="command",
        metavar="{info,train,analyze,profile,walk,permutation,replicas,flatness}")

    pi = sub.add_parser("info", help="print version, compiler, OpenMP, SIMD path, threads")
    pi.add_argument("--json", action="store_true", help="print JSON")

    pt = sub.add_parser("train", help="train an ensemble and save it as .npz")
    _add_training_args(pt)
    pt.add_argument("--out", default="ensemble.npz", help="output file (default: ensemble.npz)")
    pt.add_argument("--no-progress", action="store_true", help="no progress bar")

    pa = sub.add_parser("analyze", help="train an ensemble and write a report directory "
                                        "(the main job)")
    _add_training_args(pa)
    pa.add_argument("--out", default="glasslens-report",
                    help="report directory (default: ./glasslens-report)")
    pa.add_argument("--sections", default=None, metavar="A,B,...",
                    help="report sections to run (default: all default sections; "
                         "'list' prints them)")
    pa.add_argument("-O", "--option", action="append", type=_kv, default=[], metavar="KEY=VALUE",
                    help="extra setting passed to report sections (repeatable)")
    pa.add_argument("--no-progress", action="store_true", help="no progress bars")
    pa.add_argument("-q", "--quiet", action="store_true", help="print only the final summary")

    from ._effective_model import add_effective_model_parser
    from ._flatness import add_flatness_parser
    from ._probes import add_profile_parser, add_walk_parser

    add_profile_parser(sub)
    add_walk_parser(sub)
    _add_permutation_parser(sub)
    _add_replicas_parser(sub)
    add_flatness_parser(sub)
    add_effective_model_parser(sub)
    return p


def _add_model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, metavar="FILE",
                   help="saved Ensemble .npz (glasslens train); the data options must match "
                        "the data it was trained on. Default: train one with the options below")


def _add_permutation_parser(sub: Any) -> argparse.ArgumentParser:
    pp = sub.add_parser(
        "permutation", help="Protocol 2: barriers to permuted copies and between replicas, "
                            "raw and aligned",
        description="Interpolate a trained network to function-preserving copies with k random "
                    "transpositions of hidden units and a full random permutation, and pairs of "
                    "independently trained replicas raw and after alignment; writes "
                    "permutation.md (table), permutation.png (figure) and permutation.json.")
    _add_model_arg(pp)
    _add_training_args(pp)
    g = pp.add_argument_group("protocol")
    g.add_argument("--ks", type=_int_list, default=None, metavar="K,K,...",
                   help="numbers of disjoint transpositions (default 1,2,4,...,H/2)")
    g.add_argument("--no-full", action="store_true", help="skip the full random permutation")
    g.add_argument("--trials", type=_positive_int, default=3, help="copies per k (default 3)")
    g.add_argument("--n-points", type=int, default=41, help="points per path (default 41)")
    g.add_argument("--pairs", type=int, default=10,
                   help="replica pairs compared (default 10; 0 = none)")
    g.add_argument("--align", default="weights", choices=("weights", "activations", "both"),
                   help="alignment of replica pairs (default: weights)")
    g.add_argument("--layer", type=int, default=0, help="hidden layer permuted (default 0)")
    g.add_argument("--replica", type=int, default=0,
                   help="replica whose copies are studied (default 0)")
    g.add_argument("--metric", default="loss", choices=("loss", "error"))
    g.add_argument("--barrier-kind", default="max", choices=("max", "midpoint"))
    g.add_argument("--reference", default="interpolated", choices=("interpolated", "mean"))
    g.add_argument("--split", default="train", choices=("train", "test"))
    pp.add_argument("--out", default="permutation-out",
                    help="output directory (default permutation-out)")
    pp.add_argument("--no-progress", action="store_true", help="no progress bar")
    pp.set_defaults(func=_cmd_permutation)
    return pp


def _sweep(text: str) -> Tuple[str, List[Any]]:
    keys = ("hidden", "n-train", "batch-size")
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--sweep expects KEY=V1,V2,... with KEY in {keys}, "
                                         f"got {text!r}")
    k, v = text.split("=", 1)
    k = k.strip().replace("_", "-")
    if k not in keys:
        raise argparse.ArgumentTypeError(f"--sweep key must be one of {keys}, got {k!r}")
    vals = _int_list(v)
    if len(vals) < 1 or min(vals) < 1:
        raise argparse.ArgumentTypeError(f"--sweep values must be positive integers, got {v!r}")
    return k, list(vals)


def _add_replicas_parser(sub: Any) -> argparse.ArgumentParser:
    pr = sub.add_parser(
        "replicas", help="Protocol 3: aligned overlaps, P(q), clustering, ultrametricity",
        description="Replica analysis of a trained ensemble (glasslens.replica_analysis): "
                    "overlap matrix modulo the permutation symmetry, P(q), hierarchical "
                    "clustering and ultrametricity against null models; with --sweep one "
                    "ensemble per value. Writes replicas.md, replicas.png and replicas.json.")
    _add_model_arg(pr)
    _add_training_args(pr)
    g = pr.add_argument_group("protocol")
    g.add_argument("--kind", default="weights", choices=("weights", "function"),
                   help="overlaps of weights (aligned) or of predictions on the test set")
    g.add_argument("--align", default="pairwise",
                   choices=("pairwise", "reference", "mean", "medoid", "none"),
                   help="alignment of weight overlaps: every pair separately (pairwise, "
                        "default), all to replica 0 (reference), to the iterated mean, to the "
                        "medoid, or none (raw)")
    g.add_argument("--distance", default="1-q", choices=("1-q", "1-|q|", "sqrt"))
    g.add_argument("--methods", default="average,complete,ward",
                   help="linkages (default average,complete,ward)")
    g.add_argument("--n-null", type=_positive_int, default=39,
                   help="realisations of each null model (default 39)")
    g.add_argument("--sweep", type=_sweep, default=None, metavar="KEY=V1,V2,...",
                   help="train one ensemble per value: hidden=8,16,32 (one hidden layer), "
                        "n-train=200,800 or batch-size=16,128")
    pr.add_argument("--out", default="replicas-out", help="output directory (default replicas-out)")
    pr.add_argument("--no-progress", action="store_true", help="no progress bar")
    pr.set_defaults(func=_cmd_replicas)
    return pr


def _load_data(args: argparse.Namespace, threads: int):
    from .. import datasets

    return datasets.load(args.dataset, n_train=args.n_train, n_test=args.n_test, pca=args.pca,
                         classes=args.classes, seed=args.seed, path=args.data_path,
                         n_threads=threads)


def _cmd_info(args: argparse.Namespace) -> int:
    from .._lib._build import build_info

    info = build_info()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        w = max(len(k) for k in info)
        for k, v in info.items():
            print(f"{k:<{w}}  {v}")
    return 0


def _metric_lines(metrics: Dict[str, Any]) -> List[str]:
    import numpy as np

    out = []
    for k in ("train_loss", "train_acc", "test_loss", "test_acc"):
        if k in metrics:
            v = np.asarray(metrics[k], dtype=np.float64)
            out.append(f"  {k:<10} mean {v.mean():.4f}  std {v.std():.4f}  "
                       f"min {v.min():.4f}  max {v.max():.4f}")
    return out


def _cmd_train(args: argparse.Namespace) -> int:
    from .._lib._threads import resolve_threads
    from ..nn import train_ensemble

    threads = resolve_threads(args.threads)
    t0 = time.perf_counter()
    ds = _load_data(args, threads)
    ens = train_ensemble(ds, hidden=args.hidden, replicas=args.replicas, epochs=args.epochs,
                         batch_size=args.batch_size, lr=args.lr, momentum=args.momentum,
                         weight_decay=args.weight_decay, family=args.family, seed=args.seed,
                         n_threads=threads,
                         progress=not args.no_progress and sys.stderr.isatty())
    ens.save(args.out)
    print(f"trained {ens.n_replicas} x {ens.widths} on {ds.name} ({ds.n_train} samples) in "
          f"{time.perf_counter() - t0:.1f} s with {threads} thread(s); saved {args.out}")
    print("\n".join(_metric_lines(ens.metrics)))
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    from ..report._analyze import AnalysisError, run_analysis, sections

    if args.sections is not None and args.sections.strip() == "list":
        print("\n".join(sections()))
        return 0
    names = None
    if args.sections is not None:
        names = [s.strip() for s in args.sections.split(",") if s.strip()]
    log = None if args.quiet else (lambda s: print(f"[glasslens] {s}", file=sys.stderr))
    t0 = time.perf_counter()
    status = 0
    try:
        report = run_analysis(
            args.out, dataset=args.dataset, hidden=args.hidden, replicas=args.replicas,
            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, momentum=args.momentum,
            weight_decay=args.weight_decay, family=args.family, seed=args.seed,
            n_train=args.n_train, n_test=args.n_test, pca=args.pca, classes=args.classes,
            data_path=args.data_path, sections=names, extra=dict(args.option),
            n_threads=args.threads, progress=False if args.no_progress else None, log=log)
    except AnalysisError as exc:
        print(f"glasslens analyze: {exc}", file=sys.stderr)
        status = 1
        from pathlib import Path

        out = Path(args.out)
    else:
        out = report.out_dir
        summ = json.loads((out / "summary.json").read_text())
        train = next((s for s in summ["sections"] if s["key"] == "training"), None)
        if train and train["text"]:
            print(train["text"])
    print(f"report written to {out}/index.html ({time.perf_counter() - t0:.1f} s)")
    return status


def _ensemble(args: argparse.Namespace, ds: Any, threads: int, **over: Any):
    """The saved ensemble of --model, or one trained with the command's options."""
    from ..nn import Ensemble
    from ..nn import train_ensemble

    if args.model is not None:
        from pathlib import Path

        if not Path(args.model).is_file():
            raise FileNotFoundError(f"--model {args.model}: no such file")
        ens = Ensemble.load(args.model)
        if ens.widths[0] != ds.n_features or ens.widths[-1] != ds.n_classes:
            raise ValueError(f"--model {args.model} has widths {ens.widths} but the data have "
                             f"{ds.n_features} features and {ds.n_classes} classes (use the "
                             f"data options it was trained with)")
        return ens
    kw = dict(hidden=args.hidden, replicas=args.replicas, epochs=args.epochs,
              batch_size=args.batch_size, lr=args.lr, momentum=args.momentum,
              weight_decay=args.weight_decay, family=args.family, seed=args.seed)
    kw.update(over)
    return train_ensemble(ds, n_threads=threads,
                          progress=not args.no_progress and sys.stderr.isatty(), **kw)


def _write_outputs(out: str, stem: str, head: str, table: str, fig: Any,
                   summary: Dict[str, Any]) -> List[str]:
    from pathlib import Path

    from ..report._report import to_jsonable

    d = Path(out)
    if d.exists() and not d.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{stem}.md").write_text(head + table + "\n")
    fig.savefig(d / f"{stem}.png", dpi=110)
    (d / f"{stem}.json").write_text(json.dumps(to_jsonable(summary), indent=1) + "\n")
    return [str(d / f"{stem}.{e}") for e in ("md", "png", "json")]


def _cmd_permutation(args: argparse.Namespace) -> int:
    from .._lib._threads import resolve_threads
    from ..symmetry._permutation import permutation_interpolation

    threads = resolve_threads(args.threads)
    t0 = time.perf_counter()
    ds = _load_data(args, threads)
    ens = _ensemble(args, ds, threads)
    aligns = ["weights", "activations"] if args.align == "both" else [args.align]
    res = permutation_interpolation(
        ens, ds, ks=args.ks, full=not args.no_full, trials=args.trials, n_points=args.n_points,
        replica_pairs=args.pairs, align=aligns, replica=args.replica, layer=args.layer,
        metric=args.metric, kind=args.barrier_kind, reference=args.reference, split=args.split,
        seed=args.seed, n_threads=threads)
    dt = time.perf_counter() - t0
    head = (f"# Protocol 2: permutation interpolation on {ds.name}\n\n"
            f"{ens.n_replicas} replicas of widths {ens.widths}"
            f"{' from ' + args.model if args.model else ''}; copies of replica {args.replica}, "
            f"hidden layer {res.options['layer']} (H = {res.width}); barrier = "
            f"{res.definition}; {dt:.1f} s on {threads} thread(s)\n\n")
    fig = res.plot()
    files = _write_outputs(args.out, "permutation", head, res.table(), fig,
                           {**res.summary(), "seconds": dt, "widths": ens.widths,
                            "dataset": ds.name})
    if args.model is None:
        from pathlib import Path

        ens.save(Path(args.out) / "ensemble.npz")
    print(head + res.table())
    print(f"\nwrote {', '.join(files)}")
    return 0


def _cmd_replicas(args: argparse.Namespace) -> int:
    from .._lib._threads import resolve_threads
    from ..replicas._replicas import ReplicaSweep, replica_analysis

    threads = resolve_threads(args.threads)
    t0 = time.perf_counter()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if not methods:
        raise ValueError("--methods must name at least one linkage")
    aligned: Any = {"none": False, "reference": True}.get(args.align, args.align)
    kw: Dict[str, Any] = dict(kind=args.kind, aligned=aligned, distance=args.distance,
                              methods=methods, n_null=args.n_null, seed=args.seed,
                              n_threads=threads)
    runs: Dict[str, Any] = {}
    if args.sweep is not None:
        if args.model is not None:
            raise ValueError("--sweep trains its own ensembles; it cannot be used with --model")
        key, vals = args.sweep
        ds = None
        for v in vals:
            if key == "n-train":
                dsv = _load_data(argparse.Namespace(**{**vars(args), "n_train": v}), threads)
                ens = _ensemble(args, dsv, threads)
            else:
                ds = ds or _load_data(args, threads)
                over = {"hidden": (v,)} if key == "hidden" else {"batch_size": v}
                dsv = ds
                ens = _ensemble(args, ds, threads, **over)
            if ens.n_replicas < 3:
                raise ValueError("--replicas must be at least 3 for the replica analysis")
            runs[f"{key}={v}"] = (ens, dsv)
    else:
        ds = _load_data(args, threads)
        ens = _ensemble(args, ds, threads)
        if ens.n_replicas < 3:
            raise ValueError(f"the replica analysis needs at least 3 replicas, got "
                             f"{ens.n_replicas} (--replicas)")
        runs["ensemble"] = (ens, ds)
    res = ReplicaSweep({k: replica_analysis(e, X=d.X_test if args.kind == "function" else None,
                                            **kw) for k, (e, d) in runs.items()})
    dt = time.perf_counter() - t0
    e0, d0 = next(iter(runs.values()))
    head = (f"# Protocol 3: replica analysis on {d0.name}\n\n"
            f"{len(runs)} ensemble(s) of {e0.n_replicas} replicas (widths {e0.widths}"
            f"{', from ' + args.model if args.model else ''}); overlaps: {args.kind}, "
            f"alignment {args.align if args.kind == 'weights' else 'none'}, "
            f"distance {args.distance}; "
            f"{dt:.1f} s on {threads} thread(s)\n\n")
    verdicts = "\n".join(f"- {k}: {v.ultrametricity.verdict}" for k, v in res.items())
    fig = res.plot() if len(res) > 1 else next(iter(res.values())).plot()
    files = _write_outputs(args.out, "replicas", head, res.table() + "\n\n" + verdicts, fig,
                           {"runs": {k: v.summary() for k, v in res.items()},
                            "Q": {k: v.Q for k, v in res.items()}, "seconds": dt})
    if args.model is None and len(runs) == 1:
        from pathlib import Path

        e0.save(Path(args.out) / "ensemble.npz")
    print(head + res.table() + "\n\n" + verdicts)
    print(f"\nwrote {', '.join(files)}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``glasslens`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "info":
            return _cmd_info(args)
        if args.command == "train":
            return _cmd_train(args)
        if args.command == "analyze":
            return _cmd_analyze(args)
        return int(args.func(args))
    except (ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        if os.environ.get("GLASSLENS_DEBUG"):
            raise
        print(f"glasslens {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
