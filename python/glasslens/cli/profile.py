"""``glasslens profile``: loss against perturbation radius around a saved network
(``glasslens.probes.profile``, Protocol 1)."""
from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from . import _common as C

NAME = "profile"

__all__ = ["add_parser", "run", "parse_radii", "add_network_options"]


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


def add_network_options(p: argparse.ArgumentParser, out: str) -> None:
    """The options ``profile`` and ``walk`` share: the network, its data, seeds and output."""
    p.add_argument("model", help="network file (.npz from MLP.save or Ensemble.save)")
    p.add_argument("--replica", type=C.nonneg_int, default=0,
                   help="replica index when MODEL is an Ensemble (default 0)")
    C.add_data_options(p, npz=True)
    p.add_argument("--data-seed", type=C.nonneg_int, default=0,
                   help="seed of the dataset subsampling (default 0)")
    p.add_argument("--seed", type=C.nonneg_int, default=0, help="seed of the probes (default 0)")
    C.add_run_options(p, out=out, out_help="output .npz (a .png figure and a .json summary "
                                           "are written beside it)")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(NAME, help="loss vs perturbation radius around a network "
                                         "(Protocol 1 probes)")
    add_network_options(p, out="profile.npz")
    g = p.add_argument_group("protocol")
    g.add_argument("--radii", type=parse_radii, default=parse_radii("0:1:11"),
                   help="comma list or start:stop:n (default 0:1:11)")
    g.add_argument("--directions", type=C.positive_int, default=32,
                   help="random directions (default 32)")
    g.add_argument("--normalization", choices=["none", "global", "layer", "filter"],
                   default=None, help="default: filter (additive) / none (multiplicative)")
    g.add_argument("--kind", choices=["gaussian", "rademacher"], default="gaussian")
    g.add_argument("--mode", choices=["additive", "multiplicative"], default="additive")
    g.add_argument("--bias-mode", choices=["include", "zero"], default="include")
    g.add_argument("--delta", type=float, default=0.1,
                   help="loss rise that defines the basin radius (default 0.1)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from .. import probes
    from .._lib._threads import resolve_threads
    from ..probes.plotting import plot_profile

    t0 = time.perf_counter()
    threads = resolve_threads(args.threads)
    net = C.load_network(args.model, args.replica)
    data = C.load_data(args, seed=args.data_seed)
    res = probes.profile(net, data, args.radii, n_directions=args.directions,
                         normalization=args.normalization, kind=args.kind, mode=args.mode,
                         seed=args.seed, delta=args.delta, bias_mode=args.bias_mode,
                         n_threads=threads)
    summ = {"loss0": res.loss0, "acc0": res.acc0, "basin_radius": res.basin_radius,
            "radii": res.radii.tolist(),
            "mean_train_loss": res.mean_train_loss.tolist(), **res.settings,
            "seconds": time.perf_counter() - t0}
    p = C.write_npz(args.out, {"radii": res.radii, "train_loss": res.train_loss,
                               "train_acc": res.train_acc, "test_loss": res.test_loss,
                               "test_acc": res.test_acc}, summ, plot_profile(res))
    print(f"profile: L0 = {res.loss0:.4f}, basin radius (L0 + {res.delta:g}) = "
          f"{res.basin_radius:.4g}; {res.train_loss.size} perturbed networks in "
          f"{summ['seconds']:.1f} s; wrote {p}")
    return 0
