"""Re-analyse a saved Protocol 4 study (flatness.json) without some variants.

Usage: PYTHONPATH=python python bench/python/reanalyse_flatness.py flatness.json "B=64, noise=0.2" ...
Prints the correlation table of the remaining networks.
"""
import json
import sys

from glasslens.flatness import GeneralizationStudy, analyse_rows

d = json.load(open(sys.argv[1]))
drop = set(sys.argv[2:])
rows = [r for r in d["rows"] if r["variant"] not in drop]
labels = [lab for lab in d["labels"] if lab not in drop]
corr, matched = analyse_rows(rows, d["measures"], labels, n_boot=d["params"]["n_boot"],
                             seed=d["params"]["seed"], match_tol=d["params"]["match_tol"],
                             small=d["matched"]["small"], large=d["matched"]["large"])
st = GeneralizationStudy(rows=rows, variants=[], labels=labels, measures=d["measures"],
                         correlations=corr, matched=matched, params=d["params"])
print(f"Without {sorted(drop)}:\n")
print(st.table())
