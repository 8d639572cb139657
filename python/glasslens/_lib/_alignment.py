"""The alignment vocabulary: one keyword, one set of choices, one error message.

Hidden units of independently trained networks carry arbitrary labels, so most comparisons
between replicas first put the units of the replicas in correspondence. Every public function
that can do so says *how* with one keyword, ``alignment``, and, where it offers more than one
criterion, *by what* with a second one, ``matching``:

``alignment``
    ``"none"``       no alignment: the replicas as trained (raw).
    ``"pairwise"``   every pair matched separately (b onto a): overlaps and barriers modulo the
                     permutation symmetry. The default wherever overlaps or P(q) are computed
                     (it needs an Ensemble and whole-network cosine weight overlaps; elsewhere
                     the default falls back to ``"none"``).
    ``"reference"``  every replica matched to one reference replica (``reference=``, default 0):
                     one common labelling. The reference becomes a hub (its overlaps are
                     pairwise optima, the others' are not), which puts a spurious peak in P(q).
    ``"medoid"``     as ``"reference"``, the reference being the replica with the largest mean
                     pairwise-aligned overlap with the others.
    ``"mean"``       as ``"reference"``, then iterated: every replica matched to the mean of the
                     aligned replicas until the permutations stop changing.

    A function accepts the subset that it can compute (two networks: ``"none"`` and
    ``"pairwise"``; one common labelling of configurations: ``"reference"``, ``"medoid"``,
    ``"mean"``); functions comparing several alignments take a tuple (``("none", "pairwise")``).

``matching``
    ``"weights"``      weight matching (maximise the dot product of the units' weight vectors,
                       exact assignment per hidden layer).
    ``"activations"``  activation matching (maximise the correlation of the units' activations
                       on training inputs).

    Only functions that offer activation matching take ``matching`` (the interpolation and
    barrier functions of ``glasslens.symmetry``); elsewhere matching is by weights. Functions
    comparing several criteria take a tuple (``("weights", "activations")``).

Old spellings (``aligned=True/False``, ``align="weights"``, ``aligns=(None, "weights")``,
``method="mean"``, ``alignment="aligned"``, ``align_method=``) keep working for one release with
a DeprecationWarning; each function documents the exact mapping.
"""
from __future__ import annotations

from typing import Any, Sequence, Tuple

ALIGNMENTS: Tuple[str, ...] = ("none", "pairwise", "reference", "medoid", "mean")
MATCHINGS: Tuple[str, ...] = ("weights", "activations")
#: alignments that give one common labelling of all replicas
COMMON_LABELLING: Tuple[str, ...] = ("reference", "medoid", "mean")

__all__ = ["ALIGNMENTS", "MATCHINGS", "COMMON_LABELLING", "check_alignment",
           "check_alignments", "check_matching", "check_matchings"]


def _message(name: str, value: Any, choices: Sequence[str], allowed: Sequence[str]) -> str:
    msg = f"{name} must be one of {', '.join(repr(c) for c in choices)}"
    if tuple(allowed) != tuple(choices):
        msg += f" (here: {', '.join(repr(c) for c in allowed)})"
    return msg + f", got {value!r}"


def check_alignment(value: Any, allowed: Sequence[str] = ALIGNMENTS,
                    name: str = "alignment") -> str:
    """``value`` if it is one of ``allowed`` (a subset of :data:`ALIGNMENTS`), else ValueError
    listing the choices."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(_message(name, value, ALIGNMENTS, allowed))
    return value


def check_alignments(value: Any, allowed: Sequence[str] = ALIGNMENTS,
                     name: str = "alignment") -> Tuple[str, ...]:
    """One alignment or a sequence of them as a tuple without repeats (order kept)."""
    vals = (value,) if isinstance(value, str) else tuple(value or ())
    if not vals:
        raise ValueError(_message(name, value, ALIGNMENTS, allowed))
    out = []
    for v in vals:
        v = check_alignment(v, allowed, name)
        if v not in out:
            out.append(v)
    return tuple(out)


def check_matching(value: Any, allowed: Sequence[str] = MATCHINGS, name: str = "matching") -> str:
    """``value`` if it is one of ``allowed`` (a subset of :data:`MATCHINGS`), else ValueError."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(_message(name, value, MATCHINGS, allowed))
    return value


def check_matchings(value: Any, allowed: Sequence[str] = MATCHINGS,
                    name: str = "matching") -> Tuple[str, ...]:
    """One matching criterion or a sequence of them as a tuple without repeats."""
    vals = (value,) if isinstance(value, str) else tuple(value or ())
    if not vals:
        raise ValueError(_message(name, value, MATCHINGS, allowed))
    out = []
    for v in vals:
        v = check_matching(v, allowed, name)
        if v not in out:
            out.append(v)
    return tuple(out)
