"""
MLP engine: GEMM, fused evaluation, loss/gradient, replica SGD
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['TrainOptions', 'epoch_order', 'evaluate', 'exp', 'gemm', 'log', 'logits', 'loss_grad', 'noisy_labels', 'train']
class TrainOptions:
    """
    Scalar settings of nn.train (glasslens::nn::TrainOptions).
    """
    def __init__(self, *, batch_size: typing.SupportsInt | typing.SupportsIndex = 64, momentum: typing.SupportsFloat | typing.SupportsIndex = 0.0, weight_decay: typing.SupportsFloat | typing.SupportsIndex = 0.0, sam_rho: typing.SupportsFloat | typing.SupportsIndex = 0.0, label_noise: typing.SupportsFloat | typing.SupportsIndex = 0.0, noise_seed: typing.SupportsInt | typing.SupportsIndex = 0, order_seed: typing.SupportsInt | typing.SupportsIndex = 0, target_train_acc: typing.SupportsFloat | typing.SupportsIndex = -1.0, epoch_begin: typing.SupportsInt | typing.SupportsIndex = 0, epoch_end: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        ...
    @property
    def batch_size(self) -> int:
        """
        minibatch size; >= n gives full-batch gradient descent
        """
    @batch_size.setter
    def batch_size(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def epoch_begin(self) -> int:
        """
        first epoch run by this call
        """
    @epoch_begin.setter
    def epoch_begin(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def epoch_end(self) -> int:
        """
        end (exclusive) of the epochs run
        """
    @epoch_end.setter
    def epoch_end(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def label_noise(self) -> float:
        """
        fraction of training labels replaced (per noise stream)
        """
    @label_noise.setter
    def label_noise(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def momentum(self) -> float:
        """
        heavy-ball momentum in [0, 1)
        """
    @momentum.setter
    def momentum(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def noise_seed(self) -> int:
        """
        seed of the label noise
        """
    @noise_seed.setter
    def noise_seed(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def order_seed(self) -> int:
        """
        seed of the data order
        """
    @order_seed.setter
    def order_seed(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def sam_rho(self) -> float:
        """
        SAM radius (0: plain SGD)
        """
    @sam_rho.setter
    def sam_rho(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def target_train_acc(self) -> float:
        """
        > 0: a replica stops after the first epoch that reaches it (-1: never)
        """
    @target_train_acc.setter
    def target_train_acc(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def weight_decay(self) -> float:
        """
        L2 coefficient added to the gradient (>= 0)
        """
    @weight_decay.setter
    def weight_decay(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
def epoch_order(seed: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex, epoch: typing.SupportsInt | typing.SupportsIndex, n: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.int64]:
    """
    The permutation of range(n) that train visits in `epoch` for data-order stream `stream`.
    """
def evaluate(theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64]]:
    """
    Mean cross-entropy loss and accuracy of K flat parameter vectors theta (K, P) on (X, y). Returns (loss (K,), acc (K,)) float64. Bit-identical for any n_threads (0 = default).
    """
def exp(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> numpy.typing.NDArray[numpy.float32]:
    """
    Vectorised float32 exp used by the softmax kernels (for tests).
    """
def gemm(kind: str, A: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], B: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], C: typing.Any = None, bias: typing.Any = None, relu: bool = False) -> numpy.typing.NDArray[numpy.float32]:
    """
    Single-precision product on the active SIMD path. kind 'nt': A (m,k) @ B(n,k).T; 'nn': A (m,k) @ B (k,n); 'tn': A(k,m).T @ B (k,n). With C the product is added to a copy of C; 'nt' also takes bias (n,) and relu. Returns a new (m, n) float32 array.
    """
def log(x: typing.Annotated[numpy.typing.ArrayLike, numpy.float32]) -> numpy.typing.NDArray[numpy.float32]:
    """
    Vectorised float32 log used by the softmax kernels (for tests).
    """
def logits(theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float32]:
    """
    Logits (K, n, n_out) float32 of K flat parameter vectors.
    """
def loss_grad(theta: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32]) -> tuple[float, numpy.typing.NDArray[numpy.float32], int]:
    """
    Mean loss of one network, its gradient (P,) float32 and the number of correct predictions: (loss, grad, n_correct). Serial.
    """
def noisy_labels(y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], n_classes: typing.SupportsInt | typing.SupportsIndex, fraction: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.int32]:
    """
    Training labels with exactly round(fraction*n) entries moved to a different random class.
    """
def train(theta: numpy.ndarray, velocity: numpy.ndarray, epochs_run: numpy.ndarray, stopped: numpy.ndarray, hist_train_loss: numpy.ndarray, hist_train_acc: numpy.ndarray, hist_test_loss: numpy.ndarray, hist_test_acc: numpy.ndarray, widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], bias: bool, X: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], X_test: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], y_test: typing.Annotated[numpy.typing.ArrayLike, numpy.int32], noise_stream: typing.Annotated[numpy.typing.ArrayLike, numpy.uint64], order_stream: typing.Annotated[numpy.typing.ArrayLike, numpy.uint64], lr: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], record_slot: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], options: TrainOptions, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, record_rows: typing.Any = None) -> None:
    """
    Run epochs [options.epoch_begin, options.epoch_end) of minibatch SGD for R replicas, updating theta, velocity, epochs_run, stopped and the (R, n_records) history arrays in place. noise_stream and order_stream (R,) uint64 pick each replica's label-noise and data-order streams, lr (total_epochs,) is the schedule, record_slot (total_epochs,) the history column after each epoch (-1: none). record_rows (n_rec,) int64: the training rows on which the recorded train metrics are evaluated (None: all; the early-stop check always uses all rows); the recorded test metrics use X_test as given. Private: use glasslens.train_ensemble.
    """
