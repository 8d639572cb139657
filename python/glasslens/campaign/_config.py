"""The campaign description: :class:`Campaign` (from a TOML file, a dict or keywords), validated
up front with errors naming the key, and its expansion into cells with stable ids.

A campaign is the cartesian product of ``grid`` (key -> list of values), plus the explicit
``points`` (each a dict of settings), over the data options (``[data]``, those of
:func:`glasslens.datasets.load`), the training options (``[train]``, the fields of
:class:`glasslens.nn.TrainConfig`) and the protocols run in every cell (``[protocols.<name>]``
with the options of that protocol's public function, see ``_cell.PROTOCOLS``). A grid or point
key names a training option (``hidden``, ``seed``, ``lr``...) or a data option (``n_train``,
``dataset``...); ``data.seed`` / ``train.seed`` say which one when both have it (a bare ``seed``
is the training seed, which derives the replica seeds). ``[run]`` holds execution defaults
(``workers``, ``threads``, ``save_ensembles``) that do not change the results and are not part of
the config hash.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence, Tuple, Union

__all__ = ["Campaign", "Cell", "SECTIONS", "DATA_KEYS", "RUN_KEYS"]

#: the top-level keys of a config
SECTIONS = ("data", "train", "grid", "points", "protocols", "run")
#: options of glasslens.datasets.load that a config may set (plus dataset-specific keywords,
#: e.g. the teacher's n_features: those are passed through and checked by load itself)
DATA_KEYS = ("dataset", "n_train", "n_test", "standardize", "pca", "classes", "seed", "path")
#: execution options of ``[run]`` (not part of the results, not hashed)
RUN_KEYS = ("workers", "threads", "save_ensembles")
_DATA_DEFAULTS = {"dataset": "digits", "seed": 0}


def _fail(key: str, problem: str) -> ValueError:
    return ValueError(f"campaign config: {key}: {problem}")


def _canonical(x: Any) -> Any:
    """JSON-able canonical form (tuples -> lists, numpy scalars -> Python)."""
    if isinstance(x, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(x.items(), key=lambda kv: str(kv[0]))}
    if isinstance(x, (list, tuple)):
        return [_canonical(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        return x.item()
    if isinstance(x, float) and not math.isfinite(x):
        raise ValueError(f"non-finite value {x!r}")
    return x


def _hash(obj: Any) -> str:
    text = json.dumps(_canonical(obj), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _train_fields() -> Tuple[str, ...]:
    from ..nn import TrainConfig

    return TrainConfig.field_names()


def _where(key: str) -> Tuple[str, str]:
    """``(section, option)`` of a grid/point key: 'train.x', 'data.x', or a bare name (training
    option first)."""
    if "." in key:
        sec, opt = key.split(".", 1)
        if sec not in ("train", "data"):
            raise ValueError(f"{key!r}: a qualified key starts with train. or data.")
        return sec, opt
    return ("train", key) if key in _train_fields() else ("data", key)


def _check_option(section: str, opt: str, key: str) -> None:
    if section == "train" and opt not in _train_fields():
        raise _fail(key, f"unknown training option {opt!r}; TrainConfig has "
                         f"{', '.join(_train_fields())}")
    if section == "data" and opt not in DATA_KEYS:
        # dataset-specific keywords of glasslens.datasets.load (checked there) are allowed in
        # [data] but not swept under a bare name that could be a typo of a training option
        raise _fail(key, f"unknown option {opt!r}: not a training option "
                         f"({', '.join(_train_fields())}) nor a data option "
                         f"({', '.join(DATA_KEYS)}); write data.{opt} for a dataset keyword")


def _label(opt: str, value: Any) -> Any:
    """The coordinate label of a swept value: hidden widths as '16' / '64x32' ('linear' for
    none), sequences joined by ',', scalars as they are."""
    if opt == "hidden":
        h = (value,) if isinstance(value, int) else tuple(value)
        return "x".join(str(int(v)) for v in h) or "linear"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return value


@dataclasses.dataclass(frozen=True)
class Cell:
    """One cell: ``id`` (hash of its canonical settings), ``coords`` (swept dim -> label),
    ``data`` (options of ``datasets.load``), ``train`` (``TrainConfig.to_dict()``) and
    ``protocols`` (name -> options)."""

    id: str
    coords: Dict[str, Any]
    data: Dict[str, Any]
    train: Dict[str, Any]
    protocols: Dict[str, Dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class Campaign:
    """A sweep: the grid (and explicit points) over data, architecture, training options and
    seeds, and the protocols to run in each cell.

    data : options of :func:`glasslens.datasets.load` (``dataset`` = its name, default digits)
    train : fields of :class:`glasslens.nn.TrainConfig` shared by all cells
    grid : key -> list of values; the cells are the cartesian product (a key names a training
        or a data option, see the module docstring)
    points : explicit extra cells, each a dict of settings (keys as in ``grid``)
    protocols : protocol name (probes, symmetry, replicas, flatness, effective_model) ->
        options of its public function (``{}``: its defaults)
    run : execution defaults: ``workers``, ``threads``, ``save_ensembles`` (not hashed)

    ``Campaign.from_toml(path)`` / ``from_dict(d)`` read the same description; invalid keys or
    values raise ``ValueError`` naming the key (``train.lr``, ``grid.hidden[1]``, ...).
    """

    data: Dict[str, Any] = dataclasses.field(default_factory=dict)
    train: Dict[str, Any] = dataclasses.field(default_factory=dict)
    grid: Dict[str, List[Any]] = dataclasses.field(default_factory=dict)
    points: List[Dict[str, Any]] = dataclasses.field(default_factory=list)
    protocols: Dict[str, Dict[str, Any]] = dataclasses.field(default_factory=dict)
    run: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("data", "train", "grid", "protocols", "run"):
            if not isinstance(getattr(self, name), Mapping):
                raise _fail(name, f"must be a table (dict), got {type(getattr(self, name)).__name__}")
        if not isinstance(self.points, (list, tuple)):
            raise _fail("points", f"must be a list of tables, got {type(self.points).__name__}")
        set_ = lambda n, v: object.__setattr__(self, n, v)  # noqa: E731
        set_("data", {**_DATA_DEFAULTS, **dict(self.data)})
        set_("train", dict(self.train))
        set_("grid", {str(k): list(v) if isinstance(v, (list, tuple)) else v
                      for k, v in self.grid.items()})
        set_("points", [dict(p) if isinstance(p, Mapping) else p for p in self.points])
        set_("protocols", {str(k): dict(v) if isinstance(v, Mapping) else v
                           for k, v in self.protocols.items()})
        set_("run", dict(self.run))
        self._validate()

    # ---- construction --------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Campaign":
        """From a dict with the sections of a config file (unknown sections are errors)."""
        if isinstance(d, Campaign):
            return d
        if not isinstance(d, Mapping):
            raise TypeError(f"campaign config must be a dict or a Campaign, got "
                            f"{type(d).__name__}")
        unknown = sorted(set(d) - set(SECTIONS))
        if unknown:
            raise _fail(unknown[0], f"unknown section; a config has {', '.join(SECTIONS)}")
        return cls(**{k: d[k] for k in SECTIONS if k in d})

    @classmethod
    def from_toml(cls, path: Union[str, Path]) -> "Campaign":
        """Read a TOML config file (see the module docstring for its sections)."""
        try:
            import tomllib
        except ImportError:  # Python < 3.11
            try:
                import tomli as tomllib  # type: ignore[no-redef]
            except ImportError:
                raise ImportError("reading TOML configs on Python < 3.11 needs tomli: "
                                  "pip install tomli") from None
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"campaign config {p} does not exist")
        try:
            with open(p, "rb") as fh:
                d = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"campaign config {p}: not valid TOML: {exc}") from None
        return cls.from_dict(d)

    @classmethod
    def coerce(cls, config: Any) -> "Campaign":
        """A Campaign from a Campaign, a dict or the path of a TOML file."""
        if isinstance(config, Campaign):
            return config
        if isinstance(config, (str, Path)):
            return cls.from_toml(config)
        return cls.from_dict(config)

    def to_dict(self) -> Dict[str, Any]:
        """The canonical JSON-able description (what is hashed: everything but ``run``)."""
        return _canonical({"data": self.data, "train": self.train, "grid": self.grid,
                           "points": self.points, "protocols": self.protocols})

    @property
    def hash(self) -> str:
        """sha256 of the canonical description (without ``run``)."""
        return _hash(self.to_dict())

    # ---- validation ----------------------------------------------------------------------
    def _validate(self) -> None:
        from ..datasets import DATASETS
        from ..nn import TrainConfig
        from ._cell import MIN_REPLICAS, check_protocol_options

        ds = self.data.get("dataset")
        if ds not in DATASETS:
            raise _fail("data.dataset", f"unknown dataset {ds!r}; one of {', '.join(DATASETS)}")
        try:
            _canonical(self.to_dict())
        except ValueError as exc:
            raise _fail("config", str(exc)) from None
        for k in self.train:
            _check_option("train", k, f"train.{k}")
        for k, v in self.run.items():
            if k not in RUN_KEYS:
                raise _fail(f"run.{k}", f"unknown option; [run] has {', '.join(RUN_KEYS)}")
        for k in ("workers", "threads"):
            v = self.run.get(k)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0
                                  or (k == "threads" and v == 0)):
                raise _fail(f"run.{k}", f"must be a {'positive' if k == 'threads' else 'non-negative'} "
                                        f"integer, got {v!r}")
        if not isinstance(self.run.get("save_ensembles", False), bool):
            raise _fail("run.save_ensembles", "must be true or false")
        for k, values in self.grid.items():
            try:
                sec, opt = _where(k)
            except ValueError as exc:
                raise _fail(f"grid.{k}", str(exc)) from None
            _check_option(sec, opt, f"grid.{k}")
            if not isinstance(values, list) or not values:
                raise _fail(f"grid.{k}", f"must be a non-empty list of values, got {values!r}")
            labels = [_label(opt, v) for v in values]
            if len(set(map(repr, labels))) != len(labels):
                raise _fail(f"grid.{k}", f"repeats a value: {values!r}")
            kinds = {type(x).__name__ for x in labels} - {"int", "float"} | (
                {"number"} if any(isinstance(x, (int, float)) and not isinstance(x, bool)
                                  for x in labels) else set())
            if len(kinds) > 1:
                raise _fail(f"grid.{k}", f"mixes value types ({sorted(kinds)})")
        if self.grid and len({_where(k) for k in self.grid}) != len(self.grid):
            raise _fail("grid", "a key is given twice (a bare and a qualified name)")
        for i, p in enumerate(self.points):
            if not isinstance(p, dict) or not p:
                raise _fail(f"points[{i}]", "must be a non-empty table of settings")
            for k in p:
                try:
                    sec, opt = _where(k)
                except ValueError as exc:
                    raise _fail(f"points[{i}].{k}", str(exc)) from None
                _check_option(sec, opt, f"points[{i}].{k}")
        for name, opts in self.protocols.items():
            if not isinstance(opts, dict):
                raise _fail(f"protocols.{name}", "must be a table of options ({} for defaults)")
            check_protocol_options(name, opts)
        # every cell's training options and data options are valid
        for where, settings in self._raw_cells():
            train = {**self.train, **settings["train"]}
            try:
                tc = TrainConfig.from_dict(train)
            except (TypeError, ValueError) as exc:
                raise _fail(where, f"invalid training options: {exc}") from None
            for name in self.protocols:
                need = MIN_REPLICAS.get(name, 1)
                if tc.replicas < need:
                    raise _fail(f"{where} replicas", f"protocols.{name} needs at least {need} "
                                                     f"replicas, the cell has {tc.replicas}")
            data = {**self.data, **settings["data"]}
            if data.get("dataset") not in DATASETS:
                raise _fail(where, f"unknown dataset {data.get('dataset')!r}; one of "
                                   f"{', '.join(DATASETS)}")
            for key in ("n_train", "n_test", "pca"):
                v = data.get(key)
                if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                    raise _fail(f"{where} data.{key}", f"must be a positive integer, got {v!r}")

    # ---- cells ---------------------------------------------------------------------------
    @property
    def dims(self) -> List[str]:
        """The swept dimensions, in config order: grid keys, then new keys of the points (a
        qualified ``train.x`` / ``data.x`` key is named ``x`` unless both exist)."""
        keys: List[str] = list(self.grid)
        for p in self.points:
            keys += [k for k in p if k not in keys and _where(k) not in map(_where, keys)]
        return [self._dim_name(k, keys) for k in keys]

    @staticmethod
    def _dim_name(key: str, keys: Sequence[str]) -> str:
        sec, opt = _where(key)
        clash = [k for k in keys if _where(k)[1] == opt]
        return opt if len(clash) == 1 else f"{sec}_{opt}"

    def _raw_cells(self) -> List[Tuple[str, Dict[str, Dict[str, Any]]]]:
        """(where, {"train": {...}, "data": {...}, "keys": {key: value}}) for every cell."""
        out = []
        keys = list(self.grid)
        for combo in itertools.product(*(self.grid[k] for k in keys)):
            s: Dict[str, Dict[str, Any]] = {"train": {}, "data": {}, "keys": {}}
            for k, v in zip(keys, combo):
                sec, opt = _where(k)
                s[sec][opt] = v
                s["keys"][k] = v
            out.append(("grid " + ", ".join(f"{k}={v!r}" for k, v in zip(keys, combo)), s))
        if not self.grid and not self.points:
            out.append(("the single cell", {"train": {}, "data": {}, "keys": {}}))
        for i, p in enumerate(self.points):
            s = {"train": {}, "data": {}, "keys": {}}
            for k, v in p.items():
                sec, opt = _where(k)
                s[sec][opt] = v
                s["keys"][k] = v
            out.append((f"points[{i}]", s))
        return out

    def cells(self) -> List[Cell]:
        """The cells in config order (grid product, then points; a point equal to an earlier
        cell is dropped). ``Cell.id`` is the first 16 hex digits of the sha256 of the cell's
        canonical settings (data, training options, protocols): stable across runs and
        machines."""
        from ..nn import TrainConfig

        all_keys: List[str] = list(self.grid)
        for p in self.points:
            all_keys += [k for k in p if k not in all_keys and _where(k) not in
                         map(_where, all_keys)]
        base_train = TrainConfig.from_dict(self.train).to_dict()
        out: List[Cell] = []
        seen = set()
        for _, s in self._raw_cells():
            train = TrainConfig.from_dict({**self.train, **s["train"]}).to_dict()
            data = {**self.data, **s["data"]}
            coords = {}
            for k in all_keys:
                sec, opt = _where(k)
                v = (train if sec == "train" else data).get(opt)
                if sec == "train" and opt not in s["train"]:
                    v = base_train[opt]
                coords[self._dim_name(k, all_keys)] = _label(opt, v)
            protocols = _canonical(self.protocols)
            cid = _hash({"data": data, "train": train, "protocols": protocols})[:16]
            if cid in seen:
                continue
            seen.add(cid)
            out.append(Cell(cid, coords, _canonical(data), train, protocols))
        return out

    def coords(self) -> Dict[str, List[Any]]:
        """dim -> its labels in config order (grid values first, then those of the points)."""
        out: Dict[str, List[Any]] = {d: [] for d in self.dims}
        for c in self.cells():
            for d, v in c.coords.items():
                if v not in out[d]:
                    out[d].append(v)
        return out
