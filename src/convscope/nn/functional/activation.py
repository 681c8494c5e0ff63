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
    backward, where ``keep`` says what backward reads (the ``'input'`` or the ``'output'``).

    Examples
    --------
    >>> from convscope.nn.functional import ActivationFunction, ReluFunction, SigmoidFunction
    >>> issubclass(SigmoidFunction, ActivationFunction)
    True
    >>> ReluFunction.keep, SigmoidFunction.keep   # sigmoid's gradient is y * (1 - y)
    ('input', 'output')
    """

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

ReluFunction.__doc__ += """

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import Tensor
    >>> x = Tensor(np.array([-1., 2.]), requires_grad=True)
    >>> ReluFunction.apply(x).sum().backward()
    >>> x.grad.tolist()
    [0.0, 1.0]
    """
LeakyReluFunction.__doc__ += """ Option ``slope``.

    Examples
    --------
    >>> import numpy as np
    >>> LeakyReluFunction.apply(np.array([-1., 2.]), slope=0.1).tolist()
    [-0.1, 2.0]
    """
SigmoidFunction.__doc__ += """

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import Tensor
    >>> x = Tensor(np.array([0.]), requires_grad=True)
    >>> SigmoidFunction.apply(x).sum().backward()
    >>> x.grad.tolist()   # sigmoid'(0) = 0.5 * (1 - 0.5)
    [0.25]
    """
TanhFunction.__doc__ += """

    Examples
    --------
    >>> import numpy as np
    >>> TanhFunction.apply(np.array([0., 1.])).round(4).tolist()
    [0.0, 0.7616]
    """
SoftmaxFunction.__doc__ += """ Option ``axis``.

    Examples
    --------
    >>> import numpy as np
    >>> SoftmaxFunction.apply(np.array([[0., np.log(3.)]]), axis=1).round(4).tolist()
    [[0.25, 0.75]]
    """
LogSoftmaxFunction.__doc__ += """ Option ``axis``.

    Examples
    --------
    >>> import numpy as np
    >>> LogSoftmaxFunction.apply(np.array([[0., 0.]]), axis=1).round(4).tolist()
    [[-0.6931, -0.6931]]
    """


def relu(input, inplace: bool = False):
    """max(input, 0) elementwise. ``inplace`` is accepted for PyTorch compatibility and ignored
    (convscope never modifies its inputs).

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.relu(np.array([-2., -0.5, 0., 3.]))
    array([0., 0., 0., 3.])
    >>> F.relu(np.array([-1, 2])).dtype      # integer input becomes float32
    dtype('float32')
    """
    x = float_operand(input, "input", "relu")
    return ReluFunction.apply(x)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """input where input > 0, else negative_slope * input.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.leaky_relu(np.array([-2., 0., 3.]), negative_slope=0.1)
    array([-0.2,  0. ,  3. ])
    """
    x = float_operand(input, "input", "leaky_relu")
    if not isinstance(negative_slope, (int, float)) or isinstance(negative_slope, bool):
        raise TypeError(f"leaky_relu: negative_slope expects a float, but got {negative_slope!r}")
    return LeakyReluFunction.apply(x, slope=float(negative_slope))


def sigmoid(input):
    """1 / (1 + exp(-input)), computed without overflow.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.sigmoid(np.array([0., 2., -1000.])).round(4).tolist()
    [0.5, 0.8808, 0.0]
    """
    x = float_operand(input, "input", "sigmoid")
    return SigmoidFunction.apply(x)


def tanh(input):
    """Hyperbolic tangent elementwise, in (-1, 1).

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.tanh(np.array([0., 1., 100.])).round(4).tolist()
    [0.0, 0.7616, 1.0]
    """
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
    """exp(x) / sum(exp(x)) along ``dim``, shifted by the max for stability.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.softmax(np.array([[1., 2., 3.], [1000., 1000., 1000.]]), dim=1).round(4).tolist()
    [[0.09, 0.2447, 0.6652], [0.3333, 0.3333, 0.3333]]
    """
    x = float_operand(input, "input", "softmax")
    axis = _check_dim(dim, np.ndim(x.data if isinstance(x, Tensor) else x), "softmax")
    return SoftmaxFunction.apply(x, axis=axis)


def log_softmax(input, dim: int):
    """x - logsumexp(x) along ``dim``.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> logp = F.log_softmax(np.array([[1., 2., 3.]]), dim=-1)
    >>> logp.round(4).tolist()
    [[-2.4076, -1.4076, -0.4076]]
    >>> round(float(np.exp(logp).sum()), 6)
    1.0
    """
    x = float_operand(input, "input", "log_softmax")
    axis = _check_dim(dim, np.ndim(x.data if isinstance(x, Tensor) else x), "log_softmax")
    return LogSoftmaxFunction.apply(x, axis=axis)
