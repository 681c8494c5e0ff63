"""Float64 central finite differences for pooling, resizing and normalisation, as for conv.

Every case goes through the public ``convscope.nn.functional`` API: ``check_gradients`` calls the
op on float64 Tensors that require grad, runs backward with a random output gradient ``gy`` and
compares each operand's gradient with the central differences of ``sum(op(...) * gy)``. Max pools
see distinct values 0.25 apart, so a step of 1e-6 never changes which element is a window's
maximum. Ops named here that ``convscope.nn.functional`` does not have yet (adaptive max pool,
layer and group norm) are skipped with that reason, and checked as soon as they appear.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope.nn.functional as F
from tests._reference import check_gradients


def distinct(rng, shape):
    """float64 values in [-1, 1), equally spaced (about 1e-3 apart or more for the shapes here, far more
    than the 1e-6 difference step) in random order: every window has one unique maximum. Small
    magnitudes keep the rounding of the finite differences (about 1e-16 * |f| / 1e-6) far below
    the tolerance; values up to 50 once summed past it."""
    size = int(np.prod(shape))
    return (rng.permutation(size).reshape(shape) - size / 2) * (2.0 / size)


def op_named(name):
    op = getattr(F, name, None)
    if op is None:
        pytest.skip(f"convscope.nn.functional has no {name} yet")
    return op


# --------------------------------------------------------------------------- max pool

MAX_POOL_CASES = [
    ("max_pool1d", (2, 3, 9), dict(kernel_size=3)),
    ("max_pool1d", (2, 2, 10), dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)),
    ("max_pool1d", (1, 2, 7), dict(kernel_size=2, stride=1)),                       # overlapping windows
    ("max_pool2d", (2, 2, 6, 5), dict(kernel_size=2)),
    ("max_pool2d", (1, 3, 7, 6), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 2))),
    ("max_pool2d", (2, 1, 5, 5), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("max_pool3d", (1, 2, 4, 5, 4), dict(kernel_size=2, stride=(1, 2, 1), padding=(1, 0, 1))),
    ("max_pool3d", (1, 1, 5, 4, 5), dict(kernel_size=(3, 2, 2), stride=2, dilation=(1, 1, 2), ceil_mode=True)),
]


@pytest.mark.parametrize("name, shape, kwargs", MAX_POOL_CASES)
def test_max_pool_gradients_match_finite_differences(name, shape, kwargs, rng):
    op = op_named(name)
    check_gradients(lambda x: op(x, **kwargs), [distinct(rng, shape)], rng)


@pytest.mark.parametrize("name, shape", [("max_pool1d", (1, 2, 8)), ("max_pool2d", (1, 2, 5, 6)),
                                         ("max_pool3d", (1, 1, 4, 4, 5))])
def test_max_pool_with_indices_has_the_same_gradient(name, shape, rng):
    op = op_named(name)
    check_gradients(lambda x: op(x, 2, 1, return_indices=True)[0], [distinct(rng, shape)], rng)


# --------------------------------------------------------------------------- average pool

AVG_POOL_CASES = [
    ("avg_pool1d", (2, 3, 9), dict(kernel_size=3)),
    ("avg_pool1d", (2, 2, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("avg_pool1d", (1, 2, 7), dict(kernel_size=4, stride=1, padding=2, count_include_pad=False)),
    ("avg_pool2d", (2, 2, 6, 5), dict(kernel_size=2)),
    ("avg_pool2d", (1, 3, 7, 6), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1))),
    ("avg_pool2d", (2, 1, 5, 5), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                      count_include_pad=False)),
    ("avg_pool2d", (1, 2, 6, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, divisor_override=5)),
    ("avg_pool2d", (1, 2, 5, 4), dict(kernel_size=(2, 3), stride=1, padding=(1, 1), divisor_override=2)),
    ("avg_pool3d", (1, 2, 4, 5, 4), dict(kernel_size=2, stride=(1, 2, 1), padding=(1, 0, 1))),
    ("avg_pool3d", (1, 1, 5, 4, 5), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                         count_include_pad=False)),
    ("avg_pool3d", (1, 1, 4, 4, 4), dict(kernel_size=(2, 3, 2), stride=2, padding=(0, 1, 1), divisor_override=7)),
]


@pytest.mark.parametrize("name, shape, kwargs", AVG_POOL_CASES)
def test_avg_pool_gradients_match_finite_differences(name, shape, kwargs, rng):
    op = op_named(name)
    check_gradients(lambda x: op(x, **kwargs), [rng.standard_normal(shape)], rng)


@st.composite
def pool_options(draw):
    """A rank, an input shape and options that PyTorch accepts: padding at most half the kernel,
    the first window fits once padded, every window reaches the input."""
    n = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(n))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(n))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(n))
    lows = [max(k, d * (k - 1) + 1 - 2 * p) for k, p, d in zip(kernel, padding, dilation)]
    spatial = tuple(draw(st.integers(low, low + (3 if n < 3 else 1))) for low in lows)
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + spatial
    return n, shape, dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=draw(st.booleans())), \
        dilation, draw(st.booleans()), draw(st.sampled_from([None, 1, 4])), draw(st.integers(0, 2**32 - 1))


@settings(max_examples=100)
@given(pool_options())
def test_pool_gradients_match_finite_differences_for_drawn_options(case):
    n, shape, kwargs, dilation, count_include_pad, divisor_override, seed = case
    rng = np.random.default_rng(seed)
    x = distinct(rng, shape)
    max_pool = getattr(F, f"max_pool{n}d")
    y = max_pool(x, dilation=dilation, **kwargs)
    if np.isfinite(y).all():       # a window whose dilated taps all miss the input is -inf
        check_gradients(lambda a: max_pool(a, dilation=dilation, **kwargs), [x], rng)
    extra = dict(count_include_pad=count_include_pad)
    if n > 1:                      # avg_pool1d has no divisor_override, as in PyTorch
        extra["divisor_override"] = divisor_override
    check_gradients(lambda a: getattr(F, f"avg_pool{n}d")(a, **kwargs, **extra), [x], rng)


# --------------------------------------------------------------------------- adaptive pools

ADAPTIVE_CASES = [
    ("adaptive_avg_pool1d", (2, 3, 7), 3),
    ("adaptive_avg_pool1d", (1, 2, 3), 5),                          # more bins than inputs
    ("adaptive_avg_pool2d", (2, 2, 6, 5), (1, 1)),
    ("adaptive_avg_pool2d", (1, 3, 5, 7), (3, 4)),
    ("adaptive_avg_pool2d", (1, 2, 4, 5), (None, 2)),               # None keeps that dim
    ("adaptive_avg_pool3d", (1, 2, 4, 5, 3), (2, 3, 5)),
    ("adaptive_max_pool1d", (2, 3, 7), 3),
    ("adaptive_max_pool2d", (1, 2, 6, 5), (4, 3)),
    ("adaptive_max_pool2d", (1, 2, 3, 4), (5, 6)),
    ("adaptive_max_pool3d", (1, 2, 4, 5, 3), (2, 3, 2)),
]


@pytest.mark.parametrize("name, shape, output_size", ADAPTIVE_CASES)
def test_adaptive_pool_gradients_match_finite_differences(name, shape, output_size, rng):
    op = op_named(name)
    check_gradients(lambda x: op(x, output_size), [distinct(rng, shape)], rng)


# --------------------------------------------------------------------------- interpolate

INTERPOLATE_CASES = [
    ((2, 2, 5), dict(scale_factor=2, mode="nearest")),
    ((1, 2, 7), dict(size=3, mode="nearest")),                                   # downsampling
    ((1, 2, 4, 3), dict(scale_factor=2, mode="nearest")),                        # PyTorch's o // 2 path
    ((1, 2, 4, 5), dict(scale_factor=(1.5, 0.7), mode="nearest")),
    ((1, 1, 3, 4), dict(size=(7, 4), mode="nearest")),                           # one dim unchanged
    ((1, 1, 2, 3, 3), dict(scale_factor=(2, 1.5, 1), mode="nearest")),
    ((2, 2, 5), dict(scale_factor=2, mode="linear", align_corners=False)),
    ((2, 2, 5), dict(size=8, mode="linear", align_corners=True)),
    ((1, 2, 9), dict(size=4, mode="linear", align_corners=False)),
    ((1, 2, 4, 3), dict(scale_factor=2, mode="bilinear", align_corners=False)),
    ((1, 2, 4, 3), dict(scale_factor=2, mode="bilinear", align_corners=True)),
    ((1, 1, 5, 6), dict(scale_factor=(0.6, 1.7), mode="bilinear")),
    ((1, 1, 5, 6), dict(scale_factor=(0.6, 1.7), mode="bilinear", recompute_scale_factor=True)),
    ((1, 2, 3, 5), dict(size=(6, 2), mode="bilinear", align_corners=True)),
    ((1, 1, 2, 3, 3), dict(scale_factor=(2, 1.5, 0.7), mode="trilinear", align_corners=False)),
    ((1, 1, 3, 2, 3), dict(size=(4, 4, 2), mode="trilinear", align_corners=True)),
]


@pytest.mark.parametrize("shape, kwargs", INTERPOLATE_CASES)
def test_interpolate_gradients_match_finite_differences(shape, kwargs, rng):
    check_gradients(lambda x: F.interpolate(x, **kwargs), [rng.standard_normal(shape)], rng)


@settings(max_examples=100)
@given(st.integers(1, 3), st.data())
def test_interpolate_gradients_match_finite_differences_for_drawn_options(n, data):
    spatial = tuple(data.draw(st.lists(st.integers(1, 5 if n < 3 else 3), min_size=n, max_size=n)))
    mode = data.draw(st.sampled_from(["nearest", {1: "linear", 2: "bilinear", 3: "trilinear"}[n]]))
    kwargs = dict(mode=mode, align_corners=None if mode == "nearest" else data.draw(st.booleans()))
    if data.draw(st.booleans()):
        kwargs["size"] = tuple(data.draw(st.lists(st.integers(1, 7 if n < 3 else 4), min_size=n, max_size=n)))
    else:
        factors = data.draw(st.lists(st.sampled_from([0.5, 0.7, 1.0, 4 / 3, 1.5, 2.0, 2.5]), min_size=n, max_size=n))
        if any(int(s * f) < 1 for s, f in zip(spatial, factors)):
            factors = [max(f, 1.0) for f in factors]
        kwargs["scale_factor"] = tuple(factors)
        kwargs["recompute_scale_factor"] = data.draw(st.booleans())
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    check_gradients(lambda x: F.interpolate(x, **kwargs), [rng.standard_normal((1, 2) + spatial)], rng)


# --------------------------------------------------------------------------- normalisation

@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 5), (2, 3, 3, 2), (2, 2, 2, 3, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradients_match_finite_differences(shape, training, rng):
    C = shape[1]
    x = rng.standard_normal(shape)
    w, b = rng.standard_normal(C), rng.standard_normal(C)
    mean, var = rng.standard_normal(C), rng.uniform(0.5, 2.0, C)

    def op(x_, w_, b_):
        # fresh running statistics per call: training updates them in place
        return F.batch_norm(x_, mean.copy(), var.copy(), w_, b_, training=training, momentum=0.3, eps=1e-3)

    check_gradients(op, [x, w, b], rng)


def test_batch_norm_without_affine_or_running_stats(rng):
    x = rng.standard_normal((3, 2, 4))
    check_gradients(lambda x_: F.batch_norm(x_, None, None, training=True), [x], rng)


@pytest.mark.parametrize("shape, normalized", [((3, 4), (4,)), ((2, 3, 2, 2), (2, 2)), ((2, 2, 3), (2, 3))])
def test_layer_norm_gradients_match_finite_differences(shape, normalized, rng):
    op = op_named("layer_norm")
    x, w, b = rng.standard_normal(shape), rng.standard_normal(normalized), rng.standard_normal(normalized)
    check_gradients(lambda x_, w_, b_: op(x_, normalized, w_, b_, eps=1e-3), [x, w, b], rng)


@pytest.mark.parametrize("shape, groups", [((2, 4, 3), 2), ((2, 6, 2, 2), 3), ((1, 4, 2, 2, 2), 4)])
def test_group_norm_gradients_match_finite_differences(shape, groups, rng):
    op = op_named("group_norm")
    C = shape[1]
    x, w, b = rng.standard_normal(shape), rng.standard_normal(C), rng.standard_normal(C)
    check_gradients(lambda x_, w_, b_: op(x_, groups, w_, b_, eps=1e-3), [x, w, b], rng)
