"""Resizing (F.interpolate, nn.Upsample, ops.resize) checked three ways: against PyTorch (values
and gradients), a slow textbook reference, and float64 finite differences; plus its errors.

Hypothesis draws the rank (3-, 4- and 5-D input), sizes below, equal to and above the input's,
either a size or scale factors (with and without recompute_scale_factor), nearest or linear mode,
align_corners, and float64 (checked to 1e-10) or float32 (1e-4 relative).
"""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import convscope
import convscope.nn.functional as F
from convscope.nn.layers import Upsample
from convscope.ops import resize
from tests._reference import assert_close, numeric_grad, torch

TF = torch.nn.functional
LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


# --------------------------------------------------------------------------- slow reference

def reference_2d(x, out, mode, align_corners=False, scales=(None, None)):
    """4-D resize by definition, one output pixel at a time, with PyTorch's coordinate formulas
    (nearest in float32; linear in the input's precision, as its kernels compute)."""
    H, W = x.shape[2:]
    y = np.empty(x.shape[:2] + tuple(out), dtype=x.dtype)
    t = np.float32 if mode == "nearest" else x.dtype.type

    def step(n, o, s):
        if mode == "linear" and align_corners:
            return t(n - 1) / t(o - 1) if o > 1 else t(0)
        return t(1.0 / s) if s is not None else t(n) / t(o)

    steps = [step(n, o, s) for n, o, s in zip((H, W), out, scales)]
    for oh, ow in np.ndindex(*out):
        if mode == "nearest":
            # PyTorch's 2-D kernel copies an unchanged dim and halves indices of a doubled one.
            idx = [o if m == n else (o // 2 if m == 2 * n else min(math.floor(t(o) * s), n - 1))
                   for o, n, m, s in zip((oh, ow), (H, W), out, steps)]
            y[:, :, oh, ow] = x[:, :, idx[0], idx[1]]
            continue
        corners = []
        for o, n, m, s in zip((oh, ow), (H, W), out, steps):
            if m == n:
                corners.append(((o, 1.0), (o, 0.0)))
                continue
            src = s * t(o) if align_corners else max(s * (t(o) + t(0.5)) - t(0.5), t(0))
            i0 = min(math.floor(src), n - 1)
            lam = min(max(float(src - t(i0)), 0.0), 1.0)
            corners.append(((i0, 1 - lam), (min(i0 + 1, n - 1), lam)))
        y[:, :, oh, ow] = sum(wh * ww * x[:, :, ih, iw] for ih, wh in corners[0] for iw, ww in corners[1])
    return y


# --------------------------------------------------------------------------- strategies

@st.composite
def resize_cases(draw, ranks=(1, 2, 3)):
    n = draw(st.sampled_from(ranks))
    spatial = tuple(draw(st.lists(st.integers(1, 7), min_size=n, max_size=n)))
    mode = draw(st.sampled_from(["nearest", LINEAR[n]]))
    align = None if mode == "nearest" else draw(st.booleans())
    kwargs = {"mode": mode, "align_corners": align}
    if draw(st.booleans()):
        size = tuple(draw(st.lists(st.integers(1, 15), min_size=n, max_size=n)))
        kwargs["size"] = size if draw(st.booleans()) or len(set(size)) > 1 else size[0]
    else:
        factors = tuple(draw(st.lists(st.sampled_from([0.5, 0.7, 1.0, 1.05, 4 / 3, 1.5, 2.0, 2.1, 2.5, 3.0]),
                                      min_size=n, max_size=n)))
        assume(all(math.floor(s * f) >= 1 for s, f in zip(spatial, factors)))
        kwargs["scale_factor"] = factors if len(set(factors)) > 1 else factors[0]
        if draw(st.booleans()):
            kwargs["recompute_scale_factor"] = True
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    return spatial, kwargs, dtype


def torch_backward_is_consistent(spatial, out, kwargs):
    """PyTorch's 1-D and 3-D nearest *forward* maps with the scale factor even where the size is
    unchanged or doubled, but its *backward* then takes the 2-D kernel's shortcuts (a copy,
    ``o // 2``), so its gradient is not the forward's; convscope's is (checked by finite
    differences in test_nearest_gradient_is_the_forwards_adjoint_where_torch_shortcuts)."""
    if kwargs["mode"] != "nearest" or len(spatial) == 2 or "scale_factor" not in kwargs \
            or kwargs.get("recompute_scale_factor"):
        return True
    return not any(o in (n, 2 * n) for n, o in zip(spatial, out))


# --------------------------------------------------------------------------- against PyTorch

@settings(max_examples=150)
@given(resize_cases(), st.integers(0, 2**31 - 1))
def test_interpolate_matches_torch(case, seed):
    spatial, kwargs, dtype = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3) + spatial).astype(dtype)
    xc, xt = convscope.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yc, yt = F.interpolate(xc, **kwargs), TF.interpolate(xt, **kwargs)
    assert_close(yc.numpy(), yt, dtype, f"forward {kwargs}")
    assert yc.dtype == np.dtype(dtype)
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    yc.backward(g)
    yt.backward(torch.from_numpy(g))
    assert xc.grad.dtype == np.dtype(dtype)
    if torch_backward_is_consistent(spatial, tuple(yt.shape[2:]), kwargs):
        assert_close(xc.grad, xt.grad, dtype, f"grad {kwargs}")


@pytest.mark.parametrize("size, scale, out", [(3, 1.1, 3), (5, 2.1, 10), (8, 1.06, 8)])
def test_nearest_gradient_is_the_forwards_adjoint_where_torch_shortcuts(size, scale, out):
    x = np.arange(float(size)).reshape(1, 1, size)
    y = F.interpolate(x, scale_factor=scale, mode="nearest")
    np.testing.assert_array_equal(y, TF.interpolate(torch.from_numpy(x), scale_factor=scale, mode="nearest").numpy())
    assert y.shape[-1] == out
    xc = convscope.Tensor(x, requires_grad=True)
    F.interpolate(xc, scale_factor=scale, mode="nearest").sum().backward()
    picked = np.bincount(y[0, 0].astype(int), minlength=size)       # how often each input is read
    np.testing.assert_array_equal(xc.grad[0, 0], picked)


@pytest.mark.parametrize("mode, align", [("nearest", None), ("bilinear", False), ("bilinear", True)])
@pytest.mark.parametrize("out", [(1, 1), (3, 11), (13, 4), (8, 6)])
def test_matches_slow_reference(mode, align, out, rng):
    x = rng.standard_normal((2, 2, 4, 6))
    got = F.interpolate(x, size=out, mode=mode, align_corners=align)
    want = reference_2d(x, out, "nearest" if mode == "nearest" else "linear", bool(align))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_reference_with_scale_factors(mode, rng):
    x = rng.standard_normal((1, 2, 5, 4))
    for scales in [(2.1, 1.05), (0.7, 2.0), (1 / 3, 3.0)]:
        out = resize.output_size((5, 4), scales)
        if min(out) < 1:
            continue
        got = resize.interpolate_forward(x, out, mode, False, scales, shortcuts=True)
        np.testing.assert_allclose(got, reference_2d(x, out, mode, False, scales), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- gradients

@settings(max_examples=25)
@given(resize_cases(ranks=(1, 2)), st.integers(0, 2**31 - 1))
def test_gradient_matches_finite_differences(case, seed):
    spatial, kwargs, _ = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, 2) + spatial)
    g = rng.standard_normal(F.interpolate(x, **kwargs).shape)
    xc = convscope.Tensor(x, requires_grad=True)
    F.interpolate(xc, **kwargs).backward(g)
    want = numeric_grad(lambda a: float((F.interpolate(a, **kwargs) * g).sum()), [x], 0)
    np.testing.assert_allclose(xc.grad, want, rtol=1e-7, atol=1e-7)


@settings(max_examples=30)
@given(resize_cases(), st.integers(0, 2**31 - 1))
def test_backward_is_the_adjoint_of_forward(case, seed):
    """Resizing is linear in x, so <A x, g> == <x, A^T g> exactly up to rounding."""
    spatial, kwargs, _ = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 1) + spatial)
    y = F.interpolate(x, **kwargs)
    g = rng.standard_normal(y.shape)
    xc = convscope.Tensor(x, requires_grad=True)
    F.interpolate(xc, **kwargs).backward(g)
    np.testing.assert_allclose(float((y * g).sum()), float((x * xc.grad).sum()), rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------- properties and module

@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_same_size_is_a_copy_and_constants_stay_constant(mode, rng):
    x = rng.standard_normal((2, 3, 5, 7)).astype(np.float32)
    np.testing.assert_array_equal(F.interpolate(x, size=(5, 7), mode=mode), x)
    c = np.full((1, 1, 3, 4), 2.5, dtype=np.float32)
    np.testing.assert_allclose(F.interpolate(c, size=(10, 9), mode=mode), 2.5, rtol=1e-6)


def test_arrays_in_arrays_out_and_integers_become_float32():
    y = F.interpolate(np.arange(4, dtype=np.uint8).reshape(1, 1, 2, 2), scale_factor=2)
    assert isinstance(y, np.ndarray) and y.dtype == np.float32 and y.shape == (1, 1, 4, 4)


@pytest.mark.parametrize("kwargs", [dict(scale_factor=2), dict(scale_factor=(1.5, 0.5), mode="bilinear"),
                                    dict(size=(7, 3), mode="bilinear", align_corners=True)])
def test_upsample_module_matches_torch(kwargs, rng):
    x = rng.standard_normal((2, 3, 4, 6)).astype(np.float32)
    cs, pt = Upsample(**kwargs), torch.nn.Upsample(**kwargs)
    assert repr(cs) == repr(pt)
    assert not list(cs.parameters()) and not cs.state_dict()
    xc, xt = convscope.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yc, yt = cs(xc), pt(xt)
    assert_close(yc.numpy(), yt, np.float32, "Upsample")
    g = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    yc.backward(g)
    yt.backward(torch.from_numpy(g))
    assert_close(xc.grad, xt.grad, np.float32, "Upsample grad")


# --------------------------------------------------------------------------- errors

X4 = np.zeros((1, 1, 4, 4))


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.interpolate(X4), ValueError, r"exactly one of size and scale_factor, but got neither"),
    (lambda: F.interpolate(X4, size=2, scale_factor=2), ValueError, r"exactly one.*but got both"),
    (lambda: F.interpolate(X4, size=2, align_corners=True), ValueError, r"align_corners applies to the linear"),
    (lambda: F.interpolate(X4, size=2, mode="linear"), ValueError, r"mode 'linear' expects a 3-D input.*'bilinear'"),
    (lambda: F.interpolate(np.zeros((1, 4, 4)), size=2, mode="bilinear"), ValueError, r"expects a 4-D input"),
    (lambda: F.interpolate(X4, size=2, mode="bicubic"), ValueError, r"mode expects one of 'nearest'.*'bicubic'"),
    (lambda: F.interpolate(np.zeros((4, 4)), size=2), ValueError, r"3, 4 or 5 dimensions.*\(4, 4\)"),
    (lambda: F.interpolate(X4, size=(2, 3, 4)), ValueError, r"size expects an int or 2 ints, but got 3"),
    (lambda: F.interpolate(X4, size=0), ValueError, r"size expects positive integers"),
    (lambda: F.interpolate(X4, size=2.5), TypeError, r"size expects an int"),
    (lambda: F.interpolate(X4, scale_factor=0.1), ValueError, r"output sizes >= 1, but gives \(0, 0\)"),
    (lambda: F.interpolate(X4, scale_factor=-2), ValueError, r"scale_factor expects positive finite"),
    (lambda: F.interpolate(X4, scale_factor="2"), TypeError, r"scale_factor expects a number"),
    (lambda: F.interpolate(X4, scale_factor=(2, 2, 2)), ValueError, r"one per spatial dim\), but got 3 values"),
    (lambda: F.interpolate(X4, size=2, recompute_scale_factor=True), ValueError, r"scale_factor only"),
    (lambda: F.interpolate(X4, size=2, mode="bilinear", antialias=True), ValueError, r"antialias expects False"),
])
def test_errors_name_what_was_expected(call, error, match):
    with pytest.raises(error, match=match):
        call()
