"""The report: ``Report`` (HTML/JSON/figures), ``run_analysis`` (what ``glasslens analyze``
does) and the section registry (``register_section``, ``sections``).
"""
from __future__ import annotations

from ._report import (
    Report,
    to_jsonable,
)
from ._analyze import (
    AnalysisContext,
    AnalysisError,
    register_section,
    sections,
    run_analysis,
    ANALYSIS_TRAINING,
    DATA_DEFAULTS,
)

__all__ = [
    "Report",
    "to_jsonable",
    "AnalysisContext",
    "AnalysisError",
    "register_section",
    "sections",
    "run_analysis",
    "ANALYSIS_TRAINING",
    "DATA_DEFAULTS",
]


def __getattr__(name: str):
    if name == "DEFAULTS":  # deprecated (0.2): ANALYSIS_TRAINING and DATA_DEFAULTS
        from . import _analyze

        return _analyze.__getattr__(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
