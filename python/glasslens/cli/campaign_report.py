"""``glasslens report STORE [-o OUT]``: the HTML page of a campaign store
(:func:`glasslens.campaign.write_report`)."""
from __future__ import annotations

import argparse
from typing import Any

from ._common import add_progress_option, threads

NAME = "report"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(NAME, help="write the HTML page of a campaign store",
                              description="Sweep figures and flatness correlations of a "
                                          "campaign, from its store alone.")
    p.add_argument("store", metavar="STORE", help="a store written by glasslens sweep")
    p.add_argument("-o", "--out", default=None, metavar="DIR",
                   help="report directory (default: STORE-report)")
    p.add_argument("--threads", type=threads, default=None, metavar="N",
                   help="threads of the numerical work (default: OMP_NUM_THREADS or all cores)")
    add_progress_option(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from .. import set_threads
    from ..campaign import write_report
    from ._common import show_progress

    with set_threads(args.threads):
        path = write_report(args.store, args.out, progress=show_progress(args))
    print(f"wrote {path}")
    return 0
