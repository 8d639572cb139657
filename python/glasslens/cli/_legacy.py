"""The public names of the 0.1 command-line modules ``glasslens.landscape_cli``,
``glasslens.flatness_cli`` and ``glasslens.effective_model_cli`` (deprecated aliases of this
module, see ``glasslens._lib._deprecation.MOVED_MODULES``)."""
from __future__ import annotations

from ..effective_model._section import section as report_section_effective_model
from ..flatness._presets import VARIANT_PRESETS
from ..flatness._section import section as report_section_protocol4
from ..probes._section import section as report_section_protocol1
from .effective_model import add_parser as add_effective_model_parser
from .effective_model import run as cli_effective_model
from .effective_model import save_figures
from .flatness import add_parser as add_flatness_parser
from .flatness import run as cli_flatness
from .profile import add_parser as add_profile_parser
from .profile import parse_radii
from .profile import run as cli_profile
from .walk import add_parser as add_walk_parser
from .walk import run as cli_walk

__all__ = [
    "add_profile_parser", "add_walk_parser", "cli_profile", "cli_walk", "parse_radii",
    "report_section_protocol1",
    "add_flatness_parser", "cli_flatness", "VARIANT_PRESETS", "report_section_protocol4",
    "add_effective_model_parser", "cli_effective_model", "save_figures",
    "report_section_effective_model",
]
