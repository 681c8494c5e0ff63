"""The fused border of single-kernel problems: the compiled direct and separable loops read a
padding mode through index maps instead of a padded copy. They must equal the padded copy's
result (by the same algorithm, and by the textbook sum) for every mode, pad size (larger than
the image too), stride, kernel rank and non-finite value."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convscope import backend
from convscope.ops import algorithms
from convscope.ops.algorithms._common import border_index, pad_planes

pytestmark = pytest.mark.skipif(not backend.compiled_available(), reason="the fused border is compiled only (numba)")

MODES = ["constant", "reflect", "symmetric", "replicate", "circular"]


def reference(x, k, pads, mode, fill, stride):
    """Pad with NumPy-level index maps, then the textbook window sum."""
    (top, bottom), (left, right) = pads
    rows = border_index(mode, x.shape[1], top, bottom)
    cols = border_index(mode, x.shape[2], left, right)
    xp = x[:, np.maximum(rows, 0)][:, :, np.maximum(cols, 0)]
    xp[:, rows < 0] = fill
    xp[:, :, cols < 0] = fill
    p, q = k.shape
    ho, wo = xp.shape[1] - p + 1, xp.shape[2] - q + 1
    y = np.zeros((x.shape[0], ho, wo))
    for u in range(p):
        for v in range(q):
            y += k[u, v] * xp[:, u:u + ho, v:v + wo]
    return y[:, ::stride[0], ::stride[1]]


@st.composite
def cases(draw):
    m = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    p, q = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    mode = draw(st.sampled_from(MODES))
    if mode == "reflect":
        limit_h, limit_w = 3 * h, 3 * w
    else:
        limit_h, limit_w = 2 * h + 2, 2 * w + 2
    top, bottom = draw(st.integers(0, min(p, limit_h))), draw(st.integers(0, min(p, limit_h)))
    left, right = draw(st.integers(0, min(q, limit_w))), draw(st.integers(0, min(q, limit_w)))
    if h + top + bottom < p or w + left + right < q:
        top, left = top + p, left + q
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    rank1 = draw(st.booleans())
    zeros = draw(st.booleans())
    nan = draw(st.sampled_from([None, "x", "fill"] if mode == "constant" else [None, "x"]))
    seed = draw(st.integers(0, 2**16))
    return m, h, w, p, q, mode, ((top, bottom), (left, right)), stride, rank1, zeros, nan, seed


@settings(max_examples=150, deadline=None)
@given(cases())
def test_fused_border_equals_the_padded_copy(case):
    m, h, w, p, q, mode, pads, stride, rank1, zeros, nan, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, 1, h, w))
    if rank1:
        k = np.outer(rng.standard_normal(p), rng.standard_normal(q))
    else:
        k = rng.standard_normal((p, q))
    if zeros:
        k[rng.random(k.shape) < 0.4] = 0.0
    fill = float(rng.standard_normal()) if mode == "constant" else 0.0
    if nan == "x":
        x[0, 0, rng.integers(h), rng.integers(w)] = np.nan
    if nan == "fill":
        fill = np.inf
    (top, bottom), (left, right) = pads
    out = (-(-(h + top + bottom - p + 1) // stride[0]), -(-(w + left + right - q + 1) // stride[1]))
    expected = reference(x[:, 0], k, pads, mode, fill, stride)
    for name in ("direct", "separable"):
        with backend.algorithm(name), backend.algorithm_log() as log:
            fused = algorithms.forward(x, k[None, None], pads, stride, (1, 1), 1, out, "test",
                                       border=(mode, fill), finite=False if nan == "fill" else None)
        with backend.algorithm(name):
            xp = pad_planes(x, pads, mode, fill, x.dtype)
            copied = algorithms.forward(xp.copy(), k[None, None], ((0, 0), (0, 0)), stride, (1, 1), 1, out,
                                        "test")
        np.testing.assert_allclose(fused[:, 0], expected, rtol=1e-9, atol=1e-9, equal_nan=True)
        np.testing.assert_allclose(fused, copied, rtol=1e-9, atol=1e-9, equal_nan=True)
        assert np.array_equal(np.isnan(fused[:, 0]), np.isnan(expected))
        if name == "direct" or (rank1 and min(p, q) > 1 and not zeros):
            assert log[0][2] == name


def test_fused_border_is_taken_for_a_filtered_image():
    rng = np.random.default_rng(0)
    image = rng.random((512, 512), dtype=np.float32)
    from convscope import filters
    for kernel in (np.ones((3, 3), np.float32) / 9, rng.random((5, 5), dtype=np.float32)):
        with backend.algorithm_log() as log:
            y = filters.apply(image, kernel, boundary="symm")
        assert log[0][2] in ("direct", "separable")
        ref = reference(image[None].astype(np.float64), kernel.astype(np.float64),
                        ((kernel.shape[0] // 2,) * 2, (kernel.shape[1] // 2,) * 2), "symmetric", 0.0, (1, 1))[0]
        np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
