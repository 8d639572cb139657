"""The built-in sections of the report (``glasslens analyze``), in run order.

Each protocol owns its section (``glasslens.<protocol>._section``); the report only lists them
here and imports each one when it runs.

================  =====  ======================================================================
section           order  content
================  =====  ======================================================================
setup             0      data, model, training options, build
training          10     training curves and final metrics (:mod:`glasslens.nn`)
weights           20     layer norms and raw replica overlaps (:mod:`glasslens.nn`)
protocol1         30     loss vs perturbation radius, the free walk's loss rise with distance,
                         threshold and Metropolis walks around replica 0 (:mod:`glasslens.probes`)
protocol2         40     barriers to permuted copies and between replica pairs, raw and aligned
                         (:mod:`glasslens.symmetry`)
protocol3         50     replica analysis of the aligned ensemble next to SK samples at T = 0.5
                         and a paramagnet (T = 2) (:mod:`glasslens.replicas`)
protocol4         60     flatness measures of the replicas against test accuracy and the gap
                         (:mod:`glasslens.flatness`)
effective_model   70     a tiny run of the Zou & Huang effective model
                         (:mod:`glasslens.effective_model`)
================  =====  ======================================================================

Settings (``glasslens analyze -O key=value``), defaults chosen so that the default run stays
around a minute on 2 cores: ``p1_directions`` (16), ``p1_steps`` (500), ``p1_walkers`` (4),
``p1_eta`` (relative walk step; default 2 x basin radius / sqrt(p1_steps)), ``p1_delta`` (0.1
nats: basin radius, threshold-walk level L0 + delta and escape level), ``p1_accept`` (0.5: the
Metropolis temperature accepts a typical move's loss change with this probability);
``p2_trials`` (2), ``p2_points`` (21), ``p2_pairs`` (8), ``p2_align`` ("weights");
``p3_null`` (39 null realisations), ``p3_spins`` (N = 128 SK spins), ``p3_sweeps`` (1000),
``p3_ref_replicas`` (max(replicas, 24)), ``p3_reference`` (true: run the SK and paramagnet
references); ``flatness_replicas`` (8); ``em_trainings`` (30), ``em_draws`` (50),
``em_epochs``.
"""
from __future__ import annotations

from typing import Dict, Tuple

from .._lib._sections import FINDINGS as _FINDINGS

#: the ``-O key=value`` settings each built-in section reads (run_analysis refuses others)
SETTINGS: Dict[str, Tuple[str, ...]] = {
    "protocol1": ("p1_directions", "p1_steps", "p1_walkers", "p1_eta", "p1_delta", "p1_accept"),
    "protocol2": ("p2_trials", "p2_points", "p2_pairs", "p2_matching", "p2_align"),
    "protocol3": ("p3_null", "p3_spins", "p3_sweeps", "p3_ref_replicas", "p3_reference"),
    "protocol4": ("flatness_replicas",),
    "effective_model": ("em_trainings", "em_draws", "em_epochs"),
}

#: every ``-O`` key: (default as text, what it sets); ``glasslens analyze --options`` prints it
OPTION_HELP: Dict[str, Tuple[str, str]] = {
    "p1_directions": ("16", "Protocol 1: random filter-normalised directions of the profile"),
    "p1_steps": ("500", "Protocol 1: moves per walk"),
    "p1_walkers": ("4", "Protocol 1: walkers per walk type"),
    "p1_eta": ("2 radius/sqrt(steps)", "Protocol 1: relative walk step"),
    "p1_delta": ("0.1", "Protocol 1: loss rise (nats) defining the basin, threshold and escape"),
    "p1_accept": ("0.5", "Protocol 1: Metropolis acceptance of a typical move's loss change"),
    "p2_trials": ("2", "Protocol 2: random copies per number of swapped pairs k"),
    "p2_points": ("21", "Protocol 2: points along each interpolation path"),
    "p2_pairs": ("8", "Protocol 2: replica pairs (0: none)"),
    "p2_matching": ("weights", "Protocol 2: matching of replica pairs (weights or activations)"),
    "p2_align": ("weights", "Protocol 2: old name of p2_matching"),
    "p3_null": ("39", "Protocol 3: null realisations per null model"),
    "p3_spins": ("128", "Protocol 3: SK reference spins N"),
    "p3_sweeps": ("1000", "Protocol 3: SK parallel-tempering sweeps (equilibrate and measure)"),
    "p3_ref_replicas": ("max(replicas, 24)", "Protocol 3: replicas of the spin references"),
    "p3_reference": ("true", "Protocol 3: run the SK (T = 0.5) and paramagnet (T = 2) "
                     "references"),
    "flatness_replicas": ("8", "Protocol 4: replicas whose flatness is measured"),
    "em_trainings": ("30", "effective model: binary networks trained"),
    "em_draws": ("50", "effective model: weight configurations drawn per network"),
    "em_epochs": ("~300 Adam steps", "effective model: training epochs (at most 50 by default)"),
}

#: typical seconds of each built-in section in the default run (2 cores, digits): the weights of
#: the report's progress bar, so that its ETA is in seconds rather than in sections
EXPECTED_SECONDS: Dict[str, float] = {
    "setup": 0.1, "training": 0.6, "weights": 0.2, "protocol1": 0.8, "protocol2": 0.4,
    "protocol3": 2.1, "protocol4": 4.0, "effective_model": 4.5,
}

#: the questions of the findings panel (one source: ``glasslens._lib._sections.FINDINGS``)
FINDINGS = _FINDINGS

#: (name, order, title, "module:function") of every built-in section
BUILTIN_SECTIONS: Tuple[Tuple[str, float, str, str], ...] = (
    ("setup", 0, "Data and model", "glasslens.report._analyze:setup_section"),
    ("training", 10, "Training", "glasslens.nn._section:training_section"),
    ("weights", 20, "Weights", "glasslens.nn._section:weights_section"),
    ("protocol1", 30, "Protocol 1: perturbation probes and random walks",
     "glasslens.probes._section:section"),
    ("protocol2", 40, "Protocol 2: permutation symmetry and barriers",
     "glasslens.symmetry._section:section"),
    ("protocol3", 50, "Protocol 3: replica structure", "glasslens.replicas._section:section"),
    ("protocol4", 60, "Protocol 4: flatness and generalisation",
     "glasslens.flatness._section:section"),
    ("effective_model", 70, "Effective model of binary-synapse weight space (Zou & Huang)",
     "glasslens.effective_model._section:section"),
)
