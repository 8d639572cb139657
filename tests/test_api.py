"""The curated top level, the subpackage layout and the deprecated paths of 0.1."""
import importlib
import subprocess
import sys
import warnings

import pytest

import glasslens as gl
from glasslens._lib._deprecation import MOVED_MODULES

SUBPACKAGES = ["nn", "datasets", "probes", "symmetry", "replicas", "flatness", "spinmodels",
               "maxent", "effective_model", "report", "campaign"]


def test_top_level_all_and_dir_agree():
    assert sorted(dir(gl)) == sorted(gl.__all__)
    assert len(gl.__all__) == len(set(gl.__all__))
    for name in gl.__all__:
        assert hasattr(gl, name), name
    for sub in SUBPACKAGES:
        assert sub in gl.__all__
    everyday = [n for n in gl.__all__ if n not in SUBPACKAGES]
    assert len(everyday) <= 14, everyday
    # no typing helpers, private modules or old flat modules at the top level
    for junk in ("Any", "Dict", "annotations", "_threads", "network", "landscape", "plots"):
        assert junk not in dir(gl)


@pytest.mark.parametrize("sub", SUBPACKAGES)
def test_subpackage_all_is_importable(sub):
    mod = importlib.import_module(f"glasslens.{sub}")
    assert mod.__all__, sub
    for name in mod.__all__:
        assert hasattr(mod, name), f"glasslens.{sub}.{name}"
        assert not name.startswith("_")


@pytest.mark.parametrize("name", sorted(gl._MOVED_NAMES))
def test_old_top_level_names_warn_and_resolve(name):
    module, attr = gl._MOVED_NAMES[name]
    with pytest.warns(DeprecationWarning, match=f"{module}.{attr}"):
        obj = getattr(gl, name)
    assert obj is getattr(importlib.import_module(module), attr)


def test_unknown_top_level_name_raises():
    with pytest.raises(AttributeError, match="no_such_thing"):
        gl.no_such_thing  # noqa: B018


@pytest.mark.parametrize("old", sorted(MOVED_MODULES))
def test_old_module_paths_warn_and_alias(old):
    # a fresh interpreter: the warning comes on the first import only
    new, public = MOVED_MODULES[old]
    code = (f"import warnings, importlib\n"
            f"with warnings.catch_warnings(record=True) as w:\n"
            f"    warnings.simplefilter('always')\n"
            f"    m = importlib.import_module({old!r})\n"
            f"assert m is importlib.import_module({new!r}), m\n"
            f"msgs = [str(x.message) for x in w if x.category is DeprecationWarning]\n"
            f"assert any({public!r} in s and {old!r} in s for s in msgs), msgs\n"
            f"assert w[0].filename == '<string>', w[0].filename\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_old_from_import_still_works():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        from glasslens.network import MLP  # noqa: F401
    assert MLP is gl.MLP
    assert not w or all(issubclass(x.category, DeprecationWarning) for x in w)


def test_dependencies_run_one_way():
    """cli -> campaign -> report -> protocols -> nn/datasets -> _lib: the campaign never imports
    the CLI, the report neither; protocol subpackages never import the report, the campaign or
    the CLI; nn, datasets and _lib import no protocol."""
    import ast
    import pathlib

    root = pathlib.Path(gl.__file__).parent
    protocols = {"probes", "symmetry", "replicas", "flatness", "spinmodels", "maxent",
                 "effective_model"}
    forbidden = {"report": {"cli", "campaign"}, "campaign": {"cli"},
                 "_lib": protocols | {"report", "cli", "nn", "datasets", "campaign"},
                 "nn": protocols | {"report", "cli", "datasets", "campaign"},
                 "datasets": protocols | {"report", "cli", "campaign"}}
    for p in protocols:
        forbidden[p] = {"report", "cli", "campaign"}
    bad = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).parts
        if len(rel) < 2:
            continue
        pkg = rel[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = list(rel[:-1])[: len(rel) - node.level]
                target = (base + (node.module or "").split("."))
                target = [t for t in target if t]
                names = [a.name for a in node.names] if not node.module else []
                heads = {target[0]} if target else set(names)
                if heads & forbidden.get(pkg, set()):
                    bad.append(f"{'/'.join(rel)}:{node.lineno} imports {target or names}")
    assert not bad, "\n".join(bad)


def test_library_never_switches_the_matplotlib_backend():
    import pathlib

    root = pathlib.Path(gl.__file__).parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if "matplotlib.use(" in p.read_text() or "import matplotlib.pyplot" in
                 p.read_text()]
    assert not offenders, offenders
