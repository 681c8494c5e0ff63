"""Measured constants of the single-kernel paths: block sizes and the cost model of one 2-D kernel over planes.

A *single-kernel problem* is a forward pass of one 2-D kernel over planes ``(M, 1, Hp, Wp)``
(image filtering, :mod:`convscope.filters`; a one-channel conv layer): :mod:`._taps`,
:mod:`._toeplitz`, :mod:`._planes_fft`, :mod:`._numba_planes` and the ``separable`` algorithm
compute it, and :mod:`.direct`, :mod:`.separable` and the dispatcher's FFT case price it here.

Measured on the 2-core AMD EPYC this was written on (1 MiB L2 per core, 32 MiB L3, OpenBLAS),
2048 x 2048 float32, one thread unless said otherwise; ``benchmarks/filters.py`` has the totals.
The modules read them here, as ``_planes_tuning.NAME``, at call time: retuning changes one place.
(The threshold from which the loops go on the thread pool is
:data:`convscope.backend.PARALLEL_MIN_WORK`.)
"""

from __future__ import annotations

from ... import backend

#: Output bytes per block of the tap-by-tap loops. Blocks that fit a core's L2 sounded right,
#: but the Python overhead per block and pass outweighed it: a 3x3 Sobel took 8.1 / 5.0 / 4.2 /
#: 4.2 ms with 64 KiB / 256 KiB / 1 MiB / 2 MiB blocks.
BLOCK_BYTES = 2**20
#: Rows per block of the vertical Toeplitz product and columns per block of the horizontal one:
#: each output costs ``block + taps - 1`` multiply-adds. Swept 4..64 for 3..31 taps: the
#: vertical product was fastest with 4-8 rows (2-5 ms per pass), the horizontal one with 16
#: columns (7-9 ms; 11 ms with 32, 12-20 ms with 8).
VGEMM_BLOCK = 8
HGEMM_BLOCK = 16
#: OpenBLAS computes a product of at most 4 * 65536 multiply-adds (m * n * k) on the calling
#: thread (its GEMM_MULTITHREAD_THRESHOLD). The Toeplitz products are cut into pieces below that
#: and threaded by the pool here: OpenBLAS's own workers spin between calls and, when other
#: processes hold the cores, wait a scheduler slice per call (measured with 2 BLAS threads on
#: the busy 2-core machine: the 31 x 31 box took 1.5 s instead of 30 ms).
BLAS_SMALL = 4 * 65536
#: Longest 1-D factor the Toeplitz products take (the cost model decides below it).
GEMM_MAX_TAPS = 1024

# The cost model behind method='auto' and, inside 'separable' and 'direct', the choice between
# tap-by-tap passes and Toeplitz products; nanoseconds per output pixel unless said otherwise.
#: One elementwise NumPy pass (a multiply or an add over a flat block): 0.09-0.2 measured.
NS_PASS = 0.12
#: Copying a block of tap-by-tap results to the output.
NS_COPY = 0.15
#: Vertical / horizontal Toeplitz product: ``a + b * taps`` (measured 0.53..2.1 and 1.8..3.1
#: for 3..63 taps).
NS_VGEMM = (0.45, 0.025)
NS_HGEMM = (1.8, 0.01)
#: FFT (forward and inverse), per transform point and log2 of the point count.
NS_FFT = 1.5
#: ns per point and log2(points) of scipy.fft's transform, product and inverse on the threads.
NS_FFT_SCIPY = 0.4
#: Overhead of one NumPy call from Python, and of one BLAS call inside a batched matmul (ns).
NS_CALL = 1500.0
NS_BLAS_CALL = 500.0
#: Speed-up per added thread, for the model (every algorithm runs on the pool, so it mostly
#: matters against work too small to share): 2 threads measured 1.3-1.7x on the idle machine.
THREAD_GAIN = 0.5

#: The compiled loops (:mod:`._numba_planes`), for ``compiled_cost``: tap-pixels (one
#: multiply-add of one tap at one position) per ns on one thread, ns per output pixel (zeroing
#: the accumulator, the copy out), and a fixed cost per call in ns; for the 2-D loops and for the
#: fused separable passes.
COMPILED_DIRECT = (20.0, 0.25, 20000.0)
COMPILED_SEPARABLE = (20.0, 0.25, 20000.0)
#: Speed-up per added thread of the compiled loops (no GIL, no Python between blocks).
COMPILED_THREAD_GAIN = 0.9


def speedup(pixels: int) -> float:
    """The cost model's speed-up of work of ``pixels`` outputs on :func:`convscope.backend.parallel_workers` threads."""
    return 1 + THREAD_GAIN * (backend.parallel_workers(pixels) - 1)


def compiled_cost(taps: int, pixels: int, constants: tuple[float, float, float]) -> float:
    """Estimated ns of a compiled single-kernel loop doing ``taps`` tap-pixels for ``pixels``
    outputs, on the threads (every thread from :data:`convscope.backend.PARALLEL_MIN_WORK` on)."""
    rate, per_pixel, call = constants
    gain = 1 + COMPILED_THREAD_GAIN * (backend.parallel_workers(pixels) - 1)
    return (taps / rate + pixels * per_pixel) / gain + call
