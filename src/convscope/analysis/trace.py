"""Trace a forward pass: which layers run, in which order, on what, and at what cost.

:func:`tracing` observes, for the thread that enters it, through public hooks only:

* every module call, through :func:`convscope.nn.module.register_module_forward_pre_hook` and
  :func:`~convscope.nn.module.register_module_forward_hook` (its name, input and output, and
  which module was open when an error went through);
* every op, through :func:`convscope.autograd.register_op_hook`: each call's record names the
  op (``conv2d``, ``max_pool2d``, ``add``...) and carries its geometry as data, so the geometry
  (receptive field, jump, start) of every traced tensor is computed from its inputs' op by op,
  through branches, concatenations and residual additions, and the MACs of convs and matrix
  products are counted where they happen. An op whose name the tracer does not know is kept as
  an :class:`UnknownOp`: its cost and receptive field are unknown, and the summary says so.

The hooks are removed in ``finally``; other threads calling modules meanwhile are not traced.
Nothing in :mod:`convscope.nn` or :mod:`convscope.autograd` knows about this module.

With ``shapes_only=True`` no op's forward runs (:func:`convscope.autograd.shape_only`): each
op's output is made from :func:`convscope.analysis.shape_rules.output_spec` (shape and dtype
from the operands' shapes and the op's options) as a zero-strided placeholder, so a pass over
any input size takes the memory of the parameters and the time of the Python code. The
arguments are still checked by :mod:`convscope.nn.functional`, so errors are those of a real
pass. An op without a shape rule runs for real on its (placeholder) operands, and a note says so.
"""

from __future__ import annotations

import contextlib
import math
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Iterator

from .. import _validation as V
from ..autograd import OpCall, Tensor, register_op_hook, shape_only
from ..nn.module import Module, register_module_forward_hook, register_module_forward_pre_hook
from . import shape_rules as R
from .receptive import Geometry

__all__ = ["Tracer", "tracing", "Call", "UnknownOp", "Failure", "RankMismatch", "KNOWN_OPS"]

_local = threading.local()

# The ops the tracer follows, by their public names (``OpCall.name``), and what it does with them.
_CONVS = {f"conv{n}d" for n in (1, 2, 3)}
_CONV_TS = {f"conv_transpose{n}d" for n in (1, 2, 3)}
_WINDOW_POOLS = {f"{kind}_pool{n}d" for kind in ("max", "avg") for n in (1, 2, 3)}
_ADAPTIVE_POOLS = {f"adaptive_avg_pool{n}d" for n in (1, 2, 3)}
_GLOBAL = {"linear", "matmul"}
_REDUCTIONS = set(R.REDUCTIONS)
_MERGES = set(R.ELEMENTWISE) | {"reshape", "permute", "cat", "dropout", "batch_norm", "cross_entropy", "nll_loss",
                                 "mse_loss"}
KNOWN_OPS = frozenset(_CONVS | _CONV_TS | _WINDOW_POOLS | _ADAPTIVE_POOLS | _GLOBAL | _REDUCTIONS | _MERGES
                      | {"pad", "interpolate", "index"})


class _ByIdentity:
    """Tensor -> value, by identity, forgetting a tensor when it is freed (a WeakKeyDictionary
    would need Tensors to hash and compare by identity, which an elementwise ``__eq__`` ends)."""

    def __init__(self) -> None:
        self._items: dict[int, tuple[weakref.ref, Any]] = {}

    def __setitem__(self, tensor: Tensor, value: Any) -> None:
        key = id(tensor)
        self._items[key] = (weakref.ref(tensor, lambda _, key=key: self._items.pop(key, None)), value)

    def get(self, tensor: Tensor, default: Any = None) -> Any:
        entry = self._items.get(id(tensor))
        return entry[1] if entry is not None and entry[0]() is tensor else default

    def __contains__(self, tensor: Tensor) -> bool:
        return self.get(tensor, self) is not self

    def __getitem__(self, tensor: Tensor) -> Any:
        value = self.get(tensor, self)
        if value is self:
            raise KeyError("tensor not traced")
        return value


@dataclass
class Call:
    """One finished call of a leaf module (one without children), as the tracer saw it.

    Examples
    --------
    >>> import numpy as np, convscope.nn as nn
    >>> from convscope import Tensor
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3))
    >>> with tracing(net, (6, 6)) as tracer:
    ...     _ = net(tracer.watch(Tensor(np.zeros((1, 1, 6, 6), np.float32))))
    >>> call = tracer.calls[0]
    >>> call.name, call.index, call.input_shapes, call.output_shape, call.output_bytes, call.macs
    ('0', 0, ((1, 1, 6, 6),), (1, 2, 4, 4), 128, 288)
    >>> call.geometry.rf, call.geometry.jump, [name for name, _ in call.windows]
    ((3, 3), (1, 1), ['conv2d'])
    """

    module: Module
    name: str
    index: int                              # how many times this module was called before
    input_shapes: tuple[tuple[int, ...], ...]   # of the Tensor arguments
    output_shape: tuple[int, ...] | None    # of the (first) output Tensor
    output_bytes: int
    macs: int
    geometry: Geometry | None               # the output's, None when the output is not traced
    windows: tuple = ()                     # (op name, op geometry) of the convs and pools it ran


@dataclass
class UnknownOp:
    """An op the tracer does not know (by name), in the module ``where`` that ran it: its MACs
    and receptive field are unknown. ``position`` is how many :class:`Call`\\ s came before it.

    Examples
    --------
    >>> import numpy as np, convscope.nn as nn
    >>> from convscope import Tensor
    >>> from convscope.autograd import Function
    >>> class Square(Function):                  # a custom op, unknown to the tracer
    ...     name = "square"
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         return x * x
    >>> class Squared(nn.Module):
    ...     def forward(self, x):
    ...         return Square.apply(x)
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), Squared())
    >>> with tracing(net, (6, 6)) as tracer:
    ...     _ = net(tracer.watch(Tensor(np.zeros((1, 1, 6, 6), np.float32))))
    >>> [(u.name, u.where, u.output_shape, u.position) for u in tracer.unknown_ops]
    [('square', '1', (1, 2, 4, 4), 1)]
    >>> tracer.calls[-1].geometry.kind                 # the receptive field after it is unknown
    'unknown'
    """

    name: str
    where: str
    module: Module | None
    input_shapes: tuple
    output_shape: tuple[int, ...]
    output_bytes: int
    position: int


@dataclass
class Failure:
    """The innermost module whose call raised (the innermost call an error left open).

    Examples
    --------
    >>> import numpy as np, convscope.nn as nn
    >>> from convscope import Tensor
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(10, 2))      # expects 10 features, gets 16
    >>> with tracing(net, (4, 4)) as tracer:
    ...     try:
    ...         net(tracer.watch(Tensor(np.zeros((1, 1, 4, 4), np.float32))))
    ...     except ValueError:
    ...         failure = tracer.failure
    >>> failure.name, type(failure.module).__name__, failure.input_shape, failure.depth
    ('1', 'Linear', (1, 16), 2)
    """

    module: Module
    name: str
    input_shape: tuple[int, ...] | None
    depth: int = 0                  # how many module calls were open, this one included


@dataclass
class RankMismatch:
    """A conv or pool of ``rank`` spatial dims that took the model input, batch included, for one
    unbatched sample: the input has one spatial dim fewer than the layer works on.

    Examples
    --------
    >>> import numpy as np, convscope.nn as nn
    >>> from convscope import Tensor
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3))
    >>> with tracing(net, (8,)) as tracer:         # a batch of 1-D signals, (N, C, L), into a Conv2d
    ...     _ = net(tracer.watch(Tensor(np.zeros((1, 8, 8), np.float32))))
    >>> m = tracer.rank_mismatch
    >>> m.name, type(m.module).__name__, m.rank
    ('0', 'Conv2d', 2)
    """

    module: Module | None
    name: str
    rank: int


@dataclass
class _Frame:
    module: Module
    name: str
    inputs: tuple
    macs: int = 0
    windows: list = field(default_factory=list)


@dataclass
class Tracer:
    """What one traced forward pass recorded (see :func:`tracing`).

    Examples
    --------
    >>> import numpy as np, convscope.nn as nn
    >>> from convscope import Tensor
    >>> from convscope.analysis.shape_rules import placeholder
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 30 * 30, 10))
    >>> with tracing(net, (32, 32), shapes_only=True) as tracer:     # computes nothing
    ...     _ = net(tracer.watch(Tensor(placeholder((2, 3, 32, 32), np.float32))))
    >>> tracer.input_shape, [c.name for c in tracer.calls], tracer.total_macs
    ((2, 3, 32, 32), ['0', '1', '2', '3'], 532800)
    >>> tracer.failure is None, tracer.unknown_ops, tracer.notes
    (True, [], [])
    """

    names: dict[int, str]
    image_size: tuple[int, ...]
    shapes_only: bool = False               # ops make placeholders of their output shape, computing nothing
    calls: list[Call] = field(default_factory=list)
    unknown_ops: list[UnknownOp] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outside_macs: dict[str, int] = field(default_factory=dict)   # MACs of ops run in a container's forward
    rank_mismatch: RankMismatch | None = None
    input_shape: tuple[int, ...] | None = None
    geometry: _ByIdentity = field(default_factory=_ByIdentity)      # Tensor -> Geometry
    _stack: list[_Frame] = field(default_factory=list)
    _counts: dict[int, int] = field(default_factory=dict)
    _thread: int = field(default_factory=threading.get_ident)

    # -- public
    def watch(self, tensor: Tensor) -> Tensor:
        """Mark ``tensor`` as the model input: rf 1, jump 1, start 0 in every spatial dim."""
        self.geometry[tensor] = Geometry.image(len(self.image_size))
        self.input_shape = tuple(tensor.shape)
        return tensor

    @property
    def total_macs(self) -> int:
        """MACs of the known ops (those in :attr:`unknown_ops` are not counted)."""
        return sum(c.macs for c in self.calls) + sum(self.outside_macs.values())

    @property
    def failure(self) -> Failure | None:
        """After an error went out of the model: the innermost module call it left open."""
        if not self._stack:
            return None
        frame = self._stack[-1]
        inputs = frame.inputs
        return Failure(frame.module, frame.name, tuple(inputs[0].shape) if inputs else None, len(self._stack))

    def _note(self, text: str) -> None:
        where = self._stack[-1].name if self._stack else ""
        note = f"{where or '(model)'}: {text}"
        if note not in self.notes:
            self.notes.append(note)

    # -- module calls (global module hooks)
    def enter(self, module: Module, args) -> None:
        if threading.get_ident() != self._thread:
            return
        parent = self._stack[-1].name if self._stack else ""
        name = self.names.get(id(module))
        if name is None:
            name = f"{parent + '.' if parent else ''}<{type(module).__name__}>"
            self._note(f"{type(module).__name__} is not registered as a submodule; shown as {name}")
        self._stack.append(_Frame(module, name, tuple(a for a in args if isinstance(a, Tensor))))

    def leave(self, module: Module, args, output) -> None:
        if threading.get_ident() != self._thread:
            return
        while self._stack and self._stack[-1].module is not module:
            self._stack.pop()               # a call that raised inside this one, which caught it and went on
        if not self._stack:
            return
        frame = self._stack.pop()
        if next(iter(module.children()), None) is None:
            index = self._counts.get(id(module), 0)
            self._counts[id(module)] = index + 1
            first = _first_tensor(output)
            geometry = self.geometry.get(first) if first is not None else None
            self.calls.append(Call(module, frame.name, index, tuple(tuple(t.shape) for t in frame.inputs),
                                   None if first is None else tuple(first.shape),
                                   0 if first is None else int(first.data.nbytes), frame.macs, geometry,
                                   tuple(frame.windows)))
        elif frame.macs:
            self.outside_macs[frame.name] = self.outside_macs.get(frame.name, 0) + frame.macs

    # -- ops (the op hook and, in a shape-only pass, the stand-in rule)
    def stand_in(self, cls, arrays, options):
        """What a shape-only pass gives for ``cls``'s forward: a placeholder, or None to run it."""
        try:
            out = R.stand_in(cls, arrays, options)
        except (KeyError, AttributeError, TypeError):   # options other than those the rule reads: let the op run
            out = None
        if out is None:
            name = getattr(cls, "name", None) or cls.__name__
            self._note(f"op {name} has no shape rule for these options, so the shape-only pass ran it on "
                       "zeros (the memory and time of a real pass, for this op)")
        return out

    def op(self, call: OpCall) -> None:
        if threading.get_ident() != self._thread:
            return
        name, out = call.name, call.output
        tracked = [a for a in call.inputs if isinstance(a, Tensor) and a in self.geometry]
        if name not in KNOWN_OPS:
            frame = self._stack[-1] if self._stack else None
            self.unknown_ops.append(UnknownOp(name, frame.name if frame else "", frame.module if frame else None,
                                              call.input_shapes, call.output_shape, int(out.data.nbytes),
                                              len(self.calls)))
            if tracked:
                self.geometry[out] = Geometry.unknown(len(self.image_size))
            return
        if name in _CONVS or name in _CONV_TS or name in _WINDOW_POOLS or name in _ADAPTIVE_POOLS:
            if self._stack:
                self._stack[-1].windows.append((name, call.geometry))
            if self.rank_mismatch is None:
                self._check_rank(call)
        macs = _macs(call)
        if macs:
            if self._stack:
                self._stack[-1].macs += macs
            else:
                self.outside_macs[""] = self.outside_macs.get("", 0) + macs
        if not tracked:
            return
        try:
            self.geometry[out] = self._geometry(call, tracked)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            # the op's options are not what this module expects: never break the forward pass
            self._note(f"{name}: an op convscope.analysis cannot follow; receptive field unknown")
            self.geometry[out] = Geometry.unknown(len(self.image_size))

    def _check_rank(self, call: OpCall) -> None:
        """Record a conv or pool that took the model input, batch included, as unbatched."""
        x = call.inputs[0]
        if not isinstance(x, Tensor) or self.input_shape is None or tuple(x.shape) != self.input_shape:
            return
        g = call.geometry
        rank = len(g["kernel"]) if "kernel" in g else len(g.get("output_size", ()))
        if x.ndim != rank + 2:
            frame = self._stack[-1] if self._stack else None
            self.rank_mismatch = RankMismatch(frame.module if frame else None, frame.name if frame else "", int(rank))

    def _geometry(self, call: OpCall, tracked: list) -> Geometry:
        """The geometry of the output of ``call`` (``tracked``: its operands the tracer follows)."""
        name, g_op = call.name, call.geometry
        x = call.inputs[0] if isinstance(call.inputs[0], Tensor) else None
        g_in = self.geometry.get(x) if x is not None else None
        n = len(self.image_size)
        if name in _CONVS and g_in is not None:
            g = g_in.conv(g_op["kernel"], g_op["stride"], [lo for lo, _ in g_op["padding"]], g_op["dilation"])
        elif name in _CONV_TS and g_in is not None:
            g = g_in.conv_transpose(g_op["kernel"], g_op["stride"], g_op["padding"], g_op["dilation"])
        elif name == "pad" and g_in is not None:
            g = self._padded(g_in, x.ndim, g_op["pads"])
        elif name in _WINDOW_POOLS and g_in is not None:
            kernel = g_op["kernel"]
            g = g_in.conv(kernel, g_op["stride"], g_op["padding"], g_op.get("dilation", (1,) * len(kernel))) \
                if len(kernel) == n else Geometry.unknown(n)
        elif name in _ADAPTIVE_POOLS and g_in is not None:
            g = g_in.adaptive(tuple(x.shape[-n:]), tuple(call.output_shape[-n:]), self.image_size) \
                if len(g_op["output_size"]) == n else Geometry.unknown(n)
        elif name == "interpolate" and g_in is not None:
            g = self._resized(g_in, x, call.output, g_op)
        elif name in _GLOBAL:
            g = Geometry.whole(self.image_size)
        elif name in _REDUCTIONS and g_in is not None:
            dims = call.options.get("dim")
            if dims is None:
                axes = set(range(x.ndim))
            else:
                axes = {d % max(x.ndim, 1) for d in (dims if isinstance(dims, (tuple, list)) else (dims,))}
            spatial = set(self._spatial_axes(x.ndim)) or set(range(1, x.ndim))
            g = Geometry.whole(self.image_size) if spatial & axes else g_in
        elif name == "index" and g_in is not None:
            g = self._indexed(g_in, x.shape, call.options["index"])
        else:   # elementwise ops, additions, concatenations, reshapes: the union of the inputs' windows
            g, note = Geometry.merge([self.geometry[t] for t in tracked], self.image_size)
            if note:
                self._note(f"{name}: {note}")
        return g

    def _spatial_axes(self, ndim: int) -> list[int]:
        n = len(self.image_size)
        return list(range(ndim - n, ndim)) if ndim >= n + 1 else []

    def _padded(self, g: Geometry, ndim: int, pads) -> Geometry:
        axes = self._spatial_axes(ndim)
        padded = dict(zip(range(ndim - len(pads), ndim), pads))
        return g.shift(tuple(-padded.get(axis, (0, 0))[0] for axis in axes)) if axes else g

    def _indexed(self, g: Geometry, shape, index) -> Geometry:
        """``x[..., a:b:t, c:d:u]`` keeps every value's window but moves the first and the step."""
        axes = self._spatial_axes(len(shape))
        items = index if isinstance(index, tuple) else (index,)
        if not axes or any(not (isinstance(i, slice) or i is Ellipsis or V._is_int(i)) for i in items) \
                or sum(i is Ellipsis for i in items) > 1:
            return g
        if Ellipsis in items:
            at = items.index(Ellipsis)
            items = items[:at] + (slice(None),) * (len(shape) - len(items) + 1) + items[at + 1:]
        items = items + (slice(None),) * (len(shape) - len(items))
        if any(not isinstance(items[a], slice) for a in axes):
            return g
        bounds = [items[a].indices(shape[a]) for a in axes]
        if any(step < 1 for _, _, step in bounds):
            return g
        return g.shift(tuple(b[0] for b in bounds), tuple(b[2] for b in bounds))

    def _resized(self, g: Geometry, x: Tensor, out: Tensor, options: dict) -> Geometry:
        """Interpolation: output ``o`` reads input coordinate ``src(o)``; nearest copies one
        input (``src = floor(o * step)``), linear mixes the two around ``src`` (``(o + 0.5) *
        step - 0.5`` clamped at 0, or ``o * step`` with ``align_corners``). So ``jump_out = jump_in
        * step``, ``start_out = start_in + src(0) * jump_in``, ``rf_out = rf_in (+ jump_in if
        linear)``; an unchanged size is a copy."""
        n = len(self.image_size)
        if not g.local:
            return g._passes()
        try:
            mode, corners = options["mode"], bool(options["align_corners"])
            scales = options.get("scales") or (None,) * n
            sizes_in, sizes_out = x.shape[-n:], out.shape[-n:]
            rf, jump, start = [], [], []
            for i, (a, b) in enumerate(zip(sizes_in, sizes_out)):
                r, j, s0 = g.rf[i], g.jump[i], g.start[i]
                if a == b and (mode != "nearest" or scales[i] in (None, 1.0)):
                    rf.append(r), jump.append(j), start.append(s0)
                    continue
                if mode == "nearest":
                    step = a / b if scales[i] is None else 1 / scales[i]
                    rf.append(r), jump.append(j * step), start.append(s0)
                    continue
                if corners:
                    step, first = ((a - 1) / (b - 1) if b > 1 else 0.0), 0.0
                else:
                    step = a / b if scales[i] is None else 1 / scales[i]
                    first = max(0.5 * step - 0.5, 0.0)
                rf.append(r + j), jump.append(j * step), start.append(s0 + first * j)
            return Geometry(tuple(rf), tuple(jump), tuple(start))
        except (KeyError, TypeError, IndexError, ZeroDivisionError):
            self._note("an interpolation whose options convscope.analysis does not read; receptive field unknown")
            return Geometry.unknown(n)



def _first_tensor(value) -> Tensor | None:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (tuple, list)):
        return next((v for v in value if isinstance(v, Tensor)), None)
    return None


def _macs(call: OpCall) -> int:
    """Multiply-accumulates of one op (convs, linear layers, matrix products; 0 for the rest).

    conv: ``out_elements * (Cin/groups) * prod(kernel)`` (``weight.shape[1]`` is ``Cin/groups``);
    transposed conv: ``in_elements * (Cout/groups) * prod(kernel)`` (each input value scatters
    that many products); linear: ``out_elements * in_features``; matmul: ``out_elements * K``.
    Bias additions are not counted.
    """
    name, shapes = call.name, call.input_shapes
    if name in _CONVS:
        return math.prod(call.output_shape) * math.prod(shapes[1][1:])
    if name in _CONV_TS:
        return math.prod(shapes[0]) * math.prod(shapes[1][1:])
    if name == "linear":
        return math.prod(call.output_shape) * call.geometry["in_features"]
    if name == "matmul":
        return math.prod(call.output_shape) * int(shapes[0][-1])
    return 0


def _active() -> Tracer | None:
    return getattr(_local, "tracer", None)


@contextlib.contextmanager
def tracing(model: Module, image_size: tuple[int, ...], shapes_only: bool = False) -> Iterator[Tracer]:
    """Trace forward passes of ``model`` run in this thread inside the ``with`` block.

    Parameters
    ----------
    model : Module
        Its ``named_modules`` give the layer names.
    image_size : tuple of int
        The spatial size of the model input (what a global receptive field covers).
    shapes_only : bool
        Compute nothing: each op applied to Tensors returns a zero-strided placeholder of its
        output's shape and dtype (see :mod:`convscope.analysis.shape_rules`); every value reads as
        zero and no graph is recorded for ``backward``. Feed the model a placeholder too.

    Yields
    ------
    Tracer
        Call :meth:`Tracer.watch` on the input Tensor, run the model, then read ``calls``,
        ``unknown_ops``, ``notes``, ``failure`` and ``total_macs``.

    Raises
    ------
    RuntimeError
        When this thread is already tracing.

    Examples
    --------
    >>> import numpy as np, convscope.nn as nn
    >>> from convscope import Tensor
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2))
    >>> with tracing(net, (8, 8)) as tracer:
    ...     _ = net(tracer.watch(Tensor(np.zeros((1, 1, 8, 8), np.float32))))
    >>> [(c.name, c.output_shape, c.macs, c.geometry.rf) for c in tracer.calls]
    [('0', (1, 2, 6, 6), 648, (3, 3)), ('1', (1, 2, 3, 3), 0, (4, 4))]
    """
    if _active() is not None:
        raise RuntimeError("tracing: this thread is already tracing a model; nested traces are not supported")
    names = {}
    for name, m in model.named_modules():
        names.setdefault(id(m), name)
    tracer = Tracer(names, tuple(image_size), bool(shapes_only))
    _local.tracer = tracer
    with contextlib.ExitStack() as hooks:
        try:
            hooks.enter_context(register_module_forward_pre_hook(tracer.enter))
            hooks.enter_context(register_module_forward_hook(tracer.leave))
            hooks.enter_context(register_op_hook(tracer.op))
            if shapes_only:
                hooks.enter_context(shape_only(tracer.stand_in))
            yield tracer
        finally:
            _local.tracer = None
