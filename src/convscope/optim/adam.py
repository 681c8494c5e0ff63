"""Adam and AdamW: adaptive moment estimation, with coupled (L2) or decoupled weight decay."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..autograd import Tensor
from .._validation import check_bool
from .optimizer import Optimizer, in_unit_interval, non_negative, option_name

__all__ = ["Adam", "AdamW"]


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """``start += weight * (end - start)`` in place, rounded as ``torch.lerp`` rounds.

    For ``weight >= 0.5`` the result is computed from the ``end`` side, ``end - (end - start) *
    (1 - weight)``, so ``weight = 1`` gives ``end`` exactly.
    """
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with PyTorch's exact algorithm (``torch.optim.Adam``).

    For each parameter :math:`\theta` with gradient :math:`g_t` at its step :math:`t = 1, 2, ...`
    (counted per parameter), with :math:`m_0 = v_0 = \hat v_0^{max} = 0`:

    .. math::

        g_t &\leftarrow -g_t \quad \text{if maximize} \\
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \quad \text{if } \lambda \ne 0 \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        v^{max}_t &= \max(v^{max}_{t-1}, v_t) \quad \text{if amsgrad (used instead of } v_t
            \text{ below)} \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t} \,
            \frac{m_t}{\sqrt{v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    Note where :math:`\epsilon` sits: it is added after the second moment is bias-corrected, and
    the first moment's bias correction is folded into the step size, as in PyTorch.

    Parameters
    ----------
    params : iterable of Parameter, or iterable of dict
        Parameters, or parameter groups with per-group options (see :class:`Optimizer`).
    lr : float
        Learning rate :math:`\gamma`, non-negative.
    betas : (float, float)
        Decay rates :math:`(\beta_1, \beta_2)` of the moment estimates, each in [0, 1).
    eps : float
        :math:`\epsilon`, added to the denominator for numerical stability, non-negative.
    weight_decay : float
        L2 penalty :math:`\lambda` added to the gradient, non-negative.
    amsgrad : bool
        Use the running maximum of :math:`v_t` (Reddi et al., 2018).
    maximize : bool
        Ascend the objective instead of descending it.

    Raises
    ------
    TypeError
        If an option has the wrong type.
    ValueError
        If an option is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.nn import Parameter
    >>> from convscope.optim import Adam
    >>> w = Parameter(np.array([1.0, -2.0]))
    >>> opt = Adam([w], lr=0.1)
    >>> w.grad = np.array([0.5, -3.0])
    >>> opt.step()                      # the first step moves each weight by about lr
    >>> np.round(w.data, 6)
    array([ 0.9, -1.9])
    """

    _decoupled = False
    _state_arrays = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _state_counters = ("step",)
    _state_required = ("step", "exp_avg", "exp_avg_sq")

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, maximize: bool = False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize)
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any], where: str) -> dict[str, Any]:
        fn = type(self).__name__
        for key in ("lr", "eps", "weight_decay"):
            options[key] = non_negative(options[key], option_name(where, key), fn)
        betas = options["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{fn}: {option_name(where, 'betas')} expects a pair of floats in [0, 1), "
                            f"but got {betas!r}")
        options["betas"] = tuple(in_unit_interval(b, f"{option_name(where, 'betas')}[{i}]", fn, closed=False)
                                 for i, b in enumerate(betas))
        for key in ("amsgrad", "maximize"):
            options[key] = check_bool(options[key], option_name(where, key), fn)
        return options

    def _update(self, param: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param.data)
            state["exp_avg_sq"] = np.zeros_like(param.data)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = np.zeros_like(param.data)
        state["step"] += 1
        step = state["step"]

        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            if self._decoupled:
                param.data *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param.data

        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        second = exp_avg_sq
        if group["amsgrad"]:
            second = np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])

        step_size = lr / (1 - beta1 ** step)
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        denom = np.sqrt(second) / bias_correction2_sqrt + eps
        param.data -= step_size * exp_avg / denom


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``.

    The same update as :class:`Adam`, except that weight decay shrinks the parameter directly,
    before the Adam step, instead of being added to the gradient:

    .. math::

        \theta_{t-1} &\leftarrow \theta_{t-1} (1 - \gamma \lambda) \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t} \,
            \frac{m_t}{\sqrt{v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    (with ``maximize`` negating :math:`g_t` and ``amsgrad`` using :math:`\max_{s \le t} v_s` as
    in :class:`Adam`).

    Parameters
    ----------
    params : iterable of Parameter, or iterable of dict
        Parameters, or parameter groups with per-group options (see :class:`Optimizer`).
    lr : float
        Learning rate :math:`\gamma`, non-negative.
    betas : (float, float)
        Decay rates :math:`(\beta_1, \beta_2)`, each in [0, 1).
    eps : float
        :math:`\epsilon`, non-negative.
    weight_decay : float
        Decoupled decay :math:`\lambda`, non-negative (default 0.01, as in PyTorch).
    amsgrad : bool
        Use the running maximum of :math:`v_t`.
    maximize : bool
        Ascend the objective instead of descending it.

    Raises
    ------
    TypeError
        If an option has the wrong type.
    ValueError
        If an option is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.nn import Parameter
    >>> from convscope.optim import AdamW
    >>> w = Parameter(np.array([1.0, -2.0]))
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = np.zeros(2)
    >>> opt.step()                      # a zero gradient leaves only the decay: w *= 1 - 0.1 * 0.5
    >>> w.data
    array([ 0.95, -1.9 ])
    """

    _decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize)
