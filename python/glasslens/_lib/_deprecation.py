"""Old import paths that keep working for one release (0.2) with a DeprecationWarning."""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys
import warnings
from typing import Any, Callable, Dict, Tuple

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _stacklevel() -> int:
    """Stack level of the first frame outside glasslens and the import machinery (the user's
    line), counted as ``warnings.warn`` counts: without importlib's bootstrap frames."""
    level, f = 1, sys._getframe(1)
    while f is not None:
        fn = f.f_code.co_filename
        internal = "importlib" in fn and "_bootstrap" in fn
        if not internal:
            if not (fn.startswith(_PKG_DIR) or fn.endswith(os.path.join("importlib", "__init__.py"))):
                return level
            level += 1
        f = f.f_back
    return 2


def warn_moved(old: str, new: str) -> None:
    """Warn that ``old`` is deprecated in favour of ``new``."""
    warnings.warn(f"{old} is deprecated and will be removed in glasslens 0.3; use {new}",
                  DeprecationWarning, stacklevel=_stacklevel())


#: old module -> (its private home now, the public module to use instead)
MOVED_MODULES: Dict[str, Tuple[str, str]] = {
    "glasslens.network": ("glasslens.nn._network", "glasslens.nn"),
    "glasslens.training": ("glasslens.nn._training", "glasslens.nn"),
    "glasslens.evaluation": ("glasslens.nn._evaluation", "glasslens.nn"),
    "glasslens.plots": ("glasslens._lib._plotting", "glasslens.nn.plotting"),
    "glasslens.landscape": ("glasslens.probes._landscape", "glasslens.probes"),
    "glasslens.walks": ("glasslens.probes._walks", "glasslens.probes"),
    "glasslens.landscape_plots": ("glasslens.probes.plotting", "glasslens.probes.plotting"),
    "glasslens.assignment": ("glasslens.symmetry._assignment", "glasslens.symmetry"),
    "glasslens.interpolation": ("glasslens.symmetry._interpolation", "glasslens.symmetry"),
    "glasslens.permutation": ("glasslens.symmetry._permutation", "glasslens.symmetry"),
    "glasslens.overlaps": ("glasslens.replicas._overlaps", "glasslens.replicas"),
    "glasslens.curvature": ("glasslens.flatness._curvature", "glasslens.flatness"),
    "glasslens.generalization": ("glasslens.flatness._study", "glasslens.flatness"),
    "glasslens.binarynet": ("glasslens.effective_model._binarynet", "glasslens.effective_model"),
    "glasslens.effective_model_plots": ("glasslens.effective_model.plotting",
                                        "glasslens.effective_model.plotting"),
    "glasslens.analyze": ("glasslens.report._analyze", "glasslens.report"),
    "glasslens.analyze_protocols": ("glasslens.report._sections", "glasslens.report"),
    "glasslens.landscape_cli": ("glasslens.cli._legacy", "glasslens.cli"),
    "glasslens.flatness_cli": ("glasslens.cli._legacy", "glasslens.cli"),
    "glasslens.effective_model_cli": ("glasslens.cli._legacy", "glasslens.cli"),
    "glasslens.maxent.ising": ("glasslens.maxent._ising", "glasslens.maxent"),
    "glasslens.maxent.inference": ("glasslens.maxent._inference", "glasslens.maxent"),
    "glasslens.maxent.landscape": ("glasslens.maxent._landscape", "glasslens.maxent"),
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an old module path as its new module, with a DeprecationWarning (no files are
    left at the old paths)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname in MOVED_MODULES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec: Any) -> Any:
        new, public = MOVED_MODULES[spec.name]
        warn_moved(spec.name, public)
        return importlib.import_module(new)

    def exec_module(self, module: Any) -> None:
        pass


def install_finder() -> None:
    """Put the finder of the moved modules on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())


def moved_names(package: str, table: Dict[str, Tuple[str, str]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving the old names of ``table`` (name -> (module, attr))
    with a DeprecationWarning."""

    def __getattr__(name: str) -> Any:
        if name in table:
            module, attr = table[name]
            warn_moved(f"{package}.{name}", f"{module}.{attr}")
            return getattr(importlib.import_module(module), attr)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


def renamed_kwargs(**renames: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator for renamed keyword arguments: ``@renamed_kwargs(trials="n_trials")`` maps a
    call with ``trials=`` to ``n_trials=`` with a DeprecationWarning, and raises TypeError when
    both are given. Positional calls are untouched (rename positional parameters in place)."""
    import functools

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{fn.__name__}() got both {old}= (deprecated) and "
                                        f"{new}=; pass only {new}=")
                    warn_moved(f"the keyword {old}= of {fn.__name__}()", f"{new}=")
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        wrapper.__renamed_kwargs__ = dict(renames)  # type: ignore[attr-defined]
        return wrapper

    return deco


def deprecated_method(old: str, new: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator for a method kept under its old name ``old`` for one release: the call warns
    (``use .new()``) and then runs the decorated body (which keeps the old behaviour)."""
    import functools

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            warn_moved(f"{type(self).__name__}.{old}()", f".{new}" + ("" if "(" in new else "()"))
            return fn(self, *args, **kwargs)

        return wrapper

    return deco
