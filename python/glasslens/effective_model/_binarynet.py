"""Binary-synapse networks (weights +-1, no biases) trained by local reparameterisation.

This is the network side of Zou & Huang 2021 ("Data-driven effective model shows a liquid-like
deep learning"): many independent trainings of small binary networks, then many +-1 weight
configurations drawn from each trained network, each with its test accuracy. The configurations
feed the pairwise maximum-entropy models of ``glasslens.maxent``.

Model (LR-net, Shayer et al. 2018)
----------------------------------
* ``widths = [d_in, h_1, ..., n_classes]``; layer ``l`` has an ``(out, in)`` weight matrix.
* Every weight has a latent real parameter ``theta`` with ``P(w = +1) = sigmoid(theta)``; its
  mean is ``mu = 2 sigmoid(theta) - 1`` and its variance ``1 - mu**2``.
* Training samples the pre-activations, not the weights:
  ``z = sum_i mu_i a_i + sqrt(sum_i (1 - mu_i**2) a_i**2) * eps`` with ``eps ~ N(0, 1)``.
* Hidden units: leaky ReLU (slope 0.1) divided by ``sqrt(fan_in)``; the output ``z`` are the
  logits of a softmax cross-entropy (natural log).
* Adam (0.9, 0.999, 1e-8) on the analytic gradient in ``theta`` plus ``l2 * theta``
  (the penalty ``(l2 / 2) ||theta||**2``); ``theta`` starts at ``N(0, 0.1**2)``.
* Testing: draw ``W ~ Bernoulli(sigmoid(theta))`` (+-1) and run the deterministic network
  ``z = W a`` with the same activation.

Flat order of weights and configurations (the paper's): layers in order, each row-major
``(out, in)``. For the deep 20-15-15-10 net this is LB (input -> h1, 300), ITER (h1 -> h2, 225),
RB (h2 -> output, 150): 675 weights (see :func:`block_indices`).

Randomness is counter-based (Philox) and keyed by (seed, replica, epoch / step / draw), so every
result is bit-identical for any ``n_threads`` and for any split of training into epoch chunks.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _core
from .._lib._data import as_data
from .._lib._io import load_npz, member, save_npz
from .._lib._threads import resolve_threads
from .._lib._validate import as_array, check_float, check_int, check_labels, check_seed
from .._lib._limits import (MAX_BINARY_DRAW_VALUES, MAX_BINARY_REPLICAS, MAX_BINARY_TRAIN_VALUES,
                            MAX_BINARY_VALUES, MAX_BINARY_WIDTH, MAX_CLASSES, MAX_EPOCHS)
from ..nn._network import _check_widths as _network_check_widths, _stacked_layers

PathLike = Union[str, Path]

_FORMAT = "glasslens-binarynet-v1"
LEAK = 0.1  # leaky-ReLU slope of the hidden units

__all__ = [
    "BinaryNet",
    "BinaryEnsemble",
    "BinarySamples",
    "ArrayDataset",
    "PaperPreset",
    "train_binary",
    "sample_configurations",
    "evaluate_configurations",
    "block_indices",
    "paper_preset",
    "lr_loss_grad",
    "n_weights",
]


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _check_widths(widths: Sequence[int]) -> List[int]:
    return _network_check_widths(widths, limit=MAX_BINARY_WIDTH, what=" for a binary net")


def n_weights(widths: Sequence[int]) -> int:
    """Number of binary weights of a bias-free network with these widths."""
    w = _check_widths(widths)
    return int(sum(w[i + 1] * w[i] for i in range(len(w) - 1)))


def block_indices(widths: Sequence[int]) -> Dict[str, np.ndarray]:
    """Indices (int64) of each layer's weights in the flat configuration vector, plus ``FULL``.

    For a three-layer net (e.g. the paper's 20-15-15-10) the blocks are named ``LB``
    (input -> h1), ``ITER`` (h1 -> h2) and ``RB`` (h2 -> output); otherwise ``layer0``,
    ``layer1``, ... in order. ``FULL`` is every weight.
    """
    w = _check_widths(widths)
    L = len(w) - 1
    names = ["LB", "ITER", "RB"] if L == 3 else [f"layer{i}" for i in range(L)]
    out: Dict[str, np.ndarray] = {}
    pos = 0
    for i, name in enumerate(names):
        k = w[i + 1] * w[i]
        out[name] = np.arange(pos, pos + k, dtype=np.int64)
        pos += k
    out["FULL"] = np.arange(pos, dtype=np.int64)
    return out


@dataclass
class ArrayDataset:
    """Train/test arrays: ``X_*`` float32 ``(n, d)``, ``y_*`` int labels ``(n,)``."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: Optional[np.ndarray] = None
    y_test: Optional[np.ndarray] = None
    name: str = "arrays"


def _unpack_dataset(dataset: Any) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]:
    """(X_train, y_train, X_test, y_test) through the one data contract (``_lib._data``):
    a Dataset, an object with those attributes, a mapping with those keys, or a 2- or 4-tuple."""
    d = as_data(dataset, name="dataset")
    return d.X_train, d.y_train, d.X_test, d.y_test


def _check_xy(X: Any, y: Any, widths: Sequence[int], xname: str = "X_test",
              yname: str = "y_test") -> Tuple[np.ndarray, np.ndarray]:
    Xa = as_array(X, xname, np.float32, ndim=2)
    if Xa.shape[1] != widths[0]:
        raise ValueError(f"{xname} has {Xa.shape[1]} features, the network expects {widths[0]}")
    ya = check_labels(y, yname, n=Xa.shape[0], n_classes=widths[-1])
    return Xa, ya


# ---------------------------------------------------------------------------------------------
# networks
# ---------------------------------------------------------------------------------------------
class BinaryNet:
    """One trained LR-net: latent parameters ``theta[l]`` of shape ``(out, in)`` (float32)."""

    def __init__(self, theta: Sequence[Any]):
        if len(theta) < 1:
            raise ValueError("theta must hold at least one layer")
        ts = [as_array(t, f"theta[{i}]", np.float32, ndim=2) for i, t in enumerate(theta)]
        for i in range(1, len(ts)):
            if ts[i].shape[1] != ts[i - 1].shape[0]:
                raise ValueError(f"theta[{i}] expects {ts[i].shape[1]} inputs but theta[{i - 1}] "
                                 f"produces {ts[i - 1].shape[0]}")
        self.theta: List[np.ndarray] = ts

    @property
    def widths(self) -> List[int]:
        return [self.theta[0].shape[1]] + [t.shape[0] for t in self.theta]

    @property
    def n_weights(self) -> int:
        return n_weights(self.widths)

    def flat(self) -> np.ndarray:
        """Flat theta ``(n_weights,)`` float32 in the paper's order."""
        return np.ascontiguousarray(np.concatenate([t.ravel() for t in self.theta]),
                                    dtype=np.float32)

    def probabilities(self) -> np.ndarray:
        """``P(w = +1) = sigmoid(theta)``, flat ``(n_weights,)`` float64."""
        return _sigmoid(self.flat().astype(np.float64))

    def mean_weights(self) -> np.ndarray:
        """``E[w] = 2 sigmoid(theta) - 1``, flat ``(n_weights,)`` float64."""
        return np.tanh(self.flat().astype(np.float64) / 2.0)

    def sample(self, n: int, seed: int = 0, n_threads: Optional[int] = None) -> np.ndarray:
        """``n`` binary configurations ``(n, n_weights)`` int8 (+-1)."""
        return BinaryEnsemble([t[None] for t in self.theta]).sample(n, seed, n_threads)

    def forward(self, X: Any, weights: Optional[Any] = None) -> np.ndarray:
        """Logits ``(n, n_classes)`` of the deterministic network with flat ``weights`` (binary
        +-1 or real; default: the mean weights ``mu``)."""
        Xa = as_array(X, "X", np.float32, ndim=2)
        if Xa.shape[1] != self.widths[0]:
            raise ValueError(f"X has {Xa.shape[1]} features, the network expects {self.widths[0]}")
        W = self.mean_weights() if weights is None else weights
        Wa = as_array(W, "weights", np.float32, shape=(self.n_weights,))
        return np.asarray(_core.effective_model.forward_logits(self.widths, Wa, Xa, LEAK))

    def __repr__(self) -> str:
        return f"BinaryNet(widths={self.widths}, n_weights={self.n_weights})"


class BinaryEnsemble:
    """R independently trained LR-nets of one architecture.

    Attributes
    ----------
    theta : list of float32 arrays ``(R, out, in)`` (latent parameters, ``P(w=+1) = sigmoid``)
    history : dict; ``'epoch'`` ``(E,)`` and ``'train_loss'`` ``(R, E)`` (mean sampled LR-net
        cross-entropy of each epoch, without the L2 term)
    metrics : dict of float64 ``(R,)``: ``'train_loss'`` (last epoch), ``'test_acc'`` (mean test
        accuracy of ``n_eval`` binary draws), ``'test_acc_std'``, ``'test_acc_mean_field'``
        (deterministic net with weights ``mu``) - test entries only when a test set was given
    meta : JSON-serialisable dict (settings of the run); ``adam_m``/``adam_v``/``epochs_done``
        are kept in ``state`` so training can be resumed with ``train_binary(..., init=...)``
    """

    def __init__(self, theta: Sequence[Any], history: Optional[Dict[str, Any]] = None,
                 metrics: Optional[Dict[str, Any]] = None, meta: Optional[Dict[str, Any]] = None,
                 state: Optional[Dict[str, Any]] = None):
        if len(theta) < 1:
            raise ValueError("theta must hold at least one layer")
        ts = _stacked_layers(theta, "theta")
        R = ts[0].shape[0]
        self.theta: List[np.ndarray] = ts
        self.history: Dict[str, np.ndarray] = {k: np.asarray(v) for k, v in (history or {}).items()}
        self.metrics: Dict[str, np.ndarray] = {
            k: np.asarray(v, dtype=np.float64) for k, v in (metrics or {}).items()}
        for k, v in self.metrics.items():
            if v.shape != (R,):
                raise ValueError(f"metrics[{k!r}] must have shape ({R},), got {v.shape}")
        self.meta: Dict[str, Any] = dict(meta or {})
        self.state: Dict[str, Any] = dict(state or {})

    # ---- construction / conversion ------------------------------------------------------------
    @classmethod
    def from_flat(cls, widths: Sequence[int], theta: Any, **kw: Any) -> "BinaryEnsemble":
        """From flat latent parameters ``(R, n_weights)``."""
        w = _check_widths(widths)
        P = n_weights(w)
        t = as_array(theta, "theta", np.float32, ndim=2)
        if t.shape[1] != P:
            raise ValueError(f"theta has {t.shape[1]} columns, widths {w} need {P}")
        out, pos = [], 0
        for i in range(len(w) - 1):
            k = w[i + 1] * w[i]
            out.append(t[:, pos:pos + k].reshape(-1, w[i + 1], w[i]).copy())
            pos += k
        return cls(out, **kw)

    @property
    def widths(self) -> List[int]:
        return [self.theta[0].shape[2]] + [t.shape[1] for t in self.theta]

    @property
    def n_replicas(self) -> int:
        return int(self.theta[0].shape[0])

    @property
    def n_weights(self) -> int:
        return n_weights(self.widths)

    def __len__(self) -> int:
        return self.n_replicas

    def __getitem__(self, r: int) -> BinaryNet:
        R = self.n_replicas
        r = check_int(r, "r", -R, R - 1)
        return BinaryNet([t[r] for t in self.theta])

    def flat(self) -> np.ndarray:
        """Flat theta ``(R, n_weights)`` float32 in the paper's order."""
        R = self.n_replicas
        return np.ascontiguousarray(
            np.concatenate([t.reshape(R, -1) for t in self.theta], axis=1), dtype=np.float32)

    def probabilities(self) -> np.ndarray:
        """``P(w = +1) = sigmoid(theta)``, ``(R, n_weights)`` float64."""
        return _sigmoid(self.flat().astype(np.float64))

    def mean_weights(self) -> np.ndarray:
        """``E[w] = 2 sigmoid(theta) - 1``, ``(R, n_weights)`` float64."""
        return np.tanh(self.flat().astype(np.float64) / 2.0)

    # ---- sampling / evaluation ----------------------------------------------------------------
    def sample(self, n_per_network: int, seed: int = 0, n_threads: Optional[int] = None) -> np.ndarray:
        """Binary configurations ``(R * n_per_network, n_weights)`` int8 (+-1); row
        ``r * n_per_network + k`` is draw ``k`` of network ``r``."""
        n = check_int(n_per_network, "n_per_network", 0)
        _check_size(self.n_replicas * n, self.n_weights)
        return np.asarray(_core.effective_model.sample(self.flat(), n, check_seed(seed),
                                                       resolve_threads(n_threads)))

    def evaluate(self, X: Any, y: Any, n_samples: int = 10, seed: int = 0,
                 n_threads: Optional[int] = None) -> np.ndarray:
        """Test accuracy of ``n_samples`` binary draws per network, ``(R, n_samples)``."""
        n = check_int(n_samples, "n_samples", 1)
        Xa, ya = _check_xy(X, y, self.widths, "X", "y")
        cfg = self.sample(n, seed, n_threads)
        acc, _ = _core.effective_model.evaluate_binary(self.widths, cfg, Xa, ya, LEAK,
                                                       resolve_threads(n_threads), False)
        return np.asarray(acc).reshape(self.n_replicas, n)

    def evaluate_mean_field(self, X: Any, y: Any, n_threads: Optional[int] = None) -> np.ndarray:
        """Test accuracy ``(R,)`` of the deterministic nets with real weights ``mu``."""
        Xa, ya = _check_xy(X, y, self.widths, "X", "y")
        mu = self.mean_weights().astype(np.float32)
        acc, _ = _core.effective_model.evaluate_real(self.widths, mu, Xa, ya, LEAK,
                                                     resolve_threads(n_threads), False)
        return np.asarray(acc)

    # ---- persistence --------------------------------------------------------------------------
    def save(self, path: PathLike) -> None:
        """Save to ``.npz`` (no pickle), including the Adam state for resuming."""
        arrays: Dict[str, np.ndarray] = {f"theta{i}": t for i, t in enumerate(self.theta)}
        arrays.update({f"history/{k}": v for k, v in self.history.items()})
        arrays.update({f"metrics/{k}": v for k, v in self.metrics.items()})
        st_arrays = {k: v for k, v in self.state.items() if isinstance(v, np.ndarray)}
        st_scalars = {k: v for k, v in self.state.items() if not isinstance(v, np.ndarray)}
        arrays.update({f"state/{k}": v for k, v in st_arrays.items()})
        meta = {"format": _FORMAT, "kind": "BinaryEnsemble", "widths": self.widths,
                "history": sorted(self.history), "metrics": sorted(self.metrics),
                "state_arrays": sorted(st_arrays), "state": st_scalars, "meta": self.meta}
        save_npz(path, meta, arrays, add_suffix=True)  # numpy's naming rule, as always

    @classmethod
    def load(cls, path: PathLike) -> "BinaryEnsemble":
        """Load an ensemble saved by :meth:`save`."""
        meta, z = _open_npz(path, "BinaryEnsemble", lambda k: k.startswith(
            ("theta", "history/", "metrics/", "state/")))
        try:
            L = len(meta["widths"]) - 1
            theta = [_get(z, f"theta{i}", path) for i in range(L)]
            hist = {k: _get(z, f"history/{k}", path) for k in meta.get("history", [])}
            mets = {k: _get(z, f"metrics/{k}", path) for k in meta.get("metrics", [])}
            state: Dict[str, Any] = dict(meta.get("state", {}))
            state.update({k: _get(z, f"state/{k}", path) for k in meta.get("state_arrays", [])})
            return cls(theta, hist, mets, meta.get("meta", {}), state)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{path} is corrupt: {exc}") from exc

    def __repr__(self) -> str:
        return f"BinaryEnsemble(replicas={self.n_replicas}, widths={self.widths}, " \
               f"n_weights={self.n_weights})"


class BinarySamples(NamedTuple):
    """Binary weight configurations pooled over trained networks.

    configurations : ``(M, n_weights)`` int8, entries +-1, paper's flat order
    accuracy : ``(M,)`` float64 test accuracy of each configuration (NaN without a test set)
    network : ``(M,)`` int64 index of the trained network each configuration was drawn from
    """

    configurations: np.ndarray
    accuracy: np.ndarray
    network: np.ndarray

    def save(self, path: PathLike, widths: Optional[Sequence[int]] = None) -> None:
        """Save to ``.npz`` (no pickle)."""
        meta = {"format": _FORMAT, "kind": "BinarySamples",
                "widths": None if widths is None else _check_widths(widths)}
        save_npz(path, meta, {"configurations": self.configurations, "accuracy": self.accuracy,
                              "network": self.network}, add_suffix=True)

    @classmethod
    def load(cls, path: PathLike) -> "BinarySamples":
        _, z = _open_npz(path, "BinarySamples", ("configurations", "accuracy", "network"))
        cfg = _get(z, "configurations", path)
        acc = _get(z, "accuracy", path)
        net = _get(z, "network", path)
        if cfg.dtype != np.int8 or cfg.ndim != 2 or acc.shape != (cfg.shape[0],) \
                or net.shape != (cfg.shape[0],) or not np.all(np.abs(cfg) == 1):
            raise ValueError(f"{path} is corrupt: inconsistent BinarySamples arrays")
        return cls(cfg, acc.astype(np.float64), net.astype(np.int64))


# ---------------------------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------------------------
def train_binary(
    dataset: Any,
    hidden: Sequence[int] = (15, 15),
    replicas: int = 10,
    epochs: int = 50,
    batch_size: int = 200,
    lr: float = 0.3,
    l2: float = 1e-5,
    seed: int = 0,
    n_threads: Optional[int] = None,
    progress: bool = False,
    *,
    n_classes: Optional[int] = None,
    init_std: float = 0.1,
    betas: Tuple[float, float] = (0.9, 0.999),
    adam_eps: float = 1e-8,
    n_eval: int = 10,
    init: Optional[BinaryEnsemble] = None,
) -> BinaryEnsemble:
    """Train ``replicas`` independent binary networks with the LR-net method.

    Parameters
    ----------
    dataset : object with ``X_train`` ``(n, d)``, ``y_train`` ``(n,)`` and optionally ``X_test``,
        ``y_test`` (e.g. ``glasslens.datasets.load(name, pca=20)``), a mapping with those keys,
        or a tuple ``(X_train, y_train[, X_test, y_test])``. All training rows are used (subset
        them first for the over-parametrised regime, see :func:`paper_preset`).
    hidden : hidden widths; ``()`` gives the shallow ``d -> n_classes`` net.
    replicas : number of independent trainings (Philox streams keyed by (seed, replica)).
    epochs : passes over the training set; each pass visits the examples in a fresh random
        order in minibatches of ``batch_size`` (the last one may be smaller).
    lr, l2 : Adam step size and the L2 coefficient on theta (gradient ``l2 * theta``).
    n_classes : number of outputs (default: ``max label + 1`` over train and test labels).
    init_std : std of the initial theta (``N(0, init_std**2)``).
    betas, adam_eps : Adam constants.
    n_eval : binary draws per network for the final test-accuracy metrics.
    init : continue training this ensemble (its widths, theta and Adam state); ``replicas``,
        ``hidden`` and ``init_std`` are then ignored, ``epochs`` more epochs are run and the
        random streams continue where they stopped (same ``seed`` -> same result as one run).

    Returns
    -------
    BinaryEnsemble with ``history['train_loss']`` ``(R, epochs)`` and ``metrics``.
    """
    Xtr, ytr, Xte, yte = _unpack_dataset(dataset)
    d = Xtr.shape[1]
    if n_classes is None:
        top = int(ytr.max())
        if yte is not None:
            top = max(top, int(yte.max()))
        C = top + 1
        if C < 2:
            raise ValueError("the labels hold a single class; pass n_classes explicitly")
    else:
        C = check_int(n_classes, "n_classes", 2, MAX_CLASSES)
    if int(ytr.max()) >= C or (yte is not None and int(yte.max()) >= C):
        raise ValueError(f"labels out of range for n_classes={C}")
    epochs = check_int(epochs, "epochs", 0, MAX_EPOCHS)
    batch_size = check_int(batch_size, "batch_size", 1)
    lr = check_float(lr, "lr", 0.0, low_open=True)
    l2 = check_float(l2, "l2", 0.0)
    seed = check_seed(seed)
    init_std = check_float(init_std, "init_std", 0.0)
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair of floats, got {betas!r}")
    b1 = check_float(betas[0], "betas[0]", 0.0, 0.999999999)
    b2 = check_float(betas[1], "betas[1]", 0.0, 0.999999999)
    adam_eps = check_float(adam_eps, "adam_eps", 0.0, low_open=True)
    n_eval = check_int(n_eval, "n_eval", 1)
    nt = resolve_threads(n_threads)

    if init is not None:
        if not isinstance(init, BinaryEnsemble):
            raise TypeError(f"init must be a BinaryEnsemble, got {type(init).__name__}")
        widths = init.widths
        if widths[0] != d or widths[-1] != C:
            raise ValueError(f"init has widths {widths}, incompatible with {d} features and "
                             f"{C} classes")
        R = init.n_replicas
        theta = init.flat()
        m = np.asarray(init.state.get("adam_m", np.zeros_like(theta)), dtype=np.float32)
        v = np.asarray(init.state.get("adam_v", np.zeros_like(theta)), dtype=np.float32)
        e0 = int(init.state.get("epochs_done", 0))
        for key, now in (("batch_size", batch_size), ("n_train", int(Xtr.shape[0]))):
            if key in init.state and int(init.state[key]) != now:
                raise ValueError(f"init was trained with {key}={int(init.state[key])}, got {now}: "
                                 "resuming needs the same minibatch schedule")
        hist_prev = init.history
    else:
        if isinstance(hidden, (int, np.integer)):
            hidden = (int(hidden),)
        widths = _check_widths([d, *list(hidden), C])
        R = check_int(replicas, "replicas", 1, MAX_BINARY_REPLICAS)
        _check_size(R, n_weights(widths), limit=MAX_BINARY_TRAIN_VALUES)
        theta = np.asarray(_core.effective_model.init_theta(widths, seed, R, init_std, nt))
        m = np.zeros_like(theta)
        v = np.zeros_like(theta)
        e0 = 0
        hist_prev = {}

    losses = np.empty((R, epochs), dtype=np.float64)
    chunk = epochs if not progress else max(1, min(epochs, _epochs_per_chunk(Xtr.shape[0], R)))
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm
            bar = tqdm(total=epochs, desc="LR-net training", unit="epoch")
        except ImportError:  # pragma: no cover - tqdm is a dependency
            bar = None
    done = 0
    try:
        while done < epochs:
            k = min(chunk, epochs - done)
            theta, m, v, ls = _core.effective_model.train(
                widths, theta, m, v, Xtr, ytr, seed, e0 + done, e0 + done + k,
                _core.effective_model.TrainConfig(batch_size=batch_size, lr=lr, beta1=b1,
                                                  beta2=b2, adam_eps=adam_eps, l2=l2, leak=LEAK),
                nt)
            losses[:, done:done + k] = ls
            done += k
            if bar is not None:
                bar.update(k)
                bar.set_postfix(loss=float(np.mean(ls[:, -1])))
    finally:
        if bar is not None:
            bar.close()
    theta = np.asarray(theta)
    epoch_idx = np.arange(e0 + 1, e0 + epochs + 1)
    if hist_prev.get("train_loss") is not None and np.asarray(hist_prev["train_loss"]).shape[0] == R:
        losses_all = np.concatenate([np.asarray(hist_prev["train_loss"]), losses], axis=1)
        epoch_all = np.concatenate([np.asarray(hist_prev["epoch"]), epoch_idx])
    else:
        losses_all, epoch_all = losses, epoch_idx
    meta = {
        "method": "LR-net (local reparameterisation), Zou & Huang 2021 settings",
        "widths": widths, "replicas": R, "epochs": e0 + epochs, "batch_size": batch_size,
        "lr": lr, "l2": l2, "seed": seed, "init_std": init_std, "betas": [b1, b2],
        "adam_eps": adam_eps, "leak": LEAK, "n_train": int(Xtr.shape[0]),
        "n_test": None if Xte is None else int(Xte.shape[0]),
        "dataset": str(getattr(dataset, "name", type(dataset).__name__)),
    }
    ens = BinaryEnsemble.from_flat(
        widths, theta, history={"epoch": epoch_all, "train_loss": losses_all}, meta=meta,
        state={"adam_m": np.asarray(m), "adam_v": np.asarray(v), "epochs_done": e0 + epochs,
               "seed": seed, "n_train": int(Xtr.shape[0]), "batch_size": batch_size})
    metrics: Dict[str, np.ndarray] = {}
    if epochs > 0:
        metrics["train_loss"] = losses[:, -1].copy()
    if Xte is not None:
        acc = ens.evaluate(Xte, yte, n_samples=n_eval, seed=seed ^ 0x5EED, n_threads=nt)
        metrics["test_acc"] = acc.mean(axis=1)
        metrics["test_acc_std"] = acc.std(axis=1)
        metrics["test_acc_mean_field"] = ens.evaluate_mean_field(Xte, yte, n_threads=nt)
    ens.metrics = metrics
    return ens


def _epochs_per_chunk(n: int, R: int) -> int:
    # About one progress update per ~2e7 sample-passes (fractions of a second).
    return max(1, int(2e7 // max(1, n * R)))


# ---------------------------------------------------------------------------------------------
# sampling configurations
# ---------------------------------------------------------------------------------------------
def evaluate_configurations(
    configurations: Any, widths: Sequence[int], X: Any, y: Any, n_threads: Optional[int] = None,
    return_loss: bool = False,
) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """Test accuracy ``(M,)`` (and mean cross-entropy) of M binary configurations
    ``(M, n_weights)`` (+-1) run as deterministic networks (leaky ReLU / sqrt(fan_in))."""
    w = _check_widths(widths)
    P = n_weights(w)
    cfg = _as_spins(configurations, "configurations", P)
    Xa, ya = _check_xy(X, y, w, "X", "y")
    acc, loss = _core.effective_model.evaluate_binary(w, cfg, Xa, ya, LEAK,
                                                      resolve_threads(n_threads),
                                                      bool(return_loss))
    if return_loss:
        return np.asarray(acc), np.asarray(loss)
    return np.asarray(acc)


def sample_configurations(
    binary_ensemble: Union[BinaryEnsemble, BinaryNet, Sequence[Union[BinaryEnsemble, BinaryNet]]],
    n_per_network: int,
    seed: int = 0,
    X_test: Any = None,
    y_test: Any = None,
    min_accuracy: Optional[float] = None,
    n_threads: Optional[int] = None,
) -> BinarySamples:
    """Draw binary weight configurations from trained networks, pooled over the trainings.

    Every network ``r`` (replica of the ensemble, or of the ensembles of a list, numbered in
    order) yields ``n_per_network`` draws ``W ~ Bernoulli(sigmoid(theta_r))``, entries +-1, in
    the paper's flat order; draw ``k`` of network ``r`` depends only on ``(seed, r, k)``.
    With ``X_test``/``y_test`` each configuration gets its test accuracy (deterministic network);
    with ``min_accuracy`` only configurations with accuracy >= ``min_accuracy`` are kept.

    Returns
    -------
    BinarySamples(configurations (M, n_weights) int8, accuracy (M,), network (M,))
    """
    nets = _collect_networks(binary_ensemble)
    widths = nets.widths
    n = check_int(n_per_network, "n_per_network", 1)
    seed = check_seed(seed)
    nt = resolve_threads(n_threads)
    if (X_test is None) != (y_test is None):
        raise ValueError("give both X_test and y_test or neither")
    if min_accuracy is not None:
        min_accuracy = check_float(min_accuracy, "min_accuracy", 0.0, 1.0)
        if X_test is None:
            raise ValueError("min_accuracy needs X_test and y_test")
    Xa = ya = None
    if X_test is not None:
        Xa, ya = _check_xy(X_test, y_test, widths)
    theta = nets.flat()
    R, P = theta.shape
    _check_size(R * n, P, limit=MAX_BINARY_DRAW_VALUES)
    # Chunks of networks keep the working set near 256 MB when filtering.
    per_chunk = max(1, int(2**28 // max(1, n * P)))
    cfgs, accs, nets_idx = [], [], []
    for r0 in range(0, R, per_chunk):
        r1 = min(R, r0 + per_chunk)
        c = np.asarray(_core.effective_model.sample(theta[r0:r1], n, seed, nt, r0))
        idx = np.repeat(np.arange(r0, r1, dtype=np.int64), n)
        if Xa is not None:
            a, _ = _core.effective_model.evaluate_binary(widths, c, Xa, ya, LEAK, nt, False)
            a = np.asarray(a)
        else:
            a = np.full(c.shape[0], np.nan)
        if min_accuracy is not None:
            keep = a >= min_accuracy
            c, a, idx = c[keep], a[keep], idx[keep]
        cfgs.append(c)
        accs.append(a)
        nets_idx.append(idx)
    return BinarySamples(np.ascontiguousarray(np.concatenate(cfgs, axis=0)),
                         np.concatenate(accs), np.concatenate(nets_idx))


def _collect_networks(obj: Any) -> BinaryEnsemble:
    if isinstance(obj, BinaryEnsemble):
        return obj
    if isinstance(obj, BinaryNet):
        return BinaryEnsemble([t[None] for t in obj.theta])
    if isinstance(obj, (list, tuple)) and obj:
        parts = [_collect_networks(o) for o in obj]
        w = parts[0].widths
        for i, p in enumerate(parts):
            if p.widths != w:
                raise ValueError(f"binary_ensemble[{i}] has widths {p.widths}, the first has {w}")
        return BinaryEnsemble.from_flat(w, np.concatenate([p.flat() for p in parts], axis=0))
    raise TypeError("binary_ensemble must be a BinaryEnsemble, a BinaryNet or a non-empty list of "
                    f"them, got {type(obj).__name__}")


# ---------------------------------------------------------------------------------------------
# reference computation (testing / research): LR-net loss and gradient with fixed noise
# ---------------------------------------------------------------------------------------------
def lr_loss_grad(widths: Sequence[int], theta: Any, X: Any, y: Any, eps: Any,
                 l2: float = 0.0) -> Tuple[float, np.ndarray]:
    """LR-net loss with the noise held fixed, and its analytic gradient (float64).

    ``loss = mean_n CE(z(theta, X_n, eps_n), y_n) + (l2 / 2) ||theta||^2``.

    Parameters
    ----------
    theta : flat latent parameters ``(n_weights,)``
    X : ``(n, widths[0])``; y : ``(n,)`` labels
    eps : ``(n, n_units)`` noise, ``n_units = sum(widths[1:])``; columns hold layer 1's units,
        then layer 2's, ...
    """
    w = _check_widths(widths)
    P = n_weights(w)
    th = as_array(theta, "theta", np.float64, shape=(P,))
    Xa = as_array(X, "X", np.float64, ndim=2)
    if Xa.shape[1] != w[0]:
        raise ValueError(f"X has {Xa.shape[1]} features, the network expects {w[0]}")
    ya = check_labels(y, "y", n=Xa.shape[0], n_classes=w[-1])
    ea = as_array(eps, "eps", np.float64, shape=(Xa.shape[0], sum(w[1:])))
    l2 = check_float(l2, "l2", 0.0)
    loss, grad = _core.effective_model.loss_grad(w, th, Xa, ya, ea, l2, LEAK)
    return float(loss), np.asarray(grad)


# ---------------------------------------------------------------------------------------------
# the paper's settings
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PaperPreset:
    """Settings of Zou & Huang 2021 for one regime (see :func:`paper_preset`)."""

    regime: str
    dataset: str
    pca: int
    hidden: Tuple[int, ...]
    n_train: Optional[int]
    epochs: int
    batch_size: int = 200
    lr: float = 0.3
    l2: float = 1e-5
    replicas: int = 100
    n_per_network: int = 100
    min_accuracy: Optional[float] = None
    notes: str = ""
    n_classes: int = 10

    @property
    def widths(self) -> List[int]:
        return [self.pca, *self.hidden, self.n_classes]

    @property
    def n_weights(self) -> int:
        return n_weights(self.widths)

    def train_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments for :func:`train_binary`."""
        return {"hidden": self.hidden, "replicas": self.replicas, "epochs": self.epochs,
                "batch_size": self.batch_size, "lr": self.lr, "l2": self.l2}

    def prepare(self, dataset: Any) -> ArrayDataset:
        """The dataset as the preset uses it: the first ``pca`` feature columns (principal
        components in order), the first ``n_train`` training examples (all if None)."""
        Xtr, ytr, Xte, yte = _unpack_dataset(dataset)
        if Xtr.shape[1] < self.pca:
            raise ValueError(f"dataset has {Xtr.shape[1]} features, the preset needs {self.pca} "
                             "(principal components)")
        n = Xtr.shape[0] if self.n_train is None else self.n_train
        if n > Xtr.shape[0]:
            raise ValueError(f"the preset needs {n} training examples, dataset has {Xtr.shape[0]}")
        name = str(getattr(dataset, "name", self.dataset))
        return ArrayDataset(
            np.ascontiguousarray(Xtr[:n, :self.pca]), ytr[:n].copy(),
            None if Xte is None else np.ascontiguousarray(Xte[:, :self.pca]),
            None if yte is None else yte.copy(), name=f"{name}[{self.regime}]")

    def load_dataset(self, **kwargs: Any) -> ArrayDataset:
        """Load ``self.dataset`` with ``glasslens.datasets.load(name, pca=self.pca,
        standardize=False, **kwargs)`` and :meth:`prepare` it. Like the authors, the principal
        components are taken of the raw [0, 1] pixels (centred, not whitened, not standardised);
        pass ``standardize=True`` to change that."""
        try:
            from .. import datasets  # type: ignore[attr-defined]
        except ImportError as exc:
            raise ImportError("glasslens.datasets is not available in this build; load the data "
                              "yourself (PCA to 20 components) and call preset.prepare(data)") from exc
        opts: Dict[str, Any] = {"standardize": False, **kwargs}
        return self.prepare(datasets.load(self.dataset, pca=self.pca, **opts))


_REGIMES = ("deep-under", "deep-over", "shallow")


def paper_preset(regime: str = "deep-under", dataset: str = "mnist") -> PaperPreset:
    """Settings of Zou & Huang 2021 for ``regime``:

    * ``"deep-under"``: 20-15-15-10 (675 weights), every training example (60,000 for MNIST:
      far more examples than weights), 50 epochs (the authors' sampling script).
    * ``"deep-over"``: 20-15-15-10 on the first 500 training examples (fewer examples than
      weights). One epoch is then 3 minibatches, so the preset runs 5000 epochs (15,000 Adam
      steps, the same as 50 epochs of 60,000 examples) - our choice; the authors' value is
      unknown.
    * ``"shallow"``: 20-10 (200 weights) on every training example, 50 epochs.

    Common: inputs reduced by PCA to 20 components (not whitened), batch 200, Adam lr 0.3,
    L2 1e-5 on theta, 100 trainings x 100 draws each (the authors' sampling script).
    ``dataset`` names the data (``"mnist"``, ``"fashion-mnist"``, ``"digits"``) for
    :meth:`PaperPreset.load_dataset`.
    """
    if not isinstance(regime, str) or regime not in _REGIMES:
        raise ValueError(f"regime must be one of {_REGIMES}, got {regime!r}")
    if not isinstance(dataset, str) or not dataset:
        raise TypeError(f"dataset must be a dataset name, got {dataset!r}")
    if regime == "deep-under":
        return PaperPreset(regime, dataset, 20, (15, 15), None, 50,
                           notes="under-parametrised: all training examples (60,000 for MNIST)")
    if regime == "deep-over":
        return PaperPreset(regime, dataset, 20, (15, 15), 500, 5000,
                           notes="over-parametrised: first 500 examples < 675 weights; 5000 "
                                 "epochs = 15,000 steps (our choice)")
    return PaperPreset(regime, dataset, 20, (), None, 50,
                       notes="shallow 20-10 net, all training examples")


# ---------------------------------------------------------------------------------------------
# internals
# ---------------------------------------------------------------------------------------------
def _sigmoid(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def _check_size(rows: int, cols: int, limit: int = MAX_BINARY_VALUES) -> None:
    if rows * cols > limit:
        raise ValueError(f"{rows} x {cols} values is too large (limit {limit:,}); draw in parts")


def _as_spins(x: Any, name: str, P: int) -> np.ndarray:
    raw = np.asarray(x)
    if raw.dtype.kind not in "iuf" or raw.dtype == np.bool_:
        raise TypeError(f"{name} must be an integer or float array of +-1, got dtype {raw.dtype}")
    if raw.ndim != 2 or raw.shape[1] != P:
        raise ValueError(f"{name} must have shape (M, {P}), got {raw.shape}")
    if raw.shape[0] == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all((raw == 1) | (raw == -1)):
        raise ValueError(f"{name} must hold only +1 and -1")
    return np.ascontiguousarray(raw, dtype=np.int8)


def _open_npz(path: PathLike, kind: str, allowed: Any = None):
    """(header, arrays) of a binarynet ``.npz`` through ``_lib._io.load_npz`` (no pickle)."""
    return load_npz(path, kind, allowed, format=_FORMAT)


_get = member
