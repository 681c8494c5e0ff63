"""The FFT of single-kernel problems: ``numpy.fft`` of each plane and of the flipped kernel, zero-padded
to a fast length ``2^a 3^b 5^c`` so that the circular product is exact on the 'valid' region.

The ``fft`` algorithm's path for one 2-D kernel over planes (see :mod:`._planes_tuning`; the
dispatcher calls :func:`forward_planes` when it picks ``fft`` for such a problem): real-input
transforms for real data, complex ones for complex data, float32 planes in float32. A Fourier
transform mixes a NaN or inf into every output, so it applies to finite data only
(:func:`supports_planes`)."""

from __future__ import annotations

import math

import numpy as np

from ... import backend
from . import _planes_tuning as T
from ._common import Problem, alloc, window_range
from .fft import _fast_len



def _scipy_fft():
    """``scipy.fft`` where it can be used (the ``fast`` extra installs it, and
    :func:`convscope.backend.get_compiled` switches it off with the numba kernels), else None: its
    transforms run on the threads and are several times faster than ``numpy.fft`` on large planes."""
    if not backend.get_compiled():
        return None
    try:
        import scipy.fft as sf
    except ImportError:                        # pragma: no cover - scipy missing
        return None
    return sf


def _fft_cost(shape) -> float:
    m, hp, wp = shape
    points = _fast_len(hp) * _fast_len(wp)
    if _scipy_fft() is not None:
        return m * (points * math.log2(max(points, 2)) * T.NS_FFT_SCIPY + 4 * T.NS_CALL)
    return m * (points * math.log2(max(points, 2)) * T.NS_FFT / T.speedup(points) + 4 * T.NS_CALL)


def _fft_scipy(sf, xp: np.ndarray, k: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """:func:`_fft` by ``scipy.fft``: whole planes, in chunks, each transform on the threads."""
    m, hp, wp = xp.shape
    p, q = k.shape
    lh, lw = _fast_len(hp), _fast_len(wp)
    real = dtype.kind != "c"
    fwd, inv = (sf.rfft2, sf.irfft2) if real else (sf.fft2, sf.ifft2)
    workers = backend.get_num_threads()
    # The kernel's spectrum: its P rows along the row axis, then the columns (zero rows are not
    # transformed: half a full transform's work).
    flipped = k[::-1, ::-1].astype(dtype, copy=False)
    rows = (sf.rfft if real else sf.fft)(flipped, n=lw, axis=1, workers=workers)
    kf = sf.fft(rows, n=lh, axis=0, workers=workers, overwrite_x=True)
    ho, wo = hp - p + 1, wp - q + 1
    out = np.empty((m, ho, wo), dtype=dtype)
    per = max(1, (64 * 2**20) // (lh * lw * 2 * dtype.itemsize))
    for start in range(0, m, per):
        z = fwd(xp[start:start + per], s=(lh, lw), workers=workers)
        z *= kf
        y = inv(z, s=(lh, lw), workers=workers, overwrite_x=True)
        out[start:start + per] = y[:, p - 1:hp, q - 1:wp]
    return out


def _fft(xp: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Valid cross-correlation through the FFT: correlating with ``k`` is convolving with
    ``k`` flipped, and a circular convolution of length ``L >= Hp`` equals the linear one on the
    valid rows ``P - 1 .. Hp - 1``, so no padding beyond a fast length is needed.

    Batches of planes are transformed a chunk of planes per thread. A single large plane is
    transformed in steps that each run on the threads: the rows (only the ``Hp`` data rows),
    then the columns with the product and the inverse, then the inverse of the rows the output
    keeps."""
    m, hp, wp = xp.shape
    p, q = k.shape
    lh, lw = _fast_len(hp), _fast_len(wp)
    dtype = np.result_type(xp.dtype, k.dtype)
    sf = _scipy_fft()
    if sf is not None:
        return _fft_scipy(sf, xp, k, dtype)
    real = dtype.kind != "c"
    row_fwd = np.fft.rfft if real else np.fft.fft
    row_inv = np.fft.irfft if real else np.fft.ifft
    kf = np.fft.fft(row_fwd(k[::-1, ::-1].astype(dtype, copy=False), n=lw, axis=1), n=lh, axis=0)
    ho, wo = hp - p + 1, wp - q + 1
    out = np.empty((m, ho, wo), dtype=dtype)
    threads = backend.parallel_workers(lh * lw)
    if m >= 2 * threads or threads == 1:
        per = max(1, (16 * 2**20) // (lh * lw * 2 * dtype.itemsize))

        def planes(c):
            z = (np.fft.rfft2 if real else np.fft.fft2)(xp[c], s=(lh, lw))
            z *= kf
            y = (np.fft.irfft2 if real else np.fft.ifft2)(z, s=(lh, lw))
            out[c] = y[:, p - 1:hp, q - 1:wp]

        backend.parallel_for(planes, backend.split(m, -(-m // per)), out.size)
        return out
    parts = 4 * threads
    for i in range(m):
        z = backend.scratch("planes.fft", (hp, kf.shape[1]), kf.dtype)

        def rows(r, x=xp[i]):
            z[r] = row_fwd(x[r], n=lw, axis=1)

        def columns(c):
            spectrum = np.fft.fft(z[:, c], n=lh, axis=0)
            spectrum *= kf[:, c]
            z[:ho, c] = np.fft.ifft(spectrum, axis=0)[p - 1:hp]   # the rows the output keeps

        def inverse(r, o=out[i]):
            o[r] = row_inv(z[r], n=lw, axis=1)[:, q - 1:wp]

        backend.parallel_for(rows, backend.split(hp, parts), hp * lw)
        backend.parallel_for(columns, backend.split(kf.shape[1], parts), hp * lw)
        backend.parallel_for(inverse, backend.split(ho, parts), hp * lw)
    return out


# --------------------------------------------------------------------------- the fft algorithm's single-kernel path

def supports_planes(p: Problem) -> str | None:
    """Why the single-plane FFT does not run ``p`` (a single-kernel problem), or None."""
    if p.finite is False:
        return "finite data (a transform spreads NaN and inf over the plane)"
    if np.dtype(p.dtype).kind not in "fc":
        return "a floating-point or complex dtype"
    return None


def cost_planes(p: Problem) -> float:
    """Estimated ns of :func:`forward_planes` on the single-kernel problem ``p``."""
    hp, wp = window_range(p.out, p.kernel, p.stride, p.dilation)
    return _fft_cost((p.n, hp, wp))


def forward_planes(xp: np.ndarray, k: np.ndarray, out, stride, op: str, *, finite: bool = True,
                   factors=None) -> np.ndarray:
    """The single-kernel pass: ``(M, *out)``, the valid correlation of the padded planes
    ``xp (M, Hp, Wp)`` with ``k (P, Q)`` at ``stride`` (``finite`` and ``factors`` are not used)."""
    oh, ow = out
    p, q = k.shape
    hp, wp = (oh - 1) * stride[0] + p, (ow - 1) * stride[1] + q
    if xp.shape[1:] != (hp, wp):
        xp = xp[:, :hp, :wp]
    backend.check_allocation(op, (xp.shape[0], hp - p + 1, wp - q + 1), xp.dtype, "output")
    y = _fft(xp, k.astype(xp.dtype, copy=False))
    return y if tuple(stride) == (1, 1) else np.ascontiguousarray(y[:, ::stride[0], ::stride[1]])
