"""The fast engine against the slow textbook definitions in convscope.ops.reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convscope import backend
from convscope.ops import conv as C
from convscope.ops.algorithms import gemm
from convscope.ops import reference as R

# Each parity case runs with every conv algorithm forced in turn (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_conv_algorithm")


@st.composite
def geometry(draw):
    n = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(n))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(n))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(n))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(n))
    spatial = tuple(max(1, d * (k - 1) + 1 - lo - hi) + draw(st.integers(0, 3))
                    for k, d, (lo, hi) in zip(kernel, dilation, pads))
    return dict(n=n, groups=groups, cg=draw(st.integers(1, 2)), og=draw(st.integers(1, 2)), kernel=kernel,
                stride=stride, dilation=dilation, pads=pads, spatial=spatial, seed=draw(st.integers(0, 2**31 - 1)))


@settings(max_examples=120)
@given(geometry())
def test_conv_forward_matches_textbook(g):
    rng = np.random.default_rng(g["seed"])
    x = rng.standard_normal((2, g["cg"] * g["groups"]) + g["spatial"])
    w = rng.standard_normal((g["og"] * g["groups"], g["cg"]) + g["kernel"])
    b = rng.standard_normal(g["og"] * g["groups"])
    args = (g["stride"], g["pads"], g["dilation"], g["groups"])
    np.testing.assert_allclose(C.conv_forward(x, w, b, *args), R.conv_reference(x, w, b, *args), rtol=1e-12, atol=1e-12)


@settings(max_examples=80)
@given(geometry(), st.data())
def test_conv_transpose_matches_textbook(g, data):
    rng = np.random.default_rng(g["seed"])
    n = g["n"]
    op = tuple(data.draw(st.integers(0, max(s, d) - 1)) for s, d in zip(g["stride"], g["dilation"]))
    pad = tuple(min(lo, ((m - 1) * s + d * (k - 1) + o) // 2)
                for (lo, _), m, s, d, k, o in zip(g["pads"], g["spatial"], g["stride"], g["dilation"], g["kernel"], op))
    x = rng.standard_normal((2, g["cg"] * g["groups"]) + g["spatial"])
    w = rng.standard_normal((g["cg"] * g["groups"], g["og"]) + g["kernel"])
    b = rng.standard_normal(g["og"] * g["groups"])
    args = (g["stride"], pad, op, g["dilation"], g["groups"])
    assert len(pad) == n
    np.testing.assert_allclose(C.conv_transpose_forward(x, w, b, *args),
                               R.conv_transpose_reference(x, w, b, *args), rtol=1e-12, atol=1e-12)


def test_transpose_is_the_adjoint_of_conv(rng):
    """<conv(x), y> == <x, conv_transpose(y)>: the defining property, checked numerically."""
    x = rng.standard_normal((2, 4, 10, 7))
    w = rng.standard_normal((6, 2, 3, 2))
    y = rng.standard_normal((2, 6, 5, 5))   # H: (10 + 2 - 3) // 2 + 1 = 5;  W: 7 - 2 * (2 - 1) = 5
    stride, dilation = (2, 1), (1, 2)
    conv_x = C.conv_forward(x, w, None, stride, ((1, 1), (0, 0)), dilation, 2)
    assert conv_x.shape == y.shape
    # Sizes 9 and 10 both map to 5 under stride 2; output_padding=(1, 0) picks 10.
    convt_y = C.conv_transpose_forward(y, w, None, stride, (1, 0), (1, 0), dilation, 2)
    assert convt_y.shape == x.shape
    assert np.isclose(np.vdot(conv_x, y), np.vdot(x, convt_y), rtol=1e-12)


@pytest.mark.parametrize("workspace", [2**20, 2 * 2**20])
def test_chunked_workspace_gives_the_same_result(workspace, rng, monkeypatch):
    """A workspace smaller than the batch's columns splits the batch; results do not change,
    and no unfolded buffer exceeds the bound."""
    x = rng.standard_normal((24, 8, 20, 20)).astype(np.float32)
    w = rng.standard_normal((5, 8, 3, 3)).astype(np.float32)
    gy = rng.standard_normal((24, 5, 20, 20)).astype(np.float32)
    args = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    full = C.conv_forward(x, w, None, *args), C.conv_backward(gy, x, w, *args)
    sizes = []
    real_unfold = gemm._unfold
    monkeypatch.setattr(gemm, "_unfold", lambda *a: sizes.append((out := real_unfold(*a)).nbytes) or out)
    with backend.workspace(workspace), backend.algorithm("gemm"):
        chunked = C.conv_forward(x, w, None, *args), C.conv_backward(gy, x, w, *args)
    assert len(sizes) > 2 and max(sizes) <= workspace
    np.testing.assert_allclose(chunked[0], full[0], rtol=1e-5, atol=1e-5)
    for a, b in zip(chunked[1], full[1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
