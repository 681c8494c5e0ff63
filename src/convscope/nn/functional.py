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
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .. import _validation as V
from .. import random as _random
from ..autograd import Function, Tensor
from ..ops import activation as act_ops
from ..ops import conv as conv_ops
from ..ops import linear as linear_ops
from ..ops import loss as loss_ops
from ..ops import norm as norm_ops
from ..ops import pad as pad_ops
from ..ops import pool as pool_ops

__all__ = [
    "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "pad",
    "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax",
    "linear", "dropout", "batch_norm", "cross_entropy", "nll_loss", "mse_loss", "flatten",
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "interpolate",
]

_CONV_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_SPATIAL_NAMES = {1: "L", 2: "H, W", 3: "D, H, W"}
_KERNEL_NAMES = {1: "kL", 2: "kH, kW", 3: "kD, kH, kW"}


def _array(value: Any, name: str, fn: str) -> np.ndarray:
    """The array behind an operand (a Tensor's data, or ``np.asarray(value)``), type-checked."""
    data = value.data if isinstance(value, Tensor) else value
    return V.as_float_array(data, name, fn)


# --------------------------------------------------------------------------- pad

class _Pad(Function):
    @staticmethod
    def forward(ctx, x, *, pads, mode, value):
        ctx.save_for_backward(x.shape, x.dtype)
        ctx.pads, ctx.mode = pads, mode
        return pad_ops.pad(x, pads, mode, value)

    @staticmethod
    def backward(ctx, grad):
        shape, dtype = ctx.saved
        return (pad_ops.pad_backward(grad, shape, ctx.pads, ctx.mode).astype(dtype, copy=False),)


def _check_pads(x: np.ndarray, pairs, mode: str, fn: str, argument: str) -> None:
    lead = x.ndim - len(pairs)
    for axis, (lo, hi) in enumerate(pairs, start=lead):
        n = x.shape[axis]
        if mode == "constant":
            if n + lo + hi < 0:
                raise ValueError(f"{fn}: {argument} ({lo}, {hi}) would crop dimension {axis} of size {n} "
                                 f"below zero")
            continue
        if lo < 0 or hi < 0:
            raise ValueError(f"{fn}: {argument} expects non-negative values for mode {mode!r}, but got ({lo}, {hi}) "
                             f"for dimension {axis}")
        if mode == "reflect" and max(lo, hi) >= n:
            raise ValueError(f"{fn}: {argument} for mode 'reflect' expects values smaller than the dimension size "
                             f"{n} (dimension {axis}), but got ({lo}, {hi})")
        if mode == "circular" and max(lo, hi) > n:
            raise ValueError(f"{fn}: {argument} for mode 'circular' expects values at most the dimension size "
                             f"{n} (dimension {axis}), but got ({lo}, {hi})")
        if mode == "replicate" and n == 0 and (lo or hi):
            raise ValueError(f"{fn}: mode 'replicate' cannot pad dimension {axis} of size 0")


def pad(input, pad, mode: str = "constant", value: float | None = None):
    """Pad the trailing dimensions of ``input``, as ``torch.nn.functional.pad``.

    Parameters
    ----------
    input : array or Tensor
    pad : tuple of ints, even length ``2m`` with ``m <= input.ndim``
        ``(left, right)`` widths of the last dimension first, then of the one before, and so on:
        ``(1, 1, 2, 0)`` pads the last dim by 1 on each side and the second-last by 2 before.
        Negative widths crop (``'constant'`` only).
    mode : {'constant', 'reflect', 'replicate', 'circular'}
        ``reflect`` mirrors without repeating the edge (widths < size), ``replicate`` repeats the
        edge, ``circular`` wraps around (widths <= size).
    value : float, optional
        Fill value for ``'constant'`` (default 0).

    Returns
    -------
    array or Tensor with each padded dimension ``n`` grown to ``n + left + right``.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.pad(np.array([[1., 2., 3.]]), (2, 1), mode="reflect")
    array([[3., 2., 1., 2., 3., 2.]])
    """
    fn = "pad"
    x = _array(input, "input", fn)
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"{fn}: pad expects a tuple of ints, but got {pad!r} ({type(pad).__name__})")
    if len(pad) % 2:
        raise ValueError(f"{fn}: pad expects an even number of values (left, right per dimension), "
                         f"but got {len(pad)}: {tuple(pad)!r}")
    if len(pad) // 2 > x.ndim:
        raise ValueError(f"{fn}: pad expects at most {2 * x.ndim} values for a {x.ndim}-D input, but got {len(pad)}")
    flat = V.to_tuple(tuple(pad), len(pad), "pad", fn)
    if not isinstance(mode, str) or mode not in pad_ops.MODES:
        raise ValueError(f"{fn}: mode expects one of {', '.join(map(repr, pad_ops.MODES))}, but got {mode!r}")
    if value is not None and mode != "constant":
        raise ValueError(f"{fn}: value applies to mode 'constant' only, but mode is {mode!r}")
    if value is not None and (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)):
        raise TypeError(f"{fn}: value expects a real number, but got {value!r} ({type(value).__name__})")
    # PyTorch order is last dim first; the op wants axis order.
    pairs = tuple((flat[i], flat[i + 1]) for i in range(len(flat) - 2, -1, -2))
    _check_pads(x, pairs, mode, fn, "pad")
    V.check_addressable(x.shape[:x.ndim - len(pairs)] + tuple(n + lo + hi for n, (lo, hi) in
                                                           zip(x.shape[x.ndim - len(pairs):], pairs)),
                        x.itemsize, fn, "an output", f"pad={tuple(pad)!r}")
    return _Pad.apply(input if isinstance(input, Tensor) else x, pads=pairs, mode=mode,
                      value=0.0 if value is None else value)


# --------------------------------------------------------------------------- conv

class _ConvBase(Function):
    """A conv-like op of (possibly unbatched) input: casts the operands to one floating dtype,
    adds the batch axis if missing, and hands the arrays to ``op``/``grad`` (set by subclasses)."""

    op = grad = None

    @classmethod
    def forward(cls, ctx, x, w, b, **options):
        dtype = V.result_float_dtype(x, w, b)
        batched = x.ndim == w.ndim
        xx = x.astype(dtype, copy=False) if batched else x.astype(dtype, copy=False)[None]
        ww = w.astype(dtype, copy=False)
        bb = None if b is None else b.astype(dtype, copy=False)
        ctx.save_for_backward(xx, ww)
        ctx.options = tuple(options.values())
        ctx.meta = (batched, x.dtype, w.dtype, None if b is None else b.dtype)
        y = cls.op(xx, ww, bb, *ctx.options)
        return y if batched else y[0]

    @classmethod
    def backward(cls, ctx, grad):
        xx, ww = ctx.saved
        batched, *dtypes = ctx.meta
        gy = grad.astype(xx.dtype, copy=False)
        gx, gw, gb = cls.grad(gy if batched else gy[None], xx, ww, *ctx.options, needs=ctx.needs_input_grad)
        if gx is not None and not batched:
            gx = gx[0]
        return _cast_grads((gx, gw, gb), dtypes)


class _Conv(_ConvBase):
    """Options, in order: stride, padding, dilation, groups."""
    op = staticmethod(conv_ops.conv_forward)
    grad = staticmethod(conv_ops.conv_backward)


class _ConvTranspose(_ConvBase):
    """Options, in order: stride, padding, output_padding, dilation, groups."""
    op = staticmethod(conv_ops.conv_transpose_forward)
    grad = staticmethod(conv_ops.conv_transpose_backward)


def _cast_grads(grads, dtypes):
    """Return each gradient in its operand's dtype (a float32 leaf gets a float32 .grad)."""
    return tuple(None if g is None else (g.astype(dt, copy=False) if dt is not None and dt.kind == "f" else g)
                 for g, dt in zip(grads, dtypes))


def _check_conv_operands(n: int, fn: str, x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
                         weight_layout: str) -> None:
    names = _SPATIAL_NAMES[n]
    if w.ndim != n + 2:
        raise ValueError(f"{fn}: weight expects {n + 2} dimensions ({weight_layout}, {_KERNEL_NAMES[n]}), "
                         f"but got shape {w.shape}")
    if x.ndim not in (n + 1, n + 2):
        raise ValueError(f"{fn}: input expects {n + 1} dimensions (C, {names}) or {n + 2} (N, C, {names}), "
                         f"but got shape {x.shape}")
    if b is not None and b.ndim != 1:
        raise ValueError(f"{fn}: bias expects 1 dimension, but got shape {b.shape}")
    if 0 in w.shape[2:]:
        # PyTorch: "kernel size should be greater than zero". An empty kernel sums over nothing,
        # so the output would be the bias alone whatever the input.
        raise ValueError(f"{fn}: weight expects a kernel of positive size ({_KERNEL_NAMES[n]} >= 1), "
                         f"but got shape {w.shape}")


def _clamped(values: tuple[int, ...], bounds: tuple[int, ...]) -> tuple[int, ...]:
    """``min(value, bound)`` per dim: a stride at least the extent it steps over (or a dilation
    of a 1-tap kernel, bound 1) changes nothing, and the clamped value keeps NumPy's byte strides
    and slice steps within int64 however large the argument was."""
    return tuple(min(v, max(b, 1)) for v, b in zip(values, bounds))


def _convnd(n: int, fn: str, input, weight, bias, stride, padding, dilation, groups, padding_mode):
    x = _array(input, "input", fn)
    w = _array(weight, "weight", fn)
    b = None if bias is None else _array(bias, "bias", fn)
    _check_conv_operands(n, fn, x, w, b, "out_channels, in_channels/groups")
    groups = V.check_int(groups, "groups", fn, minimum=1)
    stride = V.to_tuple(stride, n, "stride", fn, minimum=1)
    dilation = V.to_tuple(dilation, n, "dilation", fn, minimum=1)
    padding_mode = V.check_padding_mode(padding_mode, fn, _CONV_PADDING_MODES)

    channels = x.shape[-n - 1]
    out_channels, per_group = w.shape[0], w.shape[1]
    if out_channels < groups:
        # PyTorch: "expected weight to be at least {groups} at dimension 0".
        raise ValueError(f"{fn}: weight expects at least groups={groups} output channels (weight.shape[0]), "
                         f"but got shape {w.shape}")
    if per_group == 0:
        # PyTorch returns an (N, 0, ...) output here, dropping the out_channels; convscope refuses,
        # as it refuses an empty kernel: the sum over no inputs would be the bias alone.
        raise ValueError(f"{fn}: weight expects at least 1 input channel per group (weight.shape[1] >= 1), "
                         f"but got shape {w.shape}")
    if out_channels % groups:
        raise ValueError(f"{fn}: weight expects out_channels divisible by groups={groups}, "
                         f"but weight.shape[0] is {out_channels}")
    if channels != per_group * groups:
        raise ValueError(f"{fn}: weight expects {per_group * groups} input channels "
                         f"(weight.shape[1]={per_group} x groups={groups}), but input has {channels}")
    if b is not None and b.shape[0] != out_channels:
        raise ValueError(f"{fn}: bias expects {out_channels} elements (one per output channel), "
                         f"but got shape {b.shape}")

    spatial, kernel = x.shape[-n:], w.shape[2:]
    pads = V.padding_pairs(padding, n, fn, spatial=spatial, kernel=kernel, stride=stride, dilation=dilation)
    for i, (size, k, d, (lo, hi)) in enumerate(zip(spatial, kernel, dilation, pads)):
        if d * (k - 1) + 1 > size + lo + hi:
            raise ValueError(f"{fn}: kernel expects to fit in the padded input, but along spatial dim {i} the "
                             f"dilated kernel spans {d * (k - 1) + 1} (kernel {k}, dilation {d}) and the padded "
                             f"input has {size + lo + hi} (size {size} + padding {lo} + {hi})")
    padded = tuple(size + lo + hi for size, (lo, hi) in zip(spatial, pads))
    because = f"padding={padding!r}" + (f" with dilation={dilation}" if padding == "same" else "")
    V.check_addressable(x.shape[:-n] + padded, V.result_float_dtype(x, w, b).itemsize, fn, "a padded input",
                        because)
    out = conv_ops.output_shape(spatial, kernel, stride, pads, dilation)
    V.check_addressable((x.shape[0] if x.ndim == n + 2 else 1, out_channels) + out,
                        V.result_float_dtype(x, w, b).itemsize, fn, "an output", because)
    stride = _clamped(stride, padded)                                 # one window along that dim
    dilation = _clamped(dilation, tuple(1 if k == 1 else d for k, d in zip(kernel, dilation)))

    operand = input if isinstance(input, Tensor) else x
    if padding_mode != "zeros" and any(lo or hi for lo, hi in pads):
        _check_pads(x, pads, padding_mode, fn, "padding")
        operand = _Pad.apply(operand, pads=pads, mode=padding_mode, value=0.0)
        pads = ((0, 0),) * n
    return _Conv.apply(operand, weight if isinstance(weight, Tensor) else w,
                       bias if (bias is None or isinstance(bias, Tensor)) else b,
                       stride=stride, padding=pads, dilation=dilation, groups=groups)


_CONV_DOC = """{rank}-D convolution (cross-correlation, as in every CNN framework), like ``torch.nn.functional.{fn}``.

    ``y[n, o, p] = bias[o] + sum over c in o's group and taps k of x_pad[n, c, p * stride + k * dilation] * weight[o, c, k]``

    Parameters
    ----------
    input : (N, C, {names}) or unbatched (C, {names}) array or Tensor
    weight : (out_channels, C // groups, {knames})
    bias : (out_channels,), optional
    stride : int or tuple of {rank} ints, >= 1
    padding : int, tuple of {rank} ints, 'valid' or 'same'
        'same' pads a total of ``dilation * (k - 1)`` per dim, the odd element after (right/bottom),
        so the output has the input's size. PyTorch refuses 'same' with stride > 1; convscope then
        follows TensorFlow: output size ``ceil(size / stride)``, the odd padding element after.
    dilation : int or tuple of {rank} ints, >= 1 (1 means no dilation)
    groups : int dividing C and out_channels; ``groups == C`` is a depthwise conv
    padding_mode : {{'zeros', 'reflect', 'replicate', 'circular'}}
        How the padding is filled (``torch.nn.Conv{rank}d``'s ``padding_mode``): a pad op first,
        then an unpadded conv.

    Returns
    -------
    (N, out_channels, {onames}) (unbatched: without N), each output size
    ``(size + pad_before + pad_after - dilation * (k - 1) - 1) // stride + 1``.

    Raises
    ------
    ValueError
        Wrong rank, an empty kernel, no output channels or no input channels per group (PyTorch
        also refuses the former two), channels not matching weight and groups, kernel larger than
        the padded input, stride or dilation < 1, bad padding string or padding_mode, a padded
        input or output beyond 2**63 bytes.
    TypeError
        Non-integer stride, padding, dilation or groups; a non-numeric dtype.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> {example}
    """


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    return _convnd(1, "conv1d", input, weight, bias, stride, padding, dilation, groups, padding_mode)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    return _convnd(2, "conv2d", input, weight, bias, stride, padding, dilation, groups, padding_mode)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    return _convnd(3, "conv3d", input, weight, bias, stride, padding, dilation, groups, padding_mode)


conv1d.__doc__ = _CONV_DOC.format(
    rank=1, fn="conv1d", names="L", knames="kL", onames="L_out",
    example="F.conv1d(np.array([[[1., 2., 3., 4.]]]), np.array([[[1., -1.]]]))\n    array([[[-1., -1., -1.]]])")
conv2d.__doc__ = _CONV_DOC.format(
    rank=2, fn="conv2d", names="H, W", knames="kH, kW", onames="H_out, W_out",
    example="image = np.arange(1., 17.).reshape(1, 1, 4, 4)\n    >>> F.conv2d(image, np.array([[[[1., 1.], [-1., -1.]]]]))[0, 0]\n"
            "    array([[-8., -8., -8.],\n           [-8., -8., -8.],\n           [-8., -8., -8.]])")
conv3d.__doc__ = _CONV_DOC.format(
    rank=3, fn="conv3d", names="D, H, W", knames="kD, kH, kW", onames="D_out, H_out, W_out",
    example="F.conv3d(np.ones((1, 1, 3, 3, 3)), np.ones((1, 1, 2, 2, 2))).shape\n    (1, 1, 2, 2, 2)")


def _conv_transposend(n: int, fn: str, input, weight, bias, stride, padding, output_padding, groups, dilation):
    x = _array(input, "input", fn)
    w = _array(weight, "weight", fn)
    b = None if bias is None else _array(bias, "bias", fn)
    _check_conv_operands(n, fn, x, w, b, "in_channels, out_channels/groups")
    groups = V.check_int(groups, "groups", fn, minimum=1)
    stride = V.to_tuple(stride, n, "stride", fn, minimum=1)
    dilation = V.to_tuple(dilation, n, "dilation", fn, minimum=1)
    if isinstance(padding, str):
        raise ValueError(f"{fn}: padding expects an int or a tuple of {n} ints (transposed convs take no "
                         f"'same'/'valid'), but got {padding!r}")
    padding = V.to_tuple(padding, n, "padding", fn, minimum=0)
    output_padding = V.to_tuple(output_padding, n, "output_padding", fn, minimum=0)
    for op, s, d in zip(output_padding, stride, dilation):
        if not (op < s or op < d):
            raise ValueError(f"{fn}: output_padding expects each value smaller than stride or dilation, but got "
                             f"output_padding={output_padding} with stride={stride} and dilation={dilation}")
    channels = x.shape[-n - 1]
    if w.shape[0] < groups:
        # PyTorch: "expected weight to be at least {groups} at dimension 0".
        raise ValueError(f"{fn}: weight expects at least groups={groups} input channels (weight.shape[0]), "
                         f"but got shape {w.shape}")
    if w.shape[1] == 0:
        # PyTorch: "non-empty 4D weight tensor expected".
        raise ValueError(f"{fn}: weight expects at least 1 output channel per group (weight.shape[1] >= 1), "
                         f"but got shape {w.shape}")
    if w.shape[0] != channels:
        raise ValueError(f"{fn}: weight expects {w.shape[0]} input channels (weight.shape[0]), but input has {channels}")
    if channels % groups:
        raise ValueError(f"{fn}: input channels ({channels}) expect to be divisible by groups={groups}")
    out_channels = w.shape[1] * groups
    if b is not None and b.shape[0] != out_channels:
        raise ValueError(f"{fn}: bias expects {out_channels} elements (weight.shape[1] x groups), but got shape {b.shape}")
    out = conv_ops.transpose_output_shape(x.shape[-n:], w.shape[2:], stride, padding, output_padding, dilation)
    if min(out) <= 0:
        raise ValueError(f"{fn}: padding={padding} expects to leave a positive output size, but the output would "
                         f"be {out} for input size {x.shape[-n:]}")
    # The op folds into a buffer of every position a window touches, then crops the padding off.
    kernel = w.shape[2:]
    buffer = tuple((size - 1) * s + d * (k - 1) + 1 + op
                   for size, k, s, d, op in zip(x.shape[-n:], kernel, stride, dilation, output_padding))
    V.check_addressable((x.shape[0] if x.ndim == n + 2 else 1, out_channels) + buffer,
                        V.result_float_dtype(x, w, b).itemsize, fn, "an output",
                        f"stride={stride}, dilation={dilation} and output_padding={output_padding}")
    stride = _clamped(stride, buffer)                  # only an input of size 1 has so large a stride
    dilation = _clamped(dilation, tuple(1 if k == 1 else d for k, d in zip(kernel, dilation)))
    return _ConvTranspose.apply(input if isinstance(input, Tensor) else x, weight if isinstance(weight, Tensor) else w,
                                bias if (bias is None or isinstance(bias, Tensor)) else b,
                                stride=stride, padding=padding, output_padding=output_padding,
                                dilation=dilation, groups=groups)


_CONV_T_DOC = """{rank}-D transposed convolution, like ``torch.nn.functional.{fn}``.

    The adjoint of ``conv{rank}d`` with respect to its input: each input value scatters a copy of
    its filters, weighted by the value, into the output at ``i * stride + k * dilation - padding``.
    It upsamples (stride > 1) and is the gradient of a conv with respect to its input.

    Parameters
    ----------
    input : (N, C, {names}) or unbatched (C, {names})
    weight : (C, out_channels // groups, {knames})
    bias : (out_channels,), optional
    stride, padding, output_padding, dilation : int or tuple of {rank} ints
        ``output_padding`` adds size on one side, to pick among the input sizes a strided conv
        maps to the same output size; each value must be smaller than stride or dilation.
    groups : int dividing C and out_channels

    Returns
    -------
    (N, out_channels, {onames}), each size ``(size - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``.
    """


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transposend(1, "conv_transpose1d", input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transposend(2, "conv_transpose2d", input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transposend(3, "conv_transpose3d", input, weight, bias, stride, padding, output_padding, groups, dilation)


for _f, _r, _names, _k, _o in ((conv_transpose1d, 1, "L", "kL", "L_out"),
                               (conv_transpose2d, 2, "H, W", "kH, kW", "H_out, W_out"),
                               (conv_transpose3d, 3, "D, H, W", "kD, kH, kW", "D_out, H_out, W_out")):
    _f.__doc__ = _CONV_T_DOC.format(rank=_r, fn=_f.__name__, names=_names, knames=_k, onames=_o)


# --------------------------------------------------------------------------- activations

def _float_operand(value, name: str, fn: str):
    """A Tensor passes through; anything else becomes a floating array (ints -> default dtype)."""
    if isinstance(value, Tensor):
        if value.dtype.kind != "f":
            raise TypeError(f"{fn}: {name} expects a floating Tensor, but got dtype {value.dtype}")
        return value
    arr = V.as_float_array(value, name, fn)
    return arr if arr.dtype.kind == "f" else arr.astype(V.result_float_dtype(arr))


class _Unary(Function):
    """An elementwise op given as (forward, backward, keep) where keep says what backward needs."""

    @staticmethod
    def forward(ctx, x, *, op, backward, keep, **kw):
        y = op(x, **kw)
        ctx.save_for_backward(x if keep == "input" else y)
        ctx.backward_fn, ctx.kw = backward, kw
        return y

    @staticmethod
    def backward(ctx, g):
        return (ctx.backward_fn(g, ctx.saved[0], **ctx.kw),)


def relu(input, inplace: bool = False):
    """max(input, 0) elementwise. ``inplace`` is accepted for PyTorch compatibility and ignored
    (convscope never modifies its inputs)."""
    x = _float_operand(input, "input", "relu")
    return _Unary.apply(x, op=act_ops.relu, backward=act_ops.relu_backward, keep="input")


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """input where input > 0, else negative_slope * input."""
    x = _float_operand(input, "input", "leaky_relu")
    if not isinstance(negative_slope, (int, float)) or isinstance(negative_slope, bool):
        raise TypeError(f"leaky_relu: negative_slope expects a float, but got {negative_slope!r}")
    return _Unary.apply(x, op=act_ops.leaky_relu, backward=act_ops.leaky_relu_backward, keep="input",
                        slope=float(negative_slope))


def sigmoid(input):
    """1 / (1 + exp(-input)), computed without overflow."""
    x = _float_operand(input, "input", "sigmoid")
    return _Unary.apply(x, op=act_ops.sigmoid, backward=act_ops.sigmoid_backward, keep="output")


def tanh(input):
    x = _float_operand(input, "input", "tanh")
    return _Unary.apply(x, op=act_ops.tanh, backward=act_ops.tanh_backward, keep="output")


def _check_dim(dim, ndim: int, fn: str) -> int:
    if dim is None:
        raise ValueError(f"{fn}: dim expects an int (PyTorch's implicit choice is deprecated), but got None")
    dim = V.check_int(dim, "dim", fn)
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise ValueError(f"{fn}: dim expects a value in [{-ndim}, {ndim - 1}] for a {ndim}-D input, but got {dim}")
    return dim % max(ndim, 1)


def softmax(input, dim: int):
    """exp(x) / sum(exp(x)) along ``dim``, shifted by the max for stability."""
    x = _float_operand(input, "input", "softmax")
    axis = _check_dim(dim, np.ndim(x.data if isinstance(x, Tensor) else x), "softmax")
    return _Unary.apply(x, op=act_ops.softmax, backward=act_ops.softmax_backward, keep="output", axis=axis)


def log_softmax(input, dim: int):
    """x - logsumexp(x) along ``dim``."""
    x = _float_operand(input, "input", "log_softmax")
    axis = _check_dim(dim, np.ndim(x.data if isinstance(x, Tensor) else x), "log_softmax")
    return _Unary.apply(x, op=act_ops.log_softmax, backward=act_ops.log_softmax_backward, keep="output", axis=axis)


# --------------------------------------------------------------------------- linear, dropout

class _Linear(Function):
    @staticmethod
    def forward(ctx, x, w, b):
        dtype = V.result_float_dtype(x, w, b)
        xx, ww = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
        ctx.save_for_backward(xx, ww)
        ctx.dtypes = (x.dtype, w.dtype, None if b is None else b.dtype)
        return linear_ops.linear(xx, ww, None if b is None else b.astype(dtype, copy=False))

    @staticmethod
    def backward(ctx, g):
        xx, ww = ctx.saved
        return _cast_grads(linear_ops.linear_backward(g.astype(xx.dtype, copy=False), xx, ww, ctx.needs_input_grad),
                           ctx.dtypes)


def linear(input, weight, bias=None):
    """y = input @ weight.T + bias, over the last axis.

    Parameters
    ----------
    input : (*, in_features)
    weight : (out_features, in_features)
    bias : (out_features,), optional

    Returns
    -------
    (*, out_features)
    """
    fn = "linear"
    x, w = _array(input, "input", fn), _array(weight, "weight", fn)
    b = None if bias is None else _array(bias, "bias", fn)
    if w.ndim != 2:
        raise ValueError(f"{fn}: weight expects 2 dimensions (out_features, in_features), but got shape {w.shape}")
    if x.ndim < 1 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"{fn}: input expects {w.shape[1]} features in its last dimension (weight.shape[1]), "
                         f"but got shape {x.shape}")
    if b is not None and b.shape != (w.shape[0],):
        raise ValueError(f"{fn}: bias expects shape ({w.shape[0]},), but got {b.shape}")
    return _Linear.apply(input if isinstance(input, Tensor) else x, weight if isinstance(weight, Tensor) else w,
                         bias if (bias is None or isinstance(bias, Tensor)) else b)


class _Mask(Function):
    @staticmethod
    def forward(ctx, x, *, mask):
        ctx.mask = mask
        return x * mask

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.mask,)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False, generator=None):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``
    (inverted dropout, as PyTorch), in training only; identity otherwise.

    ``generator`` defaults to convscope's seeded global generator.
    """
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"dropout: p expects a probability in [0, 1], but got {p!r}")
    x = _float_operand(input, "input", "dropout")
    if not training or p == 0:
        return x
    data = x.data if isinstance(x, Tensor) else x
    rng = generator if generator is not None else _random.get_generator()
    if p == 1:
        mask = np.zeros(data.shape, dtype=data.dtype)
    else:
        mask = (rng.random(data.shape, dtype=np.float32) >= p).astype(data.dtype) * data.dtype.type(1 / (1 - p))
    return _Mask.apply(x, mask=mask)


# --------------------------------------------------------------------------- batch norm

class _BatchNorm(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, *, running_mean, running_var, training, momentum, eps):
        if training:
            y, mean, var_unbiased, cache = norm_ops.batch_norm_train(x, weight, bias, eps)
            if running_mean is not None:
                # In-place update of the module's buffers, as PyTorch does.
                running_mean *= 1 - momentum
                running_mean += momentum * mean.astype(running_mean.dtype)
                running_var *= 1 - momentum
                running_var += momentum * var_unbiased.astype(running_var.dtype)
            ctx.save_for_backward(cache)
            ctx.training = True
            return y
        y, _ = norm_ops.batch_norm_eval(x, running_mean, running_var, weight, bias, eps)
        ctx.save_for_backward(x, running_mean.copy(), running_var.copy(), weight, eps)
        ctx.training = False
        return y

    @staticmethod
    def backward(ctx, g):
        if ctx.training:
            gx, gw, gb = norm_ops.batch_norm_train_backward(g, ctx.saved[0])
        else:
            gx, gw, gb = norm_ops.batch_norm_eval_backward(g, *ctx.saved)
        return gx, gw, gb


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5):
    """Batch normalisation over axis 1 of (N, C, *spatial), like ``torch.nn.functional.batch_norm``.

    In training, normalises with the batch's mean and biased variance and, when running stats are
    given, updates them in place: ``running = (1 - momentum) * running + momentum * batch_stat``
    (the unbiased variance for ``running_var``). In eval, uses the running stats.
    """
    fn = "batch_norm"
    x = _float_operand(input, "input", fn)
    data = x.data if isinstance(x, Tensor) else x
    if data.ndim < 2:
        raise ValueError(f"{fn}: input expects at least 2 dimensions (N, C, ...), but got shape {data.shape}")
    C = data.shape[1]
    rm = None if running_mean is None else np.asarray(running_mean.data if isinstance(running_mean, Tensor) else running_mean)
    rv = None if running_var is None else np.asarray(running_var.data if isinstance(running_var, Tensor) else running_var)
    for name, v in (("running_mean", rm), ("running_var", rv), ("weight", weight), ("bias", bias)):
        if v is not None and np.shape(v.data if isinstance(v, Tensor) else v) != (C,):
            raise ValueError(f"{fn}: {name} expects shape ({C},) (one per channel), but got "
                             f"{np.shape(v.data if isinstance(v, Tensor) else v)}")
    if not training and (rm is None or rv is None):
        raise ValueError(f"{fn}: eval mode expects running_mean and running_var, but got None")
    eps = V.check_real(eps, "eps", fn)
    momentum = V.check_real(momentum, "momentum", fn)
    if training and data.size // max(C, 1) <= 1:
        raise ValueError(f"{fn}: training expects more than 1 value per channel, but got input shape {data.shape}")
    w = weight if (weight is None or isinstance(weight, Tensor)) else np.asarray(weight, dtype=data.dtype)
    b = bias if (bias is None or isinstance(bias, Tensor)) else np.asarray(bias, dtype=data.dtype)
    if w is None and b is not None:
        w = np.ones(C, dtype=data.dtype)
    if b is None and w is not None:
        b = np.zeros(C, dtype=data.dtype)
    return _BatchNorm.apply(x, w, b, running_mean=rm, running_var=rv, training=training,
                            momentum=momentum, eps=eps)


# --------------------------------------------------------------------------- losses

class _CrossEntropy(Function):
    @staticmethod
    def forward(ctx, logits, *, target, weight, ignore_index, reduction, label_smoothing):
        loss, cache = loss_ops.cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing)
        ctx.save_for_backward(cache)
        return loss

    @staticmethod
    def backward(ctx, g):
        return (loss_ops.cross_entropy_backward(g, ctx.saved[0]),)


_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction, fn):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction expects 'mean', 'sum' or 'none', but got {reduction!r}")


def cross_entropy(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0):
    """Cross-entropy between class scores (logits) and class indices, like PyTorch's.

    Parameters
    ----------
    input : (N, C) or (N, C, *d) unnormalised scores
    target : (N,) or (N, *d) integer class indices in [0, C) (or ``ignore_index``)
    weight : (C,), optional per-class weights
    reduction : 'mean' (divided by the summed weight of counted targets), 'sum' or 'none'
    label_smoothing : float in [0, 1]: the target becomes (1 - s) one-hot + s / C uniform
    """
    fn = "cross_entropy"
    x = _float_operand(input, "input", fn)
    data = x.data if isinstance(x, Tensor) else x
    t = np.asarray(target.data if isinstance(target, Tensor) else target)
    _check_reduction(reduction, fn)
    if data.ndim < 2:
        raise ValueError(f"{fn}: input expects (N, C) or (N, C, d1, ...) class scores, but got shape {data.shape}")
    if t.dtype.kind not in "iu":
        raise TypeError(f"{fn}: target expects integer class indices, but got dtype {t.dtype}")
    ignore_index = V.check_int(ignore_index, "ignore_index", fn)
    want = (data.shape[0],) + data.shape[2:]
    if t.shape != want:
        raise ValueError(f"{fn}: target expects shape {want} for input of shape {data.shape}, but got {t.shape}")
    C = data.shape[1]
    bad = (t != ignore_index) & ((t < 0) | (t >= C))
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{fn}: target expects class indices in [0, {C}) or ignore_index={ignore_index}, but got "
                         f"{int(t[pos])} at position {pos if len(pos) > 1 else pos[0]}")
    label_smoothing = V.check_real(label_smoothing, "label_smoothing", fn, low=0, high=1)
    w = None
    if weight is not None:
        w = _array(weight, "weight", fn).astype(data.dtype)
        if w.shape != (C,):
            raise ValueError(f"{fn}: weight expects shape ({C},) (one per class), but got {w.shape}")
    return _CrossEntropy.apply(x, target=t.astype(np.int64), weight=w, ignore_index=ignore_index,
                               reduction=reduction, label_smoothing=float(label_smoothing))


class _NLL(Function):
    @staticmethod
    def forward(ctx, logp, *, target, weight, ignore_index, reduction):
        loss, cache = loss_ops.nll_loss(logp, target, weight, ignore_index, reduction)
        ctx.save_for_backward(cache)
        return loss

    @staticmethod
    def backward(ctx, g):
        return (loss_ops.nll_loss_backward(g, ctx.saved[0]),)


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    """Negative log-likelihood of log-probabilities (pair with log_softmax), like PyTorch's.

    ``input`` (N, C) or (N, C, *d), ``target`` (N,) or (N, *d) class indices; reductions,
    ``weight`` and ``ignore_index`` as :func:`cross_entropy`. The mean over an empty batch (or
    over only ignored targets) is NaN, as in PyTorch.
    """
    fn = "nll_loss"
    x = _float_operand(input, "input", fn)
    data = x.data if isinstance(x, Tensor) else x
    t = np.asarray(target.data if isinstance(target, Tensor) else target)
    _check_reduction(reduction, fn)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{fn}: target expects integer class indices, but got dtype {t.dtype}")
    if data.ndim < 2 or t.shape != (data.shape[0],) + data.shape[2:]:
        raise ValueError(f"{fn}: input (N, C, ...) and target (N, ...) expect matching shapes, but got "
                         f"{data.shape} and {t.shape}")
    ignore_index = V.check_int(ignore_index, "ignore_index", fn)
    C = data.shape[1]
    keep = t != ignore_index
    if ((t < 0) | (t >= C))[keep].any():
        raise ValueError(f"{fn}: target expects class indices in [0, {C}), but got values outside")
    w = None
    if weight is not None:
        w = _array(weight, "weight", fn).astype(data.dtype)
        if w.shape != (C,):
            raise ValueError(f"{fn}: weight expects shape ({C},) (one per class), but got {w.shape}")
    return _NLL.apply(x, target=t.astype(np.int64), weight=w, ignore_index=ignore_index, reduction=reduction)


def _raw_array(value):
    return value.data if isinstance(value, Tensor) else value


class _MSE(Function):
    @staticmethod
    def forward(ctx, x, y, *, reduction):
        ctx.save_for_backward(x, y)
        ctx.reduction = reduction
        return loss_ops.mse(x, y, reduction)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        gx = loss_ops.mse_backward(g, x, y, ctx.reduction)
        return gx, -gx


def mse_loss(input, target, reduction: str = "mean"):
    """Mean (or summed) squared error; shapes must match exactly (no silent broadcasting)."""
    fn = "mse_loss"
    x, t = _float_operand(input, "input", fn), _float_operand(target, "target", fn)
    _check_reduction(reduction, fn)
    if np.shape(_raw_array(x)) != np.shape(_raw_array(t)):
        raise ValueError(f"{fn}: target expects the input's shape {np.shape(_raw_array(x))}, but got "
                         f"{np.shape(_raw_array(t))}")
    return _MSE.apply(x, t, reduction=reduction)


def flatten(input, start_dim: int = 1, end_dim: int = -1):
    """Merge dims ``start_dim..end_dim`` into one (``Flatten``'s default keeps the batch dim)."""
    fn = "flatten"
    nd = max(np.ndim(input.data if isinstance(input, Tensor) else input), 1)
    dims = []
    for name, dim in (("start_dim", start_dim), ("end_dim", end_dim)):
        dim = V.check_int(dim, name, fn)
        if not -nd <= dim < nd:
            raise ValueError(f"{fn}: {name} expects a value in [{-nd}, {nd - 1}] for a {nd}-D input, but got {dim}")
        dims.append(dim % nd)
    start, end = dims
    if start > end:
        raise ValueError(f"{fn}: start_dim expects a dim at or before end_dim, but got start_dim={start_dim} "
                         f"and end_dim={end_dim} for a {nd}-D input")
    x = input if isinstance(input, Tensor) else np.asarray(input)
    # An explicit size, not -1: reshape cannot infer -1 when another dim is 0.
    shape = (1,) if x.ndim == 0 else x.shape[:start] + (math.prod(x.shape[start:end + 1]),) + x.shape[end + 1:]
    return x.reshape(shape)


# --------------------------------------------------------------------------- pooling

class _Batched(Function):
    """Runs a pooling op on (N, C, *s) or unbatched (C, *s) input; backward(g, cache) -> gx."""

    @staticmethod
    def forward(ctx, x, *, n, forward, backward):
        batched = x.ndim == n + 2
        xx = x if batched else x[None]
        y, cache = forward(xx)
        ctx.save_for_backward(cache, xx.shape)
        ctx.batched, ctx.backward_fn = batched, backward
        return y if batched else y[0]

    @staticmethod
    def backward(ctx, g):
        cache, shape = ctx.saved
        gg = g if ctx.batched else g[None]
        gx = ctx.backward_fn(gg, cache, shape)
        return (gx if ctx.batched else gx[0],)


def _pool_input(input, n: int, fn: str, *, empty_channels: bool = False, keep_integers: bool = False):
    """The operand of a pool and its spatial shape, with PyTorch's rule for empty dims: only the
    batch dim N of a batched input may be 0 (and the channels too where ``empty_channels``, as
    PyTorch's adaptive average pools allow). ``keep_integers`` keeps an integer array or Tensor
    in its dtype (max pooling is exact on integers) instead of casting it to floating."""
    if keep_integers and (input.dtype if isinstance(input, Tensor) else np.asarray(input).dtype).kind in "iu":
        x = input if isinstance(input, Tensor) else np.asarray(input)
    else:
        x = _float_operand(input, "input", fn)
    data = x.data if isinstance(x, Tensor) else x
    names = _SPATIAL_NAMES[n]
    if data.ndim not in (n + 1, n + 2):
        raise ValueError(f"{fn}: input expects {n + 1} dimensions (C, {names}) or {n + 2} (N, C, {names}), "
                         f"but got shape {data.shape}")
    batched = data.ndim == n + 2
    first = (2 if batched else 1) if empty_channels else (1 if batched else 0)
    V.check_nonempty(data.shape, fn, "input", first=first,
                     dims=(("N",) if batched else ()) + ("C",) + tuple(names.split(", ")))
    return x, data.shape[-n:]


def _pool_geometry(n, fn, spatial, kernel_size, stride, padding, dilation, ceil_mode):
    kernel = V.to_tuple(kernel_size, n, "kernel_size", fn, minimum=1)
    stride = kernel if (stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)) \
        else V.to_tuple(stride, n, "stride", fn, minimum=1)
    padding = V.to_tuple(padding, n, "padding", fn, minimum=0)
    dilation = V.to_tuple(dilation, n, "dilation", fn, minimum=1)
    for p, k in zip(padding, kernel):
        if p > k // 2:
            raise ValueError(f"{fn}: padding expects at most half the kernel size (kernel_size // 2), but got "
                             f"padding={padding} for kernel_size={kernel}")
    out = pool_ops.pool_output_shape(spatial, kernel, stride, padding, dilation, bool(ceil_mode))
    if min(out) <= 0:
        raise ValueError(f"{fn}: input of spatial size {tuple(spatial)} expects to hold at least one window of "
                         f"kernel_size={kernel} (dilation={dilation}, padding={padding}), but the output would be {out}")
    # Flat indices into the padded plane (and the tap numbers of a window) must fit int64.
    padded = tuple(size + 2 * p for size, p in zip(spatial, padding))
    V.check_addressable(padded, 8, fn, "a padded input plane", f"kernel_size={kernel} with padding={padding}")
    # Values that change nothing, so that the ops' int64 arithmetic never sees a huge one: a 1-tap
    # window ignores its dilation; a dilation past the padded input (possible with ceil_mode only,
    # and only with a single window) leaves tap 0 the only one that reads an input element; a dim
    # with one window ignores its stride once that is past the window's whole reach.
    dilation = tuple(1 if k == 1 else min(d, size) for k, d, size in zip(kernel, dilation, padded))
    stride = tuple(s if o > 1 else min(s, size + d * (k - 1) + 1)
                   for s, o, size, d, k in zip(stride, out, padded, dilation, kernel))
    return kernel, stride, padding, dilation


def _max_poolnd(n, fn, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, spatial = _pool_input(input, n, fn, keep_integers=True)
    kernel, stride, padding, dilation = _pool_geometry(n, fn, spatial, kernel_size, stride, padding, dilation,
                                                       ceil_mode)
    holder = {}

    def forward(xx):
        y, idx = pool_ops.max_pool_forward(xx, kernel, stride, padding, dilation, bool(ceil_mode))
        holder["indices"] = idx
        return y, idx

    y = _Batched.apply(x, n=n, forward=forward,
                       backward=lambda g, idx, shape: pool_ops.max_pool_backward(g, idx, shape))
    if return_indices:
        idx = holder["indices"]
        data = x.data if isinstance(x, Tensor) else x
        idx = idx if data.ndim == n + 2 else idx[0]
        return y, (Tensor(idx) if isinstance(y, Tensor) else idx)
    return y


def _avg_poolnd(n, fn, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    x, spatial = _pool_input(input, n, fn)
    kernel, stride, padding, _ = _pool_geometry(n, fn, spatial, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None:
        divisor_override = V.check_int(divisor_override, "divisor_override", fn, minimum=1)
    args = (kernel, stride, padding, bool(ceil_mode), bool(count_include_pad), divisor_override)
    return _Batched.apply(
        x, n=n, forward=lambda xx: (pool_ops.avg_pool_forward(xx, *args), None),
        backward=lambda g, _, shape: pool_ops.avg_pool_backward(g, shape, *args))


def _adaptive_avg_poolnd(n, fn, input, output_size):
    # PyTorch lets N and C be 0 here (its 3-D version refuses C == 0 when batched; convscope does not).
    x, spatial = _pool_input(input, n, fn, empty_channels=True)
    if isinstance(output_size, (tuple, list)):
        output_size = tuple(s if s is not None else size for s, size in zip(output_size, spatial)) \
            if len(output_size) == n else output_size
    out = V.to_tuple(output_size, n, "output_size", fn, minimum=1)
    data = x.data if isinstance(x, Tensor) else x
    V.check_addressable(data.shape[:-n] + out, data.itemsize, fn, "an output", f"output_size={output_size!r}")
    return _Batched.apply(
        x, n=n, forward=lambda xx: (pool_ops.adaptive_avg_pool_forward(xx, out), None),
        backward=lambda g, _, shape: pool_ops.adaptive_avg_pool_backward(g, shape))


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_poolnd(1, "max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over each window of a (N, C, H, W) input, like ``torch.nn.functional.max_pool2d``.

    ``stride`` defaults to ``kernel_size``; padding is implicit -inf (an integer input's minimum:
    integer input is pooled exactly, in its dtype) and at most half the kernel;
    each output size is ``floor((size + 2p - d(k - 1) - 1) / s) + 1`` (``ceil`` with
    ``ceil_mode``, dropping a last window that would start in the right padding). The gradient
    goes to each window's maximum (the first one in scan order on ties). With
    ``return_indices`` also returns the flat index of each maximum within its input plane.

    A dilated window whose taps all fall in the padding gives ``-inf`` with index -1 and passes
    no gradient (PyTorch reports an index outside the window there and writes its gradient to it).
    """
    return _max_poolnd(2, "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_poolnd(3, "max_pool3d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    return _avg_poolnd(1, "avg_pool1d", input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over each window of a (N, C, H, W) input, like ``torch.nn.functional.avg_pool2d``.

    The divisor counts the zero padding when ``count_include_pad`` (never positions past the
    padding that ``ceil_mode`` adds), only real inputs otherwise, or is ``divisor_override``.
    """
    return _avg_poolnd(2, "avg_pool2d", input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    return _avg_poolnd(3, "avg_pool3d", input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)


def adaptive_avg_pool1d(input, output_size):
    return _adaptive_avg_poolnd(1, "adaptive_avg_pool1d", input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """Average into ``output_size`` bins per dim whatever the input size; bin ``i`` of a dim of
    size ``n`` covers ``[floor(i n / out), ceil((i + 1) n / out))``. ``None`` keeps a dim's size."""
    return _adaptive_avg_poolnd(2, "adaptive_avg_pool2d", input, output_size)


def adaptive_avg_pool3d(input, output_size):
    return _adaptive_avg_poolnd(3, "adaptive_avg_pool3d", input, output_size)


# --------------------------------------------------------------------------- resizing

import math as _math  # noqa: E402  (appended section: resizing)
import numbers as _numbers  # noqa: E402

from ..ops import resize as resize_ops  # noqa: E402

_INTERPOLATE_MODES = {"nearest": None, "linear": 1, "bilinear": 2, "trilinear": 3}
_LINEAR_MODE_NAMES = {1: "linear", 2: "bilinear", 3: "trilinear"}


class _Interpolate(Function):
    @staticmethod
    def forward(ctx, x, *, out, mode, align_corners, scales, shortcuts):
        ctx.save_for_backward(x.shape)
        ctx.options = (mode, align_corners, scales, shortcuts)
        return resize_ops.interpolate_forward(x, out, *ctx.options)

    @staticmethod
    def backward(ctx, g):
        (shape,) = ctx.saved
        return (resize_ops.interpolate_backward(g, shape, *ctx.options),)


def _scale_factors(scale_factor, n: int, fn: str) -> tuple[float, ...]:
    def real(v):
        return isinstance(v, _numbers.Real) and not isinstance(v, (bool, np.bool_))

    if real(scale_factor):
        items = (scale_factor,) * n
    elif isinstance(scale_factor, (tuple, list)):
        items = tuple(scale_factor)
        if len(items) != n:
            raise ValueError(f"{fn}: scale_factor expects a number or {n} numbers (one per spatial dim), but got "
                             f"{len(items)} values {items!r}")
    else:
        raise TypeError(f"{fn}: scale_factor expects a number or a tuple of {n} numbers, but got {scale_factor!r} "
                        f"({type(scale_factor).__name__})")
    for v in items:
        if not real(v) or not _math.isfinite(v) or v <= 0:
            raise ValueError(f"{fn}: scale_factor expects positive finite numbers, but got {scale_factor!r}")
    return tuple(float(v) for v in items)


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False):
    """Resize the spatial dims of ``input`` (up- or downsampling), like ``torch.nn.functional.interpolate``.

    Nearest-neighbour or (bi/tri)linear interpolation, separable over the dims, with PyTorch's
    exact index arithmetic (see :mod:`convscope.ops.resize`); the gradient sends each output's
    gradient back to the input pixels it was interpolated from, with the same weights. This is
    the decoder's upsampling in segmentation nets (e.g. DeepLab: Chen et al., 2017, "Rethinking
    Atrous Convolution for Semantic Image Segmentation", which bilinearly upsamples the logits
    to the input size).

    Parameters
    ----------
    input : (N, C, L), (N, C, H, W) or (N, C, D, H, W) array or Tensor
    size : int or tuple of ints, optional
        The output's spatial size (one int for all dims, or one per dim).
    scale_factor : float or tuple of floats, optional
        Multiplier of each spatial size: ``out = floor(size * scale_factor)``. Exactly one of
        ``size`` and ``scale_factor`` is given.
    mode : {'nearest', 'linear', 'bilinear', 'trilinear'}
        ``'nearest'`` picks input ``min(floor(o * scale), size - 1)`` (PyTorch's legacy nearest);
        ``'linear'``, ``'bilinear'`` and ``'trilinear'`` are for 3-, 4- and 5-D input.
    align_corners : bool, optional
        Linear modes only (default False). True maps the corner pixels' centres onto each other
        (step ``(size - 1) / (out - 1)``); False treats pixels as areas (step ``size / out``, or
        ``1 / scale_factor`` when one is given), clamping coordinates at the edges.
    recompute_scale_factor : bool, optional
        With ``scale_factor``, True computes the output size and then interpolates as if that
        size had been given (the step becomes ``size / out``).
    antialias : bool
        Only False (anti-aliased downsampling is not implemented).

    Returns
    -------
    (N, C, *out) array or Tensor of the input's floating dtype (integer input becomes float32).

    Raises
    ------
    ValueError
        Both or neither of ``size`` and ``scale_factor``; an input rank the mode does not take;
        ``align_corners`` with ``'nearest'``; a size or scale giving an empty output.
    TypeError
        A non-integer size or non-numeric scale factor.

    Notes
    -----
    For 4-D input in mode ``'nearest'``, PyTorch copies a dim whose size is unchanged and uses
    ``o // 2`` for a dim whose size doubles, whatever the scale factor; its 3-D and 5-D kernels
    do not. convscope reproduces both. In the linear modes a dim of unchanged size is copied.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.interpolate(np.array([[[[1., 2.], [3., 4.]]]]), scale_factor=2, mode="bilinear")[0, 0]
    array([[1.  , 1.25, 1.75, 2.  ],
           [1.5 , 1.75, 2.25, 2.5 ],
           [2.5 , 2.75, 3.25, 3.5 ],
           [3.  , 3.25, 3.75, 4.  ]])
    """
    fn = "interpolate"
    x = _float_operand(input, "input", fn)
    data = x.data if isinstance(x, Tensor) else x
    if not isinstance(mode, str) or mode not in _INTERPOLATE_MODES:
        raise ValueError(f"{fn}: mode expects one of {', '.join(map(repr, _INTERPOLATE_MODES))}, but got {mode!r}")
    if data.ndim not in (3, 4, 5):
        raise ValueError(f"{fn}: input expects 3, 4 or 5 dimensions (N, C, *spatial), but got shape {data.shape}")
    n = data.ndim - 2
    if _INTERPOLATE_MODES[mode] not in (None, n):
        raise ValueError(f"{fn}: mode {mode!r} expects a {_INTERPOLATE_MODES[mode] + 2}-D input, but got shape "
                         f"{data.shape} (use mode {_LINEAR_MODE_NAMES[n]!r})")
    if mode == "nearest":
        if align_corners is not None:
            raise ValueError(f"{fn}: align_corners applies to the linear modes only, but got "
                             f"align_corners={align_corners!r} with mode 'nearest'")
        align_corners = False
    elif align_corners is None:
        align_corners = False
    elif not isinstance(align_corners, (bool, np.bool_)):
        raise TypeError(f"{fn}: align_corners expects a bool or None, but got {align_corners!r}")
    if antialias:
        raise ValueError(f"{fn}: antialias expects False (anti-aliased resizing is not implemented), "
                         f"but got {antialias!r}")
    spatial = data.shape[2:]
    if (size is None) == (scale_factor is None):
        which = "both" if size is not None else "neither"
        raise ValueError(f"{fn}: expects exactly one of size and scale_factor, but got {which}")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError(f"{fn}: recompute_scale_factor applies to scale_factor only, but size was given")
        out = V.to_tuple(size, n, "size", fn, minimum=1)
        scales = (None,) * n
    else:
        factors = _scale_factors(scale_factor, n, fn)
        if not all(_math.isfinite(float(length) * f) for length, f in zip(spatial, factors)):
            raise ValueError(f"{fn}: scale_factor={scale_factor!r} expects a finite output size, but size x "
                             f"scale_factor overflows for input size {tuple(spatial)}")
        out = resize_ops.output_size(spatial, factors)
        if min(out) < 1:
            raise ValueError(f"{fn}: scale_factor={scale_factor!r} expects to give output sizes >= 1, but gives "
                             f"{out} for input size {tuple(spatial)}")
        scales = (None,) * n if recompute_scale_factor else factors
    if min(spatial) < 1:
        raise ValueError(f"{fn}: input expects spatial sizes >= 1, but got shape {data.shape}")
    V.check_addressable(data.shape[:2] + tuple(out), data.itemsize, fn, "an output",
                        f"size={size!r}" if size is not None else f"scale_factor={scale_factor!r}")
    return _Interpolate.apply(x, out=out, mode="nearest" if mode == "nearest" else "linear",
                              align_corners=bool(align_corners), scales=scales,
                              shortcuts=(mode == "nearest" and n == 2))
