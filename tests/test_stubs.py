"""The committed type stub python/glasslens/_core.pyi must describe the built extension."""
import ast
import inspect
from pathlib import Path

import pytest

from glasslens import _core


def _stub_path() -> Path:
    import glasslens

    return Path(glasslens.__file__).with_name("_core.pyi")


def _stub_names() -> set:
    tree = ast.parse(_stub_path().read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names - {"__all__", "__version__"}


def test_stub_exists_with_py_typed():
    if not _stub_path().exists():
        pytest.fail("_core.pyi is missing from the package: run tools/gen-stubs.sh")
    assert _stub_path().with_name("py.typed").exists()


def test_stub_matches_extension():
    public = {n for n in dir(_core) if not n.startswith("__")}
    stub = _stub_names()
    missing = sorted(public - stub)
    extra = sorted(stub - public)
    assert not missing and not extra, (
        f"_core.pyi is stale (run tools/gen-stubs.sh): missing {missing}, extra {extra}")


def test_stub_signatures_name_every_argument():
    # pybind11 functions without py::arg names show up as arg0, arg1, ... in their signature.
    unnamed = []
    for name in dir(_core):
        obj = getattr(_core, name)
        doc = getattr(obj, "__doc__", None) or ""
        if inspect.isbuiltin(obj) and "arg0" in doc:
            unnamed.append(name)
    assert not unnamed, f"bindings without named arguments: {unnamed}"
