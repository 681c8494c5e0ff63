"""Fetch a file from a list of mirrors with the standard library, verifying its MD5 before use.

Each mirror is tried in turn: the file streams into a temporary file in the destination folder,
its MD5 is computed on the way, and only a matching file is moved into place with
:func:`os.replace`. A failed mirror (network error, HTTP error, short body, wrong MD5) leaves
nothing behind, and when every mirror fails :class:`DownloadError` lists what happened at each.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Iterable

__all__ = ["DownloadError", "download_file", "file_md5", "check_mirrors"]

_CHUNK = 1 << 16


class DownloadError(OSError, ValueError):
    """No mirror delivered a file with the expected checksum; the message lists each failure.

    It is an :class:`OSError` (what network and file failures raise) and a :class:`ValueError`
    (what a checksum mismatch is), like :class:`io.UnsupportedOperation`, so either ``except``
    catches it.

    Examples
    --------
    >>> from convscope.data import DownloadError
    >>> issubclass(DownloadError, OSError) and issubclass(DownloadError, ValueError)
    True
    """


def file_md5(path: str | os.PathLike) -> str:
    """Hex MD5 of a file's bytes, read in chunks.

    Examples
    --------
    >>> import os, tempfile
    >>> from convscope.data.download import file_md5
    >>> path = os.path.join(tempfile.mkdtemp(), "empty")
    >>> open(path, "wb").close()
    >>> file_md5(path)
    'd41d8cd98f00b204e9800998ecf8427e'
    """
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_mirrors(mirrors, fn: str) -> tuple[str, ...]:
    """Validate mirror base URLs: a str or a non-empty sequence of http(s) URLs.

    Examples
    --------
    >>> from convscope.data.download import check_mirrors
    >>> check_mirrors("https://example.org/mnist/", "MNIST")
    ('https://example.org/mnist/',)
    >>> check_mirrors(["ftp://example.org/"], "MNIST")
    Traceback (most recent call last):
        ...
    ValueError: ...
    """
    items = [mirrors] if isinstance(mirrors, str) else mirrors
    if not isinstance(items, (list, tuple)) or not items:
        raise TypeError(f"{fn}: mirrors expects a URL string or a non-empty list of URL strings, but got {mirrors!r}")
    out = []
    for url in items:
        if not isinstance(url, str):
            raise TypeError(f"{fn}: mirrors expects URL strings, but got {url!r} ({type(url).__name__})")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{fn}: mirrors expects http:// or https:// URLs, but got {url!r}")
        out.append(url if url.endswith("/") else url + "/")
    return tuple(out)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n} bytes"


class _Progress:
    """One status line on stderr: rewritten in place on a terminal, start and end lines otherwise."""

    def __init__(self, url: str, total: int | None, stream=None):
        self.url, self.total, self.stream = url, total, stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last = 0.0
        size = f" ({_size(total)})" if total else ""
        self._write(f"downloading {url}{size}" + ("" if self.tty else "\n"))

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def update(self, done: int) -> None:
        now = time.monotonic()
        if self.tty and now - self.last > 0.1:
            self.last = now
            pct = f" {100 * done / self.total:5.1f}%" if self.total else ""
            self._write(f"\rdownloading {self.url}: {_size(done)}{pct}")

    def finish(self, message: str) -> None:
        self._write(("\r\x1b[K" if self.tty else "") + f"{self.url}: {message}\n")   # clear the progress line


def _fetch(url: str, directory: Path, name: str, md5: str, timeout: float) -> tuple[str | None, str]:
    """Stream ``url`` into a temporary file in ``directory``; return (temp path or None, outcome)."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
    keep = False
    try:
        with os.fdopen(fd, "wb") as fh, urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            progress = _Progress(url, total)
            digest, done = hashlib.md5(), 0
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                fh.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                progress.update(done)
            if total is not None and done != total:
                outcome = f"received {done} of the {total} bytes announced"
            elif digest.hexdigest() != md5:
                outcome = f"MD5 {digest.hexdigest()} does not match the expected {md5}"
            else:
                keep = True
                outcome = f"{done} bytes, MD5 ok"
            progress.finish(outcome if keep else f"{outcome}; rejected")
        if keep:
            os.chmod(tmp, 0o644)   # mkstemp makes it owner-only; the result is an ordinary data file
        return (tmp if keep else None), outcome
    finally:
        if not keep:
            os.unlink(tmp)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"cannot connect ({exc.reason})"
    return f"{type(exc).__name__}: {exc}"


def download_file(name: str, md5: str, directory: str | os.PathLike, mirrors: Iterable[str], *,
                  timeout: float = 30.0, fn: str = "download_file") -> Path:
    """Download ``name`` from the first mirror that serves it with the right MD5.

    Parameters
    ----------
    name : str
        File name, appended to each mirror's base URL.
    md5 : str
        Expected hex MD5 of the file's bytes.
    directory : str or os.PathLike
        Destination folder (created if needed); the file lands at ``directory / name``.
    mirrors : sequence of str
        Base URLs, tried in order (see :func:`check_mirrors`).
    timeout : float
        Seconds a connection or a read may stall before that mirror counts as failed.

    Returns
    -------
    pathlib.Path
        The verified file.

    Raises
    ------
    DownloadError
        If no mirror delivered the file with the expected MD5; the message has one line per
        mirror saying what went wrong there.

    Examples
    --------
    >>> import tempfile
    >>> from convscope.data.download import download_file
    >>> download_file("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", tempfile.mkdtemp(),
    ...               ["https://example.org/mnist/"], timeout=10)   # doctest: +SKIP
    PosixPath('/tmp/.../train-labels-idx1-ubyte.gz')
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    failures = []
    for base in check_mirrors(list(mirrors), fn):
        url = urllib.parse.urljoin(base, name)
        try:
            tmp, outcome = _fetch(url, directory, name, md5, timeout)
        except (OSError, http.client.HTTPException) as exc:   # refused, HTTP errors, timeouts, resets
            tmp, outcome = None, _describe(exc)
            sys.stderr.write(f"{url}: {outcome}\n")
        if tmp is not None:
            target = directory / name
            os.replace(tmp, target)
            return target
        failures.append(f"  {url}: {outcome}")
    raise DownloadError(f"{fn}: could not download {name!r} into '{directory}'; every mirror failed:\n"
                        + "\n".join(failures))
