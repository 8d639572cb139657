"""CIFAR-10 in its standard binary distribution (``cifar-10-batches-bin``), read without pickle.

Each of ``data_batch_1.bin`` .. ``data_batch_5.bin`` (training) and ``test_batch.bin`` (test)
is a sequence of 3,073-byte records: one label byte (0..9) and 3,072 pixel bytes, the 1,024
red, then green, then blue values of a 32x32 image in row-major order. The standard files hold
10,000 records each. Class names come from ``batches.meta.txt`` when present.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np

from .._lib._limits import MAX_CIFAR_BATCH_BYTES
from .._lib._validate import check_alloc

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["read_cifar_batch", "find_cifar_files", "CIFAR_RECORD", "CIFAR_CLASSES"]

#: bytes per record: 1 label byte + 3 x 32 x 32 pixel bytes
CIFAR_RECORD = 1 + 3 * 32 * 32
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck"]
_TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]
_TEST = "test_batch.bin"
_DIRNAMES = ("cifar-10-batches-bin", "cifar10", "cifar-10")


def read_cifar_batch(path: PathLike) -> Any:
    """``(images (n, 3072) uint8, labels (n,) int64)`` of one CIFAR-10 binary batch file.

    The file size is checked before anything is read: it must be a positive multiple of the
    3,073-byte record and at most ``MAX_CIFAR_BATCH_BYTES`` (anything else - a truncated file,
    the 3,074-byte records of CIFAR-100, a gzip or tar archive, the Python pickle version - is
    refused with ValueError naming the file). Labels above 9 are refused too. Pixels keep the
    file's channel-major order (1,024 red, 1,024 green, 1,024 blue values of the 32x32 image).
    """
    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise FileNotFoundError(f"no such CIFAR-10 batch file: {p}") from None
    if size == 0 or size % CIFAR_RECORD:
        n, r = divmod(size, CIFAR_RECORD)
        raise ValueError(
            f"{p}: not a CIFAR-10 binary batch: {size} bytes is not a whole number of "
            f"{CIFAR_RECORD}-byte records ({n} records and {r} bytes left over; truncated, or "
            "another format such as CIFAR-100, the pickled Python version or a .tar.gz)")
    if size > MAX_CIFAR_BATCH_BYTES:
        raise ValueError(f"{p}: {size} bytes is far larger than a CIFAR-10 batch "
                         f"(limit {MAX_CIFAR_BATCH_BYTES} bytes)")
    check_alloc(size, f"{p}: CIFAR-10 batch of {size} bytes")
    with open(p, "rb") as fh:
        buf = fh.read(size)  # exactly the checked size, never more
    if len(buf) != size:
        raise ValueError(f"{p}: file shrank while reading ({len(buf)} of {size} bytes)")
    rec = np.frombuffer(buf, dtype=np.uint8).reshape(size // CIFAR_RECORD, CIFAR_RECORD)
    labels = rec[:, 0].astype(np.int64)
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        raise ValueError(f"{p}: not a CIFAR-10 batch: record {int(bad[0])} has label "
                         f"{int(labels[bad[0]])} (expected 0..9)")
    return np.ascontiguousarray(rec[:, 1:]), labels


def _cifar_dirs(path: Optional[PathLike], env: str, system_dir: str) -> List[Path]:
    if path is not None:
        base = Path(path)
        return [base] + [base / n for n in _DIRNAMES]
    dirs: List[Path] = []
    e = os.environ.get(env)
    if e:
        dirs += [Path(e) / n for n in _DIRNAMES] + [Path(e)]
    dirs += [Path(system_dir) / n for n in _DIRNAMES]
    return dirs


def find_cifar_files(path: Optional[PathLike] = None) -> Dict[str, Any]:
    """Locate the CIFAR-10 binary batches: ``{"train": [present data_batch_k.bin ...],
    "test": test_batch.bin, "missing": [absent data_batch names], "meta": batches.meta.txt or
    None}`` from the first directory holding ``test_batch.bin`` and at least one training
    batch. Searched: ``path`` and ``path/cifar-10-batches-bin`` (or ``cifar10``, ``cifar-10``);
    without ``path``, those under ``$GLASSLENS_DATA`` and ``/usr/share/datasets``.
    FileNotFoundError lists every directory searched and how to get the files."""
    from . import _datasets

    env, system_dir = _datasets.DATA_ENV, _datasets._SYSTEM_DIR
    looked: List[str] = []
    for d in _cifar_dirs(path, env, system_dir):
        if not d.is_dir():
            looked.append(f"  {d} (no such directory)")
            continue
        train = [d / f for f in _TRAIN if (d / f).is_file()]
        test = d / _TEST
        if train and test.is_file():
            meta = d / "batches.meta.txt"
            return {"train": train, "test": test,
                    "missing": [f for f in _TRAIN if not (d / f).is_file()],
                    "meta": meta if meta.is_file() else None}
        have = [f for f in _TRAIN + [_TEST] if (d / f).is_file()]
        looked.append(f"  {d} (has {', '.join(have) if have else 'no CIFAR-10 batch'}; needs "
                      f"{_TEST} and at least one data_batch_k.bin)")
    raise FileNotFoundError(
        "cifar10 binary batches not found. Looked in:\n" + "\n".join(looked) + "\n"
        "To get them: download cifar-10-binary.tar.gz (the 'CIFAR-10 binary version (suitable "
        "for C programs)' of https://www.cs.toronto.edu/~kriz/cifar.html), extract it into a "
        f"directory DIR (it makes DIR/cifar-10-batches-bin) and set {env}=DIR (or pass "
        "path=DIR / --data-path DIR).")


def load_cifar10_raw(path: Optional[PathLike]):
    """The raw tuple of ``datasets.load`` (uint8 pixels, scale 255) from the batches found;
    a missing training batch is a UserWarning and is recorded in the source dict."""
    files = find_cifar_files(path)
    parts = [read_cifar_batch(f) for f in files["train"]]
    Xte, yte = read_cifar_batch(files["test"])
    if files["missing"]:
        warnings.warn(f"cifar10: {', '.join(files['missing'])} not found in "
                      f"{files['test'].parent}; training on the {len(parts)} batch(es) present "
                      f"({sum(len(y) for _, y in parts):,} images)", UserWarning, stacklevel=3)
    names = CIFAR_CLASSES
    if files["meta"] is not None:
        text = files["meta"].read_bytes()[:4096].decode("ascii", "replace")
        got = [t.strip() for t in text.splitlines() if t.strip()]
        if len(got) == 10:
            names = got
    Xtr = np.concatenate([x for x, _ in parts]) if len(parts) > 1 else parts[0][0]
    ytr = np.concatenate([y for _, y in parts]) if len(parts) > 1 else parts[0][1]
    source = {"files": {"train": [str(f) for f in files["train"]], "test": str(files["test"])},
              "missing_train_batches": files["missing"], "image_shape": [3, 32, 32],
              "pixel_order": "channel-major (R, G, B planes of 32x32, row-major)"}
    return Xtr, ytr, Xte, yte, 255.0, 10, list(names), source
