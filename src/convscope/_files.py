"""Atomic file writes: the one place where convscope puts bytes on disk.

Data goes to a temporary file in the target's directory, is flushed to disk, and only then takes
the target's name, so a crash or a kill leaves either the old file or the new one, never half of
one. The file gets an ordinary file's mode (``0666 & ~umask``; ``mkstemp`` alone would give 0600).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (thread-safe there)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)                       # elsewhere: read it by setting it, then restore
    os.umask(mask)
    return mask


def atomic_write(path, write: Callable[[BinaryIO], object], *, overwrite: bool = True, parents: bool = True,
                 fn: str = "write") -> Path:
    """Write a file atomically: ``write(f)`` fills a temporary file that then becomes ``path``.

    Parameters
    ----------
    path : str or os.PathLike
    write : callable taking the open binary file
    overwrite : bool
        Replace an existing ``path`` (``os.replace``). When False the temporary file is hard-linked
        into place, which fails if ``path`` exists, even if another process created it meanwhile
        (where the file system has no hard links: a check, then a rename).
    parents : bool
        Create missing parent folders; otherwise a missing folder is an error.
    fn : str
        The public function's name, for the message when ``path`` exists.

    Raises
    ------
    FileExistsError
        With ``overwrite=False``, when ``path`` exists.
    """
    path = Path(path)
    exists = FileExistsError(f"{fn}: {path} exists; pass overwrite=True (--force on the command line) to replace it")
    if parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), 0o666 & ~_umask())
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
            return path
        try:
            os.link(tmp, path)                   # fails if path exists: no check-then-write race
        except FileExistsError:
            raise exists from None
        except OSError:                          # no hard links here (some network or FAT drives)
            if path.exists():
                raise exists from None
            os.replace(tmp, path)
        return path
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
