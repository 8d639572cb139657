"""Datasets for glasslens experiments: ``load(name, ...) -> Dataset``.

Available names (``DATASETS``):

``"digits"`` (the embedded default)
    scikit-learn's bundled 8x8 handwritten digits (1,797 images, 64 features, 10 classes; no
    download). Pixels are scaled from 0..16 to [0, 1]. The train/test split is fixed and
    independent of ``seed``: within each class, every fourth example (positions 3, 7, 11, ... in
    file order) goes to the test set (445 images), the rest to the training set (1,352 images).
``"teacher"``
    Teacher-student data, the standard setting of the statistical mechanics of learning.
    Inputs are i.i.d. standard Gaussian, ``x ~ N(0, I_d)``; the label is the argmax of the
    logits of a random ReLU network (the *teacher*), ``MLP.init([d, *teacher_hidden, c],
    scheme="kaiming", bias=False)``. Options (keyword arguments of ``load``):
    ``n_features`` (d, default 20), ``teacher_hidden`` (int or tuple, default 16; ``()`` gives
    a linear teacher), ``n_classes`` (c, default 2), ``label_noise`` (default 0: the fraction of
    *training* labels replaced by a different class drawn uniformly; exactly
    ``round(label_noise * n_train)`` labels are flipped, their indices are in
    ``meta["teacher"]["flipped"]``; test labels stay clean), ``teacher_seed`` (default
    ``seed``: keep one teacher while redrawing the data). ``n_train`` and ``n_test`` (defaults
    2,000 and 2,000) are the numbers of samples generated. The teacher is returned as
    ``Dataset.teacher`` (an :class:`~glasslens.network.MLP` acting on the raw, unstandardised
    inputs) and its description in ``meta["teacher"]``.
``"cifar10"``
    CIFAR-10 in its standard binary distribution (``cifar-10-batches-bin``: ``data_batch_1.bin``
    .. ``data_batch_5.bin``, ``test_batch.bin``; records of 1 label byte + 3,072 pixel bytes,
    no pickle; :func:`read_cifar_batch`), 50,000 training and 10,000 test 32x32 RGB images
    flattened to 3,072 features (channel-major), pixels scaled to [0, 1] (and standardised by
    default, like every dataset). Searched in ``path`` and ``path/cifar-10-batches-bin``
    (or ``cifar10``), else under ``$GLASSLENS_DATA`` and ``/usr/share/datasets``. Training
    batches that are absent are left out with a UserWarning (``meta["source"]
    ["missing_train_batches"]``); the test batch is required.
``"fashion-mnist"``, ``"mnist"``
    The four standard IDX files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally ``.gz``; the
    ``train-images.idx3-ubyte`` spelling is accepted too), 60,000 training and 10,000 test
    28x28 images, pixels scaled from 0..255 to [0, 1]. Searched, in this order, in ``path`` and
    ``path/<name>`` when ``path`` is given; otherwise in ``$GLASSLENS_DATA/<name>``,
    ``$GLASSLENS_DATA`` and ``/usr/share/datasets/<name>`` (Debian/Ubuntu package
    ``dataset-fashion-mnist`` installs Fashion-MNIST there).

Options taken by every dataset, applied in this order:

1. ``classes``: keep only these original labels and renumber them ``0..c-1`` in the order
   given (``classes=(3, 5)`` maps 3 to 0 and 5 to 1).
2. ``n_train`` / ``n_test``: seeded *stratified* subsets (class proportions kept, largest
   remainder rounding), drawn independently for train and test from streams keyed by
   ``(seed, 0)`` and ``(seed, 1)``; the chosen samples keep their file order. ``None`` keeps
   everything. (For ``"teacher"`` these are the generated sizes instead.)
3. pixel scaling to [0, 1] (image datasets).
4. ``standardize``: subtract the training mean and divide by the training standard deviation,
   per feature; the same transform is applied to the test set. Features that are constant on
   the training set are only centred (their scale is left at 1).
5. ``pca=k``: project train and test on the first ``k`` principal components of the
   (standardised) training set. The projections are centred but not whitened; component signs
   are fixed so that each component's largest-magnitude entry is positive.
"""
from __future__ import annotations

import gzip
import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._lib._validate import as_array, check_alloc, check_float, check_int, check_seed
from ..nn._network import MLP
from .._lib._io import load_npz, save_npz
from .._lib._limits import MAX_DATASET_VALUES, MAX_FEATURES, MAX_IDX_BYTES

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["Dataset", "load", "load_dataset", "read_idx", "find_idx_files", "available",
           "DATASETS", "DATA_ENV"]

DATASETS: Tuple[str, ...] = ("digits", "teacher", "fashion-mnist", "mnist", "cifar10")
_FILE_DATASETS = ("fashion-mnist", "mnist", "cifar10")
DATA_ENV = "GLASSLENS_DATA"
_SYSTEM_DIR = "/usr/share/datasets"
_FORMAT = "glasslens-dataset-v1"

_FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                  "Sneaker", "Bag", "Ankle boot"]


# ---------------------------------------------------------------------------------------------
# Dataset container
# ---------------------------------------------------------------------------------------------
@dataclass(eq=False)
class Dataset:
    """A classification dataset split into train and test sets.

    Attributes
    ----------
    X_train, X_test : float32 arrays ``(n_train, d)``, ``(n_test, d)``, C-contiguous
    y_train, y_test : int64 arrays ``(n_train,)``, ``(n_test,)`` with labels in ``[0, n_classes)``
    name : dataset name (e.g. ``"digits"``)
    n_classes : number of classes (labels may leave some unused in a small subset)
    meta : JSON-serialisable dict: ``source``, ``options``, ``classes`` (original label of each
        new label), ``class_names``, ``standardize`` and ``pca`` summaries, class counts...
    teacher : the teacher network of ``"teacher"`` data, else None
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str
    n_classes: int
    meta: Dict[str, Any] = field(default_factory=dict)
    teacher: Optional[MLP] = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty str, got {self.name!r}")
        self.n_classes = check_int(self.n_classes, "n_classes", 1)
        self.X_train = as_array(self.X_train, "X_train", np.float32, ndim=2)
        self.X_test = as_array(self.X_test, "X_test", np.float32, ndim=2)
        if self.X_test.shape[1] != self.X_train.shape[1]:
            raise ValueError(f"X_test has {self.X_test.shape[1]} features, X_train has "
                             f"{self.X_train.shape[1]}")
        self.y_train = _labels(self.y_train, "y_train", self.X_train.shape[0], self.n_classes)
        self.y_test = _labels(self.y_test, "y_test", self.X_test.shape[0], self.n_classes)
        if not isinstance(self.meta, dict):
            raise TypeError(f"meta must be a dict, got {type(self.meta).__name__}")
        try:
            json.dumps(self.meta)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"meta must be JSON-serialisable: {exc}") from None
        # the teacher acts on the raw inputs (before standardize/pca), so no width check here
        if self.teacher is not None and not isinstance(self.teacher, MLP):
            raise TypeError(f"teacher must be an MLP or None, got {type(self.teacher).__name__}")

    # ---- properties ---------------------------------------------------------------------------
    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_train(self) -> int:
        return int(self.X_train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.X_test.shape[0])

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, n_train={self.n_train}, n_test={self.n_test}, "
                f"n_features={self.n_features}, n_classes={self.n_classes})")

    # ---- persistence --------------------------------------------------------------------------
    def save(self, path: PathLike) -> None:
        """Save to ``.npz`` at exactly ``path`` (no pickle); ``Dataset.load`` reads it back."""
        head = {"format": _FORMAT, "name": self.name, "n_classes": self.n_classes,
                "meta": self.meta, "teacher": None}
        arrays: Dict[str, np.ndarray] = {
            "X_train": self.X_train, "y_train": self.y_train,
            "X_test": self.X_test, "y_test": self.y_test}
        if self.teacher is not None:
            t = self.teacher
            head["teacher"] = {"widths": t.widths, "bias": t.has_bias}
            arrays.update({f"teacher/W{i}": W for i, W in enumerate(t.weights)})
            if t.biases is not None:
                arrays.update({f"teacher/b{i}": b for i, b in enumerate(t.biases)})
        save_npz(path, head, arrays)

    @classmethod
    def load(cls, path: PathLike) -> "Dataset":
        """Load a dataset written by :meth:`save`. Corrupt or foreign files raise ValueError."""
        p = Path(path)
        head, arrays = load_npz(
            p, None, lambda k: k in ("X_train", "y_train", "X_test", "y_test")
            or k.startswith("teacher/"), format=_FORMAT, what="valid glasslens dataset file",
            missing="no such dataset file")
        try:
            teacher = None
            if head.get("teacher"):
                L = len(head["teacher"]["widths"]) - 1
                Ws = [arrays[f"teacher/W{i}"] for i in range(L)]
                bs = [arrays[f"teacher/b{i}"] for i in range(L)] if head["teacher"]["bias"] else None
                teacher = MLP(Ws, bs)
            return cls(arrays["X_train"], arrays["y_train"], arrays["X_test"], arrays["y_test"],
                       head["name"], head["n_classes"], head.get("meta", {}), teacher)
        except Exception as exc:
            raise ValueError(f"{p} is not a valid glasslens dataset file (corrupt or wrong "
                             f"format): {type(exc).__name__}: {exc}") from exc


def _labels(y: Any, name: str, n: int, n_classes: int) -> np.ndarray:
    arr = as_array(y, name, np.int64, ndim=1, allow_empty=False)
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} labels, the features have {n} rows")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= n_classes:
        raise ValueError(f"{name} has labels in [{lo}, {hi}], expected [0, {n_classes})")
    return arr


# ---------------------------------------------------------------------------------------------
# IDX files
# ---------------------------------------------------------------------------------------------
_IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzip-compressed or not (detected from content).

    The header is checked strictly: two zero bytes, a known type code (0x08 ubyte, 0x09 byte,
    0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), 1 to 4 dimensions, all positive, and a
    payload whose size matches the header exactly. Any violation raises ValueError naming the
    file. The file is streamed: the header is read and checked (size cap, the machine's memory)
    before any data, then exactly the declared payload is read into the result and one more byte
    is tried, so a corrupt or hostile file (a gzip stream that expands without end) costs at most
    the declared array. Returns a native-endian array of shape ``dims``.
    """
    p = Path(path)
    try:
        fh = open(p, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"no such IDX file: {p}") from None
    with fh:
        gz = fh.read(2) == b"\x1f\x8b"
        fh.seek(0)
        stream: Any = gzip.GzipFile(fileobj=fh, mode="rb") if gz else fh
        try:
            return _read_idx_stream(stream, p)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{p}: corrupt or truncated gzip data ({exc})") from None


def _read_exact(stream: Any, n: int) -> bytes:
    """Up to ``n`` bytes (fewer only at the end of the stream)."""
    out = b""
    while len(out) < n:
        chunk = stream.read(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def _read_idx_stream(stream: Any, p: Path) -> np.ndarray:
    head = _read_exact(stream, 4)
    if len(head) < 4:
        raise ValueError(f"{p}: not an IDX file (only {len(head)} bytes, no header)")
    if head[0] != 0 or head[1] != 0:
        raise ValueError(f"{p}: not an IDX file (bad magic number 0x{head.hex()}; "
                         "expected 0x0000 followed by type and rank bytes)")
    code, ndim = head[2], head[3]
    if code not in _IDX_TYPES:
        raise ValueError(f"{p}: unknown IDX data type code 0x{code:02x}")
    if not 1 <= ndim <= 4:
        raise ValueError(f"{p}: IDX rank {ndim} is not supported (expected 1 to 4)")
    rest = _read_exact(stream, 4 * ndim)
    if len(rest) < 4 * ndim:
        raise ValueError(f"{p}: truncated IDX header ({4 + len(rest)} bytes, expected "
                         f"{4 + 4 * ndim})")
    dims = [int(v) for v in np.frombuffer(rest, dtype=">u4", count=ndim)]
    if any(d == 0 for d in dims):
        raise ValueError(f"{p}: IDX header has a zero dimension {dims}")
    dt = _IDX_TYPES[code]
    want = dt.itemsize * int(np.prod(dims, dtype=object))
    if want > MAX_IDX_BYTES:
        raise ValueError(f"{p}: IDX header dimensions {dims} are absurd ({want} bytes)")
    check_alloc(want, f"{p}: IDX header dimensions {dims}")
    buf = bytearray(want)
    view = memoryview(buf)
    have, step = 0, 1 << 24
    while have < want:
        n = stream.readinto(view[have:min(want, have + step)])
        if not n:
            break
        have += n
    if have < want:
        raise ValueError(f"{p}: truncated IDX file: header {dims} needs {want} data bytes, "
                         f"file has {have}")
    extra = stream.read(1 << 16)
    if extra:
        raise ValueError(f"{p}: IDX file has unexpected trailing bytes after {dims} data")
    arr = np.frombuffer(buf, dtype=dt).reshape(dims)
    return arr.astype(dt.newbyteorder("="), copy=False)


_IDX_PARTS = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def _candidate_dirs(name: str, path: Optional[PathLike]) -> List[Path]:
    if path is not None:
        base = Path(path)
        return [base, base / name]
    dirs: List[Path] = []
    env = os.environ.get(DATA_ENV)
    if env:
        dirs += [Path(env) / name, Path(env)]
    dirs.append(Path(_SYSTEM_DIR) / name)
    return dirs


def _find_in(d: Path) -> Dict[str, Optional[Path]]:
    found: Dict[str, Optional[Path]] = {}
    for key, stems in _IDX_PARTS.items():
        found[key] = None
        for stem in stems:
            for suffix in ("", ".gz"):
                f = d / (stem + suffix)
                if f.is_file():
                    found[key] = f
                    break
            if found[key] is not None:
                break
    return found


def find_idx_files(name: str, path: Optional[PathLike] = None) -> Dict[str, Path]:
    """Locate the four IDX files of ``name`` ("fashion-mnist" or "mnist").

    Returns a dict with keys ``train_images``, ``train_labels``, ``test_images``,
    ``test_labels``. Raises FileNotFoundError listing every directory searched and how to get
    the files.
    """
    if name not in ("fashion-mnist", "mnist"):
        raise ValueError(f"name must be 'fashion-mnist' or 'mnist', got {name!r}")
    looked: List[str] = []
    for d in _candidate_dirs(name, path):
        if not d.is_dir():
            looked.append(f"  {d} (no such directory)")
            continue
        found = _find_in(d)
        missing = [_IDX_PARTS[k][0] for k, v in found.items() if v is None]
        if not missing:
            return {k: v for k, v in found.items() if v is not None}
        looked.append(f"  {d} (missing {', '.join(missing)})")
    howto = (
        "To get the files: on Debian/Ubuntu `sudo apt-get install dataset-fashion-mnist` "
        f"(installs {_SYSTEM_DIR}/fashion-mnist), or download the four IDX files "
        "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
        f"t10k-labels-idx1-ubyte.gz) into a directory DIR or DIR/{name} and set "
        f"{DATA_ENV}=DIR (or pass path=DIR)."
    )
    if name == "mnist":
        howto = howto.replace("on Debian/Ubuntu `sudo apt-get install dataset-fashion-mnist` "
                              f"(installs {_SYSTEM_DIR}/fashion-mnist), or ", "")
        howto += " MNIST is mirrored at https://ossci-datasets.s3.amazonaws.com/mnist/."
    else:
        howto += " Upstream: https://github.com/zalandoresearch/fashion-mnist (data/fashion)."
    raise FileNotFoundError(
        f"{name} IDX files not found. Looked in:\n" + "\n".join(looked) + "\n" + howto)


def _load_idx_dataset(name: str, path: Optional[PathLike]):
    files = find_idx_files(name, path)
    out = {}
    for key, f in files.items():
        arr = read_idx(f)
        if arr.dtype != np.uint8:
            raise ValueError(f"{f}: expected unsigned byte data (type 0x08), got {arr.dtype}")
        want_ndim = 3 if key.endswith("images") else 1
        if arr.ndim != want_ndim:
            raise ValueError(f"{f}: expected a rank-{want_ndim} IDX file, got shape {arr.shape}")
        out[key] = arr
    for split in ("train", "test"):
        ni, nl = out[f"{split}_images"].shape[0], out[f"{split}_labels"].shape[0]
        if ni != nl:
            raise ValueError(f"{files[split + '_labels']}: {nl} labels but "
                             f"{files[split + '_images']} has {ni} images")
        mx = int(out[f"{split}_labels"].max())
        if mx > 9:
            raise ValueError(f"{files[split + '_labels']}: label {mx} out of range 0..9")
    if out["train_images"].shape[1:] != out["test_images"].shape[1:]:
        raise ValueError(f"{files['test_images']}: image size {out['test_images'].shape[1:]} "
                         f"differs from training images {out['train_images'].shape[1:]}")
    Xtr = out["train_images"].reshape(out["train_images"].shape[0], -1)
    Xte = out["test_images"].reshape(out["test_images"].shape[0], -1)
    names = _FASHION_NAMES if name == "fashion-mnist" else [str(i) for i in range(10)]
    source = {"files": {k: str(v) for k, v in files.items()},
              "image_shape": list(out["train_images"].shape[1:])}
    return (Xtr, out["train_labels"].astype(np.int64), Xte, out["test_labels"].astype(np.int64),
            255.0, 10, names, source)


# ---------------------------------------------------------------------------------------------
# Raw loaders: return (X_train, y_train, X_test, y_test, pixel_scale, n_classes, class_names,
# source dict). X may be any numeric dtype; it is converted to float32 / pixel_scale later.
# ---------------------------------------------------------------------------------------------
def _load_digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    X = np.asarray(d.data)
    y = np.asarray(d.target, dtype=np.int64)
    test = np.zeros(len(y), dtype=bool)
    for c in range(10):
        idx = np.flatnonzero(y == c)
        test[idx[3::4]] = True
    source = {"origin": "sklearn.datasets.load_digits", "image_shape": [8, 8],
              "split": "test = every 4th example of each class (positions 3, 7, ...)"}
    return (X[~test], y[~test], X[test], y[test], 16.0, 10, [str(i) for i in range(10)], source)


def _hidden_tuple(h: Any) -> Tuple[int, ...]:
    if isinstance(h, (int, np.integer)) and not isinstance(h, bool):
        return (check_int(h, "teacher_hidden", 1, MAX_FEATURES),)
    try:
        seq = tuple(h)
    except TypeError:
        raise TypeError(f"teacher_hidden must be an int or a sequence of ints, got {h!r}") from None
    return tuple(check_int(v, "teacher_hidden", 1, MAX_FEATURES) for v in seq)


def _load_teacher(n_train, n_test, seed, kw):
    n_features = check_int(kw.pop("n_features", 20), "n_features", 1, MAX_FEATURES)
    hidden = _hidden_tuple(kw.pop("teacher_hidden", 16))
    c = check_int(kw.pop("n_classes", 2), "n_classes", 2, 10_000)
    noise = check_float(kw.pop("label_noise", 0.0), "label_noise", 0.0, 1.0)
    tseed = check_seed(kw.pop("teacher_seed", seed), "teacher_seed")
    ntr = 2000 if n_train is None else check_int(n_train, "n_train", 1, 50_000_000)
    nte = 2000 if n_test is None else check_int(n_test, "n_test", 1, 50_000_000)
    if (ntr + nte) * n_features > MAX_DATASET_VALUES:
        raise ValueError(f"teacher data of ({ntr} + {nte}) x {n_features} values is too large")
    widths = [n_features, *hidden, c]
    tss = np.random.SeedSequence([tseed, 0x7EAC4E5])
    teacher = MLP.init(widths, seed=int(tss.generate_state(1, np.uint64)[0]), scheme="kaiming",
                       bias=False)
    rngs = [np.random.default_rng(np.random.SeedSequence([seed, 0x7EAC4E5, k])) for k in (1, 2, 3)]
    Xtr = rngs[0].standard_normal((ntr, n_features), dtype=np.float32)
    Xte = rngs[1].standard_normal((nte, n_features), dtype=np.float32)
    ytr = teacher.predict(Xtr).astype(np.int64)
    yte = teacher.predict(Xte).astype(np.int64)
    n_flip = int(round(noise * ntr))
    flipped = np.sort(rngs[2].choice(ntr, size=n_flip, replace=False)) if n_flip else np.zeros(0, int)
    if n_flip:
        shift = rngs[2].integers(1, c, size=n_flip)
        ytr[flipped] = (ytr[flipped] + shift) % c
    source = {"origin": "random ReLU teacher", "teacher": {
        "widths": widths, "bias": False, "scheme": "kaiming", "teacher_seed": tseed,
        "label_noise": noise, "n_flipped": n_flip, "flipped": [int(i) for i in flipped],
        "clean_train_acc_of_teacher": float(1.0 - n_flip / ntr)}}
    return (Xtr, ytr, Xte, yte, 1.0, c, [str(i) for i in range(c)], source), teacher


# ---------------------------------------------------------------------------------------------
# Option handling
# ---------------------------------------------------------------------------------------------
def _stratified_subset(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of a stratified random subset of size n (largest-remainder allocation), sorted."""
    labels, counts = np.unique(y, return_counts=True)
    quota = counts * (n / len(y))
    take = np.floor(quota).astype(np.int64)
    rest = n - int(take.sum())
    if rest:
        # largest remainders first; ties broken by label order (deterministic)
        order = np.lexsort((labels, -(quota - take)))
        take[order[:rest]] += 1
    idx = [rng.choice(np.flatnonzero(y == lab), size=int(k), replace=False)
           for lab, k in zip(labels, take) if k]
    return np.sort(np.concatenate(idx)) if idx else np.zeros(0, np.int64)


def _apply_classes(classes, ytr, yte, n_classes, names):
    if isinstance(classes, (int, np.integer)) or isinstance(classes, (str, bytes)):
        raise TypeError(f"classes must be a sequence of labels such as (0, 1), got {classes!r}")
    try:
        cl = [check_int(c, "classes entry") for c in classes]
    except TypeError as exc:
        raise TypeError(f"classes must be a sequence of int labels, got {classes!r}: {exc}") from None
    if len(cl) < 2:
        raise ValueError(f"classes must name at least 2 labels, got {cl}")
    if len(set(cl)) != len(cl):
        raise ValueError(f"classes has repeated labels: {cl}")
    bad = [c for c in cl if not 0 <= c < n_classes]
    if bad:
        raise ValueError(f"classes has unknown label(s) {bad}; this dataset has labels "
                         f"0..{n_classes - 1}")
    lut = np.full(n_classes, -1, dtype=np.int64)
    lut[cl] = np.arange(len(cl))
    mtr, mte = lut[ytr] >= 0, lut[yte] >= 0
    return mtr, mte, lut, cl, [names[c] for c in cl]


def _standardize(Xtr: np.ndarray, Xte: np.ndarray):
    mean = Xtr.mean(axis=0, dtype=np.float64)
    var = np.zeros_like(mean)
    for s in range(0, Xtr.shape[0], 8192):  # chunked two-pass variance in float64
        d = Xtr[s:s + 8192].astype(np.float64) - mean
        var += np.einsum("ij,ij->j", d, d)
    std = np.sqrt(var / Xtr.shape[0])
    const = std <= 1e-7 * np.maximum(1.0, np.abs(mean))
    scale = np.where(const, 1.0, std)
    out = [_chunked(X, lambda c: (c - mean) / scale, X.shape[1]) for X in (Xtr, Xte)]
    return out[0], out[1], {"n_constant_features": int(const.sum()),
                            "constant_features": [int(i) for i in np.flatnonzero(const)]}


def _chunked(X: np.ndarray, f: Any, d_out: int, chunk: int = 8192) -> np.ndarray:
    """float32 result of ``f`` applied in float64 to row blocks of X (bounded memory)."""
    out = np.empty((X.shape[0], d_out), dtype=np.float32)
    for s in range(0, X.shape[0], chunk):
        out[s:s + chunk] = f(X[s:s + chunk].astype(np.float64))
    return out


def _pca(Xtr: np.ndarray, Xte: np.ndarray, k: int):
    n, d = Xtr.shape
    mean = Xtr.mean(axis=0, dtype=np.float64)
    if n > d:
        G = np.zeros((d, d))
        for s in range(0, n, 8192):
            c = Xtr[s:s + 8192].astype(np.float64) - mean
            G += c.T @ c
        evals, evecs = np.linalg.eigh(G)
        order = np.argsort(evals)[::-1]
        evals, comps = np.maximum(evals[order], 0.0), evecs[:, order].T
    else:
        _, sv, vt = np.linalg.svd(Xtr.astype(np.float64) - mean, full_matrices=False)
        evals, comps = sv ** 2, vt
    comps = comps[:k]
    signs = np.sign(comps[np.arange(k), np.argmax(np.abs(comps), axis=1)])
    comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
    ev = evals / max(n - 1, 1)
    total = float(ev.sum())
    proj = [_chunked(X, lambda c: (c - mean) @ comps.T, k) for X in (Xtr, Xte)]
    info = {"k": k, "explained_variance": [float(v) for v in ev[:k]],
            "explained_variance_ratio": [float(v / total) if total > 0 else 0.0 for v in ev[:k]],
            "total_variance": total}
    return proj[0], proj[1], info


def load(
    name: str = "digits",
    *,
    n_train: Optional[int] = None,
    n_test: Optional[int] = None,
    standardize: bool = True,
    pca: Optional[int] = None,
    classes: Optional[Sequence[int]] = None,
    seed: int = 0,
    path: Optional[PathLike] = None,
    n_threads: Optional[int] = None,
    **kw: Any,
) -> Dataset:
    """Load a dataset by name (see the module docstring for the datasets and the options).

    Parameters
    ----------
    name : one of ``DATASETS``: "digits" (default), "teacher", "fashion-mnist", "mnist",
        "cifar10"
    n_train, n_test : sizes of seeded stratified subsets (None: all); for "teacher" the numbers
        of samples generated (default 2,000 each)
    standardize : centre and scale features with training-set statistics
    pca : project on the first ``pca`` principal components of the training set (None: off)
    classes : original labels to keep, renumbered 0..c-1 in the given order (None: all)
    seed : seed of the subsets (and of the teacher data)
    path : directory holding the files (fashion-mnist, mnist: IDX; cifar10: binary batches)
    n_threads : BLAS threads used by the PCA (None: library default)
    **kw : dataset-specific options ("teacher": n_features, teacher_hidden, n_classes,
        label_noise, teacher_seed)

    Returns
    -------
    Dataset with float32 C-contiguous features and int64 labels.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    key = name.lower().replace("_", "-")
    key = {"fashion": "fashion-mnist", "cifar-10": "cifar10"}.get(key, key)
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")
    seed = check_seed(seed)
    if not isinstance(standardize, (bool, np.bool_)):
        raise TypeError(f"standardize must be a bool, got {type(standardize).__name__}")
    if n_train is not None:
        n_train = check_int(n_train, "n_train", 1)
    if n_test is not None:
        n_test = check_int(n_test, "n_test", 1)
    if pca is not None:
        pca = check_int(pca, "pca", 1)
    if path is not None and key not in _FILE_DATASETS:
        raise ValueError(f"path= only applies to {', '.join(map(repr, _FILE_DATASETS))}, "
                         f"not {key!r}")
    options: Dict[str, Any] = {
        "n_train": n_train, "n_test": n_test, "standardize": bool(standardize), "pca": pca,
        "classes": None if classes is None else [int(c) for c in classes] if _is_seq(classes)
        else repr(classes), "seed": seed, "path": None if path is None else str(path)}
    options.update({k: _jsonable(v) for k, v in kw.items()})

    teacher: Optional[MLP] = None
    generated = False
    if key == "digits":
        raw = _load_digits()
    elif key == "teacher":
        kw = dict(kw)
        raw, teacher = _load_teacher(n_train, n_test, seed, kw)
        generated = True
    elif key == "cifar10":
        from ._cifar import load_cifar10_raw

        raw = load_cifar10_raw(path)
    else:
        raw = _load_idx_dataset(key, path)
    if key != "teacher" and kw:
        raise TypeError(f"unknown option(s) for dataset {key!r}: {', '.join(sorted(kw))}")
    if key == "teacher" and kw:
        raise TypeError(f"unknown option(s) for dataset 'teacher': {', '.join(sorted(kw))}; "
                        "known: n_features, teacher_hidden, n_classes, label_noise, teacher_seed")
    Xtr, ytr, Xte, yte, pix, n_classes, names, source = raw
    meta: Dict[str, Any] = {"source": source, "options": options,
                            "n_available": {"train": int(len(ytr)), "test": int(len(yte))}}

    # 1. classes
    mapping = list(range(n_classes))
    if classes is not None:
        mtr, mte, lut, mapping, names = _apply_classes(classes, ytr, yte, n_classes, names)
        Xtr, ytr, Xte, yte = Xtr[mtr], lut[ytr[mtr]], Xte[mte], lut[yte[mte]]
        n_classes = len(mapping)
        if len(ytr) == 0 or len(yte) == 0:
            raise ValueError(f"classes={mapping} leaves no training or no test samples")
    meta["classes"] = mapping
    meta["class_names"] = names

    # 2. subsets
    if not generated:
        for split, n, k in (("train", n_train, 0), ("test", n_test, 1)):
            if n is None:
                continue
            y = ytr if split == "train" else yte
            if n > len(y):
                raise ValueError(f"n_{split}={n} exceeds the {len(y)} available {split}ing "
                                 f"samples of {key!r}" + (" for these classes" if classes is not None else ""))
            rng = np.random.default_rng(np.random.SeedSequence([seed, k]))
            idx = _stratified_subset(y, n, rng)
            if split == "train":
                Xtr, ytr = Xtr[idx], ytr[idx]
            else:
                Xte, yte = Xte[idx], yte[idx]
        meta["subset"] = "stratified, seeded by (seed, 0) for train and (seed, 1) for test"

    # 3. pixel scaling
    Xtr = np.ascontiguousarray(np.asarray(Xtr, dtype=np.float32) * np.float32(1.0 / pix))
    Xte = np.ascontiguousarray(np.asarray(Xte, dtype=np.float32) * np.float32(1.0 / pix))
    meta["pixel_scale"] = pix

    # 4-5. standardize, pca (BLAS work limited to n_threads)
    from threadpoolctl import threadpool_limits

    from .._lib._threads import resolve_threads

    with threadpool_limits(limits=resolve_threads(n_threads), user_api="blas"):
        if standardize:
            Xtr, Xte, info = _standardize(Xtr, Xte)
            meta["standardize"] = info
        if pca is not None:
            d = Xtr.shape[1]
            if pca > d:
                raise ValueError(f"pca={pca} exceeds the number of features ({d})")
            if pca > Xtr.shape[0]:
                raise ValueError(f"pca={pca} exceeds the number of training samples "
                                 f"({Xtr.shape[0]})")
            Xtr, Xte, meta["pca"] = _pca(Xtr, Xte, pca)
    meta["class_counts"] = {
        "train": np.bincount(ytr, minlength=n_classes).tolist(),
        "test": np.bincount(yte, minlength=n_classes).tolist()}
    meta = json.loads(json.dumps(meta))  # plain JSON types, as after a save/load round trip
    return Dataset(Xtr, ytr.astype(np.int64), Xte, yte.astype(np.int64), key, n_classes, meta,
                   teacher)


load_dataset = load  # the name exported at package level (``glasslens.load_dataset``)


def available(path: Optional[PathLike] = None) -> Dict[str, Optional[str]]:
    """Which datasets can be loaded here: ``{name: None}`` when it can, else ``{name: reason}``
    (the first line of the FileNotFoundError of a missing file set). ``digits`` and ``teacher``
    need no files. ``path``: the directory searched for the file datasets, as in :func:`load`.
    A study over several datasets runs on those that are present and says which are not."""
    out: Dict[str, Optional[str]] = {"digits": None, "teacher": None}
    for name in _FILE_DATASETS:
        try:
            if name == "cifar10":
                from ._cifar import find_cifar_files

                find_cifar_files(path)
            else:
                find_idx_files(name, path)
            out[name] = None
        except FileNotFoundError as exc:
            out[name] = str(exc).splitlines()[0].replace(" Looked in:", "").rstrip(".")
    return out


def _is_seq(x: Any) -> bool:
    try:
        [int(v) for v in x]
        return not isinstance(x, (str, bytes))
    except Exception:
        return False


def _jsonable(v: Any) -> Any:
    try:
        json.dumps(v)
        return v
    except (TypeError, ValueError):
        if isinstance(v, (tuple, list)):
            return [_jsonable(x) for x in v]
        if isinstance(v, np.generic):
            return v.item()
        return repr(v)
