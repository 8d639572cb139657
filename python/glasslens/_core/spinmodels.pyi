"""
SK / Curie-Weiss / paramagnet models by parallel-tempering Monte Carlo
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['PTParams', 'couplings', 'energies', 'parallel_tempering']
class PTParams:
    """
    Settings of parallel_tempering (glasslens::spin::PTParams).
    """
    def __init__(self, *, model: typing.SupportsInt | typing.SupportsIndex = 0, n_spins: typing.SupportsInt | typing.SupportsIndex = 64, n_samples: typing.SupportsInt | typing.SupportsIndex = 1, n_replicas: typing.SupportsInt | typing.SupportsIndex = 2, temperatures: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex] = [], n_equilibrate: typing.SupportsInt | typing.SupportsIndex = 1000, n_measure: typing.SupportsInt | typing.SupportsIndex = 1000, record_every: typing.SupportsInt | typing.SupportsIndex = 10, record_temps: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex] = [], J: typing.SupportsFloat | typing.SupportsIndex = 1.0, field: typing.SupportsFloat | typing.SupportsIndex = 0.0, field_sigma: typing.SupportsFloat | typing.SupportsIndex = 0.0, seed: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        ...
    @property
    def J(self) -> float:
        """
        coupling scale
        """
    @J.setter
    def J(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def field(self) -> float:
        """
        mean field h
        """
    @field.setter
    def field(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def field_sigma(self) -> float:
        """
        standard deviation of the random fields
        """
    @field_sigma.setter
    def field_sigma(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def model(self) -> int:
        """
        model code: 0 SK Gaussian, 1 SK +-1, 2 Curie-Weiss, 3 paramagnet
        """
    @model.setter
    def model(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def n_equilibrate(self) -> int:
        """
        sweeps before measuring
        """
    @n_equilibrate.setter
    def n_equilibrate(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def n_measure(self) -> int:
        """
        sweeps while measuring
        """
    @n_measure.setter
    def n_measure(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def n_replicas(self) -> int:
        """
        real replicas R per sample
        """
    @n_replicas.setter
    def n_replicas(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def n_samples(self) -> int:
        """
        disorder samples S
        """
    @n_samples.setter
    def n_samples(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def n_spins(self) -> int:
        """
        number of spins N
        """
    @n_spins.setter
    def n_spins(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def record_every(self) -> int:
        """
        record configurations every this many measuring sweeps
        """
    @record_every.setter
    def record_every(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def record_temps(self) -> list[int]:
        """
        temperature indices whose configurations are recorded
        """
    @record_temps.setter
    def record_temps(self, arg0: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def seed(self) -> int:
        """
        sample s is keyed by (seed, s), its replicas' streams by (seed, s, r, k)
        """
    @seed.setter
    def seed(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def temperatures(self) -> list[float]:
        """
        temperature ladder (> 0)
        """
    @temperatures.setter
    def temperatures(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
def couplings(model: typing.SupportsInt | typing.SupportsIndex, n_spins: typing.SupportsInt | typing.SupportsIndex, n_samples: typing.SupportsInt | typing.SupportsIndex, J: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.float32]:
    """
    Couplings (S, N, N) float32 of disorder samples 0..S-1 (keyed by (seed, sample)).
    """
def energies(J: typing.Annotated[numpy.typing.ArrayLike, numpy.float32], h: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], configs: typing.Annotated[numpy.typing.ArrayLike, numpy.int8]) -> numpy.typing.NDArray[numpy.float64]:
    """
    Energy per spin of each configuration.
    """
def parallel_tempering(params: PTParams, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> dict:
    """
    Parallel-tempering Monte Carlo; returns a dict of arrays (see glasslens.spinmodels).
    """
