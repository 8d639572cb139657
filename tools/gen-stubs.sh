#!/usr/bin/env bash
# Regenerate the type stubs of glasslens._core from the built extension (run tools/dev-build.sh
# first). _core has one submodule per area, so pybind11-stubgen writes a stub package:
# python/glasslens/_core/__init__.pyi (the top level) and python/glasslens/_core/<area>.pyi.
# The folder holds only .pyi files: it has no __init__.py, so `import glasslens._core` still
# loads the extension _core*.so next to it (tests/test_stubs.py checks that).
# tests/test_stubs.py fails when the committed stubs and the extension disagree.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-${PYTHON:-python3}}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
PYTHONPATH=python "$PY" -m pybind11_stubgen glasslens._core -o "$out" --numpy-array-wrap-with-annotated
dest=python/glasslens/_core
if [ -d "$dest" ] && find "$dest" -type f ! -name '*.pyi' | grep -q .; then
  echo "$dest holds files other than stubs; not touching it" >&2
  exit 1
fi
rm -rf "$dest"
cp -r "$out/glasslens/_core" "$dest"
echo "wrote $dest/: $(cd "$dest" && ls | tr '\n' ' ')"
