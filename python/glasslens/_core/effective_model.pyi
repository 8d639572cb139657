"""
Binary-synapse networks (LR-nets): training, sampling, evaluation
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['TrainConfig', 'adam_step', 'epoch_permutation', 'evaluate_binary', 'evaluate_real', 'forward_logits', 'init_theta', 'loss_grad', 'sample', 'step_noise', 'train']
class TrainConfig:
    """
    Settings of train (glasslens::binarynet::TrainConfig).
    """
    def __init__(self, *, batch_size: typing.SupportsInt | typing.SupportsIndex = 200, lr: typing.SupportsFloat | typing.SupportsIndex = 0.3, beta1: typing.SupportsFloat | typing.SupportsIndex = 0.9, beta2: typing.SupportsFloat | typing.SupportsIndex = 0.999, adam_eps: typing.SupportsFloat | typing.SupportsIndex = 1e-08, l2: typing.SupportsFloat | typing.SupportsIndex = 1e-05, leak: typing.SupportsFloat | typing.SupportsIndex = 0.1) -> None:
        ...
    @property
    def adam_eps(self) -> float:
        """
        Adam epsilon
        """
    @adam_eps.setter
    def adam_eps(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def batch_size(self) -> int:
        """
        minibatch size (the last minibatch of an epoch may be smaller)
        """
    @batch_size.setter
    def batch_size(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def beta1(self) -> float:
        """
        Adam first-moment decay
        """
    @beta1.setter
    def beta1(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def beta2(self) -> float:
        """
        Adam second-moment decay
        """
    @beta2.setter
    def beta2(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def l2(self) -> float:
        """
        penalty (l2 / 2) ||theta||^2
        """
    @l2.setter
    def l2(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def leak(self) -> float:
        """
        leaky-ReLU slope
        """
    @leak.setter
    def leak(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def lr(self) -> float:
        """
        Adam learning rate
        """
    @lr.setter
    def lr(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
def _philox_words(seed: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex, sub: typing.SupportsInt | typing.SupportsIndex, n_blocks: typing.SupportsInt | typing.SupportsIndex, bulk: bool) -> numpy.typing.NDArray[numpy.uint32]:
    """
    Testing aid: Philox words from the block-parallel generator (bulk) or the sequential one.
    """
def adam_step(theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], grad: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], m: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], v: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], t: typing.SupportsInt | typing.SupportsIndex, lr: typing.SupportsFloat | typing.SupportsIndex, beta1: typing.SupportsFloat | typing.SupportsIndex, beta2: typing.SupportsFloat | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float32]]:
    """
    One Adam step (float32) as used in training; returns new (theta, m, v).
    """
def epoch_permutation(seed: typing.SupportsInt | typing.SupportsIndex, replica: typing.SupportsInt | typing.SupportsIndex, epoch: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.int64]:
    """
    Order of the training examples in one epoch of one replica (int64 permutation of n).
    """
def evaluate_binary(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], configurations: typing.Annotated[numpy.typing.ArrayLike, numpy.int8], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], leak: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex, with_loss: bool = True) -> tuple:
    """
    Deterministic forward pass (leaky ReLU / sqrt(fan-in)) of K weight configurations (K, n_weights) on X; returns (accuracy (K,), mean cross-entropy (K,); NaN unless with_loss).
    """
def evaluate_real(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], leak: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex, with_loss: bool = True) -> tuple:
    """
    Deterministic forward pass (leaky ReLU / sqrt(fan-in)) of K weight configurations (K, n_weights) on X; returns (accuracy (K,), mean cross-entropy (K,); NaN unless with_loss).
    """
def forward_logits(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], weights: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], leak: typing.SupportsFloat | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
    """
    Logits (n, n_out) of one real or binary weight vector (n_weights,) - deterministic pass.
    """
def init_theta(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], seed: typing.SupportsInt | typing.SupportsIndex, R: typing.SupportsInt | typing.SupportsIndex, init_std: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
    """
    Initial latent parameters theta ~ N(0, init_std^2), shape (R, n_weights) float32; replica r depends only on (seed, r).
    """
def loss_grad(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], eps: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], l2: typing.SupportsFloat | typing.SupportsIndex, leak: typing.SupportsFloat | typing.SupportsIndex) -> tuple[float, numpy.typing.NDArray[numpy.float64]]:
    """
    LR-net mean cross-entropy + (l2/2)||theta||^2 and its gradient in theta, with the noise eps (n, n_units) held fixed (float64).
    """
def sample(theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], n_per_network: typing.SupportsInt | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex, first_replica: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.int8]:
    """
    Binary configurations W ~ Bernoulli(sigmoid(theta)) as +-1 int8, shape (R * n_per, P); row r * n_per + k is draw k of network r, keyed by (seed, first_replica + r, k).
    """
def step_noise(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], seed: typing.SupportsInt | typing.SupportsIndex, replica: typing.SupportsInt | typing.SupportsIndex, step: typing.SupportsInt | typing.SupportsIndex, rows: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float64]:
    """
    The LR-net noise eps of one optimisation step, shape (rows, n_units) float64 (values are float32-exact).
    """
def train(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], adam_m: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], adam_v: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], seed: typing.SupportsInt | typing.SupportsIndex, epoch_begin: typing.SupportsInt | typing.SupportsIndex, epoch_end: typing.SupportsInt | typing.SupportsIndex, config: TrainConfig, n_threads: typing.SupportsInt | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float64]]:
    """
    LR-net training of R replicas over epochs [epoch_begin, epoch_end); returns new (theta, adam_m, adam_v, losses (R, n_epochs)). Bit-identical for any n_threads.
    """
