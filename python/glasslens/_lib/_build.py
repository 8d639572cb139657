"""Build information of the compiled core."""
from __future__ import annotations

from typing import Any, Dict

from .. import _core
from ._threads import resolve_threads

__version__: str = _core.__version__


def build_info() -> Dict[str, Any]:
    """Version, compiler, OpenMP on/off, SIMD path in use and default thread count.

    ``x86_simd_kernels``: whether this build contains the AVX2/FMA kernels (False on non-x86
    CPUs and in ``GLASSLENS_X86_SIMD=OFF`` builds); ``cpu_has_avx2_fma``: whether they can run.
    """
    return {
        "version": __version__,
        "compiler": _core.compiler,
        "openmp": bool(_core.has_openmp),
        "simd_path": _core.simd_path(),
        "x86_simd_kernels": bool(_core.has_x86_simd),
        "cpu_has_avx2_fma": bool(_core.cpu_has_avx2_fma()),
        "default_threads": resolve_threads(None),
    }
