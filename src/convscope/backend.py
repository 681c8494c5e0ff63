"""Engine settings: the default floating dtype and the workspace bound for GEMM convolutions.

The workspace is the largest buffer of unfolded windows (im2col columns) the engine builds at
once. A batch whose columns would exceed it is processed in chunks of samples, so memory stays
bounded whatever the batch size. The default is 256 MiB.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np

_DEFAULT_DTYPE = np.dtype(np.float32)
_WORKSPACE_BYTES = 256 * 2**20


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


@contextlib.contextmanager
def workspace(nbytes: int) -> Iterator[None]:
    """Temporarily bound the conv workspace: ``with backend.workspace(64 * 2**20): ...``."""
    old = get_workspace_bytes()
    set_workspace_bytes(nbytes)
    try:
        yield
    finally:
        set_workspace_bytes(old)
