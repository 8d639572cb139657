"""Shared machinery of the wiring tests (``tests/<subpackage>/test_wiring.py``).

Every public option must be shown to reach the computation. Each subpackage's test file holds

* ``RUNNERS``: ``{name: (call, base_kwargs)}``; ``call(**kwargs)`` runs the public function
  ``name`` on tiny fixed inputs;
* ``CASES``: rows ``W(name, option, alternative, check=..., base=...)``: the result with
  ``{**base_kwargs, **base, option: alternative}`` must differ from the result with
  ``{**base_kwargs, **base}`` (``check=None``: compared by :func:`fingerprint`), be bit-identical
  to it (``check=SAME``, for ``n_threads``/``progress``), or pass ``check(result, alt_result)``;
* ``NOT_OBSERVABLE``: ``{(name, option): reason}``;
* ``SIGNATURES``: ``{name: callable}``, whose keyword parameters (those with a default, and the
  keyword-only ones) must each have a row or a NOT_OBSERVABLE entry (:func:`missing_rows`), so
  that a new or renamed option without a wiring test fails the suite;
* ``DEPRECATED``: rows ``dep(name, old, old_value, new)`` for the old spellings of renamed
  options: ``old=old_value`` must warn (DeprecationWarning), give bit-for-bit the result of the
  new spelling ``new`` (a name, same value; or a dict of new keywords) and differ from the base
  call. Every ``__renamed_kwargs__`` entry of a function in SIGNATURES needs one
  (:func:`untested_renames`); an old keyword kept in the signature (a sentinel default) counts as
  covered by its ``dep`` row.

Load it like ``nn_reference.py`` (``--import-mode=importlib`` has no package ``tests``).
"""
import dataclasses
import inspect
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import numpy as np

SAME = "same"
# fields and keys that only echo the options back: a result must differ elsewhere
ECHO = frozenset({"settings", "options", "info", "definition", "params"})


@dataclasses.dataclass(frozen=True)
class W:
    """One wiring row: ``option=alt`` must change (or, with ``check=SAME``, not change) ``name``."""

    name: str
    option: str
    alt: Any
    check: Any = None
    base: Tuple[Tuple[str, Any], ...] = ()
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.name}-{self.option}" + (f"-{self.label}" if self.label else "")


class With:
    """An alternative value that needs companion options, e.g. ``With("metropolis",
    temperature=1.0)``."""

    def __init__(self, value: Any, **extra: Any):
        self.value, self.extra = value, extra

    def __repr__(self) -> str:
        return f"{self.value!r} with {self.extra!r}"


@dataclasses.dataclass(frozen=True)
class D:
    """One deprecated spelling: ``old=old_value`` must warn and equal ``**new``."""

    name: str
    old: str
    old_value: Any
    new: Tuple[Tuple[str, Any], ...]
    base: Tuple[Tuple[str, Any], ...] = ()
    label: str = ""
    changes: bool = True

    @property
    def option(self) -> str:  # so that missing_rows/stale_rows see the old keyword as covered
        return self.old

    @property
    def id(self) -> str:
        return f"{self.name}-{self.old}" + (f"-{self.label}" if self.label else "")


def dep(name: str, old: str, old_value: Any, new: Any, label: str = "", changes: bool = True,
        **base: Any) -> D:
    """Deprecation row: ``new`` is the new keyword's name (same value) or a dict of the new
    keywords equivalent to ``old=old_value``; extra keywords are base values of the row.
    ``old_value`` may be ``With(value, **extra)``: ``extra`` only go to the old call (the old
    spelling needed companions that the new one does not). ``changes=False``: the value is the
    default (the result need not differ from the base)."""
    plain = old_value.value if isinstance(old_value, With) else old_value
    new_kw = {new: plain} if isinstance(new, str) else dict(new)
    return D(name, old, old_value, tuple(sorted(new_kw.items())), tuple(sorted(base.items())),
             label, changes)


def w(name: str, option: str, alt: Any, check: Any = None, label: str = "", **base: Any) -> W:
    """Row constructor; extra keywords are base values that the row needs (e.g. a mode)."""
    return W(name, option, alt, check, tuple(sorted(base.items())), label)


def _fp(obj: Any, out: List[Any], depth: int = 0) -> None:
    if depth > 12:
        out.append(("deep", type(obj).__name__))
        return
    if obj is None or isinstance(obj, (bool, str, bytes)):
        out.append(obj)
    elif isinstance(obj, (int, float, complex, np.generic)):
        a = np.asarray(obj)
        out.append((a.dtype.str, a.tobytes()))
    elif isinstance(obj, np.ndarray):
        if obj.dtype == object:
            for x in obj.ravel():
                _fp(x, out, depth + 1)
        else:
            a = np.ascontiguousarray(obj)
            out.append((a.dtype.str, a.shape, a.tobytes()))
    elif isinstance(obj, dict):
        for k in sorted(obj, key=repr):
            if k in ECHO:
                continue
            out.append(repr(k))
            _fp(obj[k], out, depth + 1)
    elif isinstance(obj, (list, tuple)):
        out.append(("seq", len(obj)))
        for x in obj:
            _fp(x, out, depth + 1)
    elif dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            if f.name in ECHO:
                continue
            out.append(f.name)
            _fp(getattr(obj, f.name), out, depth + 1)
    elif hasattr(obj, "flat") and callable(obj.flat):  # MLP, Ensemble, BinaryNet, ...
        out.append(type(obj).__name__)
        _fp(obj.flat(), out, depth + 1)
    elif hasattr(obj, "__dict__"):
        _fp({k: v for k, v in vars(obj).items() if not k.startswith("_")}, out, depth + 1)
    else:
        out.append(repr(obj))


def fingerprint(obj: Any) -> List[Any]:
    """A bit-exact canonical form of a result (arrays, dataclasses, dicts, networks), without
    the fields that merely echo the options (``ECHO``)."""
    out: List[Any] = []
    _fp(obj, out)
    return out


def keyword_parameters(fn: Callable) -> List[str]:
    """The public options of ``fn``: parameters with a default, and keyword-only ones."""
    names = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is not p.empty or p.kind is p.KEYWORD_ONLY:
            names.append(p.name)
    return names


def missing_rows(signatures: Dict[str, Any], cases: Iterable[W],
                 not_observable: Dict[Tuple[str, str], str]) -> List[str]:
    """``name.option`` of every keyword parameter without a row or a NOT_OBSERVABLE entry.

    A value of ``signatures`` is a callable, or a list of option names (for ``**kwargs``).
    """
    have = {(c.name, c.option) for c in cases} | set(not_observable)
    missing = []
    for name, fn in signatures.items():
        opts = list(fn) if isinstance(fn, (list, tuple)) else keyword_parameters(fn)
        missing += [f"{name}.{o}" for o in opts if (name, o) not in have]
    return missing


def stale_rows(signatures: Dict[str, Any], cases: Iterable[W],
               not_observable: Dict[Tuple[str, str], str]) -> List[str]:
    """Rows naming a function or a parameter that the signatures do not have (rows may also
    cover required parameters)."""
    bad = []
    for name, opt in {(c.name, c.option) for c in cases} | set(not_observable):
        fn = signatures.get(name)
        if fn is None:
            bad.append(f"{name} (no such function)")
            continue
        opts = list(fn) if isinstance(fn, (list, tuple)) else inspect.signature(fn).parameters
        if opt not in opts and opt not in getattr(fn, "__renamed_kwargs__", {}):
            bad.append(f"{name}.{opt}")
    return sorted(bad)


def untested_renames(signatures: Dict[str, Any], deprecated: Iterable[D]) -> List[str]:
    """``name.old`` of every renamed keyword (``__renamed_kwargs__``) without a ``dep`` row."""
    have = {(d.name, d.old) for d in deprecated}
    return sorted(f"{name}.{old}" for name, fn in signatures.items()
                  for old in getattr(fn, "__renamed_kwargs__", {}) if (name, old) not in have)


class Runner:
    """Runs the rows of one test file, caching the base results."""

    def __init__(self, runners: Dict[str, Tuple[Callable[..., Any], Dict[str, Any]]]):
        self.runners = runners
        self._cache: Dict[Any, Any] = {}

    def call(self, fname: str, /, **kw: Any) -> Any:
        fn, base = self.runners[fname]
        return fn(**{**base, **kw})

    def base_result(self, case: W) -> Any:
        key = (case.name, repr(case.base))
        if key not in self._cache:
            self._cache[key] = self.call(case.name, **dict(case.base))
        return self._cache[key]

    def check(self, case: W, capsys: Any = None) -> None:
        base = dict(case.base)
        ref = self.base_result(case)
        if case.option == "progress" and capsys is not None:
            capsys.readouterr()
        extra = case.alt.extra if isinstance(case.alt, With) else {}
        value = case.alt.value if isinstance(case.alt, With) else case.alt
        alt = self.call(case.name, **{**base, **extra, case.option: value})
        if case.check is None:
            assert fingerprint(ref) != fingerprint(alt), (
                f"{case.name}({case.option}={case.alt!r}) gives the same result as the base call: "
                f"the option does not reach the computation")
        elif case.check == SAME:
            assert fingerprint(ref) == fingerprint(alt), (
                f"{case.name}({case.option}={case.alt!r}) changed the result")
            if case.option == "n_threads":
                # accepted and validated, not swallowed: an invalid count must be refused
                import pytest

                with pytest.raises(ValueError, match="n_threads"):
                    self.call(case.name, **{**base, "n_threads": 0})
            if case.option == "progress" and capsys is not None:
                err = capsys.readouterr().err
                assert err, f"{case.name}(progress={case.alt!r}) printed nothing"
        else:
            case.check(ref, alt)

    def check_deprecated(self, d: D) -> None:
        """The old keyword warns and gives the new keyword's result (which is not the base)."""
        import re

        import pytest

        fn, base = self.runners[d.name]
        kw = {**base, **dict(d.base)}
        new = dict(d.new)
        extra = d.old_value.extra if isinstance(d.old_value, With) else {}
        value = d.old_value.value if isinstance(d.old_value, With) else d.old_value
        rest = {k: v for k, v in kw.items() if k not in new and k not in extra and k != d.old}
        with pytest.warns(DeprecationWarning, match=re.escape(d.old)):
            old_res = fn(**rest, **extra, **{d.old: value})
        new_res = fn(**rest, **new)
        assert fingerprint(old_res) == fingerprint(new_res), (
            f"{d.name}({d.old}={d.old_value!r}) differs from {d.name}(**{new!r})")
        if d.changes:
            assert fingerprint(self.base_result(W(d.name, d.old, None, None, d.base))) != \
                fingerprint(new_res), (f"{d.name}({d.old}={d.old_value!r}) gives the base result: "
                                       f"the old keyword is not shown to reach the computation")


def differs(get: Callable[[Any], Any]) -> Callable[[Any, Any], None]:
    """Check that the observable ``get(result)`` changes."""

    def check(a: Any, b: Any) -> None:
        assert fingerprint(get(a)) != fingerprint(get(b))

    return check


def threads(name: str, **base: Any) -> W:
    """``n_threads`` must not change the result of ``name`` (and must be validated)."""
    return w(name, "n_threads", 2, SAME, n_threads=1, **base)
