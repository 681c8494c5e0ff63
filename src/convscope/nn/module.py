"""Module: the stateful owner of parameters and buffers; Sequential: a chain of modules.

A module registers what is assigned to it: a :class:`Parameter` becomes a parameter, a
:class:`Module` a child, and :meth:`Module.register_buffer` records non-learned state (BatchNorm's
running statistics). ``state_dict`` names everything by its dotted path (``features.0.weight``),
as PyTorch does, so weights move between the two as plain arrays.

Hooks are PyTorch's: per module (``register_forward_pre_hook``, ``register_forward_hook``,
``register_full_backward_pre_hook``, ``register_full_backward_hook``) and global, for every module
(``register_module_forward_pre_hook`` and the other ``register_module_*`` functions), the global
ones running first; they and the backward-hook machinery live in :mod:`convscope.nn.hooks`, and
are importable from here too.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterator

import numpy as np

from .. import _validation as V
from ..autograd import Tensor, is_grad_enabled
from .hooks import (RemovableHandle, _BackwardHooks, _add_hook, _global_backward_hooks, _global_backward_pre_hooks,
                    _global_forward_hooks, _global_forward_pre_hooks, register_module_forward_hook,
                    register_module_forward_pre_hook, register_module_full_backward_hook,
                    register_module_full_backward_pre_hook)
from .parameter import Parameter

__all__ = ["Module", "Sequential", "ModuleList", "RemovableHandle",
           "register_module_forward_pre_hook", "register_module_forward_hook",
           "register_module_full_backward_pre_hook", "register_module_full_backward_hook"]


_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def _as_dtype(value) -> np.dtype | None:
    """``value`` as a NumPy dtype, or None when it names none (a device string such as 'cuda')."""
    if value is None or isinstance(value, (bool, int, float)):
        return None
    try:
        return np.dtype(value)
    except (TypeError, ValueError):
        return None


class Module:
    """Base class of layers and models. Subclasses set attributes in ``__init__`` (after calling
    ``super().__init__()``) and define ``forward``.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import Tensor, nn
    >>> class Scale(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.factor = nn.Parameter(np.array([2.0]))        # registered as a parameter
    ...         self.register_buffer("calls", np.zeros(1))          # non-learned state
    ...     def forward(self, x):
    ...         return x * self.factor
    >>> m = Scale()
    >>> m(Tensor(np.array([1.0, 3.0]))).data.tolist()
    [2.0, 6.0]
    >>> [name for name, _ in m.named_parameters()], list(m.state_dict()), m.training
    (['factor'], ['factor', 'calls'], True)
    >>> m.eval().training
    False
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, (Parameter, Module)):
            for table in (params, buffers, modules):
                table.pop(name, None)
            self.__dict__.pop(name, None)
            (params if isinstance(value, Parameter) else modules)[name] = value
        elif name in params or name in modules:
            if value is not None:
                kind = "Parameter" if name in params else "Module"
                raise TypeError(f"{type(self).__name__}: {name} expects a {kind} or None, "
                                f"but got {type(value).__name__}")
            (params if name in params else modules)[name] = None
        elif name in buffers:
            buffers[name] = None if value is None else np.asarray(value)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        for table in ("_parameters", "_buffers", "_modules"):
            d = self.__dict__.get(table)
            if d is not None and name in d:
                return d[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: param expects a Parameter or None, but got {type(param).__name__}")
        self._parameters[name] = param

    def register_buffer(self, name: str, value, persistent: bool = True) -> None:
        """Record non-learned state (an array) that ``state_dict`` saves when ``persistent``."""
        self._buffers[name] = None if value is None else np.asarray(value)
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: "Module | None") -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: module expects a Module, but got {type(module).__name__}")
        self._modules[name] = module

    # -- running
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        d = self.__dict__
        pre, post = d.get("_forward_pre_hooks"), d.get("_forward_hooks")
        for hook in (*_global_forward_pre_hooks.values(), *(pre.values() if pre else ())):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        bw_pre = (*_global_backward_pre_hooks.values(), *d.get("_backward_pre_hooks", {}).values())
        bw = (*_global_backward_hooks.values(), *d.get("_backward_hooks", {}).values())
        bw_hooks = _BackwardHooks(self, bw, bw_pre) if (bw or bw_pre) and is_grad_enabled() else None
        if bw_hooks is not None:
            args = bw_hooks.setup_inputs(args)
        output = self.forward(*args, **kwargs)
        for hook in (*_global_forward_hooks.values(), *(post.values() if post else ())):
            result = hook(self, args, output)
            if result is not None:
                output = result
        if bw_hooks is not None:
            output = bw_hooks.setup_outputs(output)
        return output

    def _add_hook(self, table_name: str, hook, fn: str) -> RemovableHandle:
        if table_name not in self.__dict__:             # a subclass that skipped super().__init__()
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before registering hooks")
        return _add_hook(self.__dict__[table_name], hook, fn)

    def register_forward_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after every forward of this module.

        As in PyTorch: ``args`` is the tuple of positional inputs, ``output`` what ``forward``
        returned; a hook that returns something other than None replaces the output. Hooks run
        in the order they were registered.

        Returns
        -------
        RemovableHandle
            ``handle.remove()`` unregisters the hook; a ``with`` block does it on exit.

        Examples
        --------
        >>> import numpy as np
        >>> from convscope import nn
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
        >>> seen = {}
        >>> with net[0].register_forward_hook(lambda m, args, out: seen.update(conv=out.shape)):
        ...     _ = net(np.zeros((1, 1, 5, 5), dtype=np.float32))
        >>> seen["conv"]
        (1, 2, 3, 3)
        >>> seen.clear(); _ = net(np.zeros((1, 1, 5, 5), dtype=np.float32)); seen   # removed on leaving
        {}
        """
        return self._add_hook("_forward_hooks", hook, "register_forward_hook")

    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, args)`` before every forward; a non-None result replaces ``args``
        (a tuple, or a single value that becomes a 1-tuple), as in PyTorch."""
        return self._add_hook("_forward_pre_hooks", hook, "register_forward_pre_hook")

    def register_full_backward_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients w.r.t. the inputs of
        this module are computed, as PyTorch's ``register_full_backward_hook``.

        ``grad_input`` has one entry per positional argument of the call: the gradient array for a
        Tensor argument (zeros for one that does not require grad, such as an integer target, or
        that no gradient reached), None for anything else (a plain array, a number).
        ``grad_output`` has one entry per output (a Tensor, or each element of a tuple), None for
        an output no gradient reached. A hook that returns a tuple of the same length replaces
        ``grad_input`` for the inputs that require grad; the hooks run in the order registered,
        after the global ones of
        :func:`register_module_full_backward_hook`. The gradients of the module's parameters are
        not part of ``grad_input``. The hooks in place when a forward starts are the ones that run
        for its backward; calls under :func:`convscope.no_grad` set up none.

        When no input requires grad (the first layer of a network fed plain arrays), the hook fires
        once ``grad_output`` is known, with ``grad_input`` all None, and must return None, as in
        PyTorch. A module that returns something other than a Tensor or a tuple gets a warning
        and no backward hook.

        Parameters
        ----------
        hook : callable
            ``hook(module, grad_input, grad_output) -> None or new grad_input``; the gradients are
            NumPy arrays, in the dtype and shape of the tensor they belong to.

        Returns
        -------
        RemovableHandle
            ``handle.remove()`` unregisters the hook; a ``with`` block does it on exit.

        Raises
        ------
        TypeError
            If ``hook`` is not callable, or (during backward) returns something other than None
            or a tuple.
        ValueError
            During backward, if the hook returns a tuple of the wrong length or a gradient of the
            wrong shape, or returns gradients when no input requires grad.

        Examples
        --------
        >>> import numpy as np
        >>> import convscope
        >>> from convscope import nn
        >>> lin = nn.Linear(3, 2)
        >>> seen = {}
        >>> handle = lin.register_full_backward_hook(
        ...     lambda m, grad_input, grad_output: seen.update(gi=grad_input[0].shape, go=grad_output[0].shape))
        >>> x = convscope.Tensor(np.ones((4, 3), dtype=np.float32), requires_grad=True)
        >>> lin(x).sum().backward()
        >>> seen
        {'gi': (4, 3), 'go': (4, 2)}
        >>> handle.remove()
        """
        return self._add_hook("_backward_hooks", hook, "register_full_backward_hook")

    def register_full_backward_pre_hook(self, hook) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients w.r.t. the outputs of this module
        are known, before they flow into it, as PyTorch's ``register_full_backward_pre_hook``.

        ``grad_output`` is a tuple with one entry per output (None where no gradient reached it).
        A hook that returns a tuple of the same length replaces ``grad_output`` for the rest of
        backward and for the :meth:`register_full_backward_hook` hooks. Global pre-hooks
        (:func:`register_module_full_backward_pre_hook`) run first.

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
            If ``hook`` is not callable, or (during backward) returns something other than None
            or a tuple.
        ValueError
            During backward, if the hook returns a tuple of the wrong length or a gradient of the
            wrong shape.

        Examples
        --------
        >>> import numpy as np
        >>> import convscope
        >>> from convscope import nn
        >>> lin = nn.Linear(3, 2, bias=False)
        >>> with lin.register_full_backward_pre_hook(lambda m, grad_output: (grad_output[0] * 0,)):
        ...     lin(convscope.Tensor(np.ones((1, 3)), requires_grad=True)).sum().backward()
        >>> lin.weight.grad
        array([[0., 0., 0.],
               [0., 0., 0.]], dtype=float32)
        """
        return self._add_hook("_backward_pre_hooks", hook, "register_full_backward_pre_hook")

    def train(self, mode: bool = True) -> "Module":
        """Training mode (dropout active, BatchNorm uses batch statistics) for this and all children."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        return self.train(False)

    # -- traversal
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
        """Every module in the tree, this one first, depth-first in registration order, as PyTorch.

        Parameters
        ----------
        memo : set, optional
            Modules already yielded (PyTorch's argument; a fresh set by default).
        prefix : str
            Prepended to every name with a dot; this module itself is named ``prefix``.
        remove_duplicate : bool
            Yield a module reachable by several paths (a shared layer) only at its first path.

        Yields
        ------
        (str, Module)
            The dotted name (``"features.0"``) and the module.

        Examples
        --------
        >>> from convscope import nn
        >>> shared = nn.Linear(2, 2)
        >>> net = nn.Sequential(shared, nn.ReLU(), shared)
        >>> [name for name, _ in net.named_modules()]
        ['', '0', '1']
        >>> [name for name, _ in net.named_modules(prefix="net", remove_duplicate=False)]
        ['net', 'net.0', 'net.1', 'net.2']
        """
        if memo is None:
            memo = set()
        stack = [(prefix, self)]
        while stack:                          # iterative, so deep models do not hit the recursion limit
            name, m = stack.pop()
            if m in memo:
                continue
            if remove_duplicate:
                memo.add(m)
            yield name, m
            children = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items() if c is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator["Module"]:
        """Every module in the tree, this one first, each once (:meth:`named_modules` without names)."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """The direct submodules with their attribute names, each module once, as PyTorch.

        Examples
        --------
        >>> from convscope import nn
        >>> [name for name, _ in nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()).named_children()]
        ['0', '1']
        """
        memo: set = set()
        for k, c in self._modules.items():
            if c is not None and c not in memo:
                memo.add(c)
                yield k, c

    def children(self) -> Iterator["Module"]:
        """The direct submodules, each once (:meth:`named_children` without names)."""
        for _, c in self.named_children():
            yield c

    def _named_members(self, table: str, prefix: str, recurse: bool, remove_duplicate: bool):
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        seen: set[int] = set()
        for mname, m in mods:
            for k, v in getattr(m, table).items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield (f"{mname}.{k}" if mname else k), v

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted name (``"0.weight"``), as PyTorch.

        Parameters
        ----------
        prefix : str
            Prepended to every name with a dot.
        recurse : bool
            Include the parameters of submodules (else only this module's own).
        remove_duplicate : bool
            Yield a shared parameter (or one in a shared module) only under its first name.

        Examples
        --------
        >>> from convscope import nn
        >>> [name for name, _ in nn.Sequential(nn.Linear(2, 3)).named_parameters(prefix="net")]
        ['net.0.weight', 'net.0.bias']
        """
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter, each once (:meth:`named_parameters` without names)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, np.ndarray]]:
        """Every buffer (an array of non-learned state) with its dotted name, as PyTorch.

        Non-persistent buffers are included (``state_dict`` leaves them out); None entries are not.

        Parameters
        ----------
        prefix : str
            Prepended to every name with a dot.
        recurse : bool
            Include the buffers of submodules (else only this module's own).
        remove_duplicate : bool
            Yield a buffer of a shared module (or the same array registered twice) only once.

        Examples
        --------
        >>> from convscope import nn
        >>> [name for name, _ in nn.Sequential(nn.BatchNorm2d(3)).named_buffers()]
        ['0.running_mean', '0.running_var', '0.num_batches_tracked']
        """
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[np.ndarray]:
        """Every buffer, each once (:meth:`named_buffers` without names)."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn) -> "Module":
        """Call ``fn(module)`` on every submodule, children before their parent, then on this one.

        As PyTorch: depth-first post-order, recursing through :meth:`children` (a module shared by
        two parents is visited under each). Typical use is initialisation.

        Parameters
        ----------
        fn : callable
            ``fn(module)``; its result is ignored.

        Returns
        -------
        Module
            ``self``.

        Raises
        ------
        TypeError
            If ``fn`` is not callable.

        Examples
        --------
        >>> from convscope import nn
        >>> net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
        >>> order = []
        >>> net.apply(lambda m: order.append(type(m).__name__)) is net
        True
        >>> order
        ['Linear', 'ReLU', 'Sequential']
        """
        if not callable(fn):
            raise TypeError(f"apply: fn expects a callable, but got {type(fn).__name__}")
        stack: list[tuple[Module, bool]] = [(self, False)]
        while stack:                          # iterative post-order over children()
            m, expanded = stack.pop()
            if expanded:
                fn(m)
                continue
            stack.append((m, True))
            stack.extend((c, False) for c in reversed(list(m.children())))
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Set ``requires_grad`` on every parameter (freeze with ``False``), as PyTorch; returns self.

        Parameters
        ----------
        requires_grad : bool
            Whether autograd records operations on the parameters.

        Returns
        -------
        Module
            ``self``.

        Raises
        ------
        TypeError
            If ``requires_grad`` is not a bool.

        Examples
        --------
        >>> from convscope import nn
        >>> net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
        >>> _ = net[0].requires_grad_(False)            # freeze the first layer
        >>> [p.requires_grad for p in net.parameters()]
        [False, False, True, True]
        """
        requires_grad = V.check_bool(requires_grad, "requires_grad", "requires_grad_")
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter, as PyTorch.

        Parameters
        ----------
        set_to_none : bool
            Default True (PyTorch's default): set ``.grad`` to None, so the next backward
            allocates it. False: fill the existing arrays with zeros in place.

        Raises
        ------
        TypeError
            If ``set_to_none`` is not a bool.

        Examples
        --------
        >>> import numpy as np
        >>> import convscope
        >>> from convscope import nn
        >>> lin = nn.Linear(2, 1)
        >>> lin(convscope.Tensor(np.ones((1, 2), dtype=np.float32))).sum().backward()
        >>> lin.zero_grad(set_to_none=False); lin.weight.grad
        array([[0., 0.]], dtype=float32)
        >>> lin.zero_grad(); lin.weight.grad is None
        True
        """
        set_to_none = V.check_bool(set_to_none, "set_to_none", "zero_grad")
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad[...] = 0

    # -- dtype
    def to(self, *args, device=None, dtype=None) -> "Module":
        """Cast the floating parameters and buffers to ``dtype`` in place; returns self.

        Mirrors ``torch.nn.Module.to``: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``,
        ``to(tensor)`` (that tensor's or array's dtype) and the keywords ``device=``/``dtype=``.
        Integer and bool buffers (BatchNorm's ``num_batches_tracked``) keep their dtype. The
        Parameter objects stay the same (an optimizer built before still updates them); their
        ``.data`` and any ``.grad`` get the new dtype. The only device is ``'cpu'``.

        Parameters
        ----------
        *args
            A dtype (``np.float64``, ``np.dtype('float32')``, ``'float64'``), the device
            ``'cpu'``, or a Tensor / array whose dtype to take.
        device : str, optional
            ``'cpu'`` (or ``'cpu:0'``); anything else raises.
        dtype : dtype-like, optional
            float16, float32 or float64. See :meth:`half` for what float16 computes in.

        Returns
        -------
        Module
            ``self``.

        Raises
        ------
        TypeError
            If ``dtype`` is not a floating dtype of the three, or the arguments are not of the
            forms above.
        ValueError
            If ``device`` is not the CPU.

        Examples
        --------
        >>> import numpy as np
        >>> from convscope import nn
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
        >>> net.to(np.float64) is net
        True
        >>> net[0].weight.dtype, net[1].running_var.dtype, net[1].num_batches_tracked.dtype
        (dtype('float64'), dtype('float64'), dtype('int64'))
        >>> net.to("cpu", "float32")[0].weight.dtype
        dtype('float32')
        """
        if len(args) > 2:
            raise TypeError(f"to: expects at most a device and a dtype, but got {len(args)} positional arguments")
        for arg in args:
            if isinstance(arg, (Tensor, np.ndarray)):
                dtype = arg.dtype
            elif _as_dtype(arg) is not None:
                dtype = arg
            else:
                device = arg
        if device is not None and not isinstance(device, str):
            raise TypeError(f"to: expects a dtype (np.float32, 'float64', ...) or the device 'cpu', "
                            f"but got {device!r} ({type(device).__name__})")
        if device is not None and str(device) not in ("cpu", "cpu:0"):
            raise ValueError(f"to: device expects 'cpu' (convscope computes with NumPy on the CPU), but got {device!r}")
        if dtype is None:
            return self
        target = _as_dtype(dtype)
        if target is None or target not in _FLOAT_DTYPES:
            got = target if target is not None else repr(dtype)
            raise TypeError(f"to: dtype expects a floating dtype (float16, float32 or float64), but got {got}")
        return self._cast_floating(target)

    def _cast_floating(self, dtype: np.dtype) -> "Module":
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None and p.data.dtype.kind == "f":
                    p.data = p.data.astype(dtype, copy=False)
                    if p.grad is not None:
                        p.grad = p.grad.astype(dtype, copy=False)
            for k, b in m._buffers.items():
                if b is not None and b.dtype.kind == "f":
                    m._buffers[k] = b.astype(dtype, copy=False)
        return self

    def double(self) -> "Module":
        """Cast floating parameters and buffers to float64 (``to(np.float64)``); returns self.

        Examples
        --------
        >>> from convscope import nn
        >>> nn.Linear(2, 2).double().weight.dtype
        dtype('float64')
        """
        return self._cast_floating(np.dtype(np.float64))

    def float(self) -> "Module":
        """Cast floating parameters and buffers to float32 (``to(np.float32)``); returns self.

        Examples
        --------
        >>> from convscope import nn
        >>> nn.Linear(2, 2).double().float().weight.dtype
        dtype('float32')
        """
        return self._cast_floating(np.dtype(np.float32))

    def half(self) -> "Module":
        """Cast floating parameters and buffers to float16 (``to(np.float16)``); returns self.

        The parameters are *stored* in float16 (half the memory). The ops do not compute in
        float16: by the library's dtype rule (README, "Dtypes") float16 operands compute in
        float32, so a float16 model fed float16 (or float32) input returns float32 outputs, and
        float64 input gives float64. Gradients come back in each parameter's own dtype, float16,
        rounded from the float32 result. (PyTorch on the CPU computes in float16 and refuses
        float32 input to a half model; convscope accepts both.)

        Examples
        --------
        >>> import numpy as np
        >>> from convscope import nn
        >>> lin = nn.Linear(2, 1).half()
        >>> lin.weight.dtype, lin(np.ones((1, 2), dtype=np.float16)).dtype
        (dtype('float16'), dtype('float32'))
        """
        return self._cast_floating(np.dtype(np.float16))

    # -- state
    def _state_entries(self):
        """(key, module, local name, kind) for every parameter and persistent buffer, in order."""
        for mname, m in self.named_modules():
            for k, p in m._parameters.items():
                if p is not None:
                    yield (f"{mname}.{k}" if mname else k), m, k, "param"
            for k, b in m._buffers.items():
                if b is not None and k not in m._non_persistent:
                    yield (f"{mname}.{k}" if mname else k), m, k, "buffer"

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Copies of every parameter and persistent buffer as NumPy arrays, keyed by dotted path."""
        out: OrderedDict[str, np.ndarray] = OrderedDict()
        for key, m, k, kind in self._state_entries():
            value = m._parameters[k].data if kind == "param" else m._buffers[k]
            out[key] = np.array(value, copy=True)
        return out

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy arrays into the parameters and buffers in place (cast to their dtype).

        Raises
        ------
        ValueError
            With ``strict``, when keys are missing or unexpected (all are listed); always, when a
            shape differs or a value is not numeric.
        """
        entries = {key: (m, k, kind) for key, m, k, kind in self._state_entries()}
        given = dict(state_dict)
        missing = [k for k in entries if k not in given]
        unexpected = [k for k in given if k not in entries]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise ValueError(f"load_state_dict: {type(self).__name__} expects the keys of its own state_dict, "
                             f"but got {' and '.join(parts)}")
        problems = []
        for key, value in given.items():
            if key not in entries:
                continue
            m, k, kind = entries[key]
            arr = np.asarray(value.data if isinstance(value, Tensor) else value)
            target = m._parameters[k].data if kind == "param" else m._buffers[k]
            if arr.dtype.kind not in "biuf":
                problems.append(f"{key}: expected numbers, got dtype {arr.dtype}")
            elif arr.shape != target.shape:
                problems.append(f"{key}: expected shape {target.shape}, got {arr.shape}")
        if problems:
            raise ValueError(f"load_state_dict: {type(self).__name__} cannot load: " + "; ".join(problems))
        for key, value in given.items():
            if key in entries:
                m, k, kind = entries[key]
                arr = np.asarray(value.data if isinstance(value, Tensor) else value)
                target = m._parameters[k].data if kind == "param" else m._buffers[k]
                target[...] = arr
        return {"missing_keys": missing, "unexpected_keys": unexpected}

    # -- display
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items() if m is not None]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = "\n  ".join(([extra] if extra else []) + lines)
        return f"{type(self).__name__}(\n  {body}\n)"


class Sequential(Module):
    """Modules applied in order: ``Sequential(Conv2d(1, 6, 5), ReLU(), ...)`` or from an OrderedDict.

    Examples
    --------
    >>> import numpy as np
    >>> from collections import OrderedDict
    >>> from convscope import Tensor, nn
    >>> net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> net(Tensor(np.ones((5, 4), np.float32))).shape
    (5, 2)
    >>> len(net), type(net[0]).__name__, len(net[1:])
    (3, 'Linear', 2)
    >>> net
    Sequential(
      (0): Linear(in_features=4, out_features=3, bias=True)
      (1): ReLU()
      (2): Linear(in_features=3, out_features=2, bias=True)
    )
    >>> named = nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 2, 3), act=nn.ReLU()))
    >>> list(named.state_dict())
    ['conv.weight', 'conv.bias']
    """

    def __init__(self, *modules) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, m in modules[0].items():
                self.add_module(str(name), m)
        else:
            for i, m in enumerate(modules):
                if not isinstance(m, Module):
                    raise TypeError(f"Sequential: argument {i} expects a Module, but got {type(m).__name__}")
                self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx):
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        if not -len(items) <= idx < len(items):
            raise IndexError(f"Sequential: index {idx} is out of range for {len(items)} modules")
        return items[idx][1]

    def append(self, module: Module) -> "Sequential":
        self.add_module(str(len(self._modules)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (for models that loop over blocks).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import Tensor, nn
    >>> class Stack(nn.Module):
    ...     def __init__(self, n):
    ...         super().__init__()
    ...         self.blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(n)])
    ...     def forward(self, x):
    ...         for block in self.blocks:
    ...             x = block(x)
    ...         return x
    >>> model = Stack(3)
    >>> len(model.blocks), sum(p.numel() for p in model.parameters())
    (3, 18)
    >>> [name for name, _ in model.named_parameters()][:2]
    ['blocks.0.weight', 'blocks.0.bias']
    >>> model(Tensor(np.zeros((4, 2), np.float32))).shape
    (4, 2)
    """

    def __init__(self, modules=()) -> None:
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> "ModuleList":
        self.add_module(str(len(self._modules)), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int) -> Module:
        return list(self._modules.values())[idx]
