"""The compiled 2-D max pool (numba) against the NumPy scan, which the torch parity tests pin:
values and indices equal for every option, ties, NaN, the lowest value, integer dtypes and windows
with no real element; the backward equal too."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convscope import backend
from convscope.ops import pool

pytestmark = pytest.mark.skipif(not backend.compiled_available(), reason="the compiled max pool needs numba")


@st.composite
def cases(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    h = draw(st.integers(max(1, (kh - 1) * dh + 1 - 2 * ph), 12))
    w = draw(st.integers(max(1, (kw - 1) * dw + 1 - 2 * pw), 12))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dtype = draw(st.sampled_from(["float32", "float64", "int32", "uint8"]))
    special = draw(st.sampled_from([None, "ties", "nan", "lowest"]))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w, (kh, kw), (sh, sw), (ph, pw), (dh, dw),
            draw(st.booleans()), dtype, special, draw(st.integers(0, 2**16)))


@settings(max_examples=200, deadline=None)
@given(cases())
def test_compiled_max_pool_equals_the_numpy_scan(case):
    n, c, h, w, kernel, stride, padding, dilation, ceil, dtype, special, seed = case
    rng = np.random.default_rng(seed)
    if dtype.startswith("float"):
        x = rng.standard_normal((n, c, h, w)).astype(dtype)
        if special == "nan":
            x[rng.random(x.shape) < 0.2] = np.nan
        if special == "lowest":
            x[rng.random(x.shape) < 0.5] = -np.inf
    else:
        x = rng.integers(0, 4, (n, c, h, w)).astype(dtype)
        if special == "lowest":
            x[...] = np.iinfo(dtype).min
    if special == "ties":
        x = np.round(x / 2).astype(dtype) if dtype.startswith("float") else x // 2
    try:
        out = pool.pool_output_shape((h, w), kernel, stride, padding, dilation, ceil)
    except ValueError:
        return
    if min(out) < 1:
        return
    y, idx = pool.max_pool_forward(x, kernel, stride, padding, dilation, ceil)
    with backend.compiled(False):
        y0, idx0 = pool.max_pool_forward(x, kernel, stride, padding, dilation, ceil)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(idx, idx0)
    if dtype.startswith("float"):
        gy = rng.standard_normal(y.shape).astype(dtype)
        gx = pool.max_pool_backward(gy, idx, x.shape)
        with backend.compiled(False):
            gx0 = pool.max_pool_backward(gy, idx0, x.shape)
        np.testing.assert_allclose(gx, gx0, rtol=1e-6, atol=1e-6)
