"""The optimizer base: parameter groups, per-parameter state, and a checkpoint-safe state dict.

An optimizer holds references to Parameters (never copies) in ``param_groups``, a list of dicts
that each carry a ``'params'`` list and that group's options (``lr``, ``weight_decay``, ...). A
subclass supplies the update rule for one parameter, :meth:`Optimizer._update`, and the checks
for its options, :meth:`Optimizer._check_options`; the base does the bookkeeping.

``state_dict()`` holds only dicts, lists, ints, floats, strings, bools and NumPy arrays, with
parameters named by their index across all groups (as in PyTorch), so a checkpoint can store it
as JSON plus an ``.npz`` of the arrays and never needs pickle.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Iterable

import numpy as np

from .. import _validation as V
from ..autograd import Tensor, enable_grad

__all__ = ["Optimizer"]


# -- argument checks: the wording is convscope._validation's (function, argument, expected, got)

def non_negative(value: Any, name: str, fn: str) -> float:
    """A finite float >= 0 (a learning rate, a decay), as a Python float.

    A Python float (not ``np.float64``) keeps float32 arithmetic in float32 under NumPy's
    promotion rules.
    """
    return V.check_non_negative(value, name, fn, what="a non-negative float")


def in_unit_interval(value: Any, name: str, fn: str, *, closed: bool) -> float:
    """A float in ``[0, 1]`` (``closed``) or ``[0, 1)`` (a beta, a dampening), as a Python float."""
    if closed:
        return V.check_real(value, name, fn, what="a float in [0, 1]", low=0, high=1)
    return V.check_real(value, name, fn, what="a float in [0, 1)", low=0, ok=lambda x: x < 1)


check_bool = V.check_bool


def _refuse_set(params: Any, name: str, fn: str) -> None:
    """Parameters in a set have no stable order, so a state dict could not name them by index."""
    if isinstance(params, (set, frozenset)):
        raise TypeError(f"{fn}: {name} expects an ordered iterable of Parameters, but got a set "
                        "(its order changes between runs, which breaks state dicts)")


def _as_index(key: Any, fn: str) -> int:
    """A parameter index from a state dict: an int, or its decimal string after a JSON round trip."""
    if isinstance(key, str) and key.isdigit():
        return int(key)
    if V.is_int(key) and key >= 0:
        return int(key)
    raise ValueError(f"{fn}: load_state_dict expects parameter indices (non-negative ints), but got {key!r}")


def option_name(where: str, key: str) -> str:
    """How an error names option ``key``: ``lr`` for the defaults, ``param_groups[1]['lr']`` in a group."""
    return f"{where}['{key}']" if where else key


def _plain(value: Any) -> Any:
    """Tuples become lists so a group's options survive a JSON round trip unchanged."""
    return list(value) if isinstance(value, tuple) else value


class Optimizer:
    """Base class: update the ``.data`` of Parameters in place from their ``.grad``.

    Parameters
    ----------
    params : iterable of Parameter, or iterable of dict
        The Parameters to optimize, or parameter groups: dicts with a ``'params'`` entry (a
        Parameter or an iterable of them) and any options that override ``defaults`` for that
        group, e.g. ``[{'params': backbone}, {'params': head, 'lr': 1e-2}]``.
    defaults : dict
        The options of every group that does not set its own.

    Attributes
    ----------
    param_groups : list of dict
        Each with ``'params'`` (a list of Parameters) and the group's options. Schedulers and
        users may change an option (typically ``'lr'``) between steps.
    state : dict
        Per-parameter state keyed by the Parameter (momentum buffers, moment estimates, step
        counts), created on a parameter's first update.

    Raises
    ------
    TypeError
        If ``params`` is a single Tensor, holds something that is not a Tensor or a dict, or a
        group option has the wrong type.
    ValueError
        If ``params`` is empty, a parameter appears twice, a group names an unknown option, or an
        option is out of range.

    Examples
    --------
    A subclass gives the update rule; the base does groups, state and checkpoints:

    >>> import numpy as np
    >>> from convscope.nn import Parameter
    >>> class PlainGD(Optimizer):
    ...     def __init__(self, params, lr=0.1):
    ...         super().__init__(params, {"lr": lr})
    ...     def _update(self, param, grad, state, group):
    ...         param.data -= group["lr"] * grad
    >>> w, b = Parameter(np.array([1.0, 2.0])), Parameter(np.array([0.0]))
    >>> opt = PlainGD([{"params": [w]}, {"params": [b], "lr": 1.0}], lr=0.5)
    >>> [group["lr"] for group in opt.param_groups]
    [0.5, 1.0]
    >>> w.grad, b.grad = np.array([1.0, -2.0]), np.array([3.0])
    >>> opt.step()
    >>> w.data.tolist(), b.data.tolist()
    ([0.5, 3.0], [-3.0])
    >>> opt.zero_grad()
    >>> w.grad is None
    True
    >>> opt.state_dict()
    {'state': {}, 'param_groups': [{'lr': 0.5, 'params': [0]}, {'lr': 1.0, 'params': [1]}]}
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]):
        fn = type(self).__name__
        self.defaults: dict[str, Any] = self._check_options(dict(defaults), "")
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        if isinstance(params, Tensor):
            raise TypeError(f"{fn}: params expects an iterable of Parameters or of dicts (param groups), "
                            f"but got a single {type(params).__name__}; wrap it in a list")
        if isinstance(params, dict):
            raise TypeError(f"{fn}: params expects an iterable of Parameters or of dicts (param groups), "
                            f"but got a single dict; wrap it in a list")
        _refuse_set(params, "params", fn)
        try:
            items = list(params)
        except TypeError:
            raise TypeError(f"{fn}: params expects an iterable of Parameters or of dicts (param groups), "
                            f"but got {type(params).__name__}") from None
        if not items:
            raise ValueError(f"{fn}: params expects at least one Parameter, but got an empty iterable")
        kinds = {isinstance(item, dict) for item in items}
        if kinds == {True}:
            groups = items
        elif kinds == {False}:
            groups = [{"params": items}]
        else:
            raise TypeError(f"{fn}: params expects either all Parameters or all dicts (param groups), but got a mix")
        for group in groups:
            self.add_param_group(group)

    # -- hooks for subclasses
    def _check_options(self, options: dict[str, Any], where: str) -> dict[str, Any]:
        """Validate and normalise a group's options in place; ``where`` locates the group in errors
        (empty for the defaults, see :func:`option_name`)."""
        return options

    def _update(self, param: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Update ``param.data`` in place from ``grad`` (already in the parameter's dtype)."""
        raise NotImplementedError

    # state entries: arrays shaped like the parameter, and integer counters
    _state_arrays: tuple[str, ...] = ()
    _state_counters: tuple[str, ...] = ()
    _state_required: tuple[str, ...] = ()

    # -- groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Append a parameter group; options it does not set are taken from ``defaults``.

        Raises
        ------
        TypeError
            If ``param_group`` is not a dict with a ``'params'`` entry of Tensors.
        ValueError
            If it names an unknown option, an option is out of range, or one of its parameters
            already belongs to a group.
        """
        fn = type(self).__name__
        index = len(self.param_groups)
        where = f"param_groups[{index}]"
        if not isinstance(param_group, dict):
            raise TypeError(f"{fn}: {where} expects a dict with a 'params' entry, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{fn}: {where} expects a 'params' entry, but got keys {sorted(param_group)}")
        unknown = sorted(set(param_group) - set(self.defaults) - {"params", "initial_lr"})
        if unknown:
            raise ValueError(f"{fn}: {where} expects options among {sorted(self.defaults)}, but got unknown {unknown}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        else:
            _refuse_set(params, f"{where}['params']", fn)
            params = list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{fn}: {where}['params'][{i}] expects a Parameter, but got {type(p).__name__}")
            if p.dtype.kind != "f":
                raise TypeError(f"{fn}: {where}['params'][{i}] expects a floating Parameter, but got dtype {p.dtype}")
            if not p.is_leaf:
                raise ValueError(f"{fn}: {where}['params'][{i}] expects a leaf Tensor, but got one computed by an op")
            if id(p) in seen:
                raise ValueError(f"{fn}: {where}['params'][{i}] expects each Parameter once, but it appears "
                                 "more than once (in this or an earlier group)")
            seen.add(id(p))
        group = {**self.defaults, **{k: v for k, v in param_group.items() if k != "params"}}
        group = self._check_options(group, where)
        self.param_groups.append({"params": params, **group})

    # -- gradients and steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter.

        Parameters
        ----------
        set_to_none : bool
            Set ``.grad`` to None (the default, as in PyTorch; :meth:`step` then skips the
            parameter) instead of filling the existing gradient array with zeros in place.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; parameters whose ``.grad`` is None are skipped.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss; called (with grad mode on) before the
            update.

        Returns
        -------
        The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        fn = type(self).__name__
        for g, group in enumerate(self.param_groups):
            for i, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                grad = np.asarray(p.grad)
                if grad.shape != p.data.shape:
                    raise ValueError(f"{fn}: param_groups[{g}]['params'][{i}] has shape {p.data.shape}, "
                                     f"but its grad has shape {grad.shape}")
                if grad.dtype != p.data.dtype:
                    grad = grad.astype(p.data.dtype)
                self._update(p, grad, self.state.setdefault(p, {}), group)
        return loss

    # -- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data: dicts, lists, ints, floats, strings, bools and arrays.

        Returns
        -------
        dict
            ``{'state': {index: {name: value}}, 'param_groups': [{option: value, 'params':
            [index, ...]}]}``, where ``index`` numbers the parameters across all groups in order.
            Arrays are copies, so later steps do not change a saved state dict.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index[id(p)] = len(index)
                ids.append(index[id(p)])
            groups.append({**{k: _plain(v) for k, v in group.items() if k != "params"}, "params": ids})
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                entry = self.state.get(p)
                if entry:
                    state[index[id(p)]] = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in entry.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state from :meth:`state_dict` (also after a JSON round trip).

        The groups must match this optimizer's in number and size; parameters are matched by
        position. Everything is checked before anything changes. Arrays are copied and cast to
        their parameter's dtype. String indices (JSON object keys) are accepted.

        Raises
        ------
        ValueError
            If the structure, the group count or sizes, an option, a state entry's name, or an
            array's shape does not fit this optimizer.
        """
        fn = type(self).__name__
        where = f"{fn}: load_state_dict"
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{where} expects a dict with keys 'param_groups' and 'state', but got {got}")
        saved_groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(saved_groups, (list, tuple)) or not isinstance(saved_state, dict):
            raise ValueError(f"{where} expects 'param_groups' to be a list and 'state' a dict, but got "
                             f"{type(saved_groups).__name__} and {type(saved_state).__name__}")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{where} expects {len(self.param_groups)} param groups, "
                             f"but the state dict has {len(saved_groups)}")
        by_index: dict[int, Tensor] = {}
        new_groups = []
        for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if not isinstance(saved, dict) or not isinstance(saved.get("params"), (list, tuple)):
                raise ValueError(f"{where} expects param_groups[{g}] to be a dict with a 'params' list, "
                                 f"but got {saved!r}")
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{where} expects param_groups[{g}] to have {len(group['params'])} parameters, "
                                 f"but the state dict's has {len(saved['params'])}")
            missing = sorted(set(self.defaults) - set(saved))
            if missing:
                raise ValueError(f"{where} expects param_groups[{g}] to set every option of {fn}, "
                                 f"but it lacks {missing}")
            for key, p in zip(saved["params"], group["params"]):
                i = _as_index(key, fn)
                if i in by_index:
                    raise ValueError(f"{where} expects each parameter index once, but {i} appears twice")
                by_index[i] = p
            options = {k: v for k, v in saved.items() if k != "params"}
            new_groups.append(self._check_options(options, f"load_state_dict: param_groups[{g}]"))
        new_state: dict[Tensor, dict[str, Any]] = {}
        for key, entry in saved_state.items():
            i = _as_index(key, fn)
            if i not in by_index:
                raise ValueError(f"{where}: state refers to parameter {i}, but the param groups list "
                                 f"indices {sorted(by_index)}")
            p = by_index[i]
            if not isinstance(entry, dict):
                raise ValueError(f"{where} expects state[{i}] to be a dict, but got {type(entry).__name__}")
            new_state[p] = self._load_state_entry(entry, p, i, where)
        for group, options in zip(self.param_groups, new_groups):
            params = group["params"]
            group.clear()
            group.update({"params": params, **options})
        self.state = new_state

    def _load_state_entry(self, entry: dict[str, Any], p: Tensor, i: int, where: str) -> dict[str, Any]:
        known = set(self._state_arrays) | set(self._state_counters)
        unknown = sorted(set(entry) - known)
        if unknown:
            raise ValueError(f"{where} expects state[{i}] entries among {sorted(known)}, "
                             f"but got unknown {unknown}")
        missing = sorted(set(self._state_required) - set(entry)) if entry else []
        if missing:
            raise ValueError(f"{where} expects state[{i}] to hold {sorted(self._state_required)}, "
                             f"but it lacks {missing}")
        out = {}
        for name, value in entry.items():
            if name in self._state_counters:
                ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) \
                    and float(value).is_integer() and value >= 0
                if not ok:
                    raise ValueError(f"{where} expects state[{i}]['{name}'] to be a non-negative integer, "
                                     f"but got {value!r}")
                out[name] = int(value)
            else:
                array = np.asarray(value)
                if array.shape != p.data.shape:
                    raise ValueError(f"{where} expects state[{i}]['{name}'] to have the parameter's shape "
                                     f"{p.data.shape}, but got {array.shape}")
                if array.dtype.kind not in "biuf":
                    raise ValueError(f"{where} expects state[{i}]['{name}'] to be a real array, "
                                     f"but got dtype {array.dtype}")
                out[name] = np.array(array, dtype=p.data.dtype, copy=True)
        return out

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for g, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {g}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"
