"""Plain-numpy (float64) reference implementations for the nn tests."""
from __future__ import annotations

import numpy as np


def unflatten(widths, bias, theta):
    theta = np.asarray(theta, np.float64)
    Ws, bs, pos = [], [], 0
    for i in range(len(widths) - 1):
        nw = widths[i + 1] * widths[i]
        Ws.append(theta[pos:pos + nw].reshape(widths[i + 1], widths[i]))
        pos += nw
        if bias:
            bs.append(theta[pos:pos + widths[i + 1]])
            pos += widths[i + 1]
        else:
            bs.append(np.zeros(widths[i + 1]))
    assert pos == theta.size
    return Ws, bs


def forward(widths, bias, theta, X):
    Ws, bs = unflatten(widths, bias, theta)
    h = np.asarray(X, np.float64)
    hs = [h]
    for i, (W, b) in enumerate(zip(Ws, bs)):
        z = h @ W.T + b
        if i < len(Ws) - 1:
            h = np.maximum(z, 0.0)
            hs.append(h)
    return z, hs, Ws


def loss_acc(widths, bias, theta, X, y):
    z, _, _ = forward(widths, bias, theta, X)
    m = z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z - m).sum(axis=1)) + m[:, 0]
    y = np.asarray(y)
    return float(np.mean(lse - z[np.arange(len(y)), y])), float(np.mean(z.argmax(1) == y))


def loss_grad(widths, bias, theta, X, y):
    z, hs, Ws = forward(widths, bias, theta, X)
    n = z.shape[0]
    m = z.max(axis=1, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(axis=1, keepdims=True)
    y = np.asarray(y)
    loss = float(np.mean(np.log(s[:, 0]) + m[:, 0] - z[np.arange(n), y]))
    dz = e / s
    dz[np.arange(n), y] -= 1.0
    dz /= n
    grads = []
    for l in range(len(Ws) - 1, -1, -1):
        gW = dz.T @ hs[l]
        gb = dz.sum(axis=0)
        grads.append((gW, gb))
        if l > 0:
            dz = (dz @ Ws[l]) * (hs[l] > 0)
    parts = []
    for gW, gb in reversed(grads):
        parts.append(gW.ravel())
        if bias:
            parts.append(gb)
    return loss, np.concatenate(parts)


def sgd(widths, bias, theta, X, y, orders, batch_size, lrs, momentum, weight_decay, sam_rho=0.0):
    """Minibatch SGD (PyTorch convention) in float64; orders[e] is the row order of epoch e
    (None: natural order, used for full batch)."""
    theta = np.asarray(theta, np.float64).copy()
    v = np.zeros_like(theta)
    n = X.shape[0]
    for e, lr in enumerate(lrs):
        order = np.arange(n) if orders[e] is None else orders[e]
        for b0 in range(0, n, batch_size):
            idx = order[b0:b0 + batch_size]
            _, g = loss_grad(widths, bias, theta, X[idx], y[idx])
            if sam_rho > 0:
                eps = sam_rho * g / (np.linalg.norm(g) + 1e-12)
                _, g = loss_grad(widths, bias, theta + eps, X[idx], y[idx])
            g = g + weight_decay * theta
            v = momentum * v + g
            theta = theta - lr * v
    return theta
