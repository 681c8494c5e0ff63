"""``summary(model, input_shape)``: a per-layer table of shapes, parameters, MACs and receptive fields.

The table comes from tracing one forward pass (see :mod:`convscope.analysis.trace`), so it shows
what the model really does, in call order, including branches and layers called twice. By
default the pass computes nothing: each op returns a zero-strided placeholder of the shape and
dtype its forward would give (see :mod:`convscope.analysis.shape_rules`), so the summary of a
20000x20000 input takes the memory of the parameters and well under a second per model;
``compute=True`` runs the real forward on zeros instead, and gives the same table.

Conventions
-----------
params
    The elements of each layer's *parameters* (weights and biases); ``trainable`` are those
    with ``requires_grad``. BatchNorm's running mean and variance are *buffers*, not parameters:
    they are reported apart (``buffer_elements``) and in no parameter count, as torchinfo and the
    published model sizes do (ResNet-50's 25,557,032 includes BN's weight and bias only).
MACs
    Multiply-accumulates of the convolutions and matrix products, for the whole batch:
    conv ``out_elements * (Cin/groups) * kh * kw``; transposed conv ``in_elements *
    (Cout/groups) * kh * kw``; linear ``batch * in_features * out_features``. Bias additions,
    BatchNorm, activations and pooling count 0: they are not multiply-adds of weights (BatchNorm
    folds into the preceding conv at inference). This is the convention behind the published
    figures (VGG-16 15.47 G, ResNet-50 4.09 G, MobileNet v1 569 M at 224x224).
Receptive field
    ``receptive_field`` (rf), ``jump`` (effective stride) and ``start`` (centre of the first
    output's window, input pixel ``i`` being centred at ``i``) per spatial dim, in input
    pixels, propagated per *tensor* through every op, so branches and skips are followed (see
    :class:`convscope.analysis.receptive.Geometry` for the rules: conv and pool recurrences,
    the union of the windows where tensors are added or concatenated). After global pooling,
    a linear layer or a mean over the spatial dims every output sees the whole input: then
    ``global_rf`` is True, ``receptive_field`` is the input's size and ``jump`` and ``start``
    are None.
Activation memory
    The sum of the leaf layers' output sizes times their itemsize, for the whole batch (what a
    forward pass with autograd would keep for backward, roughly).
Unknown ops
    Every figure comes from the recorded op calls (:func:`convscope.autograd.register_op_hook`),
    each op known by its public name. An op whose name the tracer does not know (a custom
    ``Function``, a renamed one) is never a silent zero: it gets its own row (type ``unknown op
    <name>``, MACs ``?``), the receptive field after it is unknown, ``Summary.unknown_ops`` names
    it, and the table's total reads "Total MACs: at least ...; not counted: unknown ops <names>".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .. import _validation as V
from ..autograd import Tensor, no_grad
from ..nn import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..nn.module import Module
from .arithmetic import _conv_out, _conv_transpose_out, _pool_out
from .receptive import Geometry, _clean, _num
from .shape_rules import placeholder
from .trace import Call, Failure, RankMismatch, UnknownOp, tracing

__all__ = ["LayerRecord", "Summary", "summary", "parse_shape"]

_DIM_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def _x(shape) -> str:
    return "x".join(map(str, shape))


def _human(n: float, unit: str = "") -> str:
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {prefix}{unit}"
    return f"{n:g} {unit}".rstrip()


@dataclass(frozen=True)
class LayerRecord:
    """One call of a leaf module (a module without submodules) during the traced forward pass.

    Attributes
    ----------
    name : str
        Dotted path in the model (``features.0``); ``''`` for the model itself.
    type : str
        The module's class name.
    kernel, stride, padding, dilation : tuple of int or None
        One entry per spatial dim, for layers that have them (convs and pools; a pool's stride
        None is its kernel). ``padding`` may be ``'same'`` or ``'valid'``. None elsewhere.
    groups : int or None
        For convs.
    input_shape, output_shape : tuple of int
        With the batch dimension.
    params, trainable_params : int
        Elements of the module's own parameters (all / those with ``requires_grad``).
    macs : int
        Multiply-accumulates of the convs and matrix products run inside this call, whole batch.
    receptive_field : tuple or None
        Input pixels one output value sees, per spatial dim; the input size when ``global_rf``;
        None when unknown.
    jump : tuple or None
        Effective stride per spatial dim.
    start : tuple or None
        Centre of the first output's window per spatial dim, in input coordinates.
    global_rf : bool
        Every output value sees the whole input.
    output_bytes : int
        Size of the output array.
    call_index : int
        0 for a module's first call, 1 for its second...
    unknown_op : bool
        The row is an op the tracer does not know (``type`` is ``'unknown op <name>'``, ``name``
        the module that ran it): its MACs (shown ``?``) and receptive field are unknown.

    Examples
    --------
    >>> import convscope.nn as nn
    >>> from convscope.analysis import summary
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    >>> conv = summary(net, (1, 8, 8))["0"]
    >>> conv.type, conv.kernel, conv.padding, conv.output_shape, conv.params, conv.macs
    ('Conv2d', (3, 3), (1, 1), (1, 4, 8, 8), 40, 2304)
    >>> conv.receptive_field, conv.jump, conv.start, conv.effective_padding, conv.geometry_text
    ((3, 3), (1, 1), (0, 0), (1, 1), '3/1/1/1/1')
    """

    name: str
    type: str
    kernel: tuple[int, ...] | None
    stride: tuple[int, ...] | None
    padding: tuple[int, ...] | str | None
    dilation: tuple[int, ...] | None
    groups: int | None
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    params: int
    trainable_params: int
    macs: int
    receptive_field: tuple | None
    jump: tuple | None
    start: tuple | None
    global_rf: bool
    output_bytes: int
    call_index: int = 0
    unknown_op: bool = False

    @property
    def effective_padding(self) -> tuple | None:
        """``(rf - 1)/2 - start`` per dim (Araujo et al.'s effective padding), or None."""
        if self.start is None or self.receptive_field is None:
            return None
        return tuple(_clean((r - 1) / 2 - s) for r, s in zip(self.receptive_field, self.start))

    @property
    def geometry_text(self) -> str:
        """``kernel/stride/padding/dilation/groups`` as in the table (``'-'`` where none)."""
        if self.kernel is None:
            return "-"
        parts = [self.kernel, self.stride, self.padding, self.dilation, self.groups]
        return "/".join("-" if p is None else _compact(p) for p in parts)


def _compact(value) -> str:
    """(3, 3) -> '3'; (3, 1) -> '3x1'; 'same' -> 'same'; 2 -> '2'."""
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        items = [_num(v) if isinstance(v, (int, float)) else str(v) for v in value]
        return items[0] if len(set(items)) == 1 else "x".join(items)
    return _num(value) if isinstance(value, (int, float)) else str(value)


@dataclass(frozen=True)
class Summary:
    """The result of :func:`summary`: per-layer records and totals; ``str()`` is the table.

    Iterating gives the :class:`LayerRecord`\\ s in call order; ``summary[i]`` is the i-th and
    ``summary['features.0']`` the first call of the layer with that name.

    Attributes
    ----------
    model : str
        The model's class name.
    input_shape : tuple of int
        With the batch dimension.
    dtype : numpy.dtype
        Of the traced input.
    layers : tuple of LayerRecord
    total_params, trainable_params : int
        Over ``model.parameters()`` (each shared parameter once).
    buffer_elements : int
        Non-parameter state (BatchNorm's running statistics), in no parameter count.
    total_macs : int
        For the whole batch, including ops run directly in a container's ``forward``.
    activation_bytes, input_bytes, param_bytes : int
    notes : tuple of str
        What the trace could not follow exactly, or parameters no layer owns.
    unknown_ops : tuple of str
        The names of the ops the tracer does not know, each once: ``total_macs`` leaves their
        cost out and the table's total says "at least".

    Examples
    --------
    >>> import convscope.nn as nn
    >>> from convscope.analysis import summary
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    ...                     nn.Flatten(), nn.Linear(64, 10))
    >>> s = summary(net, (1, 8, 8))
    >>> len(s), [r.type for r in s], s.total_params, s.total_macs, s.macs_complete
    (5, ['Conv2d', 'ReLU', 'MaxPool2d', 'Flatten', 'Linear'], 690, 2944, True)
    >>> s[-1].global_rf, s["2"].receptive_field
    (True, (4, 4))
    >>> print(s)
    Sequential on input 1x1x8x8 (float32)
    -----------------------------------------------------------------------------
    Layer  Type       k/s/p/d/g  Output shape  Params   MACs      RF  Jump  Start
    -----------------------------------------------------------------------------
    0      Conv2d     3/1/1/1/1  1x4x8x8           40  2,304       3     1      0
    1      ReLU       -          1x4x8x8            0      0       3     1      0
    2      MaxPool2d  2/2/0/1/-  1x4x4x4            0      0       4     2    0.5
    3      Flatten    -          1x64               0      0       4     2    0.5
    4      Linear     -          1x10             650    640  global     -      -
    -----------------------------------------------------------------------------
    Total params: 690
    ...
    Total MACs: 2,944 (2.94 k) for batch 1: conv and linear multiply-adds, biases excluded
    ...
    """

    model: str
    input_shape: tuple[int, ...]
    dtype: np.dtype
    layers: tuple[LayerRecord, ...]
    total_params: int
    trainable_params: int
    buffer_elements: int
    total_macs: int
    activation_bytes: int
    input_bytes: int
    param_bytes: int
    notes: tuple[str, ...] = ()
    unknown_ops: tuple[str, ...] = ()

    @property
    def macs_complete(self) -> bool:
        """Whether every op was known, so that ``total_macs`` is the whole cost."""
        return not self.unknown_ops

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def batch_size(self) -> int:
        return self.input_shape[0]

    def __iter__(self) -> Iterator[LayerRecord]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, key: int | str) -> LayerRecord:
        if isinstance(key, str):
            for record in self.layers:
                if record.name == key and not record.unknown_op:
                    return record
            raise KeyError(f"Summary: no layer named {key!r}; layers are {', '.join(r.name for r in self.layers)}")
        return self.layers[key]

    def __str__(self) -> str:
        header = ("Layer", "Type", "k/s/p/d/g", "Output shape", "Params", "MACs", "RF", "Jump", "Start")
        rows = [header]
        holds_unknown = {r.name for r in self.layers if r.unknown_op}   # a module that ran an unknown op

        def macs_text(r) -> str:
            if r.unknown_op or (r.name in holds_unknown and not r.macs):
                return "?"
            return f"{r.macs:,}" + ("+?" if r.name in holds_unknown else "")

        for r in self.layers:
            params = f"{r.params:,}" + (" (again)" if r.call_index and r.params else "")
            rows.append((r.name or "(model)", r.type, r.geometry_text,
                         "-" if r.output_shape is None else _x(r.output_shape), params, macs_text(r),
                         _rf_text(r), "-" if r.jump is None else _compact(r.jump),
                         "-" if r.start is None else _compact(r.start)))
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        right = {4, 5, 6, 7, 8}

        def line(row):
            return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))

        rule = "-" * len(line(header))
        out = [f"{self.model} on input {_x(self.input_shape)} ({self.dtype})", rule, line(header), rule]
        out += [line(row).rstrip() for row in rows[1:]]
        out.append(rule)
        out += [
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            f"Buffers (e.g. BatchNorm running stats, not params): {self.buffer_elements:,}",
            f"Total MACs: {'' if self.macs_complete else 'at least '}{self.total_macs:,} ({_human(self.total_macs)}) "
            f"for batch {self.batch_size}: conv and linear multiply-adds, biases excluded"
            + ("" if self.macs_complete else f"; not counted: unknown ops {', '.join(self.unknown_ops)}"),
            f"Input size: {_human(self.input_bytes, 'B')}",
            f"Activations (sum of layer outputs): {_human(self.activation_bytes, 'B')}",
            f"Params size: {_human(self.param_bytes, 'B')}",
            "RF = receptive field, Jump = effective stride, Start = centre of the first output's window "
            "(input pixels, pixel i centred at i)",
        ]
        out += [f"note: {n}" for n in self.notes]
        return "\n".join(out)


def _rf_text(r: LayerRecord) -> str:
    if r.global_rf:
        return "global"
    if r.receptive_field is None:
        return "?"
    return _compact(r.receptive_field)


# --------------------------------------------------------------------------- building records

def _ints(value, n: int):
    """An int -> n-tuple; a tuple of ints -> tuple; a string ('same') as is; else None."""
    if V._is_int(value):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and value and all(V._is_int(v) for v in value):
        return tuple(int(v) for v in value)
    if isinstance(value, str):
        return value
    return None


def _layer_geometry(module: Module, n: int):
    """(kernel, stride, padding, dilation, groups) read from a conv or pool module, else Nones."""
    kernel = _ints(getattr(module, "kernel_size", None), n) if n else None
    if kernel is None or isinstance(kernel, str):
        return None, None, None, None, None
    stride = getattr(module, "stride", None)
    stride = kernel if stride is None or stride == () else _ints(stride, n)
    padding = _ints(getattr(module, "padding", 0), n)
    dilation = _ints(getattr(module, "dilation", 1), n)
    groups = getattr(module, "groups", None)
    return kernel, stride, padding, dilation, groups if V._is_int(groups) else None


def _op_geometry(name: str, g: dict):
    """(kernel, stride, padding, dilation, groups) from a conv's or window pool's op record."""
    if "kernel" not in g:
        return None, None, None, None, None
    kernel = tuple(g["kernel"])
    padding = tuple(g.get("padding", ()))
    if padding and isinstance(padding[0], tuple):           # a conv's (before, after) pairs
        padding = tuple(lo for lo, _ in padding) if all(lo == hi for lo, hi in padding) else None
    return kernel, tuple(g["stride"]), padding, tuple(g.get("dilation", (1,) * len(kernel))), g.get("groups")


def _rf_fields(geometry: Geometry | None):
    if geometry is None:
        return None, None, None, False
    if geometry.kind == "global":
        return tuple(geometry.rf), None, None, True
    rf = tuple(None if math.isnan(v) else _clean(v) for v in geometry.rf)
    rf = None if any(v is None for v in rf) else rf
    jump = None if geometry.jump is None else tuple(_clean(v) for v in geometry.jump)
    start = None if geometry.start is None else tuple(_clean(v) for v in geometry.start)
    return rf, jump, start, False


def _record(call: Call) -> LayerRecord:
    m = call.module
    in_shape = call.input_shapes[0] if call.input_shapes else None
    n = len(in_shape) - 2 if in_shape is not None and len(in_shape) >= 3 else 0
    kernel, stride, padding, dilation, groups = _layer_geometry(m, n)
    if kernel is None and len(call.windows) == 1:       # a module that does not say: its op's record does
        kernel, stride, padding, dilation, groups = _op_geometry(*call.windows[0])
    params = list(m.parameters(recurse=False))
    rf, jump, start, whole = _rf_fields(call.geometry)
    return LayerRecord(
        name=call.name, type=type(m).__name__, kernel=kernel, stride=stride, padding=padding,
        dilation=dilation, groups=groups, input_shape=in_shape, output_shape=call.output_shape,
        params=sum(int(p.data.size) for p in params),
        trainable_params=sum(int(p.data.size) for p in params if p.requires_grad),
        macs=call.macs, receptive_field=rf, jump=jump, start=start, global_rf=whole,
        output_bytes=call.output_bytes, call_index=call.index)


def _unknown_record(op: UnknownOp) -> LayerRecord:
    in_shape = op.input_shapes[0] if op.input_shapes else None
    return LayerRecord(
        name=op.where, type=f"unknown op {op.name}", kernel=None, stride=None, padding=None, dilation=None,
        groups=None, input_shape=in_shape, output_shape=op.output_shape, params=0, trainable_params=0, macs=0,
        receptive_field=None, jump=None, start=None, global_rf=False, output_bytes=0, unknown_op=True)


def _interleave(calls: list, ops: list, positions: list[int]) -> tuple:
    """The module rows with each unknown op's row before the call that ran it (``position``:
    the number of module rows finished before the op)."""
    out, at = [], 0
    for record, position in zip(ops, positions):
        out += calls[at:position]
        out.append(record)
        at = max(at, position)
    return tuple(out + calls[at:])


# --------------------------------------------------------------------------- failures

def _module_rank(module: Module) -> int | None:
    """How many spatial dims a conv or pool module works on (its weight's, its geometry tuples' or
    its class name's ``2d``), or None for other modules."""
    weight = getattr(module, "weight", None)
    if getattr(module, "kernel_size", None) is not None and getattr(weight, "ndim", 0) >= 3:
        return weight.ndim - 2
    for attr in ("kernel_size", "stride", "padding", "dilation", "output_size"):
        value = getattr(module, attr, None)
        if isinstance(value, (tuple, list)) and value and all(v is None or V._is_int(v) for v in value):
            return len(value)
    match = re.search(r"(?:Conv|ConvTranspose|Pool)([123])d$", type(module).__name__)
    return int(match.group(1)) if match else None


def _no_output(module: Module, in_shape) -> tuple[str, str] | None:
    """(dim name, filled-in formula) of the first spatial dim where ``module`` leaves no output."""
    if in_shape is None or len(in_shape) < 3:
        return None
    n = len(in_shape) - 2
    if _module_rank(module) not in (None, n):
        return None                     # an input of the wrong rank, not one too small
    kernel, stride, padding, dilation, _ = _layer_geometry(module, n)
    if kernel is None or any(isinstance(v, tuple) and len(v) != n for v in (kernel, stride, padding, dilation)):
        return None
    names = _DIM_NAMES.get(n, tuple(f"dim {i}" for i in range(n)))
    has_weight = getattr(module, "weight", None) is not None
    transposed = has_weight and isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d))
    output_padding = _ints(getattr(module, "output_padding", 0), n)
    ceil_mode = bool(getattr(module, "ceil_mode", False))
    for i, size in enumerate(in_shape[2:]):
        if padding == "same":
            continue
        p = 0 if padding == "valid" or padding is None else padding[i]
        d = 1 if dilation is None else dilation[i]
        if transposed:
            out, text = _conv_transpose_out(size, kernel[i], stride[i], p, output_padding[i], d)
        elif has_weight:
            out, text = _conv_out(size, kernel[i], stride[i], p, d)
        else:
            out, text = _pool_out(size, kernel[i], stride[i], p, d, ceil_mode)
        if out <= 0:
            return names[i], text
    return None


def _rank_error(module: Module | None, name: str, rank: int, input_shape) -> ValueError:
    """The model input has more or fewer spatial dims than the conv or pool that reads it."""
    where = f"{name or '(model)'}" + (f" ({type(module).__name__})" if module is not None else "")
    names = ", ".join(_DIM_NAMES.get(rank, tuple(f"dim {i}" for i in range(rank))))
    sample = tuple(input_shape[1:])
    return ValueError(f"summary: input_shape expects {rank + 1} sizes (C, {names}) for {where}, a {rank}-D layer "
                      f"that reads the model input, but got {len(sample)}: {sample}")


def _failure_error(failure: Failure | None, input_shape, exc: Exception,
                   mismatch: RankMismatch | None = None) -> Exception:
    shape = _x(input_shape[1:])
    if mismatch is not None:
        return _rank_error(mismatch.module, mismatch.name, mismatch.rank, input_shape)
    if failure is not None and failure.input_shape == tuple(input_shape):
        rank = _module_rank(failure.module)
        if rank is not None and len(input_shape) - 2 != rank:
            return _rank_error(failure.module, failure.name, rank, input_shape)
    if failure is None:
        return _same_kind(exc, f"summary: the forward pass on input {shape} failed outside any module: {exc}")
    where = f"{failure.name or '(model)'} ({type(failure.module).__name__})"
    in_shape = failure.input_shape
    given = "?" if in_shape is None else _x(in_shape[1:])
    reason = _no_output(failure.module, in_shape)
    if reason is not None:
        dim, text = reason
        kernel = _compact(_layer_geometry(failure.module, len(in_shape) - 2)[0])
        return ValueError(f"summary: input {shape} is too small for {where}: its input is {given} and kernel "
                          f"{kernel} leaves no output along {dim}: {text}")
    return _same_kind(exc, f"summary: input {shape} does not fit {where}, whose input is {given}: {exc}")


def _same_kind(exc: Exception, message: str) -> Exception:
    """A plain ValueError, TypeError or IndexError (whichever ``exc`` is) carrying ``message``."""
    for kind in (ValueError, TypeError, IndexError):
        if isinstance(exc, kind):
            return kind(message)
    return ValueError(message)


# --------------------------------------------------------------------------- the public function

def parse_shape(text, fn: str = "parse_shape", name: str = "input_shape") -> tuple[int, ...]:
    """``'3x224x224'`` (or ``(3, 224, 224)``) -> ``(3, 224, 224)``, checked: positive ints.

    Raises
    ------
    ValueError
        A malformed string, an empty shape or a size below 1.
    TypeError
        Neither a string nor a sequence of ints.

    Examples
    --------
    >>> parse_shape("3x224x224"), parse_shape((1, 28, 28)), parse_shape("3,32,32")
    ((3, 224, 224), (1, 28, 28), (3, 32, 32))
    >>> parse_shape("3x0x2")
    Traceback (most recent call last):
        ...
    ValueError: parse_shape: input_shape expects positive sizes, but got '3x0x2'
    """
    if isinstance(text, str):
        parts = text.lower().replace("*", "x").replace(",", "x").split("x")
        try:
            values = tuple(int(p) for p in parts)
        except ValueError:
            raise ValueError(f"{fn}: {name} expects sizes joined by 'x' like '3x224x224', but got {text!r}") from None
    elif isinstance(text, (tuple, list)):
        values = tuple(text)
    else:
        raise TypeError(f"{fn}: {name} expects a tuple of ints like (3, 224, 224) or a string like '3x224x224', "
                        f"but got {text!r} ({type(text).__name__})")
    if not values:
        raise ValueError(f"{fn}: {name} expects at least one size (channels), but got {text!r}")
    for v in values:
        if not V._is_int(v):
            raise TypeError(f"{fn}: {name} expects integer sizes, but got {text!r}")
        if v < 1:
            raise ValueError(f"{fn}: {name} expects positive sizes, but got {text!r}")
    return tuple(int(v) for v in values)


def summary(model: Module, input_shape, batch_size: int = 1, dtype=np.float32, *, compute: bool = False) -> Summary:
    """Trace one forward pass and tabulate every layer: shapes, params, MACs, receptive fields.

    Parameters
    ----------
    model : Module
    input_shape : tuple of int or str
        One sample's shape without the batch dimension, ``(C, H, W)`` for a 2-D CNN (or
        ``'3x224x224'``).
    batch_size : int
        The traced input is ``zeros((batch_size, *input_shape))``; MACs and activation memory
        are for the whole batch.
    dtype : numpy floating dtype
        Of the traced input.
    compute : bool
        False (the default): a shape-only pass that computes nothing; every op's output is a
        zero-strided placeholder of the shape and dtype its forward would return, so any input
        size takes the memory of the parameters alone. True: run the real forward on zeros (the
        time and memory of inference); the table is the same.

    Returns
    -------
    Summary
        ``.layers`` (:class:`LayerRecord`, one per leaf-module call, in call order),
        ``.total_params``, ``.trainable_params``, ``.total_macs``, ``.activation_bytes``...;
        ``print(summary(...))`` shows the table. See the module docstring for the conventions.

    Notes
    -----
    The model runs once under ``no_grad`` and in eval mode (BatchNorm uses its running
    statistics and changes none of them, Dropout is off); each module's mode is restored
    afterwards. The pass is observed through the public module and op hooks, in this thread only
    (see :mod:`convscope.analysis.trace`); every figure comes from the recorded calls. An op the
    tracer does not know by name gets its own row (type ``unknown op <name>``, MACs ``?``), a
    note, and ``Summary.unknown_ops``; the total then reads "at least".

    In the shape-only pass every value the model reads is zero, and :mod:`convscope.nn.functional`
    checks every argument as in a real pass. An op with no shape rule (see
    :mod:`convscope.analysis.shape_rules`: a custom ``Function``, a loss, boolean indexing) runs
    for real, and a note names it; so does NumPy code in a ``forward`` that works on ``.data``.

    Raises
    ------
    ValueError
        A bad ``input_shape`` or ``batch_size``; an input with more or fewer spatial dims than
        the layer that reads it; an input too small for the model, naming the layer where a
        spatial size reaches zero and the formula that shows it; any other ValueError of the
        forward pass, prefixed with the layer it came from.
    TypeError
        ``model`` not a Module, a non-floating ``dtype``, a non-bool ``compute``; a TypeError of
        the forward pass, prefixed with the layer.

    Examples
    --------
    >>> import convscope.nn as nn
    >>> from convscope.analysis import summary
    >>> net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2))
    >>> s = summary(net, (1, 28, 28))
    >>> s.total_params, s.total_macs, s[-1].output_shape, s[-1].receptive_field, s[-1].jump
    (80, 48672, (1, 8, 13, 13), (4, 4), (2, 2))
    >>> summary(net, (1, 50_000, 50_000), batch_size=64).total_macs      # nothing is computed
    11519078418432
    """
    fn = "summary"
    if not isinstance(model, Module):
        raise TypeError(f"{fn}: model expects a convscope.nn.Module, but got {type(model).__name__}")
    shape = parse_shape(input_shape, fn, "input_shape")
    batch_size = V.check_int(batch_size, "batch_size", fn, minimum=1)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{fn}: dtype expects a NumPy floating dtype, but got {dtype!r}") from None
    if dt.kind != "f":
        raise TypeError(f"{fn}: dtype expects a floating dtype (float32, float64), but got {dt}")
    if not isinstance(compute, (bool, np.bool_)):
        raise TypeError(f"{fn}: compute expects True or False, but got {compute!r} ({type(compute).__name__})")
    full = (batch_size,) + shape
    nbytes = math.prod(full) * dt.itemsize
    limit = np.iinfo(np.intp).max
    if nbytes > limit:
        raise ValueError(f"{fn}: batch_size x input_shape expects an input of at most {limit:,} bytes (the most one "
                         f"NumPy array can index), but {batch_size} x {_x(shape)} in {dt} is {nbytes:,} bytes")
    if compute:
        try:
            data = np.zeros(full, dtype=dt)
        except MemoryError as exc:
            raise MemoryError(f"{fn}: compute=True allocates the input ({nbytes:,} bytes) and every layer's output; "
                              "the default shape-only pass (compute=False) allocates neither") from exc
    else:
        data = placeholder(full, dt)
    x = Tensor(data)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad(), tracing(model, shape[1:], shapes_only=not compute) as tracer:
            tracer.watch(x)
            try:
                model(x)
            except (ValueError, TypeError, IndexError) as exc:
                raise _failure_error(tracer.failure, full, exc, tracer.rank_mismatch) from exc
            if tracer.rank_mismatch is not None:
                m = tracer.rank_mismatch
                raise _rank_error(m.module, m.name, m.rank, full)
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)

    records = _interleave([_record(c) for c in tracer.calls], [_unknown_record(u) for u in tracer.unknown_ops],
                          [u.position for u in tracer.unknown_ops])
    params = list(model.parameters())
    total = sum(int(p.data.size) for p in params)
    notes = list(tracer.notes)
    owned = sum(r.params for r in records if r.call_index == 0)
    seen = {id(c.module) for c in tracer.calls}
    unused = [name for name, m in model.named_modules()
              if next(iter(m.children()), None) is None and id(m) not in seen
              and next(iter(m.parameters(recurse=False)), None) is not None]
    if unused:
        notes.append(f"layers with parameters that the forward pass did not call: {', '.join(unused)}")
    if owned < total and not unused:
        notes.append(f"{total - owned:,} parameters belong to modules with submodules (not in any row)")
    elif owned > total:
        notes.append(f"rows count parameters shared between layers in each of them ({owned - total:,} more "
                     "than the total)")
    unknown = tuple(dict.fromkeys(u.name for u in tracer.unknown_ops))
    for name in unknown:
        places = sorted({u.where or "(model)" for u in tracer.unknown_ops if u.name == name})
        notes.append(f"op {name} (in {', '.join(places)}) is unknown to convscope.analysis: its MACs are not in "
                     "the total and the receptive field after it is unknown")
    for where, macs in tracer.outside_macs.items():
        notes.append(f"{macs:,} MACs computed directly in the forward of {where or '(model)'} (in the total, "
                     "in no row)")
    return Summary(
        model=type(model).__name__, input_shape=full, dtype=dt, layers=records,
        total_params=total, trainable_params=sum(int(p.data.size) for p in params if p.requires_grad),
        buffer_elements=sum(int(np.size(b)) for b in model.buffers()),
        total_macs=tracer.total_macs, activation_bytes=sum(r.output_bytes for r in records),
        input_bytes=int(x.data.nbytes), param_bytes=sum(int(p.data.nbytes) for p in params),
        notes=tuple(notes), unknown_ops=unknown)
