"""Argument checking at the public boundary: the one place where error wording lives.

Every message names the function, the argument, what was expected and what was received, e.g.
``conv2d: stride expects positive integers, but got 0``. Inner code trusts what passes here.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from . import backend

__all__ = [
    "is_int",
    "to_tuple",
    "pool_stride",
    "check_int",
    "check_real",
    "check_positive",
    "check_non_negative",
    "check_bool",
    "check_choice",
    "check_generator",
    "as_real_array",
    "as_float_array",
    "check_float_dtype",
    "result_float_dtype",
    "padding_pairs",
    "check_padding_mode",
    "MAX_BYTES",
    "check_addressable",
    "check_nonempty",
]

#: The most bytes one array may hold: NumPy indexes memory with a signed pointer-sized integer
#: (``np.intp``), so no array, however much memory the machine has, holds more.
MAX_BYTES = int(np.iinfo(np.intp).max)


def is_int(value: Any) -> bool:
    """Whether ``value`` is an integer (Python or NumPy) and not a bool.

    Examples
    --------
    >>> is_int(np.int32(3)), is_int(True), is_int(3.0)
    (True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


_is_int = is_int


def check_int(value: Any, name: str, fn: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as a Python int, or raise naming ``fn`` and ``name``.

    Parameters
    ----------
    value : Any
        An integer (Python or NumPy); bools are refused, as they are not counts.
    name, fn : str
        The argument and the function, for the message.
    minimum : int, optional
        The smallest value allowed; 1 reads "a positive integer".

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    ValueError
        If it is below ``minimum``.

    Examples
    --------
    >>> check_int(np.int64(3), "groups", "conv2d", minimum=1)
    3
    >>> check_int(0, "groups", "conv2d", minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: conv2d: groups expects a positive integer, but got 0
    """
    if not _is_int(value):
        raise TypeError(f"{fn}: {name} expects an integer, but got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{fn}: {name} expects {what}, but got {value}")
    return value


def check_real(value: Any, name: str, fn: str, *, low: float | None = None, high: float | None = None,
               what: str | None = None, ok: Callable[[float], bool] | None = None, finite: bool = True,
               error: type[Exception] = ValueError, type_error: type[Exception] = TypeError) -> float:
    """Return ``value`` as a finite Python float in ``[low, high]``, or raise naming ``fn`` and ``name``.

    A Python float (not ``np.float64``) keeps float32 arithmetic in float32 under NumPy's
    promotion rules. An integer too large for a float64 counts as infinite.

    Parameters
    ----------
    value : Any
        A real number (Python or NumPy); bools are refused.
    name, fn : str
        The argument and the function, for the message.
    low, high : float, optional
        Inclusive bounds.
    what : str, optional
        What the argument expects, in words (``"a positive number"``), used in both messages.
        Default: ``"a real number in [low, high]"`` for a wrong type and ``"a finite real
        number in [low, high]"`` for a bad value.
    ok : callable, optional
        A further test of the value, e.g. ``lambda x: x < 1`` for an open bound.
    finite : bool
        Refuse NaN and infinities (default). With False they pass unless a bound or ``ok``
        refuses them (NaN fails every bound).
    error, type_error : exception class
        What a real number that fails the checks raises (default ValueError), and what a value
        that is not a real number raises (default TypeError); PyTorch raises ValueError for
        both in a few places, e.g. ``calculate_gain``'s slope.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        (or ``error``) if it is NaN, infinite, out of bounds or fails ``ok``.

    Examples
    --------
    >>> check_real(0.5, "p", "dropout", low=0, high=1)
    0.5
    >>> check_real(-1, "std", "normal_", what="a non-negative number", low=0)
    Traceback (most recent call last):
    ...
    ValueError: normal_: std expects a non-negative number, but got -1
    """
    where = ("" if low is None and high is None
             else f" in [{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}]")
    type_what, value_what = (what, what) if what is not None else (f"a real number{where}",
                                                                   f"a finite real number{where}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise type_error(f"{fn}: {name} expects {type_what}, but got {value!r} ({type(value).__name__})")
    try:
        number = float(value)
    except OverflowError:                  # an int beyond float64, e.g. 10**400
        number = math.inf
    if ((finite and not math.isfinite(number)) or (low is not None and not number >= low)
            or (high is not None and not number <= high) or (ok is not None and not ok(number))):
        raise error(f"{fn}: {name} expects {value_what}, but got {value!r}")
    return number


def check_positive(value: Any, name: str, fn: str, *, what: str = "a positive number") -> float:
    """A finite real number above 0, as a float (see :func:`check_real`).

    Examples
    --------
    >>> check_positive(2, "sigma", "gaussian")
    2.0
    >>> check_positive(0.0, "sigma", "gaussian")
    Traceback (most recent call last):
    ...
    ValueError: gaussian: sigma expects a positive number, but got 0.0
    """
    return check_real(value, name, fn, what=what, ok=lambda x: x > 0)


def check_non_negative(value: Any, name: str, fn: str, *, what: str = "a non-negative number") -> float:
    """A finite real number >= 0, as a float (see :func:`check_real`).

    Examples
    --------
    >>> check_non_negative(0, "amount", "sharpen")
    0.0
    >>> check_non_negative("1", "lr", "SGD", what="a non-negative float")
    Traceback (most recent call last):
    ...
    TypeError: SGD: lr expects a non-negative float, but got '1' (str)
    """
    return check_real(value, name, fn, what=what, low=0)


def check_bool(value: Any, name: str, fn: str) -> bool:
    """A bool (Python or NumPy), as a Python bool; ints and strings are refused.

    Examples
    --------
    >>> check_bool(np.True_, "ceil_mode", "pool_output_size")
    True
    >>> check_bool(1, "nesterov", "SGD")
    Traceback (most recent call last):
    ...
    TypeError: SGD: nesterov expects a bool, but got 1 (int)
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{fn}: {name} expects a bool, but got {value!r} ({type(value).__name__})")
    return bool(value)


def check_choice(value: Any, name: str, fn: str, allowed: Iterable[Any], *, expected: str | None = None,
                 quote: bool = True) -> Any:
    """Return ``value`` if it is one of ``allowed``, else a ValueError listing them.

    Parameters
    ----------
    value : Any
        The argument. When every choice is a string, a non-string is refused (never compared).
    name, fn : str
        The argument and the function, for the message.
    allowed : iterable
        The choices, in the order the message lists them.
    expected : str, optional
        The expectation in words, replacing ``"one of 'a', 'b'"`` (e.g. ``"'fan_in' or
        'fan_out'"``, or a list that names aliases).
    quote : bool
        List the choices with their repr (``'same'``), or as plain names (registries: ``box,
        gaussian``).

    Returns
    -------
    The value, unchanged.

    Raises
    ------
    ValueError
        If ``value`` is not one of ``allowed``.

    Examples
    --------
    >>> check_choice("same", "mode", "apply", ("full", "same", "valid"))
    'same'
    >>> check_choice("center", "mode", "apply", ("full", "same", "valid"))
    Traceback (most recent call last):
    ...
    ValueError: apply: mode expects one of 'full', 'same', 'valid', but got 'center'
    >>> check_choice(6, "neighbours", "laplacian", (4, 8), expected="4 or 8")
    Traceback (most recent call last):
    ...
    ValueError: laplacian: neighbours expects 4 or 8, but got 6
    """
    allowed = tuple(allowed)
    strings = all(isinstance(a, str) for a in allowed)
    try:
        known = (isinstance(value, str) or not strings) and value in allowed
    except (TypeError, ValueError):        # unhashable values, arrays (ambiguous truth)
        known = False
    if not known:
        if expected is None:
            expected = "one of " + ", ".join(map(repr if quote else str, allowed))
        raise ValueError(f"{fn}: {name} expects {expected}, but got {value!r}")
    return value


def check_generator(generator: Any, name: str, fn: str) -> np.random.Generator | None:
    """A ``numpy.random.Generator`` or None (the caller's default), else a TypeError.

    Examples
    --------
    >>> check_generator(None, "generator", "normal_") is None
    True
    >>> check_generator(np.random.RandomState(0), "generator", "normal_")
    Traceback (most recent call last):
    ...
    TypeError: normal_: generator expects a numpy.random.Generator or None, but got RandomState
    """
    if generator is not None and not isinstance(generator, np.random.Generator):
        raise TypeError(f"{fn}: {name} expects a numpy.random.Generator or None, but got {type(generator).__name__}")
    return generator


def to_tuple(value: Any, n: int, name: str, fn: str, *, minimum: int | None = None) -> tuple[int, ...]:
    """Normalise an int or a length-``n`` sequence of ints to a tuple of ``n`` ints.

    Unlike PyTorch's ``_ntuple`` this checks the length and the element types, so
    ``stride=(1, 2, 3)`` for a 2-D conv is an error rather than a silent surprise.

    Parameters
    ----------
    value : int or sequence of int
        An int (repeated ``n`` times), or a tuple, list or 1-D array of ``n`` ints.
    n : int
        How many ints (the number of spatial dims).
    name, fn : str
        The argument and the function, for the message.
    minimum : int, optional
        The smallest element allowed (1: "positive integers").

    Returns
    -------
    tuple of int

    Raises
    ------
    TypeError
        If ``value`` or an element is not an integer.
    ValueError
        If the length is not ``n`` or an element is below ``minimum``.

    Examples
    --------
    >>> to_tuple(2, 3, "stride", "conv3d")
    (2, 2, 2)
    >>> to_tuple((1, 2, 3), 2, "stride", "conv2d")
    Traceback (most recent call last):
    ...
    ValueError: conv2d: stride expects an int or 2 ints, but got 3 values (1, 2, 3)
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


def pool_stride(stride: Any, kernel: int | Sequence[int], fn: str, *, name: str = "stride") -> Any:
    """A pool's stride: None (or an empty tuple) means the kernel size, as in PyTorch.

    Parameters
    ----------
    stride : None, int or sequence of int
        None or ``()`` (PyTorch's default), else checked as :func:`to_tuple` (or, for an int
        ``kernel``, :func:`check_int`) with ``minimum=1``.
    kernel : int or sequence of int
        The (already checked) kernel size: one int per spatial dim, whose number is the rank,
        or a single int for an API that works on one dim at a time.
    fn : str
        The function, for the message.
    name : str
        The argument, for the message.

    Returns
    -------
    tuple of int, or int for an int ``kernel``

    Raises
    ------
    TypeError, ValueError
        As :func:`to_tuple` (or :func:`check_int`).

    Examples
    --------
    >>> pool_stride(None, (3, 2), "max_pool2d")
    (3, 2)
    >>> pool_stride(1, (3, 2), "max_pool2d")
    (1, 1)
    >>> pool_stride(None, 3, "pool_output_size")
    3
    >>> pool_stride(0, (3,), "max_pool1d")
    Traceback (most recent call last):
    ...
    ValueError: max_pool1d: stride expects positive integers, but got 0
    """
    scalar = is_int(kernel)
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        return int(kernel) if scalar else tuple(int(k) for k in kernel)
    if scalar:
        return check_int(stride, name, fn, minimum=1)
    return to_tuple(stride, len(kernel), name, fn, minimum=1)


def result_float_dtype(*arrays: np.ndarray) -> np.dtype:
    """The floating dtype an op computes in, given its array operands.

    The rule: floating operands promote as NumPy promotes them (float32 with float64 gives
    float64; float16 computes as float32); integer and bool operands are cast to that floating
    dtype, or to the default dtype (float32, see :func:`convscope.backend.get_default_dtype`) when
    no operand is floating.

    Examples
    --------
    >>> result_float_dtype(np.zeros(1, np.float32), np.zeros(1, np.int64))
    dtype('float32')
    >>> result_float_dtype(np.zeros(1, np.float16))
    dtype('float32')
    """
    floats = [a.dtype for a in arrays if a is not None and a.dtype.kind == "f"]
    if not floats:
        return backend.get_default_dtype()
    dtype = np.result_type(*floats)
    return np.dtype(np.float32) if dtype.itemsize < 4 else dtype


def as_real_array(value: Any, name: str, fn: str, *, allow_complex: bool = False) -> np.ndarray:
    """Convert to an ndarray (no copy when it already is one) holding real, or complex, numbers.

    Parameters
    ----------
    value : array_like
        Nested sequences or an array of bool, integer or float (and complex when allowed).
    name, fn : str
        The argument and the function, for the message.
    allow_complex : bool
        Accept complex dtypes too.

    Returns
    -------
    ndarray
        ``np.asarray(value)``, its dtype unchanged.

    Raises
    ------
    ValueError
        If NumPy cannot make a rectangular array of it (ragged lists, objects).
    TypeError
        If its dtype is not numeric (strings, objects), or complex when not allowed.

    Examples
    --------
    >>> as_real_array([[1, 2], [3, 4]], "kernel", "apply").dtype
    dtype('int64')
    >>> as_real_array(np.ones(2, complex), "image", "apply")
    Traceback (most recent call last):
    ...
    TypeError: apply: image expects a real numeric array (bool, integer or float), but got dtype complex128
    """
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:         # ragged nested lists, objects NumPy cannot hold
        raise ValueError(f"{fn}: {name} expects a rectangular array of numbers, but got a "
                         f"{type(value).__name__} NumPy cannot convert ({exc})") from None
    if arr.dtype.kind not in ("biufc" if allow_complex else "biuf"):
        what = "a real or complex numeric array" if allow_complex else "a real numeric array (bool, integer or float)"
        raise TypeError(f"{fn}: {name} expects {what}, but got dtype {arr.dtype}")
    return arr


def as_float_array(value: Any, name: str, fn: str) -> np.ndarray:
    """Convert to an ndarray and check that it holds real numbers (bool, int or float).

    The same as :func:`as_real_array` without complex numbers (the name is historical: the
    dtype is not changed).

    Examples
    --------
    >>> as_float_array([True, False], "mask", "where").dtype
    dtype('bool')
    """
    return as_real_array(value, name, fn)


def check_float_dtype(dtype: Any, name: str, fn: str, *,
                      what: str = "a floating dtype (float16, float32 or float64)") -> np.dtype:
    """``dtype`` as a floating ``numpy.dtype``, else a TypeError saying ``fn: name expects what``.

    Parameters
    ----------
    dtype : dtype-like
        Anything ``numpy.dtype`` accepts (``np.float32``, ``"float64"``); None is refused (NumPy
        would read it as float64).
    name, fn : str
        The argument and the function, for the message.
    what : str
        The expectation in words.

    Returns
    -------
    numpy.dtype

    Raises
    ------
    TypeError
        If ``dtype`` is not a dtype, or not a floating one (integer, bool, complex).

    Examples
    --------
    >>> check_float_dtype("float32", "dtype", "to")
    dtype('float32')
    >>> check_float_dtype(np.uint8, "dtype", "apply", what="a floating dtype such as float32 or float64")
    Traceback (most recent call last):
    ...
    TypeError: apply: dtype expects a floating dtype such as float32 or float64, but got uint8
    """
    try:
        out = None if dtype is None else np.dtype(dtype)
    except (TypeError, ValueError):
        out = None
    if out is None:
        raise TypeError(f"{fn}: {name} expects {what}, but got {dtype!r}")
    if out.kind != "f":
        raise TypeError(f"{fn}: {name} expects {what}, but got {out}")
    return out


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

    Examples
    --------
    >>> padding_pairs("same", 1, "conv1d", spatial=(28,), kernel=(4,), stride=(1,), dilation=(1,))
    ((1, 2),)
    >>> padding_pairs(2, 2, "conv2d", spatial=(5, 5), kernel=(3, 3), stride=(1, 1), dilation=(1, 1))
    ((2, 2), (2, 2))
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
    """``mode`` if it is one of ``allowed``: :func:`check_choice` for the argument ``padding_mode``.

    Examples
    --------
    >>> check_padding_mode("zeros", "Conv2d", ("zeros", "reflect"))
    'zeros'
    """
    return check_choice(mode, "padding_mode", fn, allowed)


def check_addressable(shape: tuple[int, ...], itemsize: int, fn: str, what: str, because: str) -> None:
    """Refuse an array NumPy cannot even describe: a dim or a size in bytes above :data:`MAX_BYTES`.

    ``shape`` is what an op would allocate (``what``, e.g. ``"the padded input"``) and
    ``because`` names the arguments that make it so (``"padding=(4611686018427387904, 0)"``).
    Zero dims count as 1, so the check does not depend on an empty batch. Arrays below the bound
    but above the machine's memory are left to NumPy's ``MemoryError``.

    Examples
    --------
    >>> check_addressable((2**62, 4), 8, "pad", "a padded input", "pad=(2**62, 0)")
    Traceback (most recent call last):
    ...
    ValueError: pad: pad=(2**62, 0) expects a padded input of at most ... bytes (the most one array can address), ...
    """
    sizes = tuple(max(int(n), 1) for n in shape)
    total = math.prod(sizes) * itemsize
    if total > MAX_BYTES:
        raise ValueError(f"{fn}: {because} expects {what} of at most {MAX_BYTES} bytes (the most one array can "
                         f"address), but it would have shape {tuple(int(n) for n in shape)} ({total} bytes)")


def check_nonempty(shape: tuple[int, ...], fn: str, name: str, *, first: int, dims: tuple[str, ...]) -> None:
    """Refuse a zero in ``shape[first:]``: PyTorch's rule that only batch-like dims may be empty.

    ``dims`` names every dim, e.g. ``("N", "C", "H", "W")``; the message names the empty one.

    Examples
    --------
    >>> check_nonempty((1, 3, 0, 4), "conv2d", "input", first=1, dims=("N", "C", "H", "W"))
    Traceback (most recent call last):
    ...
    ValueError: conv2d: input expects non-zero sizes (only N may be 0) for a (N, C, H, W) input, but got shape (1, 3, 0, 4) (H is 0)
    """
    for axis in range(first, len(shape)):
        if shape[axis] == 0:
            allowed = f"only {' and '.join(dims[:first])} may be 0" if first else "none may be 0"
            raise ValueError(f"{fn}: {name} expects non-zero sizes ({allowed}) for a ({', '.join(dims)}) input, "
                             f"but got shape {tuple(shape)} ({dims[axis]} is 0)")
