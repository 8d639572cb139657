"""``glasslens sweep CONFIG.toml --store PATH [--scheduler ADDRESS]``: run (or resume) a
campaign (:func:`glasslens.campaign.run`)."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import add_progress_option, nonneg_int, threads

NAME = "sweep"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        NAME, help="run or resume a campaign (a sweep of ensembles and protocols) into a store",
        description="Run the cells of a campaign config (TOML) into a zarr store; re-running "
                    "skips the finished cells. Local worker processes by default, a Dask "
                    "cluster with --scheduler.")
    p.add_argument("config", metavar="CONFIG.toml", help="campaign config file")
    p.add_argument("--store", "-o", "--out", dest="store", required=True, metavar="PATH",
                   help="the store directory (created when absent)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address (tcp://host:8786), or 'local' for a "
                        "dask.distributed LocalCluster (needs pip install \"glasslens[dask]\")")
    p.add_argument("--workers", type=nonneg_int, default=None, metavar="N",
                   help="worker processes (default: cores // threads; 0 = in this process)")
    p.add_argument("--threads", type=threads, default=None, metavar="N",
                   help="threads per cell (default: cores // workers)")
    p.add_argument("--csv", default=None, metavar="FILE",
                   help="also write the results as a CSV table (one row per cell and replica)")
    add_progress_option(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..campaign import export_csv
    from ..campaign import run as run_campaign
    from ._common import show_progress

    progress = show_progress(args)
    try:
        s = run_campaign(args.config, args.store, client=args.scheduler, workers=args.workers,
                         threads=args.threads, progress=progress)
    except KeyboardInterrupt as exc:
        print(f"glasslens sweep: interrupted: {exc}", file=sys.stderr)
        return 130
    print(s.line())
    if not progress:  # with progress, run() has printed each failed cell's traceback already
        for cid, tb in s.failed.items():
            print(f"failed cell {cid}:\n{tb}", file=sys.stderr)
    if args.csv:
        print(f"wrote {export_csv(args.store, args.csv)}")
    return 0 if s.complete else 1
