"""Winograd F(2x2, 3x3): 3x3 stride-1 convolutions with 16 multiplies per 2x2 outputs instead of 36.

The minimal filtering algorithm of Lavin & Gray, "Fast Algorithms for Convolutional Neural
Networks" (CVPR 2016). The output is cut into 2x2 tiles; tile ``(i, j)`` reads
the 4x4 patch ``d`` of the zero-padded input at rows ``2i .. 2i + 3`` and columns ``2j .. 2j + 3``
(neighbouring patches overlap by two), and

.. math::

    Y = A^T \\left[ \\sum_c (G g_{o,c} G^T) \\odot (B^T d_c B) \\right] A

with the standard F(2, 3) matrices

.. code-block:: text

    B^T = [[1, 0, -1, 0],   G = [[ 1,    0,    0 ],   A^T = [[1, 1,  1,  0],
           [0, 1,  1, 0],        [ 1/2,  1/2,  1/2],          [0, 1, -1, -1]]
           [0, -1, 1, 0],        [ 1/2, -1/2,  1/2],
           [0, 1,  0, -1]]       [ 0,    0,    1 ]]

The sum over channels of the element-wise products is, for each of the 16 positions of the 4x4
transformed tile, a matrix product: ``M[k] (G, O/G, tiles) = U[k] (G, O/G, C/G) @ V[k] (G, C/G,
tiles)``, 16 batched GEMMs (per group) in one :func:`numpy.matmul`: 16 multiply-adds per 2x2
outputs and channel pair where a direct or im2col conv does 36. Per block of ``n`` samples by
``r`` rows of ``t`` tiles:

1. ``U = G g G^T``: ``(16, groups, O/groups, C/groups)``, once per call, as one product by
   ``G (x) G``.
2. Parity planes: the zero-padded input piece, ``2 r + 2`` by ``2 t + 2``, copied apart into its
   four (even/odd row, even/odd column) planes of ``(r + 1) x (t + 1)``. The padding is written
   here as zero borders (the padded input is never built; negative padding crops), and so is
   the extra zero row/column that completes the last tile of an odd output size.
3. ``V = B^T d B``: ``(16, C, n, r, t + 1)``. In a parity plane, the patch element two columns
   on is the next element and two rows on the next row, so both passes (columns, then rows) are
   NumPy arithmetic on long contiguous runs, with no loop over tiles; each row carries one
   garbage column, computed across the row end and never used.
4. ``M = U @ V``: ``(16, O, n, r, t + 1)``.
5. ``Y = A^T M A``: one product by ``A^T (x) A^T`` (4 x 16), then four copies into the output's
   step-2 views (positions ``(2 i + a, 2 j + b)``), which leave out the garbage column and the
   extra row/column of an odd size.

Blocks (:func:`_plan`) are whole samples while ``V`` and ``M`` stay within a few chunk targets
(:func:`convscope.backend.get_chunk_bytes`, but at least 512 tiles wide for the GEMMs) and all
temporaries (about ``28 C + 20 O`` values per tile) within
:func:`convscope.backend.get_workspace_bytes`; else bands of tile rows of one sample.

The input gradient of a stride-1 3x3 conv is a full correlation of the output gradient with the
kernel rotated by 180 degrees and its channels swapped (per group); it runs through the same
core, on ``gy`` padded by ``2 - offset`` before and whatever reaches ``offset + extent`` after,
so that the result comes out already cropped to ``offset + [0, extent)``, zeros past the
windows included (a transposed conv's output padding): no full-size result, no crop copy. The
weight gradient is left to the GEMM (``supports`` refuses it).

Accuracy
--------
The transforms add, subtract and halve, so rounding grows a little over a direct dot product.
Measured against a float64 reference on random normal data (weights scaled by ``1/sqrt(9 C)``),
as the maximum error relative to the largest output: float32 Winograd 1.6e-7 to 7.4e-7, 0.8 to
2.0 times the float32 GEMM's (1.5e-7 to 4.8e-7; C = 3 to 256); float64 Winograd agrees with the
float64 GEMM to 4e-16 to 1.4e-15. The input gradient behaves the same (1.5 to 2 times).

Speed
-----
On the reference machine (2 cores, OpenBLAS on 2 threads, float32, best of 3 to 4) it is about
even with the GEMM at C = O = 64 on 56x56 (71 ms against 73 to 84), faster for wider layers
(C = O = 128 at 28x28: 50 against 64 to 78; 256 at 14x14: 15 against 16.5 to 20; input
gradients 20 to 35% faster), and slower with 32 channels or fewer, where the transforms (passes
over memory) cost more than the multiply-adds they save. :func:`cost` models that.

References
----------
A. Lavin and S. Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016,
arXiv:1509.09308.
"""

from __future__ import annotations

import math

import numpy as np

from ... import backend
from ._common import Problem, alloc

# The contract functions (supports, cost, forward, input_grad, weight_grad) are documented once,
# in ._common; users reach them through the dispatcher (convscope.ops.algorithms).
__all__ = ["NAME"]

NAME = "winograd"

#: Cost model (ns), fitted (least squares, relative) to 12 forward shapes with 2 OpenBLAS threads
#: in float32 on the machine the GEMM's constants come from, within about 25% (see :func:`cost`):
#: the rate of the 16 batched products (multiply-adds per ns), per value of ``V`` (the input transform: parity planes and two passes),
#: per sample, input channel and row of tiles (the planes' short copies), per value of ``M``
#: (the products writing it, the output transform reading it and the copies into the output),
#: per weight pair (its transform), per call, per block and per group of a block (16 products).
MACS_PER_NS = 70.0
NS_INPUT = 1.25
NS_ROW = 100.0
NS_OUTPUT = 1.0
NS_WEIGHT = 13.0
NS_CALL = 50000.0
NS_BLOCK = 60000.0
NS_GROUP = 10000.0
#: Blocks: ``V`` and ``M`` within ``HOT_CHUNKS`` times the chunk target, but at least
#: ``MIN_COLUMNS`` tiles (see :func:`_plan`).
HOT_CHUNKS = 2.0
MIN_COLUMNS = 512


def supports(p: Problem) -> str | None:
    if p.rank != 2:
        return "2-D only"
    if p.kernel != (3, 3):
        return "a 3x3 kernel"
    if not p.unit_stride:
        return "stride 1"
    if not p.undilated:
        return "no dilation"
    if p.kind not in ("forward", "input_grad"):
        return "forward and input gradient only"
    if np.dtype(p.dtype).kind not in "fc":
        return "a floating-point dtype"
    return None


def cost(p: Problem) -> float:
    """Estimated nanoseconds: the 16 batched GEMMs, the transforms (16 values per tile and input
    channel, and per tile and output channel) and the overheads, over the blocks :func:`_plan`
    cuts (the pass's output: for ``input_grad`` the result's extent ``p.spatial``)."""
    c_in, c_out = (p.o, p.c) if p.kind == "input_grad" else (p.c, p.o)
    th, tw = (-(-m // 2) for m in (p.spatial if p.kind == "input_grad" else p.out))
    columns = p.n * th * (tw + 1)                               # tiles, with the garbage column
    itemsize = np.dtype(p.dtype).itemsize
    step, run = _plan(p.n, c_in, c_out, (th, tw), itemsize)
    blocks = -(-p.n // step) if run is None else p.n * -(-th // run)
    macs = 16 * columns * c_out * (c_in // p.groups)
    return (macs / MACS_PER_NS + 16 * columns * (NS_INPUT * c_in + NS_OUTPUT * c_out)
            + NS_ROW * p.n * c_in * th + NS_WEIGHT * c_out * (c_in // p.groups) + NS_CALL
            + blocks * (NS_BLOCK + NS_GROUP * p.groups))


# --------------------------------------------------------------------------- transforms

_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
_GG = np.kron(_G, _G)                                   # (16, 9): vec(G g G^T) = _GG @ vec(g)
_AA = np.kron([[1.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, -1.0]], [[1.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, -1.0]])


def _transform_weight(w: np.ndarray, groups: int, dtype) -> np.ndarray:
    """``U = G g G^T`` for every (output, input) channel pair, as one matrix product:
    ``(16, groups, O/groups, C/groups)``."""
    O, Cg = w.shape[:2]
    g = np.asarray(w).astype(dtype, copy=False).reshape(O * Cg, 9)
    return np.matmul(_GG.astype(dtype), g.T).reshape(16, groups, O // groups, Cg)


def _parity(first: int, count: int, size: int) -> tuple[slice, slice]:
    """Of the positions ``first + 2 j`` (``j < count``) of a dim of ``size``: which ``j`` lie
    inside, and the step-2 slice of the dim they are."""
    j0 = min(count, max(0, (1 - first) // 2))
    j1 = max(j0, min(count, (size - first + 1) // 2))
    if j1 == j0:
        return slice(0, 0), slice(0, 0)
    return slice(j0, j1), slice(first + 2 * j0, first + 2 * j1 - 1, 2)


def _planes(x: np.ndarray, samples: slice, top: int, left: int, rows: int, cols: int, op: str) -> np.ndarray:
    """The four (row, column) parity planes of the zero-padded input piece whose first position is
    ``(-top, -left)`` in ``x``'s coordinates, ``2 rows + 2`` by ``2 cols + 2``: a scratch buffer
    ``(2, 2, n * C, (rows + 1) * (cols + 1))``. The padding is written here, as zero borders: the
    padded input is never built."""
    n, C, H, W = (samples.stop - samples.start,) + x.shape[1:]
    p = backend.scratch("winograd.planes", (2, 2, n * C, (rows + 1) * (cols + 1)), x.dtype, op=op)
    for pr in range(2):
        dr, sr = _parity(pr - top, rows + 1, H)
        for pc in range(2):
            dc, sc = _parity(pc - left, cols + 1, W)
            plane = p[pr, pc].reshape(n, C, rows + 1, cols + 1)
            plane[:, :, :dr.start] = 0
            plane[:, :, dr.stop:] = 0
            plane[:, :, dr, :dc.start] = 0
            plane[:, :, dr, dc.stop:] = 0
            np.copyto(plane[:, :, dr, dc], x[samples, :, sr, sc])
    return p


def _transform_input(p: np.ndarray, n: int, C: int, rows: int, cols: int, op: str) -> np.ndarray:
    """``V = B^T d B`` for every 4x4 patch ``d`` of the parity planes ``p`` (:func:`_planes`): a
    scratch buffer ``(4, 4, C, n, rows * (cols + 1))``, tile ``(i, j)`` at ``i * (cols + 1) + j``
    (the last column of each row is garbage).

    In a parity plane, patch column ``j + 2`` is the next element and patch row ``i + 2`` the next
    row, so both passes are arithmetic on long contiguous runs (NumPy's inner loops), with one
    extra column computed across the row ends and never used: the columns pass treats all planes
    as one flat run, the rows pass each plane's rows as one.
    """
    w1 = cols + 1
    plane = (rows + 1) * w1
    even, odd = p[:, 0].reshape(2, -1), p[:, 1].reshape(2, -1)   # (row parity, every plane flat)
    t = backend.scratch("winograd.cols", (4, 2, n * C * plane), p.dtype, op=op)
    t[..., -1] = 0
    np.subtract(even[:, :-1], even[:, 1:], out=t[0, :, :-1])     # d0 - d2
    np.add(odd[:, :-1], even[:, 1:], out=t[1, :, :-1])           # d1 + d2
    np.subtract(even[:, 1:], odd[:, :-1], out=t[2, :, :-1])      # d2 - d1
    np.subtract(odd[:, :-1], odd[:, 1:], out=t[3, :, :-1])       # d1 - d3
    t = t.reshape(4, 2, n, C, plane)
    run = rows * w1
    v = backend.scratch("winograd.v", (4, 4, C, n, run), p.dtype, op=op)
    vt = v.transpose(0, 1, 3, 2, 4)                                  # (4, 4, n, C, run)
    first, second = t[..., :run], t[..., w1:]                       # rows i and i + 2 of the patch
    np.subtract(first[:, 0], second[:, 0], out=vt[0])               # d0 - d2
    np.add(first[:, 1], second[:, 0], out=vt[1])                    # d1 + d2
    np.subtract(second[:, 0], first[:, 1], out=vt[2])               # d2 - d1
    np.subtract(first[:, 1], second[:, 1], out=vt[3])               # d1 - d3
    return v


def _transform_output(m: np.ndarray, n: int, rows: int, cols: int, dst: list[list[np.ndarray]],
                      op: str) -> None:
    """``Y = A^T M A`` of ``m (16, O, n * rows * (cols + 1))``, as one matrix product by ``A^T (x)
    A^T`` (4 x 16: BLAS streams ``M`` once, faster here than three passes of NumPy arithmetic),
    then copied into ``dst[a][b] (n, O, h_a, w_b)``, the output's positions ``(2 i + a, 2 j + b)``
    (the garbage column, and the last row or column of tiles of an odd size, left out)."""
    z = backend.scratch("winograd.z", (4, m.shape[1], m.shape[2]), m.dtype, op=op)
    np.matmul(_AA.astype(m.dtype), m.reshape(16, -1), out=z.reshape(4, -1))
    z = z.reshape(2, 2, m.shape[1], n, rows, cols + 1)
    for a in range(2):
        for b in range(2):
            out = dst[a][b]
            h, w = out.shape[2:]
            np.copyto(out, z[a, b].transpose(1, 0, 2, 3)[:, :, :h, :w])


# --------------------------------------------------------------------------- the core

def _plan(N: int, C: int, O: int, tiles: tuple[int, int], itemsize: int) -> tuple[int, int | None]:
    """How :func:`_blocks` cuts ``N`` samples of ``tiles`` tiles: ``(samples, None)`` per block of
    whole samples, or ``(1, tile rows)`` per band.

    The speed aim: a block's ``V`` and ``M`` within ``HOT_CHUNKS`` times
    :func:`convscope.backend.get_chunk_bytes` (the transforms are passes over memory, fast while
    it is in cache), but at least ``MIN_COLUMNS`` tiles (the GEMMs' width). The promise: all its
    temporaries within :func:`convscope.backend.get_workspace_bytes`. Whole samples when the aim
    covers one and one fits the bound, else bands of tile rows of one sample (at least one row).
    """
    th, tw = tiles
    w1 = tw + 1                                                 # with the garbage column
    per_row = itemsize * w1 * (28 * C + 20 * O)                 # planes, column pass, V; M, z
    fixed = itemsize * w1 * 12 * C                              # the planes' extra row
    hot = itemsize * w1 * 16 * (C + O)                          # V and M
    limit = backend.get_workspace_bytes()
    aim = max(1, int(HOT_CHUNKS * backend.get_chunk_bytes()) // hot, -(-MIN_COLUMNS // w1))
    per_sample = fixed + th * per_row
    if aim >= th and per_sample <= limit:
        return _even(N, max(1, min(aim // th, limit // per_sample))), None
    return 1, _even(th, max(1, min(aim, (limit - fixed) // per_row)))


def _blocks(N: int, C: int, O: int, tiles: tuple[int, int], itemsize: int):
    """``(samples, tile rows)`` blocks, as :func:`_plan` cuts them."""
    th = tiles[0]
    step, run = _plan(N, C, O, tiles, itemsize)
    if run is None:
        for n0 in range(0, N, step):
            yield slice(n0, min(N, n0 + step)), slice(0, th)
        return
    for n0 in range(N):
        for r0 in range(0, th, run):
            yield slice(n0, n0 + 1), slice(r0, min(th, r0 + run))


def _even(total: int, most: int) -> int:
    """The step that cuts ``total`` into as few pieces of at most ``most`` as possible, evenly."""
    pieces = -(-total // most) if total > 0 else 1
    return max(1, -(-total // pieces))


def _core(x: np.ndarray, u: np.ndarray, padding, out, groups: int, op: str, what: str) -> np.ndarray:
    """Cross-correlation of ``x (N, C, H, W)`` zero-padded by ``padding`` with the transformed
    weight ``u (16, groups, O/groups, C/groups)``: ``y (N, O, *out)``."""
    N, C = x.shape[:2]
    O = u.shape[1] * u.shape[2]
    y = alloc(op, what, (N, O) + tuple(out), x.dtype)
    if y.size == 0:
        return y
    if C == 0:
        y[...] = 0
        return y
    th, tw = (-(-m // 2) for m in out)
    (top, _), (left, _) = padding
    for samples, band in _blocks(N, C, O, (th, tw), x.itemsize):
        n, rows = samples.stop - samples.start, band.stop - band.start
        planes = _planes(x, samples, top - 2 * band.start, left, rows, tw, op)
        v = _transform_input(planes, n, C, rows, tw, op)
        m = backend.scratch("winograd.m", (16, O, n * rows * (tw + 1)), x.dtype, op=op)
        np.matmul(u, v.reshape(16, groups, C // groups, -1), out=m.reshape(16, groups, O // groups, -1))
        ys = y[samples]
        dst = [[ys[:, :, 2 * band.start + i:2 * band.stop:2, j::2] for j in range(2)] for i in range(2)]
        _transform_output(m, n, rows, tw, dst, op)
    return y


# --------------------------------------------------------------------------- passes

def forward(x, w, padding, stride, dilation, groups, out, op, what="output"):
    """Conv of ``x`` zero-padded by ``padding`` with the 3x3 ``w``, stride 1: ``(N, O, *out)``, no bias."""
    u = _transform_weight(w, groups, x.dtype)
    return _core(x, u, tuple(tuple(pair) for pair in padding), tuple(out), groups, op, what)


def input_grad(gy, w, extent, offset, stride, dilation, groups, op, what):
    """``w^T gy`` on the padded input, cropped to ``offset + [0, extent)``: the full correlation of
    ``gy`` with the rotated, channel-swapped kernel, computed directly on the cropped positions."""
    O, Cg = w.shape[:2]
    Og = O // groups
    flipped = (np.asarray(w).reshape(groups, Og, Cg, 3, 3).transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
               .reshape(groups * Cg, Og, 3, 3))
    u = _transform_weight(flipped, groups, gy.dtype)
    # Result position offset + i is the full correlation's: gy padded by 2 - offset before.
    padding = tuple((2 - off, ext - m + off) for off, ext, m in zip(offset, extent, gy.shape[2:]))
    return _core(gy, u, padding, tuple(extent), groups, op, what)


def weight_grad(x, gy, weight_shape, padding, stride, dilation, groups, op):
    """Not an algorithm of this module (``supports`` refuses it; the GEMM serves it)."""
    raise RuntimeError("winograd: weight_grad is not supported")
