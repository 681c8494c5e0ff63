"""What an op would return, worked out from its operands' shapes and options: the shape-only pass.

:func:`convscope.analysis.summary` traces a model without computing it. When the tracer (see
:mod:`convscope.analysis.trace`) sees an op applied to Tensors, it asks :func:`output_spec` for
the shape and dtype that the op's ``forward`` would return, and hands the model a
:func:`placeholder` of that shape instead (through :func:`convscope.autograd.shape_only`); an
op's rule is found by its public name (``Function.name``). A placeholder is an array of zeros
whose strides are all 0, so it takes one element of memory whatever its shape. :mod:`convscope.nn.functional` has
already checked the arguments before applying the op, as it does in a real pass, so a bad input
fails in the same way; only the ``forward`` is skipped. The idea is JAX's ``jax.eval_shape`` and
PyTorch's ``meta`` tensors.

Each rule mirrors its op's forward:

================  =============================================================================
op                output shape
================  =============================================================================
conv              ``(N, O, *out)``, ``out = (size + lo + hi - d(k - 1) - 1) // s + 1``
transposed conv   ``(N, O, *out)``, ``out = (size - 1)s - 2p + d(k - 1) + output_padding + 1``
pad               each padded dim grows by ``before + after``
max, avg pool     ``(N, C, *out)``, ``out = floor_or_ceil((size + 2p - d(k - 1) - 1) / s) + 1``
adaptive pool     ``(N, C, *output_size)``
interpolate       ``(N, C, *size)``
linear, matmul    ``(*, out_features)``; NumPy's matmul rule
elementwise       the operands' broadcast shape (activations, arithmetic, batch norm, casts)
reshape, permute  what the same NumPy call gives on a placeholder (a zero-strided array is
basic indexing    reshaped, transposed and sliced as a view, so nothing is allocated)
sum, mean, max    the reduced dims dropped (kept as 1 with ``keepdim``)
cat               the operands' common shape, the concatenation dim summed
================  =============================================================================

The dtype is the one the forward computes in: that of :func:`convscope._validation.result_float_dtype`
for convs and linear layers, the input's for pools, interpolation and batch norm, and for the
elementwise ops, reductions and ``cat`` the dtype of the op's own ``forward`` run on probes of one
element per dim (which also checks their ``dim`` arguments as the real op does).

Ops without a rule here (losses, advanced or boolean indexing, batch norm in training, which
updates its running statistics, ops convscope does not know) make :func:`output_spec`
return None; the tracer then runs them for real.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .. import _validation as V
from .. import autograd
from ..ops import conv as conv_ops
from ..ops import pool as pool_ops

__all__ = ["placeholder", "output_spec", "stand_in", "Spec"]

Spec = tuple[tuple[int, ...], np.dtype]
_MAX_BYTES = np.iinfo(np.intp).max


# ops are known by their public name (``Function.name``), never by their class
POOLS = ("max_pool", "avg_pool", "adaptive_avg_pool")
ELEMENTWISE = ("add", "sub", "mul", "div", "neg", "pow", "exp", "log", "abs", "cast",
               "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "hardtanh", "clamp",
               "hardsigmoid", "hardswish")
REDUCTIONS = ("sum", "mean", "max")


def placeholder(shape, dtype) -> np.ndarray:
    """A read-only array of zeros of ``shape`` that holds one element (every stride is 0).

    Parameters
    ----------
    shape : tuple of int
    dtype : numpy dtype

    Returns
    -------
    numpy.ndarray
        ``np.broadcast_to(np.zeros((), dtype), shape)``: ``.shape``, ``.size`` and ``.nbytes``
        are those of the full array; reading it gives zeros; writing to it raises.

    Raises
    ------
    ValueError
        When an array of this shape and dtype would exceed the bytes NumPy can index (``2**63 - 1``
        on 64-bit machines).

    Examples
    --------
    >>> p = placeholder((1, 3, 20000, 20000), np.float32)
    >>> p.nbytes, p.strides
    (4800000000, (0, 0, 0, 0))
    """
    shape = tuple(int(s) for s in shape)
    dtype = np.dtype(dtype)
    size = math.prod(shape) * dtype.itemsize
    if size > _MAX_BYTES:
        raise ValueError(f"shape-only pass: an array of shape {shape} ({dtype}) expects at most {_MAX_BYTES:,} bytes "
                         f"(the most NumPy can index), but would take {size:,}")
    return np.broadcast_to(np.zeros((), dtype=dtype), shape)


# --------------------------------------------------------------------------- helpers

def _probe(value):
    """An array of ones of ``value``'s dtype and rank, one element per dim (non-arrays as they are)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return np.ones((1,) * np.ndim(value), dtype=value.dtype)
    return value


def _probe_dtype(cls, args, kwargs) -> np.dtype:
    """The dtype of ``cls.forward`` on probes: its own promotions and argument checks."""
    ctx = autograd.Context((False,) * len(args))
    return np.asarray(cls.forward(ctx, *(_probe(a) for a in args), **kwargs)).dtype


def _np_shape(shape) -> str:
    return "(" + ",".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _broadcast(*shapes) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError("operands could not be broadcast together with shapes "
                         + " ".join(_np_shape(s) for s in shapes)) from None


def _reduced(shape, dim, keepdim: bool) -> tuple[int, ...]:
    """``shape`` with the dims ``dim`` (None: all; an int or a tuple) reduced."""
    nd = len(shape)
    if dim is None:
        axes = set(range(nd))
    else:
        axes = {int(d) % max(nd, 1) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
    if keepdim:
        return tuple(1 if i in axes else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def _basic(index) -> bool:
    """Whether ``index`` is basic indexing (ints, slices, None, ...), which NumPy answers with a view."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, slice) or V._is_int(i) for i in items)


# --------------------------------------------------------------------------- the rules
# rule(cls, args, options) -> (shape, dtype) or None

def _conv(cls, args, kw) -> Spec:
    x, w, b = args
    n = w.ndim - 2
    out = conv_ops.output_shape(x.shape[-n:], w.shape[2:], kw["stride"], kw["padding"], kw["dilation"])
    lead = x.shape[:1] if x.ndim == w.ndim else ()
    return lead + (w.shape[0],) + tuple(out), V.result_float_dtype(x, w, b)


def _conv_transpose(cls, args, kw) -> Spec:
    x, w, b = args
    n = w.ndim - 2
    out = conv_ops.transpose_output_shape(x.shape[-n:], w.shape[2:], kw["stride"], kw["padding"],
                                          kw["output_padding"], kw["dilation"])
    lead = x.shape[:1] if x.ndim == w.ndim else ()
    return lead + (w.shape[1] * kw["groups"],) + tuple(out), V.result_float_dtype(x, w, b)


def _pad(cls, args, kw) -> Spec:
    (x,) = args
    shape = list(x.shape)
    lead = x.ndim - len(kw["pads"])
    for axis, (lo, hi) in enumerate(kw["pads"], start=lead):
        shape[axis] += lo + hi
    return tuple(shape), x.dtype


def _linear(cls, args, kw) -> Spec:
    x, w, b = args
    return x.shape[:-1] + (w.shape[0],), V.result_float_dtype(x, w, b)


def _matmul(cls, args, kw) -> Spec:
    a, b = args
    sa, sb = np.shape(a), np.shape(b)
    if not sa or not sb:
        raise ValueError("matmul: both operands expect at least 1 dimension, but one is a scalar")
    a2 = (1,) + sa if len(sa) == 1 else sa
    b2 = sb + (1,) if len(sb) == 1 else sb
    if a2[-1] != b2[-2]:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature "
                         f"(n?,k),(k,m?)->(n?,m?) (size {b2[-2]} is different from {a2[-1]})")
    batch = _broadcast(a2[:-2], b2[:-2])
    shape = batch + ((a2[-2],) if len(sa) > 1 else ()) + ((b2[-1],) if len(sb) > 1 else ())
    return shape, _probe_dtype(cls, args, kw)


def _pool(cls, args, kw) -> Spec:
    """A pool's geometry is in its options (already checked by the functional)."""
    (x,) = args
    if "output_size" in kw:
        out = tuple(kw["output_size"])
    else:
        kernel = tuple(kw["kernel_size"])
        out = pool_ops.pool_output_shape(x.shape[-len(kernel):], kernel, kw["stride"], kw["padding"],
                                         kw.get("dilation", (1,) * len(kernel)), bool(kw["ceil_mode"]))
    return x.shape[:-len(out)] + tuple(out), x.dtype


def _interpolate(cls, args, kw) -> Spec:
    (x,) = args
    return x.shape[:2] + tuple(kw["out"]), x.dtype


def _elementwise(cls, args, kw) -> Spec:
    shape = _broadcast(*(np.shape(a) for a in args))
    return shape, _probe_dtype(cls, args, kw)


def _dropout(cls, args, kw) -> Spec:
    (x,) = args
    mask = kw["mask"]
    return _broadcast(x.shape, np.shape(mask)), np.result_type(x.dtype, np.asarray(mask).dtype)


def _batch_norm(cls, args, kw) -> Spec | None:
    if kw.get("training"):
        return None                     # it updates the running statistics in place
    return args[0].shape, args[0].dtype


def _reshape(cls, args, kw) -> Spec:
    (a,) = args
    return np.reshape(placeholder(a.shape, a.dtype), kw["shape"]).shape, a.dtype


def _permute(cls, args, kw) -> Spec:
    (a,) = args
    ctx = autograd.Context((False,))
    return cls.forward(ctx, placeholder(a.shape, a.dtype), **kw).shape, a.dtype


def _index(cls, args, kw) -> Spec | None:
    (a,) = args
    if not _basic(kw["index"]):
        return None                     # advanced or boolean indexing copies (and may depend on values)
    return placeholder(a.shape, a.dtype)[kw["index"]].shape, a.dtype


def _reduction(cls, args, kw) -> Spec:
    (a,) = args
    dtype = _probe_dtype(cls, args, kw)                # NumPy's own check of dim
    shape = _reduced(np.shape(a), kw["dim"], kw["keepdim"])
    if cls.name == "max" and math.prod(np.shape(a)) == 0:
        raise ValueError("zero-size array to reduction operation maximum which has no identity")
    return shape, dtype


def _cat(cls, args, kw) -> Spec:
    dtype = _probe_dtype(cls, args, kw)                # NumPy's own checks of rank and dim
    shapes = [np.shape(a) for a in args]
    axis = kw["dim"] % len(shapes[0])
    for i, shape in enumerate(shapes[1:], start=1):
        for d, (m, k) in enumerate(zip(shapes[0], shape)):
            if d != axis and m != k:
                raise ValueError(f"all the input array dimensions except for the concatenation axis must match "
                                 f"exactly, but along dimension {d}, the array at index 0 has size {m} and the array "
                                 f"at index {i} has size {k}")
    shape = list(shapes[0])
    shape[axis] = sum(s[axis] for s in shapes)
    return tuple(shape), dtype


_RULES: dict[str, Callable[..., Spec | None]] = {
    "conv": _conv, "conv_transpose": _conv_transpose, "pad": _pad, "linear": _linear, "matmul": _matmul,
    "interpolate": _interpolate, "dropout": _dropout, "batch_norm": _batch_norm, "reshape": _reshape,
    "permute": _permute, "index": _index, "cat": _cat,
    **{name: _pool for name in POOLS},
    **{name: _elementwise for name in ELEMENTWISE},
    **{name: _reduction for name in REDUCTIONS},
}


def output_spec(cls: type, args: tuple, kwargs: dict[str, Any]) -> Spec | None:
    """The shape and dtype of the (first) output of ``cls.apply(*args, **kwargs)``, or None without a rule.

    Parameters
    ----------
    cls : type
        A :class:`convscope.autograd.Function` subclass; its rule is found by its public
        ``name`` (``"conv"``, ``"max_pool"``...).
    args : tuple
        Its positional operands, Tensors already unwrapped to their arrays (placeholders or not);
        only their shapes and dtypes are read.
    kwargs : dict
        Its options, as passed to ``apply``.

    Returns
    -------
    (shape, dtype) or None
        None for ops with no rule, or options the rule does not cover.

    Raises
    ------
    ValueError, TypeError, IndexError
        Where the op's forward would raise on operands of these shapes (a broadcast mismatch, a
        ``dim`` out of range).

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> x, w = placeholder((8, 3, 4096, 4096), np.float32), np.zeros((64, 3, 3, 3), np.float32)
    >>> output_spec(F.ConvFunction, (x, w, None), dict(stride=(2, 2), padding=((1, 1), (1, 1)), dilation=(1, 1),
    ...                                                 groups=1))
    ((8, 64, 2048, 2048), dtype('float32'))
    """
    rule = _RULES.get(getattr(cls, "name", None))
    if rule is None:
        return None
    spec = rule(cls, args, kwargs)
    if spec is None:
        return None
    shape, dtype = spec
    return tuple(int(s) for s in shape), np.dtype(dtype)


def stand_in(cls: type, args: tuple, kwargs: dict[str, Any]):
    """A placeholder for what ``cls.forward`` would return (a tuple for ops with
    ``multiple_outputs``: max pooling's values and int64 indices), or None without a rule.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> x = placeholder((2, 3, 8, 8), np.float32)
    >>> out = stand_in(F.ReluFunction, (x,), {})
    >>> out.shape, out.dtype, out.strides
    ((2, 3, 8, 8), dtype('float32'), (0, 0, 0, 0))
    >>> values, indices = stand_in(F.MaxPoolFunction, (x,), dict(kernel_size=(2, 2), stride=(2, 2),
    ...                                                         padding=(0, 0), ceil_mode=False))
    >>> values.shape, indices.dtype
    ((2, 3, 4, 4), dtype('int64'))
    """
    spec = output_spec(cls, args, kwargs)
    if spec is None:
        return None
    out = placeholder(*spec)
    if getattr(cls, "multiple_outputs", False):
        if cls.name not in POOLS:
            return None
        return out, placeholder(spec[0], np.int64)
    return out
