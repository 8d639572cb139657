"""Command-line pieces and the report section of Protocol 1 (random walks, perturbation probes).

``glasslens profile`` and ``glasslens walk`` are wired into ``glasslens.cli`` with
:func:`add_profile_parser` / :func:`add_walk_parser` (which set ``func`` to :func:`cli_profile` /
:func:`cli_walk`). :func:`report_section_protocol1` adds the Protocol 1 section to a report.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np

from ._argtypes import positive_int as _positive_int

# deprecated alias (0.2): the section moved to glasslens.probes._section
from ..probes._section import section as report_section_protocol1  # noqa: E402,F401

__all__ = ["add_profile_parser", "add_walk_parser", "cli_profile", "cli_walk",
           "parse_radii"]


def parse_radii(text: str) -> np.ndarray:
    """'0,0.1,0.5' (a list) or 'start:stop:n' (n evenly spaced values, stop included)."""
    try:
        if ":" in text:
            a, b, n = text.split(":")
            n_i = int(n)
            if n_i < 1:
                raise ValueError
            return np.linspace(float(a), float(b), n_i)
        return np.array([float(v) for v in text.split(",") if v.strip()], dtype=np.float64)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"radii must be a comma list or start:stop:n, got {text!r}") from None


def _int_list(text: str) -> list:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated ints, got {text!r}") from None


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="network file (.npz from MLP.save or Ensemble.save)")
    p.add_argument("--replica", type=int, default=0,
                   help="replica index when MODEL is an Ensemble (default 0)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--data", help=".npz with arrays X_train, y_train (and X_test, y_test)")
    g.add_argument("--dataset", help="dataset name for glasslens.datasets.load (e.g. digits)")
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--n-test", type=int, default=None)
    p.add_argument("--pca", type=int, default=None)
    p.add_argument("--classes", type=_int_list, default=None,
                   help="original labels to keep, e.g. 0,1,7")
    p.add_argument("--data-path", default=None)
    p.add_argument("--data-seed", type=int, default=0, help="seed of the dataset subsampling")
    p.add_argument("--seed", type=int, default=0, help="seed of the directions / walks")
    p.add_argument("--threads", type=int, default=None, help="threads (default: all / OMP)")
    p.add_argument("-o", "--out", required=True,
                   help="output .npz (a .png figure and a .json summary are written beside it)")


def add_profile_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``profile``: loss against perturbation radius around a network."""
    p = subparsers.add_parser("profile", help="loss vs perturbation radius around a network "
                                              "(Protocol 1 probes)")
    _add_common(p)
    p.add_argument("--radii", type=parse_radii, default=parse_radii("0:1:11"),
                   help="comma list or start:stop:n (default 0:1:11)")
    p.add_argument("--directions", type=_positive_int, default=32)
    p.add_argument("--normalization", choices=["none", "global", "layer", "filter"],
                   default=None, help="default: filter (additive) / none (multiplicative)")
    p.add_argument("--kind", choices=["gaussian", "rademacher"], default="gaussian")
    p.add_argument("--mode", choices=["additive", "multiplicative"], default="additive")
    p.add_argument("--bias-mode", choices=["include", "zero"], default="include")
    p.add_argument("--delta", type=float, default=0.1)
    p.set_defaults(func=cli_profile)
    return p


def add_walk_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``walk``: random walks in parameter space from a network."""
    p = subparsers.add_parser("walk", help="random walks in parameter space from a network "
                                           "(Protocol 1)")
    _add_common(p)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--step-size", type=float, default=0.01,
                   help="eta: sigma = eta ||theta0|| / sqrt(N) per coordinate")
    p.add_argument("--walk-mode", choices=["free", "threshold", "metropolis"], default="free")
    p.add_argument("--threshold", type=float, default=None)
    p.add_argument("--threshold-on", choices=["loss", "error"], default="loss")
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--move", choices=["dense", "weight", "unit"], default="dense")
    p.add_argument("--walkers", type=_positive_int, default=8)
    p.add_argument("--record-every", type=_positive_int, default=10)
    p.add_argument("--refresh-every", type=int, default=1000)
    p.add_argument("--delta", type=float, default=0.1)
    p.set_defaults(func=cli_walk)
    return p


def _load_net(path: str, replica: int):
    from ..nn._network import MLP, Ensemble

    try:
        return MLP.load(path)
    except ValueError:
        ens = Ensemble.load(path)
        if not 0 <= replica < ens.n_replicas:
            raise ValueError(f"--replica {replica} out of range for {ens.n_replicas} replicas")
        return ens[replica]


def _load_data(args: argparse.Namespace) -> Any:
    from types import SimpleNamespace

    if args.data:
        z = np.load(args.data, allow_pickle=False)
        missing = [k for k in ("X_train", "y_train") if k not in z.files]
        if missing:
            raise ValueError(f"{args.data} lacks arrays {missing}")
        return SimpleNamespace(X_train=z["X_train"], y_train=z["y_train"],
                               X_test=z["X_test"] if "X_test" in z.files else None,
                               y_test=z["y_test"] if "y_test" in z.files else None)
    from .. import datasets

    kw: Dict[str, Any] = {"n_train": args.n_train, "n_test": args.n_test, "pca": args.pca,
                          "classes": args.classes, "seed": args.data_seed,
                          "path": args.data_path}
    return datasets.load(args.dataset, **{k: v for k, v in kw.items() if v is not None})


def _write(out: str, arrays: Dict[str, Any], summary: Dict[str, Any], fig: Any) -> Path:
    p = Path(out)
    if p.suffix != ".npz":
        p = p.with_suffix(".npz")
    p.parent.mkdir(parents=True, exist_ok=True)
    np.savez(p, **{k: np.asarray(v) for k, v in arrays.items() if v is not None})
    p.with_suffix(".json").write_text(json.dumps(summary, indent=2, default=float))
    fig.savefig(p.with_suffix(".png"), dpi=110)
    return p


def cli_profile(args: argparse.Namespace) -> int:
    from ..probes._landscape import profile
    from ..probes.plotting import plot_profile

    t0 = time.perf_counter()
    net = _load_net(args.model, args.replica)
    data = _load_data(args)
    res = profile(net, data, args.radii, n_directions=args.directions,
                  normalization=args.normalization, kind=args.kind, mode=args.mode,
                  seed=args.seed, delta=args.delta, bias_mode=args.bias_mode,
                  n_threads=args.threads)
    summ = {"loss0": res.loss0, "acc0": res.acc0, "basin_radius": res.basin_radius,
            "radii": res.radii.tolist(),
            "mean_train_loss": res.mean_train_loss.tolist(), **res.settings,
            "seconds": time.perf_counter() - t0}
    p = _write(args.out, {"radii": res.radii, "train_loss": res.train_loss,
                          "train_acc": res.train_acc, "test_loss": res.test_loss,
                          "test_acc": res.test_acc}, summ, plot_profile(res))
    print(f"profile: L0 = {res.loss0:.4f}, basin radius (L0 + {res.delta:g}) = "
          f"{res.basin_radius:.4g}; {res.train_loss.size} perturbed networks in "
          f"{summ['seconds']:.1f} s; wrote {p}")
    return 0


def cli_walk(args: argparse.Namespace) -> int:
    from ..probes.plotting import plot_walk
    from ..probes._walks import random_walk

    t0 = time.perf_counter()
    net = _load_net(args.model, args.replica)
    data = _load_data(args)
    res = random_walk(net, data, args.steps, args.step_size, mode=args.walk_mode,
                      threshold=args.threshold, temperature=args.temperature, move=args.move,
                      n_walkers=args.walkers, record_every=args.record_every, seed=args.seed,
                      refresh_every=args.refresh_every, threshold_on=args.threshold_on,
                      delta=args.delta, n_threads=args.threads)
    summ = {**{k: float("nan") if v is None else v for k, v in res.to_dict().items()
               if k != "settings"}, **res.settings,
            "seconds": time.perf_counter() - t0}
    p = _write(args.out, {k: getattr(res, k) for k in (
        "step", "distance", "overlap", "train_loss", "train_acc", "test_loss", "test_acc",
        "acceptance", "final_theta", "n_accepted")}, summ, plot_walk(res))
    print(f"walk: {args.walkers} x {args.steps} {args.move} steps in {summ['seconds']:.1f} s; "
          f"acceptance {summ['acceptance_rate_mean']:.3f}, final distance "
          f"{summ['final_distance_mean']:.4g}, MSD exponent {summ['msd_exponent']:.3f}; wrote {p}")
    return 0


def _main(argv: Optional[list] = None) -> int:  # pragma: no cover - manual use
    ap = argparse.ArgumentParser(prog="python -m glasslens.landscape_cli")
    sub = ap.add_subparsers(dest="command", required=True)
    add_profile_parser(sub)
    add_walk_parser(sub)
    args = ap.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main())
