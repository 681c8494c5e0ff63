"""Conv arithmetic a learner can read: output sizes, parameter counts and multiply-adds.

Each function returns its number together with the formula it used, with the numbers filled in,
so ``conv_output_size(28, 3).explain()`` reads
``out = floor((28 + 2*0 - 1*(3-1) - 1) / 1) + 1 = 26``.

Sizes are per spatial dimension (call once for the height, once for the width). The formulas are
those convscope's layers compute (and PyTorch's, except for ``'same'`` padding with a stride,
which PyTorch refuses and convscope computes as TensorFlow does).

References
----------
V. Dumoulin and F. Visin, "A guide to convolution arithmetic for deep learning", arXiv:1603.07285.
A. G. Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
Applications", arXiv:1704.04861, section 3.1 (the cost of depthwise separable convolutions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .. import _validation as V
from ..ops import conv as conv_ops
from ..ops import pool as pool_ops

__all__ = [
    "OutputSize", "conv_output_size", "conv_transpose_output_size", "pool_output_size",
    "ConvCost", "conv_cost", "SeparableComparison", "compare_separable",
    "CONV_FORMULA", "CONV_SAME_FORMULA", "CONV_TRANSPOSE_FORMULA", "POOL_FORMULA", "POOL_CEIL_FORMULA",
]

CONV_FORMULA = "out = floor((size + 2*padding - dilation*(kernel-1) - 1) / stride) + 1"
CONV_SAME_FORMULA = "out = ceil(size / stride)"
CONV_TRANSPOSE_FORMULA = "out = (size - 1)*stride - 2*padding + dilation*(kernel-1) + output_padding + 1"
POOL_FORMULA = CONV_FORMULA
POOL_CEIL_FORMULA = ("out = ceil((size + 2*padding - dilation*(kernel-1) - 1) / stride) + 1, "
                     "minus 1 if the last window would start inside the right padding")


class OutputSize(int):
    """An output size: a plain ``int`` that also remembers how it was computed.

    It compares, indexes and computes as the int it is (arithmetic on it gives plain ints).

    Attributes
    ----------
    value : int
        The size, as a plain ``int``.
    formula : str
        The general formula, in words a learner can read.

    Examples
    --------
    >>> from convscope.analysis import conv_output_size
    >>> out = conv_output_size(28, 3)
    >>> out == 26, out.formula
    (True, 'out = floor((size + 2*padding - dilation*(kernel-1) - 1) / stride) + 1')
    >>> print(out.explain())
    out = floor((28 + 2*0 - 1*(3-1) - 1) / 1) + 1 = 26
    """

    formula: str
    _explanation: str

    def __new__(cls, value: int, formula: str, explanation: str) -> "OutputSize":
        self = super().__new__(cls, value)
        self.formula = formula
        self._explanation = explanation
        return self

    @property
    def value(self) -> int:
        return int(self)

    def explain(self) -> str:
        """The formula with this computation's numbers filled in (and a note where one helps)."""
        return self._explanation

    def __reduce__(self):
        return (OutputSize, (int(self), self.formula, self._explanation))


# --------------------------------------------------------------------------- validation helpers

def _int(value: Any, name: str, fn: str, minimum: int) -> int:
    return V.check_int(value, name, fn, minimum=minimum)


def _too_small(fn: str, explanation: str, what: str) -> ValueError:
    return ValueError(f"{fn}: {what}, leaving no output: {explanation} (expected at least 1)")


# --------------------------------------------------------------------------- output sizes
#
# The numbers come from the ops (ops.conv.output_shape, ops.conv.transpose_output_shape,
# ops.pool.pool_output_shape: the functions the layers compute with); what is here is their
# explanation, the formula with this computation's numbers filled in.

def _conv_out(size: int, kernel: int, stride: int, padding: int, dilation: int) -> tuple[int, str]:
    """The conv/floor-pool output size and its filled-in formula (no checks, may be <= 0)."""
    (out,) = conv_ops.output_shape((size,), (kernel,), (stride,), ((padding, padding),), (dilation,))
    return out, _rounded_text("floor", size, kernel, stride, padding, dilation, out)


def _rounded_text(rounding: str, size: int, kernel: int, stride: int, padding: int, dilation: int, out: int) -> str:
    return f"out = {rounding}(({size} + 2*{padding} - {dilation}*({kernel}-1) - 1) / {stride}) + 1 = {out}"


def _conv_transpose_out(size: int, kernel: int, stride: int, padding: int, output_padding: int,
                        dilation: int) -> tuple[int, str]:
    (out,) = conv_ops.transpose_output_shape((size,), (kernel,), (stride,), (padding,), (output_padding,), (dilation,))
    return out, f"out = ({size} - 1)*{stride} - 2*{padding} + {dilation}*({kernel}-1) + {output_padding} + 1 = {out}"


def _pool_out(size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool) -> tuple[int, str]:
    """PyTorch's pooling output size with its filled-in formula (no checks, may be <= 0)."""
    (out,) = pool_ops.pool_output_shape((size,), (kernel,), (stride,), (padding,), (dilation,), ceil_mode)
    if not ceil_mode:
        return out, _rounded_text("floor", size, kernel, stride, padding, dilation, out)
    rounded_up = -(-(size + 2 * padding - dilation * (kernel - 1) - 1) // stride) + 1    # before the rule below
    text = _rounded_text("ceil", size, kernel, stride, padding, dilation, rounded_up)
    if rounded_up > 0 and out < rounded_up:
        text += (f", minus 1: the last window would start at ({rounded_up}-1)*{stride} = {(rounded_up - 1) * stride}"
                 f" >= size + padding = {size + padding}, inside the right padding = {out}")
    return out, text


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int | str = 0,
                     dilation: int = 1) -> OutputSize:
    """Output size of a convolution along one spatial dimension.

    ``out = floor((size + 2*padding - dilation*(kernel-1) - 1) / stride) + 1``: the number of
    positions where the dilated kernel, which spans ``dilation*(kernel-1) + 1`` inputs, fits in
    the padded input, stepping by ``stride``.

    Parameters
    ----------
    size : int
        Input size along the dimension, >= 1.
    kernel, stride, dilation : int
        >= 1 each (``dilation=1`` means no gaps between the kernel taps).
    padding : int or {'same', 'valid'}
        Zeros added on *each* side (>= 0). ``'valid'`` is 0. ``'same'`` pads a total of
        ``dilation*(kernel-1)`` (the odd element after) so that ``out = size``; with ``stride > 1``
        convscope follows TensorFlow, ``out = ceil(size / stride)`` with a total padding of
        ``max((out-1)*stride + dilation*(kernel-1) + 1 - size, 0)`` (PyTorch refuses that case).

    Returns
    -------
    OutputSize
        The size as an int, with ``.formula`` and ``.explain()``.

    Raises
    ------
    ValueError
        A size, kernel, stride or dilation below 1, a negative padding, an unknown padding
        string, or an input too small for the kernel (the output would be <= 0).
    TypeError
        A non-integer argument.

    Examples
    --------
    >>> conv_output_size(28, 3), conv_output_size(224, 7, stride=2, padding=3)
    (26, 112)
    >>> print(conv_output_size(28, 3, stride=2, padding="same").explain())
    out = ceil(size / stride) = ceil(28 / 2) = 14 ('same': total padding max((14-1)*2 + 1*(3-1) + 1 - 28, 0) = 1: 0 before, 1 after)
    """
    fn = "conv_output_size"
    size = _int(size, "size", fn, 1)
    kernel = _int(kernel, "kernel", fn, 1)
    stride = _int(stride, "stride", fn, 1)
    dilation = _int(dilation, "dilation", fn, 1)
    if isinstance(padding, str):
        if padding == "valid":
            padding_note, padding = " ('valid' means padding 0)", 0
        elif padding == "same":
            pads = V.padding_pairs("same", 1, fn, spatial=(size,), kernel=(kernel,), stride=(stride,),
                                   dilation=(dilation,))
            (out,) = conv_ops.output_shape((size,), (kernel,), (stride,), pads, (dilation,))
            (before, after), = pads
            text = (f"{CONV_SAME_FORMULA} = ceil({size} / {stride}) = {out} ('same': total padding "
                    f"max(({out}-1)*{stride} + {dilation}*({kernel}-1) + 1 - {size}, 0) = {before + after}: "
                    f"{before} before, {after} after)")
            return OutputSize(out, CONV_SAME_FORMULA, text)
        else:
            raise ValueError(f"{fn}: padding expects a non-negative int, 'same' or 'valid', but got {padding!r}")
    else:
        padding_note = ""
        padding = _int(padding, "padding", fn, 0)
    out, text = _conv_out(size, kernel, stride, padding, dilation)
    text += padding_note
    if out <= 0:
        raise _too_small(fn, text, f"input size {size} is too small for kernel {kernel} (dilation {dilation}, "
                         f"padding {padding}): the dilated kernel spans {dilation * (kernel - 1) + 1} but the "
                         f"padded input has only {size + 2 * padding}")
    return OutputSize(out, CONV_FORMULA, text)


def conv_transpose_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, output_padding: int = 0,
                               dilation: int = 1) -> OutputSize:
    """Output size of a transposed convolution along one spatial dimension.

    ``out = (size - 1)*stride - 2*padding + dilation*(kernel-1) + output_padding + 1``: the
    inverse of :func:`conv_output_size`: a conv with the same kernel, stride, padding and
    dilation maps ``out`` back to ``size`` (``output_padding`` chooses among the several sizes a
    strided conv maps to the same output).

    Parameters
    ----------
    size : int
        Input size, >= 1.
    kernel, stride, dilation : int
        >= 1 each.
    padding : int
        >= 0; removed from *each* side of the full output (no ``'same'``/``'valid'``).
    output_padding : int
        >= 0 and smaller than ``stride`` or ``dilation``; added on one side (the end).

    Returns
    -------
    OutputSize

    Raises
    ------
    ValueError
        An argument out of range, ``output_padding`` not smaller than stride or dilation, or a
        padding that leaves no output.
    TypeError
        A non-integer argument.

    Examples
    --------
    >>> print(conv_transpose_output_size(7, 3, stride=2, padding=1, output_padding=1).explain())
    out = (7 - 1)*2 - 2*1 + 1*(3-1) + 1 + 1 = 14
    """
    fn = "conv_transpose_output_size"
    size = _int(size, "size", fn, 1)
    kernel = _int(kernel, "kernel", fn, 1)
    stride = _int(stride, "stride", fn, 1)
    dilation = _int(dilation, "dilation", fn, 1)
    if isinstance(padding, str):
        raise ValueError(f"{fn}: padding expects a non-negative int (transposed convs take no 'same'/'valid'), "
                         f"but got {padding!r}")
    padding = _int(padding, "padding", fn, 0)
    output_padding = _int(output_padding, "output_padding", fn, 0)
    if not (output_padding < stride or output_padding < dilation):
        raise ValueError(f"{fn}: output_padding expects a value smaller than stride or dilation, but got "
                         f"output_padding={output_padding} with stride={stride} and dilation={dilation}")
    out, text = _conv_transpose_out(size, kernel, stride, padding, output_padding, dilation)
    if out <= 0:
        raise _too_small(fn, text, f"padding {padding} on each side removes the whole output")
    return OutputSize(out, CONV_TRANSPOSE_FORMULA, text)


def pool_output_size(size: int, kernel: int, stride: int | None = None, padding: int = 0, dilation: int = 1,
                     ceil_mode: bool = False) -> OutputSize:
    """Output size of a max or average pool along one spatial dimension (PyTorch's rule).

    ``out = floor((size + 2*padding - dilation*(kernel-1) - 1) / stride) + 1``, the conv formula.
    With ``ceil_mode`` the division rounds up, so a last, partial window is kept, unless that
    window would start inside the right padding (at or past ``size + padding`` in padded
    coordinates), in which case PyTorch drops it: ``out - 1``.

    Parameters
    ----------
    size : int
        Input size, >= 1.
    kernel : int
        >= 1.
    stride : int or None
        >= 1; None (the default) means ``kernel``, as in PyTorch.
    padding : int
        >= 0 and at most ``kernel // 2`` (PyTorch's and convscope's limit).
    dilation : int
        >= 1.
    ceil_mode : bool

    Returns
    -------
    OutputSize

    Raises
    ------
    ValueError
        An argument out of range, or an input too small for one window.
    TypeError
        A non-integer argument, or a ``ceil_mode`` that is not a bool.

    Examples
    --------
    >>> pool_output_size(5, 2), pool_output_size(5, 2, ceil_mode=True)
    (2, 3)
    >>> print(pool_output_size(5, 2, padding=1, ceil_mode=True).explain())
    out = ceil((5 + 2*1 - 1*(2-1) - 1) / 2) + 1 = 4, minus 1: the last window would start at (4-1)*2 = 6 >= size + padding = 6, inside the right padding = 3
    """
    fn = "pool_output_size"
    size = _int(size, "size", fn, 1)
    kernel = _int(kernel, "kernel", fn, 1)
    stride = V.pool_stride(stride, kernel, fn)
    padding = _int(padding, "padding", fn, 0)
    dilation = _int(dilation, "dilation", fn, 1)
    ceil_mode = V.check_bool(ceil_mode, "ceil_mode", fn)
    if padding > kernel // 2:
        raise ValueError(f"{fn}: padding expects at most half the kernel (kernel // 2 = {kernel // 2}), "
                         f"but got {padding}")
    out, text = _pool_out(size, kernel, stride, padding, dilation, ceil_mode)
    formula = POOL_CEIL_FORMULA if ceil_mode else POOL_FORMULA
    if out <= 0:
        raise _too_small(fn, text, f"input size {size} is too small for kernel {kernel} (dilation {dilation}, "
                         f"padding {padding}): the dilated window spans {dilation * (kernel - 1) + 1} but the "
                         f"padded input has only {size + 2 * padding}")
    return OutputSize(out, formula, text)


# --------------------------------------------------------------------------- parameters and MACs

def _dims(value: Any, name: str, fn: str, rank: int | None, minimum: int) -> tuple[int, ...]:
    """An int (repeated ``rank`` times, 2 by default) or a tuple of ints, checked."""
    if V.is_int(value):
        return (V.check_int(value, name, fn, minimum=minimum),) * (rank or 2)
    if isinstance(value, (tuple, list)) and value:
        return V.to_tuple(value, len(value) if rank is None else rank, name, fn, minimum=minimum)
    raise TypeError(f"{fn}: {name} expects an int or a non-empty tuple of ints, but got {value!r} "
                    f"({type(value).__name__})")


def _x(values: tuple[int, ...]) -> str:
    return "x".join(map(str, values))


def _product(values: tuple[int, ...]) -> str:
    return "*".join(map(str, values))


@dataclass(frozen=True)
class ConvCost:
    """Parameters and multiply-accumulates of one convolution layer (one image).

    ``weights = (in_channels/groups) * prod(kernel) * out_channels``, ``biases = out_channels``
    (0 without bias), ``params = weights + biases``; ``macs = prod(output_size) * out_channels *
    (in_channels/groups) * prod(kernel)``: one multiply-add per weight tap per output value. The
    bias additions are not counted as MACs (the convention of the published model figures).

    Attributes
    ----------
    in_channels, out_channels, groups : int
    kernel : tuple of int
    bias : bool
    output_size : tuple of int or None
        None when no output size was given; ``macs`` is then None.

    Examples
    --------
    >>> cost = ConvCost(3, 16, (3, 3), output_size=(32, 32))
    >>> cost.weights, cost.biases, cost.params, cost.macs
    (432, 16, 448, 442368)
    >>> print(cost)
    conv 3 -> 16 channels, kernel 3x3, output 32x32
    params = (Cin/groups)*k*k*Cout + Cout = 3*3*3*16 + 16 = 448
    MACs = out*out*Cout*(Cin/groups)*k*k = 32*32*16*3*3*3 = 442,368 (bias additions not counted)
    >>> ConvCost(3, 16, (3, 3)).macs is None             # no output size, no MACs
    True
    """

    in_channels: int
    out_channels: int
    kernel: tuple[int, ...]
    groups: int = 1
    bias: bool = True
    output_size: tuple[int, ...] | None = None

    @property
    def weights(self) -> int:
        return self.in_channels // self.groups * math.prod(self.kernel) * self.out_channels

    @property
    def biases(self) -> int:
        return self.out_channels if self.bias else 0

    @property
    def params(self) -> int:
        return self.weights + self.biases

    @property
    def macs(self) -> int | None:
        if self.output_size is None:
            return None
        return math.prod(self.output_size) * self.weights

    def explain(self) -> str:
        """The two formulas with the numbers filled in, one per line."""
        per_group = f"({self.in_channels}/{self.groups})" if self.groups != 1 else f"{self.in_channels}"
        bias = f" + {self.out_channels}" if self.bias else ""
        bias_words = " + Cout" if self.bias else ""
        lines = [f"params = (Cin/groups)*{'*'.join('k' * len(self.kernel))}*Cout{bias_words} = "
                 f"{per_group}*{_product(self.kernel)}*{self.out_channels}{bias} = {self.params:,}"]
        if self.output_size is not None:
            lines.append(f"MACs = {'*'.join(['out'] * len(self.output_size))}*Cout*(Cin/groups)*"
                         f"{'*'.join('k' * len(self.kernel))} = {_product(self.output_size)}*{self.out_channels}*"
                         f"{per_group}*{_product(self.kernel)} = {self.macs:,} (bias additions not counted)")
        return "\n".join(lines)

    def __str__(self) -> str:
        head = (f"conv {self.in_channels} -> {self.out_channels} channels, kernel {_x(self.kernel)}"
                + (f", groups {self.groups}" if self.groups != 1 else "")
                + ("" if self.bias else ", no bias")
                + (f", output {_x(self.output_size)}" if self.output_size is not None else ""))
        return head + "\n" + self.explain()


def conv_cost(in_channels: int, out_channels: int, kernel, output_size=None, groups: int = 1,
              bias: bool = True) -> ConvCost:
    """Parameters and multiply-adds (MACs) of a convolution layer, for one image.

    Parameters
    ----------
    in_channels, out_channels : int
        >= 1, each a multiple of ``groups``.
    kernel : int or tuple of int
        An int means a square (2-D) kernel; a tuple gives the rank (``(3,)`` is a 1-D conv).
    output_size : int, tuple of int or None
        The output feature map's spatial size (an int: the same along every dim). Needed for the
        MACs only; with None, ``macs`` is None.
    groups : int
        ``groups == in_channels`` is a depthwise conv.
    bias : bool

    Returns
    -------
    ConvCost
        ``.params``, ``.weights``, ``.biases``, ``.macs`` and ``.explain()``.

    Raises
    ------
    ValueError
        A value below 1, channels that ``groups`` does not divide, or an ``output_size`` whose
        length differs from the kernel's.
    TypeError
        A non-integer argument or a non-bool ``bias``.

    Examples
    --------
    >>> cost = conv_cost(64, 32, 3, output_size=56)
    >>> cost.params, cost.macs
    (18464, 57802752)
    """
    fn = "conv_cost"
    in_channels = _int(in_channels, "in_channels", fn, 1)
    out_channels = _int(out_channels, "out_channels", fn, 1)
    groups = _int(groups, "groups", fn, 1)
    bias = V.check_bool(bias, "bias", fn)
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if value % groups:
            raise ValueError(f"{fn}: {name} expects a multiple of groups={groups}, but got {value}")
    kernel = _dims(kernel, "kernel", fn, None, 1)
    if output_size is not None:
        output_size = _dims(output_size, "output_size", fn, len(kernel) if V.is_int(output_size) else None, 1)
        if len(output_size) != len(kernel):
            raise ValueError(f"{fn}: output_size expects {len(kernel)} values (one per kernel dim), but got "
                             f"{output_size!r}")
    return ConvCost(in_channels, out_channels, kernel, groups, bias, output_size)


@dataclass(frozen=True)
class SeparableComparison:
    """A standard convolution against its depthwise separable factorisation (MobileNet).

    The depthwise conv applies one ``k x k`` filter per input channel (``groups = Cin``), the
    pointwise 1x1 conv mixes the channels: ``k*k*Cin + Cin*Cout`` weights instead of
    ``k*k*Cin*Cout``, a ratio of ``1/Cout + 1/k^2``. Both produce the same output size (the
    depthwise conv takes the standard conv's stride and padding), so the MACs have the same
    ratio. ``str()`` prints the side-by-side table.

    Attributes
    ----------
    standard, depthwise, pointwise : ConvCost

    Examples
    --------
    >>> c = compare_separable(32, 64, 3, output_size=56)
    >>> c.standard.params, c.depthwise.params, c.pointwise.params, c.separable_params
    (18432, 288, 2048, 2336)
    >>> round(c.ratio, 4), c.ratio_formula
    (0.1267, '1/Cout + 1/k^2 = 1/64 + 1/9 = 0.1267')
    >>> print(c)
    standard vs depthwise separable conv: 32 -> 64 channels, kernel 3x3, output 56x56, no bias
               params  formula                   MACs
    standard   18,432  k*k*Cin*Cout = 3*3*32*64  57,802,752
    depthwise     288  k*k*Cin = 3*3*32          903,168
    pointwise   2,048  Cin*Cout = 32*64          6,422,528
    separable   2,336  depthwise + pointwise     7,325,696
    ratio (separable / standard params) = 2,336 / 18,432 = 0.1267  [1/Cout + 1/k^2 = 1/64 + 1/9 = 0.1267]
    MACs = params without biases * out positions (56*56 = 3,136); ratio 0.1267 [1/Cout + 1/k^2 = 1/64 + 1/9 = 0.1267]
    """

    standard: ConvCost
    depthwise: ConvCost
    pointwise: ConvCost

    @property
    def separable_params(self) -> int:
        return self.depthwise.params + self.pointwise.params

    @property
    def separable_macs(self) -> int | None:
        if self.standard.macs is None:
            return None
        return self.depthwise.macs + self.pointwise.macs

    @property
    def ratio(self) -> float:
        """Separable over standard parameters (``1/Cout + 1/k^2`` without biases)."""
        return self.separable_params / self.standard.params

    @property
    def macs_ratio(self) -> float | None:
        """Separable over standard MACs: always ``1/Cout + 1/k^2`` (biases are not MACs)."""
        if self.standard.macs is None:
            return None
        return self.separable_macs / self.standard.macs

    @property
    def ratio_formula(self) -> str:
        """``1/Cout + 1/k^2`` with the numbers filled in."""
        k2 = math.prod(self.standard.kernel)
        value = 1 / self.standard.out_channels + 1 / k2
        return f"1/Cout + 1/k^2 = 1/{self.standard.out_channels} + 1/{k2} = {value:.4f}"

    def __str__(self) -> str:
        s, d, p = self.standard, self.depthwise, self.pointwise
        kk = _product(s.kernel)
        cin, cout = s.in_channels, s.out_channels
        b = s.bias
        area = None if s.output_size is None else math.prod(s.output_size)
        rows = [
            ("standard", f"{s.params:,}", f"k*k*Cin*Cout{' + Cout' if b else ''} = {kk}*{cin}*{cout}"
             f"{f' + {cout}' if b else ''}", s.macs),
            ("depthwise", f"{d.params:,}", f"k*k*Cin{' + Cin' if b else ''} = {kk}*{cin}{f' + {cin}' if b else ''}",
             d.macs),
            ("pointwise", f"{p.params:,}", f"Cin*Cout{' + Cout' if b else ''} = {cin}*{cout}"
             f"{f' + {cout}' if b else ''}", p.macs),
            ("separable", f"{self.separable_params:,}", "depthwise + pointwise", self.separable_macs),
        ]
        head = (f"standard vs depthwise separable conv: {cin} -> {cout} channels, kernel {_x(s.kernel)}"
                + (f", output {_x(s.output_size)}" if area is not None else "")
                + ("" if b else ", no bias"))
        w0 = max(len(r[0]) for r in rows)
        w1 = max(len(r[1]) for r in rows + [("", "params")])
        w2 = max(len(r[2]) for r in rows)
        lines = [head, f"{'':<{w0}}  {'params':>{w1}}  {'formula':<{w2}}" + ("  MACs" if area is not None else "")]
        for name, params, formula, macs in rows:
            line = f"{name:<{w0}}  {params:>{w1}}  {formula:<{w2}}"
            if area is not None:
                line += f"  {macs:,}"
            lines.append(line.rstrip())
        lines.append(f"ratio (separable / standard params) = {self.separable_params:,} / {s.params:,} = "
                     f"{self.ratio:.4f}" + ("" if b else f"  [{self.ratio_formula}]"))
        if area is not None:
            lines.append(f"MACs = params without biases * out positions ({_product(s.output_size)} = {area:,}); "
                         f"ratio {self.macs_ratio:.4f} [{self.ratio_formula}]")
        return "\n".join(lines)


def compare_separable(in_channels: int, out_channels: int, kernel, output_size=None,
                      bias: bool = False) -> SeparableComparison:
    """Compare a standard conv with the depthwise separable conv that replaces it.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel : int or tuple of int
    output_size : int, tuple of int or None
        For the MACs (same for both: the depthwise conv keeps the stride and padding).
    bias : bool
        Count a bias per output channel of every conv. Default False: the textbook comparison
        ``k*k*Cin*Cout`` against ``k*k*Cin + Cin*Cout`` (BatchNorm usually follows each conv).

    Returns
    -------
    SeparableComparison
        ``.standard``, ``.depthwise``, ``.pointwise`` (:class:`ConvCost`), ``.separable_params``,
        ``.separable_macs``, ``.ratio``, ``.macs_ratio``, ``.ratio_formula``; ``str()`` is a table.

    Raises
    ------
    ValueError, TypeError
        As :func:`conv_cost`.

    Examples
    --------
    >>> c = compare_separable(64, 32, 3)
    >>> c.standard.params, c.separable_params, round(c.ratio, 4)
    (18432, 2624, 0.1424)
    """
    fn = "compare_separable"
    bias = V.check_bool(bias, "bias", fn)
    try:
        standard = conv_cost(in_channels, out_channels, kernel, output_size, bias=bias)
    except (TypeError, ValueError) as exc:
        raise type(exc)(str(exc).replace("conv_cost:", f"{fn}:", 1)) from None
    ones = (1,) * len(standard.kernel)
    depthwise = ConvCost(standard.in_channels, standard.in_channels, standard.kernel, standard.in_channels, bias,
                         standard.output_size)
    pointwise = ConvCost(standard.in_channels, standard.out_channels, ones, 1, bias, standard.output_size)
    return SeparableComparison(standard, depthwise, pointwise)
