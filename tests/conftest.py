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
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture])
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


# Every conv algorithm of the engine, forced in turn, for the parity suites (a module opts in
# with ``pytestmark = pytest.mark.usefixtures("each_conv_algorithm")``). A forced algorithm runs
# wherever it applies and the cost model chooses elsewhere, so each case still runs; "-numpy"
# forces the pure-NumPy path of an algorithm that has compiled kernels.
CONV_ALGORITHMS = ["auto", "gemm", "pointwise", "direct", "direct-numpy", "winograd", "fft", "separable"]


@pytest.fixture(params=CONV_ALGORITHMS)
def each_conv_algorithm(request):
    from convscope import backend
    from convscope.ops import algorithms
    name = request.param.removesuffix("-numpy")
    if name != "auto" and name not in algorithms.ALGORITHMS:
        pytest.skip(f"the engine has no {name!r} algorithm")
    with backend.algorithm(name), backend.compiled(not request.param.endswith("-numpy")):
        yield request.param
