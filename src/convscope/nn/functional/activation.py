"""Activations: ``relu``, ``leaky_relu``, ``sigmoid``, ``tanh``, ``softmax``, ``log_softmax``
(:mod:`convscope.ops.activation`)."""

from __future__ import annotations

import numpy as np

from ... import _validation as V
from ...autograd import Function, Tensor
from ...ops import activation as act_ops
from ._common import float_operand

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "ActivationFunction",
           "ReluFunction", "LeakyReluFunction", "SigmoidFunction", "TanhFunction", "SoftmaxFunction",
           "LogSoftmaxFunction"]


class ActivationFunction(Function):
    """An elementwise activation: ``op(x, **options)`` forward, ``grad(g, saved, **options)``
    backward, where ``keep`` says what backward reads (the ``'input'`` or the ``'output'``)."""

    op = grad = None
    keep = "input"

    @classmethod
    def forward(cls, ctx, x, **options):
        y = cls.op(x, **options)
        ctx.save_for_backward(x if cls.keep == "input" else y)
        ctx.options = options
        return y

    @classmethod
    def backward(cls, ctx, g):
        return (cls.grad(g, ctx.saved[0], **ctx.options),)


def _activation(name: str, op, grad, keep: str) -> type:
    title = "".join(part.capitalize() for part in name.split("_"))
    return type(f"{title}Function", (ActivationFunction,),
                {"name": name, "op": staticmethod(op), "grad": staticmethod(grad), "keep": keep,
                 "__doc__": f"``{name}`` elementwise (:mod:`convscope.ops.activation`).", "__module__": __name__})


ReluFunction = _activation("relu", act_ops.relu, act_ops.relu_backward, "input")
LeakyReluFunction = _activation("leaky_relu", act_ops.leaky_relu, act_ops.leaky_relu_backward, "input")
SigmoidFunction = _activation("sigmoid", act_ops.sigmoid, act_ops.sigmoid_backward, "output")
TanhFunction = _activation("tanh", act_ops.tanh, act_ops.tanh_backward, "output")
SoftmaxFunction = _activation("softmax", act_ops.softmax, act_ops.softmax_backward, "output")
LogSoftmaxFunction = _activation("log_softmax", act_ops.log_softmax, act_ops.log_softmax_backward, "output")


def relu(input, inplace: bool = False):
    """max(input, 0) elementwise. ``inplace`` is accepted for PyTorch compatibility and ignored
    (convscope never modifies its inputs)."""
    x = float_operand(input, "input", "relu")
    return ReluFunction.apply(x)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """input where input > 0, else negative_slope * input."""
    x = float_operand(input, "input", "leaky_relu")
    if not isinstance(negative_slope, (int, float)) or isinstance(negative_slope, bool):
        raise TypeError(f"leaky_relu: negative_slope expects a float, but got {negative_slope!r}")
    return LeakyReluFunction.apply(x, slope=float(negative_slope))


def sigmoid(input):
    """1 / (1 + exp(-input)), computed without overflow."""
    x = float_operand(input, "input", "sigmoid")
    return SigmoidFunction.apply(x)


def tanh(input):
    x = float_operand(input, "input", "tanh")
    return TanhFunction.apply(x)


def _check_dim(dim, ndim: int, fn: str) -> int:
    if dim is None:
        raise ValueError(f"{fn}: dim expects an int (PyTorch's implicit choice is deprecated), but got None")
    dim = V.check_int(dim, "dim", fn)
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise ValueError(f"{fn}: dim expects a value in [{-ndim}, {ndim - 1}] for a {ndim}-D input, but got {dim}")
    return dim % max(ndim, 1)


def softmax(input, dim: int):
    """exp(x) / sum(exp(x)) along ``dim``, shifted by the max for stability."""
    x = float_operand(input, "input", "softmax")
    axis = _check_dim(dim, np.ndim(x.data if isinstance(x, Tensor) else x), "softmax")
    return SoftmaxFunction.apply(x, axis=axis)


def log_softmax(input, dim: int):
    """x - logsumexp(x) along ``dim``."""
    x = float_operand(input, "input", "log_softmax")
    axis = _check_dim(dim, np.ndim(x.data if isinstance(x, Tensor) else x), "log_softmax")
    return LogSoftmaxFunction.apply(x, axis=axis)
