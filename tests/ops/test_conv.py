"""convscope.ops.conv called directly (no autograd, no validation): forward against the
definition, gradients against the adjoint identities, and the output-size formulas."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convscope.ops import conv as C
from convscope.ops.reference import conv_reference, conv_transpose_reference

# Each parity case runs with every conv algorithm forced in turn (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_conv_algorithm")


@st.composite
def geometry(draw):
    n = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(n))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(n))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(n))
    padding = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(n))
    low = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    spatial = tuple(draw(st.integers(lo, lo + (4 if n < 3 else 2))) for lo in low)
    return dict(n=n, groups=groups, cin=cin, cout=cout, kernel=kernel, stride=stride, dilation=dilation,
                padding=padding, spatial=spatial, batch=draw(st.integers(1, 2)), seed=draw(st.integers(0, 2**31)))


def _arrays(g):
    rng = np.random.default_rng(g["seed"])
    x = rng.standard_normal((g["batch"], g["cin"]) + g["spatial"])
    w = rng.standard_normal((g["cout"], g["cin"] // g["groups"]) + g["kernel"])
    b = rng.standard_normal(g["cout"])
    return rng, x, w, b


@settings(max_examples=80, deadline=None)
@given(geometry())
def test_conv_forward_is_the_definition(g):
    _, x, w, b = _arrays(g)
    args = (g["stride"], g["padding"], g["dilation"], g["groups"])
    y = C.conv_forward(x, w, b, *args)
    np.testing.assert_allclose(y, conv_reference(x, w, b, *args), rtol=1e-10, atol=1e-10)
    assert y.shape[2:] == C.output_shape(x.shape[2:], w.shape[2:], g["stride"], g["padding"], g["dilation"])


@settings(max_examples=80, deadline=None)
@given(geometry())
def test_conv_backward_is_the_adjoint_of_the_forward(g):
    """The conv is linear in x and in w: <conv(x, w), gy> = <x, gx> = <w, gw>, and gb sums gy."""
    rng, x, w, _ = _arrays(g)
    args = (g["stride"], g["padding"], g["dilation"], g["groups"])
    y = C.conv_forward(x, w, None, *args)
    gy = rng.standard_normal(y.shape)
    gx, gw, gb = C.conv_backward(gy, x, w, *args)
    inner = float(np.sum(y * gy))
    assert np.isclose(inner, float(np.sum(x * gx)), rtol=1e-10, atol=1e-10)
    assert np.isclose(inner, float(np.sum(w * gw)), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gb, gy.sum(axis=(0,) + tuple(range(2, gy.ndim))), rtol=1e-12)
    assert C.conv_backward(gy, x, w, *args, needs=(False, True, False))[::2] == (None, None)


@settings(max_examples=80, deadline=None)
@given(geometry(), st.integers(0, 2))
def test_conv_transpose_is_the_definition_and_the_convs_input_gradient(g, extra):
    rng, _, _, b = _arrays(g)
    sym = tuple(lo for lo, _ in g["padding"])
    out_pad = tuple(min(extra, max(s, d) - 1) for s, d in zip(g["stride"], g["dilation"]))
    x = rng.standard_normal((g["batch"], g["cin"]) + g["spatial"])
    w = rng.standard_normal((g["cin"], g["cout"] // g["groups"]) + g["kernel"])
    out = C.transpose_output_shape(x.shape[2:], w.shape[2:], g["stride"], sym, out_pad, g["dilation"])
    if min(out) < 1:
        return
    args = (g["stride"], sym, out_pad, g["dilation"], g["groups"])
    y = C.conv_transpose_forward(x, w, b, *args)
    assert y.shape[2:] == out
    np.testing.assert_allclose(y, conv_transpose_reference(x, w, b, *args), rtol=1e-10, atol=1e-10)
    y0 = C.conv_transpose_forward(x, w, None, *args)
    gy = rng.standard_normal(y0.shape)
    gx, gw, _ = C.conv_transpose_backward(gy, x, w, *args)
    inner = float(np.sum(y0 * gy))
    assert np.isclose(inner, float(np.sum(x * gx)), rtol=1e-10, atol=1e-10)
    assert np.isclose(inner, float(np.sum(w * gw)), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("size, k, s, p, d, want", [
    (28, 5, 1, (0, 0), 1, 24), (28, 3, 2, (1, 1), 1, 14), (7, 3, 1, (0, 0), 2, 3), (5, 3, 2, (1, 0), 1, 2)])
def test_output_shape_formula(size, k, s, p, d, want):
    assert C.output_shape((size,), (k,), (s,), (p,), (d,)) == (want,)
    assert C.output_shape((size,), (k,), (s,), (p,), (d,)) == ((size + p[0] + p[1] - d * (k - 1) - 1) // s + 1,)
