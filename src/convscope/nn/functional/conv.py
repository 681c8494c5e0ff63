"""Convolutions: ``conv1d/2d/3d`` and ``conv_transpose1d/2d/3d`` over one N-d preamble
(:mod:`convscope.ops.conv`)."""

from __future__ import annotations

import numpy as np

from ... import _validation as V
from ...autograd import Function, Tensor
from ...ops import conv as conv_ops
from ._common import KERNEL_NAMES, SPATIAL_NAMES, as_array, cast_grads
from .pad import PadFunction, _check_pads

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "ConvFunctionBase", "ConvFunction", "ConvTransposeFunction"]

_CONV_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class ConvFunctionBase(Function):
    """A conv-like op of (possibly unbatched) input: casts the operands to one floating dtype,
    adds the batch axis if missing, and hands the arrays to ``op``/``grad`` (set by subclasses).

    Examples
    --------
    >>> from convscope.nn.functional import ConvFunction, ConvFunctionBase, ConvTransposeFunction
    >>> issubclass(ConvFunction, ConvFunctionBase), issubclass(ConvTransposeFunction, ConvFunctionBase)
    (True, True)
    >>> ConvTransposeFunction.option_names      # the order op and grad take the options in
    ('stride', 'padding', 'output_padding', 'dilation', 'groups')
    """

    op = grad = None
    option_names: tuple[str, ...] = ()          # the order in which ``op`` and ``grad`` take the options

    @classmethod
    def describe(cls, arrays, options, output):
        """``conv2d`` (the rank from the weight) and kernel, stride, padding, ..., output_size."""
        n = np.ndim(arrays[1]) - 2
        geometry = {"kernel": tuple(int(k) for k in np.shape(arrays[1])[2:])}
        geometry.update((key, tuple(options[key]) if isinstance(options[key], (tuple, list)) else options[key])
                        for key in cls.option_names)
        geometry["output_size"] = tuple(np.shape(output)[-n:]) if n > 0 else ()
        return f"{cls.name}{n}d", geometry

    @classmethod
    def forward(cls, ctx, x, w, b, **options):
        dtype = V.result_float_dtype(x, w, b)
        batched = x.ndim == w.ndim
        xx = x.astype(dtype, copy=False) if batched else x.astype(dtype, copy=False)[None]
        ww = w.astype(dtype, copy=False)
        bb = None if b is None else b.astype(dtype, copy=False)
        ctx.save_for_backward(xx, ww)
        ctx.options = tuple(options[key] for key in cls.option_names)
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
        return cast_grads((gx, gw, gb), dtypes)


class ConvFunction(ConvFunctionBase):
    """Options, in order: stride, padding (one (before, after) pair per dim), dilation, groups.

    Examples
    --------
    >>> import numpy as np
    >>> x, w = np.ones((1, 1, 5, 5)), np.ones((2, 1, 3, 3))
    >>> options = dict(stride=(2, 2), padding=((1, 1), (1, 1)), dilation=(1, 1), groups=1)
    >>> y = ConvFunction.apply(x, w, None, **options)
    >>> ConvFunction.describe((x, w, None), options, y)
    ('conv2d', {'kernel': (3, 3), 'stride': (2, 2), 'padding': ((1, 1), (1, 1)), 'dilation': (1, 1),
                'groups': 1, 'output_size': (3, 3)})
    """

    name = "conv"
    option_names = ("stride", "padding", "dilation", "groups")
    op = staticmethod(conv_ops.conv_forward)
    grad = staticmethod(conv_ops.conv_backward)


class ConvTransposeFunction(ConvFunctionBase):
    """Options, in order: stride, padding, output_padding, dilation, groups.

    Examples
    --------
    >>> import numpy as np
    >>> ConvTransposeFunction.apply(np.ones((1, 2)), np.ones((1, 1, 3)), None, stride=(2,), padding=(0,),
    ...                             output_padding=(0,), dilation=(1,), groups=1)   # unbatched (C, L)
    array([[1., 1., 2., 1., 1.]])
    """

    name = "conv_transpose"
    option_names = ("stride", "padding", "output_padding", "dilation", "groups")
    op = staticmethod(conv_ops.conv_transpose_forward)
    grad = staticmethod(conv_ops.conv_transpose_backward)


def _check_conv_operands(n: int, fn: str, x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
                         weight_layout: str) -> None:
    names = SPATIAL_NAMES[n]
    if w.ndim != n + 2:
        raise ValueError(f"{fn}: weight expects {n + 2} dimensions ({weight_layout}, {KERNEL_NAMES[n]}), "
                         f"but got shape {w.shape}")
    if x.ndim not in (n + 1, n + 2):
        raise ValueError(f"{fn}: input expects {n + 1} dimensions (C, {names}) or {n + 2} (N, C, {names}), "
                         f"but got shape {x.shape}")
    if b is not None and b.ndim != 1:
        raise ValueError(f"{fn}: bias expects 1 dimension, but got shape {b.shape}")
    if 0 in w.shape[2:]:
        # PyTorch: "kernel size should be greater than zero". An empty kernel sums over nothing,
        # so the output would be the bias alone whatever the input.
        raise ValueError(f"{fn}: weight expects a kernel of positive size ({KERNEL_NAMES[n]} >= 1), "
                         f"but got shape {w.shape}")


def _clamped(values: tuple[int, ...], bounds: tuple[int, ...]) -> tuple[int, ...]:
    """``min(value, bound)`` per dim: a stride at least the extent it steps over (or a dilation
    of a 1-tap kernel, bound 1) changes nothing, and the clamped value keeps NumPy's byte strides
    and slice steps within int64 however large the argument was."""
    return tuple(min(v, max(b, 1)) for v, b in zip(values, bounds))


def _conv_operands(n: int, fn: str, input, weight, bias, stride, dilation, groups, *, transposed: bool):
    """The preamble shared by a conv and a transposed conv: the operands as arrays, their ranks,
    ``groups``, ``stride`` and ``dilation`` checked; returns ``(x, w, b, groups, stride, dilation)``."""
    x = as_array(input, "input", fn)
    w = as_array(weight, "weight", fn)
    b = None if bias is None else as_array(bias, "bias", fn)
    _check_conv_operands(n, fn, x, w, b, "in_channels, out_channels/groups" if transposed
                         else "out_channels, in_channels/groups")
    groups = V.check_int(groups, "groups", fn, minimum=1)
    stride = V.to_tuple(stride, n, "stride", fn, minimum=1)
    dilation = V.to_tuple(dilation, n, "dilation", fn, minimum=1)
    return x, w, b, groups, stride, dilation


def _check_weight_groups(fn: str, w: np.ndarray, groups: int, *, transposed: bool) -> None:
    """At least ``groups`` filters along weight axis 0 and one channel per group along axis 1."""
    first, second = ("input", "output") if transposed else ("output", "input")
    if w.shape[0] < groups:
        # PyTorch: "expected weight to be at least {groups} at dimension 0".
        raise ValueError(f"{fn}: weight expects at least groups={groups} {first} channels (weight.shape[0]), "
                         f"but got shape {w.shape}")
    if w.shape[1] == 0:
        # PyTorch refuses an empty transposed weight and returns an (N, 0, ...) output for an empty
        # conv weight; convscope refuses both, as it refuses an empty kernel: the sum over no
        # inputs would be the bias alone.
        raise ValueError(f"{fn}: weight expects at least 1 {second} channel per group (weight.shape[1] >= 1), "
                         f"but got shape {w.shape}")


def _given(value, array):
    """A Tensor (or None) as given, anything else as its checked array."""
    return value if (value is None or isinstance(value, Tensor)) else array


def _apply(function, operands, kernel, stride, dilation, stride_bounds, **options):
    """Apply ``function`` to ``operands`` with ``stride`` and ``dilation`` clamped to the values that
    change nothing (see :func:`_clamped`): the shared ending of a conv and a transposed conv."""
    stride = _clamped(stride, stride_bounds)
    dilation = _clamped(dilation, tuple(1 if k == 1 else d for k, d in zip(kernel, dilation)))
    return function.apply(*operands, stride=stride, dilation=dilation, **options)


def _convnd(n: int, fn: str, input, weight, bias, stride, padding, dilation, groups, padding_mode):
    x, w, b, groups, stride, dilation = _conv_operands(n, fn, input, weight, bias, stride, dilation, groups,
                                                       transposed=False)
    padding_mode = V.check_padding_mode(padding_mode, fn, _CONV_PADDING_MODES)
    channels = x.shape[-n - 1]
    out_channels, per_group = w.shape[0], w.shape[1]
    _check_weight_groups(fn, w, groups, transposed=False)
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
    operand = _given(input, x)
    if padding_mode != "zeros" and any(lo or hi for lo, hi in pads):
        _check_pads(x, pads, padding_mode, fn, "padding")
        operand = PadFunction.apply(operand, pads=pads, mode=padding_mode, value=0.0)
        pads = ((0, 0),) * n
    # a stride past the padded size makes one window along that dim; it is clamped to that size
    return _apply(ConvFunction, (operand, _given(weight, w), _given(bias, b)), kernel, stride, dilation,
                  padded, padding=pads, groups=groups)


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
    x, w, b, groups, stride, dilation = _conv_operands(n, fn, input, weight, bias, stride, dilation, groups,
                                                       transposed=True)
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
    _check_weight_groups(fn, w, groups, transposed=True)
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
    # only an input of size 1 has a stride past the buffer; it is clamped to the buffer's size
    return _apply(ConvTransposeFunction, (_given(input, x), _given(weight, w), _given(bias, b)), kernel, stride,
                  dilation, buffer, padding=padding, output_padding=output_padding, groups=groups)


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

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> {example}
    """


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transposend(1, "conv_transpose1d", input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transposend(2, "conv_transpose2d", input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _conv_transposend(3, "conv_transpose3d", input, weight, bias, stride, padding, output_padding, groups, dilation)


_CONV_T_EXAMPLES = {
    # each input value scatters a copy of the kernel, scaled by it; the copies overlap at index 2
    1: "F.conv_transpose1d(np.array([[[1., 2.]]]), np.array([[[1., 1., 1.]]]), stride=2)\n"
       "    array([[[1., 1., 3., 2., 2.]]])",
    2: "F.conv_transpose2d(np.ones((1, 8, 7, 7)), np.ones((8, 4, 2, 2)), stride=2).shape   # 2x upsampling\n"
       "    (1, 4, 14, 14)",
    3: "x = np.ones((1, 2, 4, 4, 4))\n"
       "    >>> F.conv_transpose3d(x, np.ones((2, 1, 3, 3, 3)), stride=2, padding=1, output_padding=1).shape\n"
       "    (1, 1, 8, 8, 8)",
}
for _f, _r, _names, _k, _o in ((conv_transpose1d, 1, "L", "kL", "L_out"),
                               (conv_transpose2d, 2, "H, W", "kH, kW", "H_out, W_out"),
                               (conv_transpose3d, 3, "D, H, W", "kD, kH, kW", "D_out, H_out, W_out")):
    _f.__doc__ = _CONV_T_DOC.format(rank=_r, fn=_f.__name__, names=_names, knames=_k, onames=_o,
                                    example=_CONV_T_EXAMPLES[_r])
