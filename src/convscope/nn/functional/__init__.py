"""PyTorch-shaped functional ops: ``import convscope.nn.functional as F``.

Every op takes NumPy arrays (or anything ``np.asarray`` accepts) or :class:`convscope.Tensor`\\ s.
Given arrays it returns an array; given a Tensor it returns a Tensor and, when an input requires
grad, records itself for ``backward``. Arguments are checked here, once; errors name the function,
the argument, what was expected and what was received.

Dtypes: float32 and float64 are computed as they are; float32 mixed with float64 computes in
float64; float16 computes in float32; integer and bool operands are cast to the floating dtype
of the other operands, or to float32 when none is floating. PyTorch refuses mixed or integer
operands instead; convscope converts, so ``F.conv2d(uint8_image, kernel)`` just works. Max pooling
is the exception: it keeps integer input in its dtype, exactly (as PyTorch's does).

Empty and huge shapes follow PyTorch where it defines them: an empty batch gives an empty
result, an empty kernel or channel axis of a conv is refused, pools refuse empty dims other than
the batch's, and the mean of an empty loss is NaN. A stride or dilation too large to matter
gives PyTorch's result, however large; an argument that would make an array larger than one
array can address (2**63 bytes) is refused naming it, before anything is allocated.

The package mirrors :mod:`convscope.ops` file for file: ``conv.py`` (the N-d conv and transposed
conv over one shared preamble), ``pad.py``, ``pool.py``, ``activation.py``, ``linear.py``,
``loss.py``, ``norm.py``, ``resize.py``, plus ``dropout.py``. Each op is applied through a public
:class:`convscope.autograd.Function` (``ConvFunction``, ``MaxPoolFunction``...) that names itself
and carries its geometry as data, as :func:`convscope.autograd.register_op_hook` reports it.
"""

from __future__ import annotations

# one file per file of convscope.ops (plus dropout); the Function classes are re-exported for the
# tools that read op records (convscope.autograd.register_op_hook)
from . import activation, conv, dropout, linear, loss, norm, pad, pool, resize
from .activation import (ActivationFunction, ClampFunction, HardsigmoidFunction, HardswishFunction, HardtanhFunction,
                         LeakyReluFunction, LogSoftmaxFunction, ReluFunction, SigmoidFunction, SoftmaxFunction,
                         TanhFunction, clamp, hardsigmoid, hardswish, hardtanh, leaky_relu, log_softmax, relu, relu6,
                         sigmoid, softmax, tanh)
from .conv import (ConvFunction, ConvFunctionBase, ConvTransposeFunction, conv1d, conv2d, conv3d, conv_transpose1d,
                   conv_transpose2d, conv_transpose3d)
from .dropout import DropoutFunction, dropout
from .linear import LinearFunction, flatten, linear
from .loss import CrossEntropyFunction, MseLossFunction, NllLossFunction, cross_entropy, mse_loss, nll_loss
from .norm import BatchNormFunction, batch_norm
from .pad import PadFunction, pad
from .pool import (AdaptiveAvgPoolFunction, AvgPoolFunction, MaxPoolFunction, PoolFunction, adaptive_avg_pool1d,
                   adaptive_avg_pool2d, adaptive_avg_pool3d, avg_pool1d, avg_pool2d, avg_pool3d, max_pool1d,
                   max_pool2d, max_pool3d)
from .resize import InterpolateFunction, interpolate

__all__ = [
    "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "pad",
    "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax",
    "hardtanh", "relu6", "hardsigmoid", "hardswish", "clamp",
    "linear", "dropout", "batch_norm", "cross_entropy", "nll_loss", "mse_loss", "flatten",
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "interpolate",
]
