"""Activations, linear, batch norm, dropout and losses against PyTorch, values and gradients."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope
import convscope.nn.functional as F
from tests._reference import assert_close, check_gradients, compare_with_grads, torch

# Each parity case runs with every conv algorithm forced in turn (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_conv_algorithm")

TF = torch.nn.functional
DTYPES = st.sampled_from([np.float64, np.float32])
SHAPES = st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple)


@settings(max_examples=60)
@given(SHAPES, DTYPES, st.sampled_from(["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax"]),
       st.integers(0, 2**31 - 1))
def test_activations_match_torch(shape, dtype, name, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    kw = {}
    if name in ("softmax", "log_softmax"):
        kw["dim"] = int(rng.integers(-len(shape), len(shape)))
    if name == "leaky_relu":
        kw["negative_slope"] = 0.2
    compare_with_grads(lambda t: getattr(F, name)(t, **kw), lambda t: getattr(TF, name)(t, **kw), (x,), dtype, rng,
                       what=name)


def test_sigmoid_does_not_overflow():
    y = F.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(y, [0.0, 0.5, 1.0])


@settings(max_examples=40)
@given(st.lists(st.integers(1, 4), min_size=0, max_size=2).map(tuple), st.integers(1, 6), st.integers(1, 6),
       st.booleans(), DTYPES, st.integers(0, 2**31 - 1))
def test_linear_matches_torch(lead, fin, fout, bias, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(lead + (fin,)).astype(dtype)
    w = rng.standard_normal((fout, fin)).astype(dtype)
    b = rng.standard_normal(fout).astype(dtype) if bias else None
    compare_with_grads(F.linear, TF.linear, (x, w, b), dtype, rng, what="linear")


@settings(max_examples=40)
@given(st.integers(2, 4), st.integers(1, 4), st.integers(1, 3), st.booleans(), st.booleans(), DTYPES,
       st.integers(0, 2**31 - 1))
def test_batch_norm_matches_torch(n, c, rank, training, affine, dtype, seed):
    rng = np.random.default_rng(seed)
    shape = (n, c) + tuple(int(v) for v in rng.integers(1, 5, size=rank - 1))
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    rm, rv = rng.standard_normal(c).astype(dtype), rng.uniform(0.5, 2, c).astype(dtype)
    w = rng.standard_normal(c).astype(dtype) if affine else None
    b = rng.standard_normal(c).astype(dtype) if affine else None
    rm_cs, rv_cs, rm_pt, rv_pt = rm.copy(), rv.copy(), torch.tensor(rm), torch.tensor(rv)
    compare_with_grads(
        lambda x_, w_, b_: F.batch_norm(x_, rm_cs, rv_cs, w_, b_, training=training, momentum=0.3, eps=1e-4),
        lambda x_, w_, b_: TF.batch_norm(x_, rm_pt, rv_pt, w_, b_, training=training, momentum=0.3, eps=1e-4),
        (x, w, b), dtype, rng, what="batch_norm")
    assert_close(rm_cs, rm_pt, dtype, "running_mean")
    assert_close(rv_cs, rv_pt, dtype, "running_var")


@settings(max_examples=60)
@given(st.integers(1, 5), st.integers(2, 6), st.sampled_from([(), (3,), (2, 3)]), st.sampled_from(["mean", "sum", "none"]),
       st.booleans(), st.booleans(), st.sampled_from([0.0, 0.1, 0.5]), DTYPES, st.integers(0, 2**31 - 1))
def test_cross_entropy_matches_torch(n, c, extra, reduction, weighted, ignore, smoothing, dtype, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, c) + extra) * 3).astype(dtype)
    target = rng.integers(0, c, size=(n,) + extra)
    if ignore:
        target.flat[0] = -100
        if (target == -100).all() and reduction == "mean":
            target.flat[0] = 0          # PyTorch returns nan for an all-ignored mean
    weight = rng.uniform(0.1, 2, c).astype(dtype) if weighted else None
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    compare_with_grads(
        lambda t: F.cross_entropy(t, target, weight=weight, **kw),
        lambda t: TF.cross_entropy(t, torch.tensor(target), weight=None if weight is None else torch.tensor(weight), **kw),
        (x,), dtype, rng, what="cross_entropy")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_and_mse_match_torch(reduction, rng):
    x = rng.standard_normal((4, 3))
    t = np.array([0, 2, 1, 2])
    compare_with_grads(lambda a: F.nll_loss(F.log_softmax(a, 1), t, reduction=reduction),
                       lambda a: TF.nll_loss(TF.log_softmax(a, 1), torch.tensor(t), reduction=reduction),
                       (x,), np.float64, rng, what="nll")
    y = rng.standard_normal((4, 3))
    compare_with_grads(lambda a, b: F.mse_loss(a, b, reduction=reduction),
                       lambda a, b: TF.mse_loss(a, b, reduction=reduction), (x, y), np.float64, rng, what="mse")


def test_dropout_scales_and_masks_consistently():
    convscope.manual_seed(0)
    x = convscope.Tensor(np.ones((200, 100)), requires_grad=True)
    y = F.dropout(x, p=0.3)
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.7)
    y.backward(np.ones(y.shape))
    np.testing.assert_allclose(x.grad, y.numpy())           # same mask and scale in backward
    assert F.dropout(x, p=0.3, training=False) is x
    np.testing.assert_array_equal(F.dropout(np.ones(5), p=1.0), 0)
    convscope.manual_seed(0)
    np.testing.assert_array_equal(F.dropout(np.ones((200, 100)), p=0.3), y.numpy())  # seeded


def test_float64_finite_differences_for_every_new_backward(rng):
    x = rng.standard_normal((3, 4, 2))
    w, b = rng.standard_normal((5, 2)), rng.standard_normal(5)
    t = np.array([[0, 3], [1, 2], [3, 3]])
    cases = [
        (lambda a: F.tanh(a) * F.sigmoid(a) + F.leaky_relu(a, 0.1), [x]),
        (lambda a: F.softmax(a, 1) + F.log_softmax(a, 0), [x]),
        (lambda a, w_, b_: F.linear(a, w_, b_), [x, w, b]),
        (lambda a: F.batch_norm(a, None, None, training=True), [x]),
        (lambda a: F.cross_entropy(a, t, label_smoothing=0.2, weight=np.array([1.0, 2, 0.5, 1])), [x]),
    ]
    for op, arrays in cases:
        check_gradients(op, arrays, rng)


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.cross_entropy(np.zeros((2, 10)), np.array([3, 12])), ValueError,
     r"cross_entropy: target expects class indices in \[0, 10\) or ignore_index=-100, but got 12 at position 1"),
    (lambda: F.cross_entropy(np.zeros((2, 10)), np.array([3, -1])), ValueError, r"but got -1 at position 1"),
    (lambda: F.cross_entropy(np.zeros((2, 10)), np.array([0.0, 1.0])), TypeError,
     r"cross_entropy: target expects integer class indices, but got dtype float64"),
    (lambda: F.cross_entropy(np.zeros((2, 10)), np.array([1, 2, 3])), ValueError,
     r"cross_entropy: target expects shape \(2,\) for input of shape \(2, 10\), but got \(3,\)"),
    (lambda: F.cross_entropy(np.zeros((2, 10)), np.array([1, 2]), reduction="avg"), ValueError,
     r"cross_entropy: reduction expects 'mean', 'sum' or 'none', but got 'avg'"),
    (lambda: F.linear(np.zeros((2, 3)), np.zeros((4, 5))), ValueError,
     r"linear: input expects 5 features in its last dimension \(weight.shape\[1\]\), but got shape \(2, 3\)"),
    (lambda: F.softmax(np.zeros((2, 3)), dim=2), ValueError, r"softmax: dim expects a value in \[-2, 1\]"),
    (lambda: F.dropout(np.zeros(3), p=1.5), ValueError, r"dropout: p expects a probability in \[0, 1\], but got 1.5"),
    (lambda: F.batch_norm(np.zeros((4, 3)), np.zeros(2), np.ones(2)), ValueError,
     r"batch_norm: running_mean expects shape \(3,\) \(one per channel\), but got \(2,\)"),
    (lambda: F.batch_norm(np.zeros((1, 3)), None, None, training=True), ValueError,
     r"batch_norm: training expects more than 1 value per channel"),
    (lambda: F.mse_loss(np.zeros(3), np.zeros(4)), ValueError, r"mse_loss: target expects the input's shape \(3,\)"),
    (lambda: F.relu(np.array(["a"])), TypeError, r"relu: input expects a real numeric array"),
])
def test_bad_input_gets_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()
