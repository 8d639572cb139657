"""The one home of glasslens's size limits.

Every public function refuses absurd sizes up front with a clear ValueError (instead of a
MemoryError, a swap storm, an overflow in C++ or a process killed by the OS). The limits are
named here, each with the reason for its value; modules import them from here (a few keep
their historical public names, e.g. ``glasslens.replicas.MAX_ALL_TRIANGLES``, as re-exports).
"""
from __future__ import annotations

import os

__all__ = [
    "MAX_WIDTH", "MAX_BINARY_WIDTH", "MAX_REPLICAS", "MAX_BINARY_REPLICAS", "MAX_EPOCHS",
    "MAX_RUNS", "MAX_DIRECTIONS", "MAX_LINE_POINTS", "MAX_GRID_POINTS", "MAX_WALKERS",
    "MAX_WALK_RECORDS", "MAX_KEPT_POINT_BYTES", "MAX_OVERLAP_REPLICAS", "MAX_ALL_TRIANGLES",
    "MAX_SAMPLED_TRIANGLES", "MAX_IDX_BYTES", "MAX_CIFAR_BATCH_BYTES", "MAX_DATASET_VALUES", "MAX_FEATURES",
    "MAX_CLASSES", "MAX_BINARY_TRAIN_VALUES", "MAX_BINARY_DRAW_VALUES", "MAX_BINARY_VALUES",
    "MAX_SPIN_CONFIG_BYTES", "MAX_ENUMERATE", "physical_memory_bytes", "check_alloc",
]

#: Largest width of one layer of an ``MLP``: a million units per layer is far beyond anything
#: trainable here and keeps ``width x width`` products inside int64.
MAX_WIDTH = 1_000_000

#: Largest width of one layer of a binary (effective-model) network: its C++ trainer stores
#: per-weight Adam state in float32 and samples configurations of all weights.
MAX_BINARY_WIDTH = 100_000

#: Most replicas ``train_ensemble`` trains at once (each needs parameters, velocity and a copy).
MAX_REPLICAS = 1_000_000

#: Most independent binary networks ``train_binary`` trains at once.
MAX_BINARY_REPLICAS = 10_000_000

#: Most epochs of one training call (ten million passes: certainly a typo beyond that).
MAX_EPOCHS = 10_000_000

#: Most independent runs of a sampler or solver in one call (Monte Carlo chains, TAP / descent
#: starts, spin-model samples and replicas).
MAX_RUNS = 1_000_000

#: Most random directions of one ``probes.profile`` (each is a full evaluation per radius).
MAX_DIRECTIONS = 10_000_000

#: Most points on one ``probes.line``.
MAX_LINE_POINTS = 1_000_000

#: Most points per axis of a ``probes.plane`` grid and of an interpolation path.
MAX_GRID_POINTS = 100_000

#: Most walkers of one ``probes.random_walk``.
MAX_WALKERS = 1_000_000

#: Most stored records (walkers x records) of one walk: 8 float64 traces each, about 13 GB.
MAX_WALK_RECORDS = 200_000_000

#: Most bytes of parameter vectors a walk keeps with ``keep_points=True`` (2 GB of float32).
MAX_KEPT_POINT_BYTES = 2_000_000_000

#: Most replicas of one overlap matrix (the dense float64 output would exceed 300 GB).
MAX_OVERLAP_REPLICAS = 200_000

#: Most triangles ``triangles='all'`` enumerates (20 million triangles of 3 float64: 480 MB,
#: M about 490 replicas); pass an int to sample instead.
MAX_ALL_TRIANGLES = 20_000_000

#: Most sampled triangles of one ultrametricity test.
MAX_SAMPLED_TRIANGLES = 1_000_000_000

#: Largest payload an IDX header may announce (16 GiB): anything larger is a corrupt header.
MAX_IDX_BYTES = 1 << 34

#: Largest CIFAR-10 binary batch file read (4 GiB; a standard batch is 30,730,000 bytes).
MAX_CIFAR_BATCH_BYTES = 1 << 32

#: Most float values (samples x features) of a generated teacher-student data set (8 GB).
MAX_DATASET_VALUES = 2_000_000_000

#: Most features (and teacher hidden units) of a generated data set.
MAX_FEATURES = 100_000

#: Most classes of a binary network's output layer.
MAX_CLASSES = 100_000

#: Most weight values (replicas x weights) ``train_binary`` holds at once (2^31: int32 indexing
#: of the C++ trainer's flat arrays).
MAX_BINARY_TRAIN_VALUES = 2 ** 31

#: Most sampled values (draws x weights) of one ``sample_configurations`` call (16 GiB of int8).
MAX_BINARY_DRAW_VALUES = 2 ** 34

#: Default cap of one binary-network array (8 GiB of int8).
MAX_BINARY_VALUES = 2 ** 33

#: Most bytes of recorded spin configurations (and of the N x N couplings per sample) of one
#: spin-model simulation (4 GiB).
MAX_SPIN_CONFIG_BYTES = 4 << 30

#: Largest Ising model solved by exact enumeration of its 2^N states.
MAX_ENUMERATE = 20


def physical_memory_bytes() -> int:
    """This machine's physical memory in bytes (1 TiB when the OS does not say): the budget of
    :func:`check_alloc`."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 1 << 40


def check_alloc(nbytes: float, what: str) -> None:
    """Refuse work whose arrays alone would exceed the machine's physical memory.

    ``what`` names the arguments that set the size (e.g. "replicas=10^9 x 2,410 parameters"),
    so that an absurd size gives a clear ValueError instead of a MemoryError, a swap storm or a
    killed process.
    """
    limit = physical_memory_bytes()
    if nbytes > limit:
        raise ValueError(f"{what} would need {nbytes / 2**30:,.1f} GiB of memory, more than this "
                         f"machine's {limit / 2**30:,.1f} GiB")
