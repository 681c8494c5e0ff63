"""Pooling ops checked three ways: against PyTorch, a slow textbook reference, finite differences.

Hypothesis draws rank (1-3), batch, channels, kernel, stride (equal to the kernel, or any of
1-3, so windows overlap or leave gaps), padding (at most half the kernel, as PyTorch requires),
dilation (max pool), ceil_mode, count_include_pad and divisor_override (average pool), output
sizes below, equal to and above the input's (adaptive pools), and float64 (checked to 1e-10) or
float32 (1e-4 relative). Max pools see distinct values, so the argmax is unique and the indices
must match exactly; ties, constant input, -inf and NaN have their own tests.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convscope.ops import pool
from tests._reference import assert_close, numeric_grad, torch

TF = torch.nn.functional
DTYPES = st.sampled_from([np.float64, np.float32])


# --------------------------------------------------------------------------- slow references

def max_pool_reference(x, kernel, stride, padding, dilation, ceil_mode):
    """Max pool by definition, one output position at a time: gather the window's real input
    positions in row-major order; the index is the last NaN if any, else the first maximum."""
    spatial = x.shape[2:]
    out = pool.pool_output_shape(spatial, kernel, stride, padding, dilation, ceil_mode)
    y = np.empty(x.shape[:2] + out, dtype=x.dtype)
    idx = np.empty(x.shape[:2] + out, dtype=np.int64)
    for o in np.ndindex(*out):
        positions = [q for t in np.ndindex(*kernel)
                     if all(0 <= (q := tuple(oi * s - p + ti * d for oi, s, p, ti, d in
                                             zip(o, stride, padding, t, dilation)))[i] < spatial[i]
                            for i in range(len(spatial)))]
        if not positions:                      # every tap misses the input (dilation)
            y[(...,) + o], idx[(...,) + o] = -np.inf, -1
            continue
        flat = np.array([np.ravel_multi_index(q, spatial) for q in positions])
        values = np.stack([x[(slice(None), slice(None)) + q] for q in positions], axis=-1)
        nan = np.isnan(values)
        last_nan = len(positions) - 1 - np.argmax(nan[..., ::-1], axis=-1)
        first_max = np.argmax(np.where(nan, -np.inf, values), axis=-1)
        pick = np.where(nan.any(axis=-1), last_nan, first_max)
        idx[(...,) + o] = flat[pick]
        y[(...,) + o] = np.take_along_axis(values, pick[..., None], axis=-1)[..., 0]
    return y, idx


def avg_pool_reference(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override=None):
    """Average pool by definition: sum the window's real elements, count what the divisor counts."""
    spatial = x.shape[2:]
    out = pool.pool_output_shape(spatial, kernel, stride, padding, (1,) * len(kernel), ceil_mode)
    y = np.empty(x.shape[:2] + out, dtype=x.dtype)
    for o in np.ndindex(*out):
        total, in_padded, in_input = 0.0, 0, 0
        for t in np.ndindex(*kernel):
            q = tuple(oi * s - p + ti for oi, s, p, ti in zip(o, stride, padding, t))
            if all(-p <= qi < n + p for qi, n, p in zip(q, spatial, padding)):
                in_padded += 1
            if all(0 <= qi < n for qi, n in zip(q, spatial)):
                in_input += 1
                total = total + x[(slice(None), slice(None)) + q]
        divisor = divisor_override or (in_padded if count_include_pad else in_input)
        y[(...,) + o] = total / divisor
    return y


def adaptive_avg_pool_reference(x, output_size):
    """Adaptive average by definition: the mean of each bin [floor(i n / o), ceil((i + 1) n / o))."""
    y = np.empty(x.shape[:2] + tuple(output_size), dtype=x.dtype)
    for o in np.ndindex(*output_size):
        box = tuple(slice(i * n // m, -(-(i + 1) * n // m)) for i, n, m in zip(o, x.shape[2:], output_size))
        y[(...,) + o] = x[(slice(None), slice(None)) + box].mean(axis=tuple(range(2, x.ndim)))
    return y


# --------------------------------------------------------------------------- drawing cases

@st.composite
def pool_cases(draw, dilated, kernel_fits_3d=False):
    n = draw(st.integers(1, 3))
    small = n == 3
    kernel = tuple(draw(st.integers(1, 3 if small else 4)) for _ in range(n))
    stride = tuple(k if draw(st.booleans()) else draw(st.integers(1, 3)) for k in kernel)
    dilation = tuple(draw(st.integers(1, 2 if small else 3)) if dilated else 1 for _ in range(n))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    spatial = []
    for k, d, p in zip(kernel, dilation, padding):
        low = max(1, d * (k - 1) + 1 - 2 * p)          # the first window fits once padded
        if kernel_fits_3d and small:
            low = max(low, k)                          # avg_pool3d wants it to fit unpadded
        spatial.append(draw(st.integers(low, low + (3 if small else 6))))
    return dict(n=n, batch=draw(st.integers(1, 3)), channels=draw(st.integers(1, 3)), kernel=kernel,
                stride=stride, padding=padding, dilation=dilation, spatial=tuple(spatial),
                ceil_mode=draw(st.booleans()), dtype=draw(DTYPES), seed=draw(st.integers(0, 2**31 - 1)))


def every_window_hits_input(c):
    """False where dilation lets some window's taps all miss the input: PyTorch then returns an
    index outside the window and its backward writes there (see test_max_pool_empty_window)."""
    return all(any(0 <= o * s - p + t * d < size for t in range(k))
               for size, k, s, p, d, out in zip(c["spatial"], c["kernel"], c["stride"], c["padding"],
                                               c["dilation"], pool.pool_output_shape(
                                                   c["spatial"], c["kernel"], c["stride"], c["padding"],
                                                   c["dilation"], c["ceil_mode"]))
               for o in range(out))


@st.composite
def adaptive_cases(draw):
    n = draw(st.integers(1, 3))
    small = n == 3
    spatial = tuple(draw(st.integers(1, 5 if small else 9)) for _ in range(n))
    output_size = tuple(draw(st.integers(1, size + 2)) for size in spatial)
    return dict(n=n, batch=draw(st.integers(1, 3)), channels=draw(st.integers(1, 3)), spatial=spatial,
                output_size=output_size, dtype=draw(DTYPES), seed=draw(st.integers(0, 2**31 - 1)))


def distinct(rng, shape, dtype):
    """Distinct, exactly representable values in random order, so every argmax is unique."""
    size = int(np.prod(shape))
    return ((rng.permutation(size) - size / 2) / 4).reshape(shape).astype(dtype)


def torch_grad(fn, x, gy):
    """Gradient of sum(fn(x) * gy) by torch autograd, and fn's output."""
    xt = torch.tensor(x, requires_grad=True)
    y = fn(xt)
    out = y[0] if isinstance(y, tuple) else y
    out.backward(torch.from_numpy(gy))
    return y, xt.grad


# --------------------------------------------------------------------------- max pool

def torch_max_pool(x, c):
    fn = getattr(TF, f"max_pool{c['n']}d")
    return fn(x, c["kernel"], c["stride"], c["padding"], c["dilation"], c["ceil_mode"], return_indices=True)


def check_max_pool_against_torch(x, c, rng, what):
    before = x.copy()
    args = (c["kernel"], c["stride"], c["padding"], c["dilation"], c["ceil_mode"])
    y, idx = pool.max_pool_forward(x, *args)
    gy = rng.standard_normal(y.shape).astype(x.dtype)
    (y_pt, idx_pt), gx_pt = torch_grad(lambda t: torch_max_pool(t, c), x, gy)
    assert y.dtype == x.dtype and idx.dtype == np.int64, what
    assert_close(y, y_pt, x.dtype, f"{what} forward")
    np.testing.assert_array_equal(idx, idx_pt.numpy(), err_msg=f"{what} indices")
    gx = pool.max_pool_backward(gy, idx, x.shape)
    assert gx.dtype == x.dtype, what
    assert_close(gx, gx_pt, x.dtype, f"{what} grad")
    np.testing.assert_array_equal(x, before, err_msg=f"{what}: input modified")


@settings(max_examples=220)
@given(pool_cases(dilated=True).filter(every_window_hits_input))
def test_max_pool_matches_torch(c):
    rng = np.random.default_rng(c["seed"])
    x = distinct(rng, (c["batch"], c["channels"]) + c["spatial"], c["dtype"])
    check_max_pool_against_torch(x, c, rng, f"max_pool{c['n']}d {c}")


@settings(max_examples=60)
@given(pool_cases(dilated=True), st.sampled_from(["distinct", "ties", "nan"]))
def test_max_pool_matches_reference(c, values):
    rng = np.random.default_rng(c["seed"])
    shape = (c["batch"], c["channels"]) + c["spatial"]
    x = distinct(rng, shape, c["dtype"]) if values == "distinct" else rng.integers(0, 3, shape).astype(c["dtype"])
    if values == "nan":
        x[rng.random(shape) < 0.2] = np.nan
    args = (c["kernel"], c["stride"], c["padding"], c["dilation"], c["ceil_mode"])
    y, idx = pool.max_pool_forward(x, *args)
    y_ref, idx_ref = max_pool_reference(x, *args)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)


MAX_GEOMETRIES = [  # kernel, stride, padding, dilation, ceil_mode: overlapping, padded, ceil overhang
    dict(kernel=3, stride=1, padding=1, dilation=1, ceil_mode=False),
    dict(kernel=2, stride=2, padding=1, dilation=1, ceil_mode=True),
    dict(kernel=3, stride=2, padding=1, dilation=2, ceil_mode=True),
]


def geometry(n, g):
    return dict(n=n, **{k: (v,) * n if k != "ceil_mode" else v for k, v in g.items()})


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("g", MAX_GEOMETRIES)
def test_max_pool_ties_match_torch(n, g):
    rng = np.random.default_rng(n)
    x = rng.integers(0, 3, (2, 2) + (5,) * n).astype(np.float64)   # many equal maxima per window
    check_max_pool_against_torch(x, geometry(n, g), rng, f"ties max_pool{n}d {g}")


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("g", MAX_GEOMETRIES)
@pytest.mark.parametrize("value", [1.5, -np.inf])
def test_max_pool_constant_input_matches_torch(n, g, value):
    # Every window ties; with -inf the padding ties too, and the index must still be a real element.
    rng = np.random.default_rng(n)
    x = np.full((1, 2) + (5,) * n, value, dtype=np.float32)
    check_max_pool_against_torch(x, geometry(n, g), rng, f"constant {value} max_pool{n}d {g}")


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("g", MAX_GEOMETRIES)
def test_max_pool_nan_matches_torch(n, g):
    # NaN is the maximum of its window, and of several NaNs the last in scan order is the index.
    rng = np.random.default_rng(n)
    x = distinct(rng, (2, 2) + (5,) * n, np.float64)
    x[rng.random(x.shape) < 0.3] = np.nan
    c = geometry(n, g)
    y, idx = pool.max_pool_forward(x, c["kernel"], c["stride"], c["padding"], c["dilation"], c["ceil_mode"])
    y_pt, idx_pt = torch_max_pool(torch.from_numpy(x), c)
    assert np.isnan(y).any()
    np.testing.assert_array_equal(y, y_pt.numpy())
    np.testing.assert_array_equal(idx, idx_pt.numpy())


def test_max_pool_large_kernel_matches_torch(rng):
    # 17 x 17 = 289 taps: more than a uint8 tap number holds.
    c = dict(n=2, kernel=(17, 17), stride=(2, 3), padding=(8, 4), dilation=(1, 1), ceil_mode=True)
    check_max_pool_against_torch(distinct(rng, (2, 3, 20, 19), np.float32), c, rng, "max_pool2d 17x17")


def test_pools_accept_non_contiguous_input(rng):
    x = rng.standard_normal((6, 7, 3, 2)).transpose(3, 2, 1, 0)       # (2, 3, 7, 6), F-ordered
    xc = np.ascontiguousarray(x)
    args = ((3, 2), (2, 2), (1, 1), (1, 1), True)
    for got, want in zip(pool.max_pool_forward(x, *args), pool.max_pool_forward(xc, *args)):
        np.testing.assert_array_equal(got, want)
    args = ((3, 2), (2, 2), (1, 1), True, False, None)
    np.testing.assert_array_equal(pool.avg_pool_forward(x, *args), pool.avg_pool_forward(xc, *args))
    np.testing.assert_array_equal(pool.adaptive_avg_pool_forward(x, (3, 4)), pool.adaptive_avg_pool_forward(xc, (3, 4)))


def test_max_pool_empty_window():
    # Size 2, k=2, d=3, p=1: the one window's taps sit at -1 and 2, both outside the input.
    x = np.array([[[1.0, 2.0]]])
    y, idx = pool.max_pool_forward(x, (2,), (1,), (1,), (3,), False)
    y_pt, idx_pt = TF.max_pool1d(torch.from_numpy(x), 2, 1, 1, 3, return_indices=True)
    np.testing.assert_array_equal(y, y_pt.numpy())
    np.testing.assert_array_equal(y, [[[-np.inf]]])
    assert idx_pt.item() == 2                  # PyTorch: past the end of the input
    np.testing.assert_array_equal(idx, [[[-1]]])
    np.testing.assert_array_equal(pool.max_pool_backward(np.ones_like(y), idx, x.shape), np.zeros_like(x))


def test_max_pool_backward_accumulates_overlapping_windows():
    # 3 is the maximum of all three overlapping windows of [3, 1, 2, 0]: it receives every gradient.
    x = np.array([[[3.0, 1.0, 2.0, 0.0]]])
    y, idx = pool.max_pool_forward(x, (2,), (1,), (1,), (1,), False)
    np.testing.assert_array_equal(idx, [[[0, 0, 2, 2, 3]]])
    gx = pool.max_pool_backward(np.ones_like(y), idx, x.shape)
    np.testing.assert_array_equal(gx, [[[2.0, 0.0, 2.0, 1.0]]])


# --------------------------------------------------------------------------- average pool

def torch_avg_pool(x, c):
    n, div = c["n"], c["divisor_override"]
    if n == 1 and div is not None:   # avg_pool1d has no divisor_override: pool a 1-row image
        return TF.avg_pool2d(x[..., None, :], (1,) + c["kernel"], (1,) + c["stride"], (0,) + c["padding"],
                             c["ceil_mode"], c["count_include_pad"], div)[..., 0, :]
    extra = () if n == 1 else (div,)
    return getattr(TF, f"avg_pool{n}d")(x, c["kernel"], c["stride"], c["padding"], c["ceil_mode"],
                                        c["count_include_pad"], *extra)


@st.composite
def avg_cases(draw):
    c = draw(pool_cases(dilated=False, kernel_fits_3d=True))
    c["count_include_pad"] = draw(st.booleans())
    c["divisor_override"] = draw(st.one_of(st.none(), st.integers(1, 5)))
    return c


def avg_args(c):
    return (c["kernel"], c["stride"], c["padding"], c["ceil_mode"], c["count_include_pad"], c["divisor_override"])


@settings(max_examples=220)
@given(avg_cases())
def test_avg_pool_matches_torch(c):
    rng = np.random.default_rng(c["seed"])
    x = rng.standard_normal((c["batch"], c["channels"]) + c["spatial"]).astype(c["dtype"])
    before, what = x.copy(), f"avg_pool{c['n']}d {c}"
    y = pool.avg_pool_forward(x, *avg_args(c))
    gy = rng.standard_normal(y.shape).astype(x.dtype)
    y_pt, gx_pt = torch_grad(lambda t: torch_avg_pool(t, c), x, gy)
    assert y.dtype == x.dtype, what
    assert_close(y, y_pt, x.dtype, f"{what} forward")
    gx = pool.avg_pool_backward(gy, x.shape, *avg_args(c))
    assert gx.dtype == x.dtype, what
    assert_close(gx, gx_pt, x.dtype, f"{what} grad")
    np.testing.assert_array_equal(x, before, err_msg=f"{what}: input modified")


@settings(max_examples=60)
@given(avg_cases())
def test_avg_pool_matches_reference(c):
    x = np.random.default_rng(c["seed"]).standard_normal((c["batch"], c["channels"]) + c["spatial"])
    np.testing.assert_allclose(pool.avg_pool_forward(x, *avg_args(c)), avg_pool_reference(x, *avg_args(c)),
                               rtol=1e-12, atol=1e-12)


def test_avg_pool_ceil_overhang_is_not_counted_as_padding():
    # Size 4, k=3, s=2, p=1, ceil_mode: windows start at -1, 1, 3; the last covers 3, 4(pad), 5(past pad).
    x = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    y = pool.avg_pool_forward(x, (3,), (2,), (1,), True, count_include_pad=True)
    np.testing.assert_allclose(y, [[[3.0 / 3, 9.0 / 3, 4.0 / 2]]])
    y = pool.avg_pool_forward(x, (3,), (2,), (1,), True, count_include_pad=False)
    np.testing.assert_allclose(y, [[[3.0 / 2, 9.0 / 3, 4.0 / 1]]])


# --------------------------------------------------------------------------- adaptive pools

@settings(max_examples=180)
@given(adaptive_cases())
def test_adaptive_avg_pool_matches_torch_and_reference(c):
    rng = np.random.default_rng(c["seed"])
    x = rng.standard_normal((c["batch"], c["channels"]) + c["spatial"]).astype(c["dtype"])
    before, what = x.copy(), f"adaptive_avg_pool{c['n']}d {c}"
    y = pool.adaptive_avg_pool_forward(x, c["output_size"])
    gy = rng.standard_normal(y.shape).astype(x.dtype)
    fn = getattr(TF, f"adaptive_avg_pool{c['n']}d")
    y_pt, gx_pt = torch_grad(lambda t: fn(t, c["output_size"]), x, gy)
    assert y.dtype == x.dtype and y.flags.c_contiguous, what
    assert_close(y, y_pt, x.dtype, f"{what} forward")
    assert_close(y, adaptive_avg_pool_reference(x, c["output_size"]), x.dtype, f"{what} reference")
    gx = pool.adaptive_avg_pool_backward(gy, x.shape)
    assert gx.dtype == x.dtype and gx.flags.c_contiguous, what
    assert_close(gx, gx_pt, x.dtype, f"{what} grad")
    np.testing.assert_array_equal(x, before, err_msg=f"{what}: input modified")


@settings(max_examples=160)
@given(adaptive_cases(), st.sampled_from(["distinct", "ties"]))
def test_adaptive_max_pool_matches_torch(c, values):
    rng = np.random.default_rng(c["seed"])
    shape = (c["batch"], c["channels"]) + c["spatial"]
    x = distinct(rng, shape, c["dtype"]) if values == "distinct" else rng.integers(0, 3, shape).astype(c["dtype"])
    before, what = x.copy(), f"adaptive_max_pool{c['n']}d {values} {c}"
    y, idx = pool.adaptive_max_pool_forward(x, c["output_size"])
    gy = rng.standard_normal(y.shape).astype(x.dtype)
    fn = getattr(TF, f"adaptive_max_pool{c['n']}d")
    (y_pt, idx_pt), gx_pt = torch_grad(lambda t: fn(t, c["output_size"], return_indices=True), x, gy)
    assert y.dtype == x.dtype and idx.dtype == np.int64, what
    np.testing.assert_array_equal(y, y_pt.detach().numpy(), err_msg=what)
    np.testing.assert_array_equal(idx, idx_pt.numpy(), err_msg=what)
    assert_close(pool.adaptive_max_pool_backward(gy, idx, x.shape), gx_pt, x.dtype, f"{what} grad")
    np.testing.assert_array_equal(x, before, err_msg=f"{what}: input modified")


@pytest.mark.parametrize("n", [1, 2, 3])
def test_adaptive_max_pool_nan_matches_torch(n):
    rng = np.random.default_rng(n)
    x = distinct(rng, (2, 2) + (5,) * n, np.float64)
    x[rng.random(x.shape) < 0.15] = np.nan
    y, idx = pool.adaptive_max_pool_forward(x, (3,) * n)
    y_pt, idx_pt = getattr(TF, f"adaptive_max_pool{n}d")(torch.from_numpy(x), 3, return_indices=True)
    np.testing.assert_array_equal(y, y_pt.numpy())
    np.testing.assert_array_equal(idx, idx_pt.numpy())


def test_adaptive_bins_follow_pytorch():
    start, end = pool.adaptive_bins(5, 3)
    np.testing.assert_array_equal(start, [0, 1, 3])
    np.testing.assert_array_equal(end, [2, 4, 5])
    start, end = pool.adaptive_bins(2, 5)        # more bins than elements: elements repeat
    np.testing.assert_array_equal(start, [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(end, [1, 1, 2, 2, 2])


# --------------------------------------------------------------------------- output shape

@pytest.mark.parametrize("size, k, s, p, d, ceil, want", [
    (28, 2, 2, 0, 1, False, 14),
    (5, 2, 2, 0, 1, False, 2),
    (5, 2, 2, 0, 1, True, 3),
    (4, 2, 2, 1, 1, True, 3),      # a 4th window would start in the right padding: dropped
    (6, 3, 2, 1, 1, True, 4),      # (6 + 2 - 3 + 1) / 2 + 1 rounded up; 3 * 2 = 6 < 6 + 1 keeps it
    (10, 3, 1, 1, 2, False, 8),
])
def test_pool_output_shape(size, k, s, p, d, ceil, want):
    assert pool.pool_output_shape((size,), (k,), (s,), (p,), (d,), ceil) == (want,)
    t = TF.max_pool1d(torch.zeros(1, 1, size), k, s, p, d, ceil)
    assert t.shape[-1] == want


# --------------------------------------------------------------------------- finite differences

def fd_check(forward, backward, x, rng):
    """backward(gy) equals the central-difference gradient of sum(forward(x) * gy) (float64)."""
    gy = rng.standard_normal(forward(x).shape)
    want = numeric_grad(lambda a: float(np.sum(forward(a) * gy)), [x], 0)
    np.testing.assert_allclose(backward(gy), want, rtol=1e-6, atol=1e-6)


def test_max_pool_backward_matches_finite_differences(rng):
    x = distinct(rng, (2, 2, 5, 6), np.float64)        # values 0.25 apart: eps never swaps an argmax
    args = ((3, 2), (1, 2), (1, 1), (1, 2), True)
    _, idx = pool.max_pool_forward(x, *args)
    fd_check(lambda a: pool.max_pool_forward(a, *args)[0],
             lambda gy: pool.max_pool_backward(gy, idx, x.shape), x, rng)


@pytest.mark.parametrize("count_include_pad, divisor_override", [(True, None), (False, None), (True, 3)])
def test_avg_pool_backward_matches_finite_differences(rng, count_include_pad, divisor_override):
    x = rng.standard_normal((2, 2, 5, 6))
    args = ((3, 2), (2, 1), (1, 1), True, count_include_pad, divisor_override)
    fd_check(lambda a: pool.avg_pool_forward(a, *args),
             lambda gy: pool.avg_pool_backward(gy, x.shape, *args), x, rng)


@pytest.mark.parametrize("output_size", [(1, 1), (3, 4), (2, 9)])
def test_adaptive_avg_pool_backward_matches_finite_differences(rng, output_size):
    x = rng.standard_normal((2, 2, 6, 5))
    fd_check(lambda a: pool.adaptive_avg_pool_forward(a, output_size),
             lambda gy: pool.adaptive_avg_pool_backward(gy, x.shape), x, rng)


def test_adaptive_max_pool_backward_matches_finite_differences(rng):
    x = distinct(rng, (2, 2, 6, 5), np.float64)
    _, idx = pool.adaptive_max_pool_forward(x, (4, 3))
    fd_check(lambda a: pool.adaptive_max_pool_forward(a, (4, 3))[0],
             lambda gy: pool.adaptive_max_pool_backward(gy, idx, x.shape), x, rng)
