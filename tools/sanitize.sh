#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer run of the C++ core and a subset of the Python
# suite (the kernels' tests), in one command:
#
#   tools/sanitize.sh [python] [pytest args...]      # default: the kernel test directories
#
# Builds glasslens._core with -fsanitize=address,undefined into build/sanitize (the development
# build in python/glasslens is left alone), copies the Python package next to it, preloads the
# ASan runtime into the interpreter and runs pytest against that copy. Any sanitizer report
# aborts the run with a non-zero exit status (halt_on_error, UBSan -fno-sanitize-recover).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-${PYTHON:-python3}}
[ $# -gt 0 ] && shift
ROOT=$(pwd)
OUT=$ROOT/build/sanitize
SITE=$OUT/site
PYBIND_DIR=$("$PY" -c 'import pybind11; print(pybind11.get_cmake_dir())')
GEN=()
command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)
rm -rf "$SITE"
mkdir -p "$SITE"
cp -r python/glasslens "$SITE/glasslens"
rm -f "$SITE"/glasslens/_core*.so
FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
cmake -S . -B "$OUT/build" "${GEN[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -Dpybind11_DIR="$PYBIND_DIR" -DPython_EXECUTABLE="$(command -v "$PY")" \
  -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DGLASSLENS_PY_OUTPUT_DIR="$SITE/glasslens" >/dev/null
cmake --build "$OUT/build" -j "${JOBS:-2}"
ASAN_LIB=$("${CXX:-g++}" -print-file-name=libasan.so)
UBSAN_LIB=$("${CXX:-g++}" -print-file-name=libubsan.so)
if [ $# -eq 0 ]; then
  set -- tests/nn tests/probes tests/symmetry tests/replicas tests/spinmodels tests/maxent \
         tests/flatness/test_curvature.py tests/effective_model/test_binarynet.py -m "not slow"
fi
# Python itself leaks by design at exit: leak checking off; everything else halts the run.
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1:detect_odr_violation=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
echo "sanitize: running pytest $* against $SITE"
LD_PRELOAD="$ASAN_LIB $UBSAN_LIB" PYTHONPATH="$SITE" "$PY" -m pytest -q -p no:cacheprovider \
  --import-mode=importlib "$@"
