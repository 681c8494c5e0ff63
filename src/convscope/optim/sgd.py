"""Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..autograd import Tensor
from .._validation import check_bool
from .optimizer import Optimizer, in_unit_interval, non_negative, option_name

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, with PyTorch's exact algorithm (``torch.optim.SGD``).

    For each parameter :math:`\theta` with gradient :math:`g_t` at step :math:`t`:

    .. math::

        g_t &\leftarrow -g_t \quad \text{if maximize} \\
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \quad \text{if } \lambda \ne 0 \\
        b_t &= g_t \ \text{(first step)}, \qquad
        b_t = \mu b_{t-1} + (1 - \tau) g_t \ \text{(later steps)} \quad \text{if } \mu \ne 0 \\
        g_t &\leftarrow g_t + \mu b_t \ \text{if nesterov, else } g_t \leftarrow b_t
            \quad \text{if } \mu \ne 0 \\
        \theta_t &= \theta_{t-1} - \gamma g_t

    with learning rate :math:`\gamma`, momentum :math:`\mu`, dampening :math:`\tau` and weight
    decay :math:`\lambda`. The first momentum buffer is the gradient itself: dampening does not
    apply on the first step.

    Parameters
    ----------
    params : iterable of Parameter, or iterable of dict
        Parameters, or parameter groups with per-group options (see :class:`Optimizer`).
    lr : float
        Learning rate :math:`\gamma`, non-negative.
    momentum : float
        Momentum factor :math:`\mu`, non-negative; 0 turns momentum off.
    dampening : float
        Dampening :math:`\tau` of the momentum, in [0, 1].
    weight_decay : float
        L2 penalty :math:`\lambda` added to the gradient, non-negative.
    nesterov : bool
        Use Nesterov momentum (needs ``momentum > 0`` and ``dampening = 0``).
    maximize : bool
        Ascend the objective instead of descending it.

    Raises
    ------
    TypeError
        If an option has the wrong type.
    ValueError
        If an option is out of range, or ``nesterov`` is set without ``momentum > 0`` and
        ``dampening = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.nn import Parameter
    >>> from convscope.optim import SGD
    >>> w = Parameter(np.array([1.0, -2.0]))
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> w.grad = np.array([0.5, 0.5])
    >>> opt.step()
    >>> w.data
    array([ 0.95, -2.05])
    """

    _state_arrays = ("momentum_buffer",)

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, maximize: bool = False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any], where: str) -> dict[str, Any]:
        fn = type(self).__name__
        for key in ("lr", "momentum", "weight_decay"):
            options[key] = non_negative(options[key], option_name(where, key), fn)
        options["dampening"] = in_unit_interval(options["dampening"], option_name(where, "dampening"), fn, closed=True)
        for key in ("nesterov", "maximize"):
            options[key] = check_bool(options[key], option_name(where, key), fn)
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError(f"{fn}: nesterov momentum requires momentum > 0 and dampening = 0, but got "
                             f"momentum={options['momentum']:g}, dampening={options['dampening']:g}"
                             + (f" in {where}" if where else ""))
        return options

    def _update(self, param: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, momentum = float(group["lr"]), float(group["momentum"])
        dampening, weight_decay = float(group["dampening"]), float(group["weight_decay"])
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param.data
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= momentum
                buf += (1 - dampening) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param.data -= lr * grad
