"""Elementwise activations and (log-)softmax: forward and backward as pure array functions.

Each backward takes the upstream gradient ``g`` and what the forward kept (the input or the
output, whichever makes the derivative cheapest).
"""

from __future__ import annotations

import numpy as np


def relu(x):
    """max(x, 0).

    Examples
    --------
    >>> relu(np.array([-1., 0., 2.])).tolist()
    [0.0, 0.0, 2.0]
    """
    return np.maximum(x, 0)


def relu_backward(g, x):
    """d relu / dx = 0 where x <= 0, else 1: PyTorch's ``threshold_backward``, so the gradient is
    0 at x = 0 and passes unchanged at NaN (NaN <= 0 is false), and a zeroed position stays 0
    even when ``g`` is inf or NaN there.

    Examples
    --------
    >>> relu_backward(np.ones(2), np.array([-1., 2.])).tolist()
    [0.0, 1.0]
    >>> relu_backward(np.ones(2), np.array([0., np.nan])).tolist()    # 0 at x = 0, passes at NaN
    [0.0, 1.0]
    """
    bits = _BITS.get(g.dtype.itemsize) if g.dtype.kind == "f" else None
    if bits is None or g.shape != np.shape(x):
        return np.where(x <= 0, np.zeros((), dtype=g.dtype), g)
    # Branch-free (np.where mispredicts on the random signs of activations: 4x slower): g's bits
    # and-ed with a mask of all ones where x > 0 or NaN, of zeros where x <= 0.
    mask = np.less_equal(x, 0).view(np.int8).astype(bits)
    mask -= 1
    return np.bitwise_and(np.ascontiguousarray(g).view(bits), mask).view(g.dtype)


_BITS = {2: np.int16, 4: np.int32, 8: np.int64}


def leaky_relu(x, slope):
    """x where x > 0, else slope * x.

    Examples
    --------
    >>> leaky_relu(np.array([-1., 2.]), 0.1).tolist()
    [-0.1, 2.0]
    """
    return np.where(x > 0, x, x * slope)


def leaky_relu_backward(g, x, slope):
    """g where x > 0, else slope * g (so ``slope * g`` at NaN, as PyTorch).

    Examples
    --------
    >>> leaky_relu_backward(np.ones(2), np.array([-1., 2.]), 0.1).tolist()
    [0.1, 1.0]
    """
    return g * np.where(x > 0, 1, slope).astype(g.dtype)


def sigmoid(x):
    """1 / (1 + exp(-x)), evaluated without overflow for large |x|.

    Examples
    --------
    >>> sigmoid(np.array([-1000., 0., 2., 1000.])).round(4).tolist()
    [0.0, 0.5, 0.8808, 1.0]
    """
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid_backward(g, y):
    """d sigmoid / dx = y (1 - y), from the output y.

    Examples
    --------
    >>> y = sigmoid(np.array([0., 2.]))
    >>> sigmoid_backward(np.ones(2), y).round(4).tolist()
    [0.25, 0.105]
    """
    return g * y * (1 - y)


def tanh(x):
    """The hyperbolic tangent, elementwise.

    Examples
    --------
    >>> tanh(np.array([0., 1.])).round(4).tolist()
    [0.0, 0.7616]
    """
    return np.tanh(x)


def tanh_backward(g, y):
    """d tanh / dx = 1 - y^2, from the output y.

    Examples
    --------
    >>> y = tanh(np.array([0., 1.]))
    >>> tanh_backward(np.ones(2), y).round(4).tolist()
    [1.0, 0.42]
    """
    return g * (1 - y * y)


def log_softmax(x, axis):
    """x - logsumexp(x) along ``axis``, shifted by the max for stability.

    An empty ``x`` gives an empty result of its shape (the max of an empty axis is undefined,
    but there is nothing to normalise), as PyTorch; so does :func:`softmax`.

    Examples
    --------
    >>> log_softmax(np.array([[1., 2., 3.]]), axis=1).round(4).tolist()
    [[-2.4076, -1.4076, -0.4076]]
    >>> log_softmax(np.array([[1000., 0.]]), axis=1).tolist()          # no overflow
    [[0.0, -1000.0]]
    """
    if x.size == 0:
        return x.copy()
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def log_softmax_backward(g, y, axis):
    """From the output y = log_softmax(x): g - softmax(x) * sum(g).

    Examples
    --------
    The gradient of ``log_softmax(x)[0]``, that is of ``x[0] - logsumexp(x)``:

    >>> y = log_softmax(np.array([1., 2., 3.]), axis=0)
    >>> log_softmax_backward(np.array([1., 0., 0.]), y, axis=0).round(4).tolist()
    [0.91, -0.2447, -0.6652]
    """
    return g - np.exp(y) * g.sum(axis=axis, keepdims=True)


def softmax(x, axis):
    """exp(x) / sum(exp(x)) along ``axis``, shifted by the max for stability.

    Examples
    --------
    >>> softmax(np.array([[1., 2., 3.]]), axis=1).round(4).tolist()
    [[0.09, 0.2447, 0.6652]]
    >>> softmax(np.array([[1000., 1000.]]), axis=1).tolist()           # no overflow
    [[0.5, 0.5]]
    """
    if x.size == 0:
        return x.copy()
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_backward(g, y, axis):
    """From the output y: y * (g - sum(g * y)).

    Examples
    --------
    The probabilities sum to 1 whatever ``x`` is, so a uniform upstream gradient gives 0:

    >>> y = softmax(np.array([1., 2., 3.]), axis=0)
    >>> softmax_backward(np.ones(3), y, axis=0).round(4).tolist()
    [0.0, 0.0, 0.0]
    >>> softmax_backward(np.array([1., 0., 0.]), y, axis=0).round(4).tolist()
    [0.0819, -0.022, -0.0599]
    """
    return y * (g - (g * y).sum(axis=axis, keepdims=True))


def hardtanh(x, low, high):
    """x clipped to [low, high] (either bound may be None: no bound on that side).

    The forward of both ``hardtanh`` and ``clamp``; they differ in their gradient at the bounds
    (:func:`hardtanh_backward`, :func:`clamp_backward`), as in PyTorch.

    Examples
    --------
    >>> hardtanh(np.array([-2., 0.5, 3.]), -1.0, 1.0).tolist()
    [-1.0, 0.5, 1.0]
    >>> hardtanh(np.array([-2., 7.]), 0.0, None).tolist()
    [0.0, 7.0]
    """
    if low is not None and high is not None and low > high:    # PyTorch: every value is high
        return np.where(np.isnan(x), x, np.asarray(high, dtype=x.dtype))
    return np.clip(x, low, high).astype(x.dtype, copy=False)


def hardtanh_backward(g, x, low, high):
    """0 where x <= low or x >= high, else g: PyTorch's ``hardtanh_backward`` (so ``relu6``
    passes no gradient at 0 or 6, and passes it at NaN).

    Examples
    --------
    >>> hardtanh_backward(np.ones(4), np.array([-1., 0., 0.5, 1.]), -1.0, 1.0).tolist()
    [0.0, 1.0, 1.0, 0.0]
    """
    outside = np.zeros(np.shape(x), dtype=bool)
    if low is not None:
        outside |= x <= low
    if high is not None:
        outside |= x >= high
    return np.where(outside, np.zeros((), dtype=g.dtype), g)


def clamp_backward(g, x, low, high):
    """g where low <= x <= high (bounds included), else 0 (NaN too): PyTorch's ``clamp``
    gradient, which ONNX ``Clip`` follows.

    Examples
    --------
    >>> clamp_backward(np.ones(4), np.array([-2., -1., 1., 2.]), -1.0, 1.0).tolist()
    [0.0, 1.0, 1.0, 0.0]
    """
    if low is not None and high is not None and low > high:    # every value is high: nothing passes
        return np.zeros_like(g)
    inside = np.ones(np.shape(x), dtype=bool)
    if low is not None:
        inside &= x >= low
    if high is not None:
        inside &= x <= high
    return np.where(inside, g, np.zeros((), dtype=g.dtype))


def hardsigmoid(x, alpha, beta):
    """max(0, min(1, alpha * x + beta)): a piecewise-linear sigmoid. PyTorch's ``hardsigmoid`` is
    alpha = 1/6, beta = 1/2 (``relu6(x + 3) / 6``); ONNX's ``HardSigmoid`` defaults to 0.2, 0.5.

    Examples
    --------
    >>> hardsigmoid(np.array([-4., 0., 1.5, 4.]), 1 / 6, 0.5).tolist()
    [0.0, 0.5, 0.75, 1.0]
    """
    if alpha == 1 / 6 and beta == 0.5:        # PyTorch's form, bit for bit: relu6(x + 3) / 6
        return (np.clip(x + 3, 0, 6) / 6).astype(x.dtype, copy=False)
    return np.clip(x * alpha + beta, 0, 1).astype(x.dtype, copy=False)


def hardsigmoid_backward(g, x, alpha, beta):
    """alpha * g where 0 < alpha * x + beta < 1 (strictly), else 0, as PyTorch.

    Examples
    --------
    >>> hardsigmoid_backward(np.ones(3), np.array([-3., 0., 3.]), 1 / 6, 0.5).round(4).tolist()
    [0.0, 0.1667, 0.0]
    """
    if alpha == 1 / 6 and beta == 0.5:        # PyTorch's form: g / 6 where -3 < x < 3
        return np.where((x > -3) & (x < 3), g / 6, np.zeros((), dtype=g.dtype)).astype(g.dtype, copy=False)
    z = x * alpha + beta
    return np.where((z > 0) & (z < 1), g * np.asarray(alpha, dtype=g.dtype), np.zeros((), dtype=g.dtype))


def hardswish(x):
    """x * relu6(x + 3) / 6 (MobileNet v3's activation; ONNX ``HardSwish``).

    Examples
    --------
    >>> hardswish(np.array([-4., -1., 0., 1., 4.])).round(4).tolist()
    [-0.0, -0.3333, 0.0, 0.6667, 4.0]
    """
    return (x * np.clip(x + 3, 0, 6) / 6).astype(x.dtype, copy=False)


def hardswish_backward(g, x):
    """0 where x <= -3, g where x >= 3, else g * (2x + 3) / 6: PyTorch's ``hardswish_backward``
    (one-sided at the kinks: 0 at -3, g at 3).

    Examples
    --------
    >>> hardswish_backward(np.ones(5), np.array([-4., -3., 0., 3., 4.])).round(4).tolist()
    [0.0, 0.0, 0.5, 1.0, 1.0]
    """
    middle = g * (x / 3 + 0.5)
    return np.where(x <= -3, np.zeros((), dtype=g.dtype), np.where(x < 3, middle, g)).astype(g.dtype, copy=False)
