"""Shared test setup: hypothesis profile, PyTorch as the reference, data location."""

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# No wall-clock deadlines (CI machines vary); print the reproduction blob on failure. Under CI the
# draws are derandomized: every CI run checks the same cases (which pass locally with CI=true),
# while developers' runs keep exploring new ones.
settings.register_profile(
    "convscope", deadline=None, print_blob=True, derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("convscope")

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path | None:
    """Where the MNIST / Fashion-MNIST IDX files are: $CONVSCOPE_DATA, else ../shared/data."""
    for candidate in (os.environ.get("CONVSCOPE_DATA"), REPO.parent / "shared" / "data"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
