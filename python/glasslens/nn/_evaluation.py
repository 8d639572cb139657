"""Fused evaluation of many networks on one data set (C++ engine): the one loss evaluator.

``evaluate`` computes, for K weight sets at once, the mean softmax cross-entropy (natural log)
and the accuracy on ``(X, y)``: matrix products, ReLU, output layer, log-softmax and the
argmax are fused in cache-sized tiles of samples, parallel over (weight set, tile). Partial sums
are combined in a fixed order, so the results are bit-identical for any ``n_threads``.

This is the one evaluator of "the loss of a network on a data set": every reported loss and
accuracy of an unperturbed network (``train_ensemble`` metrics and history, ``probes.profile``
``loss0``, ``probes.network_loss``, the start of ``probes.random_walk``, the end points of
``symmetry.interpolate``, ``flatness.loss_and_gradient`` / ``batch_loss`` /
``HessianOperator.loss`` / ``measures(...).loss``) comes from this kernel (through
:func:`mean_loss` for one network), so they are bit-identical for the same network and data.
Engines that evaluate thousands of perturbed networks in one fused pass (the profile's
directions, the walk's incremental moves, the Hessian operator's cached forward pass) keep their
own kernels for those perturbed values; they agree with this one to float32 rounding.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from .. import _core
from .._lib._threads import resolve_threads
from .._lib._data import as_data, as_xy
from .._lib._validate import as_array
from ._network import MLP, Ensemble, _check_widths, n_params

__all__ = ["evaluate", "loss_and_grad", "logits", "mean_loss"]


def _flat_params(
    nets: Any, widths: Optional[Sequence[int]], bias: bool, name: str = "nets"
) -> Tuple[np.ndarray, List[int], bool, bool]:
    """(theta (K, P) float32, widths, bias, single) from an Ensemble, an MLP or a flat array."""
    if isinstance(nets, Ensemble):
        return nets.flat(), nets.widths, nets.has_bias, False
    if isinstance(nets, MLP):
        return nets.flat()[None, :], nets.widths, nets.has_bias, True
    if widths is None:
        raise ValueError(
            f"{name} is an array of flat parameters: pass widths=[d_in, ..., n_classes] "
            "(and bias=) to describe the architecture")
    w = _check_widths(widths)
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"bias must be a bool, got {type(bias).__name__}")
    P = n_params(w, bool(bias))
    arr = np.asarray(nets)
    single = arr.ndim == 1
    theta = as_array(arr[None, :] if single else arr, name, np.float32, ndim=2)
    if theta.shape[1] != P:
        raise ValueError(
            f"{name} has {theta.shape[1]} parameters per network, widths={w} with bias={bool(bias)} "
            f"needs {P}")
    return theta, w, bool(bias), single


def _check_X(X: Any, d: int, name: str = "X") -> np.ndarray:
    Xa = as_array(X, name, np.float32, ndim=2)
    if Xa.shape[1] != d:
        raise ValueError(f"{name} has {Xa.shape[1]} features, the network expects {d}")
    return Xa


def mean_loss(net: MLP, X: np.ndarray, y: np.ndarray,
              n_threads: Optional[int] = None) -> Tuple[float, float]:
    """THE mean cross-entropy (nats per sample) and accuracy of one network on validated arrays
    (``X`` float32 C-contiguous ``(n, d_in)``, ``y`` int32 ``(n,)``, e.g. from
    ``_lib._data.as_data``): the value every entry point reports for an unperturbed network
    (bit-identical to ``evaluate`` of the same network, alone or inside an ensemble, for any
    ``n_threads``)."""
    loss, acc = _core.nn.evaluate(net.flat()[None, :], net.widths, net.has_bias, X, y,
                                  resolve_threads(n_threads))
    return float(loss[0]), float(acc[0])


def _train_xy(X: Any, y: Any, d: int, C: int) -> Tuple[np.ndarray, np.ndarray]:
    """(X, y) arrays from separate arguments, or from a data set in ``X`` when ``y`` is None."""
    if y is None:
        dd = as_data(X, name="X", n_features=d, n_classes=C)
    else:
        dd = as_xy(X, y, n_features=d, n_classes=C)
    return dd.X_train, dd.y_train


def evaluate(
    nets: Any,
    X: Any,
    y: Any = None,
    *,
    widths: Optional[Sequence[int]] = None,
    bias: bool = True,
    n_threads: Optional[int] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy loss and accuracy of K networks on one data set.

    Parameters
    ----------
    nets : Ensemble, MLP, or float32 array ``(K, P)`` (or ``(P,)``) of flat parameter vectors
        (layout of ``MLP.flat``); for arrays ``widths`` and ``bias`` describe the architecture.
    X : array ``(n, d_in)``, converted to float32; or, with ``y`` omitted, a data set in any
        accepted form (``Dataset``, object with ``X_train``/``y_train``, ``(X, y)``,
        ``(X_train, y_train, X_test, y_test)``, mapping): its training split is evaluated.
    y : integer labels ``(n,)`` in ``[0, n_classes)``.
    widths, bias : architecture of a flat-parameter array (ignored for Ensemble / MLP).
    n_threads : threads (None: the default, honouring ``OMP_NUM_THREADS``).

    Returns
    -------
    losses, accuracies : float64 arrays ``(K,)`` (K = 1 for a single MLP). Loss in nats per
    sample; accuracy in [0, 1] with argmax ties going to the lowest class index.
    """
    theta, w, b, _ = _flat_params(nets, widths, bias)
    Xa, ya = _train_xy(X, y, w[0], w[-1])
    nt = resolve_threads(n_threads)
    loss, acc = _core.nn.evaluate(theta, w, b, Xa, ya, nt)
    return np.asarray(loss), np.asarray(acc)


def loss_and_grad(net: Any, X: Any, y: Any = None, *, widths: Optional[Sequence[int]] = None,
                  bias: bool = True) -> Tuple[float, np.ndarray]:
    """Mean loss of one network on ``(X, y)`` and its gradient.

    ``net`` is an MLP or a flat parameter vector ``(P,)`` (then ``widths``/``bias`` are needed).
    Returns ``(loss, grad)`` with ``grad`` a float32 vector ``(P,)`` in the flat layout
    (``MLP.from_flat(widths, grad)`` splits it into layers). The gradient pass is serial; the
    reported loss is :func:`evaluate`'s (the one evaluator; the gradient kernel's own loss
    agrees to float32 rounding).
    """
    if isinstance(net, Ensemble):
        raise TypeError("loss_and_grad takes one network (an MLP or a (P,) vector), "
                        "not an Ensemble; index it: ens[i]")
    if not isinstance(net, MLP) and np.asarray(net).ndim != 1:
        raise ValueError("net must be an MLP or a flat parameter vector of shape (P,)")
    theta, w, b, _ = _flat_params(net, widths, bias, "net")
    Xa, ya = _train_xy(X, y, w[0], w[-1])
    _, grad, _ = _core.nn.loss_grad(theta[0], w, b, Xa, ya)
    loss, _ = _core.nn.evaluate(theta, w, b, Xa, ya, resolve_threads(None))
    return float(loss[0]), np.asarray(grad)


def logits(nets: Any, X: Any, *, widths: Optional[Sequence[int]] = None, bias: bool = True,
           n_threads: Optional[int] = None) -> np.ndarray:
    """Output-layer logits (float32): ``(n, n_classes)`` for an MLP or a ``(P,)`` vector,
    ``(K, n, n_classes)`` for an Ensemble or a ``(K, P)`` array."""
    theta, w, b, single = _flat_params(nets, widths, bias)
    Xa = _check_X(X, w[0])
    out = np.asarray(_core.nn.logits(theta, w, b, Xa, resolve_threads(n_threads)))
    return out[0] if single else out
