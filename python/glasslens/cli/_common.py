"""What every ``glasslens`` command shares: argparse value types, the option groups (data,
training options from :class:`~glasslens.nn.TrainConfig`, ``--model``, and ``--out`` /
``--threads`` / ``--progress/--no-progress``), data and model loading, and output writing.

No science here: the commands parse, call the library and print or write what it returns.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

__all__ = [
    "positive_int", "nonneg_int", "threads", "int_list", "hidden_widths", "schedule", "kv",
    "add_data_options", "add_training_options", "training_config", "add_model_option",
    "add_run_options", "add_progress_option", "show_progress", "progress_arg", "load_data", "get_ensemble", "load_network",
    "out_dir", "write_outputs", "write_npz", "metric_lines", "defaults_of", "alignment_arg",
    "deprecated_flag",
]


# ---- value types -------------------------------------------------------------------------------
def positive_int(text: str) -> int:
    """An int >= 1, or an argparse error naming the value."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def nonneg_int(text: str) -> int:
    """An int >= 0, or an argparse error naming the value."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return v


def threads(text: str) -> int:
    """``--threads``: a non-zero int (negative values count back from the CPU count)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer thread count, got {text!r}") from None
    if v == 0:
        raise argparse.ArgumentTypeError("--threads must be positive or negative (-1 = all CPUs)")
    return v


def int_list(text: str) -> Tuple[int, ...]:
    """'0,1,7' -> (0, 1, 7)."""
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 0,1, got {text!r}") from None


def hidden_widths(text: str) -> Tuple[int, ...]:
    """'32', '64,32', '64x32' or '64 32'; 'none' (or '', '0', '-') for no hidden layer."""
    t = text.strip().lower()
    if t in ("", "none", "0", "-"):
        return ()
    try:
        vals = tuple(int(v) for v in t.replace("x", ",").replace(" ", ",").split(",") if v)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--hidden must be comma-separated widths such as 32 or 64,32, got {text!r}") from None
    if any(v < 1 for v in vals):
        raise argparse.ArgumentTypeError(f"--hidden widths must be positive, got {text!r}")
    return vals


def schedule(text: str) -> Any:
    """A schedule name, or comma-separated learning rates (one per epoch)."""
    from ..nn._config import SCHEDULES

    if text in SCHEDULES:
        return text
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--schedule must be one of {', '.join(SCHEDULES)} or comma-separated learning "
            f"rates, got {text!r}") from None


def kv(text: str) -> Tuple[str, Any]:
    """``KEY=VALUE`` with VALUE parsed as JSON when it is JSON (else kept as a string)."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"-O expects KEY=VALUE, got {text!r}")
    k, v = text.split("=", 1)
    try:
        val: Any = json.loads(v)
    except ValueError:
        val = v
    return k.strip(), val


def alignment_arg(text: str) -> Tuple[str, ...]:
    """``--alignment``: one alignment or a comma-separated list of them (the choices of
    ``glasslens._lib._alignment.ALIGNMENTS``: none, pairwise, reference, medoid, mean); each
    command accepts the subset it can compute. The effective-model command's old values
    ``aligned`` (= mean) and ``both`` (= none,mean) are accepted with a deprecation note."""
    from .._lib._alignment import check_alignments

    old = {"aligned": "mean", "both": "none,mean"}
    if text in old:
        print(f"glasslens: --alignment {text} is deprecated; use --alignment {old[text]}",
              file=sys.stderr)
        text = old[text]
    try:  # the library's one check and message
        return check_alignments([v.strip() for v in text.split(",") if v.strip()])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (or a comma-separated list of them)") from None


def deprecated_flag(new: str) -> type:
    """An argparse action for an old flag spelling: stores the value like ``new`` does and
    prints a deprecation note to stderr."""

    class _Deprecated(argparse.Action):
        def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                     values: object, option_string: object = None) -> None:
            print(f"{parser.prog}: {option_string} is deprecated; use {new}", file=sys.stderr)
            setattr(namespace, self.dest, values)

    return _Deprecated


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value) or "none"
    return str(value)


def defaults_of(func: Callable[..., Any], names: Sequence[str]) -> Dict[str, Any]:
    """The defaults of the keyword parameters ``names`` of ``func`` (so a command that calls
    a library function with its own defaults does not write them again)."""
    import inspect

    params = inspect.signature(func).parameters
    return {n: params[n].default for n in names}


# ---- option groups -----------------------------------------------------------------------------
DATASET_HELP = "digits (bundled), teacher, fashion-mnist, mnist, cifar10"


def add_data_options(p: argparse.ArgumentParser, *, dataset: Optional[str] = "digits",
                     pca: bool = True, classes: bool = True, npz: bool = False,
                     dataset_help: str = DATASET_HELP) -> None:
    """``--dataset`` (or, with ``npz``, exactly one of ``--data FILE.npz`` / ``--dataset``),
    ``--data-path``, ``--n-train``, ``--n-test``, ``--pca``, ``--classes``."""
    g = p.add_argument_group("data")
    if npz:
        x = g.add_mutually_exclusive_group(required=True)
        x.add_argument("--data", metavar="FILE.npz",
                       help=".npz with arrays X_train, y_train (and X_test, y_test)")
        x.add_argument("--dataset", help=f"dataset name: {dataset_help}")
    else:
        g.add_argument("--dataset", default=dataset,
                       help=f"dataset name: {dataset_help} (default: "
                            f"{dataset or 'the preset' + chr(39) + 's'})")
    g.add_argument("--data-path", default=None, metavar="DIR",
                   help="directory with the data files (fashion-mnist, mnist: IDX; cifar10: "
                        "the binary batches); default: $GLASSLENS_DATA or "
                        "/usr/share/datasets/<name>")
    g.add_argument("--n-train", type=positive_int, default=None, metavar="N",
                   help="seeded stratified training subset (default: all)")
    g.add_argument("--n-test", type=positive_int, default=None, metavar="N",
                   help="seeded stratified test subset (default: all)")
    if pca:
        g.add_argument("--pca", type=positive_int, default=None, metavar="K",
                       help="project on the first K principal components of the training set")
    if classes:
        g.add_argument("--classes", type=int_list, default=None, metavar="A,B,...",
                       help="keep only these labels (renumbered 0..c-1), e.g. 0,1")


#: argparse types of the TrainConfig fields that are not plain int/float/str/bool
_TRAIN_TYPES: Dict[str, Callable[[str], Any]] = {
    "hidden": hidden_widths, "replicas": positive_int, "epochs": positive_int,
    "batch_size": positive_int, "schedule": schedule, "warmup_epochs": nonneg_int,
    "target_train_acc": float, "seed": nonneg_int, "record_every": positive_int,
}
_METAVARS = {"hidden": "W[,W...]", "schedule": "NAME|LR,LR,..."}


def add_training_options(p: argparse.ArgumentParser, base: Any,
                         fields: Optional[Sequence[str]] = None,
                         defaults: Optional[Mapping[str, Any]] = None,
                         helps: Optional[Mapping[str, str]] = None) -> None:
    """One ``--<field>`` per :class:`~glasslens.nn.TrainConfig` field (all, or ``fields``), with
    the field's help and its default in ``base`` (or in ``defaults``)."""
    from ..nn._config import TrainConfig

    by_name = {f.name: f for f in dataclasses.fields(TrainConfig)}
    g = p.add_argument_group("training")
    for name in fields or TrainConfig.field_names():
        f = by_name[name]
        default = (defaults or {}).get(name, getattr(base, name))
        text = (helps or {}).get(name, f.metadata["help"])
        flag = "--" + name.replace("_", "-")
        if isinstance(default, bool):
            g.add_argument(flag, action=argparse.BooleanOptionalAction, default=default,
                           help=f"{text} (default: {'yes' if default else 'no'})")
            continue
        kw: Dict[str, Any] = {"default": default, "help": f"{text} (default: {_show(default)})"}
        if "choices" in f.metadata and name != "schedule":
            kw["choices"] = f.metadata["choices"]
        else:
            kw["type"] = _TRAIN_TYPES.get(name, type(default))
            kw["metavar"] = _METAVARS.get(name, name.split("_")[-1].upper())
        g.add_argument(flag, **kw)


def training_config(args: argparse.Namespace, base: Any) -> Any:
    """The TrainConfig of the parsed training options (``base`` where an option is absent)."""
    names = [n for n in base.field_names() if hasattr(args, n)]
    return base.replace(**{n: getattr(args, n) for n in names})


def add_model_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None, metavar="FILE",
                   help="saved Ensemble .npz (glasslens train); the data options must match "
                        "the data it was trained on. Default: train one with the options below")


def add_run_options(p: argparse.ArgumentParser, *, out: Optional[str], out_help: str) -> None:
    """``-o/--out``, ``--threads N`` and ``--progress/--no-progress`` (default: bars when stderr
    is a terminal). The one definition every command uses."""
    g = p.add_argument_group("output and run")
    g.add_argument("-o", "--out", default=out, required=out is None, metavar="PATH",
                   help=out_help + ("" if out is None else f" (default: {out})"))
    g.add_argument("--threads", type=threads, default=None, metavar="N",
                   help="threads (default: OMP_NUM_THREADS or all cores; -1 = all CPUs)")
    add_progress_option(g)


def add_progress_option(p: Any) -> None:
    """``--progress/--no-progress`` (default None: bars when stderr is a terminal), the one
    definition of the flag for every command (``add_run_options``, and the commands whose
    output and thread options differ)."""
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars on stderr (default: on when stderr is a terminal)")


def progress_arg(args: argparse.Namespace) -> Optional[bool]:
    """``--progress`` -> True, ``--no-progress`` -> False, neither -> None (automatic)."""
    return getattr(args, "progress", None)


def show_progress(args: argparse.Namespace) -> bool:
    """Whether to show progress bars: the flag when given, else whether stderr is a terminal."""
    flag = progress_arg(args)
    if flag is not None:
        return bool(flag)
    try:
        return bool(sys.stderr.isatty())
    except Exception:
        return False


# ---- inputs ------------------------------------------------------------------------------------
def load_data(args: argparse.Namespace, *, seed: int, **kw: Any) -> Any:
    """The data of the data options: ``--data FILE.npz`` or ``glasslens.datasets.load``."""
    if getattr(args, "data", None):
        import numpy as np
        from types import SimpleNamespace

        z = np.load(args.data, allow_pickle=False)
        missing = [k for k in ("X_train", "y_train") if k not in z.files]
        if missing:
            raise ValueError(f"{args.data} lacks arrays {missing}")
        return SimpleNamespace(X_train=z["X_train"], y_train=z["y_train"],
                               X_test=z["X_test"] if "X_test" in z.files else None,
                               y_test=z["y_test"] if "y_test" in z.files else None)
    from .. import datasets

    opts = {"n_train": args.n_train, "n_test": args.n_test, "pca": getattr(args, "pca", None),
            "classes": getattr(args, "classes", None), "path": args.data_path}
    return datasets.load(args.dataset, seed=seed,
                         **{k: v for k, v in opts.items() if v is not None}, **kw)


def get_ensemble(args: argparse.Namespace, ds: Any, config: Any, n_threads: int) -> Any:
    """The saved ensemble of ``--model``, or one trained on ``ds`` with ``config``."""
    from .. import nn

    if args.model is None:
        return nn.train_ensemble(ds, config, n_threads=n_threads, progress=show_progress(args))
    if not Path(args.model).is_file():
        raise FileNotFoundError(f"--model {args.model}: no such file")
    ens = nn.Ensemble.load(args.model)
    if ens.widths[0] != ds.n_features or ens.widths[-1] != ds.n_classes:
        raise ValueError(f"--model {args.model} has widths {ens.widths} but the data have "
                         f"{ds.n_features} features and {ds.n_classes} classes (use the "
                         f"data options it was trained with)")
    return ens


def load_network(path: str, replica: int) -> Any:
    """An MLP file, or replica ``replica`` of an Ensemble file."""
    from ..nn import MLP, Ensemble

    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        return MLP.load(path)
    except ValueError:
        ens = Ensemble.load(path)
        if not 0 <= replica < ens.n_replicas:
            raise ValueError(f"--replica {replica} out of range for {ens.n_replicas} replicas")
        return ens[replica]


# ---- outputs -----------------------------------------------------------------------------------
def out_dir(path: str) -> Path:
    """The ``--out`` directory, created (an existing file there is an error)."""
    d = Path(path)
    if d.exists() and not d.is_dir():
        raise ValueError(f"--out {path} exists and is not a directory")
    d.mkdir(parents=True, exist_ok=True)
    return d


def write_outputs(out: str, stem: str, head: str, table: str, fig: Any,
                  summary: Optional[Dict[str, Any]] = None,
                  save_json: Optional[Callable[[Path], Any]] = None) -> List[str]:
    """``<out>/<stem>.md`` (head + table), ``<stem>.png`` (fig) and ``<stem>.json`` (summary,
    or written by ``save_json(path)``); returns the paths."""
    from ..report._report import to_jsonable

    d = out_dir(out)
    (d / f"{stem}.md").write_text(head + table + "\n")
    fig.savefig(d / f"{stem}.png", dpi=110)
    if save_json is not None:
        save_json(d / f"{stem}.json")
    else:
        (d / f"{stem}.json").write_text(json.dumps(to_jsonable(summary), indent=1) + "\n")
    return [str(d / f"{stem}.{e}") for e in ("md", "png", "json")]


def write_npz(out: str, arrays: Dict[str, Any], summary: Dict[str, Any], fig: Any) -> Path:
    """``out`` as .npz (arrays) with a .json summary and a .png figure beside it."""
    import numpy as np

    p = Path(out)
    if p.suffix != ".npz":
        p = p.with_suffix(".npz")
    p.parent.mkdir(parents=True, exist_ok=True)
    np.savez(p, **{k: np.asarray(v) for k, v in arrays.items() if v is not None})
    p.with_suffix(".json").write_text(json.dumps(summary, indent=2, default=float))
    fig.savefig(p.with_suffix(".png"), dpi=110)
    return p


def metric_lines(metrics: Dict[str, Any]) -> List[str]:
    """Mean, std, min and max of each final metric of an ensemble."""
    import numpy as np

    out = []
    for k in ("train_loss", "train_acc", "test_loss", "test_acc"):
        if k in metrics:
            v = np.asarray(metrics[k], dtype=np.float64)
            out.append(f"  {k:<10} mean {v.mean():.4f}  std {v.std():.4f}  "
                       f"min {v.min():.4f}  max {v.max():.4f}")
    return out
