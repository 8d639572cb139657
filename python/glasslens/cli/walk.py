"""``glasslens walk``: random walks in parameter space from a saved network
(``glasslens.probes.random_walk``, Protocol 1)."""
from __future__ import annotations

import argparse
import time
from typing import Any

from . import _common as C
from .profile import add_network_options

NAME = "walk"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(NAME, help="random walks in parameter space from a network "
                                         "(Protocol 1)")
    add_network_options(p, out="walk.npz")
    g = p.add_argument_group("protocol")
    g.add_argument("--steps", type=C.nonneg_int, default=1000, help="steps (default 1000)")
    g.add_argument("--step-size", type=float, default=0.01,
                   help="eta: sigma = eta ||theta0|| / sqrt(N) per coordinate (default 0.01)")
    g.add_argument("--walk-mode", choices=["free", "threshold", "metropolis"], default="free")
    g.add_argument("--threshold", type=float, default=None)
    g.add_argument("--threshold-on", choices=["loss", "error"], default="loss")
    g.add_argument("--temperature", type=float, default=None)
    g.add_argument("--move", choices=["dense", "weight", "unit"], default="dense")
    g.add_argument("--walkers", type=C.positive_int, default=8, help="walkers (default 8)")
    g.add_argument("--record-every", type=C.positive_int, default=10,
                   help="record every this many steps (default 10)")
    g.add_argument("--refresh-every", type=int, default=1000,
                   help="recompute the loss from scratch every this many steps (default 1000)")
    g.add_argument("--delta", type=float, default=0.1)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from .. import probes
    from .._lib._threads import resolve_threads
    from ..probes.plotting import plot_walk

    t0 = time.perf_counter()
    threads = resolve_threads(args.threads)
    net = C.load_network(args.model, args.replica)
    data = C.load_data(args, seed=args.data_seed)
    res = probes.random_walk(net, data, args.steps, args.step_size, mode=args.walk_mode,
                             threshold=args.threshold, temperature=args.temperature,
                             move=args.move, n_walkers=args.walkers,
                             record_every=args.record_every, seed=args.seed,
                             refresh_every=args.refresh_every, threshold_on=args.threshold_on,
                             delta=args.delta, n_threads=threads)
    summ = {**{k: float("nan") if v is None else v for k, v in res.to_dict().items()
               if k != "settings"}, **res.settings,
            "seconds": time.perf_counter() - t0}
    p = C.write_npz(args.out, {k: getattr(res, k) for k in (
        "step", "distance", "overlap", "train_loss", "train_acc", "test_loss", "test_acc",
        "acceptance", "final_theta", "n_accepted")}, summ, plot_walk(res))
    print(f"walk: {args.walkers} x {args.steps} {args.move} steps in {summ['seconds']:.1f} s; "
          f"acceptance {summ['acceptance_rate_mean']:.3f}, final distance "
          f"{summ['final_distance_mean']:.4g}, MSD exponent {summ['msd_exponent']:.3f}; wrote {p}")
    return 0
