"""argparse value types shared by the command-line modules."""
from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """An int >= 1, or an argparse error naming the value."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def nonneg_int(text: str) -> int:
    """An int >= 0, or an argparse error naming the value."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return v


def alignment_arg(text: str) -> tuple:
    """``--alignment``: one alignment or a comma-separated list of them (the choices of
    ``glasslens._lib._alignment.ALIGNMENTS``: none, pairwise, reference, medoid, mean); each
    command accepts the subset it can compute. The effective-model command's old values
    ``aligned`` (= mean) and ``both`` (= none,mean) are accepted with a deprecation note."""
    import sys

    from .._lib._alignment import ALIGNMENTS

    old = {"aligned": "mean", "both": "none,mean"}
    if text in old:
        print(f"glasslens: --alignment {text} is deprecated; use --alignment {old[text]}",
              file=sys.stderr)
        text = old[text]
    vals = tuple(v.strip() for v in text.split(",") if v.strip())
    bad = [v for v in vals if v not in ALIGNMENTS]
    if not vals or bad:
        raise argparse.ArgumentTypeError(
            f"alignment must be one of {', '.join(ALIGNMENTS)} (or a comma-separated list), "
            f"got {text!r}")
    return vals


def deprecated_flag(new: str) -> type:
    """An argparse action for an old flag spelling: stores the value like ``new`` does and
    prints a deprecation note to stderr."""
    import sys

    class _Deprecated(argparse.Action):
        def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                     values: object, option_string: object = None) -> None:
            print(f"{parser.prog}: {option_string} is deprecated; use {new}", file=sys.stderr)
            setattr(namespace, self.dest, values)

    return _Deprecated
