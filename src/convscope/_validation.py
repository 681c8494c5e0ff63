"""Argument checking at the public boundary: the one place where error wording lives.

Every message names the function, the argument, what was expected and what was received, e.g.
``conv2d: stride expects positive integers, but got 0``. Inner code trusts what passes here.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from . import backend

__all__ = [
    "to_tuple",
    "check_int",
    "check_real",
    "as_float_array",
    "result_float_dtype",
    "padding_pairs",
    "MAX_BYTES",
    "check_addressable",
    "check_nonempty",
]

#: The most bytes one array may hold: NumPy indexes memory with a signed pointer-sized integer
#: (``np.intp``), so no array, however much memory the machine has, holds more.
MAX_BYTES = int(np.iinfo(np.intp).max)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_int(value: Any, name: str, fn: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as a Python int, or raise naming ``fn`` and ``name``."""
    if not _is_int(value):
        raise TypeError(f"{fn}: {name} expects an integer, but got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{fn}: {name} expects {what}, but got {value}")
    return value


def check_real(value: Any, name: str, fn: str, *, low: float | None = None, high: float | None = None) -> float:
    """Return ``value`` as a finite Python float in ``[low, high]``, or raise naming ``fn`` and ``name``."""
    where = ("" if low is None and high is None
             else f" in [{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}]")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {name} expects a real number{where}, but got {value!r} ({type(value).__name__})")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{fn}: {name} expects a finite real number{where}, but got {value!r}")
    return number


def to_tuple(value: Any, n: int, name: str, fn: str, *, minimum: int | None = None) -> tuple[int, ...]:
    """Normalise an int or a length-``n`` sequence of ints to a tuple of ``n`` ints.

    Unlike PyTorch's ``_ntuple`` this checks the length and the element types, so
    ``stride=(1, 2, 3)`` for a 2-D conv is an error rather than a silent surprise.
    """
    if _is_int(value):
        items = (value,) * n
    elif isinstance(value, (tuple, list)) or (isinstance(value, np.ndarray) and value.ndim == 1):
        items = tuple(value)
        if len(items) != n:
            raise ValueError(f"{fn}: {name} expects an int or {n} ints, but got {len(items)} values {tuple(value)!r}")
    else:
        raise TypeError(f"{fn}: {name} expects an int or a tuple of {n} ints, but got {value!r} ({type(value).__name__})")
    bounds = "positive integers" if minimum == 1 else (f"integers >= {minimum}" if minimum is not None else "integers")
    for item in items:
        if not _is_int(item):
            raise TypeError(f"{fn}: {name} expects {bounds}, but got {value!r} (an element is {type(item).__name__})")
        if minimum is not None and item < minimum:
            raise ValueError(f"{fn}: {name} expects {bounds}, but got {value!r}")
    return tuple(int(v) for v in items)


def result_float_dtype(*arrays: np.ndarray) -> np.dtype:
    """The floating dtype an op computes in, given its array operands.

    The rule: floating operands promote as NumPy promotes them (float32 with float64 gives
    float64; float16 computes as float32); integer and bool operands are cast to that floating
    dtype, or to the default dtype (float32, see :func:`convscope.backend.get_default_dtype`) when
    no operand is floating.
    """
    floats = [a.dtype for a in arrays if a is not None and a.dtype.kind == "f"]
    if not floats:
        return backend.get_default_dtype()
    dtype = np.result_type(*floats)
    return np.dtype(np.float32) if dtype.itemsize < 4 else dtype


def as_float_array(value: Any, name: str, fn: str) -> np.ndarray:
    """Convert to an ndarray and check that it holds real numbers (bool, int or float)."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:         # ragged nested lists, objects NumPy cannot hold
        raise ValueError(f"{fn}: {name} expects a rectangular array of numbers, but got a "
                         f"{type(value).__name__} NumPy cannot convert ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{fn}: {name} expects a real numeric array (bool, integer or float), "
            f"but got dtype {arr.dtype}"
        )
    return arr


def padding_pairs(
    padding: Any,
    n: int,
    fn: str,
    *,
    spatial: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
) -> tuple[tuple[int, int], ...]:
    """Resolve ``padding`` (int, tuple, ``'valid'`` or ``'same'``) to ``(before, after)`` per dim.

    ``'same'`` pads a total of ``d * (k - 1)`` per dim, half before and the extra element after
    (right/bottom), as PyTorch does. With ``stride > 1`` PyTorch refuses ``'same'``; convscope
    follows TensorFlow instead: the output size is ``ceil(size / stride)`` and the total padding
    is ``max((out - 1) * s + d * (k - 1) + 1 - size, 0)``, the extra element again after.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            pairs = []
            for size, k, s, d in zip(spatial, kernel, stride, dilation):
                if s == 1:
                    total = d * (k - 1)
                else:
                    out = -(-size // s)
                    total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
                pairs.append((total // 2, total - total // 2))
            return tuple(pairs)
        raise ValueError(f"{fn}: padding expects 'valid', 'same', an int or a tuple of {n} ints, but got {padding!r}")
    pads = to_tuple(padding, n, "padding", fn, minimum=0)
    return tuple((p, p) for p in pads)


def check_padding_mode(mode: Any, fn: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(mode, str) or mode not in allowed:
        raise ValueError(f"{fn}: padding_mode expects one of {', '.join(map(repr, allowed))}, but got {mode!r}")
    return mode


def check_addressable(shape: tuple[int, ...], itemsize: int, fn: str, what: str, because: str) -> None:
    """Refuse an array NumPy cannot even describe: a dim or a size in bytes above :data:`MAX_BYTES`.

    ``shape`` is what an op would allocate (``what``, e.g. ``"the padded input"``) and
    ``because`` names the arguments that make it so (``"padding=(4611686018427387904, 0)"``).
    Zero dims count as 1, so the check does not depend on an empty batch. Arrays below the bound
    but above the machine's memory are left to NumPy's ``MemoryError``.
    """
    sizes = tuple(max(int(n), 1) for n in shape)
    total = math.prod(sizes) * itemsize
    if total > MAX_BYTES:
        raise ValueError(f"{fn}: {because} expects {what} of at most {MAX_BYTES} bytes (the most one array can "
                         f"address), but it would have shape {tuple(int(n) for n in shape)} ({total} bytes)")


def check_nonempty(shape: tuple[int, ...], fn: str, name: str, *, first: int, dims: tuple[str, ...]) -> None:
    """Refuse a zero in ``shape[first:]``: PyTorch's rule that only batch-like dims may be empty.

    ``dims`` names every dim, e.g. ``("N", "C", "H", "W")``; the message names the empty one.
    """
    for axis in range(first, len(shape)):
        if shape[axis] == 0:
            allowed = f"only {' and '.join(dims[:first])} may be 0" if first else "none may be 0"
            raise ValueError(f"{fn}: {name} expects non-zero sizes ({allowed}) for a ({', '.join(dims)}) input, "
                             f"but got shape {tuple(shape)} ({dims[axis]} is 0)")
