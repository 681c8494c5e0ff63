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

Single-kernel problems (one undilated 2-D kernel over one-channel planes: ``x (M, 1, H, W)``,
``w (1, 1, P, Q)``, a forward pass; what :mod:`convscope.filters` makes of an image) get two
facts the shapes do not give, decided here once per call (:func:`forward`): whether the kernel
has rank 1 (``Problem.rank1``, by :func:`.separable.separable_factors`' test; only then does
``separable`` apply) and whether the data and kernel are finite (``Problem.finite``; on NaN or
inf only the algorithms that keep a non-finite value to the windows that hold it apply, not
``fft`` or ``winograd``). An algorithm with a tuned path for them has ``forward_planes(xp, k,
out, stride, op, finite=, factors=)`` on the padded planes ``xp (M, Hp, Wp)`` (constants in
:mod:`._planes_tuning`): ``direct`` (numba loops over output rows, or NumPy tap-by-tap passes
and Toeplitz products), ``separable``, and ``fft`` through :mod:`._planes_fft`.

Examples
--------
>>> import numpy as np
>>> from convscope.ops import algorithms
>>> p = algorithms.problem("forward", (8, 32, 16, 16), 32, (3, 3), (16, 16), (1, 1), ((1, 1), (1, 1)), (1, 1), 32, "float32")
>>> sorted(algorithms.plan(p))[:3]
['direct', 'fft', 'gemm']
"""

from __future__ import annotations

import dataclasses
import time
from types import ModuleType

import numpy as np

from ... import backend
from . import _planes_fft, direct, gemm, pointwise, separable
from ._common import (PASSES, Problem, all_finite, alloc, border_index, input_grad_padding, pad_input, pad_planes,
                      problem)

__all__ = ["ALGORITHMS", "Problem", "problem", "plan", "choose", "forward", "input_grad", "weight_grad"]

_modules = [gemm, pointwise, separable, direct]      # separable before direct: a 1-row kernel ties
try:                                   # (being written: registered once they import)
    from . import winograd
    _modules.append(winograd)
except ImportError:                    # pragma: no cover
    pass
try:
    from . import fft
    _modules.append(fft)
except ImportError:                    # pragma: no cover
    pass

#: The algorithm modules by name, in the order the cost model breaks ties.
ALGORITHMS: dict[str, ModuleType] = {m.NAME: m for m in _modules}
#: Algorithms that mix a NaN or inf into outputs whose window does not hold it (transforms):
#: they do not apply to problems with ``finite=False``.
_SPREAD_NON_FINITE = ("fft", "winograd")

_tuned: dict[Problem, str] = {}
#: choose()'s answers by (problem, forced algorithm, compiled, threads, autotune, workspace): the cost model
#: is a pure function of these, and costs tens of microseconds a call.
_chosen: dict[tuple, ModuleType] = {}


def _register(module: ModuleType) -> None:
    ALGORITHMS[module.NAME] = module


# The fft algorithm's single-kernel path is _planes_fft's (the tuned single-plane FFT of image
# filtering) until fft.py has supports_planes / cost_planes / forward_planes of its own.
def _planes_module(m: ModuleType, p: Problem):
    if m.NAME == "fft" and p.single and not hasattr(m, "forward_planes"):
        return _planes_fft
    return m


def _supports(m: ModuleType, p: Problem) -> str | None:
    if p.finite is False and m.NAME in _SPREAD_NON_FINITE:
        return "finite data (it spreads NaN and inf)"
    planes = _planes_module(m, p)
    if planes is not m:
        return planes.supports_planes(p)
    return m.supports(p)


def _cost(m: ModuleType, p: Problem) -> float:
    planes = _planes_module(m, p)
    return float(planes.cost_planes(p) if planes is not m else m.cost(p))


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
        reason = _supports(module, p)
        result[name] = _cost(module, p) if reason is None else reason
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
    key = (p, forced, backend.compiled_available(), backend.get_num_threads(), backend.get_autotune(),
           backend.get_workspace_bytes())
    module = _chosen.get(key)
    if module is None:
        module = _choose(p, forced)
        if len(_chosen) >= 4096:              # a bound: shapes seen by a long session
            _chosen.clear()
        _chosen[key] = module
    return module


def _choose(p: Problem, forced: str) -> ModuleType:
    if forced != "auto":
        module = ALGORITHMS.get(forced)
        if module is not None and _supports(module, p) is None:
            return module
    candidates = [m for name, m in ALGORITHMS.items() if name != forced and _supports(m, p) is None]
    if len(candidates) == 1:
        return candidates[0]
    if backend.get_autotune() and p in _tuned:
        return ALGORITHMS[_tuned[p]]
    return min(candidates, key=lambda m: _cost(m, p))


def _run(p: Problem, op: str, call):
    module = choose(p)
    if backend.get_autotune() and backend.get_algorithm() == "auto" and p not in _tuned:
        best, result = None, None
        for m in [m for m in ALGORITHMS.values() if _supports(m, p) is None]:
            t0 = time.perf_counter()
            r = call(m)
            t = time.perf_counter() - t0
            if best is None or t < best[0]:
                best, result = (t, m.NAME), r
        _tuned[p] = best[1]
        _chosen.clear()
        backend.record_algorithm(op, p.kind, best[1])
        return result
    backend.record_algorithm(op, p.kind, module.NAME)
    return call(module)


def forward(x: np.ndarray, w: np.ndarray, padding, stride, dilation, groups: int, out, op: str,
            what: str = "output", *, finite: bool | None = None, kernel=None, border=None) -> np.ndarray:
    """Conv of ``x`` padded by ``padding``, no bias; ``out`` is the output's spatial shape.

    The padding is zeros, or with ``border = (mode, fill)`` the values of that mode
    (:func:`._common.border_index`: ``'constant'`` with ``fill``, ``'reflect'``, ``'symmetric'``,
    ``'replicate'``, ``'circular'``). For a single-kernel problem (see the module documentation)
    an algorithm with a fused path reads the border through index maps instead of a padded
    copy; others get the padded planes. ``finite`` says whether ``x`` holds only finite values
    (None: checked here where the choice or the tap schedule depends on it) and ``kernel`` is
    the 2-D kernel as the caller had it before its cast to ``x``'s dtype, for the rank test at
    that dtype's tolerance (default ``w[0, 0]``). Both are ignored for other problems.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import backend
    >>> from convscope.ops import algorithms
    >>> planes = np.ones((2, 1, 6, 6), np.float32)            # two padded planes
    >>> box = np.full((1, 1, 3, 3), 1 / 9, np.float32)       # rank 1
    >>> with backend.algorithm("separable"), backend.algorithm_log() as log:
    ...     y = algorithms.forward(planes, box, ((0, 0), (0, 0)), (1, 1), (1, 1), 1, (4, 4), "filter")
    >>> y.shape, log, bool(np.allclose(y, 1))
    ((2, 1, 4, 4), [('filter', 'forward', 'separable')], True)
    >>> y = algorithms.forward(planes, box, ((1, 1), (1, 1)), (1, 1), (1, 1), 1, (6, 6), "filter",
    ...                        border=("reflect", 0.0))               # a mirrored border, not zeros
    >>> bool(np.allclose(y, 1))
    True
    """
    p = problem("forward", x.shape, w.shape[0], w.shape[2:], out, stride, padding, dilation, groups, x.dtype)
    fused = border is not None and p.single
    if border is not None and not fused:
        if border[0] != "constant" or border[1] != 0:
            x = pad_planes(x, padding, border[0], border[1], x.dtype)
            padding = ((0, 0), (0, 0))
            p = dataclasses.replace(p, spatial=x.shape[2:], padding=((0, 0), (0, 0)))
    if not p.single:
        return _run(p, op, lambda m: m.forward(x, w, padding, stride, dilation, groups, out, op, what))
    # A single-kernel problem: its two facts, once; then the chosen algorithm's plane path.
    k = w[0, 0]
    original = k if kernel is None else np.asarray(kernel)
    factors = separable._factors(original, separable._rank_rtol(original.dtype))
    if not all_finite(k):
        finite = False
    p = dataclasses.replace(p, rank1=factors is not None, finite=finite)
    if finite is None and not _finite_irrelevant(dataclasses.replace(p, finite=True)):
        finite = all_finite(x)
        p = dataclasses.replace(p, finite=finite)
    mode, fill = border if border is not None else ("constant", 0)
    planes: list[np.ndarray] = []

    def padded() -> np.ndarray:
        if not planes:
            if mode == "constant" and fill == 0:
                xp = pad_input(x, padding, op, slot="planes.padded")[:, 0]
            else:
                xp = pad_planes(x[:, 0], padding, mode, fill, x.dtype)
            planes.append(xp if xp.flags.c_contiguous else np.ascontiguousarray(xp))
        return planes[0]

    def call(m: ModuleType) -> np.ndarray:
        planes_module = _planes_module(m, p)
        entry = getattr(planes_module, "forward_planes", None)
        if entry is None:
            if mode == "constant" and fill == 0:
                return m.forward(x, w, padding, stride, dilation, groups, out, op, what)
            return m.forward(padded()[:, None], w, ((0, 0), (0, 0)), stride, dilation, groups, out, op, what)
        if getattr(planes_module, "fuses_border", lambda: False)() and x.strides[-1] == x.itemsize:
            (top, bottom), (left, right) = padding
            maps = (border_index(mode, x.shape[2], top, bottom), border_index(mode, x.shape[3], left, right),
                    x.dtype.type(fill), left)
            y = entry(x[:, 0], k, tuple(out), tuple(stride), op, finite=finite, factors=factors, border=maps)
        else:
            y = entry(padded(), k, tuple(out), tuple(stride), op, finite=finite, factors=factors)
        return y[:, None]

    return _run(p, op, call)


def _finite_irrelevant(p: Problem) -> bool:
    """Whether a single-kernel problem can run without knowing if its data is finite: its
    algorithm (chosen as for finite data) keeps a NaN or inf to its windows anyway and, compiled,
    multiplies every tap when that is not known (no autotune, which would try the others)."""
    if backend.get_autotune() or not backend.compiled_available():
        return False
    return choose(p).NAME in ("direct", "separable")


def input_grad(gy: np.ndarray, w: np.ndarray, extent, offset, stride, dilation, groups: int, op: str,
               what: str) -> np.ndarray:
    """``w^T gy`` on the padded input, cropped to ``offset + [0, extent)`` per dim: ``(N, C, *extent)``.

    Examples
    --------
    A conv's input gradient (``offset`` = the padding before, ``extent`` = the input's shape):
    each input position gets the number of windows that cover it.

    >>> import numpy as np
    >>> from convscope.ops import algorithms
    >>> gx = algorithms.input_grad(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), (4, 4), (0, 0),
    ...                            (1, 1), (1, 1), 1, "conv2d", "input gradient")
    >>> gx[0, 0].tolist()
    [[1.0, 2.0, 2.0, 1.0], [2.0, 4.0, 4.0, 2.0], [2.0, 4.0, 4.0, 2.0], [1.0, 2.0, 2.0, 1.0]]
    """
    kernel = w.shape[2:]
    pads = input_grad_padding(extent, offset, gy.shape[2:], kernel, stride, dilation)
    p = problem("input_grad", (gy.shape[0], w.shape[1] * groups) + tuple(extent), gy.shape[1], kernel,
                gy.shape[2:], stride, pads, dilation, groups, gy.dtype)
    return _run(p, op, lambda m: m.input_grad(gy, w, extent, offset, stride, dilation, groups, op, what))


def weight_grad(x: np.ndarray, gy: np.ndarray, weight_shape, padding, stride, dilation, groups: int,
                op: str) -> np.ndarray:
    """The weight gradient ``(O, C / groups, *kernel)`` of a conv of ``x`` with output gradient ``gy``.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.ops import algorithms
    >>> x = np.arange(16.).reshape(1, 1, 4, 4)
    >>> algorithms.weight_grad(x, np.ones((1, 1, 2, 2)), (1, 1, 3, 3), ((0, 0), (0, 0)), (1, 1), (1, 1),
    ...                        1, "conv2d")[0, 0].tolist()
    [[10.0, 14.0, 18.0], [26.0, 30.0, 34.0], [42.0, 46.0, 50.0]]
    """
    p = problem("weight_grad", x.shape, weight_shape[0], weight_shape[2:], gy.shape[2:], stride, padding,
                dilation, groups, x.dtype)
    return _run(p, op, lambda m: m.weight_grad(x, gy, weight_shape, padding, stride, dilation, groups, op))
