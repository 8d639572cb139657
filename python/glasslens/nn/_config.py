"""``TrainConfig``: every training option of :func:`glasslens.nn.train_ensemble` in one place.

The defaults of the dataclass are the defaults of ``train_ensemble``; the report
(``glasslens.report.ANALYSIS_TRAINING``) and the command line derive theirs from it. Each field
carries a one-line ``help`` in its metadata (the command line shows it).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import numpy as np

from .._lib._limits import MAX_EPOCHS, MAX_REPLICAS
from .._lib._validate import check_float, check_int, check_seed

__all__ = ["TrainConfig", "SCHEDULES", "FAMILIES", "INIT_SCHEMES", "RECORDS"]

#: named learning-rate schedules (see ``lr_schedule``)
SCHEDULES = ("constant", "cosine", "linear", "step")
#: how the replicas of an ensemble differ (see ``train_ensemble``)
FAMILIES = ("init", "order", "both")
#: initialisation laws of ``MLP.init``
INIT_SCHEMES = ("kaiming", "he", "xavier", "lecun", "pytorch")
#: which training-set / test-set evaluations train_ensemble records (see ``record``)
RECORDS = ("epoch", "final", "none")


def _opt(default: Any, help: str, **meta: Any) -> Any:
    return field(default=default, metadata={"help": help, **meta})


@dataclass(frozen=True)
class TrainConfig:
    """The training options of :func:`~glasslens.nn.train_ensemble` (frozen, validated).

    ``TrainConfig(replicas=16).replace(lr=0.1)``; ``to_dict()`` / ``from_dict()`` give a
    JSON-able round trip. Run-time arguments that do not change the trained weights
    (``n_threads``, ``progress``) and the ``init`` networks are not part of the config.
    Invalid values raise ``ValueError`` / ``TypeError`` naming the field.
    """

    hidden: Tuple[int, ...] = _opt((32,), "hidden layer widths (empty: a linear classifier)")
    replicas: int = _opt(8, "number of networks trained")
    epochs: int = _opt(20, "passes over the training set")
    batch_size: int = _opt(64, "minibatch size (>= n: full-batch gradient descent)")
    lr: float = _opt(0.05, "learning rate (of the first epoch after warm-up)")
    momentum: float = _opt(0.9, "SGD heavy-ball momentum in [0, 1)")
    weight_decay: float = _opt(0.0, "L2 weight decay added to the gradient")
    schedule: Union[str, Tuple[float, ...]] = _opt(
        "constant", "learning-rate schedule: constant, cosine, linear, step, or one learning "
                    "rate per epoch", choices=SCHEDULES)
    warmup_epochs: int = _opt(0, "epochs of linear learning-rate warm-up")
    target_train_acc: Optional[float] = _opt(
        None, "stop each replica once its training accuracy reaches this (early stop)")
    family: str = _opt("init", "replicas differ by initialisation (init), by data order "
                               "from one initialisation (order), or both", choices=FAMILIES)
    seed: int = _opt(0, "master seed (initialisations, data order, label noise)")
    init_scheme: str = _opt("kaiming", "initialisation law", choices=INIT_SCHEMES)
    bias: bool = _opt(True, "layers have biases")
    label_noise: float = _opt(0.0, "fraction of training labels moved to a random other class")
    label_noise_shared: bool = _opt(False, "one label-noise draw for all replicas")
    sam_rho: float = _opt(0.0, "sharpness-aware minimisation radius (0: plain SGD)")
    record_every: int = _opt(1, "record the history every this many epochs")
    record: str = _opt(
        "epoch", "evaluations recorded: epoch (history at epoch 0, every record_every epochs and "
                 "the last), final (the last epoch only), none (no evaluation: metrics NaN)",
        choices=RECORDS)
    record_subsample: int = _opt(
        0, "evaluate the history on this many random training and test rows (0: all rows; "
           "the final metrics always use all rows)")

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        h = self.hidden
        if isinstance(h, (int, np.integer)) and not isinstance(h, bool):
            h = (h,)
        if isinstance(h, (str, bytes)) or not hasattr(h, "__iter__"):
            raise TypeError(f"hidden must be a sequence of widths, got {type(h).__name__}")
        set_("hidden", tuple(check_int(w, "hidden", 1) for w in h))
        set_("replicas", check_int(self.replicas, "replicas", 1, MAX_REPLICAS))
        set_("epochs", check_int(self.epochs, "epochs", 0, MAX_EPOCHS))
        set_("batch_size", check_int(self.batch_size, "batch_size", 1))
        mu = check_float(self.momentum, "momentum", 0.0)
        if mu >= 1.0:
            raise ValueError(f"momentum must be < 1, got {mu}")
        set_("momentum", mu)
        set_("weight_decay", check_float(self.weight_decay, "weight_decay", 0.0))
        set_("warmup_epochs", check_int(self.warmup_epochs, "warmup_epochs", 0))
        if isinstance(self.schedule, str):
            if self.schedule not in SCHEDULES:
                raise ValueError(f"schedule must be one of {SCHEDULES} or a sequence of "
                                 f"learning rates, got {self.schedule!r}")
            set_("lr", check_float(self.lr, "lr", 0.0, low_open=True))
        else:
            try:
                rates = tuple(float(v) for v in self.schedule)
            except (TypeError, ValueError):
                raise TypeError(f"schedule must be one of {SCHEDULES} or a sequence of learning "
                                f"rates, got {self.schedule!r}") from None
            if len(rates) != self.epochs:
                raise ValueError(f"schedule has {len(rates)} learning rates, expected one per "
                                 f"epoch ({self.epochs})")
            if not all(math.isfinite(v) and v > 0 for v in rates):
                raise ValueError("schedule must hold positive learning rates")
            set_("schedule", rates)
            # lr is ignored with an explicit schedule; still a number
            set_("lr", check_float(self.lr, "lr"))
        if self.target_train_acc is not None:
            set_("target_train_acc", check_float(self.target_train_acc, "target_train_acc",
                                                 0.0, 1.0, low_open=True))
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {self.family!r}")
        set_("seed", check_seed(self.seed))
        if self.init_scheme not in INIT_SCHEMES:
            raise ValueError(f"init_scheme must be one of {INIT_SCHEMES}, got "
                             f"{self.init_scheme!r}")
        for name in ("bias", "label_noise_shared"):
            v = getattr(self, name)
            if not isinstance(v, (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {type(v).__name__}")
            set_(name, bool(v))
        set_("label_noise", check_float(self.label_noise, "label_noise", 0.0, 1.0))
        set_("sam_rho", check_float(self.sam_rho, "sam_rho", 0.0))
        set_("record_every", check_int(self.record_every, "record_every", 1))
        if self.record not in RECORDS:
            raise ValueError(f"record must be one of {RECORDS}, got {self.record!r}")
        set_("record_subsample", check_int(self.record_subsample, "record_subsample", 0))

    # ---- construction helpers --------------------------------------------------------------
    @classmethod
    def field_names(cls) -> Tuple[str, ...]:
        """Names of the options, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def _check_names(cls, names: Any, what: str) -> None:
        unknown = sorted(set(names) - set(cls.field_names()))
        if unknown:
            raise TypeError(f"{what}: unknown training option(s) {unknown}; TrainConfig has "
                            f"{', '.join(cls.field_names())}")

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with ``changes`` applied (validated again)."""
        self._check_names(changes, "TrainConfig.replace")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> Dict[str, Any]:
        """The options as a JSON-able dict (tuples become lists)."""
        out: Dict[str, Any] = {}
        for name in self.field_names():
            v = getattr(self, name)
            out[name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainConfig":
        """Inverse of :meth:`to_dict`; missing keys take the defaults."""
        if not isinstance(data, Mapping):
            raise TypeError(f"TrainConfig.from_dict needs a mapping, got {type(data).__name__}")
        cls._check_names(data, "TrainConfig.from_dict")
        return cls(**dict(data))
