"""Pooling: max, average and adaptive average pools in 1-D, 2-D and 3-D, each a Function whose
geometry (kernel, stride, padding, dilation, output size) is in its options (:mod:`convscope.ops.pool`)."""

from __future__ import annotations

import numpy as np

from ... import _validation as V
from ...autograd import Function, Tensor
from ...ops import pool as pool_ops
from ._common import SPATIAL_NAMES, float_operand

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "PoolFunction", "MaxPoolFunction", "AvgPoolFunction", "AdaptiveAvgPoolFunction"]


class PoolFunction(Function):
    """A pooling op of (N, C, *s) or unbatched (C, *s) input, its geometry in its options:
    adds the batch axis if missing and hands the arrays to the subclass's ``pool``/``unpool``.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import Tensor
    >>> from convscope.autograd import register_op_hook
    >>> import convscope.nn.functional as F
    >>> calls = []
    >>> with register_op_hook(calls.append):
    ...     y = F.max_pool2d(Tensor(np.zeros((1, 1, 6, 6))), 3, stride=2, padding=1)
    >>> calls[0].function.__name__, calls[0].name, calls[0].geometry["kernel"], calls[0].geometry["output_size"]
    ('MaxPoolFunction', 'max_pool2d', (3, 3), (3, 3))
    """

    @classmethod
    def describe(cls, arrays, options, output):
        """``max_pool2d`` (the rank from the geometry) and kernel, stride, ..., output_size."""
        geometry = {key: tuple(v) if isinstance(v, (tuple, list)) else v for key, v in options.items()}
        n = len(geometry.get("kernel_size", geometry.get("output_size", ())))
        geometry["output_size"] = tuple(np.shape(output)[-n:]) if n else ()
        if "kernel_size" in geometry:
            geometry["kernel"] = geometry.pop("kernel_size")
        return f"{cls.name}{n}d", geometry

    @classmethod
    def forward(cls, ctx, x, **options):
        n = len(options.get("kernel_size", options.get("output_size", ())))
        batched = x.ndim == n + 2
        xx = x if batched else x[None]
        y, cache = cls.pool(xx, **options)
        ctx.save_for_backward(cache, xx.shape)
        ctx.batched, ctx.options = batched, options
        if cls.multiple_outputs:
            return (y, cache) if batched else (y[0], cache[0])
        return y if batched else y[0]

    @classmethod
    def backward(cls, ctx, g):
        cache, shape = ctx.saved
        gx = cls.unpool(g if ctx.batched else g[None], cache, shape, **ctx.options)
        return (gx if ctx.batched else gx[0],)


class MaxPoolFunction(PoolFunction):
    """Max pooling; returns ``(values, indices)``: the flat index of each maximum in its plane.

    Examples
    --------
    >>> import numpy as np
    >>> values, indices = MaxPoolFunction.apply(np.array([[1., 5., 2., 4.]]), kernel_size=(2,), stride=(2,),
    ...                                         padding=(0,), dilation=(1,), ceil_mode=False)
    >>> values.tolist(), indices.tolist()
    ([[5.0, 4.0]], [[1, 3]])
    """

    name = "max_pool"
    multiple_outputs = True

    @staticmethod
    def pool(x, *, kernel_size, stride, padding, dilation, ceil_mode):
        return pool_ops.max_pool_forward(x, kernel_size, stride, padding, dilation, ceil_mode)

    @staticmethod
    def unpool(g, indices, shape, **options):
        return pool_ops.max_pool_backward(g, indices, shape)


class AvgPoolFunction(PoolFunction):
    """Average pooling (the divisor rule in :func:`convscope.ops.pool.avg_pool_forward`).

    Examples
    --------
    >>> import numpy as np
    >>> AvgPoolFunction.apply(np.array([[1., 2., 3., 4.]]), kernel_size=(2,), stride=(2,), padding=(0,),
    ...                       ceil_mode=False, count_include_pad=True, divisor_override=None).tolist()
    [[1.5, 3.5]]
    """

    name = "avg_pool"

    @staticmethod
    def pool(x, *, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
        return pool_ops.avg_pool_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                         divisor_override), None

    @staticmethod
    def unpool(g, _, shape, *, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
        return pool_ops.avg_pool_backward(g, shape, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                          divisor_override)


class AdaptiveAvgPoolFunction(PoolFunction):
    """Adaptive average pooling into ``output_size`` bins per spatial dim.

    Examples
    --------
    >>> import numpy as np
    >>> AdaptiveAvgPoolFunction.apply(np.ones((2, 3, 7, 7)), output_size=(1, 1)).shape
    (2, 3, 1, 1)
    """

    name = "adaptive_avg_pool"

    @staticmethod
    def pool(x, *, output_size):
        return pool_ops.adaptive_avg_pool_forward(x, output_size), None

    @staticmethod
    def unpool(g, _, shape, *, output_size):
        return pool_ops.adaptive_avg_pool_backward(g, shape)


def _pool_input(input, n: int, fn: str, *, empty_channels: bool = False, keep_integers: bool = False):
    """The operand of a pool and its spatial shape, with PyTorch's rule for empty dims: only the
    batch dim N of a batched input may be 0 (and the channels too where ``empty_channels``, as
    PyTorch's adaptive average pools allow). ``keep_integers`` keeps an integer array or Tensor
    in its dtype (max pooling is exact on integers) instead of casting it to floating."""
    if keep_integers and (input.dtype if isinstance(input, Tensor) else np.asarray(input).dtype).kind in "iu":
        x = input if isinstance(input, Tensor) else np.asarray(input)
    else:
        x = float_operand(input, "input", fn)
    data = x.data if isinstance(x, Tensor) else x
    names = SPATIAL_NAMES[n]
    if data.ndim not in (n + 1, n + 2):
        raise ValueError(f"{fn}: input expects {n + 1} dimensions (C, {names}) or {n + 2} (N, C, {names}), "
                         f"but got shape {data.shape}")
    batched = data.ndim == n + 2
    first = (2 if batched else 1) if empty_channels else (1 if batched else 0)
    V.check_nonempty(data.shape, fn, "input", first=first,
                     dims=(("N",) if batched else ()) + ("C",) + tuple(names.split(", ")))
    return x, data.shape[-n:]


def _pool_geometry(n, fn, spatial, kernel_size, stride, padding, dilation, ceil_mode):
    kernel = V.to_tuple(kernel_size, n, "kernel_size", fn, minimum=1)
    stride = kernel if (stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)) \
        else V.to_tuple(stride, n, "stride", fn, minimum=1)
    padding = V.to_tuple(padding, n, "padding", fn, minimum=0)
    dilation = V.to_tuple(dilation, n, "dilation", fn, minimum=1)
    for p, k in zip(padding, kernel):
        if p > k // 2:
            raise ValueError(f"{fn}: padding expects at most half the kernel size (kernel_size // 2), but got "
                             f"padding={padding} for kernel_size={kernel}")
    out = pool_ops.pool_output_shape(spatial, kernel, stride, padding, dilation, bool(ceil_mode))
    if min(out) <= 0:
        raise ValueError(f"{fn}: input of spatial size {tuple(spatial)} expects to hold at least one window of "
                         f"kernel_size={kernel} (dilation={dilation}, padding={padding}), but the output would be {out}")
    # Flat indices into the padded plane (and the tap numbers of a window) must fit int64.
    padded = tuple(size + 2 * p for size, p in zip(spatial, padding))
    V.check_addressable(padded, 8, fn, "a padded input plane", f"kernel_size={kernel} with padding={padding}")
    # Values that change nothing, so that the ops' int64 arithmetic never sees a huge one: a 1-tap
    # window ignores its dilation; a dilation past the padded input (possible with ceil_mode only,
    # and only with a single window) leaves tap 0 the only one that reads an input element; a dim
    # with one window ignores its stride once that is past the window's whole reach.
    dilation = tuple(1 if k == 1 else min(d, size) for k, d, size in zip(kernel, dilation, padded))
    stride = tuple(s if o > 1 else min(s, size + d * (k - 1) + 1)
                   for s, o, size, d, k in zip(stride, out, padded, dilation, kernel))
    return kernel, stride, padding, dilation


def _max_poolnd(n, fn, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, spatial = _pool_input(input, n, fn, keep_integers=True)
    kernel, stride, padding, dilation = _pool_geometry(n, fn, spatial, kernel_size, stride, padding, dilation,
                                                       ceil_mode)
    y, indices = MaxPoolFunction.apply(x, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                                       ceil_mode=bool(ceil_mode))
    return (y, indices) if return_indices else y


def _avg_poolnd(n, fn, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    x, spatial = _pool_input(input, n, fn)
    kernel, stride, padding, _ = _pool_geometry(n, fn, spatial, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None:
        divisor_override = V.check_int(divisor_override, "divisor_override", fn, minimum=1)
    return AvgPoolFunction.apply(x, kernel_size=kernel, stride=stride, padding=padding, ceil_mode=bool(ceil_mode),
                                 count_include_pad=bool(count_include_pad), divisor_override=divisor_override)


def _adaptive_avg_poolnd(n, fn, input, output_size):
    # PyTorch lets N and C be 0 here (its 3-D version refuses C == 0 when batched; convscope does not).
    x, spatial = _pool_input(input, n, fn, empty_channels=True)
    if isinstance(output_size, (tuple, list)):
        output_size = tuple(s if s is not None else size for s, size in zip(output_size, spatial)) \
            if len(output_size) == n else output_size
    out = V.to_tuple(output_size, n, "output_size", fn, minimum=1)
    data = x.data if isinstance(x, Tensor) else x
    V.check_addressable(data.shape[:-n] + out, data.itemsize, fn, "an output", f"output_size={output_size!r}")
    return AdaptiveAvgPoolFunction.apply(x, output_size=out)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over each window of a (N, C, L) or (C, L) input; the 1-D :func:`max_pool2d`.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> x = np.array([[1., 5., 2., 4., 3.]])
    >>> F.max_pool1d(x, 2), F.max_pool1d(x, 2, ceil_mode=True)   # ceil_mode keeps the partial window
    (array([[5., 4.]]), array([[5., 4., 3.]]))
    """
    return _max_poolnd(1, "max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over each window of a (N, C, H, W) input, like ``torch.nn.functional.max_pool2d``.

    ``stride`` defaults to ``kernel_size``; padding is implicit -inf (an integer input's minimum:
    integer input is pooled exactly, in its dtype) and at most half the kernel;
    each output size is ``floor((size + 2p - d(k - 1) - 1) / s) + 1`` (``ceil`` with
    ``ceil_mode``, dropping a last window that would start in the right padding). The gradient
    goes to each window's maximum (the first one in scan order on ties). With
    ``return_indices`` also returns the flat index of each maximum within its input plane.

    A dilated window whose taps all fall in the padding gives ``-inf`` with index -1 and passes
    no gradient (PyTorch reports an index outside the window there and writes its gradient to it).

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> x = np.arange(16.).reshape(1, 1, 4, 4)
    >>> F.max_pool2d(x, 2).shape
    (1, 1, 2, 2)
    >>> values, indices = F.max_pool2d(x, 2, return_indices=True)
    >>> values[0, 0].tolist(), indices[0, 0].tolist()
    ([[5.0, 7.0], [13.0, 15.0]], [[5, 7], [13, 15]])
    >>> F.max_pool2d(np.arange(16, dtype=np.uint8).reshape(1, 4, 4), 2).dtype   # integers kept exactly
    dtype('uint8')
    """
    return _max_poolnd(2, "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over each window of a (N, C, D, H, W) or (C, D, H, W) input; the 3-D :func:`max_pool2d`.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> x = np.arange(64.).reshape(1, 1, 4, 4, 4)
    >>> F.max_pool3d(x, 2).shape, float(F.max_pool3d(x, 4).max())
    ((1, 1, 2, 2, 2), 63.0)
    """
    return _max_poolnd(3, "max_pool3d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over each window of a (N, C, L) or (C, L) input; the 1-D :func:`avg_pool2d` (no
    ``divisor_override``, as in PyTorch).

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> x = np.array([[[1., 2., 3.]]])
    >>> F.avg_pool1d(x, 2, padding=1), F.avg_pool1d(x, 2, padding=1, count_include_pad=False)
    (array([[[0.5, 2.5]]]), array([[[1. , 2.5]]]))
    """
    return _avg_poolnd(1, "avg_pool1d", input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over each window of a (N, C, H, W) input, like ``torch.nn.functional.avg_pool2d``.

    The divisor counts the zero padding when ``count_include_pad`` (never positions past the
    padding that ``ceil_mode`` adds), only real inputs otherwise, or is ``divisor_override``.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> x = np.arange(16.).reshape(1, 1, 4, 4)
    >>> F.avg_pool2d(x, 2)[0, 0].tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    >>> F.avg_pool2d(x, 2, divisor_override=1)[0, 0].tolist()    # window sums
    [[10.0, 18.0], [42.0, 50.0]]
    """
    return _avg_poolnd(2, "avg_pool2d", input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over each window of a (N, C, D, H, W) or (C, D, H, W) input; the 3-D :func:`avg_pool2d`.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.avg_pool3d(np.ones((2, 4, 4, 4)), 2, stride=1).shape     # unbatched (C, D, H, W)
    (2, 3, 3, 3)
    """
    return _avg_poolnd(3, "avg_pool3d", input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)


def adaptive_avg_pool1d(input, output_size):
    """Average into ``output_size`` bins whatever the length; the 1-D :func:`adaptive_avg_pool2d`.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.adaptive_avg_pool1d(np.array([[[1., 2., 3., 4., 5.]]]), 2)   # bins [0, 3) and [2, 5) overlap
    array([[[2., 4.]]])
    """
    return _adaptive_avg_poolnd(1, "adaptive_avg_pool1d", input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """Average into ``output_size`` bins per dim whatever the input size; bin ``i`` of a dim of
    size ``n`` covers ``[floor(i n / out), ceil((i + 1) n / out))``. ``None`` keeps a dim's size.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.adaptive_avg_pool2d(np.arange(16.).reshape(1, 1, 4, 4), 1).tolist()   # global average pooling
    [[[[7.5]]]]
    >>> F.adaptive_avg_pool2d(np.ones((1, 1, 5, 3)), (2, None)).shape
    (1, 1, 2, 3)
    """
    return _adaptive_avg_poolnd(2, "adaptive_avg_pool2d", input, output_size)


def adaptive_avg_pool3d(input, output_size):
    """Average into ``output_size`` bins per dim of (N, C, D, H, W); the 3-D :func:`adaptive_avg_pool2d`.

    Examples
    --------
    >>> import numpy as np, convscope.nn.functional as F
    >>> F.adaptive_avg_pool3d(np.ones((1, 2, 5, 6, 7)), (1, 2, 3)).shape
    (1, 2, 1, 2, 3)
    """
    return _adaptive_avg_poolnd(3, "adaptive_avg_pool3d", input, output_size)
