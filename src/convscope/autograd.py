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
import threading
from typing import Any, Iterator

import numpy as np

from . import backend

__all__ = ["Tensor", "Function", "no_grad", "enable_grad", "is_grad_enabled", "tensor"]

_state = threading.local()


def is_grad_enabled() -> bool:
    """Whether operations on Tensors are being recorded for backward."""
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
    """Context manager that stops recording: ``with convscope.no_grad(): y = model(x)``."""
    return _grad_mode(False)


def enable_grad():
    """Context manager that turns recording back on inside a ``no_grad`` block."""
    return _grad_mode(True)


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Parameters
    ----------
    data : array_like
        Copied only when needed. A Python float or a list of floats becomes the default dtype
        (float32), as ``torch.tensor`` does; a NumPy array keeps its dtype.
    requires_grad : bool
        Accumulate ``d(output)/d(self)`` into ``.grad`` when ``backward`` is called.
    """

    __array_priority__ = 1000  # so ndarray + Tensor defers to Tensor (once arithmetic exists)

    def __init__(self, data: Any, requires_grad: bool = False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        if dtype is None and not isinstance(data, np.ndarray):
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
    """Build a Tensor, like ``torch.tensor``."""
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
    array; ``backward(ctx, grad)`` returns one gradient (or None) per positional input.
    """

    @staticmethod
    def forward(ctx: Context, *args, **kwargs) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        tensors = tuple(a if isinstance(a, Tensor) else None for a in args)
        arrays = tuple(a.data if isinstance(a, Tensor) else a for a in args)
        record = is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)
        ctx = Context(tuple(bool(t is not None and t.requires_grad) for t in tensors))
        out = cls.forward(ctx, *arrays, **kwargs)
        if all(t is None for t in tensors):
            return out
        result = Tensor(out)
        if record:
            result.requires_grad = True
            result._node = _Node(cls, ctx, tensors)
        return result
