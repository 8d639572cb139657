"""The ``glasslens`` command (``python -m glasslens``): argument parsing and output only, the
science lives in the subpackages."""
from __future__ import annotations

from ._main import build_parser, main

__all__ = ["main", "build_parser"]
