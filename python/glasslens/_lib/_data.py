"""The one data contract: every public function that takes a data set calls :func:`as_data`.

Accepted forms (exactly these, for every entry point):

* a :class:`glasslens.datasets.Dataset`;
* any object with attributes ``X_train``, ``y_train`` (and optionally ``X_test``, ``y_test``,
  ``n_classes``, ``name``);
* a tuple or list ``(X, y)`` or ``(X_train, y_train, X_test, y_test)``;
* a mapping with keys ``X_train``, ``y_train`` (and optionally ``X_test``, ``y_test``,
  ``n_classes``, ``name``);
* a :class:`Data` (already validated; only the checks for the caller are repeated).

The result is a frozen :class:`Data`: ``X_*`` float32 C-contiguous ``(n, d)``, ``y_*`` int32
C-contiguous ``(n,)`` (the label dtype of every C++ kernel, so no copy is made per call), and
no test split (``X_test is None``) when none was given or it has no rows. Every problem raises
one message: the part that is wrong (``data.X_train``, ``data.y_test``, ...), what is wrong
(shape, length, dtype, NaN, label range) and the accepted forms.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional, Tuple

import numpy as np

__all__ = ["Data", "as_data", "as_xy", "as_data_or_xy", "as_inputs", "is_data_form", "FORMS"]

#: the accepted forms, as quoted in every error message
FORMS = ("a glasslens.datasets.Dataset, an object with attributes X_train, y_train (optionally "
         "X_test, y_test), a tuple (X, y) or (X_train, y_train, X_test, y_test), or a mapping "
         "with those keys")


@dataclass(frozen=True, eq=False)
class Data:
    """Validated train (and optional test) arrays of one data set."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: Optional[np.ndarray] = None
    y_test: Optional[np.ndarray] = None
    n_classes: Optional[int] = None
    name: str = "data"

    @property
    def has_test(self) -> bool:
        return self.X_test is not None

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_train(self) -> int:
        return int(self.X_train.shape[0])

    @property
    def n_test(self) -> int:
        return 0 if self.X_test is None else int(self.X_test.shape[0])

    def classes(self) -> int:
        """``n_classes`` if the data set states it, else the largest label + 1."""
        if self.n_classes is not None:
            return self.n_classes
        top = int(self.y_train.max())
        if self.y_test is not None:
            top = max(top, int(self.y_test.max()))
        return top + 1


def _fail(exc: type, name: str, problem: str, forms: str = FORMS) -> Exception:
    return exc(f"{problem}; {name} must be {forms}")


def _parts(data: Any, name: str) -> Tuple[Any, Any, Any, Any, Any, Any]:
    """(X_train, y_train, X_test, y_test, n_classes, dataset name) of any accepted form."""
    if isinstance(data, Mapping):
        missing = [k for k in ("X_train", "y_train") if k not in data]
        if missing:
            raise _fail(TypeError, name, f"{name} is a mapping without key(s) "
                                         f"{', '.join(repr(k) for k in missing)}")
        g = data.get
        return (g("X_train"), g("y_train"), g("X_test"), g("y_test"), g("n_classes"),
                g("name", "data"))
    if isinstance(data, (tuple, list)):
        if len(data) not in (2, 4):
            raise _fail(ValueError, name, f"{name} is a {type(data).__name__} of length "
                                          f"{len(data)}, expected 2 or 4 arrays")
        p = list(data) + [None, None] * (len(data) == 2)
        return p[0], p[1], p[2], p[3], None, "arrays"
    if hasattr(data, "X_train") and hasattr(data, "y_train"):
        return (data.X_train, data.y_train, getattr(data, "X_test", None),
                getattr(data, "y_test", None), getattr(data, "n_classes", None),
                getattr(data, "name", type(data).__name__))
    missing = [a for a in ("X_train", "y_train") if not hasattr(data, a)]
    raise _fail(TypeError, name, f"{name} is a {type(data).__name__} without attribute(s) "
                                 f"{', '.join(repr(a) for a in missing)}")


def _features(X: Any, label: str, name: str, empty_ok: bool, forms: str = FORMS) -> np.ndarray:
    try:
        raw = np.asarray(X)
    except Exception as exc:  # pragma: no cover - numpy raises many types
        raise _fail(TypeError, name, forms=forms, problem=f"{label} is not array-like ({type(X).__name__})") from exc
    if raw.dtype == object or raw.dtype.kind in "USVMmc":
        raise _fail(TypeError, name, forms=forms, problem=f"{label} must be real numbers, got dtype {raw.dtype}")
    if empty_ok and raw.size == 0:
        return np.zeros((0, raw.shape[-1] if raw.ndim == 2 else 0), np.float32)
    if raw.ndim != 2:
        raise _fail(ValueError, name, forms=forms, problem=f"{label} must be a 2-D array (n_samples, n_features), "
                                      f"got shape {raw.shape}")
    if raw.size == 0:
        raise _fail(ValueError, name, forms=forms, problem=f"{label} must not be empty (shape {raw.shape})")
    arr = np.ascontiguousarray(raw, dtype=np.float32)
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr.ravel()))[0])
        raise _fail(ValueError, name, forms=forms, problem=f"{label} contains NaN or inf (first at row "
                                      f"{bad // arr.shape[1]}, column {bad % arr.shape[1]})")
    return arr


def _labels(y: Any, label: str, name: str, n: int, forms: str = FORMS) -> np.ndarray:
    try:
        raw = np.asarray(y)
    except Exception as exc:  # pragma: no cover
        raise _fail(TypeError, name, forms=forms, problem=f"{label} is not array-like ({type(y).__name__})") from exc
    if raw.dtype == object or raw.dtype.kind in "USVMmc":
        raise _fail(TypeError, name, forms=forms, problem=f"{label} must be integer labels, got dtype {raw.dtype}")
    if raw.ndim != 1:
        raise _fail(ValueError, name, forms=forms, problem=f"{label} must be a 1-D array of labels, got shape "
                                      f"{raw.shape}")
    if raw.shape[0] != n:
        raise _fail(ValueError, name, forms=forms, problem=f"{label} has {raw.shape[0]} labels, the features have "
                                      f"{n} rows")
    if raw.dtype.kind == "f":
        if not np.all(np.isfinite(raw)):
            raise _fail(ValueError, name, forms=forms, problem=f"{label} contains NaN or inf")
        if np.any(raw != np.round(raw)):
            raise _fail(ValueError, name, forms=forms, problem=f"{label} must hold integers, got non-integral floats")
    lo, hi = (int(raw.min()), int(raw.max())) if raw.size else (0, 0)
    if lo < 0:
        raise _fail(ValueError, name, forms=forms, problem=f"{label} has a negative label ({lo})")
    if hi > np.iinfo(np.int32).max:
        raise _fail(ValueError, name, forms=forms, problem=f"{label} has label {hi}, out of range")
    return np.ascontiguousarray(raw, dtype=np.int32)


def as_data(
    data: Any,
    *,
    need_test: bool = False,
    name: str = "data",
    n_features: Optional[int] = None,
    n_classes: Optional[int] = None,
) -> Data:
    """Validate a data set given in any accepted form (module docstring) and return a ``Data``.

    need_test : raise if there is no test split
    name : the argument's name, used in every error message
    n_features : the number of input features the caller's network expects
    n_classes : labels must lie in ``[0, n_classes)`` (the caller's output width); otherwise the
        data set's own ``n_classes`` (when it states one) bounds them
    """
    if isinstance(data, Data):
        Xtr, ytr, Xte, yte, nc, dname = (data.X_train, data.y_train, data.X_test, data.y_test,
                                         data.n_classes, data.name)
        prefix = name
    else:
        Xtr, ytr, Xte, yte, nc, dname = _parts(data, name)
        prefix = name
        if Xtr is None or ytr is None:
            raise _fail(ValueError, name, f"{name} has no training data (X_train / y_train is "
                                          f"None)")
        Xtr = _features(Xtr, f"{prefix}.X_train", name, False)
        ytr = _labels(ytr, f"{prefix}.y_train", name, Xtr.shape[0])
        if (Xte is None) != (yte is None):
            raise _fail(ValueError, name, f"{name} must give both X_test and y_test or neither")
        if Xte is not None:
            Xte = _features(Xte, f"{prefix}.X_test", name, True)
            if Xte.shape[0] == 0:
                Xte = yte = None
            else:
                if Xte.shape[1] != Xtr.shape[1]:
                    raise _fail(ValueError, name, f"{prefix}.X_test has {Xte.shape[1]} features, "
                                                  f"{prefix}.X_train has {Xtr.shape[1]}")
                yte = _labels(yte, f"{prefix}.y_test", name, Xte.shape[0])
        if nc is not None:
            if isinstance(nc, bool) or not isinstance(nc, (int, np.integer)) or int(nc) < 1:
                raise _fail(TypeError, name, f"{prefix}.n_classes must be a positive int, got "
                                             f"{nc!r}")
            nc = int(nc)
        dname = str(dname)
    if need_test and Xte is None:
        raise _fail(ValueError, name, f"{name} has no test set (X_test, y_test)")
    if n_features is not None:
        for X, part in ((Xtr, "X_train"), (Xte, "X_test")):
            if X is not None and X.shape[1] != n_features:
                raise _fail(ValueError, name, f"{prefix}.{part} has {X.shape[1]} features, the "
                                              f"network expects {n_features}")
    if n_classes is not None:
        bound, what = n_classes, f"{n_classes} output classes"
    else:
        bound, what = nc, f"n_classes={nc}"
    if bound is not None:
        for y, part in ((ytr, "y_train"), (yte, "y_test")):
            if y is not None and y.size and int(y.max()) >= bound:
                raise _fail(ValueError, name, f"{prefix}.{part} has label {int(y.max())} out of "
                                              f"range for {what}")
    if isinstance(data, Data):
        return data
    return Data(Xtr, ytr, Xte, yte, nc, dname)


def is_data_form(x: Any) -> bool:
    """True when ``x`` is one of the data-set forms rather than a plain input array."""
    if isinstance(x, (Data, Mapping)) or (hasattr(x, "X_train") and hasattr(x, "y_train")):
        return True
    if isinstance(x, tuple) and len(x) in (2, 4):
        return np.ndim(x[0]) == 2
    return False


_INPUT_FORMS = "an array (n_samples, n_features) or a data set: " + FORMS
_XY_FORMS = "an array X (n_samples, n_features) and integer labels y (n_samples,)"


def as_inputs(X: Any, *, name: str = "X", n_features: Optional[int] = None) -> np.ndarray:
    """Inputs ``(n, d)`` float32 for functions that need only inputs (activation matching,
    function overlaps): a plain array, or any data form (then its training inputs)."""
    if is_data_form(X):
        return as_data(X, name=name, n_features=n_features).X_train
    Xa = _features(X, name, name, False, _INPUT_FORMS)
    if n_features is not None and Xa.shape[1] != n_features:
        raise _fail(ValueError, name, f"{name} has {Xa.shape[1]} features, the networks expect "
                                      f"{n_features}", _INPUT_FORMS)
    return Xa


def as_xy(X: Any, y: Any, *, n_features: Optional[int] = None, n_classes: Optional[int] = None,
          x_name: str = "X", y_name: str = "y") -> Data:
    """``Data`` (training split only) from separate input and label arguments ``X, y``; the
    messages name ``X`` and ``y``."""
    names = f"{x_name}, {y_name}"
    Xa = _features(X, x_name, names, False, _XY_FORMS)
    if n_features is not None and Xa.shape[1] != n_features:
        raise _fail(ValueError, names, f"{x_name} has {Xa.shape[1]} features, the network "
                                       f"expects {n_features}", _XY_FORMS)
    ya = _labels(y, y_name, names, Xa.shape[0], _XY_FORMS)
    if n_classes is not None and ya.size and int(ya.max()) >= n_classes:
        raise _fail(ValueError, names, f"{y_name} has label {int(ya.max())} out of range for "
                                       f"{n_classes} output classes", _XY_FORMS)
    return Data(Xa, ya, name="arrays")


def as_data_or_xy(data: Any, y: Any = None, *, name: str = "data", need_test: bool = False,
                  n_features: Optional[int] = None, n_classes: Optional[int] = None) -> Data:
    """For signatures ``f(net, data, y=None)``: ``data`` in any accepted form, or inputs ``X``
    with their labels in ``y``."""
    if y is None:
        return as_data(data, name=name, need_test=need_test, n_features=n_features,
                       n_classes=n_classes)
    return as_xy(data, y, n_features=n_features, n_classes=n_classes)
