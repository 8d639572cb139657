"""The Protocol 1 section of the report (``glasslens analyze``): loss-vs-radius profile of
replica 0 and short free random walks. Receives the report's ``AnalysisContext``."""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from .._lib._sections import section_settings
from ._landscape import profile
from ._walks import random_walk
from .plotting import plot_msd, plot_profile, plot_walk


def section(ctx: Any) -> None:
    """Protocol 1 report section: loss-vs-radius profile of replica 0 and a short free walk.

    ``ctx`` needs ``dataset`` (X_train, y_train, X_test, y_test), ``ensemble`` and ``report``
    (``add_section(title, text, figures, data)``); optional ``n_threads`` and ``options`` (dict;
    ``options['extra']`` may set ``p1_directions``, ``p1_steps``, ``p1_walkers``). Kept small:
    a few seconds on digits-sized problems."""
    extra = section_settings(ctx)
    nt = getattr(ctx, "n_threads", None)
    K = int(extra.get("p1_directions", 16))
    steps = int(extra.get("p1_steps", 500))
    W = int(extra.get("p1_walkers", 4))
    net = ctx.ensemble[0]
    t0 = time.perf_counter()
    radii = np.linspace(0.0, 1.0, 11)
    pr = profile(net, ctx.dataset, radii, n_directions=K, normalization="filter", n_threads=nt)
    wk = random_walk(net, ctx.dataset, steps, 0.01, move="dense", n_walkers=W,
                     record_every=max(1, steps // 50), n_threads=nt)
    ws = {k: float("nan") if v is None else v for k, v in wk.to_dict().items()}
    text = (f"Replica 0 probed with {K} filter-normalised Gaussian directions at 11 radii in "
            f"[0, 1]: train loss {pr.loss0:.4f} at r = 0, mean {pr.mean_train_loss[-1]:.4f} at "
            f"r = 1; basin radius (mean loss > L0 + {pr.delta:g}) = {pr.basin_radius:.3g}. "
            f"{W} free walks of {steps} dense Gaussian steps (eta = 0.01): final relative "
            f"distance {ws['final_distance_mean']:.3g}, MSD exponent {ws['msd_exponent']:.2f}, "
            f"loss correlation length {ws['correlation_length_steps']:.3g} steps, "
            f"{100 * ws['escaped_fraction']:.0f}% of walkers escaped L0 + {wk.delta:g}.")
    data = {"profile": pr.to_dict(), "walk": {k: v for k, v in ws.items() if k != "settings"},
            "walk_settings": wk.settings,
            "seconds": time.perf_counter() - t0}
    ctx.report.add_section(
        "Protocol 1: perturbation probes and random walks", text,
        figures=[(plot_profile(pr), "loss and error against filter-normalised radius"),
                 (plot_walk(wk), "free random walks from replica 0"),
                 (plot_msd(wk), "mean squared displacement of the walks")],
        data=data)
