"""Thread-count policy shared by every heavy function (``n_threads`` argument)."""
from __future__ import annotations

import contextlib
import contextvars
import os
import warnings
from typing import Iterator, Optional

from .. import _core

#: thread counts above this multiple of the CPU count are capped (with a RuntimeWarning):
#: OpenMP cannot create tens of thousands of threads (libgomp crashes or exits)
MAX_THREADS_PER_CPU = 4

# the default set by ``set_threads``: context-local, so blocks in different Python threads (or
# asyncio tasks) neither leak into each other nor leave the default stuck
_override: contextvars.ContextVar[Optional[int]] = contextvars.ContextVar(
    "glasslens_n_threads", default=None)


def max_threads() -> int:
    """The largest thread count glasslens uses (``MAX_THREADS_PER_CPU`` x the CPU count)."""
    return MAX_THREADS_PER_CPU * (os.cpu_count() or 1)


def resolve_threads(n_threads: Optional[int] = None) -> int:
    """Turn a user ``n_threads`` into a positive count.

    None means the library default (``set_threads`` if active, else OpenMP's default, which
    honours ``OMP_NUM_THREADS``); negative values count back from the CPU count
    (-1 = all CPUs). Counts above :func:`max_threads` are capped with a RuntimeWarning. A serial
    build always returns 1 and warns if more were requested.
    """
    if n_threads is None:
        ov = _override.get()
        n = ov if ov is not None else min(int(_core.default_threads()), max_threads())
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
        cap = max_threads()
        if n > cap:
            warnings.warn(
                f"n_threads={n_threads} exceeds {MAX_THREADS_PER_CPU} x the {os.cpu_count() or 1} "
                f"CPUs of this machine; using {cap}",
                RuntimeWarning,
                stacklevel=3,
            )
            n = cap
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
    """Context manager that changes the default thread count inside its block (for the current
    thread or asyncio task only; other threads keep their own default)."""
    token = _override.set(None if n_threads is None else resolve_threads(n_threads))
    try:
        yield
    finally:
        _override.reset(token)
