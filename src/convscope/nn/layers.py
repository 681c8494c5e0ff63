"""Layers with PyTorch's names, arguments and default initialisations.

Each layer owns its parameters and hands the math to :mod:`convscope.nn.functional`; ``forward``
is one call. Default initialisations are PyTorch's: conv and linear weights
``kaiming_uniform_(a=sqrt(5))`` (a uniform bound of ``1 / sqrt(fan_in)``), biases uniform in
``+-1 / sqrt(fan_in)``; BatchNorm weight 1, bias 0, running mean 0, running variance 1.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _validation as V
from .. import backend
from ..autograd import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = [
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "DepthwiseSeparableConv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "Softmax", "LogSoftmax", "Dropout", "Flatten", "Identity",
    "Linear", "BatchNorm2d", "CrossEntropyLoss", "NLLLoss", "MSELoss", "Upsample",
]


def _empty(shape) -> np.ndarray:
    return np.empty(shape, dtype=backend.get_default_dtype())


def _init_weight_and_bias(weight: Parameter, bias: Parameter | None, fan_in: int) -> None:
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)


# --------------------------------------------------------------------------- convolutions

class _ConvNd(Module):
    _rank = 2
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", output_padding=0) -> None:
        super().__init__()
        name, n = type(self).__name__, self._rank
        self.in_channels = V.check_int(in_channels, "in_channels", name, minimum=1)
        self.out_channels = V.check_int(out_channels, "out_channels", name, minimum=1)
        self.groups = V.check_int(groups, "groups", name, minimum=1)
        for arg in ("in_channels", "out_channels"):
            if getattr(self, arg) % self.groups:
                raise ValueError(f"{name}: {arg} expects a multiple of groups={self.groups}, but got {getattr(self, arg)}")
        self.kernel_size = V.to_tuple(kernel_size, n, "kernel_size", name, minimum=1)
        self.stride = V.to_tuple(stride, n, "stride", name, minimum=1)
        self.dilation = V.to_tuple(dilation, n, "dilation", name, minimum=1)
        if isinstance(padding, str):
            if padding not in ("same", "valid") or self._transposed:
                choices = f"an int or a tuple of {n} ints" + ("" if self._transposed else ", 'same' or 'valid'")
                raise ValueError(f"{name}: padding expects {choices}, but got {padding!r}")
            self.padding = padding
        else:
            self.padding = V.to_tuple(padding, n, "padding", name, minimum=0)
        self.padding_mode = V.check_padding_mode(padding_mode, name, ("zeros",) if self._transposed
                                                 else ("zeros", "reflect", "replicate", "circular"))
        self.output_padding = V.to_tuple(output_padding, n, "output_padding", name, minimum=0)
        if self._transposed:
            shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(_empty(shape))
        self.bias = Parameter(_empty(self.out_channels)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
        _init_weight_and_bias(self.weight, self.bias, fan_in)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._rank:
            s += f", padding={self.padding!r}"
        if self.dilation != (1,) * self._rank:
            s += f", dilation={self.dilation}"
        if self._transposed and self.output_padding != (0,) * self._rank:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution layer over (N, C, L); see :func:`convscope.nn.functional.conv1d`.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> conv = nn.Conv1d(2, 4, kernel_size=3)
    >>> conv.weight.shape, conv(np.ones((1, 2, 10))).shape
    ((4, 2, 3), (1, 4, 8))
    """
    _rank = 1

    def forward(self, x):
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups,
                        self.padding_mode)


class Conv2d(_ConvNd):
    """2-D convolution layer: ``out_channels`` learned filters of shape (in_channels/groups, kH, kW).

    Examples
    --------
    >>> import convscope.nn as nn
    >>> conv = nn.Conv2d(1, 6, kernel_size=5)
    >>> conv.weight.shape, conv.bias.shape
    ((6, 1, 5, 5), (6,))
    """
    _rank = 2

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups,
                        self.padding_mode)


class Conv3d(_ConvNd):
    """3-D convolution layer over (N, C, D, H, W).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> conv = nn.Conv3d(1, 2, kernel_size=3, padding=1)
    >>> conv
    Conv3d(1, 2, kernel_size=(3, 3, 3), stride=(1, 1, 1), padding=(1, 1, 1))
    >>> conv(np.ones((1, 1, 4, 4, 4))).shape
    (1, 2, 4, 4, 4)
    """
    _rank = 3

    def forward(self, x):
        return F.conv3d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups,
                        self.padding_mode)


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros") -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding)
        for op, s, d in zip(self.output_padding, self.stride, self.dilation):
            if not (op < s or op < d):
                raise ValueError(f"{type(self).__name__}: output_padding expects each value smaller than stride "
                                 f"or dilation, but got output_padding={self.output_padding} with "
                                 f"stride={self.stride} and dilation={self.dilation}")

    def forward(self, x):
        fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[self._rank]
        return fn(x, self.weight, self.bias, self.stride, self.padding, self.output_padding, self.groups,
                  self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over (N, C, L); weight (in_channels, out_channels/groups, kL).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> up = nn.ConvTranspose1d(2, 1, kernel_size=4, stride=2, padding=1)    # doubles the length
    >>> up.weight.shape, up(np.ones((1, 2, 5))).shape
    ((2, 1, 4), (1, 1, 10))
    """
    _rank = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution (learned upsampling); weight (in_channels, out_channels/groups, kH, kW).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> up = nn.ConvTranspose2d(8, 4, kernel_size=2, stride=2)
    >>> up.weight.shape, up(np.ones((1, 8, 7, 7))).shape
    ((8, 4, 2, 2), (1, 4, 14, 14))
    """
    _rank = 2


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution over (N, C, D, H, W); weight (in_channels, out_channels/groups, kD, kH, kW).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> up = nn.ConvTranspose3d(2, 1, kernel_size=3, stride=2, padding=1, output_padding=1)
    >>> up(np.ones((1, 2, 4, 4, 4))).shape
    (1, 1, 8, 8, 8)
    """
    _rank = 3


class DepthwiseSeparableConv2d(Module):
    """A depthwise conv (one filter per input channel, ``groups=in_channels``) followed by a
    pointwise 1x1 conv that mixes channels: MobileNet's factorisation of a standard conv.

    Parameters: ``k*k*in*m + in*m*out`` (+ biases) instead of ``k*k*in*out``, with ``m`` the
    depth multiplier. Sub-modules ``depthwise`` and ``pointwise``.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> block = nn.DepthwiseSeparableConv2d(8, 16, kernel_size=3, padding=1)
    >>> block.depthwise.weight.shape, block.pointwise.weight.shape, block(np.ones((1, 8, 5, 5))).shape
    ((8, 1, 3, 3), (16, 8, 1, 1), (1, 16, 5, 5))
    >>> sum(p.numel() for p in block.parameters()), sum(p.numel() for p in nn.Conv2d(8, 16, 3).parameters())
    (224, 1168)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 bias: bool = True, depth_multiplier: int = 1, padding_mode: str = "zeros") -> None:
        super().__init__()
        m = V.check_int(depth_multiplier, "depth_multiplier", type(self).__name__, minimum=1)
        self.depthwise = Conv2d(in_channels, in_channels * m, kernel_size, stride, padding, dilation,
                                groups=in_channels, bias=bias, padding_mode=padding_mode)
        self.pointwise = Conv2d(in_channels * m, out_channels, 1, bias=bias)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


# --------------------------------------------------------------------------- pooling

class MaxPool2d(Module):
    """Max over each kernel window; see :func:`convscope.nn.functional.max_pool2d`.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> pool = nn.MaxPool2d(2)
    >>> pool
    MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    >>> pool(np.arange(16.).reshape(1, 1, 4, 4)).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Mean over each kernel window; see :func:`convscope.nn.functional.avg_pool2d`.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> nn.AvgPool2d(2)(np.arange(16.).reshape(1, 1, 4, 4)).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override=None) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                            self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average into a fixed output size whatever the input size (e.g. 1x1 global pooling).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> gap = nn.AdaptiveAvgPool2d(1)
    >>> gap(np.ones((2, 512, 7, 7))).shape, gap(np.ones((2, 512, 9, 5))).shape
    ((2, 512, 1, 1), (2, 512, 1, 1))
    """

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


# --------------------------------------------------------------------------- activations and shape

class ReLU(Module):
    """max(x, 0) elementwise; see :func:`convscope.nn.functional.relu` (``inplace`` is ignored).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> nn.ReLU()(np.array([-1., 0., 2.]))
    array([0., 0., 2.])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x where x > 0, else ``negative_slope * x``; see :func:`convscope.nn.functional.leaky_relu`.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> act = nn.LeakyReLU(0.2)
    >>> act, act(np.array([-1., 2.]))
    (LeakyReLU(negative_slope=0.2), array([-0.2,  2. ]))
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise; see :func:`convscope.nn.functional.sigmoid`.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> nn.Sigmoid()(np.array([0., 2.])).round(4).tolist()
    [0.5, 0.8808]
    """

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """Hyperbolic tangent elementwise; see :func:`convscope.nn.functional.tanh`.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> nn.Tanh()(np.array([-100., 0., 1.])).round(4).tolist()
    [-1.0, 0.0, 0.7616]
    """

    def forward(self, x):
        return F.tanh(x)


class Hardtanh(Module):
    """x clipped to [min_val, max_val]; see :func:`convscope.nn.functional.hardtanh`.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> act = nn.Hardtanh(-2.0, 2.0)
    >>> act, act(np.array([-3., 1., 3.])).tolist()
    (Hardtanh(min_val=-2.0, max_val=2.0), [-2.0, 1.0, 2.0])
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class ReLU6(Hardtanh):
    """min(max(x, 0), 6); see :func:`convscope.nn.functional.relu6`.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> nn.ReLU6()(np.array([-1., 3., 9.])).tolist()
    [0.0, 3.0, 6.0]
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0)

    def extra_repr(self) -> str:
        return ""


class Hardsigmoid(Module):
    """relu6(x + 3) / 6; see :func:`convscope.nn.functional.hardsigmoid`.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> nn.Hardsigmoid()(np.array([-4., 0., 4.])).tolist()
    [0.0, 0.5, 1.0]
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, x):
        return F.hardsigmoid(x)


class Hardswish(Module):
    """x * relu6(x + 3) / 6; see :func:`convscope.nn.functional.hardswish`.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> nn.Hardswish()(np.array([-4., 1., 4.])).round(4).tolist()
    [-0.0, 0.6667, 4.0]
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, x):
        return F.hardswish(x)


class Softmax(Module):
    """Softmax along ``dim`` (required, no implicit choice); see :func:`convscope.nn.functional.softmax`.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> nn.Softmax(dim=1)(np.array([[0., 0., np.log(2.)]])).round(4).tolist()
    [[0.25, 0.25, 0.5]]
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """Log-softmax along ``dim``; see :func:`convscope.nn.functional.log_softmax`.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> logsm = nn.LogSoftmax(dim=-1)
    >>> logsm, logsm(np.array([[0., 0.]])).round(4).tolist()
    (LogSoftmax(dim=-1), [[-0.6931, -0.6931]])
    """

    def forward(self, x):
        return F.log_softmax(x, self.dim)


class Dropout(Module):
    """Zero elements with probability ``p`` in training (scaling the rest by 1/(1-p)); identity in eval.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> drop = nn.Dropout(0.25)
    >>> drop, drop.training
    (Dropout(p=0.25), True)
    >>> drop.eval()(np.ones(3))
    array([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"Dropout: p expects a probability in [0, 1], but got {p!r}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Flatten(Module):
    """Flatten dims ``start_dim..end_dim`` into one (default: all but the batch dim).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> nn.Flatten()(np.zeros((2, 3, 4, 4))).shape, nn.Flatten(0)(np.zeros((2, 3))).shape
    ((2, 48), (6,))
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim)


class Identity(Module):
    """Return the input unchanged; any arguments are accepted and ignored (a placeholder layer).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> x = np.array([1., 2.])
    >>> nn.Identity(54, unused="anything")(x) is x
    True
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """Fully connected layer y = x W^T + b, weight (out_features, in_features).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> fc = nn.Linear(3, 2)
    >>> fc
    Linear(in_features=3, out_features=2, bias=True)
    >>> fc.weight.shape, fc(np.ones((4, 3))).shape
    ((2, 3), (4, 2))
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features = V.check_int(in_features, "in_features", "Linear", minimum=1)
        self.out_features = V.check_int(out_features, "out_features", "Linear", minimum=1)
        self.weight = Parameter(_empty((out_features, in_features)))
        self.bias = Parameter(_empty(out_features)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init_weight_and_bias(self.weight, self.bias, self.in_features)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


# --------------------------------------------------------------------------- normalisation

class BatchNorm2d(Module):
    """Batch normalisation of (N, C, H, W) per channel, with running statistics for eval.

    ``momentum=None`` averages all batches seen (cumulative moving average), as PyTorch.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> bn = nn.BatchNorm2d(1)
    >>> y = bn(np.arange(8.).reshape(2, 1, 2, 2))       # training: the batch's statistics
    >>> y.shape, round(float(y.data.std()), 4)
    ((2, 1, 2, 2), 1.0)
    >>> round(float(bn.running_mean[0]), 4), round(float(bn.running_var[0]), 4), int(bn.num_batches_tracked)
    (0.35, 1.5, 1)
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        self.num_features = V.check_int(num_features, "num_features", "BatchNorm2d", minimum=1)
        self.eps, self.momentum, self.affine = eps, momentum, affine
        self.track_running_stats = track_running_stats
        dtype = backend.get_default_dtype()
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x):
        shape = np.shape(x.data if isinstance(x, Tensor) else x)
        if len(shape) != 4:
            raise ValueError(f"BatchNorm2d: input expects 4 dimensions (N, C, H, W), but got shape {tuple(shape)}")
        if shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d: input expects {self.num_features} channels, but got shape {tuple(shape)}")
        use_batch_stats = self.training or not self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked[...] += 1
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked)
        running = self.training and self.track_running_stats
        return F.batch_norm(x, self.running_mean if (running or not use_batch_stats) else None,
                            self.running_var if (running or not use_batch_stats) else None,
                            self.weight, self.bias, use_batch_stats, momentum, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


# --------------------------------------------------------------------------- losses

class CrossEntropyLoss(Module):
    """Cross-entropy of logits against class indices; see :func:`convscope.nn.functional.cross_entropy`.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> loss = nn.CrossEntropyLoss()(np.array([[2., 0., 0.], [0., 0., 0.]]), np.array([0, 2]))
    >>> round(float(loss), 4)
    0.6691
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.weight, self.ignore_index = weight, ignore_index
        self.reduction, self.label_smoothing = reduction, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing)


class NLLLoss(Module):
    """Negative log-likelihood of log-probabilities; see :func:`convscope.nn.functional.nll_loss`.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> logp = np.log(np.array([[0.5, 0.5], [0.25, 0.75]]))
    >>> round(float(nn.NLLLoss()(logp, np.array([0, 1]))), 4)    # (log 2 - log 0.75) / 2
    0.4904
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__()
        self.weight, self.ignore_index, self.reduction = weight, ignore_index, reduction

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(Module):
    """Mean (or summed, or per-element) squared error; see :func:`convscope.nn.functional.mse_loss`.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> x, y = np.array([1., 2.]), np.array([0., 0.])
    >>> float(nn.MSELoss()(x, y)), nn.MSELoss(reduction="none")(x, y)
    (2.5, array([1., 4.]))
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)


# --------------------------------------------------------------------------- resizing

class Upsample(Module):
    """Resize by interpolation to a ``size`` or by a ``scale_factor``, like ``torch.nn.Upsample``;
    see :func:`convscope.nn.functional.interpolate` (modes 'nearest', 'linear', 'bilinear',
    'trilinear'). No parameters.

    Examples
    --------
    >>> import numpy as np, convscope.nn as nn
    >>> nn.Upsample(scale_factor=2)(np.array([[[[1., 2.]]]]))
    array([[[[1., 1., 2., 2.],
             [1., 1., 2., 2.]]]])
    """

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        if isinstance(scale_factor, (tuple, list)):
            scale_factor = tuple(float(f) if isinstance(f, (int, float)) and not isinstance(f, bool) else f
                                 for f in scale_factor)
        elif isinstance(scale_factor, (int, float)) and not isinstance(scale_factor, bool):
            scale_factor = float(scale_factor)
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self) -> str:
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return info + f", mode={self.mode!r}"
