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
from .._lib._validate import as_array, check_float, check_int, check_labels, check_seed
from .._lib._limits import MAX_EPOCHS, MAX_REPLICAS, check_alloc
from ._evaluation import evaluate
from ._network import MLP, Ensemble, _check_widths, n_params, replica_seeds

__all__ = ["train_ensemble", "lr_schedule", "epoch_order", "noisy_labels", "derived_seeds"]

_SCHEDULES = ("constant", "cosine", "linear", "step")
_FAMILIES = ("init", "order", "both")


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


def train_ensemble(
    dataset: Any,
    hidden: Sequence[int] = (32,),
    replicas: int = 8,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 0.05,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    schedule: Union[str, Sequence[float]] = "constant",
    warmup_epochs: int = 0,
    target_train_acc: Optional[float] = None,
    family: str = "init",
    seed: int = 0,
    init_scheme: str = "kaiming",
    bias: bool = True,
    label_noise: float = 0.0,
    sam_rho: float = 0.0,
    record_every: int = 1,
    init: Any = None,
    n_threads: Optional[int] = None,
    progress: bool = False,
    label_noise_shared: bool = False,
) -> Ensemble:
    """Train ``replicas`` networks ``d_in -> hidden... -> n_classes`` with minibatch SGD.

    Parameters
    ----------
    dataset : a ``glasslens.datasets.Dataset`` (``datasets.load``), an object with ``X_train
        (n, d)``, ``y_train (n,)`` and optionally ``X_test``, ``y_test``, ``n_classes`` (default:
        largest label + 1), a tuple ``(X, y)`` / ``(X_train, y_train, X_test, y_test)`` or a
        mapping with those keys (no test split: the test metrics are NaN).
    hidden : hidden-layer widths (empty: a linear softmax classifier).
    replicas : number of networks R.
    epochs : passes over the training set (0: just evaluate the initialisation).
    batch_size : minibatch size; ``>= n`` gives full-batch gradient descent. The last batch of
        an epoch may be smaller (PyTorch's ``drop_last=False``).
    lr, schedule, warmup_epochs : learning rate per epoch, see ``lr_schedule``.
    momentum : heavy-ball momentum in [0, 1) (PyTorch convention ``v = mu v + g``).
    weight_decay : L2 coefficient added to the gradient (``g + wd * theta``, biases included).
    target_train_acc : if set, each replica stops after the first epoch whose full training-set
        accuracy reaches it; later history entries are NaN and ``metrics['epochs_run']`` says
        when it stopped.
    family : 'init' - different initialisations (seeds ``replica_seeds(seed, R)``), one common
        data order; 'order' - one initialisation, a different data order per replica (same
        disorder, different noise); 'both' - both differ.
    seed : master seed; derives the init seeds and ``derived_seeds(seed)`` (data order, noise).
    init_scheme, bias : initialisation law (see ``MLP.init``) and whether layers have biases.
    label_noise : fraction of training labels moved to a random other class (exactly
        ``round(f n)`` of them), drawn per replica (or once for all with
        ``label_noise_shared=True``). Training and train metrics use the noisy labels.
    sam_rho : sharpness-aware minimisation radius (0: plain SGD). Each step takes the gradient
        at ``theta + rho g / ||g||`` on the same minibatch (two gradients per step).
    record_every : history every this many epochs (plus epoch 0 and the last epoch).
    init : Ensemble (R replicas) or MLP (copied to every replica) to start from instead.
    n_threads : threads (parallel over replicas).
    progress : show a tqdm progress bar over epochs.

    Returns
    -------
    Ensemble with ``history['epoch'] (n_records,)`` and ``history['train_loss'|'train_acc'|
    'test_loss'|'test_acc'] (R, n_records)``, ``metrics`` (final values, ``(R,)``, plus
    'epochs_run') and ``meta`` (every setting and derived seed).
    """
    X, y, Xt, yt, C = _dataset_arrays(dataset)
    n, d = X.shape
    if isinstance(hidden, (int, np.integer)):
        hidden = (int(hidden),)
    widths = _check_widths([d, *list(hidden), C])
    R = check_int(replicas, "replicas", 1, MAX_REPLICAS)
    E = check_int(epochs, "epochs", 0, MAX_EPOCHS)
    bs = check_int(batch_size, "batch_size", 1)
    mu = check_float(momentum, "momentum", 0.0)
    if mu >= 1.0:
        raise ValueError(f"momentum must be < 1, got {mu}")
    wd = check_float(weight_decay, "weight_decay", 0.0)
    lrs = lr_schedule(lr, E, schedule, warmup_epochs)
    target = None
    if target_train_acc is not None:
        target = check_float(target_train_acc, "target_train_acc", 0.0, 1.0, low_open=True)
    if family not in _FAMILIES:
        raise ValueError(f"family must be one of {_FAMILIES}, got {family!r}")
    s = check_seed(seed)
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"bias must be a bool, got {type(bias).__name__}")
    bias = bool(bias)
    P = n_params(widths, bias)
    # parameters, velocities, the initial copy and per-thread gradients
    check_alloc(3.0 * R * P * 4, f"replicas={R:,} x {P:,} parameters")
    noise = check_float(label_noise, "label_noise", 0.0, 1.0)
    rho = check_float(sam_rho, "sam_rho", 0.0)
    rec = check_int(record_every, "record_every", 1)
    nt = resolve_threads(n_threads)
    if noise > 0 and C < 2:
        raise ValueError("label_noise needs at least 2 classes")

    # ---- initial parameters and streams ------------------------------------------------------
    init_seeds: Optional[List[int]] = None
    if init is None:
        if family == "order":
            s0 = int(replica_seeds(s, 1)[0])
            theta0 = np.repeat(MLP.init(widths, s0, init_scheme, bias).flat()[None], R, axis=0)
            init_seeds = [s0] * R
        else:
            init_seeds = [int(v) for v in replica_seeds(s, R)]
            theta0 = np.stack([MLP.init(widths, v, init_scheme, bias).flat() for v in init_seeds])
    elif isinstance(init, Ensemble):
        if init.widths != widths or init.has_bias != bias:
            raise ValueError(f"init has widths {init.widths}, bias={init.has_bias}; the data and "
                             f"hidden={list(hidden)} need widths {widths}, bias={bias}")
        if init.n_replicas != R:
            raise ValueError(f"init holds {init.n_replicas} replicas but replicas={R}")
        theta0 = init.flat()
    elif isinstance(init, MLP):
        if init.widths != widths or init.has_bias != bias:
            raise ValueError(f"init has widths {init.widths}, bias={init.has_bias}; the data and "
                             f"hidden={list(hidden)} need widths {widths}, bias={bias}")
        if family == "init" and R > 1:
            raise ValueError("family='init' with a single initial MLP would train identical "
                             "replicas; use family='order' (or pass an Ensemble)")
        theta0 = np.repeat(init.flat()[None], R, axis=0)
    else:
        raise TypeError(f"init must be None, an Ensemble or an MLP, got {type(init).__name__}")
    theta = np.ascontiguousarray(theta0, dtype=np.float32).copy()
    if not np.all(np.isfinite(theta)):
        raise ValueError("init contains NaN or inf")
    assert theta.shape == (R, P)

    ds = derived_seeds(s)
    order_stream = (np.zeros(R, np.uint64) if family == "init"
                    else np.arange(R, dtype=np.uint64))
    noise_stream = (np.zeros(R, np.uint64) if label_noise_shared
                    else np.arange(R, dtype=np.uint64))

    # ---- history layout: epoch 0, every `rec` epochs, and the last --------------------------
    rec_epochs = [0] + [e for e in range(1, E + 1) if e % rec == 0 or e == E]
    slot = np.full(max(E, 1), -1, np.int64)[:E].copy()
    for j, e in enumerate(rec_epochs[1:], start=1):
        slot[e - 1] = j
    NR = len(rec_epochs)
    hist = {k: np.full((R, NR), np.nan) for k in ("train_loss", "train_acc", "test_loss", "test_acc")}

    def labels_of(r: int) -> np.ndarray:
        if noise == 0:
            return y
        return np.asarray(_core.nn.noisy_labels(y, C, noise, ds["noise_seed"],
                                                int(noise_stream[r])))

    def train_metrics(th: np.ndarray):
        if noise == 0 or label_noise_shared:
            return evaluate(th, X, labels_of(0), widths=widths, bias=bias, n_threads=nt)
        out = [evaluate(th[r], X, labels_of(r), widths=widths, bias=bias, n_threads=nt)
               for r in range(R)]
        return np.array([o[0][0] for o in out]), np.array([o[1][0] for o in out])

    def test_metrics(th: np.ndarray):
        if Xt.shape[0] == 0:
            return np.full(R, np.nan), np.full(R, np.nan)
        return evaluate(th, Xt, yt, widths=widths, bias=bias, n_threads=nt)

    hist["train_loss"][:, 0], hist["train_acc"][:, 0] = train_metrics(theta)
    hist["test_loss"][:, 0], hist["test_acc"][:, 0] = test_metrics(theta)

    velocity = np.zeros_like(theta)
    epochs_run = np.zeros(R, np.int64)
    stopped = np.zeros(R, np.uint8)
    h_tl = np.ascontiguousarray(hist["train_loss"][:, 1:]) if NR > 1 else np.zeros((R, 0))
    h_ta = np.ascontiguousarray(hist["train_acc"][:, 1:]) if NR > 1 else np.zeros((R, 0))
    h_vl = np.ascontiguousarray(hist["test_loss"][:, 1:]) if NR > 1 else np.zeros((R, 0))
    h_va = np.ascontiguousarray(hist["test_acc"][:, 1:]) if NR > 1 else np.zeros((R, 0))
    slot_c = np.where(slot >= 0, slot - 1, -1).astype(np.int64)

    chunk = E if not progress else max(1, math.ceil(E / 100))
    bar = None
    if progress and E:
        from tqdm.auto import tqdm

        bar = tqdm(total=E, desc=f"train {R} x {widths}", unit="epoch")
    try:
        e0 = 0
        while e0 < E:
            e1 = min(E, e0 + chunk)
            _core.nn.train(
                theta, velocity, epochs_run, stopped, h_tl, h_ta, h_vl, h_va, widths, bias,
                X, y, Xt, yt, noise_stream, order_stream, lrs, slot_c,
                _core.nn.TrainOptions(
                    batch_size=bs, momentum=mu, weight_decay=wd, sam_rho=rho, label_noise=noise,
                    noise_seed=ds["noise_seed"], order_seed=ds["order_seed"],
                    target_train_acc=-1.0 if target is None else target,
                    epoch_begin=e0, epoch_end=e1), nt)
            if bar is not None:
                bar.update(e1 - e0)
            e0 = e1
            if target is not None and stopped.all():
                break
    finally:
        if bar is not None:
            bar.close()
    if NR > 1:
        hist["train_loss"][:, 1:] = h_tl
        hist["train_acc"][:, 1:] = h_ta
        hist["test_loss"][:, 1:] = h_vl
        hist["test_acc"][:, 1:] = h_va
    if not np.all(np.isfinite(theta)):
        bad = np.flatnonzero(~np.all(np.isfinite(theta), axis=1))
        raise FloatingPointError(
            f"training diverged (non-finite weights in replicas {bad[:10].tolist()}); "
            f"lower lr (={lr}) or momentum")

    # Final metrics: the last history column (recorded after the last epoch, with the same
    # tiles as evaluate()); replicas that stopped early are evaluated again.
    metrics = {k: hist[k][:, -1].copy() for k in ("train_loss", "train_acc", "test_loss", "test_acc")}
    redo = np.flatnonzero((epochs_run < E) | (E == 0))
    if redo.size and E > 0:
        sub = theta[redo]
        if noise == 0 or label_noise_shared:
            tl, ta = evaluate(sub, X, labels_of(0), widths=widths, bias=bias, n_threads=nt)
        else:
            res = [evaluate(theta[r], X, labels_of(int(r)), widths=widths, bias=bias,
                            n_threads=nt) for r in redo]
            tl = np.array([o[0][0] for o in res])
            ta = np.array([o[1][0] for o in res])
        metrics["train_loss"][redo], metrics["train_acc"][redo] = tl, ta
        if Xt.shape[0]:
            vl, va = evaluate(sub, Xt, yt, widths=widths, bias=bias, n_threads=nt)
            metrics["test_loss"][redo], metrics["test_acc"][redo] = vl, va
    metrics["epochs_run"] = epochs_run.astype(np.float64)
    history: Dict[str, np.ndarray] = {"epoch": np.array(rec_epochs, np.int64), **hist}
    meta = {
        "trainer": "glasslens.train_ensemble",
        "widths": widths, "bias": bias, "hidden": list(widths[1:-1]), "replicas": R,
        "epochs": E, "batch_size": bs, "full_batch": bs >= n, "lr": float(lrs[0]) if E else None,
        "lr_per_epoch": lrs.tolist(), "schedule": schedule if isinstance(schedule, str) else "explicit",
        "warmup_epochs": int(warmup_epochs), "momentum": mu, "weight_decay": wd,
        "target_train_acc": target, "family": family, "seed": s, "init_scheme": init_scheme,
        "init_seeds": init_seeds, "init_given": init is not None,
        "order_seed": ds["order_seed"], "order_streams": order_stream.tolist(),
        "label_noise": noise, "label_noise_shared": bool(label_noise_shared),
        "noise_seed": ds["noise_seed"], "noise_streams": noise_stream.tolist(),
        "sam_rho": rho, "record_every": rec, "n_train": int(n), "n_test": int(Xt.shape[0]),
        "n_classes": C, "dataset": str(getattr(dataset, "name", type(dataset).__name__)),
    }
    return Ensemble.from_flat(widths, theta, bias, history=history, metrics=metrics, meta=meta)
