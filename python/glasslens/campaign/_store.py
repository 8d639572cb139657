"""The campaign store: a zarr (v3) hierarchy on the local file system.

::

    STORE/zarr.json             root group; attributes: format, config, config_hash, versions,
                                dims, coords, cells (id -> coords)
    STORE/cells/<id>/           one group per finished cell: its variables packed by dims (one
                                array per dims signature, attribute ``vars`` names the rows),
                                inner coords, seconds
    STORE/ensembles/<id>.npz    the cell's trained ensemble (``save_ensembles``)
    STORE/failed/<id>.json      traceback of a cell that failed (removed once it succeeds)
    STORE/.tmp/                 cells being written

A cell is written under ``.tmp`` and moved into ``cells/`` with one ``os.replace`` (atomic on
one file system), after its ensemble file: a cell is either complete or absent, so a killed run
never leaves a half-written cell, and a re-run skips the finished ones. One run at a time holds
the store's lock (``STORE/.lock``). :func:`load` assembles the ``xarray.Dataset``.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Dict, List, Union

import numpy as np

__all__ = ["FORMAT", "StoreError", "Store", "load", "to_dataframe", "export_csv",
           "TIMING_VARS"]

FORMAT = "glasslens-campaign"
FORMAT_VERSION = 1
#: variables that hold wall times (differ between runs; everything else is bit-identical)
TIMING_VARS = ("cell_seconds",)
PathLike = Union[str, "os.PathLike[str]"]


class StoreError(ValueError):
    """A store that is foreign, corrupt, or holds another campaign."""


def _need() -> None:
    try:
        import xarray  # noqa: F401
        import zarr  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"glasslens.campaign stores need xarray and zarr (>= 3) ({exc}): "
                          f"pip install \"glasslens[campaign]\" (or \"glasslens[dask]\" for "
                          f"clusters too)") from None


def versions() -> Dict[str, str]:
    """Versions of glasslens and of the libraries that shape the results."""
    import platform

    import numpy
    import scipy

    from .._lib._build import build_info

    out = {"glasslens": build_info()["version"], "numpy": numpy.__version__,
           "scipy": scipy.__version__, "python": platform.python_version()}
    for mod in ("xarray", "zarr"):
        try:
            out[mod] = __import__(mod).__version__
        except ImportError:
            pass
    b = build_info()  # the build, not the run-time defaults (default_threads)
    out.update({k: str(b[k]) for k in ("compiler", "openmp", "simd_path") if k in b})
    return out


def _atomic_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True))
    os.replace(tmp, path)


class Store:
    """An open campaign store (``create=True``: made when absent or empty)."""

    def __init__(self, path: PathLike, campaign: Any = None, create: bool = False):
        _need()
        import zarr

        self.path = Path(path)
        self.cells_dir = self.path / "cells"
        p = self.path
        if create and (not p.exists() or (p.is_dir() and not any(p.iterdir()))):
            if campaign is None:
                raise ValueError("a new store needs its campaign")
            self._create(campaign)
        if not p.exists():
            raise FileNotFoundError(f"campaign store {p} does not exist")
        if not p.is_dir():
            raise StoreError(f"{p} is not a glasslens campaign store (not a directory)")
        if not (p / "zarr.json").is_file():
            raise StoreError(f"{p} is not a glasslens campaign store (no zarr.json; it holds "
                             f"{', '.join(sorted(x.name for x in p.iterdir())[:5])}); give a new "
                             f"or empty directory")
        try:
            root = zarr.open_group(str(p), mode="r")
            attrs = dict(root.attrs)
        except Exception as exc:
            raise StoreError(f"{p}: corrupt campaign store: cannot read its root group "
                             f"({type(exc).__name__}: {exc})") from None
        if attrs.get("format") != FORMAT:
            raise StoreError(f"{p} is a zarr store but not a glasslens campaign store "
                             f"(format attribute {attrs.get('format')!r})")
        if attrs.get("format_version") != FORMAT_VERSION:
            raise StoreError(f"{p}: campaign store format version {attrs.get('format_version')!r}"
                             f" is not {FORMAT_VERSION}, which this glasslens reads")
        for k in ("config", "config_hash", "cells", "dims", "coords"):
            if k not in attrs:
                raise StoreError(f"{p}: corrupt campaign store: root attribute {k!r} missing")
        self.attrs = attrs
        if campaign is not None and campaign.hash != attrs["config_hash"]:
            raise StoreError(
                f"{p} holds a different campaign (config hash {attrs['config_hash'][:12]} vs "
                f"{campaign.hash[:12]} of this config): refusing to mix them; give a new --store "
                f"or restore the original config")

    def _create(self, campaign: Any) -> None:
        import zarr

        p = self.path
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{uuid.uuid4().hex}.new")
        cells = campaign.cells()
        root = zarr.open_group(str(tmp), mode="w-", zarr_format=3)
        root.attrs.update({
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "config": campaign.to_dict(), "config_hash": campaign.hash,
            "versions": versions(), "dims": campaign.dims, "coords": campaign.coords(),
            "cells": {c.id: c.coords for c in cells}})
        root.create_group("cells")
        for sub in ("ensembles", "failed", ".tmp"):
            (tmp / sub).mkdir()
        if p.exists():  # an empty directory
            p.rmdir()
        os.replace(tmp, p)

    # ---- state -----------------------------------------------------------------------------
    def finished(self) -> List[str]:
        """Ids of the finished cells (checked: every one must belong to this campaign)."""
        if not self.cells_dir.is_dir():
            raise StoreError(f"{self.path}: corrupt campaign store: no cells/ group")
        ids = sorted(x.name for x in self.cells_dir.iterdir()
                     if x.is_dir() and not x.name.startswith("."))
        foreign = [i for i in ids if i not in self.attrs["cells"]]
        if foreign:
            raise StoreError(f"{self.path}: cells/{foreign[0]} is not a cell of this campaign "
                             f"(a foreign or mixed store)")
        return ids

    def failed(self) -> Dict[str, Dict[str, Any]]:
        """id -> {"traceback", "attempts"} of cells whose last run failed."""
        d = self.path / "failed"
        out = {}
        if d.is_dir():
            for f in sorted(d.glob("*.json")):
                try:
                    out[f.stem] = json.loads(f.read_text())
                except ValueError:
                    out[f.stem] = {"traceback": "(unreadable)", "attempts": None}
        return out

    def clean_tmp(self) -> None:
        """Remove what an interrupted run left in ``.tmp`` (call with the lock held)."""
        t = self.path / ".tmp"
        if t.is_dir():
            for x in t.iterdir():
                shutil.rmtree(x, ignore_errors=True) if x.is_dir() else x.unlink()
        t.mkdir(exist_ok=True)

    def lock(self) -> Any:
        """Take the store's lock (one run at a time); returns the open lock file."""
        import fcntl

        fh = open(self.path / ".lock", "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise StoreError(f"{self.path} is in use by another campaign run (its lock "
                             f"{self.path / '.lock'} is held)") from None
        return fh

    # ---- writing ---------------------------------------------------------------------------
    def commit(self, result: Dict[str, Any]) -> None:
        """Write one finished cell atomically (ensemble first, then the cell group)."""
        import zarr

        cid = result["id"]
        if cid not in self.attrs["cells"]:
            raise StoreError(f"cell {cid} is not a cell of this campaign")
        if (self.cells_dir / cid).exists():
            return  # already committed (a duplicate delivery)
        if result.get("ensemble") is not None:
            final = self.path / "ensembles" / f"{cid}.npz"
            tmpf = self.path / ".tmp" / f"{cid}.{uuid.uuid4().hex}.npz"
            result["ensemble"].save(tmpf)
            os.replace(tmpf, final)
        tmp = self.path / ".tmp" / f"{cid}.{uuid.uuid4().hex}"
        g = zarr.open_group(str(tmp), mode="w-", zarr_format=3)
        packed: Dict[str, Dict[str, Any]] = {}
        groups: Dict[tuple, List[str]] = {}
        for name in sorted(result["vars"]):
            dims, arr = result["vars"][name]
            groups.setdefault((tuple(dims), np.shape(arr)), []).append(name)
        for i, ((dims, _), names) in enumerate(sorted(groups.items(), key=repr)):
            stack = np.stack([np.asarray(result["vars"][n][1], np.float64) for n in names])
            g.create_array(f"a{i}", data=stack, compressors=None)
            packed[f"a{i}"] = {"dims": list(dims), "vars": names}
        g.attrs.update({"cell": cid, "arrays": packed, "coords": result["coords"],
                        "seconds": result["seconds"], "n_threads": result.get("n_threads")})
        os.replace(tmp, self.cells_dir / cid)
        f = self.path / "failed" / f"{cid}.json"
        if f.exists():
            f.unlink()

    def record_failure(self, cid: str, tb: str, attempts: int) -> None:
        _atomic_json(self.path / "failed" / f"{cid}.json", {"traceback": tb, "attempts": attempts})

    # ---- reading ---------------------------------------------------------------------------
    def read_cell(self, cid: str) -> Dict[str, Any]:
        """The stored variables of one cell: {"vars": {name: (dims, array)}, "coords",
        "seconds"}; a damaged cell raises StoreError naming it."""
        import zarr

        where = self.cells_dir / cid
        try:
            g = zarr.open_group(str(where), mode="r")
            attrs = dict(g.attrs)
            if attrs.get("cell") != cid:
                raise ValueError(f"its cell attribute is {attrs.get('cell')!r}")
            out: Dict[str, Any] = {}
            for key, spec in attrs["arrays"].items():
                a = np.asarray(g[key][...])
                if a.shape[0] != len(spec["vars"]) or a.ndim != len(spec["dims"]) + 1:
                    raise ValueError(f"array {key} has shape {a.shape}")
                for j, name in enumerate(spec["vars"]):
                    out[name] = (tuple(spec["dims"]), a[j])
            return {"vars": out, "coords": attrs["coords"], "seconds": attrs["seconds"]}
        except Exception as exc:
            raise StoreError(f"{self.path}: corrupt cell {cid} ({type(exc).__name__}: {exc}); "
                             f"delete {where} and run the campaign again to recompute "
                             f"it") from None


def _sort_key(v: Any) -> Any:
    return (0, v) if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, str(v))


def load(store: PathLike) -> Any:
    """The campaign's results as an ``xarray.Dataset``: dims are the swept parameters (config
    order) then the inner ones (replica, pair, radius, q, ...); a cell not (yet) finished is NaN.
    ``done`` (swept dims) is 1 where a cell is stored, ``cell_seconds`` its wall time.
    Attributes: ``config`` and ``versions`` (JSON text), ``config_hash``, ``failed`` (ids)."""
    import xarray as xr

    st = Store(store)
    dims: List[str] = list(st.attrs["dims"])
    coords = {d: list(v) for d, v in st.attrs["coords"].items()}
    cell_coords = st.attrs["cells"]
    ids = st.finished()
    cells = {cid: st.read_cell(cid) for cid in ids}
    inner: Dict[str, List[Any]] = {}
    var_dims: Dict[str, tuple] = {}
    for c in cells.values():
        for d, vals in c["coords"].items():
            have = inner.setdefault(d, [])
            have += [v for v in vals if v not in have]
        for name, (vd, _) in c["vars"].items():
            if var_dims.setdefault(name, vd) != vd:
                raise StoreError(f"{st.path}: variable {name} has dims {vd} in one cell and "
                                 f"{var_dims[name]} in another")
    for d in inner:
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in inner[d]):
            inner[d] = sorted(inner[d], key=_sort_key)
    outer_shape = tuple(len(coords[d]) for d in dims)
    index = {d: {v: i for i, v in enumerate(coords[d])} for d in dims}
    inner_index = {d: {v: i for i, v in enumerate(vals)} for d, vals in inner.items()}
    data = {name: np.full(outer_shape + tuple(len(inner[d]) for d in vd), np.nan)
            for name, vd in var_dims.items()}
    done = np.zeros(outer_shape)
    secs = np.full(outer_shape, np.nan)
    for cid, c in cells.items():
        pos = tuple(index[d][cell_coords[cid][d]] for d in dims)
        done[pos] = 1.0
        secs[pos] = c["seconds"].get("total", np.nan)
        for name, (vd, arr) in c["vars"].items():
            # a variable may cover the first n labels of a dim (flatness: max_replicas)
            sel = tuple(np.array([inner_index[d][v] for v in c["coords"][d][:n]], dtype=np.intp)
                        for d, n in zip(vd, np.shape(arr)))
            tgt = data[name][pos]
            if vd:
                tgt[np.ix_(*sel)] = arr
            else:
                data[name][pos] = arr
    dvars = {name: (tuple(dims) + vd, data[name]) for name, vd in sorted(var_dims.items())}
    dvars["done"] = (tuple(dims), done)
    dvars["cell_seconds"] = (tuple(dims), secs)
    all_coords: Dict[str, Any] = {d: coords[d] for d in dims}
    all_coords.update({d: v for d, v in inner.items()})
    if "hidden" in dims:  # the first hidden width as a numeric coordinate
        all_coords["width"] = ("hidden", [int(str(h).split("x")[0]) if str(h)[0].isdigit()
                                          else 0 for h in coords["hidden"]])
    ds = xr.Dataset(dvars, coords=all_coords)
    ds.attrs = {"format": FORMAT, "config": json.dumps(st.attrs["config"], sort_keys=True),
                "config_hash": st.attrs["config_hash"],
                "versions": json.dumps(st.attrs.get("versions", {}), sort_keys=True),
                "n_cells": len(cell_coords), "n_done": len(ids),
                "failed": sorted(i for i in st.failed() if i not in cells)}
    return ds


def to_dataframe(store_or_dataset: Any, inner: Union[str, None] = "replica") -> Any:
    """A long pandas DataFrame of the finished cells: one row per swept values (and per
    ``inner`` index, default ``replica``), one column per variable whose dims are the swept
    ones (plus ``inner``); scalars per cell repeat over ``inner``. Variables over other inner
    dims (``q``, ``pair``, ``radius``...) are left out: select them from :func:`load`'s
    Dataset."""
    ds = store_or_dataset if hasattr(store_or_dataset, "data_vars") else load(store_or_dataset)
    swept = list(ds["done"].dims)
    keep = [n for n, v in ds.data_vars.items()
            if set(v.dims) <= set(swept) | ({inner} if inner else set())]
    sub = ds[keep]
    drop = [c for c in sub.coords if c not in sub.dims and c != "width"]
    df = sub.drop_vars(drop).to_dataframe().reset_index()
    df = df[df["done"] == 1.0]
    return df.reset_index(drop=True)


def export_csv(store: PathLike, path: PathLike) -> Path:
    """Write :func:`to_dataframe` of ``store`` to the CSV file ``path`` (for plotting
    elsewhere); returns the path."""
    p = Path(path)
    to_dataframe(store).to_csv(p, index=False)
    return p
