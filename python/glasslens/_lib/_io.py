"""The one JSON / ``.npz`` I/O layer of glasslens.

File layout (unchanged since 0.1, so files written before still load): an uncompressed numpy
``.npz`` archive whose member ``__meta__`` is a 0-d unicode array holding a JSON header
``{"format": "glasslens-<thing>-v1", "kind": ..., ...}``, next to plain numeric arrays. Nothing
is ever pickled: :func:`load_npz` opens the archive with ``allow_pickle=False``, reads and checks
the header first, and only then reads the arrays (only the members the kind allows).
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Callable, Collection, Dict, Mapping, Optional, Tuple, Union

import numpy as np

from . import _limits

__all__ = ["save_npz", "load_npz", "member", "build", "to_jsonable", "write_json"]

PathLike = Union[str, "os.PathLike[str]"]
META = "__meta__"


def save_npz(path: PathLike, header: Dict[str, Any], arrays: Mapping[str, Any], *,
             add_suffix: bool = False) -> None:
    """Write ``arrays`` and the JSON ``header`` (member ``__meta__``) to an ``.npz``.

    The file is written to exactly ``path``; ``add_suffix=True`` keeps numpy's own rule (append
    ``.npz`` to a name without it), which some savers have always followed."""
    if META in arrays:
        raise ValueError(f"{META!r} is reserved for the header")
    head = np.array(json.dumps(header))
    if add_suffix:
        np.savez(path, **{META: head}, **arrays)
        return
    with open(path, "wb") as fh:
        np.savez(fh, **{META: head}, **arrays)


def _allowed(allowed_members: Any) -> Callable[[str], bool]:
    if allowed_members is None:
        return lambda k: True
    if callable(allowed_members):
        return allowed_members
    names = set(allowed_members)
    prefixes = tuple(n for n in names if n.endswith("/"))
    return lambda k: k in names or (bool(prefixes) and k.startswith(prefixes))


def load_npz(
    path: PathLike,
    kind: Optional[str],
    allowed_members: Union[None, Collection[str], Callable[[str], bool]] = None,
    *,
    format: str,
    what: Optional[str] = None,
    missing: str = "no such file",
    check_header: Optional[Callable[[Dict[str, Any]], Any]] = None,
) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    """Read a glasslens ``.npz``: returns ``(header, arrays)``.

    kind : the header's ``"kind"`` must equal it (None: the header has no kind, only
        ``format`` is checked)
    allowed_members : the array members this kind may hold (exact names; names ending in ``/``
        are prefixes) or a predicate; any other member makes the file corrupt. None: any.
    format : the expected ``"format"`` tag
    what : how messages name the file type (default ``"glasslens <kind> file"``)
    missing : message start for a missing file (FileNotFoundError)
    check_header : called with the header before any array is read; raises ValueError for an
        inconsistent header and may return the exact set of member names the header implies
        (then any other member, or a missing one, makes the file corrupt)

    Corrupt or foreign files raise ValueError naming the path; nothing is unpickled. Memory is
    bounded by what the file declares: the header member is capped at ``MAX_HEADER_BYTES``,
    every member name is checked before any array is decompressed, and the arrays' declared
    (uncompressed) sizes must fit in the machine's memory.
    """
    p = Path(path)
    what = what or f"glasslens {kind} file"
    if not p.is_file():
        raise FileNotFoundError(f"{missing}: {p}")
    ok = _allowed(allowed_members)
    try:
        # Open the file ourselves: np.load leaks its handle when the zip archive is corrupt.
        with open(p, "rb") as fh:
            z = np.load(fh, allow_pickle=False)
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            with z:
                if META not in z.files:
                    raise ValueError(f"no {META!r} header member")
                head_size = _declared_size(z, META)
                if head_size > MAX_HEADER_BYTES:
                    raise ValueError(f"the header member declares {head_size:,} bytes (limit "
                                     f"{MAX_HEADER_BYTES:,})")
                header = json.loads(str(z[META]))
                _check_header(p, header, kind, format, what)
                exact = check_header(header) if check_header is not None else None
                names = [k for k in z.files if k != META]
                bad = [k for k in names if not ok(k) or (exact is not None and k not in exact)]
                if bad:  # (members the header names but the file lacks: see member())
                    raise ValueError(f"unexpected member {bad[0]!r}"
                                     + (" for its header" if exact is not None else ""))
                total = sum(_declared_size(z, k) for k in names)
                if total > _limits.physical_memory_bytes():
                    raise ValueError(f"its arrays declare {total / 2**30:,.1f} GiB, more than "
                                     f"this machine's memory")
                arrays: Dict[str, np.ndarray] = {}
                for k in names:
                    arrays[k] = np.asarray(z[k])
    except _HeaderError as exc:
        raise ValueError(str(exc)) from None
    except Exception as exc:
        raise ValueError(f"{p} is not a {what} (corrupt or wrong format): "
                         f"{type(exc).__name__}: {exc}") from exc
    return header, arrays


class _HeaderError(Exception):
    pass


#: the largest JSON header member an .npz may declare (headers are a few KiB)
MAX_HEADER_BYTES = 1 << 20


def _declared_size(z: Any, name: str) -> int:
    """Uncompressed size that the zip directory declares for member ``name``."""
    return int(z.zip.getinfo(name + ".npy").file_size)


def _check_header(p: Path, header: Any, kind: Optional[str], fmt: str, what: str) -> None:
    if not isinstance(header, dict):
        raise _HeaderError(f"{p} is not a {what} (found {header!r})")
    if header.get("format") != fmt or (kind is not None and header.get("kind") != kind):
        found = header.get("kind") if kind is not None and "kind" in header else header.get("format")
        raise _HeaderError(f"{p} is not a {what} (found {found!r})")


def member(arrays: Mapping[str, np.ndarray], key: str, path: PathLike) -> np.ndarray:
    """``arrays[key]``, or a 'corrupt file' ValueError naming the missing member."""
    try:
        return arrays[key]
    except KeyError:
        raise ValueError(f"{path} is corrupt: missing array {key!r}") from None


def build(path: PathLike, factory: Any, *args: Any) -> Any:
    """Construct from loaded arrays, turning shape/dtype errors into 'corrupt file' errors."""
    try:
        return factory(*args)
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{path} is corrupt: {exc}") from exc


# ---- JSON ---------------------------------------------------------------------------------------
def to_jsonable(x: Any, arrays: bool = True, strict: bool = True) -> Any:
    """Recursively convert numpy types, tuples and paths to JSON types; non-finite floats to
    None; result objects (anything with ``to_dict(arrays=...)``, see ``_lib._results``) through
    their ``to_dict``. Anything else raises TypeError, or becomes its ``repr`` when not
    ``strict``."""
    if isinstance(x, dict):
        return {str(k): to_jsonable(v, arrays, strict) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v, arrays, strict) for v in x]
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist(), arrays, strict)
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, Path):
        return str(x)
    if x is None or isinstance(x, str):
        return x
    to_dict = getattr(x, "to_dict", None)
    if callable(to_dict) and not isinstance(x, type):
        return to_dict(arrays=arrays)
    if not strict:
        return repr(x)
    raise TypeError(f"cannot store a {type(x).__name__} in a report (use numbers, strings, "
                    "lists, dicts or numpy arrays)")


def write_json(path: PathLike, obj: Any, *, indent: int = 1, newline: bool = True,
               atomic: bool = False) -> None:
    """Write ``to_jsonable(obj)`` as JSON (no NaN: non-finite floats become null). ``atomic``
    writes ``<path>.tmp`` first and renames it, so readers never see a half-written file."""
    text = json.dumps(to_jsonable(obj), indent=indent, allow_nan=False) + ("\n" if newline else "")
    p = Path(path)
    if atomic:
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(p)
    else:
        p.write_text(text)
