"""FFT convolution: channel products per frequency, for large kernels.

Every pass runs as circular convolutions of a length ``L`` per dim at which no kept position
wraps around. Strides compute the stride-1 result and subsample it (so cost as much as stride
1); dilation inserts zeros into the kernel.

Notes
-----
Algorithm. (1) Real-to-complex ``numpy.fft`` over the spatial axes at a fast length
``L = 2^a 3^b 5^c`` (about the padded size): padding is the zero extension to ``L``, and each
axis transforms only the lines not all zeros. (2) Per frequency and group the channel
contraction ``Y (O/G, n) = K (O/G, C/G) @ X (C/G, n)``: a batched complex ``np.matmul`` in a
frequency-major layout when both sides have :data:`MATMUL_MIN` channels, else broadcast
products in place. (3) The inverse axis by axis, keeping only the rows needed. Transforms are
orthonormal both ways (NumPy 2.4's single-precision FFT is ~3x slower unscaled); that scale and
the kernel's circular shift are one phase factor on its spectrum. Shapes (``G`` groups,
``K = d (k - 1) + 1``):

- ``forward``: ``x (N, C, *S)`` cropped to what the windows read, convolved with the flipped
  kernel ``w (O, C/G, *k)`` shifted by ``padding_before - (K - 1)``: ``(N, O, *out)``;
- ``input_grad``: ``gy (N, O, *out)`` stride-dilated by zeros, convolved with the kernel shifted
  by ``-offset``: ``(N, C, *extent)``, zeros beyond the windows;
- ``weight_grad``: ``sum_n conj(GY) X`` per frequency, inverted once and read at the taps
  ``t d``: ``(O, C/G, *k)``.

Spectra, their frequency-major copies and the kernel spectrum stay within
:func:`convscope.backend.get_workspace_bytes` (samples in chunks, then groups and output channels
in blocks; one sample with one group's spectra may exceed it), and run on
:func:`convscope.backend.get_num_threads` threads.

Rounding: float32 is transformed in complex64 and returned as float32. Against float64
references the largest error relative to the largest output measured 2e-7 to 5e-7 in float32
(float32 gemm: 2e-7 to 6e-7) and 8e-16 to 4e-15 in float64 (ranks 1-3, kernels 3 to 63, up to
2048x2048), spread evenly over the outputs: small outputs get a larger relative error than a
direct sum would give them.

Examples
--------
>>> import numpy as np
>>> from convscope.ops.algorithms import fft, gemm
>>> x, w, pad = np.random.rand(2, 3, 20, 20), np.random.rand(4, 3, 9, 9), ((4, 4), (4, 4))
>>> y = fft.forward(x, w, pad, (1, 1), (1, 1), 1, (20, 20), "conv2d")
>>> bool(np.allclose(y, gemm.forward(x, w, pad, (1, 1), (1, 1), 1, (20, 20), "conv2d")))
True
"""

from __future__ import annotations

import concurrent.futures
import math
import os
import threading
from typing import NamedTuple

import numpy as np

from ... import backend
from ._common import Problem, alloc

# The contract functions (supports, cost, forward, input_grad, weight_grad) are documented once,
# in ._common; users reach them through the dispatcher (convscope.ops.algorithms).
__all__ = ["NAME"]

NAME = "fft"
#: Cost model, fitted on one thread (float32): ns per ``n log2 n`` of a transformed line (a real
#: line counts half), ns per line, per value reordered or phase-multiplied, per complex
#: multiply-add of the broadcast products; complex multiply-adds per ns of the matmul; the
#: speed-up of each further thread; fixed ns per call.
NS_FFT = 0.63
NS_LINE = 64.0
NS_MOVE = 4.5
NS_PRODUCT = 0.5
CMACS_PER_NS = 5.0
THREAD_GAIN = 0.4
NS_CALL = 200000.0
#: Both matrix sides need this many channels (and the weight gradient this many samples) for
#: the frequency-major matmul; below, broadcast products, one pass per summed channel or sample.
MATMUL_MIN = 8
MATMUL_MIN_SAMPLES = 4
#: Values a step must touch before it is split over threads.
PARALLEL_MIN = 1 << 15
NORM = "ortho"


def _fast_len(n: int) -> int:
    """The smallest ``2^a 3^b 5^c >= n``: a length pocketfft transforms quickly."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            length = p35
            while length < n:
                length *= 2
            best = min(best, length)
            p35 *= 3
        p5 *= 5
    return best


class _Dim(NamedTuple):
    first: int    # forward / weight_grad: the input crop [first, stop); input_grad: kept positions
    stop: int
    shift: int    # forward / weight_grad: the padding before the crop; input_grad: = first
    length: int   # the transform length


def _dims(kind, spatial, out, kernel, stride, dilation, before) -> list[_Dim]:
    """Per dim: what to transform, at which length, so that no kept position wraps around."""
    dims = []
    for size, m, k, s, d, lo in zip(spatial, out, kernel, stride, dilation, before):
        span, taps = (m - 1) * s + 1, d * (k - 1) + 1
        covered = span + taps - 1
        if kind == "input_grad":
            a, b = max(lo, 0), min(lo + size, covered)
            shift, need = a, max(covered - a, b)
        else:
            a, b = max(0, -lo), min(size, covered - lo)
            shift = lo + a
            need = max(b - a + shift, covered - shift)
        dims.append(_Dim(a, b, shift, _fast_len(max(need, span, taps, 1))))
    return dims


def _empty(dims) -> bool:
    return any(d.stop <= d.first for d in dims)


def _uses_matmul(kind: str, p: int, q: int, n: int) -> bool:
    return min(p, q) >= MATMUL_MIN and (kind != "weight_grad" or n >= MATMUL_MIN_SAMPLES)


def _complex(dtype) -> np.dtype:
    return np.dtype(np.complex64 if np.dtype(dtype) == np.float32 else np.complex128)


def _half(lengths) -> tuple[int, ...]:
    return tuple(lengths[:-1]) + (lengths[-1] // 2 + 1,)


def supports(p: Problem) -> str | None:
    if p.dtype not in ("float32", "float64"):
        return "float32 or float64 data"
    return None


def _lines(sizes, lengths) -> tuple[float, int]:
    """``(sum of n log2 n, lines)`` of one plane's transform as :func:`_rfft` (``sizes`` nonzero)
    or :func:`_irfft` (``sizes`` kept) runs it."""
    half, r = _half(lengths), len(lengths)
    units, lines = 0.0, 0
    for k, n in enumerate(lengths):
        count = math.prod(sizes[:k]) * math.prod(half[k + 1:]) if k < r - 1 else math.prod(sizes[:-1])
        units += count * n * math.log2(max(n, 2)) * (0.5 if k == r - 1 else 1.0)
        lines += count
    return units, lines


def cost(p: Problem) -> float:
    """Estimated nanoseconds: the transforms line by line, the products per frequency and the
    reorderings, on :func:`convscope.backend.get_num_threads` threads."""
    dims = _dims(p.kind, p.spatial, p.out, p.kernel, p.stride, p.dilation, [lo for lo, _ in p.padding])
    if _empty(dims):
        return NS_CALL
    lengths, cropped = [d.length for d in dims], [d.stop - d.first for d in dims]
    span = [(m - 1) * s + 1 for m, s in zip(p.out, p.stride)]
    taps = [d * (k - 1) + 1 for k, d in zip(p.kernel, p.dilation)]
    n, c, o, cg, freqs = p.n, p.c, p.o, p.cg, math.prod(_half(lengths))
    planes = {"forward": [(n * c, cropped), (n * o, p.out), (o * cg, taps)],
              "input_grad": [(n * o, span), (n * c, cropped), (o * cg, taps)],
              "weight_grad": [(n * c, cropped), (n * o, span), (o * cg, p.kernel)]}[p.kind]
    work = 0.0
    for count, sizes in planes:
        units, lines = _lines(sizes, lengths)
        work += count * (NS_FFT * units + NS_LINE * lines)
    cmacs, moves = n * o * cg * freqs, o * cg * freqs
    if _uses_matmul(p.kind, *((cg, p.og) if p.kind == "input_grad" else (p.og, cg)), n):
        work += cmacs / CMACS_PER_NS + NS_MOVE * (2 * moves + freqs * n * (c + o))
    else:
        work += NS_PRODUCT * cmacs + NS_MOVE * moves
    return work / (1 + THREAD_GAIN * (backend.get_num_threads() - 1)) + NS_CALL


# --------------------------------------------------------------------------- threads

_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def _parallel(n: int, work: int, fn) -> None:
    """``fn(part)`` for contiguous slices of ``range(n)``, one per thread when ``work`` (values
    touched) is large enough; the calling thread takes the first."""
    t = min(backend.get_num_threads(), n) if work >= PARALLEL_MIN else 1
    if t <= 1 or threading.current_thread().name.startswith("convscope-fft"):
        fn(slice(0, n))
        return
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool._max_workers < t - 1 or _pool_pid != os.getpid():
            if _pool is not None and _pool_pid == os.getpid():
                _pool.shutdown(wait=False)
            _pool = concurrent.futures.ThreadPoolExecutor(t - 1, thread_name_prefix="convscope-fft")
            _pool_pid = os.getpid()
        pool = _pool
    step = -(-n // t)
    futures = [pool.submit(fn, slice(i, min(n, i + step))) for i in range(step, n, step)]
    try:
        fn(slice(0, step))
    finally:
        for future in futures:
            future.result()


def _split(shape, skip: int = -1):
    """Threads split along the longest axis other than ``skip``: ``(length, index(part))``."""
    axis = max((a for a in range(len(shape)) if a != skip % len(shape)), key=lambda a: shape[a])
    return shape[axis], lambda part: (slice(None),) * axis + (part,)


# --------------------------------------------------------------------------- transforms

def _rfft(a: np.ndarray, lengths, slot: str) -> np.ndarray:
    """The spectrum ``(B0, B1, *half)`` of ``a (B0, B1, *S)`` zero-extended to ``lengths``, in a
    scratch buffer: the last axis first, then each axis only on the lines not all zeros."""
    sizes = a.shape[2:]
    z = backend.scratch(slot, a.shape[:2] + _half(lengths), _complex(a.dtype))
    sub = (slice(None), slice(None)) + tuple(slice(0, s) for s in sizes[:-1])
    n, at = _split(a.shape)
    _parallel(n, z.size, lambda part: np.fft.rfft(a[at(part)], lengths[-1], -1, NORM, out=z[sub][at(part)]))
    for k in range(len(lengths) - 2, -1, -1):
        block = z[sub[:2 + k]]
        block[(slice(None),) * (2 + k) + (slice(sizes[k], None),)] = 0
        n, at = _split(block.shape, 2 + k)
        _parallel(n, block.size, lambda part: np.fft.fft(block[at(part)], None, 2 + k, NORM, out=block[at(part)]))
    return z


def _irfft(z: np.ndarray, lengths, keep, dst: np.ndarray) -> None:
    """``dst (B0, B1, *counts)`` = the inverse of the spectrum ``z`` at the positions
    ``0, step, ..., (count - 1) * step`` per dim (``keep``: ``(count, step)`` pairs). ``z`` is
    overwritten; after each axis only the kept rows go on."""
    block = z
    for k in range(len(lengths) - 1):
        n, at = _split(block.shape, 2 + k)
        _parallel(n, block.size, lambda part: np.fft.ifft(block[at(part)], None, 2 + k, NORM, out=block[at(part)]))
        count, step = keep[k]
        block = block[(slice(None),) * (2 + k) + (slice(0, (count - 1) * step + 1, step),)]
    count, step = keep[-1]
    real = backend.scratch("fft.real", block.shape[:-1] + (lengths[-1],), dst.dtype)

    def last(part):
        np.fft.irfft(block[at(part)], lengths[-1], -1, NORM, out=real[at(part)])
        dst[at(part)] = real[at(part)][..., 0:(count - 1) * step + 1:step]
    n, at = _split(block.shape, -1)
    _parallel(n, real.size, last)


def _phase(lengths, shifts, dtype) -> np.ndarray:
    """``sqrt(prod(L)) exp(-2 pi i f . shift / L)`` on the half-spectrum grid: a circular shift by
    ``shifts``, and the scale that makes a product of orthonormal spectra a convolution."""
    phase = np.full((), math.sqrt(math.prod(lengths)), dtype)
    for n, h, s in zip(lengths, _half(lengths), shifts):
        phase = np.multiply.outer(phase, np.exp(-2j * np.pi * ((np.arange(h) * s) % n) / n).astype(dtype))
    return phase


def _reorder(src: np.ndarray, order, slot: str, front: bool = True) -> np.ndarray:
    """``src.transpose(order)`` as a contiguous scratch copy, ``order`` moving the frequency axis
    from last to first (``front``) or back; in blocks of frequencies of a few hundred KiB, so
    the strided side stays in cache."""
    view = src.transpose(order)
    dst = backend.scratch(slot, view.shape, src.dtype)
    freqs = dst.shape[0 if front else -1]
    step = max(1, (1 << 18) // max(1, dst.nbytes // freqs))

    def copy(part):
        for f0 in range(part.start, part.stop, step):
            freq = slice(f0, min(f0 + step, part.stop))
            block = (freq,) if front else (Ellipsis, freq)
            np.copyto(dst[block], view[block])
    _parallel(freqs, dst.size, copy)
    return dst


def _dilate(g: np.ndarray, stride, slot: str) -> np.ndarray:
    """``g`` with ``s - 1`` zeros between its positions per dim (``g`` itself for stride 1)."""
    if all(s == 1 for s in stride):
        return g
    buf = backend.scratch(slot, g.shape[:2] + tuple((m - 1) * s + 1 for m, s in zip(g.shape[2:], stride)), g.dtype)
    buf[...] = 0
    buf[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)] = g
    return buf


def _kernel_spectrum(block: np.ndarray, dilation, lengths, shifts, freq_major: bool) -> np.ndarray:
    """The spectrum of a kernel block ``(gb, pb, q, *k)``, dilated by zeros and circularly
    shifted by ``shifts``: ``(F, gb, pb, q)`` when ``freq_major``, else ``(gb, pb, q, F)``."""
    gb, pb, q = block.shape[:3]
    taps = tuple(d * (k - 1) + 1 for k, d in zip(block.shape[3:], dilation))
    wd = backend.scratch("fft.kernel", (gb * pb, q) + taps, block.dtype)
    if any(d > 1 for d in dilation):
        wd[...] = 0
    wd.reshape((gb, pb, q) + taps)[(slice(None),) * 3 + tuple(slice(None, None, d) for d in dilation)] = block
    spec = _rfft(wd, lengths, "fft.kspec")
    spec *= _phase(lengths, shifts, spec.dtype)
    spec = spec.reshape(gb, pb, q, -1)
    return _reorder(spec, (3, 0, 1, 2), "fft.kt") if freq_major else spec


# --------------------------------------------------------------------------- blocks

def _plan(n: int, groups: int, p: int, fixed, sample) -> tuple[int, int, int]:
    """Groups, produced channels and samples per block so that the temporaries fit the workspace
    (``fixed(gb, pb)`` bytes a block, ``sample(gb, pb)`` more a sample); at least one of each."""
    limit = backend.get_workspace_bytes()
    gb, pb = groups, p
    while fixed(gb, pb) + sample(gb, pb) > limit and (gb > 1 or pb > 1):
        gb, pb = ((gb + 1) // 2, pb) if gb > 1 else (gb, (pb + 1) // 2)
    pb = -(-p // -(-p // pb))                                         # balanced pieces
    nb = max(1, min(n, (limit - fixed(gb, pb)) // max(1, sample(gb, pb))))
    return gb, pb, -(-n // -(-n // nb))


def _blocks(groups: int, p: int, gb: int, pb: int):
    """``(g0, g1, p0, p1)``: whole groups, or (when ``pb < p``) pieces of one group."""
    for g0 in range(0, groups, gb):
        for p0 in range(0, p, pb):
            yield g0, min(g0 + gb, groups), p0, min(p0 + pb, p)


def _convolve(a, spread, kernel_block, groups, p, q, dims, dilation, shifts, keep, dst) -> None:
    """``dst[:, g*p + j] = sum_i K[g, j, i] (*) a[:, g*q + i]`` kept at ``keep`` per dim, ``(*)``
    the circular convolution of ``a`` (stride-dilated by ``spread``) with the kernel blocks
    ``kernel_block(g0, g1, p0, p1) -> (gb, pb, q, *k)``: the forward (``p, q = O/G, C/G``) and,
    swapped, the input gradient."""
    lengths = tuple(d.length for d in dims)
    n, half = a.shape[0], _half(lengths)
    freqs, points = math.prod(half), math.prod(lengths)
    cs, rs = _complex(a.dtype).itemsize, a.dtype.itemsize
    big = _uses_matmul("forward", p, q, n)
    copies = 2 if big else 1
    taps = math.prod(kernel_block(0, 1, 0, 1).shape[3:])
    spans = [(m - 1) * s + 1 for m, s in zip(a.shape[2:], spread)]
    spread_copy = 0 if all(s == 1 for s in spread) else q * math.prod(spans)      # the dilated chunk
    gb, pb, nb = _plan(n, groups, p, lambda gb, pb: gb * pb * q * (taps * rs + freqs * cs * copies) + freqs * cs,
                       lambda gb, pb: cs * freqs * gb * (q + 2 * pb) * copies + rs * gb * (pb * points + spread_copy))
    for g0, g1, p0, p1 in _blocks(groups, p, gb, pb):
        gk, pk = g1 - g0, p1 - p0
        kt = _kernel_spectrum(kernel_block(g0, g1, p0, p1), dilation, lengths, shifts, big)
        for n0 in range(0, n, nb):
            m = min(n, n0 + nb) - n0
            chunk = _dilate(a[n0:n0 + m, g0 * q:g1 * q], spread, "fft.dilated")
            spec = _rfft(chunk, lengths, "fft.a").reshape(m, gk, q, freqs)
            if big:
                at = _reorder(spec, (3, 1, 2, 0), "fft.at")                       # (F, gk, q, m)
                prod = backend.scratch("fft.prod", (freqs, gk, pk, m), spec.dtype)
                _parallel(freqs, prod.size, lambda part: np.matmul(kt[part], at[part], out=prod[part]))
                back = _reorder(prod, (3, 1, 2, 0), "fft.back", front=False)     # (m, gk, pk, F)
            else:
                back = backend.scratch("fft.back", (m, gk, pk, freqs), spec.dtype)
                tmp = backend.scratch("fft.tmp", (m, gk, pk, freqs), spec.dtype)

                def products(part):                                 # part: of the frequencies
                    for i in range(q):
                        out = back[..., part] if i == 0 else tmp[..., part]
                        np.multiply(kt[None, :, :, i, part], spec[:, :, None, i, part], out=out)
                        if i:
                            back[..., part] += out
                _parallel(freqs, back.size * q, products)
            c0 = g0 * p + p0
            _irfft(back.reshape((m, gk * pk) + half), lengths, keep, dst[n0:n0 + m, c0:c0 + gk * pk])


# --------------------------------------------------------------------------- passes

def _crop(x: np.ndarray, dims) -> np.ndarray:
    return x[(slice(None), slice(None)) + tuple(slice(d.first, d.stop) for d in dims)]


def forward(x, w, padding, stride, dilation, groups, out, op, what="output"):
    dtype = np.result_type(x.dtype, w.dtype)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    O, cg, kernel = w.shape[0], w.shape[1], w.shape[2:]
    y = alloc(op, what, (x.shape[0], O) + tuple(out), dtype)
    dims = _dims("forward", x.shape[2:], out, kernel, stride, dilation, [lo for lo, _ in padding])
    if _empty(dims) or y.size == 0 or w.size == 0:          # every window in the padding, or no channels
        y[...] = 0
        return y
    flipped = w[(slice(None), slice(None)) + (slice(None, None, -1),) * len(kernel)]
    flipped = flipped.reshape((groups, O // groups, cg) + kernel)
    shifts = tuple(dm.shift - d * (k - 1) for dm, d, k in zip(dims, dilation, kernel))
    _convolve(_crop(x, dims), (1,) * len(kernel), lambda g0, g1, p0, p1: flipped[g0:g1, p0:p1], groups,
              O // groups, cg, dims, dilation, shifts, tuple(zip(out, stride)), y)
    return y


def input_grad(gy, w, extent, offset, stride, dilation, groups, op, what):
    dtype = np.result_type(gy.dtype, w.dtype)
    gy, w = gy.astype(dtype, copy=False), w.astype(dtype, copy=False)
    O, cg, kernel = w.shape[0], w.shape[1], w.shape[2:]
    dims = _dims("input_grad", extent, gy.shape[2:], kernel, stride, dilation, offset)
    exact = all(d.first == off and d.stop - d.first == e for d, off, e in zip(dims, offset, extent))
    gx = alloc(op, what, (gy.shape[0], cg * groups) + tuple(extent), dtype, zero=not exact)
    if _empty(dims) or gx.size == 0 or gy.size == 0 or w.size == 0:
        gx[...] = 0
        return gx
    w4 = w.reshape((groups, O // groups, cg) + kernel)
    region = tuple(slice(d.first - off, d.stop - off) for d, off in zip(dims, offset))
    _convolve(gy, stride, lambda g0, g1, p0, p1: w4[g0:g1, :, p0:p1].swapaxes(1, 2), groups, cg, O // groups,
              dims, dilation, tuple(-d.first for d in dims), tuple((d.stop - d.first, 1) for d in dims),
              gx[(slice(None), slice(None)) + region])
    return gx


def weight_grad(x, gy, weight_shape, padding, stride, dilation, groups, op):
    dtype = np.result_type(x.dtype, gy.dtype)
    x, gy = x.astype(dtype, copy=False), gy.astype(dtype, copy=False)
    N, O = gy.shape[:2]
    cg, kernel, og = weight_shape[1], tuple(weight_shape[2:]), O // groups
    gw = alloc(op, "weight gradient", tuple(weight_shape), dtype)
    dims = _dims("weight_grad", x.shape[2:], gy.shape[2:], kernel, stride, dilation, [lo for lo, _ in padding])
    if _empty(dims) or gw.size == 0 or x.size == 0 or gy.size == 0:
        gw[...] = 0
        return gw
    lengths = tuple(d.length for d in dims)
    half = _half(lengths)
    freqs, ctype = math.prod(half), _complex(dtype)
    xs = _crop(x, dims)
    cs, rs = ctype.itemsize, np.dtype(dtype).itemsize
    big = _uses_matmul("weight_grad", og, cg, N)
    span = math.prod((m - 1) * s + 1 for m, s in zip(gy.shape[2:], stride))
    gb, pb, nb = _plan(N, groups, og,
                       lambda gb, pb: gb * pb * cg * (3 * freqs * cs + rs * math.prod(lengths)) + freqs * cs,
                       lambda gb, pb: cs * freqs * gb * (cg + pb) * (2 if big else 1) + rs * gb * pb * span)
    phase = _phase(lengths, [d.shift for d in dims], ctype)
    for g0, g1, p0, p1 in _blocks(groups, og, gb, pb):
        gk, pk, c0 = g1 - g0, p1 - p0, g0 * og + p0          # whole groups, or one group's piece
        acc = backend.scratch("fft.acc", (freqs, gk, pk, cg) if big else (gk, pk, cg, freqs), ctype)
        for n0 in range(0, N, nb):
            m = min(N, n0 + nb) - n0
            xspec = _rfft(xs[n0:n0 + m, g0 * cg:g1 * cg], lengths, "fft.a").reshape(m, gk, cg, freqs)
            gd = _dilate(gy[n0:n0 + m, c0:c0 + gk * pk], stride, "fft.dilated")
            gspec = _rfft(gd, lengths, "fft.b").reshape(m, gk, pk, freqs)
            np.conjugate(gspec, out=gspec)                  # correlation: conj(GY) X
            if big:
                xt = _reorder(xspec, (3, 1, 0, 2), "fft.at")                      # (F, gk, m, cg)
                gt = _reorder(gspec, (3, 1, 2, 0), "fft.bt")                      # (F, gk, pk, m)
                prod = acc if n0 == 0 else backend.scratch("fft.prod", acc.shape, ctype)

                def products(part):
                    np.matmul(gt[part], xt[part], out=prod[part])
                    if prod is not acc:
                        acc[part] += prod[part]
            else:
                tmp = backend.scratch("fft.tmp", acc.shape, ctype)

                def products(part):                         # part: of the frequencies
                    for i in range(m):
                        first = n0 == 0 and i == 0
                        out = acc[..., part] if first else tmp[..., part]
                        np.multiply(gspec[i, :, :, None, part], xspec[i, :, None, :, part], out=out)
                        if not first:
                            acc[..., part] += out
            _parallel(freqs, acc.size * (1 if big else m), products)
        acc *= phase.reshape(-1, 1, 1, 1) if big else phase.reshape(-1)
        back = _reorder(acc, (1, 2, 3, 0), "fft.back", front=False) if big else acc
        _irfft(back.reshape((gk * pk, cg) + half), lengths, tuple(zip(kernel, dilation)), gw[c0:c0 + gk * pk])
    return gw
