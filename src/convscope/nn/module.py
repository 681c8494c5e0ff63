"""Module: the stateful owner of parameters and buffers; Sequential: a chain of modules.

A module registers what is assigned to it: a :class:`Parameter` becomes a parameter, a
:class:`Module` a child, and :meth:`Module.register_buffer` records non-learned state (BatchNorm's
running statistics). ``state_dict`` names everything by its dotted path (``features.0.weight``),
as PyTorch does, so weights move between the two as plain arrays.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterator

import numpy as np

from ..autograd import Tensor
from .parameter import Parameter

__all__ = ["Module", "Sequential", "ModuleList", "RemovableHandle"]


class RemovableHandle:
    """What ``register_forward_hook`` and friends return: ``handle.remove()`` unregisters the hook.

    Also a context manager, so ``with model.register_forward_hook(fn): model(x)`` removes the hook
    on leaving the block, even after an error. Removing twice is harmless.
    """

    _next_id = 0

    def __init__(self, table: "OrderedDict[int, Any]") -> None:
        self._table = table
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self._table.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class Module:
    """Base class of layers and models. Subclasses set attributes in ``__init__`` (after calling
    ``super().__init__()``) and define ``forward``."""

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
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
        pre, post = self.__dict__.get("_forward_pre_hooks"), self.__dict__.get("_forward_hooks")
        for hook in list(pre.values()) if pre else ():
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook in list(post.values()) if post else ():
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def _add_hook(self, table_name: str, hook, fn: str) -> RemovableHandle:
        if not callable(hook):
            raise TypeError(f"{fn}: hook expects a callable, but got {type(hook).__name__}")
        if table_name not in self.__dict__:             # a subclass that skipped super().__init__()
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before registering hooks")
        table = self.__dict__[table_name]
        handle = RemovableHandle(table)
        table[handle.id] = hook
        return handle

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

    def train(self, mode: bool = True) -> "Module":
        """Training mode (dropout active, BatchNorm uses batch statistics) for this and all children."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        return self.train(False)

    # -- traversal
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            children = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items() if c is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        for k, c in self._modules.items():
            if c is not None:
                yield k, c

    def children(self) -> Iterator["Module"]:
        for _, c in self.named_children():
            yield c

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        seen: set[int] = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mname, m in mods:
            for k, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mname}.{k}" if mname else k), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, np.ndarray]]:
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mname, m in mods:
            for k, b in m._buffers.items():
                if b is not None:
                    yield (f"{mname}.{k}" if mname else k), b

    def buffers(self, recurse: bool = True) -> Iterator[np.ndarray]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad[...] = 0

    def apply(self, fn) -> "Module":
        for m in self.modules():
            fn(m)
        return self

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
    """Modules applied in order: ``Sequential(Conv2d(1, 6, 5), ReLU(), ...)`` or from an OrderedDict."""

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
    """A list of modules whose parameters are registered (for models that loop over blocks)."""

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
