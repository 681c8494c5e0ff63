"""The convolution engine: one contract, several algorithms, a cost model that picks per shape.

Every convolution pass of convscope (a layer's forward, its input and weight gradients, the
transposed conv, and image filtering through :mod:`convscope.filters`) is a grouped N-d
cross-correlation with zero padding, and comes here as a :class:`~._common.Problem`. Each
algorithm module implements the same three functions (the contract is in :mod:`._common`) and
says which problems it supports:

``gemm``       im2col + matrix multiply; every problem (:mod:`.gemm`)
``pointwise``  1x1 kernels without padding: one matrix multiply per sample (:mod:`.pointwise`)
``direct``     shift-and-add over the kernel taps, for depthwise and few channels per group;
               numba-compiled loops for 2-D when numba is installed (:mod:`.direct`)
``winograd``   F(2x2, 3x3) for 3x3 stride-1 kernels (:mod:`.winograd`)
``fft``        Fourier transforms, for large kernels (:mod:`.fft`)
``separable``  two 1-D passes for a single-channel 2-D kernel of rank 1 (:mod:`.separable`)

The algorithms agree to float rounding (the parity tests run with each one forced). Which one
runs: :func:`convscope.backend.set_algorithm` forces one (where it applies; elsewhere the cost
model chooses among the rest), otherwise each module's ``cost(problem)`` estimate (measured
constants, in nanoseconds) decides, and with :func:`convscope.backend.set_autotune` the first
call of each shape times the candidates and keeps the fastest. :func:`convscope.backend.last_algorithm`
and :func:`convscope.backend.algorithm_log` tell which one ran; :func:`plan` shows the choice
without running anything.

Examples
--------
>>> import numpy as np
>>> from convscope.ops import algorithms
>>> p = algorithms.problem("forward", (8, 32, 16, 16), 32, (3, 3), (16, 16), (1, 1), ((1, 1), (1, 1)), (1, 1), 32, "float32")
>>> sorted(algorithms.plan(p))[:3]
['direct', 'fft', 'gemm']
"""

from __future__ import annotations

import time
from types import ModuleType

import numpy as np

from ... import backend
from . import direct, gemm, pointwise
from ._common import PASSES, Problem, alloc, input_grad_padding, problem

__all__ = ["ALGORITHMS", "Problem", "problem", "plan", "choose", "forward", "input_grad", "weight_grad"]

#: The algorithm modules by name, in the order the cost model breaks ties.
ALGORITHMS: dict[str, ModuleType] = {m.NAME: m for m in (gemm, pointwise, direct)}

_tuned: dict[Problem, str] = {}


def _register(module: ModuleType) -> None:
    ALGORITHMS[module.NAME] = module


def plan(p: Problem) -> dict[str, float | str]:
    """For each algorithm: its estimated cost in nanoseconds, or why it does not apply.

    Examples
    --------
    >>> from convscope.ops import algorithms
    >>> p = algorithms.problem("forward", (1, 1, 8, 8), 1, (2, 2), (7, 7), (1, 1), ((0, 0), (0, 0)), (1, 1), 1, "float64")
    >>> isinstance(algorithms.plan(p)["gemm"], float), algorithms.plan(p)["pointwise"]
    (True, 'a 1x1 kernel')
    """
    result: dict[str, float | str] = {}
    for name, module in ALGORITHMS.items():
        reason = module.supports(p)
        result[name] = float(module.cost(p)) if reason is None else reason
    return result


def choose(p: Problem) -> ModuleType:
    """The algorithm that runs ``p``: the forced one where it applies, else the cheapest.

    Examples
    --------
    >>> from convscope.ops import algorithms
    >>> p = algorithms.problem("forward", (4, 64, 8, 8), 32, (1, 1), (8, 8), (1, 1), ((0, 0), (0, 0)), (1, 1), 1, "float32")
    >>> algorithms.choose(p).NAME
    'pointwise'
    """
    forced = backend.get_algorithm()
    if forced != "auto":
        module = ALGORITHMS.get(forced)
        if module is not None and module.supports(p) is None:
            return module
    candidates = [m for name, m in ALGORITHMS.items() if name != forced and m.supports(p) is None]
    if len(candidates) == 1:
        return candidates[0]
    if backend.get_autotune() and p in _tuned:
        return ALGORITHMS[_tuned[p]]
    return min(candidates, key=lambda m: m.cost(p))


def _run(p: Problem, op: str, call):
    module = choose(p)
    if backend.get_autotune() and backend.get_algorithm() == "auto" and p not in _tuned:
        best, result = None, None
        for m in [m for m in ALGORITHMS.values() if m.supports(p) is None]:
            t0 = time.perf_counter()
            r = call(m)
            t = time.perf_counter() - t0
            if best is None or t < best[0]:
                best, result = (t, m.NAME), r
        _tuned[p] = best[1]
        backend.record_algorithm(op, p.kind, best[1])
        return result
    backend.record_algorithm(op, p.kind, module.NAME)
    return call(module)


def forward(x: np.ndarray, w: np.ndarray, padding, stride, dilation, groups: int, out, op: str,
            what: str = "output") -> np.ndarray:
    """Conv of ``x`` zero-padded by ``padding``, no bias; ``out`` is the output's spatial shape."""
    p = problem("forward", x.shape, w.shape[0], w.shape[2:], out, stride, padding, dilation, groups, x.dtype)
    return _run(p, op, lambda m: m.forward(x, w, padding, stride, dilation, groups, out, op, what))


def input_grad(gy: np.ndarray, w: np.ndarray, extent, offset, stride, dilation, groups: int, op: str,
               what: str) -> np.ndarray:
    """``w^T gy`` on the padded input, cropped to ``offset + [0, extent)`` per dim: ``(N, C, *extent)``."""
    kernel = w.shape[2:]
    pads = input_grad_padding(extent, offset, gy.shape[2:], kernel, stride, dilation)
    p = problem("input_grad", (gy.shape[0], w.shape[1] * groups) + tuple(extent), gy.shape[1], kernel,
                gy.shape[2:], stride, pads, dilation, groups, gy.dtype)
    return _run(p, op, lambda m: m.input_grad(gy, w, extent, offset, stride, dilation, groups, op, what))


def weight_grad(x: np.ndarray, gy: np.ndarray, weight_shape, padding, stride, dilation, groups: int,
                op: str) -> np.ndarray:
    """The weight gradient ``(O, C / groups, *kernel)`` of a conv of ``x`` with output gradient ``gy``."""
    p = problem("weight_grad", x.shape, weight_shape[0], weight_shape[2:], gy.shape[2:], stride, padding,
                dilation, groups, x.dtype)
    return _run(p, op, lambda m: m.weight_grad(x, gy, weight_shape, padding, stride, dilation, groups, op))
