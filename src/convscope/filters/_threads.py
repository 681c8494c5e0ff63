"""The image-filter engine's thread pool: NumPy and BLAS release the GIL, so blocks of one filter run
on ``$CONVSCOPE_NUM_THREADS`` threads (see :func:`convscope.backend.get_num_threads`)."""

from __future__ import annotations

import concurrent.futures
import os
import threading

from .. import backend
from . import _tuning as T

def _workers(pixels: int) -> int:
    """How many threads work of ``pixels`` outputs runs on: all of them from
    ``_tuning.PARALLEL_MIN_PIXELS`` on, else the calling thread alone."""
    return backend.get_num_threads() if pixels >= T.PARALLEL_MIN_PIXELS else 1


_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_pid = 0                                        # a forked child needs a pool of its own
_pool_lock = threading.Lock()


def _run_blocks(fn, blocks) -> None:
    for b in blocks:
        fn(b)


def _for_each(blocks: list, fn, pixels: int) -> None:
    """``fn(block)`` for every block, in contiguous shares over the threads when the work is
    large enough (NumPy releases the GIL inside each pass and each BLAS call; every thread has
    its own scratch buffers)."""
    n = min(_workers(pixels), len(blocks))
    if n <= 1 or threading.current_thread().name.startswith("convscope-filters"):
        _run_blocks(fn, blocks)                      # (a worker never waits on its own pool)
        return
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool._max_workers < n - 1 or _pool_pid != os.getpid():
            if _pool is not None and _pool_pid == os.getpid():
                _pool.shutdown(wait=False)
            _pool = concurrent.futures.ThreadPoolExecutor(max_workers=n - 1,
                                                          thread_name_prefix="convscope-filters")
            _pool_pid = os.getpid()
        pool = _pool
    size = -(-len(blocks) // n)
    shares = [blocks[i:i + size] for i in range(0, len(blocks), size)]
    futures = [pool.submit(_run_blocks, fn, share) for share in shares[1:]]
    _run_blocks(fn, shares[0])                       # the calling thread takes the first share
    for future in futures:
        future.result()


def _speedup(pixels: int) -> float:
    """The cost model's speed-up of work of ``pixels`` outputs on :func:`_workers` threads."""
    return 1 + T.THREAD_GAIN * (_workers(pixels) - 1)



def _split(n: int, parts: int) -> list[slice]:
    """``range(n)`` cut into at most ``parts`` contiguous slices of equal length (the last shorter)."""
    step = -(-n // max(1, min(parts, n)))
    return [slice(i, min(n, i + step)) for i in range(0, n, step)]

