"""Validation helpers: every public function checks its inputs here and names the argument."""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

# the memory guard lives with the other size limits; importable from here as before
from ._limits import check_alloc, physical_memory_bytes  # noqa: F401


def as_array(
    x: Any,
    name: str,
    dtype: Any = np.float32,
    ndim: Optional[int] = None,
    shape: Optional[Sequence[Optional[int]]] = None,
    finite: bool = True,
    allow_empty: bool = False,
) -> np.ndarray:
    """Convert ``x`` to a C-contiguous array of ``dtype`` and check it.

    ``shape`` may contain None for free axes. Raises TypeError for non-numeric input and
    ValueError for wrong dimensions, empty arrays or non-finite values.
    """
    try:
        raw = np.asarray(x)
    except Exception as exc:  # pragma: no cover - numpy raises many types
        raise TypeError(f"{name} must be array-like, got {type(x).__name__}") from exc
    if raw.dtype == object or raw.dtype.kind in "USVMm":
        raise TypeError(f"{name} must be numeric, got dtype {raw.dtype}")
    if np.dtype(dtype).kind in "iu" and raw.dtype.kind == "f":
        if raw.size and not np.all(np.isfinite(raw)):
            raise ValueError(f"{name} contains NaN or inf")
        if raw.size and np.any(raw != np.round(raw)):
            raise ValueError(f"{name} must hold integers, got non-integral floats")
    if raw.dtype.kind == "c":
        raise TypeError(f"{name} must be real, got complex dtype {raw.dtype}")
    if np.dtype(dtype).kind in "iu" and raw.dtype.kind in "iuf" and raw.size:
        info = np.iinfo(dtype)
        lo, hi = raw.min(), raw.max()
        if lo < info.min or hi > info.max:  # a cast would wrap around silently
            bad = (lo if lo < info.min else hi).item()
            raise ValueError(f"{name} holds {bad!r}, outside the range of {np.dtype(dtype).name} "
                             f"[{info.min}, {info.max}]")
    arr = np.ascontiguousarray(raw, dtype=dtype)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape):
            raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
        for ax, (got, want) in enumerate(zip(arr.shape, shape)):
            if want is not None and got != want:
                raise ValueError(
                    f"{name} has size {got} along axis {ax}, expected {want} (shape {arr.shape})"
                )
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} must not be empty (shape {arr.shape})")
    if finite and arr.dtype.kind == "f" and arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr.ravel()))[0])
        raise ValueError(f"{name} contains NaN or inf (first at flat index {bad})")
    return arr


def check_labels(y: Any, name: str, n: Optional[int] = None, n_classes: Optional[int] = None) -> np.ndarray:
    """Labels as a C-contiguous int32 vector in [0, n_classes)."""
    arr = as_array(y, name, dtype=np.int64, ndim=1)
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} labels, expected {n}")
    if arr.min() < 0:
        raise ValueError(f"{name} has a negative label ({int(arr.min())})")
    if n_classes is not None and arr.max() >= n_classes:
        raise ValueError(
            f"{name} has label {int(arr.max())} out of range for {n_classes} output classes"
        )
    return np.ascontiguousarray(arr, dtype=np.int32)


def check_int(x: Any, name: str, low: Optional[int] = None, high: Optional[int] = None) -> int:
    """A Python int within [low, high]."""
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(x).__name__}")
    v = int(x)
    if low is not None and v < low:
        raise ValueError(f"{name} must be >= {low}, got {v}")
    if high is not None and v > high:
        raise ValueError(f"{name} must be <= {high}, got {v}")
    return v


def check_float(
    x: Any, name: str, low: Optional[float] = None, high: Optional[float] = None,
    low_open: bool = False,
) -> float:
    """A finite Python float within the given bounds."""
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(x).__name__}")
    v = float(x)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if low is not None and (v < low or (low_open and v <= low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {v}")
    if high is not None and v > high:
        raise ValueError(f"{name} must be <= {high}, got {v}")
    return v


def check_seed(seed: Any, name: str = "seed") -> int:
    """A non-negative int seed (fits in uint64)."""
    return check_int(seed, name, 0, 2**64 - 1)


def check_spins(samples: Any, name: str = "samples", n: Optional[int] = None) -> np.ndarray:
    """Samples as a C-contiguous int8 array (M, N) of +-1; raises ValueError/TypeError otherwise."""
    raw = np.asarray(samples)
    if raw.dtype == object or raw.dtype.kind in "USVMmc":
        raise TypeError(f"{name} must be a numeric array of +-1, got dtype {raw.dtype}")
    if raw.ndim == 1:
        raise ValueError(f"{name} must be 2-D (n_samples, n_spins), got shape {raw.shape}")
    if raw.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_spins), got shape {raw.shape}")
    if raw.size == 0:
        raise ValueError(f"{name} must not be empty (shape {raw.shape})")
    if raw.dtype.kind == "f" and not np.all(np.isfinite(raw)):
        raise ValueError(f"{name} contains NaN or inf")
    if raw.dtype.kind == "b":
        raise TypeError(f"{name} must hold +-1 values, got booleans (map them with 2*x-1)")
    if not np.all((raw == 1) | (raw == -1)):
        bad = raw[(raw != 1) & (raw != -1)].ravel()[0].item()
        raise ValueError(f"{name} must contain only +1 and -1, found {bad!r}")
    if n is not None and raw.shape[1] != n:
        raise ValueError(f"{name} has {raw.shape[1]} spins, expected {n}")
    return np.ascontiguousarray(raw, dtype=np.int8)


def require_finite_result(call: str, what: str, values: Any, cause: str) -> None:
    """The library's one policy for finite inputs whose result overflows: a FloatingPointError
    that names the call, the result and the argument that caused it (never a silent NaN).

    ``values`` may be one array or a sequence of arrays (None entries are skipped)."""
    arrs = values if isinstance(values, (list, tuple)) else [values]
    bad = total = 0
    for a in arrs:
        if a is None:
            continue
        a = np.asarray(a)
        total += a.size
        bad += int(a.size - np.count_nonzero(np.isfinite(a)))
    if bad:
        raise FloatingPointError(f"{call}: {bad} of {total} values of {what} are not finite "
                                 f"although every input was finite; {cause}")
