"""The C++ core on its own, without Python: build it with CMake (no Python extension), run the C++
GEMM checks (cpp/tests) and a quick pass of the kernel micro-benchmarks (bench/cpp), which also
compare every kernel's result between the SIMD paths and exit 1 when one disagrees."""
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

KERNELS = ["gemm_nt square", "gemm_nn backward", "gemm_tn weight gradient", "mlp2_loss",
           "nn::evaluate (many small networks)", "nn::evaluate (784-128-10)", "nn::train",
           "landscape::perturbed_eval", "landscape::gaussian_fill", "landscape::cols_loss",
           "lap_solve", "lap_all_pairs", "overlap_packed"]


def _cmake_build(tmp_path_factory, name, *options):
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake is not installed (pip install '.[test]' provides it)")
    if not (ROOT / "bench" / "cpp" / "bench_kernels.cpp").is_file():
        pytest.skip("the C++ sources are not next to the tests")
    out = tmp_path_factory.mktemp(name)
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    werror = os.environ.get("GLASSLENS_WERROR", "OFF")
    cfg = [cmake, "-S", str(ROOT), "-B", str(out), *gen, "-DCMAKE_BUILD_TYPE=Release",
           "-DGLASSLENS_BUILD_PYTHON=OFF", "-DGLASSLENS_BUILD_TESTS=ON",
           "-DGLASSLENS_BUILD_BENCH=ON", f"-DGLASSLENS_WERROR={werror}", *options]
    for cmd in (cfg, [cmake, "--build", str(out), "-j", "2"]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 0, f"{' '.join(cmd)} failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    return out


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """The default build (x86 SIMD kernels where the compiler has them)."""
    return _cmake_build(tmp_path_factory, "cpp-build")


@pytest.fixture(scope="module")
def portable_build(tmp_path_factory):
    """The build that ARM and other non-x86 CPUs get: no intrinsics files, portable kernels."""
    return _cmake_build(tmp_path_factory, "cpp-portable", "-DGLASSLENS_X86_SIMD=OFF")


@pytest.mark.slow
def test_cpp_gemm_checks(build):
    r = subprocess.run([str(build / "test_gemm")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "all gemm checks passed" in r.stdout


@pytest.mark.slow
def test_cpp_kernel_benchmarks_run_and_paths_agree(build, tmp_path):
    md = tmp_path / "kernels.md"
    r = subprocess.run([str(build / "bench_kernels"), "--quick", "--threads", "2", "--out",
                        str(md)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "all kernels agree between the SIMD paths" in r.stdout
    text = md.read_text()
    for k in KERNELS:
        assert f"| {k}" in text, k
    # every timed row has a positive time
    rows = [line.split("|") for line in text.splitlines()
            if line.startswith("| ") and not line.startswith("| kernel ")]
    assert rows and all(float(c[5]) > 0 for c in rows)


@pytest.mark.slow
def test_cpp_bench_rejects_bad_arguments(build):
    r = subprocess.run([str(build / "bench_kernels"), "--frobnicate"], capture_output=True,
                       text=True)
    assert r.returncode == 2 and "usage" in r.stderr


@pytest.mark.slow
def test_portable_build_without_x86_kernels(portable_build):
    # what a non-x86 CPU gets: it links (every AVX2 entry point has its portable stand-in), the
    # C++ checks pass, only the scalar path exists and its kernels run
    r = subprocess.run([str(portable_build / "test_gemm")], capture_output=True, text=True)
    assert r.returncode == 0 and "all gemm checks passed" in r.stdout, r.stdout + r.stderr
    r = subprocess.run([str(portable_build / "bench_kernels"), "--quick", "--threads", "2"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "AVX2+FMA: no; AVX-512 VPOPCNTDQ: no" in r.stdout
    rows = [line for line in r.stdout.splitlines() if line.startswith("| ")
            and not line.startswith("| kernel ")]
    assert rows and all(line.split("|")[3].strip() == "scalar" for line in rows)
    for k in KERNELS:
        assert f"| {k}" in r.stdout, k
