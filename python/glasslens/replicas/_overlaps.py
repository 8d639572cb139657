"""Overlap matrices between replicas: weights, +-1 configurations and network functions.

Three kinds of overlap q_ab between R replicas (or M configurations):

* ``kind="weights"``: the cosine (``normalize="cosine"``) or ``q = w_a . w_b / P``
  (``normalize="q"``) of the flattened parameter vectors (whole network or one layer). The
  hidden units are first aligned (``alignment=``, see ``glasslens._lib._alignment``; default
  ``"pairwise"``, every pair at its own optimal weight matching), since otherwise weight
  overlaps mostly measure the arbitrary order of the hidden units. Raw overlaps
  (``alignment="none"``) are one float32 BLAS product ``F @ F.T``.
* ``kind="signs"``: ``q_ab = (1/N) sum_i s_i^a s_i^b`` of +-1 configurations (spin
  configurations, binary weights, or the signs of real weights), computed exactly by a
  bit-packed XOR/popcount kernel in C++ (64 spins per machine word, AVX-512 VPOPCNTDQ or AVX2
  when available, OpenMP over tiles of the output; integer counts, so bit-identical for any
  thread count).
* ``kind="function"``: agreement of the argmax predictions on a data set ``X``
  (``output="argmax"``, fraction of equal predictions) or the Pearson correlation of the
  flattened logits (``output="logits"``). Needs no alignment.

Memory: the dense (M, M) float64 output takes 8 M^2 bytes (M = 10,000: 800 MB); the packed
configurations take M * ceil(N / 512) * 64 bytes. Inputs are processed in tiles of 32 rows.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import _core
from .._lib._alignment import check_alignment
from .._lib._deprecation import warn_moved
from .._lib._threads import resolve_threads
from .._lib._data import as_inputs
from .._lib._validate import as_array, check_int
from .._lib._limits import MAX_OVERLAP_REPLICAS
from ..nn._network import MLP, Ensemble, layer_slices

__all__ = [
    "PackedSigns",
    "pack_signs",
    "sign_overlaps",
    "overlap_matrix",
    "popcount_kernel",
]

_MAX_M = MAX_OVERLAP_REPLICAS  # refuse absurd replica counts (the dense output would be > 300 GB)


class PackedSigns:
    """Bit-packed +-1 configurations: ``words`` (M, stride) uint64, ``n_bits`` spins per row.

    Bit j of row a is set when s_j^a = -1; rows are zero-padded to a multiple of 512 bits.
    Build with :func:`pack_signs`.
    """

    def __init__(self, words: np.ndarray, n_bits: int):
        self.words = words
        self.n_bits = int(n_bits)

    def __len__(self) -> int:
        return int(self.words.shape[0])

    @property
    def shape(self) -> tuple:
        return (len(self), self.n_bits)

    def unpack(self, n_threads: Optional[int] = None) -> np.ndarray:
        """The configurations as an (M, N) int8 array of +-1."""
        return _core.replicas.unpack_signs(self.words, self.n_bits, resolve_threads(n_threads))

    def __repr__(self) -> str:
        return f"PackedSigns(M={len(self)}, n_bits={self.n_bits})"


def pack_signs(configs: Any, n_threads: Optional[int] = None) -> PackedSigns:
    """Pack an (M, N) array of +-1 values (int8, float32 or float64; other integer or float
    dtypes are converted) into 64-spin words. Every entry must be exactly +1 or -1."""
    if isinstance(configs, PackedSigns):
        return configs
    raw = np.asarray(configs)
    if raw.dtype == bool:
        raise TypeError("configs must hold +-1 numbers, got a boolean array (use 1 - 2 * b)")
    if raw.dtype not in (np.int8, np.float32, np.float64):
        if raw.dtype.kind in "iu":
            if raw.size and (raw.min() < -1 or raw.max() > 1):
                raise ValueError("configs must contain only +1 and -1")
            raw = raw.astype(np.int8)
        else:
            raw = as_array(raw, "configs", np.float64, finite=False)
    if raw.ndim == 1:
        raise ValueError(f"configs must have 2 dimensions (M, N), got shape {raw.shape}")
    arr = as_array(raw, "configs", raw.dtype, ndim=2, finite=False)
    if arr.shape[0] > _MAX_M:
        raise ValueError(f"configs has {arr.shape[0]} rows; the limit is {_MAX_M}")
    words = _core.replicas.pack_signs(arr, resolve_threads(n_threads))
    return PackedSigns(words, arr.shape[1])


def sign_overlaps(A: Any, B: Any = None, n_threads: Optional[int] = None) -> np.ndarray:
    """Overlaps ``q_ab = (1/N) sum_i A_ai B_bi`` of +-1 configurations (exact).

    Parameters
    ----------
    A : (Ma, N) array of +-1 or PackedSigns
    B : (Mb, N) array of +-1, PackedSigns or None (then A with itself, symmetric)

    Returns
    -------
    (Ma, Mb) float64 array with values in [-1, 1]; the diagonal of the symmetric case is 1.
    """
    nt = resolve_threads(n_threads)
    pa = pack_signs(A, nt)
    if B is None:
        return _core.replicas.overlap_packed(pa.words, pa.n_bits, None, nt)
    pb = pack_signs(B, nt)
    if pb.n_bits != pa.n_bits:
        raise ValueError(f"A has {pa.n_bits} spins per row but B has {pb.n_bits}")
    return _core.replicas.overlap_packed(pa.words, pa.n_bits, pb.words, nt)


def popcount_kernel() -> str:
    """The popcount kernel in use: 'avx512', 'avx2' or 'scalar'."""
    return str(_core.replicas.popcount_kernel())


# ---- alignment ------------------------------------------------------------------------------------

_UNSET: Any = object()


def legacy_aligned(aligned: Any, alignment: Any, func: str) -> Any:
    """The ``alignment`` meant by a call that may use the old keyword ``aligned``: False ->
    "none", True -> "reference", a string (an alignment name) unchanged; None = default."""
    if aligned is _UNSET:
        if isinstance(alignment, bool):  # an old positional ``aligned``
            aligned, alignment = alignment, None
        else:
            return alignment
    if alignment is not None:
        raise TypeError(f"{func}() got both aligned= (deprecated) and alignment=; pass only "
                        "alignment=")
    warn_moved(f"the keyword aligned= of {func}()",
               "alignment= ('none', 'pairwise', 'reference', 'medoid' or 'mean')")
    if aligned is False:
        return "none"
    if aligned is True:
        return "reference"
    return aligned


def default_alignment(ens: Optional[Ensemble], kind: str, normalize: str = "cosine",
                      layer: Optional[int] = None) -> str:
    """The default alignment: "pairwise" where it is defined (an Ensemble's whole-network cosine
    weight overlaps), "none" elsewhere."""
    if ens is not None and kind == "weights" and normalize == "cosine" and layer is None:
        return "pairwise"
    return "none"


def _aligned(ensemble: Ensemble, alignment: str, reference: int,
             n_threads: Optional[int]) -> Ensemble:
    from ..symmetry._matching import align_ensemble

    return align_ensemble(ensemble, alignment=alignment, reference=reference,
                          n_threads=n_threads).ensemble


# ---- overlap matrices ------------------------------------------------------------------------------

def _as_ensemble(x: Any) -> Optional[Ensemble]:
    if isinstance(x, Ensemble):
        return x
    if isinstance(x, (list, tuple)) and x and all(isinstance(n, MLP) for n in x):
        return Ensemble.from_mlps(list(x))
    return None


def _vectors(ens: Ensemble, layer: Optional[int]) -> np.ndarray:
    F = ens.flat()
    if layer is None:
        return F
    L = len(ens.weights)
    li = check_int(layer, "layer", -L, L - 1) % L
    sl = layer_slices(ens.widths, ens.has_bias)[li]
    parts = [F[:, sl["weight"]]]
    if "bias" in sl:
        parts.append(F[:, sl["bias"]])
    return np.ascontiguousarray(np.concatenate(parts, axis=1))


def _gram_overlaps(F: np.ndarray, normalize: str) -> np.ndarray:
    # One float32 BLAS product (numpy dispatches X @ X.T to syrk); non-finite inputs show up as
    # non-finite Gram entries, so the input is not scanned separately.
    G = F @ F.T
    if not np.all(np.isfinite(G)):
        bad = int(np.flatnonzero(~np.isfinite(G).all(axis=1))[0])
        raise ValueError(f"replica {bad} has a NaN or inf weight (or overflows float32)")
    G = G.astype(np.float64)
    G = 0.5 * (G + G.T)
    if normalize == "q":
        return G / F.shape[1]
    norms = np.sqrt(np.diag(G).copy())
    if np.any(norms == 0):
        raise ValueError(f"replica {int(np.flatnonzero(norms == 0)[0])} has an all-zero weight "
                         "vector; its cosine overlap is undefined (use normalize='q')")
    Q = G / np.outer(norms, norms)
    np.clip(Q, -1.0, 1.0, out=Q)
    np.fill_diagonal(Q, 1.0)
    return Q


def _function_overlaps(ens: Ensemble, X: Any, output: str, n_threads: Optional[int]) -> np.ndarray:
    Xa = as_inputs(X, name="X", n_features=ens.widths[0])
    try:
        from ..nn._evaluation import logits as _logits  # C++ forward pass (glasslens.evaluation)
    except ImportError:  # pragma: no cover - evaluation is part of the package
        logits = np.stack([net.forward(Xa) for net in ens])
    else:
        logits = np.asarray(_logits(ens, Xa, n_threads=n_threads))  # (R, n, C)
    R, n, C = logits.shape
    if output == "argmax":
        pred = np.argmax(logits, axis=2)
        onehot = np.zeros((R, n, C), dtype=np.float32)
        np.put_along_axis(onehot, pred[:, :, None], 1.0, axis=2)
        O = onehot.reshape(R, n * C)
        Q = (O @ O.T).astype(np.float64) / n
        np.fill_diagonal(Q, 1.0)
        return Q
    Z = logits.reshape(R, -1).astype(np.float64)
    Z = Z - Z.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(Z, axis=1)
    if np.any(norms == 0):
        raise ValueError("a replica has constant logits on X; the correlation is undefined")
    Q = (Z @ Z.T) / np.outer(norms, norms)
    np.clip(Q, -1.0, 1.0, out=Q)
    np.fill_diagonal(Q, 1.0)
    return Q


def overlap_matrix(
    ensemble_or_configs: Any,
    kind: str = "weights",
    alignment: Optional[str] = None,
    layer: Optional[int] = None,
    normalize: str = "cosine",
    X: Any = None,
    output: str = "argmax",
    reference: int = 0,
    n_threads: Optional[int] = None,
    *,
    client: Any = None,
    block_size: Optional[int] = None,
    aligned: Any = _UNSET,
) -> np.ndarray:
    """Overlap matrix ``Q`` (R, R) float64 between replicas.

    Parameters
    ----------
    ensemble_or_configs : Ensemble, list of MLP, (R, P) float array of flat parameter vectors,
        (M, N) array of +-1 configurations, or PackedSigns
    kind : 'weights' | 'signs' | 'function' (see the module docstring)
    alignment : how the hidden units of an Ensemble are aligned first (kinds 'weights' and
        'signs'; ignored for 'function'): 'pairwise' (every pair separately,
        ``glasslens.symmetry.pairwise_alignment``; kind='weights', normalize='cosine', whole
        network only; pairwise-aligned overlaps need not be those of one common labelling),
        'reference' (weight matching to replica ``reference``), 'medoid', 'mean' (one common
        labelling, ``glasslens.symmetry.align_ensemble``) or 'none' (raw). Default (None):
        'pairwise' where it is defined, 'none' elsewhere (arrays, signs, one layer, 'q').
        Deprecated: ``aligned=False`` is 'none', ``aligned=True`` is 'reference', a string is
        that alignment.
    layer : None for the whole network, or a layer index (its weight matrix and bias)
    normalize : 'cosine' (w_a . w_b / |w_a| |w_b|) or 'q' (w_a . w_b / P), for kind='weights'
    X : (n, d_in) inputs for kind='function', or a data set in any accepted form (its
        training inputs)
    output : 'argmax' (fraction of equal predictions) or 'logits' (Pearson correlation of the
        flattened logits), for kind='function'
    n_threads : threads of the popcount kernel (kind='signs'), of the forward passes
        (kind='function') and of the alignment; BLAS threads are not changed
    client : dask.distributed.Client or None: alignment='pairwise' runs its pairs as Dask tasks
        on the client's cluster (``pip install "glasslens[dask]"``); same result bit for bit
    block_size : replicas per tile side of a blocked alignment='pairwise' (None: one call, or
        the default tiles with a client); see ``glasslens.symmetry.pairwise_alignment``

    Returns
    -------
    Q : (R, R) float64, symmetric, unit diagonal for 'cosine', 'signs' and 'function'.
    """
    if kind not in ("weights", "signs", "function"):
        raise ValueError(f"kind must be 'weights', 'signs' or 'function', got {kind!r}")
    if normalize not in ("cosine", "q"):
        raise ValueError(f"normalize must be 'cosine' or 'q', got {normalize!r}")
    if output not in ("argmax", "logits"):
        raise ValueError(f"output must be 'argmax' or 'logits', got {output!r}")
    alignment = legacy_aligned(aligned, alignment, "overlap_matrix")
    ens = _as_ensemble(ensemble_or_configs)
    if alignment is None:
        alignment = default_alignment(ens, kind, normalize, layer)
    alignment = check_alignment(alignment)
    if kind == "function":
        alignment = "none"
    if ens is None and alignment != "none":
        raise ValueError(f"alignment={alignment!r} needs an Ensemble (arrays carry no network "
                         "structure)")
    if (client is not None or block_size is not None) and (ens is None
                                                            or alignment != "pairwise"):
        raise ValueError("client= and block_size= apply to alignment='pairwise' of an Ensemble "
                         f"only (here alignment={alignment!r})")
    if ens is not None and alignment == "pairwise":
        if kind != "weights" or normalize != "cosine" or layer is not None:
            raise ValueError("alignment='pairwise' supports kind='weights', normalize='cosine' "
                             "and layer=None only")
        from ..symmetry._matching import pairwise_alignment

        # only the overlaps are kept: no (M, M, H) permutations, here or on the workers
        Q = np.array(pairwise_alignment(ens, n_threads=n_threads, client=client,
                                        block_size=block_size, return_perms=False)[1],
                     dtype=np.float64)
        Q = 0.5 * (Q + Q.T)
        np.fill_diagonal(Q, 1.0)
        return Q
    if ens is not None and alignment != "none":
        ens = _aligned(ens, alignment, reference, n_threads)
    if kind == "function":
        if ens is None:
            raise TypeError("kind='function' needs an Ensemble or a list of MLP")
        if X is None:
            raise ValueError("kind='function' needs the inputs X")
        return _function_overlaps(ens, X, output, n_threads)
    if ens is None and layer is not None:
        raise ValueError("layer needs an Ensemble (arrays carry no network structure)")
    if kind == "signs":
        if isinstance(ensemble_or_configs, PackedSigns):
            return sign_overlaps(ensemble_or_configs, n_threads=n_threads)
        if ens is not None:
            F = _vectors(ens, layer)
            S = np.where(F >= 0, 1, -1).astype(np.int8)
            return sign_overlaps(S, n_threads=n_threads)
        return sign_overlaps(ensemble_or_configs, n_threads=n_threads)
    # weights
    if isinstance(ensemble_or_configs, PackedSigns):
        raise TypeError("PackedSigns input needs kind='signs'")
    F = _vectors(ens, layer) if ens is not None else as_array(
        ensemble_or_configs, "ensemble_or_configs", np.float32, ndim=2, finite=False)
    if F.shape[0] > _MAX_M:
        raise ValueError(f"{F.shape[0]} replicas exceed the limit of {_MAX_M}")
    return _gram_overlaps(F, normalize)

