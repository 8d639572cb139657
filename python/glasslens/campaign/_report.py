"""The campaign's HTML page (``glasslens report STORE``), from the store alone: the sweep
figures (each measured quantity against each swept parameter, mean +- std over seeds and
replicas; P(q) against the first swept parameter) and the flatness correlations across the
sweep (Spearman of each flatness measure with test accuracy and with the generalisation gap,
pooled over every replica of every cell)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np

__all__ = ["write_report", "sweep_correlations", "SWEEP_QUANTITIES"]

#: (title, variables) of the sweep panels; a panel is drawn when a variable is in the store
SWEEP_QUANTITIES = (
    ("accuracy", ("train_acc", "test_acc")),
    ("final loss (nats)", ("train_loss", "test_loss")),
    ("barrier between replicas (nats)", ("barrier_raw", "barrier_aligned")),
    ("overlap moments", ("pq_mean", "pq_q_ea")),
    ("ultrametricity: mean K", ("um_mean_K",)),
    ("basin radius (relative)", ("basin_radius",)),
    ("flatness: hessian top", ("flat_hessian_top",)),
    ("flatness: local energy", ("flat_local_energy",)),
)


def _x(ds: Any, dim: str) -> np.ndarray:
    if dim == "hidden" and "width" in ds.coords:
        return np.asarray(ds["width"].values, float)
    v = ds[dim].values
    try:
        return np.asarray(v, float)
    except (TypeError, ValueError):
        return np.arange(len(v), dtype=float)


def _along(ds: Any, var: str, dim: str):
    da = ds[var]
    other = [d for d in da.dims if d != dim]
    return da.mean(other, skipna=True).values, da.std(other, skipna=True).values


def sweep_correlations(ds: Any) -> Dict[str, Dict[str, float]]:
    """Spearman correlation of each ``flat_<measure>`` with ``test_acc`` and with the gap
    ``train_acc - test_acc``, over every (cell, replica) with finite values."""
    from scipy.stats import spearmanr

    out: Dict[str, Dict[str, float]] = {}
    if "test_acc" not in ds:
        return out
    acc = ds["test_acc"]
    gap = ds["train_acc"] - ds["test_acc"]
    for v in sorted(ds.data_vars):
        if not v.startswith("flat_") or v.endswith(("_stderr", "_censored", "_k")):
            continue
        x, a, g = (np.asarray(t.values, float).ravel() for t in
                   __import__("xarray").broadcast(ds[v], acc, gap))
        ok = np.isfinite(x) & np.isfinite(a) & np.isfinite(g)
        if ok.sum() < 3 or np.ptp(x[ok]) == 0:
            continue
        out[v[5:]] = {"n": int(ok.sum()), "spearman_test_acc": float(spearmanr(x[ok], a[ok])[0]),
                      "spearman_gap": float(spearmanr(x[ok], g[ok])[0])}
    return out


def write_report(store: Union[str, Path], out: Optional[Union[str, Path]] = None, *,
                 progress: bool = False) -> Path:
    """Write the campaign page ``out/index.html`` (default: ``<store>-report``) with its
    figures and ``summary.json``, from the store alone; returns the path of index.html.
    ``progress``: a bar over the sections on stderr."""
    import sys

    from matplotlib.figure import Figure
    from tqdm.auto import tqdm

    from ..report import Report
    from ._store import load

    bar = tqdm(total=4, desc="campaign report: loading the store", disable=not progress,
               file=sys.stderr)
    ds = load(store)
    bar.update(1)
    out = Path(out) if out is not None else Path(str(Path(store)).rstrip("/") + "-report")
    cfg = json.loads(ds.attrs["config"])
    swept = [d for d in ds["done"].dims if ds.sizes[d] > 1]
    rep = Report(out, title=f"glasslens campaign: {Path(store).name}",
                 meta={"store": str(store), "config": cfg, "config_hash": ds.attrs["config_hash"],
                       "versions": json.loads(ds.attrs["versions"])})
    n_done, n = int(ds.attrs["n_done"]), int(ds.attrs["n_cells"])
    text = (f"{n_done} of {n} cells finished" + (f", {len(ds.attrs['failed'])} failed"
                                                 if ds.attrs["failed"] else "")
            + ". Swept: " + ", ".join(f"{d} ({', '.join(map(str, ds[d].values.tolist()))})"
                                       for d in ds["done"].dims)
            + f". Protocols: {', '.join(cfg['protocols']) or 'none (training only)'}. "
            f"Wall time per cell: median {np.nanmedian(ds['cell_seconds'].values):.2f} s.")
    rep.add_section("Campaign", text, key="campaign")
    panels = [(t, [v for v in vs if v in ds]) for t, vs in SWEEP_QUANTITIES]
    panels = [(t, vs) for t, vs in panels if vs]
    bar.set_description("campaign report: sweep figures")
    for dim in swept:
        if dim == "seed":
            continue
        xs = _x(ds, dim)
        nc = min(4, len(panels))
        nr = -(-len(panels) // nc)
        fig = Figure(figsize=(3.2 * nc, 2.6 * nr))
        axes = fig.subplots(nr, nc, squeeze=False)
        means = {}
        for i, (title, vs) in enumerate(panels):
            ax = axes[i // nc][i % nc]
            for v in vs:
                m, s = _along(ds, v, dim)
                means[v] = m
                ax.errorbar(xs, m, yerr=s, marker="o", ms=3, capsize=2, label=v)
            ax.set_title(title, fontsize=8)
            ax.set_xlabel("width" if dim == "hidden" else dim, fontsize=8)
            ax.tick_params(labelsize=7)
            if len(vs) > 1:
                ax.legend(fontsize=6)
            if dim in ("lr", "n_train", "batch_size") and np.all(xs > 0):
                ax.set_xscale("log")
        for i in range(len(panels), nr * nc):
            axes[i // nc][i % nc].axis("off")
        fig.tight_layout()
        rows = []
        for k, lab in enumerate(ds[dim].values.tolist()):
            row = {dim: lab}
            for _, vs in panels:
                for v in vs:
                    row[v] = float(means[v][k])
            rows.append(row)
        rep.add_section(f"Against {'width' if dim == 'hidden' else dim}",
                        f"Each quantity against {dim}: mean +- std over the other swept "
                        f"parameters, seeds and replicas.", key=f"sweep-{dim}",
                        figures=[(fig, f"measured quantities against {dim}")],
                        data={"rows": rows})
    bar.update(1)
    bar.set_description("campaign report: P(q)")
    if "pq_density" in ds and swept:
        dim = next((d for d in swept if d != "seed"), swept[0])
        fig = Figure(figsize=(4.6, 3.2))
        ax = fig.subplots()
        for lab in ds[dim].values.tolist():
            dens = ds["pq_density"].sel({dim: lab})
            dens = dens.mean([d for d in dens.dims if d != "q"], skipna=True)
            ax.plot(ds["q"].values, dens.values, label=f"{dim}={lab}")
        ax.set_xlabel("overlap q")
        ax.set_ylabel("P(q)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        rep.add_section("P(q) across the sweep",
                        f"Overlap distribution P(q) of the replica overlaps (mean over seeds "
                        f"and the other swept parameters) for each {dim}.", key="pq",
                        figures=[(fig, f"P(q) for each {dim}")])
    bar.update(1)
    bar.set_description("campaign report: flatness correlations")
    corr = sweep_correlations(ds)
    if corr:
        lines = ["| measure | n | Spearman(test acc) | Spearman(gap) |", "|---|---|---|---|"]
        lines += [f"| {m} | {c['n']} | {c['spearman_test_acc']:+.2f} | {c['spearman_gap']:+.2f} |"
                  for m, c in corr.items()]
        rep.add_section("Flatness correlations across the sweep",
                        "Spearman rank correlation of each flatness measure with test accuracy "
                        "and with the generalisation gap (train - test accuracy), pooled over "
                        "every replica of every cell, so the sweep supplies the spread that one "
                        "training recipe lacks.\n\n" + "\n".join(lines), key="flatness",
                        data={"correlations": corr})
    bar.update(1)
    bar.close()
    return out / "index.html"
