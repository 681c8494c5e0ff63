"""What every convolution algorithm shares: the problem description and result allocation.

The engine's contract (see :mod:`convscope.ops.algorithms`) has three passes, each a pure
function of arrays with zero padding given as numbers (never a padded copy from the caller):

``forward(x, w, padding, stride, dilation, groups, out, op, what)``
    ``x (N, C, *spatial)``, ``w (O, C / groups, *kernel)``, ``padding`` one ``(before, after)``
    pair per dim, ``out`` the output's spatial shape; returns ``y (N, O, *out)``, no bias.
``input_grad(gy, w, extent, offset, stride, dilation, groups, op, what)``
    The adjoint of ``forward`` in ``x``: ``w^T gy`` placed back onto the zero-padded input and
    cropped to the positions ``offset + [0, extent)`` per dim; returns ``(N, C, *extent)``. With
    ``offset`` = the padding before and ``extent`` = the input's shape it is a conv's input
    gradient; with ``offset`` = a transposed conv's padding it is that conv's forward.
``weight_grad(x, gy, weight_shape, padding, stride, dilation, groups, op)``
    The adjoint in ``w``: returns ``(O, C / groups, *kernel)``.

Every result is allocated through :func:`alloc`, which checks it against the memory limit.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ... import backend

Ints = Sequence[int]
Pairs = Sequence[tuple[int, int]]

PASSES = ("forward", "input_grad", "weight_grad")


@dataclass(frozen=True)
class Problem:
    """One pass of one convolution, as the algorithms and the cost model see it.

    ``spatial`` is the input's spatial shape (for ``input_grad``: the extent of the result),
    ``out`` the output's (``gy``'s), ``padding`` the zero padding before and after per dim
    (for ``input_grad``: ``offset`` before, and after whatever the window range leaves).

    Two facts about the data that shapes do not give, for *single-kernel* problems only
    (:attr:`single`: one 2-D kernel over one-channel planes, as image filtering makes; the
    dispatcher fills them in, other problems keep the defaults): ``rank1``, the kernel is an
    outer product of a column and a row (:func:`.separable.separable_factors`), and ``finite``,
    the data and the kernel hold no NaN or inf (None: not checked). Transforms and Toeplitz
    products mix a non-finite value into outputs whose window does not hold it, so on
    ``finite=False`` only the algorithms that keep it to its windows apply.

    Examples
    --------
    >>> p = Problem("forward", 64, 6, 16, (14, 14), (10, 10), (5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1), 1, "float32")
    >>> p.macs, p.depthwise, p.rank
    (15360000, False, 2)
    """

    kind: str
    n: int
    c: int
    o: int
    spatial: tuple[int, ...]
    out: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    groups: int
    dtype: str
    rank1: bool = False
    finite: bool | None = None

    @property
    def rank(self) -> int:
        return len(self.kernel)

    @property
    def taps(self) -> int:
        return math.prod(self.kernel)

    @property
    def cg(self) -> int:
        """Input channels per group."""
        return self.c // self.groups

    @property
    def og(self) -> int:
        """Output channels per group."""
        return self.o // self.groups

    @property
    def macs(self) -> int:
        """Multiply-adds of the pass (the same for all three)."""
        return self.n * self.o * math.prod(self.out) * self.cg * self.taps

    @property
    def depthwise(self) -> bool:
        """One input channel per group (and more than one group)."""
        return self.cg == 1 and self.groups > 1

    @property
    def unit_stride(self) -> bool:
        return all(s == 1 for s in self.stride)

    @property
    def undilated(self) -> bool:
        return all(d == 1 for d in self.dilation)

    @property
    def padded(self) -> bool:
        return any(lo or hi for lo, hi in self.padding)

    @property
    def single(self) -> bool:
        """A single-kernel problem: the forward pass of one undilated 2-D kernel over planes
        (``x (M, 1, H, W)``, ``w (1, 1, P, Q)``), with the tuned paths of :mod:`._planes_tuning`."""
        return (self.kind == "forward" and self.rank == 2 and self.c == 1 and self.o == 1
                and self.groups == 1 and self.undilated)


def problem(kind: str, x_shape: Ints, o: int, kernel: Ints, out: Ints, stride: Ints, padding: Pairs,
            dilation: Ints, groups: int, dtype, *, rank1: bool = False, finite: bool | None = None) -> Problem:
    """A :class:`Problem` from shapes (``x_shape`` the input's, or for ``input_grad`` the result's).

    Examples
    --------
    >>> problem("forward", (8, 3, 32, 32), 16, (3, 3), (32, 32), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, "float32").macs
    3538944
    """
    return Problem(kind, int(x_shape[0]), int(x_shape[1]), int(o), tuple(int(s) for s in x_shape[2:]),
                   tuple(int(s) for s in out), tuple(int(k) for k in kernel), tuple(int(s) for s in stride),
                   tuple((int(lo), int(hi)) for lo, hi in padding), tuple(int(d) for d in dilation),
                   int(groups), np.dtype(dtype).name, bool(rank1), None if finite is None else bool(finite))


def all_finite(x: np.ndarray) -> bool:
    """Whether every value of ``x`` is finite: its largest and smallest values are (two fast
    reductions over the array, cheaper than a sum or an ``isfinite`` mask)."""
    if x.dtype.kind in "biu" or x.size == 0:
        return True
    if x.dtype.kind == "c":
        return all_finite(x.real) and all_finite(x.imag)
    return math.isfinite(float(x.max())) and math.isfinite(float(x.min()))


def alloc(op: str, what: str, shape: tuple[int, ...], dtype, zero: bool = False) -> np.ndarray:
    """A result array, after checking it against the memory limit."""
    backend.check_allocation(op, shape, dtype, what)
    return np.zeros(shape, dtype) if zero else np.empty(shape, dtype)


def window_range(out: Ints, kernel: Ints, stride: Ints, dilation: Ints) -> tuple[int, ...]:
    """Padded-input positions the windows of an output of shape ``out`` cover, per dim:
    ``(m - 1) * s + d * (k - 1) + 1``."""
    return tuple((m - 1) * s + d * (k - 1) + 1 for m, k, s, d in zip(out, kernel, stride, dilation))


def input_grad_padding(extent: Ints, offset: Ints, out: Ints, kernel: Ints, stride: Ints,
                       dilation: Ints) -> tuple[tuple[int, int], ...]:
    """The ``(before, after)`` padding an ``input_grad`` pass implies: ``offset`` before, and after
    what the windows cover beyond ``offset + extent`` (negative when the extent reaches past the
    windows, as a transposed conv's ``output_padding`` does)."""
    covered = window_range(out, kernel, stride, dilation)
    return tuple((int(off), int(cov - off - ext)) for off, cov, ext in zip(offset, covered, extent))


def crop_into(full: np.ndarray, extent: Ints, offset: Ints, op: str, what: str) -> np.ndarray:
    """``full[..., offset : offset + extent]`` per spatial dim, as a new array; positions beyond
    ``full`` (a transposed conv's output padding) are zeros."""
    spatial = full.shape[2:]
    if all(off == 0 and ext == s for off, ext, s in zip(offset, extent, spatial)):
        return full
    result = alloc(op, what, full.shape[:2] + tuple(extent), full.dtype, zero=True)
    src, dst = [], []
    for off, ext, s in zip(offset, extent, spatial):
        stop = min(off + ext, s)
        src.append(slice(off, stop))
        dst.append(slice(0, max(0, stop - off)))
    result[(slice(None), slice(None)) + tuple(dst)] = full[(slice(None), slice(None)) + tuple(src)]
    return result


def pad_input(x: np.ndarray, padding: Pairs, op: str, slot: str = "conv.padded") -> np.ndarray:
    """``x`` zero-padded by ``padding`` (negative = cropped), in a scratch buffer; ``x`` itself
    when there is nothing to pad."""
    if all(lo == 0 and hi == 0 for lo, hi in padding):
        return x
    shape = x.shape[:2] + tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], padding))
    xp = backend.scratch(slot, shape, x.dtype, op=op)
    src, dst = [], []
    for s, (lo, hi) in zip(x.shape[2:], padding):
        src.append(slice(max(0, -lo), s - max(0, -hi)))
        dst.append(slice(max(0, lo), max(0, lo) + s - max(0, -lo) - max(0, -hi)))
    every = [slice(None)] * xp.ndim
    for axis, d in enumerate(dst, start=2):                      # zero the borders only
        xp[tuple(every[:axis] + [slice(0, d.start)] + every[axis + 1:])] = 0
        xp[tuple(every[:axis] + [slice(d.stop, None)] + every[axis + 1:])] = 0
    xp[(slice(None), slice(None)) + tuple(dst)] = x[(slice(None), slice(None)) + tuple(src)]
    return xp


# --------------------------------------------------------------------------- padding modes

def border_index(mode: str, n: int, before: int, after: int) -> np.ndarray:
    """For each position of an axis padded by ``(before, after)`` in ``mode`` (a mode of
    :func:`convscope.ops.pad.source_index`, or ``'constant'``), the index it reads, ``-1`` for
    the constant: what a fused padding (see :func:`convscope.ops.algorithms.forward`'s
    ``border``) reads instead of a padded copy.

    Examples
    --------
    >>> border_index("constant", 3, 2, 1).tolist(), border_index("reflect", 3, 2, 1).tolist()
    ([-1, -1, 0, 1, 2, -1], [2, 1, 0, 1, 2, 1])
    """
    return _border_index(mode, int(n), int(before), int(after))


@functools.lru_cache(maxsize=256)
def _border_index(mode: str, n: int, before: int, after: int) -> np.ndarray:
    if mode == "constant":
        i = np.arange(-before, n + after, dtype=np.int64)
        index = np.where((i >= 0) & (i < n), i, -1)
    else:
        from ..pad import source_index
        index = source_index(mode, n, before, after).astype(np.int64)
    index.flags.writeable = False
    return index


def pad_planes(src: np.ndarray, pads: Pairs, mode: str, fill, dtype, slot: str = "planes.padded") -> np.ndarray:
    """The last two axes of ``src`` padded by ``pads`` in ``mode`` (see :func:`border_index`;
    ``'constant'`` writes ``fill``) into a C-contiguous array of ``dtype``.

    The interior is a strided copy (which also converts the dtype and, for channels-last input
    passed as a transposed view, the layout), in row bands over the threads; the borders are
    then filled from it. The result is a :func:`convscope.backend.scratch` buffer (fresh pages
    cost more than the copy on large images): the caller must not let it escape.
    """
    (top, bottom), (left, right) = pads
    *lead, h, w = src.shape
    dtype = np.dtype(dtype)
    out = backend.scratch(slot, (*lead, h + top + bottom, w + left + right), dtype)
    rows, cols = slice(top, top + h), slice(left, left + w)

    def band(r):
        out[..., top + r.start:top + r.stop, cols] = src[..., r, :]

    backend.parallel_for(band, backend.split(h, 4 * backend.get_num_threads()), out.size)
    if mode == "constant":
        value = dtype.type(fill)
        out[..., :top, :] = value
        out[..., top + h:, :] = value
        out[..., rows, :left] = value
        out[..., rows, left + w:] = value
        return out
    if top or bottom:
        index = border_index(mode, h, top, bottom) + top
        out[..., :top, cols] = out[..., index[:top], cols]
        out[..., top + h:, cols] = out[..., index[top + h:], cols]
    if left or right:
        index = border_index(mode, w, left, right) + left
        out[..., :left] = out[..., index[:left]]
        out[..., left + w:] = out[..., index[left + w:]]
    return out
