"""The FFT algorithm of the image-filter engine: ``numpy.fft`` of each plane and of the flipped kernel,
zero-padded to a fast length ``2^a 3^b 5^c`` so that the circular product is exact on the 'valid' region."""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from . import _tuning as T
from ._threads import _for_each, _speedup, _split, _workers

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


def _fft_cost(shape) -> float:
    m, hp, wp = shape
    points = _fast_len(hp) * _fast_len(wp)
    return m * (points * math.log2(max(points, 2)) * T.NS_FFT / _speedup(points) + 4 * T.NS_CALL)


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
    real = dtype.kind != "c"
    row_fwd = np.fft.rfft if real else np.fft.fft
    row_inv = np.fft.irfft if real else np.fft.ifft
    kf = np.fft.fft(row_fwd(k[::-1, ::-1].astype(dtype, copy=False), n=lw, axis=1), n=lh, axis=0)
    ho, wo = hp - p + 1, wp - q + 1
    out = np.empty((m, ho, wo), dtype=dtype)
    threads = _workers(lh * lw)
    if m >= 2 * threads or threads == 1:
        per = max(1, (16 * 2**20) // (lh * lw * 2 * dtype.itemsize))

        def planes(c):
            z = (np.fft.rfft2 if real else np.fft.fft2)(xp[c], s=(lh, lw))
            z *= kf
            y = (np.fft.irfft2 if real else np.fft.ifft2)(z, s=(lh, lw))
            out[c] = y[:, p - 1:hp, q - 1:wp]

        _for_each(_split(m, -(-m // per)), planes, out.size)
        return out
    parts = 4 * threads
    for i in range(m):
        z = backend.scratch("filters.fft", (hp, kf.shape[1]), kf.dtype)

        def rows(r, x=xp[i]):
            z[r] = row_fwd(x[r], n=lw, axis=1)

        def columns(c):
            spectrum = np.fft.fft(z[:, c], n=lh, axis=0)
            spectrum *= kf[:, c]
            z[:ho, c] = np.fft.ifft(spectrum, axis=0)[p - 1:hp]   # the rows the output keeps

        def inverse(r, o=out[i]):
            o[r] = row_inv(z[r], n=lw, axis=1)[:, q - 1:wp]

        _for_each(_split(hp, parts), rows, hp * lw)
        _for_each(_split(kf.shape[1], parts), columns, hp * lw)
        _for_each(_split(ho, parts), inverse, hp * lw)
    return out
