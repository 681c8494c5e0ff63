"""The FFT convolution algorithm (``convscope.ops.algorithms.fft``), called directly.

Every pass (forward, input gradient, weight gradient) against PyTorch's conv1d/2d/3d values and
``torch.autograd.grad`` gradients, and against the gemm algorithm, in float64 (1e-9 relative to
the largest value) and float32 (1e-4 relative to the largest output): ranks 1-3, groups,
dilation, strides, asymmetric (and cropping) padding pairs; the input gradient also as a
transposed conv's forward (PyTorch's conv_transpose2d with stride, padding and output_padding).
Each case runs with the module's choice of channel contraction, or with the frequency-major
matmul or the broadcast products forced. Also: results under a small workspace (computed in
blocks), which problems ``supports`` refuses, the cost model's preference, ``_fast_len``.
"""

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convscope import backend
from convscope.ops.algorithms import _common, fft, gemm
from tests._reference import torch

TF = torch.nn.functional
TORCH_CONV = {1: TF.conv1d, 2: TF.conv2d, 3: TF.conv3d}
TOL = {np.float64: 1e-9, np.float32: 1e-4}


def close(got, want, dtype, what):
    """``got`` equals ``want`` to the dtype's tolerance relative to ``want``'s largest value."""
    want = want.detach().numpy() if hasattr(want, "detach") else np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == np.dtype(dtype), f"{what}: dtype {got.dtype}"
    scale = float(np.abs(want).max(initial=0.0)) or 1.0           # all zeros (windows in the padding)
    err = float(np.abs(got.astype(np.float64) - want).max(initial=0.0)) / scale
    assert err <= TOL[dtype], f"{what}: error {err:.2e} relative to the largest value"


@st.composite
def convs(draw, ranks=(1, 2, 3)):
    """A grouped conv problem whose output is at least one position per dim."""
    rank = draw(st.sampled_from(ranks))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cg = draw(st.integers(1, 5))
    og = draw(st.sampled_from([1, 2, 4, 5]))
    n = draw(st.integers(1, 3))
    small = {1: 12, 2: 9, 3: 6}[rank]
    kernel, stride, dilation, padding, spatial = [], [], [], [], []
    for _ in range(rank):
        k, s, d = draw(st.integers(1, 5)), draw(st.sampled_from([1, 1, 2, 3])), draw(st.sampled_from([1, 1, 2]))
        lo, hi = draw(st.integers(-1, 4)), draw(st.integers(-1, 4))
        taps = d * (k - 1) + 1
        size = draw(st.integers(max(1, taps - lo - hi, 1 - min(lo, 0) - min(hi, 0)), small + taps))
        kernel.append(k), stride.append(s), dilation.append(d), padding.append((lo, hi)), spatial.append(size)
    out = tuple((size + lo + hi - (d * (k - 1) + 1)) // s + 1
                for size, (lo, hi), k, s, d in zip(spatial, padding, kernel, stride, dilation))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    return dict(n=n, groups=groups, cg=cg, og=og, spatial=tuple(spatial), kernel=tuple(kernel),
                stride=tuple(stride), dilation=tuple(dilation), padding=tuple(padding), out=out, dtype=dtype)


@contextlib.contextmanager
def contraction(matmul):
    """Force the channel contraction through the frequency-major matmul (True) or the broadcast
    products (False) for every shape; None keeps the module's thresholds."""
    saved = fft.MATMUL_MIN, fft.MATMUL_MIN_SAMPLES
    if matmul is not None:
        fft.MATMUL_MIN = fft.MATMUL_MIN_SAMPLES = 1 if matmul else 10**9
    try:
        yield
    finally:
        fft.MATMUL_MIN, fft.MATMUL_MIN_SAMPLES = saved


def operands(c, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((c["n"], c["groups"] * c["cg"]) + c["spatial"]).astype(c["dtype"])
    w = rng.standard_normal((c["groups"] * c["og"], c["cg"]) + c["kernel"]).astype(c["dtype"])
    gy = rng.standard_normal((c["n"], c["groups"] * c["og"]) + c["out"]).astype(c["dtype"])
    return x, w, gy


def fft_passes(c, x, w, gy):
    args = (c["padding"], c["stride"], c["dilation"], c["groups"])
    y = fft.forward(x, w, *args, c["out"], "conv")
    gx = fft.input_grad(gy, w, c["spatial"], [lo for lo, _ in c["padding"]], c["stride"], c["dilation"],
                        c["groups"], "conv", "input gradient")
    gw = fft.weight_grad(x, gy, w.shape, *args, "conv")
    return y, gx, gw


@settings(max_examples=80)
@given(convs(), st.sampled_from([None, True, False]), st.integers(0, 2**31))
def test_matches_torch_values_and_gradients(c, matmul, seed):
    x, w, gy = operands(c, seed)
    with contraction(matmul):
        y, gx, gw = fft_passes(c, x, w, gy)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    flat = [p for pair in reversed(c["padding"]) for p in pair]      # F.pad: last dim first; < 0 crops
    yt = TORCH_CONV[len(c["kernel"])](TF.pad(xt, flat), wt, stride=c["stride"], dilation=c["dilation"],
                                       groups=c["groups"])
    gxt, gwt = torch.autograd.grad(yt, (xt, wt), torch.from_numpy(gy))
    close(y, yt, c["dtype"], "forward")
    close(gx, gxt, c["dtype"], "input gradient")
    close(gw, gwt, c["dtype"], "weight gradient")


@settings(max_examples=50)
@given(convs(), st.sampled_from([None, True, False]), st.integers(0, 2**31))
def test_matches_gemm(c, matmul, seed):
    x, w, gy = operands(c, seed)
    args = (c["padding"], c["stride"], c["dilation"], c["groups"])
    offset = [lo for lo, _ in c["padding"]]
    with contraction(matmul):
        passes = fft_passes(c, x, w, gy)
    for got, want, what in zip(passes, (
            gemm.forward(x, w, *args, c["out"], "conv"),
            gemm.input_grad(gy, w, c["spatial"], offset, c["stride"], c["dilation"], c["groups"], "conv", "gx"),
            gemm.weight_grad(x, gy, w.shape, *args, "conv")), ("forward", "input gradient", "weight gradient")):
        close(got, want, c["dtype"], what)


@settings(max_examples=50)
@given(st.data(), st.integers(0, 2**31))
def test_input_grad_is_conv_transpose2d(data, seed):
    """``offset`` = the transposed conv's padding, ``extent`` its output size with output_padding."""
    groups = data.draw(st.sampled_from([1, 2]))
    cin, cout = groups * data.draw(st.integers(1, 3)), groups * data.draw(st.integers(1, 3))
    n, dtype = data.draw(st.integers(1, 2)), data.draw(st.sampled_from([np.float64, np.float32]))
    kernel, stride, dilation, pad, opad, size = [], [], [], [], [], []
    for _ in range(2):
        k, s, d = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2))
        p = data.draw(st.integers(0, (d * (k - 1)) // 2))
        op = data.draw(st.integers(0, max(s, d) - 1))
        kernel.append(k), stride.append(s), dilation.append(d), pad.append(p), opad.append(op)
        size.append(data.draw(st.integers(max(1, -(-(2 * p - d * (k - 1) - op) // s) + 1), 8)))
    extent = [(m - 1) * s - 2 * p + d * (k - 1) + op + 1
              for m, s, p, d, k, op in zip(size, stride, pad, dilation, kernel, opad)]
    rng = np.random.default_rng(seed)
    gy = rng.standard_normal((n, cin) + tuple(size)).astype(dtype)
    w = rng.standard_normal((cin, cout // groups) + tuple(kernel)).astype(dtype)
    with contraction(data.draw(st.sampled_from([None, True, False]))):
        got = fft.input_grad(gy, w, extent, pad, stride, dilation, groups, "conv_transpose2d", "output")
    want = TF.conv_transpose2d(torch.from_numpy(gy), torch.from_numpy(w), stride=tuple(stride), padding=tuple(pad),
                               output_padding=tuple(opad), groups=groups, dilation=tuple(dilation))
    close(got, want, dtype, "conv_transpose2d")


@settings(max_examples=25)
@given(st.integers(0, 2**31))
def test_input_grad_extent_past_the_windows_is_zero(seed):
    """An extent that reaches past every window (a transposed conv's output padding) reads zeros."""
    rng = np.random.default_rng(seed)
    gy, w = rng.standard_normal((2, 4, 5, 6)), rng.standard_normal((4, 3, 3, 2))
    got = fft.input_grad(gy, w, (12, 12), (1, 0), (2, 1), (1, 2), 1, "t", "output")
    want = gemm.input_grad(gy, w, (12, 12), (1, 0), (2, 1), (1, 2), 1, "t", "output")
    close(got, want, np.float64, "extended input gradient")
    assert not got[:, :, 10:].any() and not got[:, :, :, 9:].any()


@pytest.mark.parametrize("matmul", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_small_workspace_gives_the_same_results(dtype, matmul, monkeypatch):
    """Under a 1 MiB workspace the passes run in blocks of groups, channels and samples."""
    plans, plan = [], fft._plan

    def recorded(n, groups, p, *budget):
        plans.append((n, groups, p, plan(n, groups, p, *budget)))          # (groups, channels, samples) a block
        return plans[-1][3]
    monkeypatch.setattr(fft, "_plan", recorded)
    c = dict(n=5, groups=3, cg=8, og=20, spatial=(40, 36), kernel=(5, 4), stride=(1, 2), dilation=(2, 1),
             padding=((4, 3), (1, 2)), dtype=dtype)
    c["out"] = ((40 + 7 - 9) // 1 + 1, (36 + 3 - 4) // 2 + 1)
    x, w, gy = operands(c, 7)
    with contraction(matmul):
        whole = fft_passes(c, x, w, gy)
        with backend.workspace(2**20):
            pieces = fft_passes(c, x, w, gy)
    for a, b, what in zip(pieces, whole, ("forward", "input gradient", "weight gradient")):
        close(a, b, dtype, what)
    assert all(blocks == (groups, p, n) for n, groups, p, blocks in plans[:3])        # 256 MiB: one block
    assert all(blocks[0] < groups and blocks[2] < n for n, groups, p, blocks in plans[3:])
    assert any(blocks[1] < p for n, groups, p, blocks in plans[3:])


def test_float32_stays_single_precision():
    x, w = np.ones((1, 2, 16, 16), np.float32), np.ones((3, 2, 5, 5), np.float32)
    y = fft.forward(x, w, ((2, 2), (2, 2)), (1, 1), (1, 1), 1, (16, 16), "conv2d")
    assert y.dtype == np.float32 and abs(float(y[0, 0, 8, 8]) - 50.0) < 1e-4


def test_window_entirely_in_padding_is_zero():
    x, w = np.ones((1, 1, 4)), np.ones((2, 1, 2))
    y = fft.forward(x, w, ((-4, 3),), (1,), (1,), 1, (2,), "conv1d")       # reads only the right padding
    assert y.shape == (1, 2, 2) and not y.any()


def problem(dtype, kind="forward"):
    return _common.problem(kind, (2, 4, 32, 32), 8, (5, 5), (28, 28), (1, 1), ((0, 0), (0, 0)), (1, 1), 1, dtype)


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "complex64", "complex128", "float16"])
def test_supports_refuses_other_dtypes(dtype):
    reason = fft.supports(problem(dtype))
    assert isinstance(reason, str) and "float32" in reason


@pytest.mark.parametrize("kind", _common.PASSES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_supports_every_float_problem(kind, dtype):
    assert fft.supports(problem(dtype, kind)) is None
    assert fft.cost(problem(dtype, kind)) > 0


def test_cost_prefers_fft_for_large_kernels_only():
    big = _common.problem("forward", (1, 1, 2048, 2048), 1, (31, 31), (2048, 2048), (1, 1),
                          ((15, 15), (15, 15)), (1, 1), 1, "float32")
    small = _common.problem("forward", (32, 64, 32, 32), 64, (3, 3), (32, 32), (1, 1),
                            ((1, 1), (1, 1)), (1, 1), 1, "float32")
    assert fft.cost(big) < gemm.cost(big)
    assert fft.cost(small) > gemm.cost(small)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 11, 97, 1000, 1025, 4097])
def test_fast_len(n):
    length = fft._fast_len(n)
    assert length >= n
    rest = length
    for p in (2, 3, 5):
        while rest % p == 0:
            rest //= p
    assert rest == 1
    assert all(fft._fast_len(m) == length for m in range(n, length + 1))
