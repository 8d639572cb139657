"""Command line: ``glasslens {info,train,analyze}`` (also ``python -m glasslens``).

``glasslens analyze`` with no arguments trains an ensemble on the digits data and writes the
report directory ``./glasslens-report`` (summary.json, figures/*.png, index.html,
ensemble.npz). ``glasslens train`` trains and saves an ensemble ``.npz``. ``glasslens info``
prints the build configuration.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

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


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


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
    from .analyze import DEFAULTS as D

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
    from . import __version__

    p = argparse.ArgumentParser(
        prog="glasslens",
        description="Loss landscapes of neural networks through the lens of spin-glass physics.")
    p.add_argument("--version", action="version", version=f"glasslens {__version__}")
    sub = p.add_subparsers(dest="command", metavar="{info,train,analyze}")

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
    return p


def _load_data(args: argparse.Namespace, threads: int):
    from . import datasets

    return datasets.load(args.dataset, n_train=args.n_train, n_test=args.n_test, pca=args.pca,
                         classes=args.classes, seed=args.seed, path=args.data_path,
                         n_threads=threads)


def _cmd_info(args: argparse.Namespace) -> int:
    from . import build_info

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
    from . import resolve_threads, train_ensemble

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
    from .analyze import AnalysisError, run_analysis, sections

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
        return _cmd_analyze(args)
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
