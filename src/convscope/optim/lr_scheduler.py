"""Learning-rate schedulers: change each param group's ``'lr'`` once per epoch, as PyTorch does.

A scheduler records each group's starting rate as ``group['initial_lr']`` (kept if already
there), reads it back as ``base_lrs``, and performs an initial step on construction, so
``last_epoch`` is 0 afterwards. Call :meth:`LRScheduler.step` after each epoch's
``optimizer.step()``.

The values follow PyTorch's recursive forms (each rate is computed from the group's current
rate), so they agree with ``torch.optim.lr_scheduler`` to rounding, and a rate set by hand
between steps carries forward as it does there.
"""

from __future__ import annotations

import math
from typing import Any

from .._validation import check_int
from .optimizer import Optimizer, non_negative

__all__ = ["LRScheduler", "StepLR", "CosineAnnealingLR"]

# Entries of a PyTorch scheduler's state dict that convscope has no use for.
_TORCH_ONLY_KEYS = frozenset({"_get_lr_called_within_step", "_is_initial", "verbose"})


class LRScheduler:
    """Base class: owns the epoch counter and writes the rates that :meth:`get_lr` computes.

    Parameters
    ----------
    optimizer : Optimizer
        Whose param groups' ``'lr'`` is scheduled.

    Attributes
    ----------
    optimizer : Optimizer
    base_lrs : list of float
        Each group's ``'initial_lr'``.
    last_epoch : int
        How many times :meth:`step` has run since the initial step (0 after construction).

    Examples
    --------
    A subclass computes the rates in :meth:`get_lr`:

    >>> import numpy as np
    >>> from convscope.nn import Parameter
    >>> from convscope.optim import SGD
    >>> class Halve(LRScheduler):
    ...     def get_lr(self):
    ...         return [group["lr"] * 0.5 for group in self.optimizer.param_groups]
    >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    >>> sched = Halve(opt)
    >>> sched.last_epoch, sched.base_lrs, sched.get_last_lr()
    (0, [1.0], [1.0])
    >>> for epoch in range(3):
    ...     opt.step()
    ...     sched.step()
    >>> sched.last_epoch, sched.get_last_lr(), opt.param_groups[0]["lr"]
    (3, [0.125], 0.125)
    >>> sched.state_dict()
    {'base_lrs': [1.0], 'last_epoch': 3, '_step_count': 4, '_last_lr': [0.125]}
    """

    _hyperparameters: tuple[str, ...] = ()

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: optimizer expects a convscope.optim.Optimizer, "
                            f"but got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs: list[float] = [float(group["initial_lr"]) for group in optimizer.param_groups]
        self.last_epoch = -1
        self._step_count = 0
        self.step()

    def get_lr(self) -> list[float]:
        """The rates for epoch ``last_epoch``, one per param group (called by :meth:`step`)."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set every group's ``'lr'``."""
        self._step_count += 1
        self.last_epoch += 1
        if self.last_epoch == 0:
            lrs = [group["lr"] for group in self.optimizer.param_groups]
        else:
            lrs = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The rates the last :meth:`step` set, one per param group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state (not the optimizer's) as plain data: ints, floats and lists.

        The keys are PyTorch's (``last_epoch``, ``base_lrs``, ``_step_count``, ``_last_lr`` and
        the hyperparameters), so a ``torch.optim.lr_scheduler`` state dict of the same class loads.
        """
        return {**{key: getattr(self, key) for key in self._hyperparameters},
                "base_lrs": list(self.base_lrs), "last_epoch": self.last_epoch,
                "_step_count": self._step_count, "_last_lr": list(self._last_lr)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`. The optimizer's rates come from its own state dict.

        Raises
        ------
        ValueError
            If keys are missing or unknown, the number of rates differs from the number of param
            groups, or a value is out of range.
        """
        fn = f"{type(self).__name__}: load_state_dict"
        if not isinstance(state_dict, dict):
            raise ValueError(f"{fn} expects a dict, but got {type(state_dict).__name__}")
        expected = set(self.state_dict())
        missing = sorted(expected - set(state_dict))
        unknown = sorted(set(state_dict) - expected - _TORCH_ONLY_KEYS)
        if missing or unknown:
            raise ValueError(f"{fn} expects keys {sorted(expected)}, but got {sorted(state_dict)} "
                             f"(missing {missing}, unknown {unknown})")
        groups = len(self.optimizer.param_groups)
        lists = {}
        for key in ("base_lrs", "_last_lr"):
            values = state_dict[key]
            if not isinstance(values, (list, tuple)) or len(values) != groups:
                raise ValueError(f"{fn} expects '{key}' to hold {groups} rates (one per param group), "
                                 f"but got {values!r}")
            lists[key] = [non_negative(v, f"{key}[{i}]", fn) for i, v in enumerate(values)]
        last_epoch = check_int(state_dict["last_epoch"], "last_epoch", fn, minimum=0)
        step_count = check_int(state_dict["_step_count"], "_step_count", fn, minimum=1)
        hyper = self._check_hyperparameters({k: state_dict[k] for k in self._hyperparameters}, fn)
        for key, value in hyper.items():
            setattr(self, key, value)
        self.base_lrs, self._last_lr = lists["base_lrs"], lists["_last_lr"]
        self.last_epoch, self._step_count = last_epoch, step_count

    def _check_hyperparameters(self, values: dict[str, Any], fn: str) -> dict[str, Any]:
        return values


class StepLR(LRScheduler):
    r"""Multiply each group's rate by ``gamma`` every ``step_size`` epochs.

    .. math::

        \eta_e = \eta_{e-1} \cdot \gamma \ \text{ if } e > 0 \text{ and } e \bmod s = 0,
        \quad \text{else } \eta_e = \eta_{e-1},

    so without outside changes :math:`\eta_e = \eta_0 \, \gamma^{\lfloor e / s \rfloor}`.

    Parameters
    ----------
    optimizer : Optimizer
        Whose param groups' ``'lr'`` is scheduled.
    step_size : int
        Epochs :math:`s` between decays, positive.
    gamma : float
        Multiplicative factor :math:`\gamma`, non-negative.

    Raises
    ------
    TypeError
        If ``optimizer`` is not an Optimizer or ``step_size`` not an int.
    ValueError
        If ``step_size < 1`` or ``gamma < 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.nn import Parameter
    >>> from convscope.optim import SGD
    >>> from convscope.optim.lr_scheduler import StepLR
    >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    >>> sched = StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(sched.get_last_lr()[0])
    ...     opt.step()
    ...     sched.step()
    >>> lrs
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    _hyperparameters = ("step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        hyper = self._check_hyperparameters({"step_size": step_size, "gamma": gamma}, type(self).__name__)
        self.step_size, self.gamma = hyper["step_size"], hyper["gamma"]
        super().__init__(optimizer)

    def _check_hyperparameters(self, values: dict[str, Any], fn: str) -> dict[str, Any]:
        return {"step_size": check_int(values["step_size"], "step_size", fn, minimum=1),
                "gamma": non_negative(values["gamma"], "gamma", fn)}

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class CosineAnnealingLR(LRScheduler):
    r"""Anneal each group's rate from its initial value to ``eta_min`` along a half cosine.

    The rate follows, for epoch :math:`e` and initial rate :math:`\eta_{max}`,

    .. math::

        \eta_e = \eta_{min} + \tfrac12 (\eta_{max} - \eta_{min})
            \left(1 + \cos\frac{e \pi}{T_{max}}\right),

    computed, as PyTorch computes it, recursively from the current rate:

    .. math::

        \eta_e = \eta_{min} + (\eta_{e-1} - \eta_{min})
            \frac{1 + \cos(e \pi / T_{max})}{1 + \cos((e - 1) \pi / T_{max})},

    except when :math:`(e - 1 - T_{max}) \bmod 2T_{max} = 0`, where that ratio is 0/0 and the
    rate instead rises by :math:`(\eta_{max} - \eta_{min})(1 - \cos(\pi / T_{max})) / 2`. Past
    :math:`T_{max}` the rate therefore climbs back up (a cosine of period :math:`2T_{max}`); there
    are no warm restarts.

    Parameters
    ----------
    optimizer : Optimizer
        Whose param groups' ``'lr'`` is scheduled.
    T_max : int
        Epochs :math:`T_{max}` from the initial rate to ``eta_min``, positive.
    eta_min : float
        The lowest rate :math:`\eta_{min}`, non-negative.

    Raises
    ------
    TypeError
        If ``optimizer`` is not an Optimizer or ``T_max`` not an int.
    ValueError
        If ``T_max < 1`` or ``eta_min < 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.nn import Parameter
    >>> from convscope.optim import SGD
    >>> from convscope.optim.lr_scheduler import CosineAnnealingLR
    >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    >>> sched = CosineAnnealingLR(opt, T_max=4)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(round(sched.get_last_lr()[0], 4))
    ...     opt.step()
    ...     sched.step()
    >>> lrs
    [1.0, 0.8536, 0.5, 0.1464, 0.0]
    """

    _hyperparameters = ("T_max", "eta_min")

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        hyper = self._check_hyperparameters({"T_max": T_max, "eta_min": eta_min}, type(self).__name__)
        self.T_max, self.eta_min = hyper["T_max"], hyper["eta_min"]
        super().__init__(optimizer)

    def _check_hyperparameters(self, values: dict[str, Any], fn: str) -> dict[str, Any]:
        return {"T_max": check_int(values["T_max"], "T_max", fn, minimum=1),
                "eta_min": non_negative(values["eta_min"], "eta_min", fn)}

    def get_lr(self) -> list[float]:
        e, t_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if (e - 1 - t_max) % (2 * t_max) == 0:
            rise = (1 - math.cos(math.pi / t_max)) / 2
            return [group["lr"] + (base - eta_min) * rise for base, group in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * e / t_max)) / (1 + math.cos(math.pi * (e - 1) / t_max))
        return [ratio * (group["lr"] - eta_min) + eta_min for group in groups]
