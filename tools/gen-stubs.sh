#!/usr/bin/env bash
# Regenerate python/glasslens/_core.pyi from the built extension (run tools/dev-build.sh first).
# tests/test_stubs.py fails when the committed stub and the extension disagree.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-${PYTHON:-python3}}
out=$(mktemp -d)
PYTHONPATH=python "$PY" -m pybind11_stubgen glasslens._core -o "$out" --numpy-array-wrap-with-annotated
cp "$out/glasslens/_core.pyi" python/glasslens/_core.pyi
rm -rf "$out"
echo "wrote python/glasslens/_core.pyi"
