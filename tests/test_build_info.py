import os
import warnings

import numpy as np
import pytest

import glasslens
from glasslens import _core


def test_build_info_fields():
    info = glasslens.build_info()
    assert info["version"] == glasslens.__version__
    assert isinstance(info["openmp"], bool)
    assert info["simd_path"] in ("avx2", "scalar")
    assert info["default_threads"] >= 1
    assert "GNU" in info["compiler"] or "Clang" in info["compiler"]
    assert isinstance(info["x86_simd_kernels"], bool)
    # the AVX2 kernels can only be usable when the build has them
    assert not info["cpu_has_avx2_fma"] or info["x86_simd_kernels"]
    if not info["cpu_has_avx2_fma"]:
        with pytest.raises(ValueError, match="AVX2"):
            _core.set_simd_path("avx2")


def test_simd_path_switch_roundtrip():
    orig = _core.simd_path()
    try:
        _core.set_simd_path("scalar")
        assert _core.simd_path() == "scalar"
        if _core.cpu_has_avx2_fma():
            _core.set_simd_path("avx2")
            assert _core.simd_path() == "avx2"
        with pytest.raises(ValueError, match="simd path"):
            _core.set_simd_path("sse9")
    finally:
        _core.set_simd_path(orig)


def test_resolve_threads():
    assert glasslens.resolve_threads(1) == 1
    assert glasslens.resolve_threads(-1) >= 1
    with pytest.raises(ValueError, match="n_threads"):
        glasslens.resolve_threads(0)
    with pytest.raises(TypeError, match="n_threads"):
        glasslens.resolve_threads("two")
    with glasslens.set_threads(1):
        assert glasslens.resolve_threads(None) == 1
