"""convscope's own exception types.

Everything else raises the built-in ``ValueError`` / ``TypeError`` with a message that names the
function and the argument (see :mod:`convscope._validation`).
"""

from __future__ import annotations

__all__ = ["ResourceError"]


class ResourceError(MemoryError):
    """An operation would allocate more memory than convscope allows for one array.

    Raised *before* the allocation, so the process is not left to the operating system's
    out-of-memory killer. The limit is :func:`convscope.backend.get_memory_limit`; raise it with
    :func:`convscope.backend.set_memory_limit` or :func:`convscope.backend.memory_limit`.
    A subclass of :class:`MemoryError`, so ``except MemoryError`` catches it.

    Parameters
    ----------
    message : str
        What was to be allocated, e.g. ``"conv2d: the output of shape (1, 64, 100000, 100000)
        needs 2.33 TiB, more than the memory limit of 11.7 GiB
        (convscope.backend.set_memory_limit)"``.
    op, shape, nbytes, limit : optional
        The same facts as data: the operation's name, the array's shape, the bytes it needs and
        the limit in force (None when not given).

    Examples
    --------
    >>> from convscope import ResourceError, backend
    >>> try:
    ...     backend.check_allocation("conv2d", (1, 64, 100000, 100000), "float32")
    ... except MemoryError as err:
    ...     print(isinstance(err, ResourceError), err.nbytes)
    True 2560000000000
    """

    def __init__(self, message: str, *, op: str | None = None, shape: tuple[int, ...] | None = None,
                 nbytes: int | None = None, limit: int | None = None) -> None:
        super().__init__(message)
        self.op, self.shape, self.nbytes, self.limit = op, shape, nbytes, limit
