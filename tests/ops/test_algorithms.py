"""The engine's dispatcher: forcing, reporting, the cost model's choices, autotune, and the
compiled and pure-NumPy paths agreeing. (Each algorithm's numbers are checked by the parity
suites, which run with every algorithm forced: see ``each_conv_algorithm`` in conftest.py.)"""

import tracemalloc

import numpy as np
import pytest

import convscope.nn.functional as F
from convscope import backend
from convscope.ops import algorithms
from convscope.ops import conv as C


def conv_args(rng, shape, o, k, groups=1, dtype=np.float64):
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((o, shape[1] // groups, k, k)).astype(dtype)
    return x, w


@pytest.mark.parametrize("name, shape, o, k, groups, stride", [
    ("gemm", (2, 4, 9, 9), 6, 3, 1, 1),
    ("pointwise", (2, 8, 7, 7), 4, 1, 1, 2),
    ("direct", (2, 6, 9, 9), 6, 3, 6, 1),
    ("winograd", (2, 4, 9, 9), 5, 3, 1, 1),
    ("fft", (1, 2, 16, 16), 3, 7, 1, 1),
])
def test_a_forced_algorithm_runs_where_it_applies(name, shape, o, k, groups, stride, rng):
    if name not in algorithms.ALGORITHMS:
        pytest.skip(f"no {name!r} algorithm")
    x, w = conv_args(rng, shape, o, k, groups)
    with backend.algorithm("gemm"):
        expected = F.conv2d(x, w, stride=stride, groups=groups)
    with backend.algorithm(name), backend.algorithm_log() as log:
        y = F.conv2d(x, w, stride=stride, groups=groups)
    assert log == [("conv2d", "forward", name)]
    assert backend.last_algorithm() == name
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-10)


def test_a_forced_algorithm_that_does_not_apply_falls_back_and_says_so(rng):
    x, w = conv_args(rng, (1, 3, 8, 8), 2, 3)
    with backend.algorithm("pointwise"), backend.algorithm_log() as log:
        F.conv2d(x, w, padding=1)
    assert log[0][2] != "pointwise"
    p = algorithms.problem("forward", x.shape, 2, (3, 3), (8, 8), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, x.dtype)
    assert algorithms.plan(p)["pointwise"] == "a 1x1 kernel"


def test_backward_passes_are_logged(rng):
    x, w = conv_args(rng, (2, 4, 8, 8), 3, 3)
    gy = rng.standard_normal((2, 3, 6, 6))
    with backend.algorithm_log() as log:
        C.conv_backward(gy, x, w, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    assert [entry[1] for entry in log] == ["weight_grad", "input_grad"]


def test_unknown_algorithm_names_are_refused():
    with pytest.raises(ValueError, match=r"^set_algorithm: name expects one of 'auto', 'gemm'.*but got 'im2col'$"):
        backend.set_algorithm("im2col")
    with pytest.raises(ValueError, match="but got None"):
        with backend.algorithm(None):
            pass
    assert backend.get_algorithm() == "auto"


def test_every_registered_module_follows_the_contract():
    for name, module in algorithms.ALGORITHMS.items():
        assert module.NAME == name
        for fn in ("supports", "cost", "forward", "input_grad", "weight_grad"):
            assert callable(getattr(module, fn)), (name, fn)
        assert name in backend.ALGORITHMS


@pytest.mark.parametrize("shape, o, k, groups, expected", [
    ((32, 256, 14, 14), 64, 1, 1, "pointwise"),          # 1x1: no unfold at all
    ((32, 128, 56, 56), 128, 3, 128, "direct"),          # depthwise
])
def test_the_cost_model_picks_the_obvious_algorithm(shape, o, k, groups, expected):
    out = tuple(s - k + 1 for s in shape[2:])
    p = algorithms.problem("forward", shape, o, (k, k), out, (1, 1), ((0, 0), (0, 0)), (1, 1), groups, "float32")
    assert algorithms.choose(p).NAME == expected


def test_autotune_times_the_candidates_once_and_keeps_the_fastest(rng):
    x, w = conv_args(rng, (1, 2, 10, 10), 2, 3)
    backend.set_autotune(True)
    try:
        with backend.algorithm_log() as log:
            first = F.conv2d(x, w)
            second = F.conv2d(x, w)
    finally:
        backend.set_autotune(False)
    assert log[0][2] == log[1][2]
    np.testing.assert_allclose(first, second, rtol=1e-12)
    with pytest.raises(TypeError, match="set_autotune: flag expects True or False"):
        backend.set_autotune("yes")


@pytest.mark.parametrize("k, stride, dilation, groups", [(3, 1, 1, 4), (3, 2, 1, 2), (5, 1, 2, 1), (3, (2, 1), (1, 2), 4)])
def test_compiled_and_numpy_direct_paths_agree(k, stride, dilation, groups, rng):
    if not backend.numba_installed():
        pytest.skip("numba is not installed (the fast extra)")
    x, w = conv_args(rng, (3, 8, 13, 12), 8, k, groups)
    stride = stride if isinstance(stride, tuple) else (stride, stride)
    dilation = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    pads = ((1, 2), (2, 1))
    args = (stride, pads, dilation, groups)
    y = C.conv_forward(x, w, None, *args)
    gy = rng.standard_normal(y.shape)
    results = {}
    for compiled in (True, False):
        with backend.algorithm("direct"), backend.compiled(compiled):
            results[compiled] = (C.conv_forward(x, w, None, *args),) + C.conv_backward(gy, x, w, *args)[:2]
    for a, b in zip(results[True], results[False]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", ["direct", "pointwise"])
def test_direct_and_pointwise_temporaries_stay_within_the_workspace(name, rng):
    """tracemalloc sees the call's peak: its results plus at most the bound (1 MiB). The padded
    input of the whole batch would be 12 * 8 * 66 * 66 * 8 = 3.3 MB."""
    k = 1 if name == "pointwise" else 3
    x, w = conv_args(rng, (12, 8, 64, 64), 8, k, groups=8 if name == "direct" else 1)
    pads = ((1, 1), (1, 1)) if k == 3 else ((0, 0), (0, 0))
    args = ((1, 1), pads, (1, 1), 8 if name == "direct" else 1)
    gy = rng.standard_normal((12, 8, 64, 64))
    backend.release_scratch()
    with backend.workspace(2**20), backend.algorithm(name), backend.algorithm_log() as log:
        tracemalloc.start()
        try:
            results = (C.conv_forward(x, w, None, *args),) + C.conv_backward(gy, x, w, *args)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert {entry[2] for entry in log} == {name}
    kept = sum(a.nbytes for a in results if a is not None)
    assert peak - kept <= 2**20 + 64 * 2**10, f"{peak - kept} bytes of temporaries"
