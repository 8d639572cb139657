"""Run the Protocol 4 study (same as `glasslens flatness ...`) before the CLI is wired in.

Usage: PYTHONPATH=python /work/venv/bin/python bench/python/run_flatness_study.py [flatness args]
"""
import argparse
import sys

from glasslens.cli._flatness import add_flatness_parser

ap = argparse.ArgumentParser(prog="glasslens")
sub = ap.add_subparsers()
add_flatness_parser(sub)
args = ap.parse_args(["flatness", *sys.argv[1:]])
sys.exit(args.func(args))
