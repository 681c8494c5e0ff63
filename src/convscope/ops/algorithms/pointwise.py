"""1x1 kernels without padding: a conv is one matrix multiply per sample.

``y[n] = W (O, C) @ x[n] (C, L)`` per group, on every s-th position for a stride (a 1x1 kernel
has no dilation to speak of). No unfolding at all: the input is its own column matrix. The input
gradient puts ``W^T gy`` back on the strided positions (zeros elsewhere), and the weight
gradient is ``sum_n gy[n] @ x[n]^T``.
"""

from __future__ import annotations

import math

import numpy as np

from ... import backend
from ._common import Problem, alloc

# The contract functions (supports, cost, forward, input_grad, weight_grad) are documented once,
# in ._common; users reach them through the dispatcher (convscope.ops.algorithms).
__all__ = ["NAME"]

NAME = "pointwise"
MACS_PER_NS = 60.0
NS_COPY = 0.3
NS_CALL = 3000.0


def supports(p: Problem) -> str | None:
    if any(k != 1 for k in p.kernel):
        return "a 1x1 kernel"
    if any(lo != 0 or hi > 0 for lo, hi in p.padding):
        return "no padding"
    return None


def cost(p: Problem) -> float:
    copied = 0 if p.unit_stride else p.n * p.c * math.prod(p.out)
    return p.macs / MACS_PER_NS + NS_COPY * copied + NS_CALL * p.groups


def _chunks(n: int, per_sample: int) -> list[slice]:
    step = max(1, backend.get_workspace_bytes() // max(per_sample, 1))
    return [slice(i, min(n, i + step)) for i in range(0, n, step)]


def _columns(x: np.ndarray, samples: slice, stride, out, op: str) -> np.ndarray:
    """``x``'s positions ``i * s`` (i < out) per dim for ``samples``, as ``(n, C, L)``: a view
    when they are contiguous, else a copy in a scratch buffer."""
    view = x[(samples, slice(None)) + tuple(slice(0, (m - 1) * s + 1, s) for m, s in zip(out, stride))]
    n, c = view.shape[:2]
    if view.flags.c_contiguous:
        return view.reshape(n, c, -1)
    cols = backend.scratch("pointwise.cols", view.shape, x.dtype, op=op)
    np.copyto(cols, view)
    return cols.reshape(n, c, -1)


def forward(x, w, padding, stride, dilation, groups, out, op, what="output"):
    N, C = x.shape[:2]
    O = w.shape[0]
    y = alloc(op, what, (N, O) + tuple(out), x.dtype)
    wg = w.reshape(groups, O // groups, C // groups)
    yg = y.reshape(N, groups, O // groups, -1)
    for samples in _chunks(N, C * math.prod(out) * x.itemsize):
        xs = _columns(x, samples, stride, out, op)
        np.matmul(wg, xs.reshape(xs.shape[0], groups, C // groups, -1), out=yg[samples])
    return y


def input_grad(gy, w, extent, offset, stride, dilation, groups, op, what):
    N, O = gy.shape[:2]
    C = w.shape[1] * groups
    out = tuple(gy.shape[2:])
    wt = w.reshape(groups, O // groups, C // groups).swapaxes(1, 2)
    gyg = gy.reshape(N, groups, O // groups, -1)
    gx = alloc(op, what, (N, C) + tuple(extent), gy.dtype, zero=not (tuple(extent) == out and all(s == 1 for s in stride)))
    if tuple(extent) == out and all(s == 1 for s in stride):
        np.matmul(wt, gyg, out=gx.reshape(N, groups, C // groups, -1))
        return gx
    region = tuple(slice(0, min(e, (m - 1) * s + 1), s) for e, m, s in zip(extent, out, stride))
    sizes = tuple(len(range(r.start, r.stop, r.step)) for r in region)
    keep = (slice(None), slice(None)) + tuple(slice(0, n) for n in sizes)
    for samples in _chunks(N, C * math.prod(out) * gy.itemsize):
        n = samples.stop - samples.start
        g = backend.scratch("pointwise.cols", (n, groups, C // groups, math.prod(out)), gy.dtype, op=op)
        np.matmul(wt, gyg[samples], out=g)
        gx[(samples, slice(None)) + region] = g.reshape((n, C) + out)[keep]
    return gx


def weight_grad(x, gy, weight_shape, padding, stride, dilation, groups, op):
    N, O = gy.shape[:2]
    C = x.shape[1]
    g = gy.reshape(N, groups, O // groups, -1)
    gw = alloc(op, "weight gradient", (groups, O // groups, C // groups), x.dtype, zero=True)
    for samples in _chunks(N, C * math.prod(gy.shape[2:]) * x.itemsize):
        xs = _columns(x, samples, stride, gy.shape[2:], op)
        xs = xs.reshape(xs.shape[0], groups, C // groups, -1)
        for i, n in enumerate(range(samples.start, samples.stop)):
            gw += np.matmul(g[n], xs[i].swapaxes(1, 2))
    return gw.reshape(weight_shape)
