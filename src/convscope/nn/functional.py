"""PyTorch-shaped functional ops: ``import convscope.nn.functional as F``.

Every op takes NumPy arrays (or anything ``np.asarray`` accepts) or :class:`convscope.Tensor`\\ s.
Given arrays it returns an array; given a Tensor it returns a Tensor and, when an input requires
grad, records itself for ``backward``. Arguments are checked here, once; errors name the function,
the argument, what was expected and what was received.

Dtypes: float32 and float64 are computed as they are; float32 mixed with float64 computes in
float64; float16 computes in float32; integer and bool operands are cast to the floating dtype
of the other operands, or to float32 when none is floating. PyTorch refuses mixed or integer
operands instead; convscope converts, so ``F.conv2d(uint8_image, kernel)`` just works.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _validation as V
from ..autograd import Function, Tensor
from ..ops import conv as conv_ops
from ..ops import pad as pad_ops

__all__ = [
    "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "pad",
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
    # PyTorch order is last dim first; the op wants axis order.
    pairs = tuple((flat[i], flat[i + 1]) for i in range(len(flat) - 2, -1, -2))
    _check_pads(x, pairs, mode, fn, "pad")
    return _Pad.apply(input if isinstance(input, Tensor) else x, pads=pairs, mode=mode,
                      value=0.0 if value is None else value)


# --------------------------------------------------------------------------- conv

class _Conv(Function):
    """Conv of (possibly unbatched) input; casts operands to one floating dtype."""

    @staticmethod
    def forward(ctx, x, w, b, *, stride, padding, dilation, groups):
        dtype = V.result_float_dtype(x, w, b)
        batched = x.ndim == w.ndim
        xx = x.astype(dtype, copy=False) if batched else x.astype(dtype, copy=False)[None]
        ww = w.astype(dtype, copy=False)
        bb = None if b is None else b.astype(dtype, copy=False)
        ctx.save_for_backward(xx, ww)
        ctx.options = (stride, padding, dilation, groups)
        ctx.meta = (batched, x.dtype, w.dtype, None if b is None else b.dtype)
        y = conv_ops.conv_forward(xx, ww, bb, stride, padding, dilation, groups)
        return y if batched else y[0]

    @staticmethod
    def backward(ctx, grad):
        xx, ww = ctx.saved
        batched, *dtypes = ctx.meta
        gy = grad.astype(xx.dtype, copy=False)
        gy = gy if batched else gy[None]
        gx, gw, gb = conv_ops.conv_backward(gy, xx, ww, *ctx.options, needs=ctx.needs_input_grad)
        if gx is not None and not batched:
            gx = gx[0]
        return _cast_grads((gx, gw, gb), dtypes)


class _ConvTranspose(Function):
    @staticmethod
    def forward(ctx, x, w, b, *, stride, padding, output_padding, dilation, groups):
        dtype = V.result_float_dtype(x, w, b)
        batched = x.ndim == w.ndim
        xx = x.astype(dtype, copy=False) if batched else x.astype(dtype, copy=False)[None]
        ww = w.astype(dtype, copy=False)
        bb = None if b is None else b.astype(dtype, copy=False)
        ctx.save_for_backward(xx, ww)
        ctx.options = (stride, padding, output_padding, dilation, groups)
        ctx.meta = (batched, x.dtype, w.dtype, None if b is None else b.dtype)
        y = conv_ops.conv_transpose_forward(xx, ww, bb, stride, padding, output_padding, dilation, groups)
        return y if batched else y[0]

    @staticmethod
    def backward(ctx, grad):
        xx, ww = ctx.saved
        batched, *dtypes = ctx.meta
        gy = grad.astype(xx.dtype, copy=False)
        gy = gy if batched else gy[None]
        gx, gw, gb = conv_ops.conv_transpose_backward(gy, xx, ww, *ctx.options, needs=ctx.needs_input_grad)
        if gx is not None and not batched:
            gx = gx[0]
        return _cast_grads((gx, gw, gb), dtypes)


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
        Wrong rank, channels not matching weight and groups, kernel larger than the padded input,
        stride or dilation < 1, bad padding string or padding_mode.
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
