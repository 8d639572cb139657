"""One protocol for result objects: a summary dict, a table and a figure.

Every public result class of glasslens derives from :class:`Result` and offers

``to_dict(arrays=False) -> dict``
    a JSON-able summary (numbers, strings, lists, dicts; non-finite floats become None).
    Large arrays are left out unless ``arrays=True``.
``table() -> str``
    a markdown table.
``plot(ax_or_fig=None) -> matplotlib.figure.Figure``
    a figure built with the object-oriented API (no pyplot): into a given Figure or Axes, or
    a new Figure. Classes with nothing to plot raise NotImplementedError naming the class
    (:data:`Result._plot_unavailable` says why).

The defaults below work from the dataclass fields: scalars, strings and small containers go
into ``to_dict``; NumPy arrays only with ``arrays=True``; nested results recurse. Classes
override what is more telling.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ._io import to_jsonable

__all__ = ["Result", "jsonable", "markdown_table", "figure_axes"]


def jsonable(x: Any, arrays: bool = True) -> Any:
    """JSON types for ``x`` (``_lib._io.to_jsonable``; nested results via their
    ``to_dict(arrays)``; unknown objects as their ``repr``)."""
    return to_jsonable(x, arrays, strict=False)


def _is_small(x: Any) -> bool:
    """Scalars, strings and small containers of them (kept by ``to_dict(arrays=False)``)."""
    if x is None or isinstance(x, (str, bool, int, float, np.integer, np.floating, np.bool_,
                                   Path)):
        return True
    if isinstance(x, np.ndarray):
        return False
    if isinstance(x, (list, tuple)):
        return len(x) <= 64 and all(_is_small(v) for v in x)
    if isinstance(x, dict):
        return len(x) <= 64 and all(_is_small(v) for v in x.values())
    return False


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        s = ", ".join(_fmt(x) for x in v[:8])
        return f"[{s}{', ...' if len(v) > 8 else ''}]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in list(v.items())[:8]) + "}"
    return "-" if v is None else str(v)


def markdown_table(rows: Sequence[Dict[str, Any]], columns: Optional[Sequence[str]] = None) -> str:
    """A markdown table of dicts (one row each; columns: the union of keys, in order)."""
    if columns is None:
        cols: List[str] = []
        for r in rows:
            cols += [k for k in r if k not in cols]
        columns = cols
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def _flatten(d: Dict[str, Any], prefix: str = "") -> List[Tuple[str, Any]]:
    out: List[Tuple[str, Any]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v and len(v) <= 64:
            out += _flatten(v, key + ".")
        else:
            out.append((key, v))
    return out


def figure_axes(ax_or_fig: Any = None, ncols: int = 1, nrows: int = 1,
                size: Tuple[float, float] = (4.2, 3.2)) -> Tuple[Any, List[Any]]:
    """``(fig, axes)`` for a plot: a new Figure (None), the given Figure (new axes in it) or the
    given Axes (only when one panel is asked for)."""
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

    if ax_or_fig is None:
        fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
        return fig, list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    if isinstance(ax_or_fig, Axes):
        if ncols * nrows != 1:
            raise ValueError(f"this plot has {ncols * nrows} panels; pass a Figure, not an Axes")
        fig = ax_or_fig.figure
        while isinstance(fig, SubFigure):
            fig = fig.figure
        return fig, [ax_or_fig]
    if isinstance(ax_or_fig, (Figure, SubFigure)):
        return ax_or_fig, list(ax_or_fig.subplots(nrows, ncols, squeeze=False).ravel())
    raise TypeError(f"ax_or_fig must be None, a matplotlib Figure or Axes, got "
                    f"{type(ax_or_fig).__name__}")


class Result:
    """Mixin of the result protocol (see the module docstring)."""

    #: why there is no figure (classes without one set it; ``plot`` then raises)
    _plot_unavailable: Optional[str] = None

    def _fields(self) -> Dict[str, Any]:
        if dataclasses.is_dataclass(self):
            return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if hasattr(self, "_asdict"):
            return dict(self._asdict())  # type: ignore[attr-defined]
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        """JSON-able summary: scalars and small containers; arrays only with ``arrays=True``."""
        out: Dict[str, Any] = {}
        for k, v in self._fields().items():
            if isinstance(v, Result):
                out[k] = v.to_dict(arrays=arrays)
            elif arrays or _is_small(v):
                out[k] = jsonable(v, arrays)
        return out

    def table(self) -> str:
        """Markdown table of the scalar entries of ``to_dict()`` (quantity | value)."""
        rows = [{"quantity": k, "value": v} for k, v in _flatten(self.to_dict())
                if not isinstance(v, (list, dict)) or (isinstance(v, list) and len(v) <= 8)]
        if not rows:
            rows = [{"quantity": "class", "value": type(self).__name__}]
        return markdown_table(rows, ["quantity", "value"])

    def plot(self, ax_or_fig: Any = None, **kwargs: Any) -> Any:
        """A matplotlib Figure of the result (see the class); raises NotImplementedError for
        classes with nothing to plot."""
        why = self._plot_unavailable or "it defines no figure"
        raise NotImplementedError(f"{type(self).__name__} has nothing to plot: {why}")
