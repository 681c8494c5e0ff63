"""Activations: ``relu``, ``leaky_relu``, ``sigmoid``, ``tanh``, ``hardtanh``, ``relu6``,
``hardsigmoid``, ``hardswish``, ``clamp``, ``softmax``, ``log_softmax`` (:mod:`convscope.ops.activation`)."""

from __future__ import annotations

import numpy as np

from ... import _validation as V
from ...autograd import Function, Tensor
from ...ops import activation as act_ops
from ._common import float_operand

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "ActivationFunction",
           "ReluFunction", "LeakyReluFunction", "SigmoidFunction", "TanhFunction", "SoftmaxFunction",
           "LogSoftmaxFunction", "hardtanh", "relu6", "hardsigmoid", "hardswish", "clamp", "HardtanhFunction",
           "ClampFunction", "HardsigmoidFunction", "HardswishFunction"]


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
HardtanhFunction = _activation("hardtanh", act_ops.hardtanh, act_ops.hardtanh_backward, "input")
ClampFunction = _activation("clamp", act_ops.hardtanh, act_ops.clamp_backward, "input")
HardsigmoidFunction = _activation("hardsigmoid", act_ops.hardsigmoid, act_ops.hardsigmoid_backward, "input")
HardswishFunction = _activation("hardswish", act_ops.hardswish, act_ops.hardswish_backward, "input")

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
HardtanhFunction.__doc__ += """ Options ``low``, ``high``: zero gradient at the bounds (``relu6`` is 0, 6).

    Examples
    --------
    >>> import numpy as np
    >>> HardtanhFunction.apply(np.array([-2., 0.5, 9.]), low=0.0, high=6.0).tolist()
    [0.0, 0.5, 6.0]
    """
ClampFunction.__doc__ += """ Options ``low``, ``high`` (None: unbounded): gradient 1 at the bounds.

    Examples
    --------
    >>> import numpy as np
    >>> ClampFunction.apply(np.array([-2., 0.5]), low=0.0, high=None).tolist()
    [0.0, 0.5]
    """
HardsigmoidFunction.__doc__ += """ Options ``alpha``, ``beta``.

    Examples
    --------
    >>> import numpy as np
    >>> HardsigmoidFunction.apply(np.array([0., 10.]), alpha=0.2, beta=0.5).tolist()
    [0.5, 1.0]
    """
HardswishFunction.__doc__ += """

    Examples
    --------
    >>> import numpy as np
    >>> HardswishFunction.apply(np.array([-4., 4.])).tolist()
    [-0.0, 4.0]
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


def _bound(value, name: str, fn: str):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{fn}: {name} expects a real number or None, but got {value!r}")
    value = float(value)
    if np.isnan(value):
        raise ValueError(f"{fn}: {name} expects a number, but got nan")
    return value


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """input clipped to [min_val, max_val]; the gradient is 1 strictly inside, 0 elsewhere.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.hardtanh(np.array([-2., 0.5, 2.])).tolist()
    [-1.0, 0.5, 1.0]
    """
    x = float_operand(input, "input", "hardtanh")
    low, high = _bound(min_val, "min_val", "hardtanh"), _bound(max_val, "max_val", "hardtanh")
    if low is None or high is None or low > high:
        raise ValueError(f"hardtanh: min_val expects a number not above max_val, but got {min_val!r} and {max_val!r}")
    return HardtanhFunction.apply(x, low=low, high=high)


def relu6(input, inplace: bool = False):
    """min(max(input, 0), 6): ``hardtanh(input, 0, 6)`` (MobileNet v2's activation).

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.relu6(np.array([-1., 3., 9.])).tolist()
    [0.0, 3.0, 6.0]
    """
    x = float_operand(input, "input", "relu6")
    return HardtanhFunction.apply(x, low=0.0, high=6.0)


def clamp(input, min=None, max=None):
    """input clipped to [min, max] (``torch.clamp``; ONNX ``Clip``): either bound may be None. The
    gradient is 1 where min <= input <= max (bounds included), 0 elsewhere; where min > max every
    value is max, as in PyTorch.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.clamp(np.array([-2., 0.5, 2.]), min=0.0).tolist()
    [0.0, 0.5, 2.0]
    """
    x = float_operand(input, "input", "clamp")
    low, high = _bound(min, "min", "clamp"), _bound(max, "max", "clamp")
    if low is None and high is None:
        raise ValueError("clamp: expects at least one of min and max, but both are None")
    return ClampFunction.apply(x, low=low, high=high)


def hardsigmoid(input, inplace: bool = False, *, alpha: float = 1 / 6, beta: float = 0.5):
    """max(0, min(1, alpha * input + beta)); PyTorch's ``relu6(input + 3) / 6`` by default
    (``alpha``, ``beta`` give ONNX's ``HardSigmoid``, which defaults to 0.2 and 0.5).

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.hardsigmoid(np.array([-4., 0., 1.5, 4.])).tolist()
    [0.0, 0.5, 0.75, 1.0]
    """
    x = float_operand(input, "input", "hardsigmoid")
    a, b = _bound(alpha, "alpha", "hardsigmoid"), _bound(beta, "beta", "hardsigmoid")
    if a is None or b is None:
        raise ValueError("hardsigmoid: alpha and beta expect numbers, but one is None")
    return HardsigmoidFunction.apply(x, alpha=a, beta=b)


def hardswish(input, inplace: bool = False):
    """input * relu6(input + 3) / 6 (MobileNet v3's activation).

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.hardswish(np.array([-4., 0., 1., 4.])).round(4).tolist()
    [-0.0, 0.0, 0.6667, 4.0]
    """
    x = float_operand(input, "input", "hardswish")
    return HardswishFunction.apply(x)
