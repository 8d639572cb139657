"""
Protocol 3: bit-packed overlaps, Hamming distances, triangle statistics
"""
from __future__ import annotations
import numpy
import numpy.typing
import typing
__all__: list[str] = ['hamming_packed', 'overlap_packed', 'pack_signs', 'popcount_kernel', 'popcount_kernel_available', 'set_popcount_kernel', 'triangle_sides_all', 'triangle_sides_list', 'triangle_summary', 'unpack_signs']
def hamming_packed(A: typing.Annotated[numpy.typing.ArrayLike, numpy.uint64], n_bits: typing.SupportsInt | typing.SupportsIndex, B: typing.Annotated[numpy.typing.ArrayLike, numpy.uint64] | None = None, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.int64]:
    """
    Hamming distances popcount(a XOR b) between packed rows, int64 (Ma, Mb).
    """
def overlap_packed(A: typing.Annotated[numpy.typing.ArrayLike, numpy.uint64], n_bits: typing.SupportsInt | typing.SupportsIndex, B: typing.Annotated[numpy.typing.ArrayLike, numpy.uint64] | None = None, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float64]:
    """
    Overlaps q_ab = (N - 2 popcount(a XOR b)) / N between packed rows of A and B (or A with itself), float64 (Ma, Mb).
    """
def pack_signs(configs: numpy.ndarray, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.uint64]:
    """
    Pack an (M, N) array of +-1 (int8/float32/float64) into (M, stride) uint64 words (bit set for -1, rows zero-padded to a multiple of 512 bits).
    """
def popcount_kernel() -> str:
    """
    The popcount kernel in use now.
    """
def popcount_kernel_available(name: str) -> bool:
    """
    Whether this CPU can run the named popcount kernel.
    """
def set_popcount_kernel(name: str) -> None:
    """
    Force the popcount kernel: 'auto', 'scalar', 'avx2' or 'avx512'.
    """
def triangle_sides_all(distances: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float64]:
    """
    Sorted sides (d1 <= d2 <= d3) of all triangles a < b < c, lexicographic order, (T, 3).
    """
def triangle_sides_list(distances: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], triples: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float64]:
    """
    Sorted sides of the given triangles (T, 3) of point indices, (T, 3).
    """
def triangle_summary(distances: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], triples: typing.Annotated[numpy.typing.ArrayLike, numpy.int64] | None = None, tol: typing.SupportsFloat | typing.SupportsIndex = 0.05, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[float, float, int, int]:
    """
    (sum of d3 - d2, sum of (d3 - d2)^2, #near-isosceles ((d3 - d2) < tol d3), #triangles) over all triangles or the given triples, without storing them.
    """
def unpack_signs(words: typing.Annotated[numpy.typing.ArrayLike, numpy.uint64], n_bits: typing.SupportsInt | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.int8]:
    """
    Inverse of pack_signs: (M, N) int8 array of +-1.
    """
