"""Thread-count policy shared by every heavy function (``n_threads`` argument)."""
from __future__ import annotations

import contextlib
import os
import warnings
from typing import Iterator, Optional

from .. import _core

_override: Optional[int] = None


def resolve_threads(n_threads: Optional[int] = None) -> int:
    """Turn a user ``n_threads`` into a positive count.

    None means the library default (``set_threads`` if active, else OpenMP's default, which
    honours ``OMP_NUM_THREADS``); negative values count back from the CPU count
    (-1 = all CPUs). A serial build always returns 1 and warns if more were requested.
    """
    if n_threads is None:
        n = _override if _override is not None else int(_core.default_threads())
    else:
        if isinstance(n_threads, bool) or not isinstance(n_threads, (int,)) and not hasattr(
            n_threads, "__index__"
        ):
            raise TypeError(f"n_threads must be an int or None, got {type(n_threads).__name__}")
        n = int(n_threads)
        if n == 0:
            raise ValueError("n_threads must be a positive int, a negative int or None, got 0")
        if n < 0:
            n = max(1, (os.cpu_count() or 1) + 1 + n)
    if not _core.has_openmp and n > 1:
        if n_threads is not None:
            warnings.warn(
                f"glasslens was built without OpenMP; n_threads={n_threads} runs serially",
                RuntimeWarning,
                stacklevel=3,
            )
        return 1
    return max(1, n)


@contextlib.contextmanager
def set_threads(n_threads: Optional[int]) -> Iterator[None]:
    """Context manager that changes the default thread count inside its block."""
    global _override
    old = _override
    _override = None if n_threads is None else resolve_threads(n_threads)
    try:
        yield
    finally:
        _override = old
