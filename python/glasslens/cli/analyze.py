"""``glasslens analyze``: train an ensemble and write the report (``glasslens.report.run_analysis``)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from . import _common as C

NAME = "analyze"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from ..report import ANALYSIS_TRAINING, DATA_DEFAULTS

    p = subparsers.add_parser(NAME, help="train an ensemble and write a report directory "
                                         "(the main job)")
    C.add_data_options(p, dataset=DATA_DEFAULTS["dataset"])
    C.add_training_options(p, ANALYSIS_TRAINING)
    g = p.add_argument_group("report")
    g.add_argument("--sections", default=None, metavar="A,B,...",
                   help="report sections to run (default: all default sections; "
                        "'list' prints them)")
    g.add_argument("-O", "--option", action="append", type=C.kv, default=[], metavar="KEY=VALUE",
                   help="extra setting passed to report sections (repeatable)")
    g.add_argument("--options", action="store_true",
                   help="print every -O key with its default and the section that reads it, "
                        "then exit")
    g.add_argument("-q", "--quiet", action="store_true", help="print only the final summary")
    C.add_run_options(p, out="glasslens-report", out_help="report directory")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from .. import report as R

    if args.options:
        print(_options_text())
        return 0
    if args.sections is not None and args.sections.strip() == "list":
        print("\n".join(R.sections()))
        return 0
    names = None
    if args.sections is not None:
        names = [s.strip() for s in args.sections.split(",") if s.strip()]
    log = None if args.quiet else (lambda s: print(f"[glasslens] {s}", file=sys.stderr))
    t0 = time.perf_counter()
    status = 0
    try:
        rep = R.run_analysis(
            args.out, dataset=args.dataset, config=C.training_config(args, R.ANALYSIS_TRAINING),
            n_train=args.n_train, n_test=args.n_test, pca=args.pca, classes=args.classes,
            data_path=args.data_path, sections=names, extra=dict(args.option),
            n_threads=args.threads, progress=C.progress_arg(args), log=log)
    except R.AnalysisError as exc:
        print(f"glasslens analyze: {exc}", file=sys.stderr)
        status = 1
        out = Path(args.out)
    else:
        out = rep.out_dir
        summ = json.loads((out / "summary.json").read_text())
        train = next((s for s in summ["sections"] if s["key"] == "training"), None)
        if train and train["text"]:
            print(train["text"])
    print(f"report written to {out}/index.html ({time.perf_counter() - t0:.1f} s)")
    return status


def _options_text() -> str:
    """One line per ``-O`` key: key, default, section, meaning."""
    from ..report._sections import OPTION_HELP, SETTINGS

    owner = {k: sec for sec, keys in SETTINGS.items() for k in keys}
    w = max(len(k) for k in owner)
    lines = [f"{'-O key':<{w}}  {'default':<22}  {'section':<15}  meaning"]
    for k, sec in owner.items():
        default, meaning = OPTION_HELP.get(k, ("?", ""))
        lines.append(f"{k:<{w}}  {default:<22}  {sec:<15}  {meaning}")
    return "\n".join(lines)
