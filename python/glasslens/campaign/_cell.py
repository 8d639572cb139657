"""One cell of a campaign: load the data (cached per process), train the ensemble, run the
requested protocols through their public functions, and reduce the results to fixed-shape
float64 arrays with named dimensions.

Each protocol's options are the keyword options of its public function (validated against its
signature up front), plus a few campaign options (``max_replicas``, ``radii``). The random
stream of every protocol is keyed by the cell's training seed (``seed`` option to override), so a
cell's numbers depend only on its settings, never on the worker or the thread count that ran it.

Variables (dims after the swept ones):

=================  ======================================================================
protocol           variables
=================  ======================================================================
(always)           train_loss, train_acc, test_loss, test_acc, epochs_run (replica)
probes             basin_radius (replica); profile_train_loss, profile_test_loss (replica,
                   radius): :func:`glasslens.probes.profile` of each replica
symmetry           barrier_raw, barrier_aligned, cosine_raw, cosine_aligned, pair_a, pair_b
                   (pair): :func:`glasslens.symmetry.replica_barriers`
replicas           pq_mean, pq_var, pq_q2, pq_q4, pq_binder, pq_q_ea, pq_q_min, pq_q_max,
                   pq_skewness, pq_kurtosis, um_mean_K, um_frac_isosceles, um_p_<null>,
                   um_effect_<null> (scalars); pq_density (q) on fixed bins over [-1, 1]:
                   :func:`glasslens.replicas.replica_structure`
flatness           flat_<measure> (replica): :func:`glasslens.flatness.measures`
effective_model    em_<indicator> (em_variant, em_block):
                   :func:`glasslens.effective_model.run_effective_model` summaries
=================  ======================================================================
"""
from __future__ import annotations

import inspect
import time
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

__all__ = ["PROTOCOLS", "check_protocol_options", "run_cell", "load_cell_data"]

#: default P(q) bin edges: fixed over [-1, 1] so that every cell's histogram shares the bins
PQ_EDGES = tuple(np.round(np.linspace(-1.0, 1.0, 41), 10).tolist())
#: default radii of the probes protocol (relative, filter-normalised)
RADII = tuple(np.round(np.linspace(0.0, 1.0, 11), 10).tolist())


def _fn(name: str) -> Callable[..., Any]:
    from .. import effective_model, flatness, probes, replicas, symmetry

    return {"probes": probes.profile, "symmetry": symmetry.replica_barriers,
            "replicas": replicas.replica_structure, "flatness": flatness.measures,
            "effective_model": effective_model.run_effective_model}[name]


#: protocol -> (defaults passed to its function, campaign-only options with defaults,
#: options of the function a campaign may not set)
PROTOCOLS: Dict[str, Tuple[Dict[str, Any], Dict[str, Any], Tuple[str, ...]]] = {
    "probes": ({"n_directions": 16, "normalization": "filter"},
               {"radii": RADII, "max_replicas": None}, ("net", "data")),
    "symmetry": ({"n_points": 21}, {}, ("ensemble", "data", "pairs", "aligns")),
    "replicas": ({"bins": PQ_EDGES}, {}, ("data", "X", "aligned")),
    "flatness": ({"balance": True}, {"max_replicas": 8}, ("net", "data", "y")),
    "effective_model": ({"n_replicas": 6, "epochs": 5, "n_per_network": 20,
                         "blocks": ["ITER"], "fit": "pseudolikelihood", "n_references": 1,
                         "landscape": False, "n_tap_starts": 20},
                        {}, ("dataset", "xs", "align_method", "progress")),
}
_RUNTIME = ("n_threads", "progress")
#: the fewest replicas a protocol can analyse (pairs; triangles and the network null)
MIN_REPLICAS = {"symmetry": 2, "replicas": 3}


def _allowed(name: str) -> List[str]:
    defaults, extra, forbidden = PROTOCOLS[name]
    params = inspect.signature(_fn(name)).parameters
    opts = [p for p in params if p not in forbidden and p not in _RUNTIME
            and params[p].kind not in (inspect.Parameter.VAR_KEYWORD,
                                       inspect.Parameter.VAR_POSITIONAL)]
    return opts + list(extra)


def check_protocol_options(name: str, opts: Dict[str, Any]) -> None:
    """Refuse an unknown protocol or an option its function does not take (naming the key)."""
    if name not in PROTOCOLS:
        raise ValueError(f"campaign config: protocols.{name}: unknown protocol; one of "
                         f"{', '.join(PROTOCOLS)}")
    allowed = _allowed(name)
    for k in opts:
        if k not in allowed:
            raise ValueError(f"campaign config: protocols.{name}.{k}: unknown option; "
                             f"{name} takes {', '.join(allowed)}")
    for k in ("max_replicas",):
        v = opts.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ValueError(f"campaign config: protocols.{name}.{k}: must be a positive "
                             f"integer, got {v!r}")


# ---- data, cached per process ----------------------------------------------------------------
_DATA: Dict[str, Any] = {}
_DATA_MAX = 4


def load_cell_data(options: Dict[str, Any]) -> Any:
    """``glasslens.datasets.load(**options)`` (``dataset`` = the name), loaded once per process
    for each distinct options (a few kept)."""
    import json

    from ..datasets import load

    key = json.dumps(options, sort_keys=True)
    if key not in _DATA:
        if len(_DATA) >= _DATA_MAX:
            _DATA.pop(next(iter(_DATA)))
        kw = dict(options)
        _DATA[key] = load(kw.pop("dataset"), **kw)
    return _DATA[key]


# ---- the protocols -----------------------------------------------------------------------------
Var = Tuple[Tuple[str, ...], np.ndarray]


def _f(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _opts(name: str, given: Dict[str, Any], seed: int) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    defaults, extra, _ = PROTOCOLS[name]
    kw = {**defaults, **{k: v for k, v in given.items() if k not in extra}}
    kw.setdefault("seed", seed)
    ex = {**extra, **{k: v for k, v in given.items() if k in extra}}
    return kw, ex


def _training(ens: Any) -> Dict[str, Var]:
    m = ens.metrics
    return {k: (("replica",), _f(m[k])) for k in
            ("train_loss", "train_acc", "test_loss", "test_acc", "epochs_run") if k in m}


def _probes(ens: Any, ds: Any, opts: Dict[str, Any], seed: int, nt: int,
            coords: Dict[str, Any]) -> Dict[str, Var]:
    from ..probes import profile

    kw, ex = _opts("probes", opts, seed)
    radii = _f(ex["radii"])
    R = ens.n_replicas if ex["max_replicas"] is None else min(ens.n_replicas, ex["max_replicas"])
    rb, trl, tel = [], [], []
    for r in range(R):
        pr = profile(ens[r], ds, radii, n_threads=nt, **kw)
        rb.append(pr.basin_radius)
        trl.append(np.mean(pr.train_loss, axis=0))  # (directions, radii) -> (radii,)
        tel.append(np.mean(pr.test_loss, axis=0) if pr.test_loss is not None
                   else np.full(len(radii), np.nan))
    coords["radius"] = radii.tolist()
    return {"basin_radius": (("replica",), _f(rb)),
            "profile_train_loss": (("replica", "radius"), _f(trl)),
            "profile_test_loss": (("replica", "radius"), _f(tel))}


def _symmetry(ens: Any, ds: Any, opts: Dict[str, Any], seed: int, nt: int,
              coords: Dict[str, Any]) -> Dict[str, Var]:
    from ..symmetry import replica_barriers

    kw, _ = _opts("symmetry", opts, seed)
    rb = replica_barriers(ens, ds, n_threads=nt, **kw)
    out: Dict[str, Var] = {}
    aligned = [i for i, a in enumerate(rb.aligns) if a is not None]
    for i, a in enumerate(rb.aligns):
        tag = "raw" if a is None else ("aligned" if len(aligned) == 1 else
                                       f"aligned_{aligned.index(i)}")
        out[f"barrier_{tag}"] = (("pair",), _f(rb.barrier[:, i]))
        out[f"cosine_{tag}"] = (("pair",), _f(rb.cosine[:, i]))
    pairs = np.asarray(rb.pairs)
    out["pair_a"] = (("pair",), _f(pairs[:, 0]))
    out["pair_b"] = (("pair",), _f(pairs[:, 1]))
    return out


def _replicas(ens: Any, ds: Any, opts: Dict[str, Any], seed: int, nt: int,
              coords: Dict[str, Any]) -> Dict[str, Var]:
    from ..replicas import replica_structure

    kw, _ = _opts("replicas", opts, seed)
    rs = replica_structure(ens, n_threads=nt, **kw)
    d = rs.distribution
    out: Dict[str, Var] = {f"pq_{k}": ((), _f(getattr(d, k))) for k in
                           ("mean", "var", "q2", "q4", "binder", "q_ea", "q_min", "q_max",
                            "skewness", "kurtosis")}
    edges = _f(d.edges)
    coords["q"] = np.round(0.5 * (edges[1:] + edges[:-1]), 12).tolist()
    out["pq_density"] = (("q",), _f(d.density))
    u = rs.ultrametricity
    out["um_mean_K"] = ((), _f(u.mean_K))
    out["um_frac_isosceles"] = ((), _f(u.frac_isosceles))
    for name, nc in sorted(u.nulls.items()):
        out[f"um_p_{name}"] = ((), _f(nc.p_value))
        out[f"um_effect_{name}"] = ((), _f(nc.effect_size))
    return out


def _flatness(ens: Any, ds: Any, opts: Dict[str, Any], seed: int, nt: int,
              coords: Dict[str, Any]) -> Dict[str, Var]:
    from ..flatness import measures

    kw, ex = _opts("flatness", opts, seed)
    R = min(ens.n_replicas, ex["max_replicas"])
    rows = [measures(ens[r], ds, n_threads=nt, **kw).values for r in range(R)]
    names = sorted(rows[0]) if rows else []
    return {f"flat_{m}": (("replica",), _f([row[m] for row in rows])) for m in names}


def _effective_model(ens: Any, ds: Any, opts: Dict[str, Any], seed: int, nt: int,
                     coords: Dict[str, Any]) -> Dict[str, Var]:
    import warnings

    from ..effective_model import run_effective_model
    from ..effective_model._section import _small_data

    kw, _ = _opts("effective_model", opts, seed)
    small, _ = _small_data(ds, 3000, 1000, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes of tiny fits: the numbers are kept
        r = run_effective_model(small, n_threads=nt, **kw)
    variants = r.variants()
    vnames = sorted(variants)
    blocks = sorted({b for an in variants.values() for b in an.summaries})
    stats = sorted({k for an in variants.values() for s in an.summaries.values() for k in s})
    coords["em_variant"] = vnames
    coords["em_block"] = blocks
    out: Dict[str, Var] = {}
    for k in stats:
        a = np.full((len(vnames), len(blocks)), np.nan)
        for i, v in enumerate(vnames):
            for j, b in enumerate(blocks):
                s = variants[v].summaries.get(b, {})
                if k in s and np.ndim(s[k]) == 0:
                    a[i, j] = float(s[k])
        out[f"em_{k}"] = (("em_variant", "em_block"), a)
    out["em_test_acc"] = ((), _f(np.nanmean(r.samples.accuracy)))
    return out


_RUNNERS = {"probes": _probes, "symmetry": _symmetry, "replicas": _replicas,
            "flatness": _flatness, "effective_model": _effective_model}


def run_cell(cell: Any, n_threads: int, keep_ensemble: bool = False) -> Dict[str, Any]:
    """Run one cell with ``n_threads`` threads. Returns ``{"id", "vars": {name: (dims,
    float64 array)}, "coords": {inner dim: labels}, "seconds": {step: s}, "ensemble":
    Ensemble or None}``."""
    from .._lib._threads import resolve_threads, set_threads
    from ..nn import TrainConfig, train_ensemble

    nt = resolve_threads(n_threads)
    seconds: Dict[str, float] = {}
    t_all = time.perf_counter()
    with set_threads(nt):
        t0 = time.perf_counter()
        ds = load_cell_data(cell.data)
        seconds["data"] = time.perf_counter() - t0
        cfg = TrainConfig.from_dict(cell.train)
        t0 = time.perf_counter()
        ens = train_ensemble(ds, cfg, n_threads=nt)
        seconds["train"] = time.perf_counter() - t0
        variables = _training(ens)
        coords: Dict[str, Any] = {"replica": list(range(ens.n_replicas))}
        for name in sorted(cell.protocols):
            t0 = time.perf_counter()
            got = _RUNNERS[name](ens, ds, cell.protocols[name], cfg.seed, nt, coords)
            clash = set(got) & set(variables)
            if clash:
                raise RuntimeError(f"protocol {name} returned {sorted(clash)} twice")
            variables.update(got)
            seconds[name] = time.perf_counter() - t0
    for name, (dims, arr) in variables.items():  # an inner dim without labels: 0..n-1
        if np.ndim(arr) != len(dims):
            raise RuntimeError(f"variable {name} has {np.ndim(arr)} dims, named {dims}")
        for d, n in zip(dims, np.shape(arr)):
            coords.setdefault(d, list(range(n)))
    seconds["total"] = time.perf_counter() - t_all
    return {"id": cell.id, "vars": variables, "coords": coords, "seconds": seconds,
            "ensemble": ens if keep_ensemble else None, "n_threads": nt}
