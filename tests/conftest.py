import pathlib
import sys

import numpy as np
import pytest

# the suite's shared helper modules (wiring.py, nn_reference.py) import by name from any test
# directory
sys.path.insert(0, str(pathlib.Path(__file__).parent))


@pytest.fixture
def rng():
    """A seeded numpy Generator, fresh for every test."""
    return np.random.default_rng(12345)
