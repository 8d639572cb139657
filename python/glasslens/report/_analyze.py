"""The main job: train an ensemble and write a report (``glasslens analyze``).

``run_analysis(...)`` loads a dataset, trains ``replicas`` networks with
``glasslens.train_ensemble``, saves them to ``<out>/ensemble.npz`` and then runs the registered
*sections* in order; each adds text, figures and data to the :class:`~glasslens.report.Report`.

Adding a section (e.g. a protocol of a later issue)::

    from glasslens.analyze import register_section

    @register_section("overlaps", order=40, title="Replica overlaps")
    def overlaps_section(ctx):
        q = ...  # use ctx.ensemble, ctx.dataset, ctx.options, ctx.n_threads
        ctx.report.add_section("Replica overlaps", text="...", figures=[fig], data={"q": q})

A section that answers one of the report's questions (``_sections.FINDINGS``: probes,
symmetry, replicas, flatness, effective_model) also calls
``glasslens._lib._sections.put_finding(ctx, name, ...)`` with its verdict, the deciding numbers
and the calibration of its instrument in this run; they fill the findings panel at the top of
``index.html`` and ``summary.json["findings"]`` (questions whose section did not run say so).

``order`` fixes the position (built-ins: setup 0, training 10, weights 20); ``default=False``
sections only run when named (``--sections``). Register at import time of a module that
``glasslens/__init__.py`` imports. Section-specific settings come from
``ctx.options["extra"]`` (``glasslens analyze -O key=value``). A section that raises is
recorded in the report as failed; the others still run and ``run_analysis`` raises
``AnalysisError`` at the end.
"""
from __future__ import annotations

import importlib
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union


from ..datasets._datasets import Dataset
from ..nn._config import TrainConfig
from ..nn._network import Ensemble
from .._lib._sections import slug
from ._report import Report
from ._sections import BUILTIN_SECTIONS, EXPECTED_SECONDS, FINDINGS, SETTINGS

__all__ = ["AnalysisContext", "AnalysisError", "register_section", "sections", "run_analysis",
           "ANALYSIS_TRAINING", "DATA_DEFAULTS"]

#: Training options of ``glasslens analyze`` and ``run_analysis`` (chosen to finish in a few
#: seconds on 2 cores): ``TrainConfig()`` with more replicas, more epochs and smaller batches.
ANALYSIS_TRAINING = TrainConfig(replicas=16, epochs=30, batch_size=32)

#: The data options of ``run_analysis`` and their defaults.
DATA_DEFAULTS: Dict[str, Any] = {"dataset": "digits", "n_train": None, "n_test": None,
                                 "pca": None, "classes": None, "data_path": None}

#: the training options the 0.1 ``DEFAULTS`` dict listed
_LEGACY_TRAINING_KEYS = ("hidden", "replicas", "epochs", "batch_size", "lr", "momentum",
                         "weight_decay", "family", "seed")


def _legacy_defaults() -> Dict[str, Any]:
    t = ANALYSIS_TRAINING
    return {"dataset": DATA_DEFAULTS["dataset"],
            **{k: getattr(t, k) for k in _LEGACY_TRAINING_KEYS},
            **{k: v for k, v in DATA_DEFAULTS.items() if k != "dataset"}}


def __getattr__(name: str) -> Any:
    if name == "DEFAULTS":
        from .._lib._deprecation import warn_moved

        warn_moved("glasslens.report.DEFAULTS",
                   "glasslens.report.ANALYSIS_TRAINING (a glasslens.nn.TrainConfig) and "
                   "glasslens.report.DATA_DEFAULTS")
        return _legacy_defaults()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class AnalysisError(RuntimeError):
    """Raised by ``run_analysis`` when one or more sections failed (the report is written)."""


@dataclass
class AnalysisContext:
    """What a section function receives.

    dataset, ensemble : the data and the trained replicas
    options : the run's options (the data options, the training options of the 0.1 DEFAULTS
        dict, ``training`` (every TrainConfig field), ``out``, ``extra`` dict of -O settings)
    report : the Report to add sections to
    n_threads : resolved thread count for heavy calls
    progress : whether to show progress bars (pass to tqdm as ``disable=not ctx.progress``)
    results : scratch dict shared between sections (e.g. an alignment reused by later ones)
    """

    dataset: Dataset
    ensemble: Ensemble
    options: Dict[str, Any]
    report: Report
    n_threads: int
    progress: bool = False
    results: Dict[str, Any] = field(default_factory=dict)


@dataclass
class _Spec:
    name: str
    func: Callable[[AnalysisContext], None]
    order: float
    default: bool
    title: str
    settings: Optional[Tuple[str, ...]] = ()  # its -O keys; None: any (undeclared)


_REGISTRY: Dict[str, _Spec] = {}


def register_section(name: str, func: Optional[Callable[[AnalysisContext], None]] = None, *,
                     order: float = 100.0, default: bool = True, title: Optional[str] = None,
                     settings: Optional[Sequence[str]] = None):
    """Register ``func(ctx) -> None`` as report section ``name`` (usable as a decorator).

    ``settings``: the ``-O key=value`` keys the section reads from ``ctx.options['extra']``;
    ``run_analysis`` refuses keys that no selected section declares (None: the section does not
    say, and unknown keys are then only warned about)."""
    if not isinstance(name, str) or not name or "," in name:
        raise ValueError(f"section name must be a non-empty str without commas, got {name!r}")

    def deco(f: Callable[[AnalysisContext], None]) -> Callable[[AnalysisContext], None]:
        if not callable(f):
            raise TypeError("section function must be callable")
        _REGISTRY[name] = _Spec(name, f, float(order), bool(default), title or name,
                                None if settings is None else tuple(settings))
        return f

    return deco(func) if func is not None else deco


def sections(include_optional: bool = True) -> List[str]:
    """Registered section names in run order."""
    specs = sorted(_REGISTRY.values(), key=lambda s: (s.order, s.name))
    return [s.name for s in specs if include_optional or s.default]


# ---------------------------------------------------------------------------------------------
# built-in sections
# ---------------------------------------------------------------------------------------------


def setup_section(ctx: AnalysisContext) -> None:
    """Data, model, training options and build of the run."""
    from .._lib._build import build_info

    d, e, o = ctx.dataset, ctx.ensemble, ctx.options
    text = (f"Dataset '{d.name}': {d.n_train} training and {d.n_test} test samples, "
            f"{d.n_features} features, {d.n_classes} classes. "
            f"{e.n_replicas} replicas of a fully connected ReLU network with widths {e.widths} "
            f"({e.n_params} parameters each), trained by SGD for {o['epochs']} epochs "
            f"(batch {o['batch_size']}, learning rate {o['lr']}, momentum {o['momentum']}, "
            f"weight decay {o['weight_decay']}, replica family '{o['family']}', seed "
            f"{o['seed']}) on {ctx.n_threads} thread(s).")
    data = {
        "dataset": {"name": d.name, "n_train": d.n_train, "n_test": d.n_test,
                    "n_features": d.n_features, "n_classes": d.n_classes,
                    "class_counts": d.meta.get("class_counts"),
                    "classes": d.meta.get("classes"), "pca": d.meta.get("pca")},
        "model": {"widths": e.widths, "n_params": e.n_params, "bias": e.has_bias,
                  "replicas": e.n_replicas},
        "training": {k: o[k] for k in ("epochs", "batch_size", "lr", "momentum",
                                        "weight_decay", "family", "seed")},
        "build": build_info(),
        "timing_s": ctx.results.get("timing", {}),
    }
    ctx.report.add_section("Data and model", text, data=data, key="setup")


def _lazy(target: str) -> Callable[[AnalysisContext], None]:
    """A section function that imports ``"module:function"`` when it first runs."""
    module, name = target.split(":")

    def run(ctx: AnalysisContext) -> None:
        getattr(importlib.import_module(module), name)(ctx)

    run.__name__ = run.__qualname__ = name
    run.__doc__ = f"runs {target}"
    return run


for _name, _order, _title, _target in BUILTIN_SECTIONS:
    register_section(_name, _lazy(_target), order=_order, title=_title,
                     settings=SETTINGS.get(_name, ()))


def _check_settings(extra: Dict[str, Any], specs: Sequence[_Spec]) -> None:
    """Refuse ``-O`` keys that no selected section reads (a typo used to be ignored)."""
    known = sorted({k for s in specs for k in (s.settings or ())})
    unknown = sorted(k for k in extra if k not in known)
    if not unknown:
        return
    open_ = [s.name for s in specs if s.settings is None]
    msg = (f"unknown -O setting(s) {unknown} for the sections {[s.name for s in specs]}; "
           f"known: {', '.join(known) if known else 'none'}")
    if open_:
        import warnings

        warnings.warn(msg + f" (sections {open_} do not declare theirs)", UserWarning,
                      stacklevel=3)
        return
    raise ValueError(msg)


# ---------------------------------------------------------------------------------------------
# the job
# ---------------------------------------------------------------------------------------------
def _pick_sections(names: Optional[Sequence[str]]) -> List[_Spec]:
    if names is None:
        return [_REGISTRY[n] for n in sections(include_optional=False)]
    unknown = [n for n in names if n not in _REGISTRY]
    if unknown:
        raise ValueError(f"unknown section(s) {unknown}; available: {', '.join(sections())}")
    return sorted((_REGISTRY[n] for n in dict.fromkeys(names)), key=lambda s: (s.order, s.name))


def run_analysis(
    out: Union[str, Path] = "glasslens-report",
    *,
    dataset: Union[str, Dataset] = DATA_DEFAULTS["dataset"],
    config: Optional[TrainConfig] = None,
    n_train: Optional[int] = DATA_DEFAULTS["n_train"],
    n_test: Optional[int] = DATA_DEFAULTS["n_test"],
    pca: Optional[int] = DATA_DEFAULTS["pca"],
    classes: Optional[Sequence[int]] = DATA_DEFAULTS["classes"],
    data_path: Optional[str] = DATA_DEFAULTS["data_path"],
    sections: Optional[Sequence[str]] = None,
    extra: Optional[Dict[str, Any]] = None,
    n_threads: Optional[int] = None,
    progress: Optional[bool] = None,
    log: Optional[Callable[[str], None]] = None,
    **train_overrides: Any,
) -> Report:
    """Train an ensemble and write a report directory ``out`` (see the module docstring).

    ``dataset`` is a name for :func:`glasslens.datasets.load` (with ``n_train``, ``n_test``,
    ``pca``, ``classes``, ``data_path`` and the training ``seed``) or a ready :class:`Dataset`.
    The training options are ``config`` (default :data:`ANALYSIS_TRAINING`) with the keyword
    ``train_overrides`` (any :class:`~glasslens.nn.TrainConfig` field, e.g. ``replicas=4``)
    applied. ``sections`` selects report sections (default: every default section).
    ``progress``: a progress bar over the sections (with ETA) and the training bar; None (auto)
    shows them on a terminal or in a notebook. ``log``: a callable receiving one-line status
    messages, among them each section's time (default: printed to stderr when progress is
    shown). Returns the written :class:`Report`.
    """
    from tqdm.auto import tqdm

    from .. import datasets
    from .._lib._threads import resolve_threads

    from ..nn._training import resolve_config

    cfg = resolve_config(ANALYSIS_TRAINING if config is None else config, **train_overrides)
    specs = _pick_sections(sections)
    _check_settings(dict(extra or {}), specs)
    threads = resolve_threads(n_threads)
    show = _interactive() if progress is None else bool(progress)
    sink = log if log is not None else (_stderr_line if show else None)

    def say(msg: str) -> None:
        if sink is not None:
            with tqdm.external_write_mode():
                sink(msg)

    timing: Dict[str, float] = {}
    requested = {"dataset": dataset if isinstance(dataset, str) else dataset.name,
                 "n_train": n_train, "n_test": n_test, "pca": pca,
                 "classes": None if classes is None else list(classes)}
    options: Dict[str, Any] = {
        "dataset": requested["dataset"],
        **{k: getattr(cfg, k) for k in _LEGACY_TRAINING_KEYS}, "hidden": list(cfg.hidden),
        "n_train": n_train, "n_test": n_test, "pca": pca,
        "classes": requested["classes"], "data_path": data_path,
        "training": cfg.to_dict(),
        "out": str(out), "n_threads": threads, "sections": [s.name for s in specs],
        "extra": dict(extra or {}),
    }

    t0 = time.perf_counter()
    if isinstance(dataset, Dataset):
        ds = dataset
    else:
        say(f"loading dataset {dataset!r}")
        ds = datasets.load(dataset, n_train=n_train, n_test=n_test, pca=pca, classes=classes,
                           seed=cfg.seed, path=data_path, n_threads=threads)
    timing["load_dataset"] = time.perf_counter() - t0
    # what ran, not what was asked for (None = "all" is resolved; a Dataset object has its own)
    arch = [int(ds.n_features), *[int(h) for h in cfg.hidden], int(ds.n_classes)]
    options.update(dataset=ds.name, n_train=int(ds.n_train), n_test=int(ds.n_test),
                   pca=ds.meta.get("pca"), classes=_classes(ds), architecture=arch,
                   requested=requested)

    from ..nn import train_ensemble

    report = Report(out, title=f"glasslens analysis: {ds.name}", meta=options)
    report.header = (f"Data: {ds.name}, {ds.n_train} training / {ds.n_test} test samples. "
                     f"Architecture: {'-'.join(map(str, arch))} fully connected ReLU network, "
                     f"{cfg.replicas} replicas, SGD {cfg.epochs} epochs (batch "
                     f"{cfg.batch_size}, learning rate {cfg.lr}), seed {cfg.seed}, "
                     f"{threads} thread(s).")
    for name, (question, section_name) in FINDINGS.items():  # replaced by the sections' own
        report.findings[name] = {
            "question": question, "verdict": f"not answered: section {section_name} was not "
            f"run", "numbers": {}, "calibration": "not calibrated in this run",
            "calibration_status": "not calibrated", "section": None}
    say(f"training {cfg.replicas} replicas of {arch} for {cfg.epochs} epochs on {threads} "
        f"thread(s)")
    t0 = time.perf_counter()
    try:
        ens = train_ensemble(ds, cfg, n_threads=threads, progress=show)
    except KeyboardInterrupt:
        _write_interrupted(report, "training", [s.name for s in specs], timing)
        raise
    timing["train"] = time.perf_counter() - t0
    say(f"trained in {timing['train']:.1f} s")
    ens.save(report.out_dir / "ensemble.npz")

    ctx = AnalysisContext(ds, ens, options, report, threads, progress=show)
    ctx.results["timing"] = timing
    failed: List[str] = []
    # the bar counts expected tenths of seconds, so that its ETA is in time, not in sections
    cost = [max(1, int(round(10 * EXPECTED_SECONDS.get(s.name, 1.0)))) for s in specs]
    bar = tqdm(total=sum(cost), desc="report", disable=not show, leave=False,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]")
    for i, spec in enumerate(specs):
        bar.set_description_str(f"report {i + 1}/{len(specs)} {spec.title[:50]}")
        n_before = len(report.sections)
        t0 = time.perf_counter()
        try:
            spec.func(ctx)
        except KeyboardInterrupt:
            bar.close()
            del report.sections[n_before:]  # a half-built section is not shown
            _write_interrupted(report, f"section {spec.name}", [s.name for s in specs[i:]],
                               timing)
            raise
        except Exception as exc:  # keep going: a report with one failed section is useful
            failed.append(spec.name)
            report.add_section(f"{spec.title} (failed)", text=f"This section raised "
                               f"{type(exc).__name__}: {exc}",
                               data={"traceback": traceback.format_exc()},
                               key=f"{spec.name}-failed")
            for name, (_, section_name) in FINDINGS.items():
                if section_name == spec.name:
                    report.findings[name].update(
                        verdict=f"not answered: section {spec.name} failed "
                                f"({type(exc).__name__})", section=slug(f"{spec.name}-failed"))
        dt = time.perf_counter() - t0
        timing[f"section:{spec.name}"] = dt
        for sec in report.sections[n_before:]:
            sec["seconds"] = round(dt, 3)
        bar.update(cost[i])
        say(f"section {spec.name}: {dt:.1f} s" + (" (FAILED)" if spec.name in failed else ""))
    bar.close()
    report.meta["timing_s"] = {k: round(v, 3) for k, v in timing.items()}
    report.write()
    if failed:
        raise AnalysisError(f"report section(s) {failed} failed; see {report.out_dir}/index.html")
    return report


def _classes(ds: Dataset) -> Optional[List[int]]:
    c = ds.meta.get("classes")
    return None if c is None else [int(v) for v in c]


def _stderr_line(msg: str) -> None:
    import sys

    print(f"[glasslens] {msg}", file=sys.stderr, flush=True)


def _write_interrupted(report: Report, where: str, not_run: List[str],
                       timing: Dict[str, float]) -> None:
    """Write the report of a run stopped by Ctrl-C so that it cannot pass for a complete one:
    a first section says where it stopped and which sections did not run, and
    ``summary.json["meta"]["interrupted"]`` records the same."""
    report.meta["interrupted"] = {"during": where, "not_run": list(not_run)}
    report.meta["timing_s"] = {k: round(v, 3) for k, v in timing.items()}
    report.sections.insert(0, {
        "key": "interrupted", "title": "INTERRUPTED: this report is incomplete",
        "text": (f"The run was stopped (Ctrl-C) during {where}. Sections not run: "
                 f"{', '.join(not_run) if not_run else 'none'}. Rerun to get the full report."),
        "figures": [], "data": {"interrupted": report.meta["interrupted"]}, "seconds": None})
    report.write()


def _isatty() -> bool:
    import sys

    try:
        return bool(sys.stderr.isatty())
    except Exception:
        return False


def _interactive() -> bool:
    """A terminal (stderr is a tty) or a Jupyter kernel: where progress is shown by default."""
    if _isatty():
        return True
    import sys

    if "IPython" not in sys.modules:
        return False
    try:
        ip = sys.modules["IPython"].get_ipython()
    except Exception:
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"
