"""Slow, obviously-correct convolutions straight from the definitions.

These are what the fast engine in :mod:`convscope.ops.conv` is tested against (besides PyTorch
and finite differences), and what a learner can read to see what a conv layer computes. They take
the same normalised arguments as the fast ops and are written for clarity, not speed: one Python
iteration per output (or input) position.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .conv import output_shape, transpose_output_shape

Ints = Sequence[int]


def conv_reference(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: Ints,
                   padding: Sequence[tuple[int, int]], dilation: Ints, groups: int) -> np.ndarray:
    """Cross-correlation by definition: each output is a window of the input dotted with a filter.

    ``y[n, o, p] = b[o] + sum over c in o's group and taps k of x_pad[n, c, p*s + k*d] * w[o, c, k]``

    Examples
    --------
    >>> x, w = np.arange(16.).reshape(1, 1, 4, 4), np.ones((1, 1, 3, 3))
    >>> conv_reference(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1).tolist()
    [[[[45.0, 54.0], [81.0, 90.0]]]]
    >>> from convscope.ops.conv import conv_forward
    >>> np.allclose(conv_reference(x, w, None, (2, 2), ((1, 1), (1, 1)), (1, 1), 1),
    ...             conv_forward(x, w, None, (2, 2), ((1, 1), (1, 1)), (1, 1), 1))
    True
    """
    xp = np.pad(x, [(0, 0), (0, 0)] + [tuple(p) for p in padding])
    N, C = x.shape[:2]
    O, Cg, *kernel = w.shape
    Og = O // groups
    out = output_shape(x.shape[2:], kernel, stride, padding, dilation)
    y = np.zeros((N, O) + out, dtype=np.result_type(x, w))
    for pos in np.ndindex(*out):
        # The receptive window of output position `pos`: (N, C, *kernel).
        window = xp[(slice(None), slice(None)) + tuple(
            slice(p * s, p * s + d * (k - 1) + 1, d) for p, s, d, k in zip(pos, stride, dilation, kernel))]
        for g in range(groups):
            chans = window[:, g * Cg:(g + 1) * Cg]
            filters = w[g * Og:(g + 1) * Og]
            axes = list(range(1, chans.ndim))
            y[(slice(None), slice(g * Og, (g + 1) * Og)) + pos] = np.tensordot(chans, filters, axes=(axes, axes))
    if b is not None:
        y += b.reshape((1, -1) + (1,) * len(out))
    return y


def conv_transpose_reference(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: Ints,
                             padding: Ints, output_padding: Ints, dilation: Ints, groups: int) -> np.ndarray:
    """Transposed conv by definition: each input value scatters a weighted copy of its filters.

    Input position ``i`` adds ``x[n, c, i] * w[c, o, k]`` to output position ``i*s + k*d - p``.

    Examples
    --------
    >>> x, w = np.array([[[[1., 2.], [3., 4.]]]]), np.ones((1, 1, 2, 2))
    >>> conv_transpose_reference(x, w, None, (1, 1), (0, 0), (0, 0), (1, 1), 1)[0, 0].tolist()
    [[1.0, 3.0, 2.0], [4.0, 10.0, 6.0], [3.0, 7.0, 4.0]]
    """
    N, C = x.shape[:2]
    _, Og, *kernel = w.shape
    Cg = C // groups
    out = transpose_output_shape(x.shape[2:], kernel, stride, padding, output_padding, dilation)
    full = tuple(o + 2 * p for o, p in zip(out, padding))   # before cropping the padding
    y = np.zeros((N, Og * groups) + full, dtype=np.result_type(x, w))
    for pos in np.ndindex(*x.shape[2:]):
        target = tuple(slice(i * s, i * s + d * (k - 1) + 1, d) for i, s, d, k in zip(pos, stride, dilation, kernel))
        for g in range(groups):
            values = x[(slice(None), slice(g * Cg, (g + 1) * Cg)) + pos]          # (N, Cg)
            stamp = np.tensordot(values, w[g * Cg:(g + 1) * Cg], axes=(1, 0))     # (N, Og, *kernel)
            y[(slice(None), slice(g * Og, (g + 1) * Og)) + target] += stamp
    y = y[(slice(None), slice(None)) + tuple(slice(p, p + o) for p, o in zip(padding, out))]
    if b is not None:
        y = y + b.reshape((1, -1) + (1,) * len(out))
    return y


def convolve_true_2d(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """True (mathematical) 2-D convolution, 'valid' region: the kernel is flipped before sliding.

    ``(image * kernel)[i, j] = sum_{u, v} image[i + u, j + v] * kernel[kh - 1 - u, kw - 1 - v]``.
    CNN layers skip the flip (cross-correlation); for a symmetric kernel the two agree.

    Examples
    --------
    A kernel with a single 1 in its top-left corner picks each window's bottom-right element
    once flipped, where cross-correlation picks the top-left one:

    >>> image, kernel = np.arange(9.).reshape(3, 3), np.array([[1., 0.], [0., 0.]])
    >>> convolve_true_2d(image, kernel).tolist()
    [[4.0, 5.0], [7.0, 8.0]]
    >>> conv_reference(image[None, None], kernel[None, None], None, (1, 1), ((0, 0), (0, 0)),
    ...                (1, 1), 1)[0, 0].tolist()
    [[0.0, 1.0], [3.0, 4.0]]
    """
    flipped = kernel[::-1, ::-1]
    kh, kw = kernel.shape
    H, W = image.shape
    out = np.zeros((H - kh + 1, W - kw + 1), dtype=np.result_type(image, kernel, np.float64))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + kh, j:j + kw] * flipped)
    return out
