"""Trace a forward pass: which layers run, in which order, on what, and at what cost.

:func:`tracing` is a context manager that, for the thread that enters it, temporarily wraps

* ``Module.__call__``, to see each module call (its name, input and output, failures);
* ``Function.apply``, to see each op: every Tensor an op makes is created there, so the
  geometry (receptive field, jump, start) of every traced tensor is computed from its inputs'
  op by op, through branches, concatenations and residual additions, and the MACs of convs and
  matrix products are counted where they happen;
* the pooling functions of :mod:`convscope.nn.functional` (``max_pool2d``...), only to read
  their kernel, stride, padding and dilation, which their op does not carry.

Everything is restored in ``finally``; other threads calling modules meanwhile are not traced.
Nothing in :mod:`convscope.nn` or :mod:`convscope.autograd` knows about this module.

With ``shapes_only=True`` the wrapped ``Function.apply`` does not run an op's forward: it makes
the op's output from :func:`convscope.analysis.shape_rules.output_spec` (shape and dtype from
the operands' shapes and the op's options) as a zero-strided placeholder, so a pass over any
input size takes the memory of the parameters and the time of the Python code. The arguments
are still checked by :mod:`convscope.nn.functional`, so errors are those of a real pass. An op
without a shape rule runs for real on its (placeholder) operands, and a note says so.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from .. import _validation as V
from ..autograd import Function, Tensor
from ..nn import functional as F
from ..nn.module import Module
from . import shape_rules as R
from .receptive import Geometry

__all__ = ["Tracer", "tracing"]

_local = threading.local()
_patch_lock = threading.Lock()
_patch_users = 0
_originals: dict = {}

_POOLS = {  # functional name -> (kind, rank)
    **{f"max_pool{n}d": ("max", n) for n in (1, 2, 3)},
    **{f"avg_pool{n}d": ("avg", n) for n in (1, 2, 3)},
    **{f"adaptive_avg_pool{n}d": ("adaptive", n) for n in (1, 2, 3)},
}


_CONV, _CONV_T, _PAD, _LINEAR, _POOL = R.CONV, R.CONV_T, R.PAD, R.LINEAR, R.POOL
_INTERPOLATE, _MATMUL, _INDEX = R.INTERPOLATE, R.MATMUL, R.INDEX
_REDUCTIONS = (R.SUM, R.MEAN, R.MAX)


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
    """One finished call of a leaf module (one without children), as the tracer saw it."""

    module: Module
    name: str
    index: int                              # how many times this module was called before
    input_shapes: tuple[tuple[int, ...], ...]   # of the Tensor arguments
    output_shape: tuple[int, ...] | None    # of the (first) output Tensor
    output_bytes: int
    macs: int
    geometry: Geometry | None               # the output's, None when the output is not traced


@dataclass
class Failure:
    """The innermost module whose call raised."""

    module: Module
    name: str
    input_shape: tuple[int, ...] | None
    error: BaseException
    depth: int = 0                  # how many module calls were open, this one included


@dataclass
class RankMismatch:
    """A conv or pool of ``rank`` spatial dims that took the model input, batch included, for one
    unbatched sample: the input has one spatial dim fewer than the layer works on."""

    module: Module | None
    name: str
    rank: int


@dataclass
class _Frame:
    module: Module
    name: str
    macs: int = 0


@dataclass
class Tracer:
    """What one traced forward pass recorded (see :func:`tracing`)."""

    names: dict[int, str]
    image_size: tuple[int, ...]
    shapes_only: bool = False               # ops make placeholders of their output shape, computing nothing
    calls: list[Call] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outside_macs: dict[str, int] = field(default_factory=dict)   # MACs of ops run in a container's forward
    failure: Failure | None = None
    rank_mismatch: RankMismatch | None = None
    input_shape: tuple[int, ...] | None = None
    geometry: _ByIdentity = field(default_factory=_ByIdentity)      # Tensor -> Geometry
    _stack: list[_Frame] = field(default_factory=list)
    _pending_pool: list[tuple[str, int, dict]] = field(default_factory=list)
    _counts: dict[int, int] = field(default_factory=dict)

    # -- public
    def watch(self, tensor: Tensor) -> Tensor:
        """Mark ``tensor`` as the model input: rf 1, jump 1, start 0 in every spatial dim."""
        self.geometry[tensor] = Geometry.image(len(self.image_size))
        self.input_shape = tuple(tensor.shape)
        return tensor

    @property
    def total_macs(self) -> int:
        return sum(c.macs for c in self.calls) + sum(self.outside_macs.values())

    def _note(self, text: str) -> None:
        where = self._stack[-1].name if self._stack else ""
        note = f"{where or '(model)'}: {text}"
        if note not in self.notes:
            self.notes.append(note)

    # -- module calls
    def call(self, original, module: Module, args, kwargs):
        parent = self._stack[-1].name if self._stack else ""
        name = self.names.get(id(module))
        if name is None:
            name = f"{parent + '.' if parent else ''}<{type(module).__name__}>"
            self._note(f"{type(module).__name__} is not registered as a submodule; shown as {name}")
        frame = _Frame(module, name)
        inputs = tuple(a for a in list(args) + list(kwargs.values()) if isinstance(a, Tensor))
        self._stack.append(frame)
        try:
            output = original(module, *args, **kwargs)
        except Exception as exc:
            if self.failure is None:
                shape = tuple(inputs[0].shape) if inputs else None
                self.failure = Failure(module, name, shape, exc, len(self._stack))
            raise
        finally:
            self._stack.pop()
        if self.failure is not None and self.failure.depth > len(self._stack):
            self.failure = None             # raised inside this call, which caught it and went on
        leaf = not any(c is not None for c in module._modules.values())
        if leaf:
            index = self._counts.get(id(module), 0)
            self._counts[id(module)] = index + 1
            first = _first_tensor(output)
            geometry = self.geometry.get(first) if first is not None else None
            self.calls.append(Call(module, name, index, tuple(tuple(t.shape) for t in inputs),
                                   None if first is None else tuple(first.shape),
                                   0 if first is None else int(first.data.nbytes), frame.macs, geometry))
        elif frame.macs:
            self.outside_macs[name] = self.outside_macs.get(name, 0) + frame.macs
        return output

    # -- ops
    def abstract(self, original, cls, args, kwargs):
        """``cls.apply(*args, **kwargs)`` in a shape-only pass: a placeholder of the output's shape
        and dtype, or, for an op without a shape rule, the op run for real (``original``)."""
        arrays = tuple(a.data if isinstance(a, Tensor) else a for a in args)
        pool = self._pending_pool[-1] if cls is _POOL and self._pending_pool else None
        try:
            spec = R.output_spec(cls, arrays, kwargs, pool)
        except (KeyError, AttributeError):   # options other than those the rule reads: let the op run
            spec = None
        if spec is None:
            self._note(f"op {cls.__name__} has no shape rule for these options, so the shape-only pass ran it on "
                       "zeros (the memory and time of a real pass, for this op)")
            return original(cls, *args, **kwargs)
        return Tensor(R.placeholder(*spec))

    def op(self, cls, args, kwargs, out: Tensor) -> None:
        tracked = [a for a in args if isinstance(a, Tensor) and a in self.geometry]
        if self.rank_mismatch is None and cls in (_CONV, _CONV_T, _POOL):
            self._check_rank(cls, args, kwargs)
        macs = _macs(cls, args, out)
        if macs:
            if self._stack:
                self._stack[-1].macs += macs
            else:
                self.outside_macs[""] = self.outside_macs.get("", 0) + macs
        if not tracked:
            return
        try:
            self.geometry[out] = self._geometry(cls, args, kwargs, out, tracked)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            # the op's options are not what this module expects: never break the forward pass
            self._note(f"{cls.__name__.lstrip('_')}: an op convscope.analysis cannot follow; receptive field unknown")
            self.geometry[out] = Geometry.unknown(len(self.image_size))

    def _check_rank(self, cls, args, kwargs) -> None:
        """Record a conv or pool that took the model input, batch included, as unbatched."""
        x = args[0]
        if not isinstance(x, Tensor) or self.input_shape is None or tuple(x.shape) != self.input_shape:
            return
        rank = kwargs.get("n") if cls is _POOL else (getattr(args[1], "ndim", 0) - 2 if len(args) > 1 else None)
        if V._is_int(rank) and x.ndim != rank + 2:
            frame = self._stack[-1] if self._stack else None
            self.rank_mismatch = RankMismatch(frame.module if frame else None, frame.name if frame else "", int(rank))

    def _geometry(self, cls, args, kwargs, out: Tensor, tracked: list) -> Geometry:
        """The geometry of ``out``, made by op ``cls`` from ``args`` (``tracked``: the traced ones)."""
        x = args[0] if isinstance(args[0], Tensor) else None
        g_in = self.geometry.get(x) if x is not None else None
        if cls is _CONV and g_in is not None:
            g = g_in.conv(args[1].shape[2:], kwargs["stride"], [lo for lo, _ in kwargs["padding"]],
                          kwargs["dilation"])
        elif cls is _CONV_T and g_in is not None:
            g = g_in.conv_transpose(args[1].shape[2:], kwargs["stride"], kwargs["padding"], kwargs["dilation"])
        elif cls is _PAD and g_in is not None:
            g = self._padded(g_in, x.ndim, kwargs["pads"])
        elif cls is _POOL and g_in is not None:
            g = self._pooled(g_in, x, out)
        elif cls is _INTERPOLATE and g_in is not None:
            g = self._resized(g_in, x, out, kwargs)
        elif cls is _LINEAR or cls is _MATMUL:
            g = Geometry.whole(self.image_size)
        elif cls in _REDUCTIONS and g_in is not None:
            dims = kwargs.get("dim")
            if dims is None:
                axes = set(range(x.ndim))
            else:
                axes = {d % max(x.ndim, 1) for d in (dims if isinstance(dims, (tuple, list)) else (dims,))}
            spatial = set(self._spatial_axes(x.ndim)) or set(range(1, x.ndim))
            g = Geometry.whole(self.image_size) if spatial & axes else g_in
        elif cls is _INDEX and g_in is not None:
            g = self._indexed(g_in, x.shape, kwargs["index"])
        else:   # elementwise ops, additions, concatenations, reshapes: the union of the inputs' windows
            g, note = Geometry.merge([self.geometry[t] for t in tracked], self.image_size)
            if note:
                self._note(f"{cls.__name__.lstrip('_')}: {note}")
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

    def _pooled(self, g: Geometry, x: Tensor, out: Tensor) -> Geometry:
        n = len(self.image_size)
        spatial_in, spatial_out = tuple(x.shape[-n:]), tuple(out.shape[-n:])
        if not self._pending_pool:
            if all(s == 1 for s in spatial_out):
                return Geometry.whole(self.image_size)
            self._note("a pooling op ran outside convscope.nn.functional's pooling functions; "
                       "its receptive field is not known")
            return Geometry.unknown(n)
        kind, rank, a = self._pending_pool[-1]
        if rank != n:
            return Geometry.unknown(n)
        if kind == "adaptive":
            return g.adaptive(spatial_in, spatial_out, self.image_size)
        fn = f"{kind}_pool{n}d"
        kernel = V.to_tuple(a["kernel_size"], n, "kernel_size", fn)
        stride = a.get("stride")
        stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and not stride) \
            else V.to_tuple(stride, n, "stride", fn)
        padding = V.to_tuple(a.get("padding", 0), n, "padding", fn)
        dilation = V.to_tuple(a.get("dilation", 1), n, "dilation", fn)
        return g.conv(kernel, stride, padding, dilation)

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

    def pooling(self, kind: str, rank: int, arguments: dict):
        """Context in which a functional pool's op is traced with these arguments."""
        return _pending(self._pending_pool, (kind, rank, arguments))


@contextlib.contextmanager
def _pending(stack: list, item) -> Iterator[None]:
    stack.append(item)
    try:
        yield
    finally:
        stack.pop()


def _first_tensor(value) -> Tensor | None:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (tuple, list)):
        return next((v for v in value if isinstance(v, Tensor)), None)
    return None


def _macs(cls, args, out: Tensor) -> int:
    """Multiply-accumulates of one op (convs, linear layers, matrix products; 0 for the rest).

    conv: ``out_elements * (Cin/groups) * prod(kernel)`` (``weight.shape[1]`` is ``Cin/groups``);
    transposed conv: ``in_elements * (Cout/groups) * prod(kernel)`` (each input value scatters
    that many products); linear: ``out_elements * in_features``; matmul: ``out_elements * K``.
    Bias additions are not counted.
    """
    if cls is _CONV:
        w = args[1]
        return int(out.data.size) * int(math.prod(w.shape[1:]))
    if cls is _CONV_T:
        x, w = args[0], args[1]
        return int(x.data.size if isinstance(x, Tensor) else np.asarray(x).size) * int(math.prod(w.shape[1:]))
    if cls is _LINEAR:
        return int(out.data.size) * int(args[1].shape[1])
    if cls is _MATMUL:
        a = args[0]
        return int(out.data.size) * int(np.shape(a)[-1])
    return 0


# --------------------------------------------------------------------------- patching

def _active() -> Tracer | None:
    return getattr(_local, "tracer", None)


def _traced_call(self, *args, **kwargs):
    tracer = _active()
    original = _originals["__call__"]
    if tracer is None:
        return original(self, *args, **kwargs)
    return tracer.call(original, self, args, kwargs)


def _traced_apply(cls, *args, **kwargs):
    tracer = _active()
    original = _originals["apply"].__func__
    if tracer is not None and tracer.shapes_only and any(isinstance(a, Tensor) for a in args):
        out = tracer.abstract(original, cls, args, kwargs)
    else:
        out = original(cls, *args, **kwargs)
    if tracer is not None and isinstance(out, Tensor):
        tracer.op(cls, args, kwargs, out)
    return out


def _traced_pool(name: str):
    original = _originals[name]
    kind, rank = _POOLS[name]
    signature = inspect.signature(original)

    def pool(*args, **kwargs):
        tracer = _active()
        if tracer is None:
            return original(*args, **kwargs)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return original(*args, **kwargs)
        bound.apply_defaults()
        with tracer.pooling(kind, rank, dict(bound.arguments)):
            return original(*args, **kwargs)

    pool.__wrapped__ = original
    pool.__name__ = pool.__qualname__ = name
    pool.__doc__ = original.__doc__
    return pool


def _patch() -> None:
    global _patch_users
    with _patch_lock:
        if _patch_users == 0:
            _originals["__call__"] = Module.__dict__["__call__"]
            _originals["apply"] = Function.__dict__["apply"]
            for name in _POOLS:
                _originals[name] = getattr(F, name)
            Module.__call__ = _traced_call
            Function.apply = classmethod(_traced_apply)
            for name in _POOLS:
                setattr(F, name, _traced_pool(name))
        _patch_users += 1


def _unpatch() -> None:
    global _patch_users
    with _patch_lock:
        _patch_users -= 1
        if _patch_users == 0:
            Module.__call__ = _originals["__call__"]
            Function.apply = _originals["apply"]
            for name in _POOLS:
                setattr(F, name, _originals[name])


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
        ``notes``, ``failure`` and ``total_macs``.

    Raises
    ------
    RuntimeError
        When this thread is already tracing.
    """
    if _active() is not None:
        raise RuntimeError("tracing: this thread is already tracing a model; nested traces are not supported")
    names = {}
    for name, m in model.named_modules():
        names.setdefault(id(m), name)
    tracer = Tracer(names, tuple(image_size), bool(shapes_only))
    _patch()
    _local.tracer = tracer
    try:
        yield tracer
    finally:
        _local.tracer = None
        _unpatch()
