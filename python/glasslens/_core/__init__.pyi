"""
glasslens C++ core (private; use the glasslens package)
"""
from __future__ import annotations
from . import nn
from . import probes
from . import symmetry
from . import replicas
from . import flatness
from . import spinmodels
from . import maxent
from . import effective_model
__all__: list[str] = ['compiler', 'cpu_has_avx2_fma', 'default_threads', 'effective_model', 'flatness', 'has_openmp', 'has_x86_simd', 'maxent', 'nn', 'probes', 'replicas', 'set_simd_path', 'simd_path', 'spinmodels', 'symmetry']
def cpu_has_avx2_fma() -> bool:
    """
    Whether the AVX2+FMA kernels can run: this build has them and this CPU supports them.
    """
def default_threads() -> int:
    """
    Default thread count (honours OMP_NUM_THREADS).
    """
def set_simd_path(name: str) -> None:
    """
    Force the SIMD kernel path ('avx2' or 'scalar').
    """
def simd_path() -> str:
    """
    The SIMD kernel path in use: 'avx2' or 'scalar'.
    """
__version__: str = '0.1.0'
compiler: str = 'GNU 12.2.0'
has_openmp: bool = True
has_x86_simd: bool = True
