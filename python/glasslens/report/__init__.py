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
    DEFAULTS,
)

__all__ = [
    "Report",
    "to_jsonable",
    "AnalysisContext",
    "AnalysisError",
    "register_section",
    "sections",
    "run_analysis",
    "DEFAULTS",
]
