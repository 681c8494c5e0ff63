"""Elementwise activations and (log-)softmax: forward and backward as pure array functions.

Each backward takes the upstream gradient ``g`` and what the forward kept (the input or the
output, whichever makes the derivative cheapest).
"""

from __future__ import annotations

import numpy as np


def relu(x):
    """max(x, 0)."""
    return np.maximum(x, 0)


def relu_backward(g, x):
    """d relu / dx = 0 where x <= 0, else 1: PyTorch's ``threshold_backward``, so the gradient is
    0 at x = 0 and passes unchanged at NaN (NaN <= 0 is false), and a zeroed position stays 0
    even when ``g`` is inf or NaN there."""
    return np.where(x <= 0, np.zeros((), dtype=g.dtype), g)


def leaky_relu(x, slope):
    """x where x > 0, else slope * x."""
    return np.where(x > 0, x, x * slope)


def leaky_relu_backward(g, x, slope):
    """g where x > 0, else slope * g (so ``slope * g`` at NaN, as PyTorch)."""
    return g * np.where(x > 0, 1, slope).astype(g.dtype)


def sigmoid(x):
    """1 / (1 + exp(-x)), evaluated without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid_backward(g, y):
    """d sigmoid / dx = y (1 - y), from the output y."""
    return g * y * (1 - y)


def tanh(x):
    return np.tanh(x)


def tanh_backward(g, y):
    """d tanh / dx = 1 - y^2, from the output y."""
    return g * (1 - y * y)


def log_softmax(x, axis):
    """x - logsumexp(x) along ``axis``, shifted by the max for stability.

    An empty ``x`` gives an empty result of its shape (the max of an empty axis is undefined,
    but there is nothing to normalise), as PyTorch; so does :func:`softmax`.
    """
    if x.size == 0:
        return x.copy()
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def log_softmax_backward(g, y, axis):
    """From the output y = log_softmax(x): g - softmax(x) * sum(g)."""
    return g - np.exp(y) * g.sum(axis=axis, keepdims=True)


def softmax(x, axis):
    """exp(x) / sum(exp(x)) along ``axis``, shifted by the max for stability."""
    if x.size == 0:
        return x.copy()
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_backward(g, y, axis):
    """From the output y: y * (g - sum(g * y))."""
    return y * (g - (g * y).sum(axis=axis, keepdims=True))
