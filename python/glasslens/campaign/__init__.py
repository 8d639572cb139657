"""Campaigns: sweeps of ensembles and protocols over data, architecture, training options and
seeds, run locally (a pool of worker processes) or on a Dask cluster, into one labelled,
resumable store (zarr) read back as an ``xarray.Dataset``.

``run(config, store, client=None)`` runs (or resumes) a campaign; ``load(store)`` gives the
Dataset; ``to_dataframe`` / ``export_csv`` a long table; ``write_report(store)`` the campaign's
HTML page. ``Campaign.from_toml(path)`` / ``Campaign.from_dict(d)`` read a description; the
command line is ``glasslens sweep CONFIG.toml --store PATH [--scheduler ADDRESS]`` and
``glasslens report STORE``. The store needs xarray and zarr (``pip install
"glasslens[campaign]"``), clusters need dask.distributed (``pip install "glasslens[dask]"``).
"""
from __future__ import annotations

from ._config import Campaign, Cell
from ._executor import RunSummary, plan_workers, run
from ._store import StoreError, export_csv, load, to_dataframe
from ._report import write_report
from ._cell import PROTOCOLS

__all__ = ["Campaign", "Cell", "run", "RunSummary", "load", "to_dataframe", "export_csv",
           "write_report", "StoreError", "plan_workers", "PROTOCOLS"]
