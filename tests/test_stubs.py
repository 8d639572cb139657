"""The committed type stubs python/glasslens/_core/ (a stub package: __init__.pyi for the top
level, <area>.pyi for each submodule) must describe the built extension."""
import ast
import importlib.machinery
import inspect
import re
import types
from pathlib import Path

import pytest

from glasslens import _core


def _stub_dir() -> Path:
    import glasslens

    return Path(glasslens.__file__).with_name("_core")


def _submodules() -> dict:
    return {n: getattr(_core, n) for n in dir(_core)
            if isinstance(getattr(_core, n), types.ModuleType)}


def _stub_file(area: str) -> Path:
    return _stub_dir() / ("__init__.pyi" if area == "" else f"{area}.pyi")


def _stub_tree(area: str) -> ast.Module:
    return ast.parse(_stub_file(area).read_text())


def _stub_names(tree: ast.Module) -> set:
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom) and node.module is None and node.level == 1:
            names.update(a.asname or a.name for a in node.names)  # from . import <area>
    return names - {"__all__", "__version__"}


def _public(mod) -> set:
    return {n for n in dir(mod) if not n.startswith("__")}


def _areas() -> list:
    return [""] + sorted(_submodules())


def test_extension_loads_next_to_the_stub_package():
    # the stub folder _core/ (no __init__.py) must not shadow the compiled extension
    assert _core.__file__ is not None
    assert _core.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)), _core.__file__
    assert isinstance(_core.__loader__, importlib.machinery.ExtensionFileLoader)
    assert not (_stub_dir() / "__init__.py").exists()


def test_stub_exists_with_py_typed():
    for area in _areas():
        if not _stub_file(area).exists():
            pytest.fail(f"{_stub_file(area).name} is missing from the stub package: "
                        "run tools/gen-stubs.sh")
    assert _stub_dir().with_name("py.typed").exists()
    extra = sorted(p.stem for p in _stub_dir().glob("*.pyi")
                   if p.stem != "__init__" and p.stem not in _submodules())
    assert not extra, f"stubs for submodules the extension does not have: {extra}"


def test_submodules_are_the_areas():
    assert sorted(_submodules()) == sorted(
        ["nn", "probes", "symmetry", "replicas", "flatness", "spinmodels", "maxent",
         "effective_model"])


@pytest.mark.parametrize("area", _areas())
def test_stub_matches_extension(area):
    mod = _core if area == "" else getattr(_core, area)
    public = _public(mod)
    stub = _stub_names(_stub_tree(area))
    missing = sorted(public - stub)
    extra = sorted(stub - public)
    assert not missing and not extra, (
        f"{_stub_file(area).name} is stale (run tools/gen-stubs.sh): missing {missing}, "
        f"extra {extra}")


def _stub_functions(tree: ast.Module) -> dict:
    """name -> list of argument-name lists (one per overload), also Class.method."""
    out: dict = {}

    def add(key, fn):
        a = fn.args
        names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
        out.setdefault(key, []).append(names)

    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            add(node.name, node)
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef):
                    decos = {ast.unparse(d) for d in sub.decorator_list}
                    if any(d.endswith(".setter") for d in decos) or "property" in decos:
                        continue
                    add(f"{node.name}.{sub.name}", sub)
    return out


def _signatures(name: str, obj) -> list:
    """Argument names of each overload, read from a pybind11 docstring's signature lines."""
    sigs = []
    for line in (obj.__doc__ or "").splitlines():
        line = re.sub(r"^\d+\. ", "", line.strip())
        if line.startswith(name + "("):
            sigs.append(re.findall(r"(\w+):", line.rsplit(") ->", 1)[0]))
    return sorted(sigs)


@pytest.mark.parametrize("area", _areas())
def test_stub_signatures_match_extension(area):
    # every function and method has the same arguments, in the same order, in stub and extension
    mod = _core if area == "" else getattr(_core, area)
    stub = _stub_functions(_stub_tree(area))
    wrong = []
    for name in sorted(_public(mod)):
        obj = getattr(mod, name)
        routines = []
        if inspect.isbuiltin(obj):
            routines.append((name, name, obj))
        elif isinstance(obj, type):
            for meth, fn in vars(obj).items():
                if inspect.isroutine(fn) and (meth == "__init__" or not meth.startswith("__")):
                    routines.append((f"{name}.{meth}", meth, fn))
        for key, short, fn in routines:
            ext = _signatures(short, fn)
            stb = sorted(stub.get(key, []))
            if ext != stb:
                wrong.append(f"{key}: extension {ext}, stub {stb}")
    assert not wrong, "stubs stale (run tools/gen-stubs.sh):\n" + "\n".join(wrong)


@pytest.mark.parametrize("area", _areas())
def test_stub_signatures_name_every_argument(area):
    # pybind11 functions without py::arg names show up as arg0, arg1, ... in their signature
    mod = _core if area == "" else getattr(_core, area)
    unnamed = []
    for name in dir(mod):
        obj = getattr(mod, name)
        if inspect.isbuiltin(obj) and "arg0" in (obj.__doc__ or ""):
            unnamed.append(name)
        elif isinstance(obj, type) and not name.startswith("_"):
            init_doc = obj.__init__.__doc__ or ""
            if "arg0" in init_doc:
                unnamed.append(f"{name}.__init__")
            for meth, fn in vars(obj).items():
                if not meth.startswith("__") and inspect.isroutine(fn) and "arg0" in (fn.__doc__ or ""):
                    unnamed.append(f"{name}.{meth}")
    assert not unnamed, f"bindings without named arguments: {unnamed}"
    for names_list in _stub_functions(_stub_tree(area)).values():
        for names in names_list:
            assert not any(n.startswith("arg") and n[3:].isdigit() for n in names), names_list
