"""Named grids of training variants for the generalisation study (Protocol 4)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

__all__ = ["VARIANT_PRESETS"]

#: name -> ``variants`` argument of :func:`generalization_study` (None: ``default_variants``)
VARIANT_PRESETS: Dict[str, Optional[List[Dict[str, Any]]]] = {
    "default": None,
    "batch": [{"batch_size": 16}, {"batch_size": 64}, {"batch_size": 256},
              {"batch_size": "full", "lr": 0.5, "epochs": "10x"}],
    "sam": [{"batch_size": 64}, {"batch_size": 64, "sam_rho": 0.01},
            {"batch_size": 64, "sam_rho": 0.05}, {"batch_size": 64, "sam_rho": 0.1}],
    "noise": [{"batch_size": 64}, {"batch_size": 64, "label_noise": 0.1},
              {"batch_size": 64, "label_noise": 0.2}, {"batch_size": 64, "label_noise": 0.4}],
}
