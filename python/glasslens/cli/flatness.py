"""``glasslens flatness``: Protocol 4, flatness against generalisation
(``glasslens.flatness.generalization_study``)."""
from __future__ import annotations

import argparse
import json
import time
from typing import Any

from . import _common as C

NAME = "flatness"

#: the training options of the study (its defaults are generalization_study's)
_TRAINING = ("hidden", "replicas", "epochs", "lr", "momentum", "seed")


def _variants(text: str) -> Any:
    from ..flatness import VARIANT_PRESETS

    if text in VARIANT_PRESETS:
        return text
    try:
        v = json.loads(text)
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError(
            f"--variants expects one of {sorted(VARIANT_PRESETS)} or a JSON list/dict, "
            f"got {text!r}") from None
    if not isinstance(v, (list, dict)):
        raise argparse.ArgumentTypeError("--variants JSON must be a list of dicts or a dict "
                                         "of lists")
    return v


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from ..flatness import STUDY_MEASURES, VARIANT_PRESETS, generalization_study
    from ..nn import TrainConfig

    # the study's defaults, under the CLI's (TrainConfig's) field names
    renamed = {"replicas": "n_replicas", "checkpoints": "n_checkpoints"}
    names = _TRAINING + ("checkpoints", "n_boot", "match_tol")
    study = {n: v for n, v in zip(names, C.defaults_of(
        generalization_study, [renamed.get(n, n) for n in names]).values())}
    p = subparsers.add_parser(
        NAME, help="Protocol 4: train variants and correlate flatness with generalisation",
        description="Train replicas under a grid of training variants, compute flatness measures "
                    "and report their rank correlations with test accuracy and the "
                    "generalisation gap (with bootstrap confidence intervals).")
    C.add_data_options(p)
    C.add_training_options(p, TrainConfig(), fields=_TRAINING, defaults=study,
                           helps={"replicas": "replicas per variant",
                                  "epochs": "epochs per variant"})
    g = p.add_argument_group("protocol")
    g.add_argument("--checkpoints", type=C.positive_int, default=study["checkpoints"],
                   help=f"geometric checkpoints (default {study['checkpoints']})")
    g.add_argument("--variants", type=_variants, default="default",
                   help=f"preset {sorted(VARIANT_PRESETS)} or JSON, e.g. "
                        "'{\"batch_size\": [16, 256], \"sam_rho\": [0, 0.05]}'")
    g.add_argument("--measures", default=",".join(STUDY_MEASURES),
                   help="comma-separated measures (default: all)")
    g.add_argument("--no-balance", action="store_true",
                   help="measure without balancing the ReLU rescaling symmetry")
    g.add_argument("--n-boot", type=C.positive_int, default=study["n_boot"],
                   help=f"bootstrap resamples (default {study['n_boot']})")
    g.add_argument("--match-tol", type=float, default=study["match_tol"],
                   help="relative train-loss tolerance of the matched comparison "
                        f"(default {study['match_tol']})")
    C.add_run_options(p, out="flatness-out", out_help="output directory")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the study; writes ``<out>/flatness.md``, ``flatness.png`` and ``flatness.json`` and
    prints the table. Returns the exit status."""
    from .. import flatness
    from .._lib._threads import resolve_threads

    t0 = time.time()
    threads = resolve_threads(args.threads)
    ds = C.load_data(args, seed=args.seed)
    variants = (flatness.VARIANT_PRESETS[args.variants] if isinstance(args.variants, str)
                else args.variants)
    which = [m.strip() for m in str(args.measures).split(",") if m.strip()]
    st = flatness.generalization_study(
        ds, hidden=args.hidden, variants=variants, n_replicas=args.replicas, epochs=args.epochs,
        measures=which, balance=not args.no_balance, n_checkpoints=args.checkpoints, lr=args.lr,
        momentum=args.momentum, seed=args.seed, n_threads=threads, n_boot=args.n_boot,
        match_tol=args.match_tol, progress=C.show_progress(args))
    head = (f"# Protocol 4: flatness vs generalisation on {ds.name}\n\n"
            f"hidden={list(args.hidden)}, replicas={args.replicas} per variant, "
            f"epochs={args.epochs}, checkpoints={args.checkpoints}, "
            f"balance={not args.no_balance}, n_train={ds.n_train}, n_test={ds.n_test}, "
            f"n_features={ds.n_features}{' (PCA)' if args.pca else ''}, "
            f"seed={args.seed}, {time.time() - t0:.0f} s\n\n")
    table = st.table()
    files = C.write_outputs(args.out, "flatness", head, table, st.plot(),
                            save_json=st.save_json)
    print(head + table)
    print(f"\nwrote {', '.join(files)}")
    return 0
