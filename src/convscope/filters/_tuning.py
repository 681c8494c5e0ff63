"""The measured constants of the image-filter engine: block sizes and the cost model behind ``method='auto'``.

Measured on the 2-core AMD EPYC this was written on (1 MiB L2 per core, 32 MiB L3, OpenBLAS),
2048 x 2048 float32, one thread unless said otherwise; ``benchmarks/filters.py`` has the totals.
The engine's modules read them here, as ``_tuning.NAME``, at call time: retuning (or a test
that forces the threads) changes one place.
"""

#: Output bytes per block of the tap-by-tap loops. Blocks that fit a core's L2 sounded right,
#: but the Python overhead per block and pass outweighed it: a 3x3 Sobel took 8.1 / 5.0 / 4.2 /
#: 4.2 ms with 64 KiB / 256 KiB / 1 MiB / 2 MiB blocks.
BLOCK_BYTES = 2**20
#: The loops go on the thread pool from this many output pixels on.
PARALLEL_MIN_PIXELS = 256 * 256
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
#: Padding the image into the planes (1.2-1.5 ms for 2048^2), which the vertical Toeplitz
#: product can skip by reading the image in place.
NS_PAD = 0.3
#: Vertical / horizontal Toeplitz product: ``a + b * taps`` (measured 0.53..2.1 and 1.8..3.1
#: for 3..63 taps).
NS_VGEMM = (0.45, 0.025)
NS_HGEMM = (1.8, 0.01)
#: FFT (forward and inverse), per transform point and log2 of the point count.
NS_FFT = 1.5
#: Overhead of one NumPy call from Python, and of one BLAS call inside a batched matmul (ns).
NS_CALL = 1500.0
NS_BLAS_CALL = 500.0
#: Speed-up per added thread, for the model (every algorithm runs on the pool, so it mostly
#: matters against work too small to share): 2 threads measured 1.3-1.7x on the idle machine.
THREAD_GAIN = 0.5
