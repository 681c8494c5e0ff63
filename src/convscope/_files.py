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


def writable_folder_problem(folder) -> tuple[Path, str] | None:
    """Why files cannot be created in ``folder``, which need not exist yet; None when they can.

    Returns ``(where, problem)``: the nearest existing ancestor (or ``folder`` itself) and
    ``"is a file"`` or ``"is not writable"``. Checked before long work starts, so a bad output
    path is reported before anything is computed.
    """
    probe = Path(folder)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return probe, "is a file"
    if not os.access(probe, os.W_OK | os.X_OK):
        return probe, "is not writable"
    return None


def leftover_temp_files(folder, names) -> list[Path]:
    """The temporary files :func:`atomic_write` left in ``folder`` for the targets ``names``.

    A write killed before its rename (SIGKILL, power loss) leaves ``.NAME.XXXXXXXX.tmp`` beside
    the target; nothing else in convscope makes files of that shape. Call this only while no
    other process can be writing there (under a :class:`RunLock`).
    """
    folder = Path(folder)
    found = []
    for name in names:
        found.extend(p for p in folder.glob(f".{name}.*.tmp") if p.is_file())
    return sorted(found)


class LockedError(RuntimeError):
    """Another live process holds the :class:`RunLock` of a folder."""


class RunLock:
    """An advisory lock that makes one process the owner of an output folder.

    The lock is the file ``FOLDER/.convscope.lock``, locked with the OS's advisory locking
    (``fcntl.flock``), holding the owner's pid, host and start time. The OS drops the lock when
    its owner dies, however it dies, so a lock file that is present but unlocked is *stale*: it is
    taken over, and :attr:`stale` tells whose it was. Where ``fcntl`` is missing (Windows), the
    file is created exclusively and a stale one is recognised by its pid no longer running.

    Use it as a context manager; the file is removed on release.

    Raises
    ------
    LockedError
        When a live process holds the lock; the message names it and the lock file.
    """

    NAME = ".convscope.lock"

    def __init__(self, folder, what: str = "run") -> None:
        self.folder = Path(folder)
        self.path = self.folder / self.NAME
        self.what = what
        self.stale: str | None = None
        self._fd: int | None = None

    def _describe(self, text: str) -> str:
        import json

        try:
            info = json.loads(text)
            return f"pid {info['pid']} on {info['host']}, started {info['started']}"
        except (ValueError, KeyError, TypeError):
            return "an unknown process"

    def _record(self) -> bytes:
        import json
        import socket
        import time

        return json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "what": self.what,
                           "started": time.strftime("%Y-%m-%d %H:%M:%S")}).encode()

    def _busy(self, holder: str) -> LockedError:
        return LockedError(f"{self.folder} is in use by another {self.what} ({holder}); wait for it to finish "
                           f"or use another folder (lock file {self.path})")

    def acquire(self) -> "RunLock":
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:
            return self._acquire_exclusive()
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = self._describe(os.read(fd, 4096).decode(errors="replace"))
                os.close(fd)
                raise self._busy(holder) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)                 # the previous owner removed the file as we opened it: retry
        previous = os.read(fd, 4096).decode(errors="replace").strip()
        if previous:
            self.stale = self._describe(previous)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, self._record())
        os.fsync(fd)
        self._fd = fd
        return self

    def _acquire_exclusive(self) -> "RunLock":
        import json

        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                text = self.path.read_text(errors="replace")
                try:
                    pid = int(json.loads(text)["pid"])
                    os.kill(pid, 0)
                except (ProcessLookupError, ValueError, KeyError, TypeError):
                    self.stale = self._describe(text)
                    self.path.unlink(missing_ok=True)
                    continue
                except PermissionError:
                    pass                 # alive, owned by another user
                raise self._busy(self._describe(text)) from None
            os.write(fd, self._record())
            self._fd = fd
            return self
        raise self._busy("a process that keeps re-creating it")

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)    # unlink while locked: a waiter then finds a new inode
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
