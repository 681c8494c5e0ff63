"""Direct convolution: shift-and-add over the kernel taps, for depthwise and few channels per group.

``y[n, o] = sum_{c, t} w[o, c, t] * x_pad[n, c, t * d + p * s]``: one pass per (channel, tap)
that adds a scaled, shifted view of the input to the output, with no unfolded copy at all. That
is the right shape when a group has few input channels (depthwise: one), where im2col would
make ``groups`` tiny matrix products; it costs ``C/groups * prod(kernel)`` passes, so the cost
model leaves it to small groups.

Two implementations of the same arithmetic:

- with numba installed (the ``fast`` extra) and :func:`convscope.backend.get_compiled` True, a
  2-D problem runs compiled loops (:mod:`._numba_kernels`) on
  :func:`convscope.backend.get_num_threads` threads;
- otherwise (any rank, or without numba) NumPy passes over views of the padded input, split
  over the samples on the backend's thread pool (NumPy releases the GIL in each pass).

Single-kernel problems (one 2-D kernel over one-channel planes, image filtering: see
:class:`._common.Problem`) have paths of their own, :func:`forward_planes`: with numba, compiled
loops over blocks of output rows (:func:`._numba_planes.taps2d`, every thread on one image);
without, NumPy passes tap by tap over the flat planes (:mod:`._taps`: zero taps skipped for
finite data, symmetric pairs sharing a multiplication, +-1 weights none) or, for finite float
data, each kernel column as a vertical Toeplitz product (:mod:`._toeplitz`), whichever the cost
model of :mod:`._planes_tuning` finds cheaper.
"""

from __future__ import annotations

import math

import numpy as np

from ... import backend
from . import _planes_tuning as T
from ._common import Problem, alloc, crop_into, pad_input, window_range
from ._taps import _direct_taps, _finish, _schedule, _schedule_passes, _taps_cost
from ._toeplitz import _direct_gemm, _gemm_ok, _vgemm_cost

# The contract functions (supports, cost, forward, input_grad, weight_grad) are documented once,
# in ._common; users reach them through the dispatcher (convscope.ops.algorithms).
__all__ = ["NAME"]

NAME = "direct"
#: Multiply-adds per ns of the compiled loops (2 threads; ~2 for stride 1, less when strided)
#: and of the NumPy passes; per-pass overhead of the NumPy path.
MACS_PER_NS_COMPILED = 4.0
MACS_PER_NS_NUMPY = 0.6
NS_PASS = 3000.0
MAX_CHANNELS_PER_GROUP = 64
#: The stride-1 flat kernels (2 threads, measured on LeNet-5's and ResNet's 3x3 layers): the
#: forward and input gradient's multiply-adds per ns, per (sample, channel) plane; the weight
#: gradient's, per dot product (output channel, input channel, tap, sample); per call.
MACS_PER_NS_FLAT = 42.0
NS_TASK = 300.0
MACS_PER_NS_FLAT_WGRAD = 27.0
NS_DOT = 4.0
NS_FLAT_CALL = 20000.0


def _compiled(p: Problem) -> bool:
    return p.rank == 2 and backend.compiled_available()


def supports(p: Problem) -> str | None:
    if p.single:
        return None
    if _padded_bytes(p) > backend.get_workspace_bytes():
        return "one padded sample within the workspace bound"
    if p.cg > MAX_CHANNELS_PER_GROUP and not _compiled(p):
        return f"at most {MAX_CHANNELS_PER_GROUP} input channels per group"
    return None


def cost(p: Problem) -> float:
    if p.single:
        return _planes_cost(p)
    if _compiled(p) and p.unit_stride:
        return _flat_cost(p)
    if _compiled(p):
        rate = MACS_PER_NS_COMPILED / (1 if p.unit_stride else 2)
        return p.macs / rate + 20000.0
    passes = p.cg * p.taps * (p.og if p.kind == "input_grad" else 1)
    return p.macs / MACS_PER_NS_NUMPY + NS_PASS * passes * max(1, p.n // 8)


def _flat_cost(p: Problem) -> float:
    """The compiled stride-1 kernels over flat planes (:func:`._numba_kernels.forward2d_flat`, and
    the input gradient as a forward of the padded output gradient, and the weight gradient's dot
    products): rows computed at the padded width, so the work grows by ``Wp / Wo``."""
    span = p.dilation[-1] * (p.kernel[-1] - 1)
    if p.kind == "weight_grad":
        waste = (p.out[-1] + span) / p.out[-1]
        return (p.macs * waste / MACS_PER_NS_FLAT_WGRAD + NS_DOT * p.o * p.cg * p.taps * p.n
                + NS_FLAT_CALL)
    width = p.spatial[-1] if p.kind == "input_grad" else p.out[-1]
    planes = p.n * (p.c if p.kind == "input_grad" else p.o)
    return p.macs * (width + span) / width / MACS_PER_NS_FLAT + NS_TASK * planes + NS_FLAT_CALL


def _kernels():
    from . import _numba_kernels as K
    K.set_threads(backend.get_num_threads())
    return K


def _tap_view(xp: np.ndarray, tap, out, stride, dilation) -> np.ndarray:
    """The input positions ``tap * d + p * s`` (p < out) of every sample and channel: a view."""
    return xp[(slice(None), slice(None)) + tuple(slice(t * d, t * d + (m - 1) * s + 1, s)
                                                  for t, m, s, d in zip(tap, out, stride, dilation))]


# --------------------------------------------------------------------------- single kernel

def _full_shape(p: Problem) -> tuple[int, int, int, int, int]:
    """``(planes, padded rows, padded columns, full-resolution rows, columns)`` of a single-kernel pass."""
    (oh, ow), (sh, sw), (kh, kw) = p.out, p.stride, p.kernel
    ho, wo = (oh - 1) * sh + 1, (ow - 1) * sw + 1
    return p.n, ho + kh - 1, wo + kw - 1, ho, wo


def _numpy_plans(m, hp, wp, k_shape, passes, columns, gemm) -> list[tuple[float, str]]:
    """The NumPy paths' estimated ns: tap by tap with ``passes`` NumPy passes, and (when
    ``gemm``) ``columns`` vertical Toeplitz products summed."""
    kh, kw = k_shape
    ho, wo = hp - kh + 1, wp - kw + 1
    size = m * hp * wp
    plans = [(_taps_cost(passes, size) + size * T.NS_COPY, "taps")]
    if gemm and 1 < kh <= T.GEMM_MAX_TAPS:
        plans.append((columns * _vgemm_cost(m, ho, wo, kh)
                      + max(columns - 1, 0) * m * ho * wo * T.NS_PASS / T.speedup(m * ho * wo), "gemm"))
    return plans


def _planes_cost(p: Problem) -> float:
    m, hp, wp, ho, wo = _full_shape(p)
    if backend.compiled_available():
        # rows skipped by the row stride are not computed, the column stride's are
        return T.compiled_cost(m * p.out[0] * wo * p.taps, m * p.out[0] * wo, T.COMPILED_DIRECT)
    # shapes only: a dense kernel without symmetry (forward_planes re-plans with the values)
    return min(c for c, _ in _numpy_plans(m, hp, wp, p.kernel, 2 * p.taps - 1, p.kernel[1],
                                           _gemm_ok(np.dtype(p.dtype), bool(p.finite))))


def fuses_border() -> bool:
    """Whether :func:`forward_planes` reads a padding mode through index maps (compiled only)."""
    return backend.compiled_available()


def forward_planes(xp: np.ndarray, k: np.ndarray, out, stride, op: str, *, finite: bool | None = True,
                   factors=None, border=None) -> np.ndarray:
    """The single-kernel pass: ``(M, *out)``, the valid correlation of the padded planes
    ``xp (M, Hp, Wp)`` (C-contiguous) with ``k (P, Q)`` at ``stride``, every tap of data not
    known to be finite multiplied (``0 * NaN`` is NaN). ``factors`` is not used. With ``border
    = (rows, cols, fill, left)`` (when :func:`fuses_border`), ``xp`` is the unpadded planes
    ``(M, H, W)`` (rows contiguous) and the padded plane is read through those index maps
    (:func:`._common.border_index`)."""
    k = k.astype(xp.dtype, copy=False)
    m = xp.shape[0]
    oh, ow = out
    if backend.compiled_available():
        from . import _numba_planes as K
        K.set_threads(backend.get_num_threads())
        y = alloc(op, "output", (m, oh, ow), xp.dtype)
        tu, tv = np.nonzero(k) if finite else np.indices(k.shape).reshape(2, -1)
        tw = np.ascontiguousarray(k[tu, tv])
        blocks = max(1, min(m * oh, 8 * backend.get_num_threads()))
        tu, tv = tu.astype(np.int64), tv.astype(np.int64)
        if border is not None:
            rows, cols, fill, left = border
            K.taps2d_border(xp, rows, cols, fill, left, k.shape[0], tu, tv, tw, y, stride[0], stride[1], blocks)
        else:
            K.taps2d(xp, tu, tv, tw, y, stride[0], stride[1], blocks)
        return y
    if border is not None:
        raise ValueError("direct: a fused border needs the compiled kernels")
    _, hp, wp = xp.shape
    passes = _schedule_passes(*_schedule(k.ravel(), finite)) if k.size <= 400 else \
        2 * (k.size if not finite else np.count_nonzero(k))
    columns = [v for v in range(k.shape[1]) if not finite or np.any(k[:, v] != 0)]
    plans = _numpy_plans(m, hp, wp, k.shape, passes, len(columns), _gemm_ok(xp.dtype, finite))
    if min(plans)[1] == "taps":
        y = _direct_taps(xp, k, finite, tuple(stride))
    else:
        y = _finish(_direct_gemm(xp, k, columns), tuple(stride))
    return y if y.shape[1:] == tuple(out) else np.ascontiguousarray(y[:, :oh, :ow])


# --------------------------------------------------------------------------- passes

def _padded_bytes(p: Problem) -> int:
    """Bytes of one sample's zero-padded input (or padded input-gradient buffer)."""
    covered = window_range(p.out, p.kernel, p.stride, p.dilation)
    sizes = (max(c, s + lo + max(hi, 0)) for c, s, (lo, hi) in zip(covered, p.spatial, p.padding))
    return p.c * math.prod(sizes) * np.dtype(p.dtype).itemsize


def _chunks(n: int, per_sample: int) -> list[slice]:
    """Samples in chunks whose padded pieces fit the workspace bound."""
    step = max(1, backend.get_workspace_bytes() // max(per_sample, 1))
    return [slice(i, min(n, i + step)) for i in range(0, n, step)]


def _padded_piece(x, samples, padding, op):
    """Samples ``samples`` of ``x`` zero-padded, C-contiguous (a scratch buffer or a view of x)."""
    piece = pad_input(x[samples], padding, op, slot="direct.padded")
    return piece if piece.flags.c_contiguous else np.ascontiguousarray(piece)


#: Flat outputs per task of the compiled stride-1 forward (an accumulator that stays in L1).
FLAT_BLOCK = 2048


def _flat_offsets(shape, kernel, dilation, cg: int) -> np.ndarray:
    """For :func:`._numba_kernels.forward2d_flat`: each tap's offset ``c * Hp * Wp + u * dh * Wp
    + v * dw`` in a flat sample of padded planes of ``shape (n, C, Hp, Wp)``, in ``w``'s order."""
    _, _, hp, wp = shape
    c, u, v = np.indices((cg,) + tuple(kernel)).reshape(3, -1)
    return (c * hp * wp + u * dilation[0] * wp + v * dilation[1]).astype(np.int64)


def _widened(gy: np.ndarray, wp: int, op: str) -> tuple[np.ndarray, int]:
    """``gy (n, O, Ho, Wo)`` laid out at width ``wp`` with zeros past ``Wo``, flat per plane:
    ``(n, O, Ho * wp)`` (C-contiguous), and the length :func:`._numba_kernels.weight_grad2d_flat`
    reads of each plane, ``(Ho - 1) * wp + Wo``."""
    n, o, ho, wo = gy.shape
    wide = backend.scratch("direct.widened", (n, o, ho, wp), gy.dtype, op=op)
    wide[..., wo:] = 0
    wide[..., :wo] = gy
    return wide.reshape(n, o, ho * wp), (ho - 1) * wp + wo


def forward(x, w, padding, stride, dilation, groups, out, op, what="output"):
    N, C = x.shape[:2]
    O, Cg, kernel = w.shape[0], w.shape[1], w.shape[2:]
    out = tuple(out)
    y = alloc(op, what, (N, O) + out, x.dtype)
    compiled = len(kernel) == 2 and backend.compiled_available()
    K = _kernels() if compiled else None
    w = np.ascontiguousarray(w)
    w2 = w.reshape(O, -1)
    Og = O // groups
    wg = w.reshape((groups, Og, Cg) + tuple(kernel))
    per = C * math.prod(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], padding)) * x.itemsize
    for samples in _chunks(N, per):
        xp = _padded_piece(x, samples, padding, op)
        yc = y[samples]
        if compiled and tuple(stride) == (1, 1):
            K.forward2d_flat(xp, w2, _flat_offsets(xp.shape, kernel, dilation, Cg), yc, groups, FLAT_BLOCK)
            continue
        if compiled:
            K.run("forward2d", stride[1], xp, w, yc, stride[0], stride[1], dilation[0], dilation[1], groups)
            continue
        n = samples.stop - samples.start
        yg = yc.reshape((n, groups, Og) + out)
        first = True
        for cl in range(Cg):
            for tap in np.ndindex(*kernel):
                view = _tap_view(xp, tap, out, stride, dilation).reshape((n, groups, Cg) + out)[:, :, cl, None]
                scale = wg[(slice(None), slice(None), cl) + tap].reshape((1, groups, Og) + (1,) * len(out))
                if first:
                    np.multiply(view, scale, out=yg)
                    first = False
                else:
                    yg += view * scale
    return y


def _flipped(w: np.ndarray, groups: int) -> np.ndarray:
    """The weights of the input gradient as a forward conv: ``(C, O / groups, *kernel)``, each
    group's input and output channels swapped and the kernel flipped."""
    O, Cg = w.shape[:2]
    kernel = w.shape[2:]
    flip = (slice(None),) * 3 + (slice(None, None, -1),) * len(kernel)
    wg = w.reshape((groups, O // groups, Cg) + tuple(kernel)).swapaxes(1, 2)[flip]
    return np.ascontiguousarray(wg).reshape((groups * Cg, O // groups) + tuple(kernel))


def input_grad(gy, w, extent, offset, stride, dilation, groups, op, what):
    if len(w.shape) == 4 and tuple(stride) == (1, 1) and backend.compiled_available():
        # Stride 1: the forward of gy zero-padded by (k - 1) * d, less the offset, with the
        # flipped weights; its output is the cropped input gradient itself.
        kernel = w.shape[2:]
        pads = tuple(((k - 1) * d - off, e + off - m)
                     for k, d, off, e, m in zip(kernel, dilation, offset, extent, gy.shape[2:]))
        return forward(gy, _flipped(w, groups), pads, (1, 1), dilation, groups, tuple(extent), op, what)
    N, O = gy.shape[:2]
    Cg, kernel = w.shape[1], w.shape[2:]
    C = Cg * groups
    out = gy.shape[2:]
    covered = window_range(out, kernel, stride, dilation)
    full = tuple(max(c, off + e) for c, off, e in zip(covered, offset, extent))
    gx = alloc(op, what, (N, C) + tuple(extent), gy.dtype)
    compiled = len(kernel) == 2 and backend.compiled_available()
    K = _kernels() if compiled else None
    w = np.ascontiguousarray(w)
    gy = np.ascontiguousarray(gy)
    Og = O // groups
    wg = w.reshape((groups, Og, Cg) + tuple(kernel))
    crop = (slice(None), slice(None)) + tuple(slice(off, off + e) for off, e in zip(offset, extent))
    for samples in _chunks(N, C * math.prod(full) * gy.itemsize):
        n = samples.stop - samples.start
        gxp = backend.scratch("direct.padded", (n, C) + full, gy.dtype, op=op)
        gyc = gy[samples]
        if not compiled:
            gxp[...] = 0
        if compiled:
            K.run("input_grad2d", stride[1], gyc, w, gxp, stride[0], stride[1], dilation[0], dilation[1], groups)
        else:
            gyg = gyc.reshape((n, groups, Og) + tuple(out))
            for cl in range(Cg):
                for tap in np.ndindex(*kernel):
                    view = _tap_view(gxp, tap, out, stride, dilation).reshape((n, groups, Cg) + tuple(out))[:, :, cl]
                    scale = wg[(slice(None), slice(None), cl) + tap].reshape((1, groups, Og) + (1,) * len(out))
                    if Og == 1:
                        view += gyg[:, :, 0] * scale[:, :, 0]
                    else:
                        view += (gyg * scale).sum(axis=2)
        gx[samples] = gxp[crop]
    return gx


def weight_grad(x, gy, weight_shape, padding, stride, dilation, groups, op):
    N, O = gy.shape[:2]
    C = x.shape[1]
    Cg, kernel = weight_shape[1], tuple(weight_shape[2:])
    out = gy.shape[2:]
    gw = alloc(op, "weight gradient", tuple(weight_shape), x.dtype, zero=True)
    compiled = len(kernel) == 2 and backend.compiled_available()
    K = _kernels() if compiled else None
    gy = np.ascontiguousarray(gy)
    Og = O // groups
    gwg = gw.reshape((groups, Og, Cg) + kernel)
    per = C * math.prod(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], padding)) * x.itemsize
    part = np.empty_like(gw) if compiled else None
    for samples in _chunks(N, per):
        n = samples.stop - samples.start
        xp = _padded_piece(x, samples, padding, op)
        gyc = gy[samples]
        if compiled and tuple(stride) == (1, 1):
            gyw, length = _widened(gyc, xp.shape[3], op)
            K.weight_grad2d_flat(xp, gyw, length, _flat_offsets(xp.shape, kernel, dilation, Cg), part.reshape(O, -1), groups)
            gw += part
            continue
        if compiled:
            K.run("weight_grad2d", stride[1], xp, gyc, part, stride[0], stride[1], dilation[0], dilation[1], groups)
            gw += part
            continue
        gyg = gyc.reshape((n, groups, Og, math.prod(out)))
        for cl in range(Cg):
            for tap in np.ndindex(*kernel):
                view = _tap_view(xp, tap, out, stride, dilation).reshape((n, groups, Cg) + tuple(out))[:, :, cl]
                cols = view.reshape(n, groups, 1, -1) if view.flags.c_contiguous else \
                    np.ascontiguousarray(view).reshape(n, groups, 1, -1)
                gwg[(slice(None), slice(None), cl) + tap] += np.einsum("ngkp,ngop->go", cols, gyg)
    return gw
