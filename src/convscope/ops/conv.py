"""One N-d convolution engine: forward, transposed, and their gradients, as pure array functions.

Conventions are PyTorch's: input ``x`` is ``(N, C, *spatial)``, weight ``w`` is
``(O, C // groups, *kernel)`` for a conv and ``(C, O // groups, *kernel)`` for a transposed conv.
What CNN layers call "convolution" is cross-correlation (the kernel is not flipped):

    y[n, o, p] = b[o] + sum_{c in group(o), k} x_pad[n, c, p * s + k * d] * w[o, c, k]

with ``p``, ``k``, ``s``, ``d`` multi-indices over the spatial dims. Each output dim has size
``(size + pad_before + pad_after - d * (k - 1) - 1) // s + 1``.

The algorithm is im2col + GEMM. The windows of a chunk of samples are unfolded into a matrix
of shape ``(C * prod(kernel), n * prod(out))`` (channel-major, so one BLAS call per group covers
the whole chunk), multiplied by the weight matrix, and folded back. The chunk is sized so the
unfolded matrix stays below :func:`convscope.backend.get_chunk_bytes` (cache-sized, and never
above the workspace bound).

The gradients reuse the same machinery (JAX's observation that the gradient of a conv is a conv):

- weight gradient: the same unfolded windows times the output gradient;
- input gradient: the weight's transpose times the output gradient, folded back with
  :func:`_fold` (col2im). That fold *is* the transposed convolution, so ``conv_transpose``'s
  forward is the conv's input gradient and its input gradient is the conv's forward.

Nothing here validates: the callers in :mod:`convscope.nn.functional` do, once.
"""

from __future__ import annotations

import math
from typing import Iterator, Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import backend
from .pad import pad as _pad

Ints = Sequence[int]
Pairs = Sequence[tuple[int, int]]

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
    """Output spatial shape of a conv: ``(size + lo + hi - d * (k - 1) - 1) // s + 1`` per dim."""
    return tuple(
        (n + lo + hi - d * (k - 1) - 1) // s + 1
        for n, k, s, (lo, hi), d in zip(spatial, kernel, stride, padding, dilation)
    )


def transpose_output_shape(
    spatial: Ints, kernel: Ints, stride: Ints, padding: Ints, output_padding: Ints, dilation: Ints
) -> tuple[int, ...]:
    """Output spatial shape of a transposed conv: ``(n - 1) * s - 2p + d * (k - 1) + op + 1``."""
    return tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        for n, k, s, p, op, d in zip(spatial, kernel, stride, padding, output_padding, dilation)
    )


def _zero_pad(x: np.ndarray, padding: Pairs) -> np.ndarray:
    if not any(lo or hi for lo, hi in padding):
        return x
    return _pad(x, padding, "constant", 0.0)


def _chunks(n: int, per_sample_bytes: int) -> Iterator[slice]:
    """Split a batch of ``n`` samples so each chunk's columns stay within the chunk size
    (cache-sized, never above the workspace bound); a chunk holds at least one sample."""
    step = max(1, backend.get_chunk_bytes() // max(per_sample_bytes, 1))
    for start in range(0, n, step):
        yield slice(start, min(start + step, n))


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
    cols = backend.scratch("cols", view.shape, xp.dtype)
    np.copyto(cols, view)
    return cols.reshape(c * math.prod(kernel), n * math.prod(out))


def _fold(cols: np.ndarray, n: int, c: int, kernel: Ints, stride: Ints, dilation: Ints,
          out: Ints, padded: Ints) -> np.ndarray:
    """col2im, the adjoint of :func:`_unfold`: add each column back to its window.

    ``cols`` is ``(C * prod(kernel), n * prod(out))``; returns ``(n, C, *padded)``, a view of a
    scratch buffer that the caller copies out before the next fold.
    """
    view = cols.reshape((c,) + tuple(kernel) + (n,) + tuple(out))
    acc = backend.scratch("fold", (c, n) + tuple(padded), cols.dtype)
    acc.fill(0)
    for tap in np.ndindex(*kernel):
        window = tuple(slice(t * d, t * d + s * (o - 1) + 1, s) for t, s, d, o in zip(tap, stride, dilation, out))
        acc[(slice(None), slice(None)) + window] += view[(slice(None),) + tap]
    return acc.swapaxes(0, 1)


def _cols_bytes(c: int, kernel: Ints, out: Ints, itemsize: int) -> int:
    return c * math.prod(kernel) * math.prod(out) * itemsize


# --------------------------------------------------------------------------- cores

def _forward_core(xp: np.ndarray, w: np.ndarray, stride: Ints, dilation: Ints, groups: int,
                  out: Ints) -> np.ndarray:
    """Conv of an already padded input; ``out`` is the output spatial shape. No bias."""
    N, C = xp.shape[:2]
    O, kernel = w.shape[0], w.shape[2:]
    L = math.prod(out)
    wg = w.reshape(groups, O // groups, -1)
    y = np.empty((N, O) + tuple(out), dtype=xp.dtype)
    for sl in _chunks(N, _cols_bytes(C, kernel, out, xp.itemsize)):
        n = sl.stop - sl.start
        cols = _unfold(xp[sl], kernel, stride, dilation, out).reshape(groups, -1, n * L)
        yc = np.matmul(wg, cols, out=backend.scratch("gemm", (groups, O // groups, n * L), xp.dtype))
        y[sl] = yc.reshape(O, n, *out).swapaxes(0, 1)
    return y


def _weight_grad_core(xp: np.ndarray, gy: np.ndarray, weight_shape: Ints, stride: Ints,
                      dilation: Ints, groups: int) -> np.ndarray:
    """Gradient of a conv's weight: unfolded windows of ``xp`` times the output gradient ``gy``."""
    N, C = xp.shape[:2]
    O, kernel = weight_shape[0], tuple(weight_shape[2:])
    out = gy.shape[2:]
    L = math.prod(out)
    gw = np.zeros((groups, O // groups, (C // groups) * math.prod(kernel)), dtype=xp.dtype)
    for sl in _chunks(N, _cols_bytes(C, kernel, out, xp.itemsize)):
        n = sl.stop - sl.start
        cols = _unfold(xp[sl], kernel, stride, dilation, out).reshape(groups, -1, n * L)
        gyc = gy[sl].reshape(n, O, L).swapaxes(0, 1).reshape(groups, O // groups, n * L)
        gw += np.matmul(gyc, cols.swapaxes(1, 2))
    return gw.reshape(weight_shape)


def _input_grad_core(gy: np.ndarray, w: np.ndarray, padded: Ints, stride: Ints, dilation: Ints,
                     groups: int) -> np.ndarray:
    """Gradient of a conv's padded input (shape ``(N, C, *padded)``): ``w^T gy``, folded back.

    This is also the forward of the transposed conv. (For stride 1 the same gradient is a conv of
    the padded ``gy`` with flipped weights; measured on LeNet-5 and a small VGG, that was no faster
    than this fold once activations no longer fit in cache, so the fold serves every stride.)
    """
    N, O = gy.shape[:2]
    out = gy.shape[2:]
    L = math.prod(out)
    Cg, kernel = w.shape[1], w.shape[2:]
    C = Cg * groups
    wt = w.reshape(groups, O // groups, -1).swapaxes(1, 2)          # (G, Cg*K, O/G)
    gxp = np.empty((N, C) + tuple(padded), dtype=gy.dtype)
    for sl in _chunks(N, _cols_bytes(C, kernel, out, gy.itemsize)):
        n = sl.stop - sl.start
        gyc = gy[sl].reshape(n, O, L).swapaxes(0, 1).reshape(groups, O // groups, n * L)
        cols = np.matmul(wt, gyc, out=backend.scratch("gemm", (groups, wt.shape[1], n * L), gy.dtype))
        cols = cols.reshape(C * math.prod(kernel), n * L)
        gxp[sl] = _fold(cols, n, C, kernel, stride, dilation, out, padded)
    return gxp


# --------------------------------------------------------------------------- public ops

def conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: Ints, padding: Pairs,
                 dilation: Ints, groups: int) -> np.ndarray:
    """N-d conv (cross-correlation) with zero padding ``padding`` = ``(before, after)`` per dim.

    Parameters
    ----------
    x : (N, C, *spatial) float array
    w : (O, C // groups, *kernel) array of the same dtype
    b : (O,) array or None
    stride, dilation : one positive int per spatial dim
    padding : one ``(before, after)`` pair of non-negative ints per spatial dim
    groups : positive int dividing C and O

    Returns
    -------
    y : (N, O, *out) with ``out = output_shape(spatial, kernel, stride, padding, dilation)``
    """
    out = output_shape(x.shape[2:], w.shape[2:], stride, padding, dilation)
    y = _forward_core(_zero_pad(x, padding), w, stride, dilation, groups, out)
    if b is not None:
        y += b.reshape((1, -1) + (1,) * len(out))
    return y


def conv_backward(gy: np.ndarray, x: np.ndarray, w: np.ndarray, stride: Ints, padding: Pairs,
                  dilation: Ints, groups: int, needs: tuple[bool, bool, bool] = (True, True, True)):
    """Gradients ``(gx, gw, gb)`` of :func:`conv_forward`; an entry is None where not needed."""
    need_x, need_w, need_b = needs
    gx = gw = gb = None
    if need_b:
        gb = gy.sum(axis=(0,) + tuple(range(2, gy.ndim)))
    if need_w:
        gw = _weight_grad_core(_zero_pad(x, padding), gy, w.shape, stride, dilation, groups)
    if need_x:
        padded = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], padding))
        gxp = _input_grad_core(gy, w, padded, stride, dilation, groups)
        gx = np.ascontiguousarray(gxp[(slice(None), slice(None)) + tuple(
            slice(lo, lo + n) for n, (lo, _) in zip(x.shape[2:], padding))])
    return gx, gw, gb


def _transpose_geometry(x, w, stride, padding, output_padding, dilation):
    spatial, kernel = x.shape[2:], w.shape[2:]
    out = transpose_output_shape(spatial, kernel, stride, padding, output_padding, dilation)
    # The fold writes into a buffer covering every position a window touches, plus
    # output_padding extra positions at the end; the output is that buffer cropped by padding.
    buffer = tuple((n - 1) * s + d * (k - 1) + 1 + op
                   for n, k, s, d, op in zip(spatial, kernel, stride, dilation, output_padding))
    return out, buffer


def conv_transpose_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: Ints,
                           padding: Ints, output_padding: Ints, dilation: Ints, groups: int) -> np.ndarray:
    """N-d transposed conv, the adjoint of :func:`conv_forward` with respect to its input.

    Parameters
    ----------
    x : (N, C, *spatial)
    w : (C, O // groups, *kernel)
    b : (O,) or None
    stride, padding, output_padding, dilation : one int per spatial dim

    Returns
    -------
    y : (N, O, *out), ``out = (n - 1) * s - 2p + d * (k - 1) + output_padding + 1`` per dim
    """
    out, buffer = _transpose_geometry(x, w, stride, padding, output_padding, dilation)
    yb = _input_grad_core(x, w, buffer, stride, dilation, groups)
    y = np.ascontiguousarray(yb[(slice(None), slice(None)) + tuple(slice(p, p + o) for p, o in zip(padding, out))])
    if b is not None:
        y += b.reshape((1, -1) + (1,) * len(out))
    return y


def conv_transpose_backward(gy: np.ndarray, x: np.ndarray, w: np.ndarray, stride: Ints, padding: Ints,
                            output_padding: Ints, dilation: Ints, groups: int,
                            needs: tuple[bool, bool, bool] = (True, True, True)):
    """Gradients ``(gx, gw, gb)`` of :func:`conv_transpose_forward`."""
    need_x, need_w, need_b = needs
    out, buffer = _transpose_geometry(x, w, stride, padding, output_padding, dilation)
    gx = gw = gb = None
    if need_b:
        gb = gy.sum(axis=(0,) + tuple(range(2, gy.ndim)))
    if need_x or need_w:
        # Undo the crop: embed gy back into the buffer it was cut from.
        gyp = _zero_pad(gy, [(p, bsz - p - o) for p, bsz, o in zip(padding, buffer, out)])
        spatial = x.shape[2:]
        if need_x:
            gx = _forward_core(gyp, w, stride, dilation, groups, spatial)
        if need_w:
            gw = _weight_grad_core(gyp, x, w.shape, stride, dilation, groups)
    return gx, gw, gb
