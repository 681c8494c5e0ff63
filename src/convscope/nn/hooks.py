"""Hooks on module calls, as in PyTorch: removable handles, global hooks, backward-hook barriers.

The per-module hooks are methods of :class:`convscope.nn.Module`; this module holds what they share:
:class:`RemovableHandle`, the global ``register_module_*`` hooks that run on every module call
(before the module's own hooks of the same kind), and the barrier that lets full backward hooks
see all gradients of a call at once without support from the tape.

Examples
--------
>>> import numpy as np
>>> from convscope import nn
>>> seen = []
>>> handle = nn.register_module_forward_hook(lambda module, args, output: seen.append(type(module).__name__))
>>> _ = nn.Sequential(nn.Linear(2, 2), nn.ReLU())(np.ones((1, 2), np.float32))
>>> handle.remove()
>>> seen
['Linear', 'ReLU', 'Sequential']
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from typing import Any

import numpy as np

from ..autograd import Function, RemovableHandle, Tensor

__all__ = ["RemovableHandle", "register_module_forward_pre_hook", "register_module_forward_hook",
           "register_module_full_backward_pre_hook", "register_module_full_backward_hook"]


# Hooks common to every module, as in ``torch.nn.modules.module``: they run on every Module call,
# before the module's own hooks of the same kind.
_global_forward_pre_hooks: "OrderedDict[int, Any]" = OrderedDict()
_global_forward_hooks: "OrderedDict[int, Any]" = OrderedDict()
_global_backward_pre_hooks: "OrderedDict[int, Any]" = OrderedDict()
_global_backward_hooks: "OrderedDict[int, Any]" = OrderedDict()


def _add_hook(table: "OrderedDict[int, Any]", hook, fn: str) -> RemovableHandle:
    """Store a callable ``hook`` in ``table`` under a new handle (the one registration for the
    global hooks here and the per-module ones of :class:`Module`)."""
    if not callable(hook):
        raise TypeError(f"{fn}: hook expects a callable, but got {type(hook).__name__}")
    handle = RemovableHandle(table)
    table[handle.id] = hook
    return handle


def register_module_forward_pre_hook(hook) -> RemovableHandle:
    """Call ``hook(module, args)`` before the ``forward`` of every module, like PyTorch's.

    Global state meant for debugging and profiling. ``args`` is the tuple of positional inputs
    (keyword arguments go to ``forward`` only). A result other than None replaces ``args``: a
    tuple as it is, any other value as a 1-tuple. Global pre-hooks run before the module's own
    :meth:`Module.register_forward_pre_hook` hooks, in the order they were registered; the hooks
    registered when a call starts are the ones that run for it.

    Parameters
    ----------
    hook : callable
        ``hook(module, args) -> None or new args``.

    Returns
    -------
    RemovableHandle
        ``handle.remove()`` unregisters the hook; a ``with`` block does it on exit.

    Raises
    ------
    TypeError
        If ``hook`` is not callable.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> net = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    >>> called = []
    >>> with nn.register_module_forward_pre_hook(lambda m, args: called.append(type(m).__name__)):
    ...     _ = net(np.zeros((2, 4), dtype=np.float32))
    >>> called
    ['Sequential', 'Linear', 'ReLU']
    """
    return _add_hook(_global_forward_pre_hooks, hook, "register_module_forward_pre_hook")


def register_module_forward_hook(hook) -> RemovableHandle:
    """Call ``hook(module, args, output)`` after the ``forward`` of every module, like PyTorch's.

    Global state meant for debugging and profiling. ``args`` is the tuple of positional inputs
    (after any pre-hook replaced it), ``output`` what ``forward`` returned; a result other than
    None replaces the output. Global hooks run before the module's own
    :meth:`Module.register_forward_hook` hooks, in the order they were registered. A hook sees a
    module's call only after the calls of its children have finished (a Sequential comes last).

    Parameters
    ----------
    hook : callable
        ``hook(module, args, output) -> None or new output``.

    Returns
    -------
    RemovableHandle
        ``handle.remove()`` unregisters the hook; a ``with`` block does it on exit.

    Raises
    ------
    TypeError
        If ``hook`` is not callable.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten())
    >>> shapes = []
    >>> with nn.register_module_forward_hook(lambda m, args, out: shapes.append((type(m).__name__, out.shape))):
    ...     _ = net(np.zeros((1, 1, 5, 5), dtype=np.float32))
    >>> shapes
    [('Conv2d', (1, 2, 3, 3)), ('ReLU', (1, 2, 3, 3)), ('Flatten', (1, 18)), ('Sequential', (1, 18))]
    """
    return _add_hook(_global_forward_hooks, hook, "register_module_forward_hook")


def register_module_full_backward_pre_hook(hook) -> RemovableHandle:
    """Call ``hook(module, grad_output)`` when the gradients of every module's outputs are known.

    The global form of :meth:`Module.register_full_backward_pre_hook`, as in PyTorch; it runs
    before the module's own backward pre-hooks. Global state meant for debugging.

    Parameters
    ----------
    hook : callable
        ``hook(module, grad_output) -> None or new grad_output``.

    Returns
    -------
    RemovableHandle

    Raises
    ------
    TypeError
        If ``hook`` is not callable.

    Examples
    --------
    >>> import numpy as np
    >>> import convscope
    >>> from convscope import nn
    >>> net = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    >>> seen = []
    >>> with nn.register_module_full_backward_pre_hook(lambda m, g: seen.append(type(m).__name__)):
    ...     net(convscope.Tensor(np.ones((1, 3)), requires_grad=True)).sum().backward()
    >>> seen
    ['Sequential', 'ReLU', 'Linear']
    """
    return _add_hook(_global_backward_pre_hooks, hook, "register_module_full_backward_pre_hook")


def register_module_full_backward_hook(hook) -> RemovableHandle:
    """Call ``hook(module, grad_input, grad_output)`` when every module's input gradients are known.

    The global form of :meth:`Module.register_full_backward_hook`, as in PyTorch; it runs before
    the module's own backward hooks. Global state meant for debugging.

    Parameters
    ----------
    hook : callable
        ``hook(module, grad_input, grad_output) -> None or new grad_input``.

    Returns
    -------
    RemovableHandle

    Raises
    ------
    TypeError
        If ``hook`` is not callable.

    Examples
    --------
    >>> import numpy as np
    >>> import convscope
    >>> from convscope import nn
    >>> net = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    >>> seen = []
    >>> with nn.register_module_full_backward_hook(lambda m, gi, go: seen.append(type(m).__name__)):
    ...     net(convscope.Tensor(np.ones((1, 3)), requires_grad=True)).sum().backward()
    >>> seen
    ['ReLU', 'Linear', 'Sequential']
    """
    return _add_hook(_global_backward_hooks, hook, "register_module_full_backward_hook")


# --------------------------------------------------------------------------- backward hooks
# The tape has one output per node and no hooks of its own, so a module boundary is marked by a
# barrier of two tiny Functions. The tensors crossing it become the parents of one token node
# (_BarrierJoin); each is replaced by a stand-in (_BarrierSplit) that is an identity of its data
# hanging off the token. backward walks the graph in topological order, so it reaches the token
# only after every use of every stand-in: the token's backward then holds all their gradients at
# once, hands them to a callback and passes on what the callback returns. A module call puts one
# barrier on its inputs and one on its outputs (PyTorch's BackwardHookFunction does the same job).

class _BarrierJoin(Function):
    name = "backward_hook_barrier"      # what an op hook sees: bookkeeping, no arithmetic

    @staticmethod
    def forward(ctx, *arrays, barrier):
        ctx.barrier = barrier
        return np.zeros(())

    @staticmethod
    def backward(ctx, g):
        return tuple(ctx.barrier.release())


class _BarrierSplit(Function):
    name = "backward_hook_barrier"

    @staticmethod
    def forward(ctx, token, array, *, barrier, index):
        ctx.barrier, ctx.index = barrier, index
        return array

    @staticmethod
    def backward(ctx, g):
        ctx.barrier.grads[ctx.index] = g
        return np.zeros(()), None


class _Barrier:
    """Stand-ins for ``tensors`` whose complete gradients go through ``on_backward(grads)`` at once."""

    def __init__(self, tensors, on_backward) -> None:
        self.on_backward = on_backward
        self.grads: list = [None] * len(tensors)
        self.like = [(t.shape, t.dtype) for t in tensors]
        token = _BarrierJoin.apply(*tensors, barrier=self)
        self.stand_ins = [_BarrierSplit.apply(token, t.data, barrier=self, index=i) for i, t in enumerate(tensors)]

    def release(self):
        grads = self.on_backward(tuple(self.grads))
        self.grads = [None] * len(self.grads)
        out = []
        for g, (shape, dtype) in zip(grads, self.like):
            if g is not None:
                g = np.asarray(g.data if isinstance(g, Tensor) else g, dtype=dtype)
                if g.shape != shape:
                    raise ValueError(f"backward hook: a returned gradient expects the shape {shape} of its "
                                     f"tensor, but got {g.shape}")
            out.append(g)
        return out


class _BackwardHooks:
    """One module call's full backward (pre-)hooks: a barrier on its inputs and one on its outputs.

    ``grad_input`` has one entry per positional argument: None for what is not a Tensor, else its
    gradient, zeros where none reached it (a Tensor that does not require grad, an unused input).
    ``grad_output`` has one per output, None where no gradient reached it. Both as in PyTorch.
    """

    def __init__(self, module, hooks, pre_hooks) -> None:
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.n_inputs = self.n_outputs = 0
        self.input_index: list[int] | None = None
        self.input_zeros: list = []
        self.output_index: list[int] = []
        self.grad_outputs: tuple | None = None

    @staticmethod
    def _crossing(values) -> list[int]:
        return [i for i, v in enumerate(values) if isinstance(v, Tensor) and v.requires_grad]

    def _wrap(self, values: tuple, index: list[int], on_backward) -> tuple:
        barrier = _Barrier([values[i] for i in index], on_backward)
        out = list(values)
        for i, stand_in in zip(index, barrier.stand_ins):
            out[i] = stand_in
        return tuple(out)

    @staticmethod
    def _pack(index, values, size) -> tuple:
        out = [None] * size
        for i, v in zip(index, values):
            out[i] = v
        return tuple(out)

    def setup_inputs(self, args: tuple) -> tuple:
        self.n_inputs = len(args)
        index = self._crossing(args)
        if not index:
            return args
        self.input_index = index
        self.input_zeros = [(a.shape, a.dtype) if isinstance(a, Tensor) else None for a in args]
        return self._wrap(args, index, self._inputs_backward)

    def setup_outputs(self, output):
        is_tuple = isinstance(output, tuple)
        if not is_tuple and not isinstance(output, Tensor):
            warnings.warn(f"{type(self.module).__name__}: full backward hooks expect the module output to be "
                          f"a Tensor or a tuple of Tensors, but got {type(output).__name__}; they will not be called",
                          stacklevel=3)
            return output
        outputs = output if is_tuple else (output,)
        self.n_outputs, self.output_index = len(outputs), self._crossing(outputs)
        if not self.output_index:
            return output
        wrapped = self._wrap(outputs, self.output_index, self._outputs_backward)
        return wrapped if is_tuple else wrapped[0]

    def _outputs_backward(self, grads: tuple) -> tuple:
        grad_outputs = self._pack(self.output_index, grads, self.n_outputs)
        for hook in self.pre_hooks:
            result = hook(self.module, grad_outputs)
            if result is not None:
                grad_outputs = self._check(result, len(grad_outputs), "grad_output", "register_full_backward_pre_hook")
        self.grad_outputs = grad_outputs
        if self.input_index is None:          # no input needs a gradient: the hooks fire now (PyTorch too)
            grad_inputs = (None,) * self.n_inputs
            for hook in self.hooks:
                result = hook(self.module, grad_inputs, grad_outputs)
                if result is not None and not (isinstance(result, (tuple, list)) and all(r is None for r in result)):
                    raise ValueError(f"register_full_backward_hook: the hook of {type(self.module).__name__} expects "
                                     f"to return None (no input of the module requires grad), but got "
                                     f"{type(result).__name__}")
            self.grad_outputs = None
        return tuple(grad_outputs[i] for i in self.output_index)

    def _inputs_backward(self, grads: tuple) -> tuple:
        if self.grad_outputs is None:         # the gradient reached the inputs without passing the outputs
            return grads
        # As PyTorch: every Tensor argument gets a gradient, zeros where none reached it.
        grad_inputs = [None if z is None else np.zeros(*z) for z in self.input_zeros]
        for i, g in zip(self.input_index, grads):
            if g is not None:
                grad_inputs[i] = g
        grad_inputs = tuple(grad_inputs)
        for hook in self.hooks:
            result = hook(self.module, grad_inputs, self.grad_outputs)
            if result is not None:
                grad_inputs = self._check(result, len(grad_inputs), "grad_input", "register_full_backward_hook")
        self.grad_outputs = None
        return tuple(grad_inputs[i] for i in self.input_index)

    def _check(self, result, expected: int, what: str, fn: str) -> tuple:
        if not isinstance(result, (tuple, list)):
            raise TypeError(f"{fn}: the hook of {type(self.module).__name__} expects to return None or a tuple "
                            f"of {expected} {what}, but got {type(result).__name__}")
        if len(result) != expected:
            raise ValueError(f"{fn}: the hook of {type(self.module).__name__} expects to return {expected} "
                             f"{what}, but got {len(result)}")
        return tuple(result)
