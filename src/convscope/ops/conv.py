"""One N-d convolution engine: forward, transposed, and their gradients, as pure array functions.

Conventions are PyTorch's: input ``x`` is ``(N, C, *spatial)``, weight ``w`` is
``(O, C // groups, *kernel)`` for a conv and ``(C, O // groups, *kernel)`` for a transposed conv.
What CNN layers call "convolution" is cross-correlation (the kernel is not flipped):

    y[n, o, p] = b[o] + sum_{c in group(o), k} x_pad[n, c, p * s + k * d] * w[o, c, k]

with ``p``, ``k``, ``s``, ``d`` multi-indices over the spatial dims. Each output dim has size
``(size + pad_before + pad_after - d * (k - 1) - 1) // s + 1``.

The algorithm is im2col + GEMM, one block of output positions at a time:

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
  cropped to the unpadded input. That fold *is* the transposed convolution, so
  ``conv_transpose``'s forward is the conv's input gradient and its input gradient is the conv's
  forward.

Memory: beyond its operands, a call allocates its output (and in backward its gradients) plus at
most the workspace bound of temporaries. Each output and gradient is checked against
:func:`convscope.backend.get_memory_limit` before it is allocated; above it,
:class:`convscope.ResourceError` names the op, the shape and the bytes. The op's name is
derived from the rank (``conv2d``, ``conv_transpose3d``) unless ``name=`` is given.

Nothing here validates: the callers in :mod:`convscope.nn.functional` do, once.

Examples
--------
Blocks change where the work is done, not the result:

>>> import numpy as np
>>> from convscope import backend
>>> from convscope.ops import conv
>>> x, w = np.ones((1, 1, 6, 6)), np.ones((2, 1, 3, 3))
>>> args = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)         # stride, padding, dilation, groups
>>> y = conv.conv_forward(x, w, None, *args)
>>> y[0, 0]
array([[4., 6., 6., 6., 6., 4.],
       [6., 9., 9., 9., 9., 6.],
       [6., 9., 9., 9., 9., 6.],
       [6., 9., 9., 9., 9., 6.],
       [6., 9., 9., 9., 9., 6.],
       [4., 6., 6., 6., 6., 4.]])
>>> with backend.chunk_target(1):                          # every block a single output position
...     np.array_equal(conv.conv_forward(x, w, None, *args), y)
True
"""

from __future__ import annotations

import math
from typing import Callable, Iterator, Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import backend

Ints = Sequence[int]
Pairs = Sequence[tuple[int, int]]
Region = tuple[slice, ...]

__all__ = [
    "output_shape",
    "transpose_output_shape",
    "conv_forward",
    "conv_backward",
    "conv_transpose_forward",
    "conv_transpose_backward",
]


# --------------------------------------------------------------------------- geometry

def output_shape(spatial: Ints, kernel: Ints, stride: Ints, padding: Pairs, dilation: Ints) -> tuple[int, ...]:
    """Output spatial shape of a conv: ``(size + lo + hi - d * (k - 1) - 1) // s + 1`` per dim.

    Examples
    --------
    A 3x3 kernel on 4x4, and a stride-2 5x5 kernel with padding 2 on 28x28:

    >>> output_shape((4, 4), (3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1))
    (2, 2)
    >>> output_shape((28, 28), (5, 5), (2, 2), ((2, 2), (2, 2)), (1, 1))
    (14, 14)
    """
    return tuple(
        (n + lo + hi - d * (k - 1) - 1) // s + 1
        for n, k, s, (lo, hi), d in zip(spatial, kernel, stride, padding, dilation)
    )


def transpose_output_shape(
    spatial: Ints, kernel: Ints, stride: Ints, padding: Ints, output_padding: Ints, dilation: Ints
) -> tuple[int, ...]:
    """Output spatial shape of a transposed conv: ``(n - 1) * s - 2p + d * (k - 1) + op + 1``.

    Examples
    --------
    Stride 2, padding 1 and output_padding 1 double 2x2 to 4x4:

    >>> transpose_output_shape((2, 2), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1))
    (4, 4)
    """
    return tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        for n, k, s, p, op, d in zip(spatial, kernel, stride, padding, output_padding, dilation)
    )


def _alloc(op: str, what: str, shape: tuple[int, ...], dtype, zero: bool = False) -> np.ndarray:
    """A result array, after checking it against the memory limit."""
    backend.check_allocation(op, shape, dtype, what)
    return np.zeros(shape, dtype) if zero else np.empty(shape, dtype)


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

def _forward_core(x: np.ndarray, w: np.ndarray, padding: Pairs, stride: Ints, dilation: Ints,
                  groups: int, out: Ints, op: str, what: str = "output") -> np.ndarray:
    """Conv of ``x`` zero-padded by ``padding``; ``out`` is the output spatial shape. No bias."""
    N, C = x.shape[:2]
    O, kernel = w.shape[0], w.shape[2:]
    out = tuple(out)
    wg = w.reshape(groups, O // groups, -1)
    y = _alloc(op, what, (N, O) + out, x.dtype)
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


def _weight_grad_core(x: np.ndarray, gy: np.ndarray, weight_shape: Ints, padding: Pairs, stride: Ints,
                      dilation: Ints, groups: int, op: str) -> np.ndarray:
    """Gradient of a conv's weight: unfolded windows of ``x`` (zero-padded by ``padding``) times the
    output gradient ``gy``, summed over blocks."""
    N, C = x.shape[:2]
    O, kernel = weight_shape[0], tuple(weight_shape[2:])
    out = gy.shape[2:]
    gw = _alloc(op, "weight gradient", (groups, O // groups, (C // groups) * math.prod(kernel)), x.dtype, zero=True)
    cost = _block_cost(C, O, kernel, stride, dilation, padding, x.itemsize)
    for samples, region in _blocks(N, out, cost):
        n, sizes = samples.stop - samples.start, _sizes(region)
        xb = _input_block(x, samples, region, kernel, stride, dilation, padding, op)
        cols = _unfold(xb, kernel, stride, dilation, sizes).reshape(groups, -1, n * math.prod(sizes))
        gw += np.matmul(_gathered(gy, samples, region, groups), cols.swapaxes(1, 2))
    return gw.reshape(weight_shape)


def _input_grad_core(gy: np.ndarray, w: np.ndarray, extent: Ints, offset: Ints, stride: Ints,
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
    gx = _alloc(op, what, (N, C) + tuple(extent), gy.dtype, zero=True)
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


# --------------------------------------------------------------------------- public ops

def conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: Ints, padding: Pairs,
                 dilation: Ints, groups: int, *, name: str | None = None) -> np.ndarray:
    """N-d conv (cross-correlation) with zero padding ``padding`` = ``(before, after)`` per dim.

    Parameters
    ----------
    x : (N, C, *spatial) float array
    w : (O, C // groups, *kernel) array of the same dtype
    b : (O,) array or None
    stride, dilation : one positive int per spatial dim
    padding : one ``(before, after)`` pair of non-negative ints per spatial dim
    groups : positive int dividing C and O
    name : str, optional
        The op's name in error messages (default ``conv{N}d`` from the rank).

    Returns
    -------
    y : (N, O, *out) with ``out = output_shape(spatial, kernel, stride, padding, dilation)``

    Raises
    ------
    convscope.ResourceError
        The output would exceed :func:`convscope.backend.get_memory_limit`.

    Examples
    --------
    A 1x1x4x4 input and a 1x1x3x3 kernel of ones: each output sums one 3x3 window.

    >>> x, w = np.arange(16.).reshape(1, 1, 4, 4), np.ones((1, 1, 3, 3))
    >>> y = conv_forward(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    >>> y.shape
    (1, 1, 2, 2)
    >>> y.tolist()
    [[[[45.0, 54.0], [81.0, 90.0]]]]
    >>> float(conv_forward(x, w, np.array([0.5]), (1, 1), ((1, 1), (1, 1)), (1, 1), 1)[0, 0, 0, 0])
    10.5
    """
    name = name or f"conv{x.ndim - 2}d"
    out = output_shape(x.shape[2:], w.shape[2:], stride, padding, dilation)
    y = _forward_core(x, w, padding, stride, dilation, groups, out, name)
    if b is not None:
        y += b.reshape((1, -1) + (1,) * len(out))
    return y


def conv_backward(gy: np.ndarray, x: np.ndarray, w: np.ndarray, stride: Ints, padding: Pairs,
                  dilation: Ints, groups: int, needs: tuple[bool, bool, bool] = (True, True, True), *,
                  name: str | None = None):
    """Gradients ``(gx, gw, gb)`` of :func:`conv_forward`; an entry is None where not needed.

    Raises
    ------
    convscope.ResourceError
        A gradient would exceed :func:`convscope.backend.get_memory_limit`.

    Examples
    --------
    With an upstream gradient of ones, each input element gets the number of windows that
    cover it, and each weight tap the sum of the inputs it saw:

    >>> x, w = np.arange(16.).reshape(1, 1, 4, 4), np.ones((1, 1, 3, 3))
    >>> gx, gw, gb = conv_backward(np.ones((1, 1, 2, 2)), x, w, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    >>> gx[0, 0].tolist()
    [[1.0, 2.0, 2.0, 1.0], [2.0, 4.0, 4.0, 2.0], [2.0, 4.0, 4.0, 2.0], [1.0, 2.0, 2.0, 1.0]]
    >>> gw[0, 0].tolist()
    [[10.0, 14.0, 18.0], [26.0, 30.0, 34.0], [42.0, 46.0, 50.0]]
    >>> gb.tolist()
    [4.0]
    >>> conv_backward(np.ones((1, 1, 2, 2)), x, w, (1, 1), ((0, 0), (0, 0)), (1, 1), 1,
    ...               needs=(False, False, True))[:2]
    (None, None)
    """
    name = name or f"conv{x.ndim - 2}d"
    need_x, need_w, need_b = needs
    gx = gw = gb = None
    if need_b:
        gb = gy.sum(axis=(0,) + tuple(range(2, gy.ndim)))
    if need_w:
        gw = _weight_grad_core(x, gy, w.shape, padding, stride, dilation, groups, name)
    if need_x:
        gx = _input_grad_core(gy, w, x.shape[2:], [lo for lo, _ in padding], stride, dilation, groups,
                              name, "input gradient")
    return gx, gw, gb


def conv_transpose_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: Ints,
                           padding: Ints, output_padding: Ints, dilation: Ints, groups: int, *,
                           name: str | None = None) -> np.ndarray:
    """N-d transposed conv, the adjoint of :func:`conv_forward` with respect to its input.

    Parameters
    ----------
    x : (N, C, *spatial)
    w : (C, O // groups, *kernel)
    b : (O,) or None
    stride, padding, output_padding, dilation : one int per spatial dim
    name : str, optional
        The op's name in error messages (default ``conv_transpose{N}d`` from the rank).

    Returns
    -------
    y : (N, O, *out), ``out = (n - 1) * s - 2p + d * (k - 1) + output_padding + 1`` per dim

    Raises
    ------
    convscope.ResourceError
        The output would exceed :func:`convscope.backend.get_memory_limit`.

    Examples
    --------
    Each input value stamps a copy of the 2x2 kernel of ones; the stamps overlap at stride 1
    and tile the output at stride 2:

    >>> x, w = np.array([[[[1., 2.], [3., 4.]]]]), np.ones((1, 1, 2, 2))
    >>> conv_transpose_forward(x, w, None, (1, 1), (0, 0), (0, 0), (1, 1), 1)[0, 0].tolist()
    [[1.0, 3.0, 2.0], [4.0, 10.0, 6.0], [3.0, 7.0, 4.0]]
    >>> conv_transpose_forward(x, w, None, (2, 2), (0, 0), (0, 0), (1, 1), 1)[0, 0].tolist()
    [[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0], [3.0, 3.0, 4.0, 4.0], [3.0, 3.0, 4.0, 4.0]]
    """
    name = name or f"conv_transpose{x.ndim - 2}d"
    out = transpose_output_shape(x.shape[2:], w.shape[2:], stride, padding, output_padding, dilation)
    # The windows cover the positions [0, (n - 1) * s + d * (k - 1) + 1) per dim (output_padding
    # adds positions no window reaches); the output is that range cropped by padding, which the
    # fold writes directly.
    y = _input_grad_core(x, w, out, padding, stride, dilation, groups, name, "output")
    if b is not None:
        y += b.reshape((1, -1) + (1,) * len(out))
    return y


def conv_transpose_backward(gy: np.ndarray, x: np.ndarray, w: np.ndarray, stride: Ints, padding: Ints,
                            output_padding: Ints, dilation: Ints, groups: int,
                            needs: tuple[bool, bool, bool] = (True, True, True), *, name: str | None = None):
    """Gradients ``(gx, gw, gb)`` of :func:`conv_transpose_forward`.

    Raises
    ------
    convscope.ResourceError
        A gradient would exceed :func:`convscope.backend.get_memory_limit`.

    Examples
    --------
    With an upstream gradient of ones, each input value's gradient is the sum of its stamp
    (the kernel's 4 taps) and each tap's gradient the sum of the inputs (1 + 2 + 3 + 4):

    >>> x, w = np.array([[[[1., 2.], [3., 4.]]]]), np.ones((1, 1, 2, 2))
    >>> gx, gw, gb = conv_transpose_backward(np.ones((1, 1, 3, 3)), x, w, (1, 1), (0, 0), (0, 0), (1, 1), 1)
    >>> gx.tolist(), gw.tolist(), gb.tolist()
    ([[[[4.0, 4.0], [4.0, 4.0]]]], [[[[10.0, 10.0], [10.0, 10.0]]]], [9.0])
    """
    name = name or f"conv_transpose{x.ndim - 2}d"
    need_x, need_w, need_b = needs
    gx = gw = gb = None
    if need_b:
        gb = gy.sum(axis=(0,) + tuple(range(2, gy.ndim)))
    # The forward cropped `padding` from each side of the window range, so the input gradient
    # is a conv of gy zero-padded by it: the embedding of gy back into the uncropped range.
    pads = [(p, p) for p in padding]
    if need_x:
        gx = _forward_core(gy, w, pads, stride, dilation, groups, x.shape[2:], name, "input gradient")
    if need_w:
        gw = _weight_grad_core(gy, x, w.shape, pads, stride, dilation, groups, name)
    return gx, gw, gb
