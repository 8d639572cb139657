"""
Protocol 1: perturbation probes, affine slices and random walks of the loss
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['WalkParams', 'affine_eval', 'direction', 'full_loss', 'perturbed_eval', 'random_walk']
class WalkParams:
    """
    Settings of random_walk (glasslens::landscape::WalkParams).
    """
    def __init__(self, *, steps: typing.SupportsInt | typing.SupportsIndex = 1000, sigma: typing.SupportsFloat | typing.SupportsIndex = 0.001, mode: str = 'free', threshold: typing.SupportsFloat | typing.SupportsIndex = 0.0, threshold_on_error: bool = False, temperature: typing.SupportsFloat | typing.SupportsIndex = 1.0, move: str = 'dense', walkers: typing.SupportsInt | typing.SupportsIndex = 1, record_every: typing.SupportsInt | typing.SupportsIndex = 10, seed: typing.SupportsInt | typing.SupportsIndex = 0, refresh_every: typing.SupportsInt | typing.SupportsIndex = 1000, store_theta: bool = False, layer_sigma: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex] | None = None) -> None:
        ...
    @property
    def layer_sigma(self) -> list[float]:
        """
        if not empty: the sigma of each layer's block [W_l, b_l] (overrides sigma)
        """
    @layer_sigma.setter
    def layer_sigma(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    @property
    def mode(self) -> str:
        """
        'free', 'threshold' or 'metropolis'
        """
    @mode.setter
    def mode(self, arg1: str) -> None:
        ...
    @property
    def move(self) -> str:
        """
        'dense' (all parameters), 'weight' (one parameter) or 'unit' (one hidden unit)
        """
    @move.setter
    def move(self, arg1: str) -> None:
        ...
    @property
    def record_every(self) -> int:
        """
        record every this many steps (>= 1)
        """
    @record_every.setter
    def record_every(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def refresh_every(self) -> int:
        """
        sparse moves: full recomputation every this many steps (0: never)
        """
    @refresh_every.setter
    def refresh_every(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def seed(self) -> int:
        """
        walker w draws from Philox(seed, w)
        """
    @seed.setter
    def seed(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def sigma(self) -> float:
        """
        per-coordinate standard deviation of a move (finite, >= 0)
        """
    @sigma.setter
    def sigma(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def steps(self) -> int:
        """
        proposed moves per walker (>= 0)
        """
    @steps.setter
    def steps(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def store_theta(self) -> bool:
        """
        keep theta at every record (walkers x records x P)
        """
    @store_theta.setter
    def store_theta(self, arg0: bool) -> None:
        ...
    @property
    def temperature(self) -> float:
        """
        metropolis mode (> 0)
        """
    @temperature.setter
    def temperature(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def threshold(self) -> float:
        """
        threshold mode: level on the train loss (or error)
        """
    @threshold.setter
    def threshold(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def threshold_on_error(self) -> bool:
        """
        threshold mode: the level applies to the train error instead of the loss
        """
    @threshold_on_error.setter
    def threshold_on_error(self, arg0: bool) -> None:
        ...
    @property
    def walkers(self) -> int:
        """
        independent walkers (>= 1)
        """
    @walkers.setter
    def walkers(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
def _z0_limit(floats: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    Testing hook: set the size (floats) up to which perturbed_eval keeps the shared first-layer product (negative: leave unchanged); returns the previous value.
    """
def affine_eval(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, theta0: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], D: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], coeffs: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], n_threads: typing.SupportsInt | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64]]:
    """
    Mean loss and accuracy at theta0 + coeffs[g] @ D for every row g of coeffs.
    """
def direction(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], seed: typing.SupportsInt | typing.SupportsIndex, k: typing.SupportsInt | typing.SupportsIndex, kind: str, normalization: str, bias_mode: str) -> numpy.typing.NDArray[numpy.float32]:
    """
    Direction u_k (float32, n_params) used by perturbed_eval.
    """
def full_loss(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], n_threads: typing.SupportsInt | typing.SupportsIndex = 1) -> tuple[float, float]:
    """
    Mean loss and accuracy of one network (the kernel used by the landscape engines; bit-identical for any n_threads).
    """
def perturbed_eval(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], seed: typing.SupportsInt | typing.SupportsIndex, K: typing.SupportsInt | typing.SupportsIndex, radii: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], kind: str, normalization: str, bias_mode: str, mode: str, X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], n_threads: typing.SupportsInt | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64], float, float]:
    """
    Mean loss and accuracy (K x R) of K perturbed copies at R radii, and the unperturbed mean loss and accuracy: (loss, acc, loss0, acc0).
    """
def random_walk(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, theta0: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], X_train: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y_train: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], X_test: typing.Any, y_test: typing.Any, params: WalkParams, n_threads: typing.SupportsInt | typing.SupportsIndex) -> dict:
    """
    Random walks from theta0 (see glasslens.walks.random_walk; X_test/y_test may be None); returns a dict of arrays.
    """
