"""
Protocol 4: Hessian-vector products and batched loss evaluation
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['HessianOperator', 'loss_many', 'serial_work']
class HessianOperator:
    """
    Hessian of the mean cross-entropy loss of one MLP on (X, y) at theta (cached forward pass).
    """
    def __init__(self, widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], n_threads: typing.SupportsInt | typing.SupportsIndex = 0, sparse_input: typing.SupportsInt | typing.SupportsIndex = -1, borrow: bool = False) -> None:
        """
        borrow=True reads X in place (no copy): X must not change while the operator lives
        """
    def apply(self, v: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float32]:
        """
        Hessian-vector products: v (P,) or (k, P) float32 -> H v with the same shape
        """
    def grad(self, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float32]:
        """
        gradient of the mean loss at theta, float32 (P,)
        """
    @property
    def accuracy(self) -> float:
        """
        training accuracy at theta
        """
    @property
    def loss(self) -> float:
        """
        mean cross-entropy at theta
        """
    @property
    def n_params(self) -> int:
        ...
    @property
    def n_samples(self) -> int:
        ...
    @property
    def sparse_input(self) -> bool:
        """
        whether the input layer uses the zero-skipping sparse path
        """
def loss_many(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, thetas: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64]]:
    """
    Mean loss and accuracy (float64 (K,), (K,)) of K parameter vectors (K, P) on (X, y).
    """
serial_work: int = 200000
