"""Train many replicas of a ReLU MLP at once with minibatch SGD (C++ engine).

The update is PyTorch's ``SGD(momentum, weight_decay)``::

    g = grad of the mean minibatch loss      (SAM: evaluated at theta + rho g0 / ||g0||)
    g = g + weight_decay * theta
    v = momentum * v + g
    theta = theta - lr(epoch) * v

Every replica runs inside one thread and its data order comes from a Philox stream keyed by
``(order_seed, order_stream, epoch)``, so results are bit-identical for any ``n_threads``.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from .. import _core
from .._lib._data import as_data
from .._lib._threads import resolve_threads
from .._lib._validate import as_array, check_alloc, check_float, check_int, check_labels, check_seed
from ._config import SCHEDULES as _SCHEDULES, TrainConfig
from ._evaluation import evaluate
from ._network import MLP, Ensemble, _check_widths, n_params, replica_seeds

__all__ = ["train_ensemble", "lr_schedule", "epoch_order", "noisy_labels", "derived_seeds",
           "TrainingDiverged", "DIVERGED_FACTOR", "LR_BUDGET"]

#: A training has diverged when a replica's weights are not finite or its full training loss
#: exceeds ``DIVERGED_FACTOR * max(initial loss, ln C)`` (C classes; ln C is the loss of a
#: uniform guess, so a run started near zero loss is not flagged for a small rise).
DIVERGED_FACTOR = 10.0

#: The learning-rate budget behind the suggestion of :class:`TrainingDiverged`:
#: ``lr = LR_BUDGET * (1 - momentum) / mean ||x||^2`` (mean squared input norm of the training
#: set). Calibrated on the digits defaults, which train well: lr 0.05, momentum 0.9 and
#: standardised 64-pixel inputs with mean ||x||^2 = 60 give 0.05 * 60 / 0.1 = 30. The SGD step
#: moves a sample's logits by about ``lr / (1 - momentum) * ||x||^2`` times its gradient, so
#: the same budget keeps that step the same on data of another scale or dimension
#: (standardised Fashion-MNIST: 784 features, mean ||x||^2 = 783 -> lr 0.003).
LR_BUDGET = 30.0


class TrainingDiverged(FloatingPointError):
    """A training run diverged (non-finite weights, or a training loss far above the initial
    one; see ``DIVERGED_FACTOR``). A FloatingPointError, so existing handlers still catch it.

    Attributes: ``replicas`` (indices that diverged), ``epoch`` (the last epoch run when it was
    detected), ``lr`` (the largest learning rate of the schedule), ``suggested_lr`` (the
    learning rate derived from the data's scale, ``LR_BUDGET``), ``loss`` / ``initial_loss``
    (per diverged replica; NaN where the weights are not finite), ``mean_sq_norm`` (mean
    ``||x||^2`` of the training inputs) and ``cause`` (one line, without the suggestion)."""

    def __init__(self, message: str, **info: Any) -> None:
        super().__init__(message)
        self.replicas: List[int] = list(info.get("replicas", []))
        self.epoch: Optional[int] = info.get("epoch")
        self.lr: Optional[float] = info.get("lr")
        self.suggested_lr: Optional[float] = info.get("suggested_lr")
        self.loss: List[float] = list(info.get("loss", []))
        self.initial_loss: List[float] = list(info.get("initial_loss", []))
        self.mean_sq_norm: Optional[float] = info.get("mean_sq_norm")
        self.cause: str = str(info.get("cause", message))

    def __reduce__(self) -> Any:  # picklable (process pools, Dask workers)
        return (_rebuild_diverged, (str(self), dict(self.__dict__)))


def _rebuild_diverged(message: str, state: Dict[str, Any]) -> "TrainingDiverged":
    exc = TrainingDiverged(message)
    exc.__dict__.update(state)
    return exc


def _round_down(v: float) -> float:
    """``v > 0`` rounded down to one significant digit (0.00383 -> 0.003)."""
    e = math.floor(math.log10(v))
    return float(f"{math.floor(v / 10.0 ** e + 1e-9) * 10.0 ** e:.1g}")


def _mean_sq_norm(X: np.ndarray) -> float:
    """Mean squared row norm of ``X (n, d)`` in float64, in row blocks (bounded memory)."""
    tot = 0.0
    for s in range(0, X.shape[0], 8192):
        c = X[s:s + 8192].astype(np.float64)
        tot += float(np.einsum("ij,ij->", c, c))
    return tot / max(X.shape[0], 1)


def _suggested_lr(X: np.ndarray, momentum: float, lr: float,
                  mean_sq: Optional[float] = None) -> float:
    """``LR_BUDGET * (1 - momentum) / mean ||x||^2`` rounded down to one digit, and below the
    learning rate that diverged (at most ``lr / 3``); ``mean_sq``: mean ||x||^2 if known."""
    s = _mean_sq_norm(X) if mean_sq is None else mean_sq
    v = LR_BUDGET * (1.0 - momentum) / s if s > 0 and np.isfinite(s) else lr / 10.0
    return _round_down(min(v, lr / 3.0))


def lr_schedule(
    lr: float, epochs: int, schedule: Union[str, Sequence[float]] = "constant",
    warmup_epochs: int = 0,
) -> np.ndarray:
    """Learning rate of each epoch ``(epochs,)`` float64.

    ``schedule``: 'constant'; 'cosine' (``lr * (1 + cos(pi e / E)) / 2``); 'linear'
    (``lr * (1 - e / E)``); 'step' (x0.1 from epoch ``E // 2`` and again from ``3 E // 4``);
    or a sequence of ``epochs`` explicit learning rates (then ``lr`` is ignored). A linear
    warm-up multiplies epoch ``e < warmup_epochs`` by ``(e + 1) / (warmup_epochs + 1)``.
    """
    E = check_int(epochs, "epochs", 0)
    w = check_int(warmup_epochs, "warmup_epochs", 0)
    e = np.arange(E, dtype=np.float64)
    if isinstance(schedule, str):
        base = check_float(lr, "lr", 0.0, low_open=True)
        if schedule == "constant":
            f = np.ones(E)
        elif schedule == "cosine":
            f = 0.5 * (1.0 + np.cos(np.pi * e / max(E, 1)))
        elif schedule == "linear":
            f = 1.0 - e / max(E, 1)
        elif schedule == "step":
            f = np.where(e >= E // 2, 0.1, 1.0) * np.where(e >= (3 * E) // 4, 0.1, 1.0)
        else:
            raise ValueError(f"schedule must be one of {_SCHEDULES} or a sequence of "
                             f"learning rates, got {schedule!r}")
        out = base * f
    else:
        out = as_array(schedule, "schedule", np.float64, ndim=1, allow_empty=True).copy()
        if out.shape[0] != E:
            raise ValueError(f"schedule has {out.shape[0]} learning rates, expected one per "
                             f"epoch ({E})")
        if np.any(out <= 0):
            raise ValueError("schedule must hold positive learning rates")
    if w:
        out = out * np.minimum(1.0, (e + 1.0) / (w + 1.0))
    return np.ascontiguousarray(out)


def derived_seeds(seed: int) -> Dict[str, int]:
    """The seeds train_ensemble derives from its ``seed``: data order and label noise."""
    s = check_seed(seed)
    return {
        "order_seed": int(np.random.SeedSequence([s, 1]).generate_state(1, np.uint64)[0]),
        "noise_seed": int(np.random.SeedSequence([s, 2]).generate_state(1, np.uint64)[0]),
    }


def epoch_order(order_seed: int, stream: int, epoch: int, n: int) -> np.ndarray:
    """Permutation of ``range(n)`` visited in ``epoch`` by data-order stream ``stream``."""
    return np.asarray(_core.nn.epoch_order(check_seed(order_seed, "order_seed"),
                                           check_seed(stream, "stream"),
                                           check_int(epoch, "epoch", 0), check_int(n, "n", 0)))


def noisy_labels(y: Any, n_classes: int, fraction: float, noise_seed: int, stream: int) -> np.ndarray:
    """Labels with exactly ``round(fraction * n)`` entries, chosen at random by the Philox stream
    ``(noise_seed, stream)``, moved to a different class drawn uniformly."""
    C = check_int(n_classes, "n_classes", 1)
    ya = check_labels(y, "y", n_classes=C)
    f = check_float(fraction, "fraction", 0.0, 1.0)
    return np.asarray(_core.nn.noisy_labels(ya, C, f, check_seed(noise_seed, "noise_seed"),
                                            check_seed(stream, "stream")))


def _dataset_arrays(dataset: Any):
    """(X, y, X_test, y_test, n_classes) through the one data contract (``_lib._data``); no
    test split gives empty test arrays (test metrics are then NaN)."""
    d = as_data(dataset, name="dataset")
    X, y = d.X_train, d.y_train
    if d.has_test:
        Xt, yt = d.X_test, d.y_test
    else:
        Xt, yt = np.zeros((0, X.shape[1]), np.float32), np.zeros(0, np.int32)
    return X, y, Xt, yt, d.classes()


# ---------------------------------------------------------------------------------------------
# train_ensemble and its steps
# ---------------------------------------------------------------------------------------------
_METRICS = ("train_loss", "train_acc", "test_loss", "test_acc")


def resolve_config(config: Optional[TrainConfig] = None, **overrides: Any) -> TrainConfig:
    """``config`` (default: ``TrainConfig()``) with the keyword ``overrides`` applied."""
    if config is None:
        config = TrainConfig()
    elif not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig or None, got {type(config).__name__}"
                        f" (pass hidden widths as hidden=...)")
    if not overrides:
        return config
    TrainConfig._check_names(overrides, "train_ensemble")
    return config.replace(**overrides)


class _Problem:
    """The validated data and the sizes of one training run."""

    def __init__(self, dataset: Any, cfg: TrainConfig, n_threads: Optional[int]) -> None:
        self.X, self.y, self.Xt, self.yt, self.C = _dataset_arrays(dataset)
        self.n, d = self.X.shape
        self.cfg = cfg
        self.widths = _check_widths([d, *cfg.hidden, self.C])
        self.R, self.E = cfg.replicas, cfg.epochs
        self.lrs = lr_schedule(cfg.lr, cfg.epochs, list(cfg.schedule) if not isinstance(
            cfg.schedule, str) else cfg.schedule, cfg.warmup_epochs)
        self.P = n_params(self.widths, cfg.bias)
        # parameters, velocities, the initial copy and per-thread gradients
        check_alloc(3.0 * self.R * self.P * 4, f"replicas={self.R:,} x {self.P:,} parameters")
        self.nt = resolve_threads(n_threads)
        if cfg.label_noise > 0 and self.C < 2:
            raise ValueError("label_noise needs at least 2 classes")

    def evaluate(self, theta: np.ndarray, X: np.ndarray, y: np.ndarray):
        return evaluate(theta, X, y, widths=self.widths, bias=self.cfg.bias, n_threads=self.nt)


def _initial_parameters(pb: _Problem, init: Any):
    """``(theta (R, P) float32, init_seeds or None)`` from ``init`` or the config's seeds."""
    cfg, widths, R = pb.cfg, pb.widths, pb.R
    bias = cfg.bias
    init_seeds: Optional[List[int]] = None
    if init is None:
        if cfg.family == "order":
            s0 = int(replica_seeds(cfg.seed, 1)[0])
            theta0 = np.repeat(MLP.init(widths, s0, cfg.init_scheme, bias).flat()[None], R,
                               axis=0)
            init_seeds = [s0] * R
        else:
            init_seeds = [int(v) for v in replica_seeds(cfg.seed, R)]
            theta0 = np.stack([MLP.init(widths, v, cfg.init_scheme, bias).flat()
                               for v in init_seeds])
    elif isinstance(init, (Ensemble, MLP)):
        if init.widths != widths or init.has_bias != bias:
            raise ValueError(f"init has widths {init.widths}, bias={init.has_bias}; the data and "
                             f"hidden={list(cfg.hidden)} need widths {widths}, bias={bias}")
        if isinstance(init, Ensemble):
            if init.n_replicas != R:
                raise ValueError(f"init holds {init.n_replicas} replicas but replicas={R}")
            theta0 = init.flat()
        else:
            if cfg.family == "init" and R > 1:
                raise ValueError("family='init' with a single initial MLP would train identical "
                                 "replicas; use family='order' (or pass an Ensemble)")
            theta0 = np.repeat(init.flat()[None], R, axis=0)
    else:
        raise TypeError(f"init must be None, an Ensemble or an MLP, got {type(init).__name__}")
    theta = np.ascontiguousarray(theta0, dtype=np.float32).copy()
    if not np.all(np.isfinite(theta)):
        raise ValueError("init contains NaN or inf")
    assert theta.shape == (R, pb.P)
    return theta, init_seeds


class _Streams:
    """The random streams of a run: derived seeds, the data-order stream and the label-noise
    stream of every replica, and the (possibly noisy) labels each replica trains on."""

    def __init__(self, pb: _Problem) -> None:
        cfg, R = pb.cfg, pb.R
        self.pb = pb
        self.seeds = derived_seeds(cfg.seed)
        self.order = (np.zeros(R, np.uint64) if cfg.family == "init"
                      else np.arange(R, dtype=np.uint64))
        self.noise = (np.zeros(R, np.uint64) if cfg.label_noise_shared
                      else np.arange(R, dtype=np.uint64))

    def labels_of(self, r: int) -> np.ndarray:
        pb = self.pb
        if pb.cfg.label_noise == 0:
            return pb.y
        return np.asarray(_core.nn.noisy_labels(pb.y, pb.C, pb.cfg.label_noise,
                                                self.seeds["noise_seed"], int(self.noise[r])))

    def train_metrics(self, theta: np.ndarray, rows: Optional[np.ndarray] = None,
                      sample: Optional[np.ndarray] = None):
        """Loss and accuracy on each replica's own training labels (rows: a subset of the
        replicas; sample: a subset of the training rows)."""
        pb = self.pb
        rows = np.arange(pb.R) if rows is None else rows
        X = pb.X if sample is None else pb.X[sample]
        pick = (lambda y: y) if sample is None else (lambda y: y[sample])  # noqa: E731
        if pb.cfg.label_noise == 0 or pb.cfg.label_noise_shared:
            return pb.evaluate(theta[rows] if len(rows) != pb.R else theta, X,
                               pick(self.labels_of(0)))
        out = [pb.evaluate(theta[r], X, pick(self.labels_of(int(r)))) for r in rows]
        return np.array([o[0][0] for o in out]), np.array([o[1][0] for o in out])

    def test_metrics(self, theta: np.ndarray, sample: Optional[np.ndarray] = None):
        pb = self.pb
        if pb.Xt.shape[0] == 0:
            return np.full(theta.shape[0], np.nan), np.full(theta.shape[0], np.nan)
        if sample is None:
            return pb.evaluate(theta, pb.Xt, pb.yt)
        return pb.evaluate(theta, pb.Xt[sample], pb.yt[sample])


#: rows of the training set on which a run with record='none' checks its loss for divergence
#: (before and after training; 2 cheap evaluations)
DIVERGENCE_ROWS = 256


def record_rows(n: int, size: int, seed: int, stream: int) -> Optional[np.ndarray]:
    """The sorted rows (int64) of a data set of ``n`` rows on which the history is evaluated
    with ``record_subsample=size``: ``size`` rows drawn without replacement by
    ``SeedSequence([seed, stream])`` (stream 3: training set, 4: test set); None (all rows)
    when ``size`` is 0 or >= n."""
    n, size = check_int(n, "n", 0), check_int(size, "size", 0)
    if size == 0 or size >= n:
        return None
    rng = np.random.default_rng(np.random.SeedSequence([check_seed(seed), stream]))
    return np.sort(rng.choice(n, size, replace=False)).astype(np.int64)


def _record_epochs(E: int, record_every: int, record: str = "epoch"):
    """Recorded epochs (record 'epoch': 0, every ``record_every``, the last; 'final': the last;
    'none': none) and, per epoch, the history column the engine writes after it (-1: none;
    epoch 0 is evaluated before the engine runs)."""
    if record == "none":
        rec_epochs: List[int] = []
    elif record == "final":
        rec_epochs = [E]
    else:
        rec_epochs = [0] + [e for e in range(1, E + 1) if e % record_every == 0 or e == E]
    slot = np.full(E, -1, np.int64)
    for j, e in enumerate(rec_epochs):
        if e > 0:
            slot[e - 1] = j
    return rec_epochs, slot


def _run_engine(pb: _Problem, st: _Streams, theta: np.ndarray, slot: np.ndarray,
                hist: Dict[str, np.ndarray], progress: bool,
                sample: Optional[np.ndarray] = None,
                test_sample: Optional[np.ndarray] = None,
                initial: Optional[np.ndarray] = None) -> np.ndarray:
    """Train ``theta`` in place with the C++ engine (in chunks of epochs when a progress bar is
    shown) and fill the history columns of epochs >= 1 (train metrics on the training rows
    ``sample``, test metrics on the test rows ``test_sample``; None: all); returns the epochs
    each replica ran."""
    cfg, R, E = pb.cfg, pb.R, pb.E
    velocity = np.zeros_like(theta)
    epochs_run = np.zeros(R, np.int64)
    stopped = np.zeros(R, np.uint8)
    Xt, yt = (pb.Xt, pb.yt) if test_sample is None else (
        np.ascontiguousarray(pb.Xt[test_sample]), np.ascontiguousarray(pb.yt[test_sample]))
    target = -1.0 if cfg.target_train_acc is None else cfg.target_train_acc
    # chunks of epochs: a bar update each (progress), and a divergence check each, so a
    # diverging run stops after about a tenth of its epochs instead of running to the end
    chunk = max(1, math.ceil(E / (100 if progress else 10)))
    bar = None
    if progress and E:
        from tqdm.auto import tqdm

        bar = tqdm(total=E, desc=f"train {R} x {pb.widths}", unit="epoch")
    try:
        e0 = 0
        while e0 < E:
            e1 = min(E, e0 + chunk)
            _core.nn.train(
                theta, velocity, epochs_run, stopped, hist["train_loss"], hist["train_acc"],
                hist["test_loss"], hist["test_acc"], pb.widths, cfg.bias,
                pb.X, pb.y, Xt, yt, st.noise, st.order, pb.lrs, slot,
                _core.nn.TrainOptions(
                    batch_size=cfg.batch_size, momentum=cfg.momentum,
                    weight_decay=cfg.weight_decay, sam_rho=cfg.sam_rho,
                    label_noise=cfg.label_noise, noise_seed=st.seeds["noise_seed"],
                    order_seed=st.seeds["order_seed"], target_train_acc=target,
                    epoch_begin=e0, epoch_end=e1), pb.nt, record_rows=sample)
            if bar is not None:
                bar.update(e1 - e0)
            written = slot[e0:e1]
            written = written[written >= 0]
            last = (hist["train_loss"][:, written[-1]]
                    if written.size and initial is not None else None)
            _check_diverged(pb, theta, last, stopped == 0, initial, e1)
            e0 = e1
            if cfg.target_train_acc is not None and stopped.all():
                break
    finally:
        if bar is not None:
            bar.close()
    _check_diverged(pb, theta, None, None, initial, int(epochs_run.max(initial=0)))
    return epochs_run


def _check_diverged(pb: _Problem, theta: np.ndarray, loss: Optional[np.ndarray],
                    active: Optional[np.ndarray], initial: np.ndarray, epoch: int) -> None:
    """Raise :class:`TrainingDiverged` when a replica's weights are not finite or its training
    ``loss`` (R,) (where ``active``) exceeds ``DIVERGED_FACTOR * max(initial, ln C)``."""
    bad_w = ~np.all(np.isfinite(theta), axis=1)
    bad = bad_w.copy()
    if loss is not None:
        limit = DIVERGED_FACTOR * np.maximum(initial, math.log(max(pb.C, 2)))
        with np.errstate(invalid="ignore"):
            high = ~np.isfinite(loss) | (loss > limit)
        bad |= high & (True if active is None else active)
    if not bad.any():
        return
    cfg = pb.cfg
    rows = np.flatnonzero(bad)
    lr = float(np.max(pb.lrs)) if pb.lrs.size else float(cfg.lr)
    msq = _mean_sq_norm(pb.X)
    sugg = _suggested_lr(pb.X, cfg.momentum, lr, msq)
    lv = [float("nan") if bad_w[r] or loss is None else float(loss[r]) for r in rows]
    if bad_w[rows].all():
        what = "non-finite weights"
    else:
        top = int(rows[np.nanargmax(np.where(np.isnan(lv), -np.inf, lv))])
        what = (f"training loss {float(loss[top]):.3g} against {float(initial[top]):.3g} at "
                f"the start (replica {top})")
    cause = (f"training diverged by epoch {epoch} of {pb.E}: {len(rows)} of {pb.R} replicas "
             f"{rows[:10].tolist()}{'...' if len(rows) > 10 else ''} have {what}; the learning "
             f"rate {lr:g} is too large for inputs with mean squared norm "
             f"{msq:.3g} ({pb.X.shape[1]} features) at momentum {cfg.momentum:g}")
    msg = (f"{cause}; try lr={sugg:g} (= {LR_BUDGET:g} x (1 - momentum) / mean squared norm, "
           f"the step of the digits defaults) or lower momentum")
    raise TrainingDiverged(msg, replicas=rows.tolist(), epoch=int(epoch), lr=lr,
                           suggested_lr=sugg, loss=lv,
                           initial_loss=[float(initial[r]) for r in rows],
                           mean_sq_norm=msq, cause=cause)


def _final_metrics(pb: _Problem, st: _Streams, theta: np.ndarray, hist: Dict[str, np.ndarray],
                   epochs_run: np.ndarray, full_history: bool) -> Dict[str, np.ndarray]:
    """The final metrics on all rows: the last history column when it holds them (recorded
    after the last epoch on all rows, with the same tiles as evaluate(); replicas that stopped
    early are evaluated again), else a full evaluation; NaN with record='none'."""
    E, R = pb.E, pb.R
    if pb.cfg.record == "none":
        metrics = {k: np.full(R, np.nan) for k in _METRICS}
        metrics["epochs_run"] = epochs_run.astype(np.float64)
        return metrics
    if not full_history:
        metrics = {}
        metrics["train_loss"], metrics["train_acc"] = st.train_metrics(theta)
        metrics["test_loss"], metrics["test_acc"] = st.test_metrics(theta)
        metrics["epochs_run"] = epochs_run.astype(np.float64)
        return metrics
    metrics = {k: hist[k][:, -1].copy() for k in _METRICS}
    redo = np.flatnonzero((epochs_run < E) | (E == 0))
    if redo.size and E > 0:
        metrics["train_loss"][redo], metrics["train_acc"][redo] = st.train_metrics(theta, redo)
        if pb.Xt.shape[0]:
            vl, va = pb.evaluate(theta[redo], pb.Xt, pb.yt)
            metrics["test_loss"][redo], metrics["test_acc"][redo] = vl, va
    metrics["epochs_run"] = epochs_run.astype(np.float64)
    return metrics


def _meta(pb: _Problem, st: _Streams, dataset: Any, init: Any,
          init_seeds: Optional[List[int]]) -> Dict[str, Any]:
    cfg, lrs, E = pb.cfg, pb.lrs, pb.E
    return {
        "trainer": "glasslens.train_ensemble",
        "widths": pb.widths, "bias": cfg.bias, "hidden": list(pb.widths[1:-1]),
        "replicas": pb.R, "epochs": E, "batch_size": cfg.batch_size,
        "full_batch": cfg.batch_size >= pb.n, "lr": float(lrs[0]) if E else None,
        "lr_per_epoch": lrs.tolist(),
        "schedule": cfg.schedule if isinstance(cfg.schedule, str) else "explicit",
        "warmup_epochs": cfg.warmup_epochs, "momentum": cfg.momentum,
        "weight_decay": cfg.weight_decay, "target_train_acc": cfg.target_train_acc,
        "family": cfg.family, "seed": cfg.seed, "init_scheme": cfg.init_scheme,
        "init_seeds": init_seeds, "init_given": init is not None,
        "order_seed": st.seeds["order_seed"], "order_streams": st.order.tolist(),
        "label_noise": cfg.label_noise, "label_noise_shared": cfg.label_noise_shared,
        "noise_seed": st.seeds["noise_seed"], "noise_streams": st.noise.tolist(),
        "sam_rho": cfg.sam_rho, "record_every": cfg.record_every, "record": cfg.record,
        "record_subsample": cfg.record_subsample, "n_train": int(pb.n),
        "n_test": int(pb.Xt.shape[0]), "n_classes": pb.C,
        "dataset": str(getattr(dataset, "name", type(dataset).__name__)),
    }


def train_ensemble(
    dataset: Any,
    config: Optional[TrainConfig] = None,
    *,
    init: Any = None,
    n_threads: Optional[int] = None,
    progress: bool = False,
    **overrides: Any,
) -> Ensemble:
    """Train ``replicas`` networks ``d_in -> hidden... -> n_classes`` with minibatch SGD.

    The training options come from ``config`` (a :class:`~glasslens.nn.TrainConfig`, default
    ``TrainConfig()``) and the keyword ``overrides`` (any TrainConfig field), which win:
    ``train_ensemble(ds, cfg, lr=0.1)`` equals ``train_ensemble(ds, cfg.replace(lr=0.1))``.

    Parameters
    ----------
    dataset : a ``glasslens.datasets.Dataset`` (``datasets.load``), an object with ``X_train
        (n, d)``, ``y_train (n,)`` and optionally ``X_test``, ``y_test``, ``n_classes`` (default:
        largest label + 1), a tuple ``(X, y)`` / ``(X_train, y_train, X_test, y_test)`` or a
        mapping with those keys (no test split: the test metrics are NaN).
    config : the training options; the fields (defaults in ``TrainConfig``) are:

        hidden : hidden-layer widths (empty: a linear softmax classifier).
        replicas : number of networks R.
        epochs : passes over the training set (0: just evaluate the initialisation).
        batch_size : minibatch size; ``>= n`` gives full-batch gradient descent. The last batch
            of an epoch may be smaller (PyTorch's ``drop_last=False``).
        lr, schedule, warmup_epochs : learning rate per epoch, see ``lr_schedule``.
        momentum : heavy-ball momentum in [0, 1) (PyTorch convention ``v = mu v + g``).
        weight_decay : L2 coefficient added to the gradient (``g + wd * theta``, biases
            included).
        target_train_acc : if set, each replica stops after the first epoch whose full
            training-set accuracy reaches it; later history entries are NaN and
            ``metrics['epochs_run']`` says when it stopped.
        family : 'init' - different initialisations (seeds ``replica_seeds(seed, R)``), one
            common data order; 'order' - one initialisation, a different data order per
            replica (same disorder, different noise); 'both' - both differ.
        seed : master seed; derives the init seeds and ``derived_seeds(seed)`` (data order,
            noise).
        init_scheme, bias : initialisation law (see ``MLP.init``) and whether layers have
            biases.
        label_noise : fraction of training labels moved to a random other class (exactly
            ``round(f n)`` of them), drawn per replica (or once for all with
            ``label_noise_shared=True``). Training and train metrics use the noisy labels.
        sam_rho : sharpness-aware minimisation radius (0: plain SGD). Each step takes the
            gradient at ``theta + rho g / ||g||`` on the same minibatch (two gradients per
            step).
        record_every : history every this many epochs (plus epoch 0 and the last epoch).
        record : which evaluations are made: 'epoch' (the history above), 'final' (the last
            epoch only) or 'none' (nothing is evaluated: empty history, NaN losses and
            accuracies in ``metrics``; the cheapest when only the weights are wanted, e.g.
            for Protocol 3; an early stop still evaluates the training set). The evaluations
            never change the trained weights.
        record_subsample : evaluate the history on this many training rows and this many test
            rows, drawn once without replacement (``nn._training.record_rows``); 0 or more than the rows
            there are: all. ``metrics`` always use all rows, and so does the early stop of
            ``target_train_acc``.
    init : Ensemble (R replicas) or MLP (copied to every replica) to start from instead.
    n_threads : threads (parallel over replicas).
    progress : show a tqdm progress bar over epochs.
    **overrides : TrainConfig fields that replace those of ``config``.

    Returns
    -------
    Ensemble with ``history['epoch'] (n_records,)`` and ``history['train_loss'|'train_acc'|
    'test_loss'|'test_acc'] (R, n_records)``, ``metrics`` (final values, ``(R,)``, plus
    'epochs_run') and ``meta`` (every setting and derived seed).
    """
    cfg = resolve_config(config, **overrides)
    pb = _Problem(dataset, cfg, n_threads)
    theta, init_seeds = _initial_parameters(pb, init)
    st = _Streams(pb)
    rec_epochs, slot = _record_epochs(pb.E, cfg.record_every, cfg.record)
    sample = record_rows(pb.n, cfg.record_subsample, cfg.seed, 3)
    test_sample = record_rows(pb.Xt.shape[0], cfg.record_subsample, cfg.seed, 4)
    hist = {k: np.full((pb.R, len(rec_epochs)), np.nan) for k in _METRICS}
    if rec_epochs and rec_epochs[0] == 0:
        hist["train_loss"][:, 0], hist["train_acc"][:, 0] = st.train_metrics(theta, sample=sample)
        hist["test_loss"][:, 0], hist["test_acc"][:, 0] = st.test_metrics(theta, test_sample)
        initial = hist["train_loss"][:, 0].copy()
    elif cfg.record == "final":
        initial = st.train_metrics(theta, sample=sample)[0]  # the divergence check's reference
    else:  # record='none': the divergence check reads a fixed subsample at the start and end
        check_rows = record_rows(pb.n, DIVERGENCE_ROWS, cfg.seed, 5)
        initial = st.train_metrics(theta, sample=check_rows)[0] if pb.E else None
    epochs_run = _run_engine(pb, st, theta, slot, hist, progress, sample, test_sample,
                             initial if cfg.record != "none" else None)
    metrics = _final_metrics(pb, st, theta, hist, epochs_run,
                             full_history=sample is None and test_sample is None)
    if pb.E and initial is not None:
        end = (metrics["train_loss"] if cfg.record != "none"
               else st.train_metrics(theta, sample=check_rows)[0])
        _check_diverged(pb, theta, end, None, initial, int(epochs_run.max(initial=0)))
    history: Dict[str, np.ndarray] = {"epoch": np.array(rec_epochs, np.int64), **hist}
    return Ensemble.from_flat(pb.widths, theta, cfg.bias, history=history, metrics=metrics,
                              meta=_meta(pb, st, dataset, init, init_seeds))
