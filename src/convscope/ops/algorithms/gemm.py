"""im2col + GEMM: the algorithm that serves every convolution (any rank, stride, dilation, groups).

One block of output positions at a time:

1. **Blocks.** The output is cut into blocks whose unfolded windows stay within
   :func:`convscope.backend.get_chunk_bytes` (a cache-sized speed setting) and whose
   temporaries stay within the workspace bound :func:`convscope.backend.get_workspace_bytes`
   (the memory promise): several whole samples when one sample fits; else bands of output rows
   (the first spatial dim) of one sample; else, when one row is too large, runs along the next
   dim (one row at a time), and so on down to single output positions. A block's temporaries
   are its unfolded windows (``C * prod(kernel)`` values a position), the GEMM's result or the
   gathered output gradient (``O`` a position) and, where it reads zero padding, its piece of
   padded input. Only the minimal unit, one output position, may exceed the bound, when
   ``C * prod(kernel) + O`` alone passes it (130 000 float64 values for the smallest bound).
   The unfold and fold stay NumPy copies on the calling thread: numba-compiled parallel
   versions measured no faster single-threaded, and 3-6x slower with two threads, because
   OpenBLAS's workers spin for a while after each product and took the second core.
2. **Padding per block.** A block of output rows ``[r0, r1)`` reads the padded-input rows
   ``[r0 * s, (r1 - 1) * s + d * (k - 1) + 1)``; where those lie inside ``x`` they are a view
   of it, else they are copied into a zero-bordered scratch piece. The whole padded input is
   never built.
3. **Unfold and multiply.** The block's windows become a matrix ``(C * prod(kernel), n * L)``
   (channel-major, so one BLAS call per group covers every sample of the block) that the weight
   matrix multiplies; a one-sample block's result is written straight into the output.

The gradients reuse the same blocks (JAX's observation that the gradient of a conv is a conv):

- weight gradient: each block's unfolded windows times its output gradient, summed over blocks;
- input gradient: the weight's transpose times a block's output gradient, folded back with
  :func:`_fold` (col2im), which adds (``+=``) each window into the band of input rows it covers,
  cropped to the unpadded input. That fold *is* the transposed convolution.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ... import backend
from ._common import Ints, Pairs, Problem, alloc

# The contract functions (supports, cost, forward, input_grad, weight_grad) are documented once,
# in ._common; users reach them through the dispatcher (convscope.ops.algorithms).
__all__ = ["NAME"]

NAME = "gemm"
Region = tuple[slice, ...]

#: Measured GEMM rate of the engine (multiply-adds per ns, 2 threads, float32, large layers) and
#: the cost of unfolding one column entry (ns), for the cost model.
MACS_PER_NS = 50.0
NS_UNFOLD = 0.25
NS_CALL = 4000.0
#: The side of a product below which its rate falls (see :func:`cost`).
SMALL_SIDE = 32


def supports(p: Problem) -> str | None:
    """None: every problem."""
    return None


def cost(p: Problem) -> float:
    """Estimated nanoseconds: the GEMM at its rate plus writing and reading the columns."""
    columns = p.n * math.prod(p.out) * p.c * p.taps
    # A product with a small side (few output channels a group: LeNet's 6 and 16) runs far below
    # the BLAS peak: measured about proportional below 32 (to a floor of a quarter).
    small = min(p.o // p.groups, p.cg * p.taps)
    rate = MACS_PER_NS * min(1.0, max(small / SMALL_SIDE, 0.25))
    return p.macs / rate + NS_UNFOLD * columns + NS_CALL * p.groups


# --------------------------------------------------------------------------- blocks

Cost = Callable[[int, tuple[int, ...]], tuple[int, int]]


def _block_cost(channels: int, out_channels: int, kernel: Ints, stride: Ints, dilation: Ints,
                padding: Pairs | None, itemsize: int) -> Cost:
    """``cost(n, sizes)`` of a block of ``n`` samples by ``sizes`` output positions, in bytes:
    ``(columns, temporaries)``. The columns are ``channels * prod(kernel)`` values a position;
    the temporaries add ``out_channels`` a position (the GEMM's result block or the gathered
    output gradient) and, when there is ``padding``, the block's padded input piece (without
    padding the piece is a view of the input, free)."""
    taps = channels * math.prod(kernel)
    padded = padding is not None and any(lo or hi for lo, hi in padding)

    def cost(n: int, sizes: tuple[int, ...]) -> tuple[int, int]:
        positions = math.prod(sizes)
        total = (taps + out_channels) * positions
        if padded:
            total += channels * math.prod((m - 1) * s + d * (k - 1) + 1
                                          for m, k, s, d in zip(sizes, kernel, stride, dilation))
        return n * taps * positions * itemsize, n * total * itemsize
    return cost


def _blocks(n_samples: int, out: Ints, cost: Cost) -> Iterator[tuple[slice, Region]]:
    """Cut ``n_samples`` samples of output shape ``out`` into blocks whose columns stay within
    :func:`convscope.backend.get_chunk_bytes` (the speed setting) and whose temporaries stay
    within :func:`convscope.backend.get_workspace_bytes` (the promise). Yields
    ``(samples, region)``, ``region`` one slice of output positions per spatial dim.

    Whole samples when one fits; else, for each sample, dims before ``j`` one index at a time, a
    run of dim ``j`` and every later dim whole, for the first ``j`` at which one index fits (dim 0:
    bands of rows). If not even one position fits, blocks are single positions (the minimal unit).
    Runs are balanced: 100 rows in blocks of at most 60 are two blocks of 50.
    """
    out = tuple(out)
    limits = (backend.get_chunk_bytes(), backend.get_workspace_bytes())
    whole = tuple(slice(0, m) for m in out)

    def most(one: tuple[int, int], per: tuple[int, int]) -> int:
        """The largest ``r`` with ``one + (r - 1) * per <= limit`` for both costs (at least 1)."""
        return max(1, min((limit - a) // max(b, 1) + 1 for a, b, limit in zip(one, per, limits)))

    per_sample = cost(1, out)
    if not out or all(c <= limit for c, limit in zip(per_sample, limits)):
        step = _even(n_samples, most(per_sample, per_sample))
        for start in range(0, n_samples, step):
            yield slice(start, min(start + step, n_samples)), whole
        return
    for j in range(len(out)):
        unit = (1,) * (j + 1) + out[j + 1:]
        one = cost(1, unit)
        if all(c <= limit for c, limit in zip(one, limits)):
            break
    two = cost(1, unit[:j] + (2,) + unit[j + 1:])             # the cost is affine in the run length
    run = _even(out[j], most(one, (two[0] - one[0], two[1] - one[1])))
    for i in range(n_samples):
        for prefix in np.ndindex(*out[:j]):
            head = tuple(slice(p, p + 1) for p in prefix)
            for start in range(0, out[j], run):
                yield slice(i, i + 1), head + (slice(start, min(start + run, out[j])),) + whole[j + 1:]


def _even(total: int, most: int) -> int:
    """The step that cuts ``total`` into as few pieces of at most ``most`` as possible, evenly
    (``_even(100, 60) == 50``: two blocks of 50 rather than 60 and 40)."""
    pieces = -(-total // most) if total > 0 else 1
    return max(1, -(-total // pieces))


def _sizes(region: Region) -> tuple[int, ...]:
    return tuple(r.stop - r.start for r in region)


def _input_block(x: np.ndarray, samples: slice, region: Region, kernel: Ints, stride: Ints,
                 dilation: Ints, padding: Pairs, op: str) -> np.ndarray:
    """The piece of the zero-padded input that the output ``region`` reads, ``(n, C, *extent)``:
    a view of ``x`` where it lies inside, else a scratch copy with zeros where it reads padding."""
    spatial = x.shape[2:]
    bounds = [(r.start * s - lo, (r.stop - 1) * s + d * (k - 1) + 1 - lo)     # in the coordinates of x
              for r, k, s, d, (lo, _) in zip(region, kernel, stride, dilation, padding)]
    if all(0 <= a and b <= size for (a, b), size in zip(bounds, spatial)):
        return x[(samples, slice(None)) + tuple(slice(a, b) for a, b in bounds)]
    n = samples.stop - samples.start
    piece = backend.scratch("conv.pad", (n, x.shape[1]) + tuple(b - a for a, b in bounds), x.dtype, op=op)
    src, dst = [], []
    for (a, b), size in zip(bounds, spatial):
        first = min(max(a, 0), size)
        last = max(min(b, size), first)
        src.append(slice(first, last))
        dst.append((first - a, last - a))
    every = [slice(None)] * piece.ndim
    for axis, (d0, d1) in enumerate(dst, start=2):               # zero the borders only
        piece[tuple(every[:axis] + [slice(0, d0)] + every[axis + 1:])] = 0
        piece[tuple(every[:axis] + [slice(d1, None)] + every[axis + 1:])] = 0
    piece[(slice(None), slice(None)) + tuple(slice(d0, d1) for d0, d1 in dst)] = x[(samples, slice(None)) + tuple(src)]
    return piece


def _matrix(block: np.ndarray, groups: int) -> np.ndarray:
    """A one-sample block ``(O, *sizes)`` of a C-contiguous output as ``(groups, O / groups, L)``,
    a view (the block's positions are contiguous for each channel: see :func:`_blocks`)."""
    view = block.reshape(groups, block.shape[0] // groups, -1)
    if not np.may_share_memory(view, block):          # a reshape that copied would lose the result
        raise RuntimeError("conv: internal error, an output block is not a view of the output")
    return view


def _gathered(gy: np.ndarray, samples: slice, region: Region, groups: int) -> np.ndarray:
    """A block of the output gradient as ``(groups, O / groups, n * L)``, columns (sample, position)."""
    n, O = samples.stop - samples.start, gy.shape[1]
    block = gy[(samples, slice(None)) + region]
    if n == 1:
        return block[0].reshape(groups, O // groups, -1)          # a view when gy is contiguous
    return block.reshape(n, O, -1).swapaxes(0, 1).reshape(groups, O // groups, -1)


# --------------------------------------------------------------------------- unfold / fold

def _windows(xp: np.ndarray, kernel: Ints, stride: Ints, dilation: Ints, out: Ints) -> np.ndarray:
    """Read-only view ``(n, C, *kernel, *out)`` of every window of the padded input (no copy)."""
    sn, sc, *ss = xp.strides
    strides = (sn, sc) + tuple(a * d for a, d in zip(ss, dilation)) + tuple(a * s for a, s in zip(ss, stride))
    return as_strided(xp, shape=xp.shape[:2] + tuple(kernel) + tuple(out), strides=strides, writeable=False)


def _unfold(xp: np.ndarray, kernel: Ints, stride: Ints, dilation: Ints, out: Ints) -> np.ndarray:
    """im2col: the windows as a matrix ``(C * prod(kernel), n * prod(out))``, channel-major.

    The result lives in a scratch buffer that the next unfold reuses.
    """
    n, c = xp.shape[:2]
    k = len(kernel)
    view = _windows(xp, kernel, stride, dilation, out)
    # (n, C, *K, *O) -> (C, *K, n, *O): rows are (channel, tap), columns are (sample, position).
    view = view.transpose((1,) + tuple(range(2, 2 + k)) + (0,) + tuple(range(2 + k, 2 + 2 * k)))
    cols = backend.scratch("conv.cols", view.shape, xp.dtype)
    np.copyto(cols, view)
    return cols.reshape(c * math.prod(kernel), n * math.prod(out))


def _fold_plan(kernel: Ints, stride: Ints, dilation: Ints, region: Region, extent: Ints,
               offset: Ints) -> list[tuple[tuple[slice | int, ...], tuple[slice, ...]]]:
    """Where :func:`_fold` adds each tap of the output block ``region``: a list of
    ``(source index, destination index)`` into the ``(C, *kernel, n, *sizes)`` columns and the
    ``(C, n, *extent)`` destination, which holds the padded-input positions ``offset + [0, extent)``
    per dim. Taps and positions that fall outside the destination (cropped padding) are left out."""
    every = (slice(None),)
    plan = []
    for tap in np.ndindex(*kernel):
        src, dst = [], []
        for t, s, d, r, off, ext in zip(tap, stride, dilation, region, offset, extent):
            first = r.start * s + t * d - off               # destination index of the block's first position
            p0 = max(0, -(first // s))                      # first p with first + p * s >= 0
            p1 = min(r.stop - r.start, (ext - 1 - first) // s + 1)   # one past the last with < ext
            if p1 <= p0:
                break
            src.append(slice(p0, p1))
            dst.append(slice(first + p0 * s, first + (p1 - 1) * s + 1, s))
        else:
            plan.append((every + tap + every + tuple(src), every + every + tuple(dst)))
    return plan


def _fold(cols: np.ndarray, kernel: Ints, sizes: Ints, plan, dst: np.ndarray) -> None:
    """col2im, the adjoint of :func:`_unfold`: add (``+=``) each column of the block to its window.

    ``cols`` is ``(C * prod(kernel), n * prod(sizes))``; ``dst`` is ``(C, n, *extent)``; ``plan``
    comes from :func:`_fold_plan`. Overlapping windows accumulate, across taps and across blocks.
    """
    c, n = dst.shape[:2]
    view = cols.reshape((c,) + tuple(kernel) + (n,) + tuple(sizes))
    for src, out in plan:
        dst[out] += view[src]


# --------------------------------------------------------------------------- cores

def forward(x: np.ndarray, w: np.ndarray, padding: Pairs, stride: Ints, dilation: Ints,
                  groups: int, out: Ints, op: str, what: str = "output") -> np.ndarray:
    """Conv of ``x`` zero-padded by ``padding``; ``out`` is the output spatial shape. No bias."""
    N, C = x.shape[:2]
    O, kernel = w.shape[0], w.shape[2:]
    out = tuple(out)
    wg = w.reshape(groups, O // groups, -1)
    y = alloc(op, what, (N, O) + out, x.dtype)
    cost = _block_cost(C, O, kernel, stride, dilation, padding, x.itemsize)
    for samples, region in _blocks(N, out, cost):
        n, sizes = samples.stop - samples.start, _sizes(region)
        xb = _input_block(x, samples, region, kernel, stride, dilation, padding, op)
        cols = _unfold(xb, kernel, stride, dilation, sizes).reshape(groups, -1, n * math.prod(sizes))
        if n == 1:
            np.matmul(wg, cols, out=_matrix(y[(samples.start, slice(None)) + region], groups))
        else:
            yc = np.matmul(wg, cols, out=backend.scratch("conv.gemm", (groups, O // groups, cols.shape[2]),
                                                         x.dtype, op=op))
            y[samples] = yc.reshape((O, n) + sizes).swapaxes(0, 1)
    return y


def weight_grad(x: np.ndarray, gy: np.ndarray, weight_shape: Ints, padding: Pairs, stride: Ints,
                      dilation: Ints, groups: int, op: str) -> np.ndarray:
    """Gradient of a conv's weight: unfolded windows of ``x`` (zero-padded by ``padding``) times the
    output gradient ``gy``, summed over blocks."""
    N, C = x.shape[:2]
    O, kernel = weight_shape[0], tuple(weight_shape[2:])
    out = gy.shape[2:]
    gw = alloc(op, "weight gradient", (groups, O // groups, (C // groups) * math.prod(kernel)), x.dtype, zero=True)
    cost = _block_cost(C, O, kernel, stride, dilation, padding, x.itemsize)
    for samples, region in _blocks(N, out, cost):
        n, sizes = samples.stop - samples.start, _sizes(region)
        xb = _input_block(x, samples, region, kernel, stride, dilation, padding, op)
        cols = _unfold(xb, kernel, stride, dilation, sizes).reshape(groups, -1, n * math.prod(sizes))
        gyc = _gathered(gy, samples, region, groups)
        for g in range(groups):              # 2-D products: BLAS takes the transpose as a flag
            gw[g] += gyc[g] @ cols[g].T      # (a stacked matmul of a transposed view was 2x slower)
    return gw.reshape(weight_shape)


def input_grad(gy: np.ndarray, w: np.ndarray, extent: Ints, offset: Ints, stride: Ints,
                     dilation: Ints, groups: int, op: str, what: str) -> np.ndarray:
    """``w^T gy`` folded back onto the padded input, cropped to the positions ``offset + [0, extent)``
    per dim: the gradient of a conv's input (``offset`` = the padding before), or the forward of
    the transposed conv. Returns ``(N, C, *extent)``.

    (For stride 1 the same gradient is a conv of the padded ``gy`` with flipped weights; measured
    on LeNet-5 and a small VGG, that was no faster than this fold once activations no longer fit
    in cache, so the fold serves every stride.)
    """
    N, O = gy.shape[:2]
    out = gy.shape[2:]
    Cg, kernel = w.shape[1], w.shape[2:]
    C = Cg * groups
    wt = w.reshape(groups, O // groups, -1).swapaxes(1, 2)          # (G, Cg*K, O/G)
    gx = alloc(op, what, (N, C) + tuple(extent), gy.dtype, zero=True)
    cost = _block_cost(C, O, kernel, stride, dilation, None, gy.itemsize)
    whole = tuple(slice(0, m) for m in out)
    whole_plan = None                                  # blocks of whole samples share one plan
    for samples, region in _blocks(N, out, cost):
        gyc = _gathered(gy, samples, region, groups)
        cols = np.matmul(wt, gyc, out=backend.scratch("conv.cols", (groups, wt.shape[1], gyc.shape[2]),
                                                      gy.dtype, op=op))
        if region != whole:
            plan = _fold_plan(kernel, stride, dilation, region, extent, offset)
        elif whole_plan is None:
            plan = whole_plan = _fold_plan(kernel, stride, dilation, region, extent, offset)
        else:
            plan = whole_plan
        _fold(cols, kernel, _sizes(region), plan, gx[samples].swapaxes(0, 1))
    return gx


