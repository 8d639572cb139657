"""``glasslens info``: version, compiler, OpenMP, SIMD path and threads of this build."""
from __future__ import annotations

import argparse
import json
from typing import Any

NAME = "info"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(NAME, help="print version, compiler, OpenMP, SIMD path, threads "
                                         "and the datasets present")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from .._lib._build import build_info

    info = build_info()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        from ..datasets import available

        got = available()
        info = {**info, "datasets": ", ".join(n for n, why in got.items() if why is None)
                + "".join(f"; {why}" for why in got.values() if why is not None)}
        w = max(len(k) for k in info)
        for k, v in info.items():
            print(f"{k:<{w}}  {v}")
    return 0
