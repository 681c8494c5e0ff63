"""Engine settings: the default floating dtype and the workspace bound for GEMM convolutions.

The workspace is the largest buffer of unfolded windows (im2col columns) the engine builds at
once. A batch whose columns would exceed it is processed in chunks of samples, so memory stays
bounded whatever the batch size. The default is 256 MiB.

Within that bound the engine aims for chunks of about 4 MiB of columns (the chunk target), so
the columns are written and read back by the GEMM while still in cache: measured on a 2-core
EPYC with 32 MiB L3, this is 10-30 % faster on large layers than one chunk per batch (see
benchmarks/conv.py). The bound is a promise about memory; the target is a speed setting.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from typing import Iterator

import numpy as np

_DEFAULT_DTYPE = np.dtype(np.float32)
_WORKSPACE_BYTES = 256 * 2**20
_CHUNK_TARGET_BYTES = 4 * 2**20


def get_default_dtype() -> np.dtype:
    """The dtype for new parameters and for ops whose operands are all integer (float32)."""
    return _DEFAULT_DTYPE


def set_default_dtype(dtype) -> None:
    """Set the default floating dtype: ``float32`` or ``float64``."""
    global _DEFAULT_DTYPE
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"set_default_dtype: dtype expects float32 or float64, but got {dt}")
    _DEFAULT_DTYPE = dt


def get_workspace_bytes() -> int:
    """Upper bound, in bytes, on the unfolded-window buffer one conv call allocates at once."""
    return _WORKSPACE_BYTES


def set_workspace_bytes(nbytes: int) -> None:
    """Set the workspace bound in bytes (at least 1 MiB).

    A single sample whose columns exceed the bound is still processed, alone.
    """
    global _WORKSPACE_BYTES
    if isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)):
        raise TypeError(f"set_workspace_bytes: nbytes expects an integer, but got {nbytes!r}")
    if nbytes < 2**20:
        raise ValueError(f"set_workspace_bytes: nbytes expects at least 1 MiB (1048576), but got {nbytes}")
    _WORKSPACE_BYTES = int(nbytes)


_NUM_THREADS: int | None = None


def get_num_threads() -> int:
    """Threads convscope's own parallel loops use (image filtering): the value given to
    :func:`set_num_threads`, else ``$CONVSCOPE_NUM_THREADS``, else ``$OMP_NUM_THREADS`` (the
    setting BLAS follows), else the CPUs this process may use. NumPy's BLAS has its own pool."""
    if _NUM_THREADS is not None:
        return _NUM_THREADS
    for var in ("CONVSCOPE_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def set_num_threads(n: int | None) -> None:
    """Set the thread count for convscope's own loops (None: back to the environment's)."""
    global _NUM_THREADS
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
        raise ValueError(f"set_num_threads: n expects a positive integer or None, but got {n!r}")
    _NUM_THREADS = None if n is None else int(n)


def get_chunk_bytes() -> int:
    """Bytes of columns the engine aims to build per chunk: min(chunk target, workspace bound)."""
    return min(_CHUNK_TARGET_BYTES, _WORKSPACE_BYTES)


def set_chunk_target_bytes(nbytes: int) -> None:
    """Tune the cache-sized chunk target (default 4 MiB); the workspace bound still applies."""
    global _CHUNK_TARGET_BYTES
    if isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)) or nbytes < 1:
        raise ValueError(f"set_chunk_target_bytes: nbytes expects a positive integer, but got {nbytes!r}")
    _CHUNK_TARGET_BYTES = int(nbytes)


@contextlib.contextmanager
def workspace(nbytes: int) -> Iterator[None]:
    """Temporarily bound the conv workspace: ``with backend.workspace(64 * 2**20): ...``."""
    old = get_workspace_bytes()
    set_workspace_bytes(nbytes)
    try:
        yield
    finally:
        set_workspace_bytes(old)


# --------------------------------------------------------------------------- scratch buffers

_scratch = threading.local()


def scratch(slot: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """A reusable, uninitialised buffer for temporaries of the engine (one per thread and slot).

    Fresh multi-megabyte arrays cost a page fault per 4 KiB page when first written, which for
    small and medium convs took longer than the arithmetic; reusing the same memory avoids it.
    The caller must not let the returned array escape: the next call with the same slot reuses it.
    """
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    pool = _scratch.__dict__.setdefault("pool", {})
    buf = pool.get(slot)
    if buf is None or buf.size < nbytes:
        buf = np.empty(max(nbytes, 64), dtype=np.uint8)
        pool[slot] = buf
    return buf[:nbytes].view(dtype).reshape(shape)


def release_scratch() -> None:
    """Free this thread's scratch buffers (they are rebuilt on the next conv)."""
    _scratch.__dict__.pop("pool", None)
