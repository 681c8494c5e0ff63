"""Engine settings: the default floating dtype, the conv workspace bound and the memory limit.

Workspace
    The most memory the GEMM convolution engine (:mod:`convscope.ops.conv`) uses for its
    temporaries at once: the unfolded windows (im2col columns), the GEMM's result block or the
    gathered output gradient, and the zero-padded piece of input a block reads. Default 256 MiB.
    Every conv path (forward, weight and input gradients, transposed, any rank) works through
    its output in blocks that fit: whole samples when one sample fits, else bands of output rows
    (the first spatial dim) of one sample, else runs along the next dim, down to single output
    positions. Only that minimal unit may exceed the bound, when ``C * prod(kernel) + O`` values
    alone pass it (131 072 float64 values for the smallest bound, 1 MiB). The bound covers
    temporaries only: the operands, the output and the gradients come on top, and the engine
    never copies the whole padded input.

Chunk target
    Within that bound the engine aims for blocks with about 4 MiB of columns
    (:func:`get_chunk_bytes`; :func:`set_chunk_target_bytes`, :func:`chunk_target`), so the
    columns are written and read back by the GEMM while still in cache: measured on a 2-core
    EPYC with 32 MiB L3, this is 10-30 % faster on large layers than one chunk per batch (see
    benchmarks/conv.py). The bound is a promise about memory; the target is a speed setting.

Scratch buffers
    :func:`scratch` keeps the engine's temporaries between calls (fresh pages cost a page
    fault each), at most the workspace bound in all. A buffer larger than the bound is never
    kept: it is a plain array that goes when its caller drops it.

Memory limit
    The largest single array an op may allocate: an output, a gradient or a buffer
    (:func:`check_allocation`). Default: half of the memory this process may use, the least of
    physical memory, a cgroup (container) limit and ``RLIMIT_AS``; 8 GiB when none is known (so
    the limit is 4 GiB). The default is read at the first check (``set_memory_limit(None)`` reads
    it again). An op that would go over raises :class:`convscope.ResourceError` (a
    ``MemoryError``) before allocating, rather than being killed by the operating system. The
    limit is per array, not a total: two arrays just under it can together exceed memory.

Threads
    :func:`get_num_threads` threads run convscope's own parallel loops: the numba kernels, and
    :func:`parallel_for`, a process-wide pool for blocks that release the GIL (NumPy passes,
    BLAS calls, FFTs; :func:`split` cuts a range into shares).

Examples
--------
>>> from convscope import backend
>>> with backend.workspace(16 * 2**20), backend.memory_limit(2**30):
...     backend.get_workspace_bytes(), backend.get_memory_limit()
(16777216, 1073741824)
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from typing import Iterator

import numpy as np

from .errors import ResourceError

_DEFAULT_DTYPE = np.dtype(np.float32)
_WORKSPACE_BYTES = 256 * 2**20
_CHUNK_TARGET_BYTES = 4 * 2**20
_MEMORY_LIMIT: int | None = None          # None: default_memory_limit(), computed when asked
_FALLBACK_MEMORY_BYTES = 8 * 2**30        # assumed memory when the system does not say


def get_default_dtype() -> np.dtype:
    """The dtype for new parameters and for ops whose operands are all integer (float32).

    Examples
    --------
    >>> from convscope import backend
    >>> backend.get_default_dtype() in ("float32", "float64")
    True
    """
    return _DEFAULT_DTYPE


def set_default_dtype(dtype) -> None:
    """Set the default floating dtype: ``float32`` or ``float64``.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import backend, nn
    >>> before = backend.get_default_dtype()
    >>> backend.set_default_dtype("float64")
    >>> nn.Conv2d(1, 2, 3).weight.dtype
    dtype('float64')
    >>> backend.set_default_dtype(before)
    """
    global _DEFAULT_DTYPE
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"set_default_dtype: dtype expects float32 or float64, but got {dt}")
    _DEFAULT_DTYPE = dt


def _check_bytes(fn: str, nbytes, minimum: int, minimum_text: str) -> int:
    if isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)):
        raise TypeError(f"{fn}: nbytes expects an integer, but got {nbytes!r}")
    if nbytes < minimum:
        raise ValueError(f"{fn}: nbytes expects at least {minimum_text}, but got {nbytes}")
    return int(nbytes)


# --------------------------------------------------------------------------- workspace

def get_workspace_bytes() -> int:
    """Upper bound, in bytes, on the temporaries one conv call holds at once (see the module
    docstring for what it covers).

    Examples
    --------
    >>> from convscope import backend
    >>> with backend.workspace(64 * 2**20):
    ...     backend.format_bytes(backend.get_workspace_bytes())
    '64.0 MiB'
    """
    return _WORKSPACE_BYTES


def set_workspace_bytes(nbytes: int) -> None:
    """Set the workspace bound in bytes (at least 1 MiB).

    A sample whose temporaries exceed the bound is split into bands of output rows, and a row
    into shorter runs, down to one output position. This thread's cached scratch buffers larger
    than the new bound are released.

    Raises
    ------
    TypeError
        ``nbytes`` is not an integer.
    ValueError
        ``nbytes`` is below 1 MiB.

    Examples
    --------
    >>> from convscope import backend
    >>> before = backend.get_workspace_bytes()
    >>> backend.set_workspace_bytes(2**20)
    >>> backend.get_workspace_bytes()
    1048576
    >>> backend.set_workspace_bytes(before)
    """
    global _WORKSPACE_BYTES
    _WORKSPACE_BYTES = _check_bytes("set_workspace_bytes", nbytes, 2**20, "1 MiB (1048576)")
    pool = _scratch.__dict__.get("pool", {})
    for slot in [s for s, buf in pool.items() if buf.nbytes > _WORKSPACE_BYTES]:
        del pool[slot]


@contextlib.contextmanager
def workspace(nbytes: int) -> Iterator[None]:
    """Temporarily bound the conv workspace: ``with backend.workspace(64 * 2**20): ...``.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> from convscope import backend
    >>> x, w = np.ones((1, 1, 64, 64)), np.ones((1, 1, 3, 3))
    >>> with backend.workspace(2**20):                # the same result, computed in smaller bands
    ...     bool((F.conv2d(x, w) == F.conv2d(x, w)).all())
    True
    """
    old = get_workspace_bytes()
    set_workspace_bytes(nbytes)
    try:
        yield
    finally:
        set_workspace_bytes(old)


def get_chunk_bytes() -> int:
    """Bytes of columns the engine aims for per block: min(chunk target, workspace bound).

    Examples
    --------
    >>> from convscope import backend
    >>> with backend.chunk_target(2**30), backend.workspace(64 * 2**20):
    ...     backend.get_chunk_bytes() <= 64 * 2**20
    True
    """
    return min(_CHUNK_TARGET_BYTES, _WORKSPACE_BYTES)


def get_chunk_target_bytes() -> int:
    """The cache-sized chunk target in bytes (default 4 MiB), before the workspace bound applies.

    Examples
    --------
    >>> from convscope import backend
    >>> with backend.chunk_target(2**20):
    ...     backend.get_chunk_target_bytes()
    1048576
    """
    return _CHUNK_TARGET_BYTES


def set_chunk_target_bytes(nbytes: int) -> None:
    """Tune the cache-sized chunk target (default 4 MiB); the workspace bound still applies.

    It is the size of the unfolded columns the engine aims for per block; a tiny target (even
    1 byte) is valid and makes every block a single output position, which the tests use.

    Examples
    --------
    >>> from convscope import backend
    >>> before = backend.get_chunk_target_bytes()
    >>> backend.set_chunk_target_bytes(1)           # every block is one output position
    >>> backend.get_chunk_bytes()
    1
    >>> backend.set_chunk_target_bytes(before)
    """
    global _CHUNK_TARGET_BYTES
    if isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)) or nbytes < 1:
        raise ValueError(f"set_chunk_target_bytes: nbytes expects a positive integer, but got {nbytes!r}")
    _CHUNK_TARGET_BYTES = int(nbytes)


@contextlib.contextmanager
def chunk_target(nbytes: int) -> Iterator[None]:
    """Temporarily set the chunk target: ``with backend.chunk_target(64 * 2**10): ...``.

    Examples
    --------
    >>> from convscope import backend
    >>> with backend.chunk_target(64 * 2**10):
    ...     backend.get_chunk_target_bytes()
    65536
    """
    old = get_chunk_target_bytes()
    set_chunk_target_bytes(nbytes)
    try:
        yield
    finally:
        set_chunk_target_bytes(old)


# --------------------------------------------------------------------------- memory limit

def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None      # cgroup v2 writes "max" when unlimited


def available_memory() -> int | None:
    """The memory this process may use, in bytes, as far as the system says: the least of physical
    memory, the cgroup (container) memory limit and the soft ``RLIMIT_AS``; None when none is known.

    Examples
    --------
    >>> from convscope import backend
    >>> found = backend.available_memory()
    >>> found is None or found > 0
    True
    """
    known = []
    try:
        known.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        value = _read_int(path)
        if value:
            known.append(value)
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY and soft > 0:
            known.append(soft)
    except (ImportError, AttributeError, ValueError, OSError):
        pass
    known = [k for k in known if k > 0]
    return min(known) if known else None


def default_memory_limit() -> int:
    """Half of :func:`available_memory` (half of 8 GiB when the system does not say).

    Examples
    --------
    >>> from convscope import backend
    >>> found = backend.available_memory()
    >>> backend.default_memory_limit() == (found if found is not None else 8 * 2**30) // 2
    True
    """
    return (available_memory() or _FALLBACK_MEMORY_BYTES) // 2


_DEFAULT_LIMIT: int | None = None         # default_memory_limit(), read once (it reads files)


def get_memory_limit() -> int:
    """The most bytes one output, gradient or buffer of an op may take (see :func:`check_allocation`):
    the value given to :func:`set_memory_limit`, else :func:`default_memory_limit` as it was at
    the first call (``set_memory_limit(None)`` reads it again).

    Examples
    --------
    >>> from convscope import backend
    >>> with backend.memory_limit(2**30):
    ...     backend.format_bytes(backend.get_memory_limit())
    '1.00 GiB'
    """
    global _DEFAULT_LIMIT
    if _MEMORY_LIMIT is not None:
        return _MEMORY_LIMIT
    if _DEFAULT_LIMIT is None:
        _DEFAULT_LIMIT = default_memory_limit()
    return _DEFAULT_LIMIT


def set_memory_limit(nbytes: int | None) -> None:
    """Set the per-array memory limit in bytes (at least 1), or None for the default (read anew).

    Raises
    ------
    TypeError
        ``nbytes`` is neither an integer nor None.
    ValueError
        ``nbytes`` is below 1.

    Examples
    --------
    >>> from convscope import backend
    >>> backend.set_memory_limit(2**30)
    >>> backend.get_memory_limit()
    1073741824
    >>> backend.set_memory_limit(None)                # back to the default
    >>> backend.set_memory_limit(0)
    Traceback (most recent call last):
        ...
    ValueError: set_memory_limit: nbytes expects at least 1, but got 0
    """
    global _MEMORY_LIMIT, _DEFAULT_LIMIT
    _MEMORY_LIMIT = None if nbytes is None else _check_bytes("set_memory_limit", nbytes, 1, "1")
    if nbytes is None:
        _DEFAULT_LIMIT = None


@contextlib.contextmanager
def memory_limit(nbytes: int | None) -> Iterator[None]:
    """Temporarily set the memory limit: ``with backend.memory_limit(2**30): ...``.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> from convscope import backend
    >>> with backend.memory_limit(2**10):
    ...     F.conv2d(np.zeros((1, 1, 64, 64)), np.zeros((1, 1, 3, 3)))
    Traceback (most recent call last):
        ...
    convscope.errors.ResourceError: ...
    """
    global _MEMORY_LIMIT
    old = _MEMORY_LIMIT
    set_memory_limit(nbytes)
    try:
        yield
    finally:
        _MEMORY_LIMIT = old               # not set_memory_limit: keep the cached default


def format_bytes(nbytes: int) -> str:
    """Bytes in binary units with three significant digits: ``format_bytes(2**31) == '2.00 GiB'``.

    Examples
    --------
    >>> from convscope import backend
    >>> backend.format_bytes(512), backend.format_bytes(1536), backend.format_bytes(2**31)
    ('512 B', '1.50 KiB', '2.00 GiB')
    """
    value, unit = float(nbytes), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if value < 1023.5 or unit == "EiB":   # 1023.5 KiB prints as 1.00 MiB, not 1024 KiB
            break
        value /= 1024
    if unit == "B":
        return f"{int(nbytes)} B"
    return f"{value:.{2 if value < 9.995 else 1 if value < 99.95 else 0}f} {unit}"


def check_allocation(op: str, shape: tuple[int, ...], dtype, what: str = "output") -> int:
    """Raise :class:`convscope.ResourceError` if an array of ``shape`` and ``dtype`` would exceed
    the memory limit; else return its size in bytes. Call it before allocating.

    Parameters
    ----------
    op : str
        The operation, as the user called it (``"conv2d"``, ``"max_pool2d"``, ``"gaussian"``).
    shape : tuple of int
    dtype : anything ``np.dtype`` accepts
    what : str
        What the array is, for the message: ``"output"``, ``"input gradient"``, ``"padded input"``...

    Returns
    -------
    int
        ``prod(shape) * itemsize``, computed in Python integers (no overflow).

    Raises
    ------
    convscope.ResourceError
        ``conv2d: the output of shape (1, 64, 100000, 100000) needs 2.33 TiB, more than the memory
        limit of 11.7 GiB (convscope.backend.set_memory_limit)``.

    Examples
    --------
    >>> from convscope import backend
    >>> backend.check_allocation("conv2d", (2, 8, 32, 32), "float32")
    65536
    >>> with backend.memory_limit(2**20):
    ...     backend.check_allocation("conv2d", (1, 64, 512, 512), "float32")
    Traceback (most recent call last):
    ...
    convscope.errors.ResourceError: conv2d: the output of shape (1, 64, 512, 512) needs 64.0 MiB, more than the memory limit of 1.00 MiB (convscope.backend.set_memory_limit)
    """
    shape = tuple(int(s) for s in shape)
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    limit = get_memory_limit()
    if nbytes > limit:
        raise ResourceError(
            f"{op}: the {what} of shape {shape} needs {format_bytes(nbytes)}, more than the memory limit of "
            f"{format_bytes(limit)} (convscope.backend.set_memory_limit)",
            op=op, shape=shape, nbytes=nbytes, limit=limit)
    return nbytes


# --------------------------------------------------------------------------- threads

_NUM_THREADS: int | None = None


def get_num_threads() -> int:
    """Threads convscope's own parallel loops use (image filtering): the value given to
    :func:`set_num_threads`, else ``$CONVSCOPE_NUM_THREADS``, else ``$OMP_NUM_THREADS`` (the
    setting BLAS follows), else the CPUs this process may use. NumPy's BLAS has its own pool.

    Examples
    --------
    >>> from convscope import backend
    >>> backend.get_num_threads() >= 1
    True
    """
    if _NUM_THREADS is not None:
        return _NUM_THREADS
    for var in ("CONVSCOPE_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def set_num_threads(n: int | None) -> None:
    """Set the thread count for convscope's own loops (None: back to the environment's).

    Examples
    --------
    >>> from convscope import backend
    >>> backend.set_num_threads(2)
    >>> backend.get_num_threads()
    2
    >>> backend.set_num_threads(None)                 # back to the environment's
    """
    global _NUM_THREADS
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
        raise ValueError(f"set_num_threads: n expects a positive integer or None, but got {n!r}")
    _NUM_THREADS = None if n is None else int(n)


# --------------------------------------------------------------------------- scratch buffers

_scratch = threading.local()


def scratch(slot: str, shape: tuple[int, ...], dtype, op: str | None = None) -> np.ndarray:
    """A reusable, uninitialised buffer for temporaries of the engine (one per thread and slot).

    Fresh multi-megabyte arrays cost a page fault per 4 KiB page when first written, which for
    small and medium convs took longer than the arithmetic; reusing the same memory avoids it.
    The caller must not let the returned array escape: the next call with the same slot reuses it.

    The cache holds at most the workspace bound (:func:`get_workspace_bytes`) in all. A buffer
    larger than the bound is not cached: it is a fresh array, freed when the caller drops it (any
    buffer cached for the slot is released too). A buffer that would take the cache over the
    bound evicts the other slots first; a caller still using an evicted buffer keeps it valid
    until it lets go.

    Parameters
    ----------
    slot : str
        The buffer's name, e.g. ``"conv.cols"``; a module prefixes its own.
    shape, dtype
        Of the array returned.
    op : str, optional
        The operation asking, for :func:`check_allocation`'s message (default: the slot).

    Raises
    ------
    convscope.ResourceError
        The buffer would exceed the memory limit.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import backend
    >>> buffer = backend.scratch("example", (2, 3), np.float64)   # uninitialised
    >>> buffer.shape, buffer.dtype
    ((2, 3), dtype('float64'))
    >>> np.shares_memory(backend.scratch("example", (2, 3), np.float64), buffer)  # the same memory again
    True
    >>> backend.release_scratch()
    """
    dtype = np.dtype(dtype)
    nbytes = check_allocation(op or f"scratch {slot!r}", shape, dtype, what=f"scratch buffer {slot!r}")
    pool = _scratch.__dict__.setdefault("pool", {})
    if nbytes > _WORKSPACE_BYTES:
        pool.pop(slot, None)
        return np.empty(shape, dtype=dtype)
    buf = pool.get(slot)
    if buf is None or buf.size < nbytes:
        pool.pop(slot, None)
        buf = None                                 # free the old buffer before making the new one
        size = max(nbytes, 64)
        while pool and sum(b.nbytes for b in pool.values()) + size > _WORKSPACE_BYTES:
            del pool[max(pool, key=lambda s: pool[s].nbytes)]
        buf = np.empty(size, dtype=np.uint8)
        pool[slot] = buf
    return buf[:nbytes].view(dtype).reshape(shape)


def scratch_bytes() -> int:
    """Bytes this thread's scratch cache holds now.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import backend
    >>> backend.release_scratch()
    >>> _ = backend.scratch("example", (8, 8), np.float64)
    >>> backend.scratch_bytes()
    512
    >>> backend.release_scratch()
    """
    return sum(buf.nbytes for buf in _scratch.__dict__.get("pool", {}).values())


def release_scratch() -> None:
    """Free this thread's scratch buffers (they are rebuilt on the next conv).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import backend
    >>> buffer = backend.scratch("example", (4, 4), np.float64)
    >>> backend.release_scratch()
    >>> backend.scratch_bytes()
    0
    """
    _scratch.__dict__.pop("pool", None)


# --------------------------------------------------------------------------- conv algorithms

#: The convolution engine's algorithms (:mod:`convscope.ops.algorithms`); ``"auto"`` lets the
#: cost model choose per call.
ALGORITHMS = ("auto", "gemm", "pointwise", "direct", "winograd", "fft", "separable")

_ALGORITHM = "auto"
_COMPILED = True                   # use the numba kernels when numba is installed
_AUTOTUNE = False
_record = threading.local()


def _check_algorithm(fn: str, name) -> str:
    if not isinstance(name, str) or name not in ALGORITHMS:
        raise ValueError(f"{fn}: name expects one of {', '.join(map(repr, ALGORITHMS))}, but got {name!r}")
    return name


def get_algorithm() -> str:
    """The convolution algorithm the engine is told to use: ``"auto"`` (the default) or a name
    from :data:`ALGORITHMS`.

    Examples
    --------
    >>> from convscope import backend
    >>> backend.get_algorithm()
    'auto'
    """
    return _ALGORITHM


def set_algorithm(name: str) -> None:
    """Force one convolution algorithm for every conv pass, or ``"auto"`` for the cost model's choice.

    A forced algorithm runs wherever it applies (Winograd only on 3x3 stride-1 kernels, for
    instance); elsewhere the cost model chooses among the others, and
    :func:`last_algorithm` says which one ran.

    Raises
    ------
    ValueError
        ``name`` is not one of :data:`ALGORITHMS`.

    Examples
    --------
    >>> from convscope import backend
    >>> backend.set_algorithm("fft")
    >>> backend.get_algorithm()
    'fft'
    >>> backend.set_algorithm("auto")
    >>> backend.set_algorithm("magic")
    Traceback (most recent call last):
        ...
    ValueError: set_algorithm: name expects one of 'auto', 'gemm', 'pointwise', 'direct', 'winograd', 'fft', 'separable', but got 'magic'
    """
    global _ALGORITHM
    _ALGORITHM = _check_algorithm("set_algorithm", name)


@contextlib.contextmanager
def algorithm(name: str) -> Iterator[None]:
    """Temporarily force a convolution algorithm: ``with backend.algorithm("winograd"): ...``.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> from convscope import backend
    >>> x, w = np.ones((1, 2, 8, 8)), np.ones((3, 2, 3, 3))
    >>> with backend.algorithm("fft"):
    ...     y = F.conv2d(x, w)
    >>> backend.last_algorithm()
    'fft'
    """
    old = get_algorithm()
    set_algorithm(name)
    try:
        yield
    finally:
        set_algorithm(old)


def last_algorithm() -> str | None:
    """The algorithm of this thread's most recent convolution pass (None before the first).

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> from convscope import backend
    >>> _ = F.conv2d(np.ones((1, 4, 8, 8)), np.ones((2, 4, 1, 1)))
    >>> backend.last_algorithm()
    'pointwise'
    """
    return _record.__dict__.get("last")


@contextlib.contextmanager
def algorithm_log() -> Iterator[list]:
    """Collect ``(op, pass, algorithm)`` for every convolution pass run inside the block.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> from convscope import backend
    >>> with backend.algorithm_log() as log:
    ...     _ = F.conv2d(np.ones((1, 4, 8, 8)), np.ones((2, 4, 1, 1)))
    >>> log
    [('conv2d', 'forward', 'pointwise')]
    """
    logs = _record.__dict__.setdefault("logs", [])
    log: list = []
    logs.append(log)
    try:
        yield log
    finally:
        logs.remove(log)


def record_algorithm(op: str, kind: str, name: str) -> None:
    """Called by the engine for each pass it runs (see :func:`last_algorithm`).

    Examples
    --------
    >>> from convscope import backend
    >>> with backend.algorithm_log() as log:
    ...     backend.record_algorithm("conv2d", "forward", "gemm")
    >>> log, backend.last_algorithm()
    ([('conv2d', 'forward', 'gemm')], 'gemm')
    """
    _record.last = name
    for log in _record.__dict__.get("logs", ()):
        log.append((op, kind, name))


def get_compiled() -> bool:
    """Whether the engine uses its numba-compiled kernels when numba is installed (default True).

    Examples
    --------
    >>> from convscope import backend
    >>> backend.get_compiled()
    True
    """
    return _COMPILED


def set_compiled(flag: bool) -> None:
    """Use (True) or leave (False) the numba kernels; False runs the pure-NumPy paths.

    Examples
    --------
    >>> from convscope import backend
    >>> backend.set_compiled(False)
    >>> backend.compiled_available()
    False
    >>> backend.set_compiled(True)
    """
    global _COMPILED
    if not isinstance(flag, (bool, np.bool_)):
        raise TypeError(f"set_compiled: flag expects True or False, but got {flag!r}")
    _COMPILED = bool(flag)


@contextlib.contextmanager
def compiled(flag: bool) -> Iterator[None]:
    """Temporarily use or leave the numba kernels: ``with backend.compiled(False): ...``.

    Examples
    --------
    >>> from convscope import backend
    >>> with backend.compiled(False):
    ...     backend.compiled_available()
    False
    """
    old = get_compiled()
    set_compiled(flag)
    try:
        yield
    finally:
        set_compiled(old)


_NUMBA: bool | None = None


def numba_installed() -> bool:
    """Whether numba can be imported (the ``fast`` extra: ``pip install convscope[fast]``).

    Examples
    --------
    >>> from convscope import backend
    >>> backend.numba_installed() in (True, False)
    True
    """
    global _NUMBA
    if _NUMBA is None:
        try:
            import numba  # noqa: F401
            _NUMBA = True
        except Exception:              # an installed but broken numba counts as absent
            _NUMBA = False
    return _NUMBA


def compiled_available() -> bool:
    """True when the numba kernels will run: numba is installed and :func:`get_compiled` is True.

    Examples
    --------
    >>> from convscope import backend
    >>> backend.compiled_available() == (backend.numba_installed() and backend.get_compiled())
    True
    """
    return _COMPILED and numba_installed()


def get_autotune() -> bool:
    """Whether the engine times the candidate algorithms on the first call of each shape and
    keeps the fastest (default False: the cost model decides alone).

    Examples
    --------
    >>> from convscope import backend
    >>> backend.get_autotune()
    False
    """
    return _AUTOTUNE


def set_autotune(flag: bool) -> None:
    """Turn the quick autotune on or off (its choices are cached per shape for the process).

    Examples
    --------
    >>> from convscope import backend
    >>> backend.set_autotune(True); backend.get_autotune()
    True
    >>> backend.set_autotune(False)
    """
    global _AUTOTUNE
    if not isinstance(flag, (bool, np.bool_)):
        raise TypeError(f"set_autotune: flag expects True or False, but got {flag!r}")
    _AUTOTUNE = bool(flag)


# --------------------------------------------------------------------------- parallel loops

#: Work (output values) from which :func:`parallel_for` spreads blocks over threads; below it
#: a thread's start-up and hand-over cost more than they save. Measured on image filters
#: (2-core EPYC, float32): blocks of a 256 x 256 image took about as long on two threads as on one.
PARALLEL_MIN_WORK = 256 * 256
_POOL_PREFIX = "convscope-pool"

_pool = None                                  # concurrent.futures.ThreadPoolExecutor, made on first use
_pool_pid = 0                                 # a forked child needs a pool of its own
_pool_lock = threading.Lock()


def parallel_workers(work: int) -> int:
    """How many threads :func:`parallel_for` runs ``work`` output values on: all of
    :func:`get_num_threads` from :data:`PARALLEL_MIN_WORK` on, else the calling thread alone.

    Examples
    --------
    >>> from convscope import backend
    >>> backend.parallel_workers(100)
    1
    >>> backend.parallel_workers(10**8) == backend.get_num_threads()
    True
    """
    return get_num_threads() if work >= PARALLEL_MIN_WORK else 1


def _run_blocks(fn, blocks) -> None:
    for block in blocks:
        fn(block)


def parallel_for(fn, blocks, work: int | None = None) -> None:
    """Call ``fn(block)`` for every block, in contiguous shares over :func:`get_num_threads` threads.

    For loops whose blocks release the GIL (NumPy passes, BLAS calls, FFTs): the calling thread
    takes the first share and a process-wide pool of ``get_num_threads() - 1`` threads the
    others; the call returns when every block is done and re-raises the first error. Each thread
    has its own :func:`scratch` buffers. A loop started from inside a pool thread runs inline
    (a worker never waits on its own pool).

    Parameters
    ----------
    fn : callable
        Called with one block; its return value is ignored. Blocks must not write to the same
        memory.
    blocks : sequence
        Anything ``fn`` takes, e.g. the slices of :func:`split`.
    work : int, optional
        Output values the blocks compute together: with fewer than :data:`PARALLEL_MIN_WORK`
        the loop runs on the calling thread (see :func:`parallel_workers`). Default: always
        parallel.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import backend
    >>> x = np.arange(10.0)
    >>> y = np.empty_like(x)
    >>> backend.parallel_for(lambda part: np.multiply(x[part], 2, out=y[part]), backend.split(10, 3))
    >>> y.tolist()
    [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0]
    """
    global _pool, _pool_pid
    blocks = list(blocks)
    n = min(get_num_threads() if work is None else parallel_workers(work), len(blocks))
    if n <= 1 or threading.current_thread().name.startswith(_POOL_PREFIX):
        _run_blocks(fn, blocks)
        return
    import concurrent.futures

    with _pool_lock:
        if _pool is None or _pool._max_workers < n - 1 or _pool_pid != os.getpid():
            if _pool is not None and _pool_pid == os.getpid():
                _pool.shutdown(wait=False)
            _pool = concurrent.futures.ThreadPoolExecutor(max_workers=n - 1, thread_name_prefix=_POOL_PREFIX)
            _pool_pid = os.getpid()
        pool = _pool
    size = -(-len(blocks) // n)
    shares = [blocks[i:i + size] for i in range(0, len(blocks), size)]
    futures = [pool.submit(_run_blocks, fn, share) for share in shares[1:]]
    try:
        _run_blocks(fn, shares[0])                   # the calling thread takes the first share
    finally:
        for future in futures:
            future.result()


def split(n: int, parts: int) -> list[slice]:
    """``range(n)`` cut into at most ``parts`` contiguous slices of equal length (the last shorter).

    Examples
    --------
    >>> from convscope import backend
    >>> backend.split(10, 3)
    [slice(0, 4, None), slice(4, 8, None), slice(8, 10, None)]
    >>> backend.split(2, 8)
    [slice(0, 1, None), slice(1, 2, None)]
    """
    step = -(-n // max(1, min(parts, n))) if n > 0 else 1
    return [slice(i, min(n, i + step)) for i in range(0, n, step)]
