"""Campaign overhead: 24 small cells (digits, 1000 examples, 8 replicas, 20 epochs, widths
8/16/32 x 8 seeds; Protocols 1-4: profile of 4 replicas, replica barriers, replica structure
with 39 nulls, flatness of 4 replicas; about 1 s each on one thread) run by the local executor,
by a Dask LocalCluster that the campaign starts (``client="local"``) and by a running Dask
cluster (``client=Client(...)``), against the cells' own times (measured inside the workers).

overhead = wall / (sum of cell times / processes) - 1: what the campaign adds (process start,
data loading, transfers, store commits, scheduling) to perfectly packed cells. ``--scaling``
runs 1, 2, 4, 8, 16 worker processes (one thread each) where the machine has the cores.

    PYTHONPATH=python python3 bench/python/bench_campaign.py [--scaling] [--out FILE.json]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

CONFIG = {
    "data": {"dataset": "digits", "n_train": 1000},
    "train": {"replicas": 8, "epochs": 20},
    "grid": {"hidden": [[8], [16], [32]], "seed": list(range(8))},
    "protocols": {"replicas": {"n_null": 39}, "symmetry": {"n_points": 21},
                  "probes": {"n_directions": 8, "max_replicas": 4},
                  "flatness": {"max_replicas": 4}},
}


def one(executor: str, workers: int, root: Path) -> dict:
    from glasslens import campaign

    store = root / f"{executor}-{workers}"
    shutil.rmtree(store, ignore_errors=True)
    t0 = time.perf_counter()
    if executor == "dask LocalCluster":
        s = campaign.run(CONFIG, store, client="local", workers=workers, threads=1,
                         progress=False)
    elif executor == "dask client":
        import distributed

        from glasslens.campaign._executor import preserved_environ

        with preserved_environ(), distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, dashboard_address=":0") as cl, \
                distributed.Client(cl) as client:
            client.run(lambda: __import__("glasslens.campaign._cell"))  # a running cluster
            t0 = time.perf_counter()
            s = campaign.run(CONFIG, store, client=client, threads=1, progress=False)
            wall = time.perf_counter() - t0  # the cluster's start and stop are not the campaign's
    else:
        s = campaign.run(CONFIG, store, workers=workers, threads=1, progress=False)
    if executor != "dask client":
        wall = time.perf_counter() - t0
    cells = sum(s.cell_seconds.values())
    packed = cells / max(1, workers)
    return {"executor": executor, "workers": workers, "threads": 1, "cells": len(s.computed),
            "wall_s": round(wall, 3), "sum_cell_s": round(cells, 3),
            "overhead": round(wall / packed - 1.0, 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scaling", action="store_true", help="1..16 workers (needs the cores)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="glasslens-bench-campaign-"))
    cores = os.cpu_count() or 1
    rows = []
    try:
        counts = [n for n in (1, 2, 4, 8, 16) if n <= cores] if a.scaling else [cores]
        for n in counts:
            for ex in ("local", "dask LocalCluster", "dask client"):
                r = one(ex, n, root)
                print(json.dumps(r))
                rows.append(r)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if a.out:
        Path(a.out).write_text(json.dumps({"cores": cores, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
