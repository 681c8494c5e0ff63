"""The ONNX layers behind :func:`convscope.onnx.load`: Conv, ConvTranspose, BatchNormalization and
the matrix products with a constant weight as real convscope layers (subclasses of
:class:`convscope.nn.Conv2d`, :class:`~convscope.nn.ConvTranspose2d`, :class:`~convscope.nn.BatchNorm2d`,
:class:`~convscope.nn.Linear`) holding the weights as Parameters, so an imported model trains,
summarises and draws like a zoo model; and the ONNX padding rules (explicit, asymmetric, SAME)
they and the pools share. The other ops are in :mod:`convscope.io.onnx_nodes`.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Tensor
from ..nn import functional as F
from ..nn import layers as L

__all__ = ["NodeError", "OnnxBatchNorm", "OnnxLinear", "same_pads"]


class NodeError(ValueError):
    """An ONNX node convscope cannot run (its op, an attribute value or a dynamic operand).

    Examples
    --------
    >>> issubclass(NodeError, ValueError)       # callers catch ValueError
    True
    """


def _fail(node, what: str):
    raise NodeError(f"load: {node.op_type} node {node.name or node.output[0]!r}: {what}")


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def _ints(value) -> list[int]:
    return [int(v) for v in np.asarray(value).reshape(-1)]


def _data(value):
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def _shape(value) -> tuple:
    return tuple(np.shape(_data(value)))


def _const(node, args, i, what):
    """Input ``i`` as a NumPy array (None when absent); a Tensor there is an error (it must not
    depend on the model's input values)."""
    if i >= len(args) or args[i] is None:
        return None
    if isinstance(args[i], Tensor):
        _fail(node, f"{what} (input {i}) must not depend on the input's values")
    return np.asarray(args[i])


# =========================================================================== padding

def same_pads(spatial, kernel, stride, dilation, mode: str):
    """(begin, end) pads per dim for ``auto_pad`` SAME_UPPER / SAME_LOWER: out = ceil(in / stride).

    Examples
    --------
    >>> same_pads((6,), (4,), (1,), (1,), "SAME_UPPER"), same_pads((6,), (4,), (1,), (1,), "SAME_LOWER")
    (((1,), (2,)), ((2,), (1,)))
    """
    begin, end = [], []
    for n, k, s, d in zip(spatial, kernel, stride, dilation):
        total = max(0, (math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n)
        small, big = total // 2, total - total // 2
        begin.append(small if mode == "SAME_UPPER" else big)
        end.append(big if mode == "SAME_UPPER" else small)
    return tuple(begin), tuple(end)


def _torch_pads(begin, end) -> list[int]:
    """(begin, end) per dim, first dim first, as ``F.pad``'s list: last dim first."""
    out = []
    for lo, hi in zip(reversed(begin), reversed(end)):
        out += [int(lo), int(hi)]
    return out


def _window_attrs(node, a, rank):
    """kernel, stride, dilation, (begin, end) pads or None (SAME: decided per input) and auto_pad."""
    kernel = tuple(a["kernel_shape"]) if "kernel_shape" in a else None
    stride = tuple(a.get("strides", (1,) * rank))
    dilation = tuple(a.get("dilations", (1,) * rank))
    auto = _text(a.get("auto_pad", "NOTSET"))
    if auto not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        _fail(node, f"auto_pad {auto!r} is not an ONNX value")
    pads = list(a.get("pads", [0] * 2 * rank))
    if len(pads) != 2 * rank or len(stride) != rank or len(dilation) != rank:
        _fail(node, f"pads/strides/dilations expect {rank} spatial dims")
    if auto == "VALID":
        pads = [0] * 2 * rank
    fixed = None if auto.startswith("SAME") else (tuple(pads[:rank]), tuple(pads[rank:]))
    return kernel, stride, dilation, fixed, auto


# =========================================================================== layers

class _OnnxPadded:
    """Mixin for the conv layers: ONNX's asymmetric or SAME padding applied before the conv."""

    onnx_pads = None           # (begin, end), or None: auto_pad SAME, worked out per input
    onnx_auto = "NOTSET"

    def _padded(self, x):
        spatial = _shape(x)[2:]
        if self.onnx_pads is None:
            k = self.weight.shape[2:]
            begin, end = same_pads(spatial, k, self.stride, self.dilation, self.onnx_auto)
        else:
            begin, end = self.onnx_pads
        if begin == end:
            return x, tuple(begin)
        return F.pad(x, _torch_pads(begin, end)), (0,) * len(begin)


def _conv_class(rank: int):
    base = {1: L.Conv1d, 2: L.Conv2d, 3: L.Conv3d}[rank]
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[rank]

    def forward(self, x):
        x, padding = self._padded(x)
        return fn(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)

    return type(f"OnnxConv{rank}d", (_OnnxPadded, base), {"forward": forward, "__module__": __name__,
                "__doc__": f"An ONNX Conv as a :class:`convscope.nn.Conv{rank}d` (ONNX's padding applied first)."})


_CONV = {n: _conv_class(n) for n in (1, 2, 3)}


def _conv_layer(node, a, weight, bias):
    """A Conv node with a constant weight as an ``nn.ConvNd`` holding it as a Parameter."""
    rank = weight.ndim - 2
    if rank not in _CONV:
        _fail(node, f"a {rank}-D convolution is not supported (1-D, 2-D and 3-D are)")
    kernel, stride, dilation, fixed, auto = _window_attrs(node, a, rank)
    if kernel is not None and tuple(kernel) != weight.shape[2:]:
        _fail(node, f"kernel_shape {kernel} does not match the weight's {weight.shape[2:]}")
    groups = int(a.get("group", 1))
    out_c, in_per_group = weight.shape[:2]
    if groups < 1 or out_c % groups:
        _fail(node, f"group {groups} does not divide the weight's {out_c} output channels")
    layer = _CONV[rank](in_per_group * groups, out_c, weight.shape[2:], stride=stride,
                        padding=fixed[0] if fixed and fixed[0] == fixed[1] else 0, dilation=dilation,
                        groups=groups, bias=bias is not None)
    layer.onnx_pads, layer.onnx_auto = fixed, auto
    _set(layer, weight, bias)
    return layer


def _set(layer, weight, bias):
    layer.weight.data = np.array(weight, dtype=np.float32)
    if bias is not None:
        layer.bias.data = np.array(bias, dtype=np.float32).reshape(-1)


def _transpose_class(rank: int):
    base = {1: L.ConvTranspose1d, 2: L.ConvTranspose2d, 3: L.ConvTranspose3d}[rank]
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[rank]

    def forward(self, x):
        spatial = _shape(x)[2:]
        k = self.weight.shape[2:]
        full = [(n - 1) * s + (kk - 1) * d + 1 for n, s, kk, d in zip(spatial, self.stride, k, self.dilation)]
        if self.onnx_output_shape is not None or self.onnx_auto.startswith("SAME"):
            want = (list(self.onnx_output_shape) if self.onnx_output_shape is not None
                    else [n * s for n, s in zip(spatial, self.stride)])
            begin, end = [], []
            for f, op, w in zip(full, self.onnx_output_padding, want):
                total = f + op - w
                if total < 0:                # an output past the last window: zeros at its end, as onnxruntime
                    begin.append(0)
                    end.append(total)
                    continue
                small, big = total // 2, total - total // 2
                upper = self.onnx_auto == "SAME_UPPER"
                begin.append(small if upper else big)
                end.append(big if upper else small)
        else:
            begin, end = self.onnx_pads
        op = tuple(self.onnx_output_padding)
        if list(begin) == list(end) and all(o < max(s, d) for o, s, d in zip(op, self.stride, self.dilation)) \
                and all(b >= 0 for b in begin):
            return fn(x, self.weight, self.bias, self.stride, tuple(begin), op, self.groups, self.dilation)
        y = fn(x, self.weight, None, self.stride, 0, 0, self.groups, self.dilation)
        y = F.pad(y, _torch_pads([-b for b in begin], [o - e for o, e in zip(op, end)]))
        if self.bias is not None:
            y = y + self.bias.reshape((1, -1) + (1,) * rank)
        return y

    return type(f"OnnxConvTranspose{rank}d", (base,), {"forward": forward, "__module__": __name__,
                "__doc__": f"An ONNX ConvTranspose as a :class:`convscope.nn.ConvTranspose{rank}d`."})


_TRANSPOSE = {n: _transpose_class(n) for n in (1, 2, 3)}


def _conv_transpose_layer(node, a, weight, bias):
    """A ConvTranspose node with a constant weight as an ``nn.ConvTransposeNd``."""
    rank = weight.ndim - 2
    if rank not in _TRANSPOSE:
        _fail(node, f"a {rank}-D transposed convolution is not supported (1-D, 2-D and 3-D are)")
    kernel, stride, dilation, fixed, auto = _window_attrs(node, a, rank)
    groups = int(a.get("group", 1))
    in_c, out_per_group = weight.shape[:2]
    if groups < 1 or in_c % groups:
        _fail(node, f"group {groups} does not divide the weight's {in_c} input channels")
    layer = _TRANSPOSE[rank](in_c, out_per_group * groups, weight.shape[2:], stride=stride, dilation=dilation,
                             groups=groups, bias=bias is not None)
    layer.onnx_pads = fixed if fixed is not None else ((0,) * rank, (0,) * rank)
    layer.onnx_auto = auto
    layer.onnx_output_padding = tuple(a.get("output_padding", (0,) * rank))
    layer.onnx_output_shape = tuple(a["output_shape"])[-rank:] if "output_shape" in a else None
    _set(layer, weight, bias)
    return layer


class OnnxBatchNorm(L.BatchNorm2d):
    """An ONNX BatchNormalization as a :class:`convscope.nn.BatchNorm2d` (any rank >= 2).

    Examples
    --------
    >>> import numpy as np
    >>> bn = OnnxBatchNorm(2).eval()
    >>> bn(np.ones((1, 2, 3))).shape                 # a 3-D input, which BatchNorm2d refuses
    (1, 2, 3)
    """

    def forward(self, x):
        if len(_shape(x)) == 4:
            return super().forward(x)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)


def _batch_norm_layer(node, a, scale, bias, mean, var):
    if a.get("training_mode", 0):
        _fail(node, "training_mode=1 (a graph exported for training) is not supported")
    layer = OnnxBatchNorm(scale.shape[0], eps=float(a.get("epsilon", 1e-5)), momentum=1 - float(a.get("momentum", 0.9)))
    layer.weight.data = np.array(scale, np.float32)
    layer.bias.data = np.array(bias, np.float32)
    layer.running_mean[...] = mean
    layer.running_var[...] = var
    return layer


class OnnxLinear(L.Linear):
    """An ONNX Gemm or MatMul (+ Add) with a constant weight as a :class:`convscope.nn.Linear`.

    Examples
    --------
    >>> issubclass(OnnxLinear, L.Linear)             # summary and viz see a Linear layer
    True
    """


def _linear_layer(weight_out_in, bias):
    out_f, in_f = weight_out_in.shape
    layer = OnnxLinear(in_f, out_f, bias=bias is not None)
    _set(layer, weight_out_in, bias)
    return layer
