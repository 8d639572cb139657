"""Reference spin models sampled by Monte Carlo with parallel tempering (C++), to calibrate the
replica instruments (P(q), clustering, ultrametricity) on systems whose answer is known.

Models (N Ising spins s_i = +-1, energy H = -sum_{i<j} J_ij s_i s_j - sum_i h_i s_i):

* ``"sk"``: Sherrington-Kirkpatrick, J_ij ~ N(0, J^2/N) (``couplings="gaussian"``) or
  +-J/sqrt(N) (``couplings="pm1"``); spin-glass transition at T_c = J (zero field). Large-N
  ground-state energy per spin -0.7633 J (Parisi; Crisanti & Rizzo, PRE 65, 046137 (2002)),
  with finite-N corrections of order N^(-2/3).
* ``"ferromagnet"``: Curie-Weiss, J_ij = J/N; T_c = J; below T_c the magnetisation m solves
  m = tanh(m J / T) and the overlap of two replicas is close to +-m^2.
* ``"paramagnet"``: J_ij = 0; with fields the spins are independent, <s_i> = tanh(h_i / T).

Fields: h_i = field + field_sigma * N(0, 1) (keyed by (seed, sample)).

Monte Carlo: sequential Metropolis sweeps with local fields (O(N) work per accepted flip),
after every sweep one round of replica-exchange attempts between neighbouring temperatures.
Each (disorder sample, replica) runs its own parallel-tempering chain (a set of configurations,
one per temperature); OpenMP runs chains in parallel. Streams: couplings and fields by
(seed, sample), Metropolis decisions by (seed, sample, replica, temperature index), swaps by
(seed, sample, replica), so results are identical for any n_threads.

Memory: couplings S * N^2 * 4 bytes; recorded configurations S * R * K * C * N bytes
(K records, C recorded temperatures).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from .. import _core
from .._lib._results import Result, figure_axes, jsonable, markdown_table
from .._lib._threads import resolve_threads
from .._lib._validate import as_array, check_spins, check_float, check_int, check_seed, require_finite_result
from .._lib._limits import MAX_RUNS, MAX_SPIN_CONFIG_BYTES

__all__ = [
    "PTResult",
    "parallel_tempering",
    "spin_couplings",
    "spin_energies",
    "exact_enumeration",
    "geometric_temperatures",
    "curie_weiss_magnetization",
    "SK_GROUND_STATE_ENERGY",
]

SK_GROUND_STATE_ENERGY = -0.7633  # Parisi, large N, per spin, J = 1 (Crisanti & Rizzo 2002)

_MODELS = {("sk", "gaussian"): 0, ("sk", "pm1"): 1, ("ferromagnet", None): 2,
           ("paramagnet", None): 3}
_MAX_CONFIG_BYTES = MAX_SPIN_CONFIG_BYTES


def _model_code(model: str, couplings: str) -> int:
    if model in ("sk", "SK"):
        if couplings not in ("gaussian", "pm1"):
            raise ValueError(f"couplings must be 'gaussian' or 'pm1', got {couplings!r}")
        return _MODELS[("sk", couplings)]
    if model in ("ferromagnet", "curie-weiss", "curie_weiss"):
        return 2
    if model == "paramagnet":
        return 3
    raise ValueError(f"model must be 'sk', 'ferromagnet' or 'paramagnet', got {model!r}")


def geometric_temperatures(t_min: float, t_max: float, n: int) -> np.ndarray:
    """n temperatures spaced geometrically from t_min to t_max (a common PT ladder)."""
    lo = check_float(t_min, "t_min", 0.0, low_open=True)
    hi = check_float(t_max, "t_max", lo)
    n = check_int(n, "n", 1, 4096)
    return np.geomspace(lo, hi, n) if n > 1 else np.array([lo])


def curie_weiss_magnetization(T: float, J: float = 1.0, tol: float = 1e-14) -> float:
    """Large-N spontaneous magnetisation of the Curie-Weiss model: the positive root of
    m = tanh(J m / T) (0 above T_c = J)."""
    T = check_float(T, "T", 0.0, low_open=True)
    if T >= J:
        return 0.0
    m = 1.0
    for _ in range(10_000):
        m_new = np.tanh(J * m / T)
        if abs(m_new - m) < tol:
            return float(m_new)
        m = m_new
    return float(m)


@dataclass
class PTResult(Result):
    """Output of :func:`parallel_tempering` (S samples, R replicas, T temperatures, K records,
    C recorded temperatures, N spins). ``to_dict()`` (per temperature the energy, |m| and
    acceptance averaged over samples and replicas; ``arrays=True`` adds the configurations),
    ``table()`` (one row per temperature), ``plot()`` (energy and |m| against T)."""

    temperatures: np.ndarray        # (T,)
    record_temperatures: np.ndarray  # (C,) indices into temperatures
    configs: np.ndarray             # (S, R, K, C, N) int8 +-1
    energy: np.ndarray              # (S, R, T) <E/N> over the measuring sweeps
    energy_sq: np.ndarray           # (S, R, T) <(E/N)^2>
    abs_magnetization: np.ndarray   # (S, R, T) <|m|>
    final_energy: np.ndarray        # (S, R, T) E/N of the final configurations
    flip_acceptance: np.ndarray     # (S, R, T)
    swap_acceptance: np.ndarray     # (S, R, T - 1)
    couplings: np.ndarray           # (S, N, N) float32
    fields: np.ndarray              # (S, N) float64
    n_sweeps: int                   # equilibration + measuring sweeps per chain

    def _per_temperature(self) -> List[Dict[str, Any]]:
        swap = self.swap_acceptance.mean(axis=(0, 1)) if self.swap_acceptance.size else []
        rows = []
        for t, T in enumerate(self.temperatures):
            rows.append({"T": float(T), "energy": float(self.energy[:, :, t].mean()),
                         "abs_magnetization": float(self.abs_magnetization[:, :, t].mean()),
                         "flip_acceptance": float(self.flip_acceptance[:, :, t].mean()),
                         "swap_acceptance": float(swap[t]) if t < len(swap) else None})
        return rows

    def to_dict(self, arrays: bool = False) -> Dict[str, Any]:
        S, R, K, C, N = self.configs.shape
        d: Dict[str, Any] = {"n_samples": S, "n_replicas": R, "n_records": K, "n_spins": N,
                             "n_sweeps": int(self.n_sweeps),
                             "record_temperatures": self.record_temperatures,
                             "per_temperature": self._per_temperature()}
        if arrays:
            d.update(configs=self.configs, energy=self.energy, energy_sq=self.energy_sq,
                     abs_magnetization=self.abs_magnetization, final_energy=self.final_energy,
                     flip_acceptance=self.flip_acceptance, swap_acceptance=self.swap_acceptance)
        return jsonable(d)

    def table(self) -> str:
        return markdown_table(self._per_temperature())

    def plot(self, ax_or_fig: Any = None) -> Any:
        """Energy per spin and <|m|> against temperature (means over samples and replicas)."""
        fig, (a1, a2) = figure_axes(ax_or_fig, 2)
        rows = self._per_temperature()
        T = [r["T"] for r in rows]
        a1.plot(T, [r["energy"] for r in rows], "o-")
        a1.set_xlabel("T")
        a1.set_ylabel("<E>/N")
        a2.plot(T, [r["abs_magnetization"] for r in rows], "o-", color="C1")
        a2.set_xlabel("T")
        a2.set_ylabel("<|m|>")
        return fig

    def configurations(self, sample: int, temperature: int = 0) -> np.ndarray:
        """All recorded configurations of one sample at recorded temperature ``temperature``
        (index into record_temperatures): (R * K, N) int8, replica-major."""
        S, R, K, C, N = self.configs.shape
        s = check_int(sample, "sample", 0, S - 1)
        c = check_int(temperature, "temperature", 0, C - 1)
        return np.ascontiguousarray(self.configs[s, :, :, c, :].reshape(R * K, N))

    def replica_overlaps(self, temperature: int = 0) -> np.ndarray:
        """Overlaps between distinct replicas recorded at the same time: (S, K, R (R - 1) / 2).
        (Batched float32 products of +-1 data, exact for N < 2^24.)"""
        S, R, K, C, N = self.configs.shape
        c = check_int(temperature, "temperature", 0, C - 1)
        iu = np.triu_indices(R, 1)
        out = np.empty((S, K, iu[0].size))
        for s in range(S):
            X = np.ascontiguousarray(self.configs[s, :, :, c, :].transpose(1, 0, 2), dtype=np.float32)
            Q = np.matmul(X, X.transpose(0, 2, 1))  # (K, R, R)
            out[s] = Q[:, iu[0], iu[1]].astype(np.float64) / N
        return out

    def overlap_matrices(self, record: int = -1, temperature: int = 0,
                         n_threads: Optional[int] = None) -> np.ndarray:
        """Replica overlap matrices at one record time: (S, R, R)."""
        from ..replicas._overlaps import sign_overlaps

        S, R, K, C, N = self.configs.shape
        k = check_int(record, "record", -K, K - 1) % K
        c = check_int(temperature, "temperature", 0, C - 1)
        return np.stack([sign_overlaps(self.configs[s, :, k, c, :], n_threads=n_threads)
                         for s in range(S)])


def parallel_tempering(
    model: str = "sk",
    n_spins: int = 64,
    temperatures: Union[Sequence[float], np.ndarray] = (0.5, 0.65, 0.8, 1.0, 1.25, 1.6),
    n_samples: int = 1,
    n_replicas: int = 4,
    n_equilibrate: int = 1000,
    n_measure: int = 1000,
    record_every: int = 10,
    record_temperatures: Union[str, Sequence[int]] = "lowest",
    couplings: str = "gaussian",
    J: float = 1.0,
    field: float = 0.0,
    field_sigma: float = 0.0,
    seed: int = 0,
    n_threads: Optional[int] = None,
) -> PTResult:
    """Equilibrium configurations of R real replicas per disorder sample by parallel tempering.

    Parameters
    ----------
    model : 'sk', 'ferromagnet' (Curie-Weiss) or 'paramagnet'
    n_spins : N, 1..65536 (dense couplings: N <= 4096 is practical)
    temperatures : the tempering ladder (any order, all > 0); measured quantities are indexed
        like it. The lowest temperature should be the one of interest.
    n_samples, n_replicas : disorder samples S and independent chains R per sample
    n_equilibrate, n_measure : sweeps (N proposed flips each) before / while measuring
    record_every : record configurations every this many measuring sweeps (K = n_measure //
        record_every records)
    record_temperatures : 'lowest', 'all' or temperature indices
    couplings : 'gaussian' or 'pm1' (SK only)
    J, field, field_sigma : coupling scale, uniform field, random-field standard deviation
    seed : int >= 0

    Returns
    -------
    PTResult
    """
    code = _model_code(model, couplings)
    N = check_int(n_spins, "n_spins", 1, 65536)
    Ts = as_array(temperatures, "temperatures", np.float64, ndim=1)
    if np.any(Ts <= 0):
        raise ValueError("temperatures must be > 0")
    S = check_int(n_samples, "n_samples", 1, MAX_RUNS)
    R = check_int(n_replicas, "n_replicas", 1, MAX_RUNS)
    neq = check_int(n_equilibrate, "n_equilibrate", 0)
    nme = check_int(n_measure, "n_measure", 1)
    rev = check_int(record_every, "record_every", 1)
    if isinstance(record_temperatures, str):
        if record_temperatures == "lowest":
            rec = [int(np.argmin(Ts))]
        elif record_temperatures == "all":
            rec = list(range(Ts.size))
        else:
            raise ValueError("record_temperatures must be 'lowest', 'all' or a list of indices")
    else:
        rec = [check_int(k, "record_temperatures[]", 0, Ts.size - 1) for k in record_temperatures]
    K = nme // rev
    if S * R * K * len(rec) * N > _MAX_CONFIG_BYTES:
        raise ValueError(f"recording {S}x{R}x{K}x{len(rec)}x{N} configurations needs more than "
                         f"{_MAX_CONFIG_BYTES >> 30} GiB; raise record_every or record fewer")
    if S * N * N * 4 > _MAX_CONFIG_BYTES:
        raise ValueError(f"couplings of {S} samples of N={N} need more than 4 GiB")
    Jv = check_float(J, "J")
    h = check_float(field, "field")
    hs = check_float(field_sigma, "field_sigma", 0.0)
    d = _core.spinmodels.parallel_tempering(_core.spinmodels.PTParams(
        model=code, n_spins=N, n_samples=S, n_replicas=R, temperatures=[float(t) for t in Ts],
        n_equilibrate=neq, n_measure=nme, record_every=rev, record_temps=rec, J=Jv, field=h,
        field_sigma=hs, seed=check_seed(seed)), resolve_threads(n_threads))
    require_finite_result("parallel_tempering", "the energies", [d["energy"], d["final_energy"]],
                          f"J={Jv:g}, field={h:g}, field_sigma={hs:g} overflow double precision")
    return PTResult(temperatures=Ts, record_temperatures=np.asarray(rec, dtype=np.int64),
                    configs=d["configs"], energy=d["energy"], energy_sq=d["energy_sq"],
                    abs_magnetization=d["abs_magnetization"], final_energy=d["final_energy"],
                    flip_acceptance=d["flip_acceptance"], swap_acceptance=d["swap_acceptance"],
                    couplings=d["couplings"], fields=d["fields"], n_sweeps=neq + nme)


def spin_couplings(model: str = "sk", n_spins: int = 64, n_samples: int = 1,
                   couplings: str = "gaussian", J: float = 1.0, seed: int = 0) -> np.ndarray:
    """The couplings (S, N, N) float32 that :func:`parallel_tempering` uses for the same
    (model, couplings, J, seed): sample s depends only on (seed, s)."""
    return _core.spinmodels.couplings(_model_code(model, couplings),
                                      check_int(n_spins, "n_spins", 1, 65536),
                                      check_int(n_samples, "n_samples", 1, MAX_RUNS),
                                      check_float(J, "J"), check_seed(seed))


def spin_energies(J: Any, h: Any, configs: Any) -> np.ndarray:
    """Energy per spin H(s)/N of each configuration (n, N) for couplings J (N, N), fields h (N,)."""
    Ja = as_array(J, "J", np.float32, ndim=2)
    ha = as_array(h, "h", np.float64, ndim=1)
    s = check_spins(configs, "configs")
    return _core.spinmodels.energies(Ja, ha, s)


def exact_enumeration(J: Any, h: Any, T: float) -> dict:
    """Exact Boltzmann averages by enumerating all 2^N states (N <= 20; plain numpy).

    Returns a dict with 'energy' <E>/N, 'energy_sq' <(E/N)^2>, 'abs_magnetization' <|m|>,
    'q_values' (the possible overlaps (N - 2k)/N) and 'p_q' (their probabilities for two
    independent replicas; for N <= 14).
    """
    Ja = as_array(J, "J", np.float64, ndim=2)
    N = Ja.shape[0]
    if Ja.shape != (N, N):
        raise ValueError(f"J must be square, got {Ja.shape}")
    if N > 20:
        raise ValueError(f"exact enumeration is limited to N <= 20, got N={N}")
    ha = as_array(h, "h", np.float64, shape=(N,))
    T = check_float(T, "T", 0.0, low_open=True)
    states = 1 - 2 * ((np.arange(2 ** N)[:, None] >> np.arange(N)[None, :]) & 1).astype(np.float64)
    Jup = np.triu(Ja, 1)
    E = -np.einsum("si,ij,sj->s", states, Jup, states) - states @ ha
    w = np.exp(-(E - E.min()) / T)
    p = w / w.sum()
    e = E / N
    out = {"energy": float(p @ e), "energy_sq": float(p @ e ** 2),
           "abs_magnetization": float(p @ np.abs(states.mean(axis=1)))}
    if N <= 14:
        # P(q) of two independent replicas from the Hamming distances of all state pairs
        bits = np.arange(2 ** N)
        pc = np.zeros(2 ** N, dtype=np.int64)
        for b in range(N):
            pc += (bits >> b) & 1
        pq = np.zeros(N + 1)
        for a in range(2 ** N):
            pq += np.bincount(pc[bits ^ a], weights=p[a] * p, minlength=N + 1)
        out["q_values"] = (N - 2.0 * np.arange(N + 1)) / N
        out["p_q"] = pq
    return out

