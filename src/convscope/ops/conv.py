"""One N-d convolution engine: forward, transposed, and their gradients, as pure array functions.

Conventions are PyTorch's: input ``x`` is ``(N, C, *spatial)``, weight ``w`` is
``(O, C // groups, *kernel)`` for a conv and ``(C, O // groups, *kernel)`` for a transposed conv.
What CNN layers call "convolution" is cross-correlation (the kernel is not flipped):

    y[n, o, p] = b[o] + sum_{c in group(o), k} x_pad[n, c, p * s + k * d] * w[o, c, k]

with ``p``, ``k``, ``s``, ``d`` multi-indices over the spatial dims. Each output dim has size
``(size + pad_before + pad_after - d * (k - 1) - 1) // s + 1``.

Each pass (the forward, the input gradient, the weight gradient) goes to the engine in
:mod:`convscope.ops.algorithms`, which picks an algorithm per shape (im2col + GEMM, a plain GEMM
for 1x1 kernels, direct shift-and-add for depthwise, Winograd, FFT, separable passes) with a cost
model; :func:`convscope.backend.set_algorithm` forces one. The gradients are convolutions
themselves (JAX's observation): the input gradient of a conv *is* the transposed conv's forward
and the other way round, so the four public ops below are the engine's three passes.

Memory: beyond its operands, a call allocates its output (and in backward its gradients) plus at
most the workspace bound of temporaries. Each output and gradient is checked against
:func:`convscope.backend.get_memory_limit` before it is allocated; above it,
:class:`convscope.ResourceError` names the op, the shape and the bytes. The op's name is
derived from the rank (``conv2d``, ``conv_transpose3d``) unless ``name=`` is given.

Nothing here validates: the callers in :mod:`convscope.nn.functional` do, once.

Examples
--------
Blocks change where the work is done, not the result:

>>> import numpy as np
>>> from convscope import backend
>>> from convscope.ops import conv
>>> x, w = np.ones((1, 1, 6, 6)), np.ones((2, 1, 3, 3))
>>> args = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)         # stride, padding, dilation, groups
>>> y = conv.conv_forward(x, w, None, *args)
>>> y[0, 0]
array([[4., 6., 6., 6., 6., 4.],
       [6., 9., 9., 9., 9., 6.],
       [6., 9., 9., 9., 9., 6.],
       [6., 9., 9., 9., 9., 6.],
       [6., 9., 9., 9., 9., 6.],
       [4., 6., 6., 6., 6., 4.]])
>>> with backend.chunk_target(1):                          # every block a single output position
...     np.array_equal(conv.conv_forward(x, w, None, *args), y)
True
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import algorithms

Ints = Sequence[int]
Pairs = Sequence[tuple[int, int]]

__all__ = [
    "output_shape",
    "transpose_output_shape",
    "conv_forward",
    "conv_backward",
    "conv_transpose_forward",
    "conv_transpose_backward",
]


# --------------------------------------------------------------------------- geometry

def output_shape(spatial: Ints, kernel: Ints, stride: Ints, padding: Pairs, dilation: Ints) -> tuple[int, ...]:
    """Output spatial shape of a conv: ``(size + lo + hi - d * (k - 1) - 1) // s + 1`` per dim.

    Examples
    --------
    A 3x3 kernel on 4x4, and a stride-2 5x5 kernel with padding 2 on 28x28:

    >>> output_shape((4, 4), (3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1))
    (2, 2)
    >>> output_shape((28, 28), (5, 5), (2, 2), ((2, 2), (2, 2)), (1, 1))
    (14, 14)
    """
    return tuple(
        (n + lo + hi - d * (k - 1) - 1) // s + 1
        for n, k, s, (lo, hi), d in zip(spatial, kernel, stride, padding, dilation)
    )


def transpose_output_shape(
    spatial: Ints, kernel: Ints, stride: Ints, padding: Ints, output_padding: Ints, dilation: Ints
) -> tuple[int, ...]:
    """Output spatial shape of a transposed conv: ``(n - 1) * s - 2p + d * (k - 1) + op + 1``.

    Examples
    --------
    Stride 2, padding 1 and output_padding 1 double 2x2 to 4x4:

    >>> transpose_output_shape((2, 2), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1))
    (4, 4)
    """
    return tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        for n, k, s, p, op, d in zip(spatial, kernel, stride, padding, output_padding, dilation)
    )


# --------------------------------------------------------------------------- public ops

def conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: Ints, padding: Pairs,
                 dilation: Ints, groups: int, *, name: str | None = None) -> np.ndarray:
    """N-d conv (cross-correlation) with zero padding ``padding`` = ``(before, after)`` per dim.

    Parameters
    ----------
    x : (N, C, *spatial) float array
    w : (O, C // groups, *kernel) array of the same dtype
    b : (O,) array or None
    stride, dilation : one positive int per spatial dim
    padding : one ``(before, after)`` pair of non-negative ints per spatial dim
    groups : positive int dividing C and O
    name : str, optional
        The op's name in error messages (default ``conv{N}d`` from the rank).

    Returns
    -------
    y : (N, O, *out) with ``out = output_shape(spatial, kernel, stride, padding, dilation)``

    Raises
    ------
    convscope.ResourceError
        The output would exceed :func:`convscope.backend.get_memory_limit`.

    Examples
    --------
    A 1x1x4x4 input and a 1x1x3x3 kernel of ones: each output sums one 3x3 window.

    >>> x, w = np.arange(16.).reshape(1, 1, 4, 4), np.ones((1, 1, 3, 3))
    >>> y = conv_forward(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    >>> y.shape
    (1, 1, 2, 2)
    >>> y.tolist()
    [[[[45.0, 54.0], [81.0, 90.0]]]]
    >>> float(conv_forward(x, w, np.array([0.5]), (1, 1), ((1, 1), (1, 1)), (1, 1), 1)[0, 0, 0, 0])
    10.5
    """
    name = name or f"conv{x.ndim - 2}d"
    out = output_shape(x.shape[2:], w.shape[2:], stride, padding, dilation)
    y = algorithms.forward(x, w, padding, stride, dilation, groups, out, name)
    if b is not None:
        y += b.reshape((1, -1) + (1,) * len(out))
    return y


def conv_backward(gy: np.ndarray, x: np.ndarray, w: np.ndarray, stride: Ints, padding: Pairs,
                  dilation: Ints, groups: int, needs: tuple[bool, bool, bool] = (True, True, True), *,
                  name: str | None = None):
    """Gradients ``(gx, gw, gb)`` of :func:`conv_forward`; an entry is None where not needed.

    Raises
    ------
    convscope.ResourceError
        A gradient would exceed :func:`convscope.backend.get_memory_limit`.

    Examples
    --------
    With an upstream gradient of ones, each input element gets the number of windows that
    cover it, and each weight tap the sum of the inputs it saw:

    >>> x, w = np.arange(16.).reshape(1, 1, 4, 4), np.ones((1, 1, 3, 3))
    >>> gx, gw, gb = conv_backward(np.ones((1, 1, 2, 2)), x, w, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    >>> gx[0, 0].tolist()
    [[1.0, 2.0, 2.0, 1.0], [2.0, 4.0, 4.0, 2.0], [2.0, 4.0, 4.0, 2.0], [1.0, 2.0, 2.0, 1.0]]
    >>> gw[0, 0].tolist()
    [[10.0, 14.0, 18.0], [26.0, 30.0, 34.0], [42.0, 46.0, 50.0]]
    >>> gb.tolist()
    [4.0]
    >>> conv_backward(np.ones((1, 1, 2, 2)), x, w, (1, 1), ((0, 0), (0, 0)), (1, 1), 1,
    ...               needs=(False, False, True))[:2]
    (None, None)
    """
    name = name or f"conv{x.ndim - 2}d"
    need_x, need_w, need_b = needs
    gx = gw = gb = None
    if need_b:
        gb = gy.sum(axis=(0,) + tuple(range(2, gy.ndim)))
    if need_w:
        gw = algorithms.weight_grad(x, gy, w.shape, padding, stride, dilation, groups, name)
    if need_x:
        gx = algorithms.input_grad(gy, w, x.shape[2:], [lo for lo, _ in padding], stride, dilation, groups,
                              name, "input gradient")
    return gx, gw, gb


def conv_transpose_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: Ints,
                           padding: Ints, output_padding: Ints, dilation: Ints, groups: int, *,
                           name: str | None = None) -> np.ndarray:
    """N-d transposed conv, the adjoint of :func:`conv_forward` with respect to its input.

    Parameters
    ----------
    x : (N, C, *spatial)
    w : (C, O // groups, *kernel)
    b : (O,) or None
    stride, padding, output_padding, dilation : one int per spatial dim
    name : str, optional
        The op's name in error messages (default ``conv_transpose{N}d`` from the rank).

    Returns
    -------
    y : (N, O, *out), ``out = (n - 1) * s - 2p + d * (k - 1) + output_padding + 1`` per dim

    Raises
    ------
    convscope.ResourceError
        The output would exceed :func:`convscope.backend.get_memory_limit`.

    Examples
    --------
    Each input value stamps a copy of the 2x2 kernel of ones; the stamps overlap at stride 1
    and tile the output at stride 2:

    >>> x, w = np.array([[[[1., 2.], [3., 4.]]]]), np.ones((1, 1, 2, 2))
    >>> conv_transpose_forward(x, w, None, (1, 1), (0, 0), (0, 0), (1, 1), 1)[0, 0].tolist()
    [[1.0, 3.0, 2.0], [4.0, 10.0, 6.0], [3.0, 7.0, 4.0]]
    >>> conv_transpose_forward(x, w, None, (2, 2), (0, 0), (0, 0), (1, 1), 1)[0, 0].tolist()
    [[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0], [3.0, 3.0, 4.0, 4.0], [3.0, 3.0, 4.0, 4.0]]
    """
    name = name or f"conv_transpose{x.ndim - 2}d"
    out = transpose_output_shape(x.shape[2:], w.shape[2:], stride, padding, output_padding, dilation)
    # The windows cover the positions [0, (n - 1) * s + d * (k - 1) + 1) per dim (output_padding
    # adds positions no window reaches); the output is that range cropped by padding, which the
    # fold writes directly.
    y = algorithms.input_grad(x, w, out, padding, stride, dilation, groups, name, "output")
    if b is not None:
        y += b.reshape((1, -1) + (1,) * len(out))
    return y


def conv_transpose_backward(gy: np.ndarray, x: np.ndarray, w: np.ndarray, stride: Ints, padding: Ints,
                            output_padding: Ints, dilation: Ints, groups: int,
                            needs: tuple[bool, bool, bool] = (True, True, True), *, name: str | None = None):
    """Gradients ``(gx, gw, gb)`` of :func:`conv_transpose_forward`.

    Raises
    ------
    convscope.ResourceError
        A gradient would exceed :func:`convscope.backend.get_memory_limit`.

    Examples
    --------
    With an upstream gradient of ones, each input value's gradient is the sum of its stamp
    (the kernel's 4 taps) and each tap's gradient the sum of the inputs (1 + 2 + 3 + 4):

    >>> x, w = np.array([[[[1., 2.], [3., 4.]]]]), np.ones((1, 1, 2, 2))
    >>> gx, gw, gb = conv_transpose_backward(np.ones((1, 1, 3, 3)), x, w, (1, 1), (0, 0), (0, 0), (1, 1), 1)
    >>> gx.tolist(), gw.tolist(), gb.tolist()
    ([[[[4.0, 4.0], [4.0, 4.0]]]], [[[[10.0, 10.0], [10.0, 10.0]]]], [9.0])
    """
    name = name or f"conv_transpose{x.ndim - 2}d"
    need_x, need_w, need_b = needs
    gx = gw = gb = None
    if need_b:
        gb = gy.sum(axis=(0,) + tuple(range(2, gy.ndim)))
    # The forward cropped `padding` from each side of the window range, so the input gradient
    # is a conv of gy zero-padded by it: the embedding of gy back into the uncropped range.
    pads = [(p, p) for p in padding]
    if need_x:
        gx = algorithms.forward(gy, w, pads, stride, dilation, groups, x.shape[2:], name, "input gradient")
    if need_w:
        gw = algorithms.weight_grad(gy, x, w.shape, pads, stride, dilation, groups, name)
    return gx, gw, gb
