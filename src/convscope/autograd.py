"""Reverse-mode automatic differentiation: ``Tensor`` and the tape.

A :class:`Function` pairs a forward and a backward over NumPy arrays (the math lives in
:mod:`convscope.ops`). ``Function.apply`` runs the forward and, when an input Tensor requires a
gradient and grad mode is on, records a node linking the output to its inputs. ``backward``
orders the recorded graph topologically and walks it once in reverse, adding each gradient into
its parents (micrograd's whole idea, with arrays instead of scalars). The graph's saved arrays are
freed afterwards; going backward through it a second time is an error, as in PyTorch.

Calling an op on plain arrays runs the forward only and returns an array.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping, NamedTuple

import numpy as np

from . import backend

__all__ = ["Tensor", "Function", "no_grad", "enable_grad", "is_grad_enabled", "tensor", "cat", "stack",
           "OpCall", "RemovableHandle", "HookHandle", "register_op_hook", "shape_only"]

_state = threading.local()


def is_grad_enabled() -> bool:
    """Whether operations on Tensors are being recorded for backward.

    Grad mode is per thread and on by default.

    Examples
    --------
    >>> is_grad_enabled()
    True
    >>> with no_grad():
    ...     is_grad_enabled()
    False
    """
    return getattr(_state, "enabled", True)


@contextlib.contextmanager
def _grad_mode(enabled: bool) -> Iterator[None]:
    previous = is_grad_enabled()
    _state.enabled = enabled
    try:
        yield
    finally:
        _state.enabled = previous


def no_grad():
    """Context manager that stops recording: ``with convscope.no_grad(): y = model(x)``.

    Examples
    --------
    >>> x = Tensor([1., 2.], requires_grad=True)
    >>> with no_grad():
    ...     y = x * 2
    >>> y.requires_grad, y.is_leaf
    (False, True)
    >>> (x * 2).requires_grad                    # recording resumes after the block
    True
    """
    return _grad_mode(False)


def enable_grad():
    """Context manager that turns recording back on inside a ``no_grad`` block.

    Examples
    --------
    >>> x = Tensor([1., 2.], requires_grad=True)
    >>> with no_grad():
    ...     with enable_grad():
    ...         y = x * 2
    ...     z = x * 2
    >>> y.requires_grad, z.requires_grad
    (True, False)
    """
    return _grad_mode(True)


class MaxResult(NamedTuple):
    values: "Tensor"
    indices: "Tensor"


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Parameters
    ----------
    data : array_like
        Copied only when needed. A Python float or a list of floats becomes the default dtype
        (float32), as ``torch.tensor`` does; a NumPy array keeps its dtype.
    requires_grad : bool
        Accumulate ``d(output)/d(self)`` into ``.grad`` when ``backward`` is called.

    Examples
    --------
    >>> x = Tensor([1., 2., 3.], requires_grad=True)
    >>> x
    tensor([1., 2., 3.], dtype=float32, requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad.tolist()                          # d(sum x^2)/dx = 2x; .grad is a NumPy array
    [2.0, 4.0, 6.0]
    >>> (x * x).sum().backward()                 # gradients accumulate, as in PyTorch
    >>> x.grad.tolist()
    [4.0, 8.0, 12.0]
    >>> Tensor(np.zeros((2, 3))).dtype           # a NumPy array keeps its dtype
    dtype('float64')
    """

    __array_priority__ = 1000  # so ndarray + Tensor defers to Tensor (once arithmetic exists)

    def __init__(self, data: Any, requires_grad: bool = False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        if dtype is None and not isinstance(data, (np.ndarray, np.generic)):
            array = np.asarray(data)
            if array.dtype.kind == "f":
                array = array.astype(backend.get_default_dtype())
        else:
            array = np.asarray(data, dtype=dtype)
        if requires_grad and array.dtype.kind != "f":
            raise TypeError(f"Tensor: requires_grad expects a floating dtype, but got {array.dtype}")
        self.data: np.ndarray = array
        self.requires_grad: bool = bool(requires_grad)
        self.grad: np.ndarray | None = None
        self._node: _Node | None = None

    # -- array-like facts
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def size(self, dim: int | None = None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self) -> int:
        return int(self.data.size)

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied), like ``torch.Tensor.numpy``."""
        return self.data

    def item(self) -> float:
        return self.data.item()

    def detach(self) -> "Tensor":
        """A Tensor sharing the data but cut from the graph."""
        return Tensor(self.data)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        if flag and self.dtype.kind != "f":
            raise TypeError(f"requires_grad_: expects a floating Tensor, but got dtype {self.dtype}")
        self.requires_grad = bool(flag)
        return self

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        return f"tensor({body}, dtype={self.dtype}{grad})"


    # -- arithmetic and shape ops (recorded; defined as Functions below)
    def __add__(self, other):
        return Add.apply(self, _operand(other, self))

    def __radd__(self, other):
        return Add.apply(_operand(other, self), self)

    def __sub__(self, other):
        return Sub.apply(self, _operand(other, self))

    def __rsub__(self, other):
        return Sub.apply(_operand(other, self), self)

    def __mul__(self, other):
        return Mul.apply(self, _operand(other, self))

    def __rmul__(self, other):
        return Mul.apply(_operand(other, self), self)

    def __truediv__(self, other):
        return Div.apply(self, _operand(other, self))

    def __rtruediv__(self, other):
        return Div.apply(_operand(other, self), self)

    def __neg__(self):
        return Neg.apply(self)

    def __pow__(self, exponent):
        if not isinstance(exponent, (int, float)):
            raise TypeError(f"pow: exponent expects a Python int or float, but got {type(exponent).__name__}")
        return Pow.apply(self, exponent=exponent)

    def __matmul__(self, other):
        return MatMul.apply(self, _operand(other, self))

    def __rmatmul__(self, other):
        return MatMul.apply(_operand(other, self), self)

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index.data
        return Index.apply(self, index=index)

    # comparisons give plain boolean Tensors (no gradient flows through them)
    def __lt__(self, other):
        return Tensor(self.data < _raw(other))

    def __le__(self, other):
        return Tensor(self.data <= _raw(other))

    def __gt__(self, other):
        return Tensor(self.data > _raw(other))

    def __ge__(self, other):
        return Tensor(self.data >= _raw(other))

    def eq(self, other):
        return Tensor(self.data == _raw(other))

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return Reshape.apply(self, shape=tuple(shape))

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        nd = max(self.ndim, 1)
        start, end = start_dim % nd, end_dim % nd
        if start > end:
            raise ValueError(f"flatten: start_dim ({start_dim}) expects to come before end_dim ({end_dim})")
        shape = self.shape[:start] + (-1,) + self.shape[end + 1:]
        return Reshape.apply(self, shape=shape) if self.ndim else Reshape.apply(self, shape=(1,))

    def permute(self, *dims):
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        return Permute.apply(self, dims=tuple(dims))

    def transpose(self, dim0: int, dim1: int):
        dims = list(range(self.ndim))
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return Permute.apply(self, dims=tuple(dims))

    @property
    def T(self):
        return Permute.apply(self, dims=tuple(reversed(range(self.ndim))))

    def sum(self, dim=None, keepdim: bool = False):
        return Sum.apply(self, dim=_dims(dim), keepdim=keepdim)

    def mean(self, dim=None, keepdim: bool = False):
        return Mean.apply(self, dim=_dims(dim), keepdim=keepdim)

    def exp(self):
        return Exp.apply(self)

    def log(self):
        return Log.apply(self)

    def sqrt(self):
        return Pow.apply(self, exponent=0.5)

    def abs(self):
        return Abs.apply(self)

    def max(self, dim=None, keepdim: bool = False):
        """The maximum; with ``dim``, a ``(values, indices)`` pair as in PyTorch."""
        if dim is None:
            return Max.apply(self, dim=None, keepdim=False)
        values = Max.apply(self, dim=dim, keepdim=keepdim)
        return MaxResult(values, Tensor(np.argmax(self.data, axis=dim, keepdims=keepdim)))

    def argmax(self, dim=None, keepdim: bool = False):
        return Tensor(np.argmax(self.data, axis=dim, keepdims=keepdim))

    def astype(self, dtype):
        return Cast.apply(self, dtype=np.dtype(dtype))

    def float(self):
        return self.astype(np.float32)

    def double(self):
        return self.astype(np.float64)

    def clone(self):
        return Reshape.apply(self, shape=self.shape, copy=True)

    # -- backward
    def backward(self, gradient: Any = None) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of every leaf that needs one.

        ``gradient`` is ``d(loss)/d(self)``; it may be omitted for a single-element tensor.
        """
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no graph")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: gradient can be omitted only for a single-element tensor, but shape is {self.shape}")
            gradient = np.ones_like(self.data)
        else:
            gradient = np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient, dtype=self.dtype)
            if gradient.shape != self.shape:
                raise ValueError(f"backward: gradient expects shape {self.shape}, but got {gradient.shape}")

        order: list[Tensor] = []
        seen: set[int] = set()
        stack: list[tuple[Tensor, bool]] = [(self, False)]
        while stack:  # iterative DFS post-order, so deep networks do not hit the recursion limit
            t, expanded = stack.pop()
            if expanded:
                order.append(t)
                continue
            if id(t) in seen:
                continue
            seen.add(id(t))
            stack.append((t, True))
            if t._node is not None:
                stack.extend((p, False) for p in t._node.parents if p is not None and p.requires_grad)

        grads: dict[int, np.ndarray] = {id(self): gradient}
        for t in reversed(order):
            g = grads.pop(id(t), None)
            if g is None:
                continue
            if t._node is None:
                if t.grad is None:
                    t.grad = np.array(g, dtype=t.dtype, copy=True)
                else:
                    t.grad += g
                continue
            node = t._node
            if node.ctx is None:
                raise RuntimeError(
                    "backward: trying to go backward through the graph a second time; "
                    "its saved arrays were freed after the first backward")
            parent_grads = node.fn.backward(node.ctx, g)
            if not isinstance(parent_grads, tuple):
                parent_grads = (parent_grads,)
            for parent, pg in zip(node.parents, parent_grads):
                if parent is None or pg is None or not parent.requires_grad:
                    continue
                if id(parent) in grads:
                    grads[id(parent)] = grads[id(parent)] + pg
                else:
                    grads[id(parent)] = pg
            node.ctx = None  # free the saved arrays


def tensor(data: Any, requires_grad: bool = False, dtype=None) -> Tensor:
    """Build a Tensor, like ``torch.tensor``.

    Examples
    --------
    >>> t = tensor([[1., 2.]])
    >>> t.shape, t.dtype, t.requires_grad
    ((1, 2), dtype('float32'), False)
    >>> tensor([1, 2]).dtype
    dtype('int64')
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


class _Node:
    __slots__ = ("fn", "ctx", "parents")

    def __init__(self, fn, ctx, parents):
        self.fn, self.ctx, self.parents = fn, ctx, parents


class Context:
    """What a Function's forward leaves for its backward."""

    def __init__(self, needs_input_grad: tuple[bool, ...]):
        self.needs_input_grad = needs_input_grad
        self.saved: tuple = ()

    def save_for_backward(self, *values) -> None:
        self.saved = values


class Function:
    """Base of differentiable ops. Subclasses define static ``forward`` and ``backward``.

    ``forward(ctx, *arrays, **options)`` gets plain arrays (Tensors unwrapped) and returns an
    array; ``backward(ctx, grad)`` returns one gradient (or None) per positional input. An op
    says who it is: ``name`` is its public name (``"add"``, ``"conv"``) and :meth:`describe`
    gives the name of one call (``"conv2d"``) and its geometry as plain data, which op hooks
    (:func:`register_op_hook`) receive. With ``multiple_outputs`` the forward returns a tuple
    whose first array is the differentiable output and the rest plain extras (max pooling's
    indices); ``apply`` then returns ``(output, *extras)``.

    Examples
    --------
    >>> class Square(Function):
    ...     name = "square"
    ...     @staticmethod
    ...     def forward(ctx, a):
    ...         ctx.save_for_backward(a)
    ...         return a * a
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (a,) = ctx.saved
    ...         return 2 * a * g
    >>> x = Tensor([3.], requires_grad=True)
    >>> y = Square.apply(x)
    >>> y.backward()
    >>> y.data.tolist(), x.grad.tolist()
    ([9.0], [6.0])
    >>> Square.apply(np.array([2.]))             # plain arrays: the forward only, an array back
    array([4.])
    """

    name: str | None = None             # the public op name; None: the class name
    multiple_outputs: bool = False

    @staticmethod
    def forward(ctx: Context, *args, **kwargs) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def describe(cls, arrays: tuple, options: dict, output: np.ndarray) -> tuple[str, dict]:
        """``(name, geometry)`` of one call: the op's public name and a dict of plain ints and
        tuples (kernel, stride, padding... for ops that have them; empty for the others)."""
        return (cls.name or cls.__name__), {}

    @classmethod
    def apply(cls, *args, **kwargs):
        tensors = tuple(a if isinstance(a, Tensor) else None for a in args)
        arrays = tuple(a.data if isinstance(a, Tensor) else a for a in args)
        traced = any(t is not None for t in tensors)
        record = is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)
        ctx = Context(tuple(bool(t is not None and t.requires_grad) for t in tensors))
        rule = getattr(_state, "shape_rule", None) if traced else None
        out = None if rule is None else rule(cls, arrays, kwargs)
        stand_in = out is not None
        if not stand_in:
            out = cls.forward(ctx, *arrays, **kwargs)
        if not traced:
            return out
        extras = ()
        if cls.multiple_outputs:
            out, *extras = out
        result = Tensor(np.asarray(out))
        if record and not stand_in:
            result.requires_grad = True
            result._node = _Node(cls, ctx, tensors)
        if _op_hooks:
            _notify(cls, args, arrays, kwargs, result)
        return (result, *(Tensor(np.asarray(e)) for e in extras)) if cls.multiple_outputs else result


# --------------------------------------------------------------------------- observing op calls

@dataclass(frozen=True)
class OpCall:
    """One application of a :class:`Function` to Tensors, as an op hook receives it.

    Attributes
    ----------
    function : type
        The Function subclass.
    name : str
        Its public name for this call (``"conv2d"``, ``"max_pool2d"``, ``"add"``; a Function
        without a ``name`` gives its class name).
    inputs : tuple
        The positional operands as passed to ``apply`` (Tensors, arrays, None, numbers).
    input_shapes, input_dtypes : tuple
        Per operand: its shape and dtype, or None for an operand that is not an array.
    output : Tensor
        The (first) output.
    output_shape : tuple of int
    output_dtype : numpy.dtype
    geometry : dict
        Plain ints and tuples: kernel, stride, padding, dilation, groups, output size... for the
        ops that have them (see each Function's ``describe``); empty for the others.
    options : mapping
        The keyword options passed to ``apply`` (read-only).

    Examples
    --------
    >>> calls = []
    >>> with register_op_hook(calls.append):
    ...     y = Tensor(np.ones((2, 3))) + 1
    >>> call = calls[0]
    >>> call.name, call.input_shapes, call.output_shape, call.geometry
    ('add', ((2, 3), ()), (2, 3), {})
    """

    function: type
    name: str
    inputs: tuple
    input_shapes: tuple
    input_dtypes: tuple
    output: Any
    output_shape: tuple
    output_dtype: Any
    geometry: dict
    options: Mapping


class RemovableHandle:
    """What a hook registration returns: ``handle.remove()`` unregisters the hook.

    Returned by :func:`register_op_hook` and by every module hook (``register_forward_hook`` and
    friends, ``convscope.nn.register_module_*``). Also a context manager, so ``with
    model.register_forward_hook(fn): model(x)`` removes the hook on leaving the block, even after
    an error. Removing twice is harmless.

    Parameters
    ----------
    table : dict
        The registry the hook was stored in, under this handle's ``id``.
    on_remove : callable, optional
        Called after the hook left ``table`` (the op hooks refresh their snapshot).

    Examples
    --------
    >>> table = {}
    >>> handle = RemovableHandle(table)
    >>> table[handle.id] = print
    >>> with handle:
    ...     len(table)
    1
    >>> len(table)
    0
    """

    _ids = itertools.count()

    def __init__(self, table: dict, on_remove: Callable[[], None] | None = None) -> None:
        self._table, self._on_remove = table, on_remove
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        if self._table.pop(self.id, None) is not None and self._on_remove is not None:
            self._on_remove()

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


HookHandle = RemovableHandle            # the name register_op_hook's handle had first


_hook_table: dict[int, Any] = {}
_op_hooks: tuple = ()                   # a snapshot of the table, read without the lock
_hooks_lock = threading.Lock()


def _refresh_hooks() -> None:
    global _op_hooks
    _op_hooks = tuple(_hook_table.values())


def register_op_hook(hook) -> HookHandle:
    """Call ``hook(call)`` after every op applied to Tensors, in any thread, with an :class:`OpCall`.

    The one way to observe ops (``torch.fx``'s node records, seen live): a hook reads the op's
    name, operand shapes and geometry without knowing its class. Ops applied to plain arrays
    only are not reported. A hook's return value is ignored; an exception it raises propagates.

    Parameters
    ----------
    hook : callable
        ``hook(call: OpCall) -> None``.

    Returns
    -------
    HookHandle
        ``handle.remove()`` unregisters the hook; a ``with`` block does it on exit.

    Raises
    ------
    TypeError
        If ``hook`` is not callable.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import Tensor
    >>> from convscope.nn import functional as F
    >>> seen = []
    >>> with register_op_hook(lambda call: seen.append((call.name, call.geometry.get("stride")))):
    ...     y = F.conv2d(Tensor(np.zeros((1, 1, 5, 5))), np.ones((1, 1, 3, 3)), stride=2)
    >>> seen
    [('conv2d', (2, 2))]
    """
    if not callable(hook):
        raise TypeError(f"register_op_hook: hook expects a callable, but got {type(hook).__name__}")
    def refresh() -> None:
        with _hooks_lock:
            _refresh_hooks()

    handle = RemovableHandle(_hook_table, on_remove=refresh)
    with _hooks_lock:
        _hook_table[handle.id] = hook
        _refresh_hooks()
    return handle


def _notify(cls, args, arrays, options, result: "Tensor") -> None:
    name, geometry = cls.describe(arrays, options, result.data)
    call = OpCall(cls, name, args, tuple(np.shape(a) if _is_array(a) else None for a in arrays),
                  tuple(np.asarray(a).dtype if _is_array(a) else None for a in arrays),
                  result, tuple(result.shape), result.dtype, dict(geometry), MappingProxyType(dict(options)))
    for hook in _op_hooks:
        hook(call)


def _is_array(value) -> bool:
    return isinstance(value, (np.ndarray, np.generic))


@contextlib.contextmanager
def shape_only(rule) -> Iterator[None]:
    """In this thread, let ``rule(function, arrays, options)`` stand in for ops' forwards.

    For each op applied to Tensors inside the block, ``rule`` gets the Function class, the
    operands (Tensors unwrapped) and the options; an array it returns becomes the op's output
    and no graph is recorded; None runs the forward as usual. This is how
    :func:`convscope.summary` traces a model without computing it (JAX's ``eval_shape``).
    Op hooks still see every call.

    Examples
    --------
    A rule that stands in for multiplications with zeros of the first operand's shape, and lets
    every other op run (no graph is recorded past a stand-in):

    >>> def rule(function, arrays, options):
    ...     return np.zeros(np.shape(arrays[0])) if function.name == "mul" else None
    >>> x = Tensor(np.ones((2, 3)), requires_grad=True)
    >>> with shape_only(rule):
    ...     y = (x * 5).sum(dim=1)
    >>> y.shape, y.data.tolist(), y.requires_grad
    ((2,), [0.0, 0.0], False)
    """
    previous = getattr(_state, "shape_rule", None)
    _state.shape_rule = rule
    try:
        yield
    finally:
        _state.shape_rule = previous


# --------------------------------------------------------------------------- tensor ops

def _raw(value):
    return value.data if isinstance(value, Tensor) else value


def _operand(value, like: Tensor):
    """A Python number becomes an array of the tensor's dtype (so 2 * float32 stays float32)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (int, float, bool)):
        return np.asarray(value, dtype=like.dtype if like.dtype.kind == "f" else None)
    return np.asarray(value)


def _dims(dim):
    if dim is None:
        return None
    return tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)


def _unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, back to ``shape``."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1)
    out = grad.sum(axis=axes, keepdims=True) if axes else grad
    return out.reshape(shape)



class Add(Function):
    name = "add"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(np.shape(a), np.shape(b))
        return np.add(a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.saved
        return _unbroadcast(g, sa), _unbroadcast(g, sb)


class Sub(Function):
    name = "sub"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(np.shape(a), np.shape(b))
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.saved
        return _unbroadcast(g, sa), _unbroadcast(-g, sb)


class Mul(Function):
    name = "mul"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        ga = _unbroadcast(g * b, np.shape(a)) if ctx.needs_input_grad[0] else None
        gb = _unbroadcast(g * a, np.shape(b)) if ctx.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    name = "div"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.divide(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        ga = _unbroadcast(g / b, np.shape(a)) if ctx.needs_input_grad[0] else None
        gb = _unbroadcast(-g * a / (b * b), np.shape(b)) if ctx.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    name = "neg"

    @staticmethod
    def forward(ctx, a):
        return np.negative(a)

    @staticmethod
    def backward(ctx, g):
        return (-g,)


class Pow(Function):
    name = "pow"

    @staticmethod
    def forward(ctx, a, *, exponent):
        ctx.save_for_backward(a)
        ctx.exponent = exponent
        return np.power(a, exponent).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        e = ctx.exponent
        return (g * e * np.power(a, e - 1),)


class Exp(Function):
    name = "exp"

    @staticmethod
    def forward(ctx, a):
        y = np.exp(a)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.saved[0],)


class Log(Function):
    name = "log"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, g):
        return (g / ctx.saved[0],)


class Abs(Function):
    name = "abs"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, g):
        return (g * np.sign(ctx.saved[0]),)


class MatMul(Function):
    name = "matmul"

    @staticmethod
    def forward(ctx, a, b):
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            raise ValueError("matmul: both operands expect at least 1 dimension, but one is a scalar")
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        a2 = a[None, :] if a.ndim == 1 else a            # treat vectors as 1-row / 1-column matrices
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = _unbroadcast(np.matmul(g2, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            gb = _unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape).reshape(b.shape)
        return ga, gb


class Reshape(Function):
    name = "reshape"

    @staticmethod
    def forward(ctx, a, *, shape, copy=False):
        ctx.save_for_backward(a.shape)
        out = np.reshape(a, shape)
        return out.copy() if copy else out

    @staticmethod
    def backward(ctx, g):
        return (np.reshape(g, ctx.saved[0]),)


class Permute(Function):
    name = "permute"

    @staticmethod
    def forward(ctx, a, *, dims):
        if sorted(d % max(a.ndim, 1) for d in dims) != list(range(a.ndim)):
            raise ValueError(f"permute: dims expects a permutation of {tuple(range(a.ndim))}, but got {dims}")
        ctx.dims = dims
        return np.transpose(a, dims)

    @staticmethod
    def backward(ctx, g):
        return (np.transpose(g, np.argsort([d % g.ndim for d in ctx.dims])),)


class Index(Function):
    name = "index"

    @staticmethod
    def forward(ctx, a, *, index):
        ctx.save_for_backward(a.shape, a.dtype)
        ctx.index = index
        return a[index]

    @staticmethod
    def backward(ctx, g):
        shape, dtype = ctx.saved
        out = np.zeros(shape, dtype=g.dtype)
        np.add.at(out, ctx.index, g)   # repeated indices accumulate
        return (out,)


class Sum(Function):
    name = "sum"

    @staticmethod
    def forward(ctx, a, *, dim, keepdim):
        ctx.save_for_backward(a.shape)
        ctx.dim, ctx.keepdim = dim, keepdim
        return np.asarray(np.sum(a, axis=dim, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        (shape,) = ctx.saved
        if ctx.dim is not None and not ctx.keepdim:
            g = np.expand_dims(g, tuple(d % len(shape) for d in ctx.dim))
        return (np.broadcast_to(g, shape).copy(),)


class Mean(Function):
    name = "mean"

    @staticmethod
    def forward(ctx, a, *, dim, keepdim):
        ctx.save_for_backward(a.shape)
        ctx.dim, ctx.keepdim = dim, keepdim
        return np.asarray(np.mean(a, axis=dim, keepdims=keepdim), dtype=a.dtype)

    @staticmethod
    def backward(ctx, g):
        (shape,) = ctx.saved
        axes = tuple(range(len(shape))) if ctx.dim is None else tuple(d % len(shape) for d in ctx.dim)
        count = int(np.prod([shape[d] for d in axes])) if axes else 1
        if ctx.dim is not None and not ctx.keepdim:
            g = np.expand_dims(g, axes)
        return (np.broadcast_to(g / count, shape).copy(),)


class Max(Function):
    name = "max"

    @staticmethod
    def forward(ctx, a, *, dim, keepdim):
        y = np.max(a, axis=dim, keepdims=True)
        ctx.save_for_backward(a, y)
        ctx.dim, ctx.keepdim = dim, keepdim
        return y if keepdim else (np.squeeze(y, axis=dim) if dim is not None else y.reshape(()))

    @staticmethod
    def backward(ctx, g):
        a, y = ctx.saved
        mask = a == y
        count = mask.sum(axis=ctx.dim, keepdims=True)     # ties share the gradient evenly
        g = np.reshape(g, y.shape)
        return (mask * (g / count),)


class Cast(Function):
    name = "cast"

    @staticmethod
    def forward(ctx, a, *, dtype):
        ctx.save_for_backward(a.dtype)
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return (g.astype(ctx.saved[0]),)


class Cat(Function):
    name = "cat"

    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.sizes = [a.shape[dim] for a in arrays]
        ctx.dim = dim
        return np.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        cuts = np.cumsum(ctx.sizes)[:-1]
        return tuple(np.split(g, cuts, axis=ctx.dim))


def cat(tensors, dim: int = 0):
    """Concatenate along an existing dimension, like ``torch.cat`` (Inception's branch merge).

    Examples
    --------
    >>> a = Tensor(np.ones((2, 3)), requires_grad=True)
    >>> b = Tensor(np.zeros((1, 3)), requires_grad=True)
    >>> c = cat([a, b], dim=0)
    >>> c.shape
    (3, 3)
    >>> (c * Tensor(np.arange(9.).reshape(3, 3))).sum().backward()
    >>> a.grad.tolist(), b.grad.tolist()         # the gradient is split back along dim 0
    ([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]], [[6.0, 7.0, 8.0]])
    """
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: tensors expects a non-empty sequence, but got an empty one")
    return Cat.apply(*tensors, dim=dim)


def stack(tensors, dim: int = 0):
    """Stack along a new dimension, like ``torch.stack``.

    Examples
    --------
    >>> u, v = Tensor([1., 2.], requires_grad=True), Tensor([3., 4.], requires_grad=True)
    >>> s = stack([u, v], dim=1)
    >>> s.shape, s.data.tolist()
    ((2, 2), [[1.0, 3.0], [2.0, 4.0]])
    >>> stack([u, v]).shape
    (2, 2)
    >>> s.backward(np.array([[1., 2.], [3., 4.]]))
    >>> u.grad.tolist(), v.grad.tolist()
    ([1.0, 3.0], [2.0, 4.0])
    """
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: tensors expects a non-empty sequence, but got an empty one")
    expanded = [t.reshape(t.shape[:dim % (t.ndim + 1)] + (1,) + t.shape[dim % (t.ndim + 1):])
                if isinstance(t, Tensor) else np.expand_dims(np.asarray(t), dim) for t in tensors]
    return Cat.apply(*expanded, dim=dim)
