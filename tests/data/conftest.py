"""Fixtures for the data tests: the official files (skipped without them), loaded once per session."""

import functools

import pytest

from convscope import random as cs_random
from convscope.data import FashionMNIST, MNIST
from tests.conftest import data_dir

CLASSES = {"mnist": MNIST, "fashion-mnist": FashionMNIST}


@pytest.fixture(scope="session")
def shared_data():
    """The folder with the official IDX files; the test is skipped when there is none."""
    found = data_dir()
    if found is None:
        pytest.skip("the MNIST / Fashion-MNIST IDX files are not available (set CONVSCOPE_DATA or "
                    "place them in ../shared/data)")
    return found


@pytest.fixture(scope="session")
def official(shared_data):
    """official(name, train) -> the full dataset from the official files, read once per session."""
    @functools.lru_cache(maxsize=None)
    def load(name, train):
        return CLASSES[name](shared_data, train=train)
    return load


@pytest.fixture
def restore_global_rng():
    """Tests that reseed convscope's global generator leave it as they found it."""
    state = cs_random.get_rng_state()
    yield
    cs_random.set_rng_state(state)


def flip_byte(path, offset=None):
    """Corrupt a file in place by inverting one byte (the middle one by default); return the path."""
    raw = bytearray(path.read_bytes())
    i = len(raw) // 2 if offset is None else offset
    raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))
    return path
