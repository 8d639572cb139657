"""Run the Protocol 4 study (same as `glasslens flatness ...`).

Usage: PYTHONPATH=python /work/venv/bin/python bench/python/run_flatness_study.py [flatness args]
"""
import sys

from glasslens.cli import main

sys.exit(main(["flatness", *sys.argv[1:]]))
