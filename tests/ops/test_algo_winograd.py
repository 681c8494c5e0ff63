"""The Winograd F(2x2, 3x3) algorithm, called directly: forward and input gradient against PyTorch
and the GEMM, over odd/even output sizes, groups, symmetric and asymmetric (also negative)
padding and batch sizes; blocks of tile rows under a small workspace; and what it refuses.

float64 is checked to 1e-10 and float32 to 1e-4, relative to the largest value of the result.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convscope import backend
from convscope.ops.algorithms import gemm, winograd
from convscope.ops.algorithms._common import input_grad_padding, problem
from tests._reference import torch

ONE = (1, 1)
DTYPES = st.sampled_from([np.float64, np.float32])


def check(got, want, dtype, what=""):
    want = want.detach().numpy() if hasattr(want, "detach") else np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == np.dtype(dtype), f"{what}: dtype {got.dtype}"
    t = 1e-10 if np.dtype(dtype) == np.float64 else 1e-4
    scale = max(float(np.abs(want).max(initial=0.0)), np.finfo(np.float32).tiny)
    np.testing.assert_allclose(got, want, rtol=0, atol=t * scale, err_msg=what)


@st.composite
def convs(draw, negative=False):
    """A 3x3 stride-1 conv: x (N, C, H, W), w (O, C/g, 3, 3), padding pairs, groups, dtype."""
    kind = draw(st.sampled_from(["dense", "grouped", "depthwise"]))
    groups = {"dense": 1, "grouped": 2, "depthwise": draw(st.integers(2, 4))}[kind]
    cg = 1 if kind == "depthwise" else draw(st.integers(1, 3))
    og = draw(st.integers(1, 2)) if kind == "depthwise" else draw(st.integers(1, 3))
    n = draw(st.integers(1, 3))
    low = -1 if negative else 0
    padding = tuple((draw(st.integers(low, 2)), draw(st.integers(low, 2))) for _ in range(2))
    spatial = tuple(draw(st.integers(max(1, 3 - lo - hi), 9)) for lo, hi in padding)
    dtype = draw(DTYPES)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((n, cg * groups) + spatial).astype(dtype)
    w = rng.standard_normal((og * groups, cg, 3, 3)).astype(dtype)
    return x, w, padding, groups, dtype


def out_shape(x, padding):
    return tuple(s + lo + hi - 2 for s, (lo, hi) in zip(x.shape[2:], padding))


def torch_forward(x, w, padding, groups):
    flat = [p for pair in reversed(padding) for p in pair]       # F.pad: last dim first; negative crops
    xp = torch.nn.functional.pad(torch.from_numpy(x), flat)
    return torch.nn.functional.conv2d(xp, torch.from_numpy(w), groups=groups)


# --------------------------------------------------------------------------- forward

@settings(max_examples=120)
@given(convs(negative=True))
def test_forward_matches_torch_and_gemm(case):
    x, w, padding, groups, dtype = case
    out = out_shape(x, padding)
    y = winograd.forward(x, w, padding, ONE, ONE, groups, out, "conv2d")
    check(y, torch_forward(x, w, padding, groups), dtype, "vs torch")
    check(y, gemm.forward(x, w, padding, ONE, ONE, groups, out, "conv2d"), dtype, "vs gemm")


@pytest.mark.parametrize("size", [(2, 2), (3, 3), (4, 7), (7, 4), (11, 10), (1, 5)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_odd_and_even_outputs(size, dtype):
    rng = np.random.default_rng(sum(size))
    x = rng.standard_normal((2, 3) + size).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    padding = ((1, 1), (1, 1))
    y = winograd.forward(x, w, padding, ONE, ONE, 1, size, "conv2d")
    check(y, torch_forward(x, w, padding, 1), dtype)


def test_forward_result_is_not_scratch_and_dtype_follows_input():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 4, 3, 3))                              # float64 weight, float32 input
    y1 = winograd.forward(x, w, ((1, 1), (1, 1)), ONE, ONE, 1, (6, 6), "conv2d")
    keep = y1.copy()
    y2 = winograd.forward(2 * x, w, ((1, 1), (1, 1)), ONE, ONE, 1, (6, 6), "conv2d")
    assert y1.dtype == np.float32
    np.testing.assert_array_equal(y1, keep)
    assert not np.shares_memory(y1, y2)
    np.testing.assert_allclose(y2, 2 * keep, rtol=1e-5, atol=1e-5)


def test_complex_input_matches_gemm():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 5, 6)) + 1j * rng.standard_normal((2, 2, 5, 6))
    w = rng.standard_normal((3, 2, 3, 3)) + 1j * rng.standard_normal((3, 2, 3, 3))
    y = winograd.forward(x, w, ((1, 0), (0, 1)), ONE, ONE, 1, (4, 5), "conv2d")
    want = gemm.forward(x, w, ((1, 0), (0, 1)), ONE, ONE, 1, (4, 5), "conv2d")
    np.testing.assert_allclose(y, want, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_small_workspace_splits_into_bands_of_tile_rows(dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 16, 61, 40)).astype(dtype)            # one sample's V > 1 MiB
    w = rng.standard_normal((16, 16, 3, 3)).astype(dtype)
    padding = ((2, 0), (1, 1))
    out = out_shape(x, padding)
    whole = winograd.forward(x, w, padding, ONE, ONE, 1, out, "conv2d")
    blocks = list(winograd._blocks(2, 16, 16, (31, 20), np.dtype(dtype).itemsize))
    with backend.workspace(2**20):
        small = list(winograd._blocks(2, 16, 16, (31, 20), np.dtype(dtype).itemsize))
        banded = winograd.forward(x, w, padding, ONE, ONE, 1, out, "conv2d")
    assert len(small) > 2 and all(b[0].stop - b[0].start == 1 for b in small)
    assert len(small) > len(blocks)
    check(banded, whole, dtype, "banded vs whole")
    check(banded, torch_forward(x, w, padding, 1), dtype, "banded vs torch")


def test_every_block_one_row_of_tiles(monkeypatch):
    monkeypatch.setattr(winograd, "MIN_COLUMNS", 1)             # else blocks keep >= 512 tiles
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 2, 7, 9))
    w = rng.standard_normal((2, 2, 3, 3))
    with backend.chunk_target(1):
        y = winograd.forward(x, w, ((1, 2), (0, 1)), ONE, ONE, 1, (8, 8), "conv2d")
        assert len(list(winograd._blocks(3, 2, 2, (4, 4), 8))) == 12
    check(y, torch_forward(x, w, ((1, 2), (0, 1)), 1), np.float64)


# --------------------------------------------------------------------------- input gradient

def conv_input_grad(x, w, padding, groups, gy):
    xt = torch.from_numpy(x).requires_grad_(True)
    y = torch.nn.functional.conv2d(xt, torch.from_numpy(w), padding=padding, groups=groups)
    return torch.autograd.grad(y, xt, torch.from_numpy(gy))[0]


@settings(max_examples=80)
@given(convs())
def test_input_grad_as_conv_gradient(case):
    x, w, padding, groups, dtype = case
    out = out_shape(x, padding)
    gy = np.random.default_rng(7).standard_normal((x.shape[0], w.shape[0]) + out).astype(dtype)
    extent, offset = x.shape[2:], tuple(lo for lo, _ in padding)
    gx = winograd.input_grad(gy, w, extent, offset, ONE, ONE, groups, "conv2d", "input gradient")
    check(gx, gemm.input_grad(gy, w, extent, offset, ONE, ONE, groups, "conv2d", "input gradient"), dtype,
          "vs gemm")
    if all(lo == hi for lo, hi in padding):                      # torch takes symmetric padding only
        check(gx, conv_input_grad(x, w, tuple(lo for lo, _ in padding), groups, gy), dtype, "vs torch")


@settings(max_examples=60)
@given(st.integers(1, 3), st.sampled_from([1, 2, 3]), st.integers(1, 2), st.integers(1, 2),
       st.tuples(st.integers(1, 8), st.integers(1, 8)), st.tuples(st.integers(0, 2), st.integers(0, 2)),
       DTYPES, st.integers(0, 2**16))
def test_input_grad_as_conv_transpose(n, groups, cg, og, size, p, dtype, seed):
    if any(m + 2 - 2 * q < 1 for m, q in zip(size, p)):
        return
    rng = np.random.default_rng(seed)
    gy = rng.standard_normal((n, og * groups) + size).astype(dtype)   # the transposed conv's input
    w = rng.standard_normal((og * groups, cg, 3, 3)).astype(dtype)
    extent = tuple(m + 2 - 2 * q for m, q in zip(size, p))
    got = winograd.input_grad(gy, w, extent, p, ONE, ONE, groups, "conv_transpose2d", "output")
    want = torch.nn.functional.conv_transpose2d(torch.from_numpy(gy), torch.from_numpy(w), padding=p,
                                                groups=groups)
    check(got, want, dtype, "vs torch conv_transpose2d")


def test_input_grad_extent_past_the_windows_is_zero():
    """A transposed conv's output padding: positions past what the windows cover are zeros."""
    rng = np.random.default_rng(4)
    gy = rng.standard_normal((2, 3, 5, 4))
    w = rng.standard_normal((3, 2, 3, 3))
    extent, offset = (9, 8), (0, 1)                     # covered: 7 x 6 positions
    got = winograd.input_grad(gy, w, extent, offset, ONE, ONE, 1, "conv_transpose2d", "output")
    want = gemm.input_grad(gy, w, extent, offset, ONE, ONE, 1, "conv_transpose2d", "output")
    check(got, want, np.float64)
    assert not got[:, :, 7:].any() and not got[:, :, :, 5:].any()
    assert input_grad_padding(extent, offset, (5, 4), (3, 3), ONE, ONE) == ((0, -2), (1, -3))


# --------------------------------------------------------------------------- supports and cost

def make(kind="forward", kernel=(3, 3), stride=ONE, dilation=ONE, dtype="float32", rank=2, n=4, c=16, o=16,
         size=16, groups=1):
    spatial = (size,) * rank
    kernel = kernel if len(kernel) == rank else (3,) * rank
    pads = ((1, 1),) * rank
    return problem(kind, (n, c) + spatial, o, kernel, spatial, stride if len(stride) == rank else (1,) * rank,
                   pads, dilation if len(dilation) == rank else (1,) * rank, groups, dtype)


@pytest.mark.parametrize("p, reason", [
    (make(stride=(2, 2)), "stride 1"),
    (make(stride=(1, 2)), "stride 1"),
    (make(dilation=(2, 2)), "no dilation"),
    (make(kernel=(5, 5)), "a 3x3 kernel"),
    (make(kernel=(3, 1)), "a 3x3 kernel"),
    (make(rank=3), "2-D only"),
    (make(rank=1), "2-D only"),
    (make(kind="weight_grad"), "forward and input gradient only"),
    (make(dtype="int64"), "a floating-point dtype"),
])
def test_supports_refusals(p, reason):
    assert winograd.supports(p) == reason


@pytest.mark.parametrize("p", [make(), make(kind="input_grad"), make(groups=16),
                               make(groups=4, dtype="float64"), make(size=1)])
def test_supports_and_cost(p):
    assert winograd.supports(p) is None
    cost = winograd.cost(p)
    assert isinstance(cost, float) and cost > 0
    bigger = make(kind=p.kind, groups=p.groups, dtype=p.dtype, n=4 * p.n, size=p.spatial[0])
    assert winograd.cost(bigger) > cost


def test_cost_prefers_wide_layers():
    """The model's intent: wide layers on small images pay, a 3-channel input does not."""
    wide = make(n=8, c=256, o=256, size=14)
    narrow = make(n=64, c=3, o=32, size=32)
    assert winograd.cost(wide) < gemm.cost(wide)
    assert winograd.cost(narrow) > gemm.cost(narrow)


def test_weight_grad_is_refused():
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(RuntimeError, match="winograd: weight_grad is not supported"):
        winograd.weight_grad(x, np.zeros((1, 1, 2, 2)), (1, 1, 3, 3), ((0, 0), (0, 0)), ONE, ONE, 1, "conv2d")
