#!/usr/bin/env bash
# Development build: compiles glasslens._core into python/glasslens/ so that
# `PYTHONPATH=python python -m pytest` runs against the working tree without reinstalling.
# Usage: tools/dev-build.sh [python]   (default: python3 on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-${PYTHON:-python3}}
PYBIND_DIR=$("$PY" -c 'import pybind11; print(pybind11.get_cmake_dir())')
GEN=()
command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)
cmake -S . -B build/dev "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -Dpybind11_DIR="$PYBIND_DIR" \
  -DPython_EXECUTABLE="$(command -v "$PY")" ${CMAKE_ARGS:-} >/dev/null
cmake --build build/dev -j "${JOBS:-2}"
