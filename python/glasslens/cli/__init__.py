"""The ``glasslens`` command (also ``python -m glasslens``): one module per command, each with
``add_parser(subparsers)`` and ``run(args) -> int``, and ``_common`` for what they share.

``glasslens analyze`` with no arguments trains an ensemble on the digits data and writes the
report directory ``./glasslens-report`` (summary.json, figures/*.png, index.html,
ensemble.npz) with a section per protocol. ``glasslens train`` trains and saves an ensemble
``.npz``; ``glasslens info`` prints the build configuration. One command per protocol:
``profile`` and ``walk`` (Protocol 1, around a saved network), ``permutation`` (Protocol 2),
``replicas`` (Protocol 3), ``flatness`` (Protocol 4) and ``effective-model`` (Zou & Huang).

Every command takes ``-o/--out``, ``--threads N`` and ``--progress/--no-progress``; the
training options are the fields of :class:`glasslens.nn.TrainConfig`. Argument parsing and
output only: the science lives in the subpackages. A training that diverges
(:class:`glasslens.nn.TrainingDiverged`) ends the command with one line naming the cause and
the learning rate to use instead, exit status 1, and nothing saved.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Optional, Sequence

from . import (analyze, campaign_report, effective_model, flatness, info, permutation, profile,
               replicas, sweep, train, walk)

__all__ = ["main", "build_parser", "COMMANDS"]

#: the command modules, in the order ``glasslens --help`` lists them
COMMANDS = (info, train, analyze, profile, walk, permutation, replicas, flatness,
            effective_model, sweep, campaign_report)


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``glasslens`` command, one subparser per module of ``COMMANDS``."""
    from .._lib._build import __version__

    p = argparse.ArgumentParser(
        prog="glasslens",
        description="Loss landscapes of neural networks through the lens of spin-glass physics.")
    p.add_argument("--version", action="version", version=f"glasslens {__version__}")
    sub = p.add_subparsers(dest="command",
                           metavar="{" + ",".join(m.NAME for m in COMMANDS) + "}")
    for module in COMMANDS:
        module.add_parser(sub)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``glasslens`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except (ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        if os.environ.get("GLASSLENS_DEBUG"):
            raise
        print(f"glasslens {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except FloatingPointError as exc:
        from ..nn import TrainingDiverged

        if not isinstance(exc, TrainingDiverged) or os.environ.get("GLASSLENS_DEBUG"):
            raise
        print(diverged_message(args.command, exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        return 130


def diverged_message(command: str, exc: Any) -> str:
    """The one line a command prints for a :class:`~glasslens.nn.TrainingDiverged`."""
    fix = (f"rerun with --lr {exc.suggested_lr:g} (derived from the data's scale)"
           if exc.suggested_lr else "rerun with a smaller --lr")
    return (f"glasslens {command}: error: {exc.cause}; {fix}; nothing was saved"
            ).replace("\n", " ")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
