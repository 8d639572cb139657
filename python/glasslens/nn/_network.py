"""Fully connected ReLU networks (``MLP``) and stacks of replicas (``Ensemble``).

Conventions shared by the whole library:

* ``widths = [d_in, h_1, ..., h_{L-1}, n_classes]``; layer ``l`` maps ``widths[l]`` to
  ``widths[l + 1]``; hidden layers use ReLU, the output layer is linear (logits) and the loss is
  softmax cross-entropy.
* ``weights[l]`` has shape ``(out, in)`` (float32), ``biases[l]`` shape ``(out,)``; an
  ``Ensemble`` stacks R replicas: ``(R, out, in)`` and ``(R, out)``.
* The flat parameter vector (``flat()``, used by every C++ kernel) concatenates, layer by
  layer, the row-major weight matrix and then the bias vector: ``[W0, b0, W1, b1, ...]``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from .._lib._io import build, load_npz, member, save_npz
from .._lib._validate import as_array, check_int
from .._lib._limits import MAX_WIDTH, check_alloc

PathLike = Union[str, Path]

_FORMAT = "glasslens-network-v1"


def _check_widths(widths: Sequence[int], limit: int = MAX_WIDTH, what: str = "") -> List[int]:
    """Validated layer widths as a list of positive ints (at most ``limit`` each)."""
    try:
        w = [int(v) for v in widths]
        ok = all(not isinstance(v, (bool, np.bool_)) and v == int(v) for v in widths)
    except Exception as exc:
        raise TypeError(f"widths must be a sequence of ints, got {widths!r}") from exc
    if not ok:
        raise TypeError(f"widths must be a sequence of ints, got {widths!r}")
    if len(w) < 2:
        raise ValueError(f"widths needs at least an input and an output size, got {w}")
    for v in w:
        if v < 1:
            raise ValueError(f"widths must be positive, got {w}")
        if v > limit:
            raise ValueError(f"widths entry {v} is absurdly large{what} (limit {limit:,})")
    return w


def _stacked_layers(layers: Sequence[Any], name: str) -> List[np.ndarray]:
    """Per-layer float32 stacks ``(R, out, in)`` checked for one replica count and chained sizes."""
    ws = [as_array(W, f"{name}[{i}]", np.float32, ndim=3) for i, W in enumerate(layers)]
    R = ws[0].shape[0]
    for i, W in enumerate(ws):
        if W.shape[0] != R:
            raise ValueError(f"{name}[{i}] holds {W.shape[0]} replicas, {name}[0] holds {R}")
        if i and W.shape[2] != ws[i - 1].shape[1]:
            raise ValueError(f"{name}[{i}] expects {W.shape[2]} inputs but {name}[{i - 1}] "
                             f"produces {ws[i - 1].shape[1]}")
    return ws


def n_params(widths: Sequence[int], bias: bool = True) -> int:
    """Number of parameters of an MLP with these widths."""
    w = _check_widths(widths)
    return int(sum(w[i + 1] * w[i] + (w[i + 1] if bias else 0) for i in range(len(w) - 1)))


def layer_slices(widths: Sequence[int], bias: bool = True) -> List[Dict[str, slice]]:
    """Positions of each layer's weight and bias inside the flat parameter vector."""
    w = _check_widths(widths)
    out: List[Dict[str, slice]] = []
    pos = 0
    for i in range(len(w) - 1):
        nw = w[i + 1] * w[i]
        d: Dict[str, slice] = {"weight": slice(pos, pos + nw)}
        pos += nw
        if bias:
            d["bias"] = slice(pos, pos + w[i + 1])
            pos += w[i + 1]
        out.append(d)
    return out


def _init_layer(rng: np.random.Generator, fan_out: int, fan_in: int, scheme: str, bias: bool):
    if scheme in ("kaiming", "he"):
        W = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_out, fan_in))
        b = np.zeros(fan_out)
    elif scheme == "xavier":
        W = rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_out, fan_in))
        b = np.zeros(fan_out)
    elif scheme == "lecun":
        W = rng.normal(0.0, np.sqrt(1.0 / fan_in), size=(fan_out, fan_in))
        b = np.zeros(fan_out)
    elif scheme == "pytorch":
        bound = 1.0 / np.sqrt(fan_in)
        W = rng.uniform(-bound, bound, size=(fan_out, fan_in))
        b = rng.uniform(-bound, bound, size=fan_out)
    else:
        raise ValueError(
            f"scheme must be one of 'kaiming', 'xavier', 'lecun', 'pytorch', got {scheme!r}"
        )
    return W.astype(np.float32), (b.astype(np.float32) if bias else None)


class MLP:
    """One fully connected ReLU network.

    Parameters
    ----------
    weights : list of float32 arrays, shape ``(out, in)``
    biases : list of float32 arrays ``(out,)`` or None for a network without biases
    """

    def __init__(self, weights: Sequence[Any], biases: Optional[Sequence[Any]] = None):
        if len(weights) < 1:
            raise ValueError("weights must hold at least one layer")
        ws = [as_array(W, f"weights[{i}]", np.float32, ndim=2) for i, W in enumerate(weights)]
        for i in range(1, len(ws)):
            if ws[i].shape[1] != ws[i - 1].shape[0]:
                raise ValueError(
                    f"weights[{i}] expects {ws[i].shape[1]} inputs but weights[{i - 1}] "
                    f"produces {ws[i - 1].shape[0]}"
                )
        self.weights: List[np.ndarray] = ws
        self.biases: Optional[List[np.ndarray]] = None
        if biases is not None:
            if len(biases) != len(ws):
                raise ValueError(f"biases has {len(biases)} layers, weights has {len(ws)}")
            self.biases = [
                as_array(b, f"biases[{i}]", np.float32, shape=(ws[i].shape[0],))
                for i, b in enumerate(biases)
            ]

    # ---- construction -----------------------------------------------------------------------
    @classmethod
    def init(
        cls, widths: Sequence[int], seed: int = 0, scheme: str = "kaiming", bias: bool = True
    ) -> "MLP":
        """Random initialisation. ``scheme``: 'kaiming' (N(0, 2/fan_in), zero bias), 'xavier',
        'lecun' or 'pytorch' (nn.Linear's default uniform law)."""
        w = _check_widths(widths)
        rng = np.random.default_rng(check_int(seed, "seed", 0))
        Ws, bs = [], []
        for i in range(len(w) - 1):
            W, b = _init_layer(rng, w[i + 1], w[i], scheme, bias)
            Ws.append(W)
            bs.append(b)
        return cls(Ws, bs if bias else None)

    @classmethod
    def from_flat(cls, widths: Sequence[int], theta: Any, bias: bool = True) -> "MLP":
        """Build from a flat parameter vector (layout in the module docstring)."""
        w = _check_widths(widths)
        P = n_params(w, bias)
        t = as_array(theta, "theta", np.float32, shape=(P,))
        sl = layer_slices(w, bias)
        Ws = [t[s["weight"]].reshape(w[i + 1], w[i]).copy() for i, s in enumerate(sl)]
        bs = [t[s["bias"]].copy() for s in sl] if bias else None
        return cls(Ws, bs)

    # ---- properties ---------------------------------------------------------------------------
    @property
    def widths(self) -> List[int]:
        return [self.weights[0].shape[1]] + [W.shape[0] for W in self.weights]

    @property
    def has_bias(self) -> bool:
        return self.biases is not None

    @property
    def depth(self) -> int:
        """Number of weight layers."""
        return len(self.weights)

    @property
    def n_params(self) -> int:
        return n_params(self.widths, self.has_bias)

    def flat(self) -> np.ndarray:
        """Flat float32 parameter vector ``(P,)``."""
        parts: List[np.ndarray] = []
        for i, W in enumerate(self.weights):
            parts.append(W.ravel())
            if self.biases is not None:
                parts.append(self.biases[i])
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    def copy(self) -> "MLP":
        return MLP([W.copy() for W in self.weights],
                   None if self.biases is None else [b.copy() for b in self.biases])

    # ---- reference computations (plain numpy) --------------------------------------------------
    def hidden(self, X: Any) -> List[np.ndarray]:
        """Post-ReLU activations of every hidden layer, each ``(n, width)`` float32."""
        Xa = as_array(X, "X", np.float32, ndim=2)
        if Xa.shape[1] != self.widths[0]:
            raise ValueError(f"X has {Xa.shape[1]} features, the network expects {self.widths[0]}")
        h = Xa
        acts = []
        for i, W in enumerate(self.weights[:-1]):
            z = h @ W.T
            if self.biases is not None:
                z = z + self.biases[i]
            h = np.maximum(z, 0.0)
            acts.append(h)
        return acts

    def forward(self, X: Any) -> np.ndarray:
        """Logits ``(n, n_classes)`` computed in numpy (the reference implementation)."""
        acts = self.hidden(X)
        h = acts[-1] if acts else as_array(X, "X", np.float32, ndim=2)
        z = h @ self.weights[-1].T
        if self.biases is not None:
            z = z + self.biases[-1]
        return z.astype(np.float32)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted class per row of X."""
        return np.argmax(self.forward(X), axis=1)

    # ---- persistence --------------------------------------------------------------------------
    def _arrays(self, prefix: str = "") -> Dict[str, np.ndarray]:
        d = {f"{prefix}W{i}": W for i, W in enumerate(self.weights)}
        if self.biases is not None:
            d.update({f"{prefix}b{i}": b for i, b in enumerate(self.biases)})
        return d

    def save(self, path: PathLike) -> None:
        """Save to ``.npz`` (no pickle)."""
        meta = {"format": _FORMAT, "kind": "MLP", "widths": self.widths, "bias": self.has_bias}
        save_npz(path, meta, self._arrays())

    @classmethod
    def load(cls, path: PathLike) -> "MLP":
        """Load a network saved by ``MLP.save``."""
        meta, z = _open_npz(path, "MLP", lambda k: k[:1] in ("W", "b") and k[1:].isdigit())
        L = len(meta["widths"]) - 1
        Ws = [_get(z, f"W{i}", path) for i in range(L)]
        bs = [_get(z, f"b{i}", path) for i in range(L)] if meta["bias"] else None
        net = _build(path, cls, Ws, bs)
        if net.widths != meta["widths"]:
            raise ValueError(f"{path} is corrupt: arrays give widths {net.widths}, header says "
                             f"{meta['widths']}")
        return net

    # ---- PyTorch interop (optional) --------------------------------------------------------------
    @classmethod
    def from_torch(cls, module_or_state_dict: Any) -> "MLP":
        """From an ``nn.Sequential`` of ``Linear``/``ReLU`` (or its state dict)."""
        try:
            import torch  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("MLP.from_torch needs PyTorch: pip install 'glasslens[torch]'") from exc
        import torch.nn as nn

        if isinstance(module_or_state_dict, nn.Module):
            mods = list(module_or_state_dict) if isinstance(
                module_or_state_dict, nn.Sequential) else [module_or_state_dict]
            # Accepted pattern: [Flatten] Linear (ReLU Linear)*, Identity anywhere. A missing
            # ReLU between two Linear layers or a ReLU after the last one would silently change
            # the function, so both are errors.
            lin = []
            pending_relu = False
            for pos, mod in enumerate(mods):
                if isinstance(mod, nn.Linear):
                    if lin and not pending_relu:
                        raise ValueError(
                            f"from_torch: layer {pos} is a Linear that follows a Linear without a "
                            "ReLU in between (glasslens MLPs have ReLU between all layers)")
                    lin.append(mod)
                    pending_relu = False
                elif isinstance(mod, nn.ReLU):
                    if not lin or pending_relu:
                        raise ValueError(f"from_torch: unexpected ReLU at position {pos}")
                    pending_relu = True
                elif isinstance(mod, nn.Identity) or (isinstance(mod, nn.Flatten) and not lin):
                    continue
                else:
                    raise ValueError(
                        f"from_torch supports nn.Sequential of Linear and ReLU only, found "
                        f"{type(mod).__name__} at position {pos}")
            if not lin:
                raise ValueError("module has no nn.Linear layer")
            if pending_relu:
                raise ValueError("from_torch: the network ends with a ReLU; glasslens MLPs have "
                                 "a linear output layer")
            Ws = [m.weight.detach().cpu().float().numpy() for m in lin]
            has_b = [m.bias is not None for m in lin]
            if any(has_b) and not all(has_b):
                raise ValueError("either every Linear layer has a bias or none has")
            bs = [m.bias.detach().cpu().float().numpy() for m in lin] if all(has_b) else None
            return cls(Ws, bs)
        if isinstance(module_or_state_dict, dict):
            sd = module_or_state_dict
            wkeys = [k for k in sd if k.endswith("weight")]
            if not wkeys:
                raise ValueError("state dict has no '*.weight' entries")

            def order(k: str) -> int:
                head = k.rsplit(".", 1)[0].split(".")[-1]
                return int(head) if head.isdigit() else 0

            wkeys.sort(key=order)
            Ws = [sd[k].detach().cpu().float().numpy() for k in wkeys]
            bkeys = [k[: -len("weight")] + "bias" for k in wkeys]
            if all(k in sd for k in bkeys):
                bs = [sd[k].detach().cpu().float().numpy() for k in bkeys]
            elif any(k in sd for k in bkeys):
                raise ValueError("either every Linear layer has a bias or none has")
            else:
                bs = None
            return cls(Ws, bs)
        raise TypeError(
            f"from_torch expects an nn.Module or a state dict, got {type(module_or_state_dict).__name__}")

    def to_torch(self) -> Any:
        """An equivalent ``nn.Sequential`` of ``Linear``/``ReLU`` (float32)."""
        try:
            import torch
            import torch.nn as nn
        except ImportError as exc:  # pragma: no cover
            raise ImportError("MLP.to_torch needs PyTorch: pip install 'glasslens[torch]'") from exc
        layers: List[Any] = []
        for i, W in enumerate(self.weights):
            lin = nn.Linear(W.shape[1], W.shape[0], bias=self.has_bias)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W.copy()))
                if self.biases is not None:
                    lin.bias.copy_(torch.from_numpy(self.biases[i].copy()))
            layers.append(lin)
            if i < len(self.weights) - 1:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    def __repr__(self) -> str:
        return f"MLP(widths={self.widths}, bias={self.has_bias}, n_params={self.n_params})"


class Ensemble:
    """R replicas of one architecture, stored as stacked arrays.

    Attributes
    ----------
    weights : list of float32 arrays ``(R, out, in)``
    biases : list of float32 arrays ``(R, out)`` or None
    history : dict of float arrays ``(R, n_records)`` (training curves; key 'epoch' is ``(n_records,)``)
    metrics : dict of float arrays ``(R,)`` (final 'train_loss', 'train_acc', 'test_loss', 'test_acc')
    meta : JSON-serialisable dict (how the replicas were made)
    """

    def __init__(
        self,
        weights: Sequence[Any],
        biases: Optional[Sequence[Any]] = None,
        history: Optional[Dict[str, Any]] = None,
        metrics: Optional[Dict[str, Any]] = None,
        meta: Optional[Dict[str, Any]] = None,
    ):
        if len(weights) < 1:
            raise ValueError("weights must hold at least one layer")
        ws = _stacked_layers(weights, "weights")
        R = ws[0].shape[0]
        self.weights: List[np.ndarray] = ws
        self.biases: Optional[List[np.ndarray]] = None
        if biases is not None:
            if len(biases) != len(ws):
                raise ValueError(f"biases has {len(biases)} layers, weights has {len(ws)}")
            self.biases = [as_array(b, f"biases[{i}]", np.float32, shape=(R, ws[i].shape[1]))
                           for i, b in enumerate(biases)]
        self.history: Dict[str, np.ndarray] = {
            k: np.asarray(v) for k, v in (history or {}).items()}
        self.metrics: Dict[str, np.ndarray] = {
            k: np.asarray(v, dtype=np.float64) for k, v in (metrics or {}).items()}
        for k, v in self.metrics.items():
            if v.shape != (R,):
                raise ValueError(f"metrics[{k!r}] must have shape ({R},), got {v.shape}")
        self.meta: Dict[str, Any] = dict(meta or {})

    # ---- construction -----------------------------------------------------------------------
    @classmethod
    def from_mlps(cls, nets: Sequence[MLP], **kw: Any) -> "Ensemble":
        """Stack networks of one architecture."""
        if len(nets) == 0:
            raise ValueError("nets must not be empty")
        w0, b0 = nets[0].widths, nets[0].has_bias
        for i, n in enumerate(nets):
            if n.widths != w0 or n.has_bias != b0:
                raise ValueError(f"nets[{i}] has widths {n.widths}, bias={n.has_bias}; "
                                 f"nets[0] has {w0}, bias={b0}")
        Ws = [np.stack([n.weights[l] for n in nets]) for l in range(len(w0) - 1)]
        bs = ([np.stack([n.biases[l] for n in nets]) for l in range(len(w0) - 1)]  # type: ignore[index]
              if b0 else None)
        return cls(Ws, bs, **kw)

    @classmethod
    def from_flat(cls, widths: Sequence[int], theta: Any, bias: bool = True, **kw: Any) -> "Ensemble":
        """Build from a ``(R, P)`` matrix of flat parameter vectors."""
        w = _check_widths(widths)
        P = n_params(w, bias)
        t = as_array(theta, "theta", np.float32, shape=(None, P))
        R = t.shape[0]
        sl = layer_slices(w, bias)
        Ws = [t[:, s["weight"]].reshape(R, w[i + 1], w[i]).copy() for i, s in enumerate(sl)]
        bs = [t[:, s["bias"]].copy() for s in sl] if bias else None
        return cls(Ws, bs, **kw)

    @classmethod
    def init(cls, widths: Sequence[int], replicas: int, seed: int = 0, scheme: str = "kaiming",
             bias: bool = True) -> "Ensemble":
        """R independent initialisations; replica r uses the seed spawned as (seed, r)."""
        R = check_int(replicas, "replicas", 1)
        w = _check_widths(widths)
        P = n_params(w, bias)
        check_alloc(2.0 * R * P * 4, f"replicas={R:,} x {P:,} parameters")
        seeds = replica_seeds(seed, R)
        return cls.from_mlps([MLP.init(w, int(s), scheme, bias) for s in seeds])

    # ---- properties ---------------------------------------------------------------------------
    @property
    def widths(self) -> List[int]:
        return [self.weights[0].shape[2]] + [W.shape[1] for W in self.weights]

    @property
    def has_bias(self) -> bool:
        return self.biases is not None

    @property
    def n_replicas(self) -> int:
        return self.weights[0].shape[0]

    @property
    def n_params(self) -> int:
        return n_params(self.widths, self.has_bias)

    def __len__(self) -> int:
        return self.n_replicas

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, (int, np.integer)):
            R = self.n_replicas
            i = int(idx)
            if not -R <= i < R:
                raise IndexError(f"replica index {i} out of range for {R} replicas")
            return MLP([W[i] for W in self.weights],
                       None if self.biases is None else [b[i] for b in self.biases])
        sel = np.arange(self.n_replicas)[idx]
        return Ensemble(
            [W[sel] for W in self.weights],
            None if self.biases is None else [b[sel] for b in self.biases],
            history={k: (v if k == "epoch" or v.ndim < 2 else v[sel]) for k, v in self.history.items()},
            metrics={k: v[sel] for k, v in self.metrics.items()},
            meta=self.meta,
        )

    def __iter__(self):
        for i in range(self.n_replicas):
            yield self[i]

    def flat(self) -> np.ndarray:
        """``(R, P)`` float32 matrix of flat parameter vectors."""
        R = self.n_replicas
        parts: List[np.ndarray] = []
        for i, W in enumerate(self.weights):
            parts.append(W.reshape(R, -1))
            if self.biases is not None:
                parts.append(self.biases[i])
        return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)

    def copy(self) -> "Ensemble":
        return Ensemble([W.copy() for W in self.weights],
                        None if self.biases is None else [b.copy() for b in self.biases],
                        {k: v.copy() for k, v in self.history.items()},
                        {k: v.copy() for k, v in self.metrics.items()}, json.loads(json.dumps(self.meta)))

    # ---- persistence --------------------------------------------------------------------------
    def save(self, path: PathLike) -> None:
        """Save to ``.npz`` (no pickle): weights, biases, history, metrics and meta."""
        meta = {"format": _FORMAT, "kind": "Ensemble", "widths": self.widths,
                "bias": self.has_bias, "meta": self.meta,
                "history": sorted(self.history), "metrics": sorted(self.metrics)}
        arrays: Dict[str, np.ndarray] = {f"W{i}": W for i, W in enumerate(self.weights)}
        if self.biases is not None:
            arrays.update({f"b{i}": b for i, b in enumerate(self.biases)})
        arrays.update({f"history/{k}": v for k, v in self.history.items()})
        arrays.update({f"metrics/{k}": v for k, v in self.metrics.items()})
        save_npz(path, meta, arrays)

    @classmethod
    def load(cls, path: PathLike) -> "Ensemble":
        """Load an ensemble saved by ``Ensemble.save``."""
        meta, z = _open_npz(path, "Ensemble", lambda k: k.startswith(("W", "b", "history/",
                                                                        "metrics/")))
        L = len(meta["widths"]) - 1
        Ws = [_get(z, f"W{i}", path) for i in range(L)]
        bs = [_get(z, f"b{i}", path) for i in range(L)] if meta["bias"] else None
        hist = {k: _get(z, f"history/{k}", path) for k in meta.get("history", [])}
        mets = {k: _get(z, f"metrics/{k}", path) for k in meta.get("metrics", [])}
        ens = _build(path, cls, Ws, bs, hist, mets, meta.get("meta", {}))
        if ens.widths != meta["widths"]:
            raise ValueError(f"{path} is corrupt: arrays give widths {ens.widths}, header says "
                             f"{meta['widths']}")
        return ens

    def __repr__(self) -> str:
        return (f"Ensemble(replicas={self.n_replicas}, widths={self.widths}, "
                f"bias={self.has_bias}, n_params={self.n_params})")


def replica_seeds(seed: int, n: int) -> np.ndarray:
    """Per-replica uint64 seeds spawned from ``np.random.SeedSequence(seed)``: item r of the
    result depends only on (seed, r)."""
    s = check_int(seed, "seed", 0)
    ss = np.random.SeedSequence(s)
    return np.array([c.generate_state(1, np.uint64)[0]
                     for c in ss.spawn(check_int(n, "n", 0))], dtype=np.uint64)


def _check_network_header(p: PathLike, meta: Dict[str, Any]) -> None:
    widths = meta.get("widths")
    if (not isinstance(widths, list) or len(widths) < 2
            or not all(isinstance(w, int) and w >= 1 for w in widths)
            or not isinstance(meta.get("bias"), bool)):
        raise ValueError(f"{p} is corrupt: bad 'widths'/'bias' header {widths!r}")


def _open_npz(path: PathLike, kind: str, allowed: Any = None):
    """Read a glasslens network ``.npz`` (``_lib._io.load_npz``: header first, no pickle) and
    check its header; returns (meta, arrays)."""
    def exact(meta: Dict[str, Any]) -> List[str]:
        # the header decides the arrays: a "bias": false header with bias arrays (or the other
        # way round) is corrupt, never silently a network without biases
        _check_network_header(Path(path), meta)
        L = len(meta["widths"]) - 1
        names = [f"W{i}" for i in range(L)] + ([f"b{i}" for i in range(L)] if meta["bias"] else [])
        if kind == "Ensemble":
            names += [f"history/{k}" for k in meta.get("history", [])]
            names += [f"metrics/{k}" for k in meta.get("metrics", [])]
        return names

    meta, arrays = load_npz(path, kind, allowed, format=_FORMAT, check_header=exact)
    return meta, arrays


_get = member
_build = build


def _savez(path: PathLike, **arrays: Any) -> None:
    """``np.savez`` to exactly ``path`` (kept for callers of the 0.1 helper; header in
    ``arrays['__meta__']``)."""
    head = json.loads(str(arrays.pop("__meta__"))) if "__meta__" in arrays else {}
    save_npz(path, head, arrays)
