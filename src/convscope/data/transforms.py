"""Batched image transforms: each is a callable ``t(images, rng=None)`` on a float ``(B, C, H, W)`` batch.

A transform returns a new array and never modifies its input. Random transforms draw every choice
from ``rng`` (a :class:`numpy.random.Generator`; ``None`` means convscope's global generator,
:func:`convscope.random.get_generator`), one independent choice per image, so a batch is
reproducible from its generator. :class:`~convscope.data.DataLoader` passes each batch a generator
derived from ``(seed, epoch, batch index)``.

There is no ``ToFloat``: the loader already turns uint8 images into float32 in [0, 1] (``x / 255``)
before any transform runs, and the transforms here refuse integer input rather than guess a scale.

Examples
--------
>>> import numpy as np
>>> from convscope.data.transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip
>>> t = Compose([RandomCrop(28, padding=2), RandomHorizontalFlip(), Normalize(0.1307, 0.3081)])
>>> x = np.random.default_rng(0).random((8, 1, 28, 28), dtype=np.float32)
>>> t(x, np.random.default_rng(1)).shape
(8, 1, 28, 28)
"""

from __future__ import annotations

import numbers
from typing import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import random as _random
from .._validation import check_generator, check_padding_mode, to_tuple
from ..ops.pad import MODES, pad

__all__ = ["Compose", "Normalize", "RandomCrop", "RandomHorizontalFlip"]


def _check_batch(images, fn: str, ndim: int | None = None, min_ndim: int = 2) -> np.ndarray:
    if not isinstance(images, np.ndarray) or images.dtype.kind != "f":
        got = f"dtype {images.dtype}" if isinstance(images, np.ndarray) else type(images).__name__
        raise TypeError(f"{fn}: images expects a floating NumPy array (B, C, H, W) (DataLoader turns uint8 "
                        f"into float32 in [0, 1] before transforms), but got {got}")
    if (ndim is not None and images.ndim != ndim) or images.ndim < min_ndim:
        want = f"{ndim} dimensions (B, C, H, W)" if ndim is not None else f"at least {min_ndim} dimensions (B, C, ...)"
        raise ValueError(f"{fn}: images expects {want}, but got shape {images.shape}")
    return images


def _generator(rng, fn: str) -> np.random.Generator:
    if rng is None:
        return _random.get_generator()
    return check_generator(rng, "rng", fn)


class Normalize:
    """Per-channel standardisation: ``(x - mean[c]) / std[c]``.

    Parameters
    ----------
    mean, std : float or sequence of float
        One value for every channel, or one per channel. Every ``std`` must be > 0.

    The result keeps the input's float dtype. For MNIST the usual values are ``0.1307`` and
    ``0.3081``, the training set's pixel mean and standard deviation after scaling to [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> Normalize([0.5, 0.0], [0.5, 2.0])(np.ones((1, 2, 1, 1)))[0, :, 0, 0]
    array([1. , 0.5])
    """

    def __init__(self, mean, std):
        values = {}
        for name, value in (("mean", mean), ("std", std)):
            try:
                arr = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                arr = None
            if arr is None or arr.ndim > 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
                raise ValueError(f"Normalize: {name} expects a finite number or a sequence of finite numbers, "
                                 f"but got {value!r}")
            values[name] = tuple(float(v) for v in arr.ravel())
        if min(values["std"]) <= 0:
            raise ValueError(f"Normalize: std expects values > 0, but got {std!r}")
        n_mean, n_std = len(values["mean"]), len(values["std"])
        if n_mean != n_std and 1 not in (n_mean, n_std):
            raise ValueError(f"Normalize: mean and std expect the same number of channels, "
                             f"but got {n_mean} and {n_std} values")
        self.mean, self.std = values["mean"], values["std"]

    def __call__(self, images: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        images = _check_batch(images, "Normalize")
        channels = images.shape[1]
        n = max(len(self.mean), len(self.std))
        if n not in (1, channels):
            raise ValueError(f"Normalize: mean and std have {n} values, but images have {channels} channels "
                             f"(shape {images.shape})")
        shape = (1, -1) + (1,) * (images.ndim - 2)
        mean = np.asarray(self.mean, dtype=images.dtype).reshape(shape)
        std = np.asarray(self.std, dtype=images.dtype).reshape(shape)
        return (images - mean) / std

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class RandomCrop:
    """Pad the batch, then cut a ``size`` window at an independent random position in each image.

    Like torchvision's ``RandomCrop``, batched.

    Parameters
    ----------
    size : int or (int, int)
        Output ``(h, w)``; an int means square.
    padding : int or sequence of 2 or 4 ints, default 0
        Added around each image before cropping, in torchvision's order: an int pads all four
        sides; ``(lr, tb)`` pads left/right by ``lr`` and top/bottom by ``tb``; ``(left, top,
        right, bottom)`` sets each side.
    padding_mode : {'constant', 'reflect', 'replicate', 'circular'}, default 'constant'
        As in :func:`convscope.nn.functional.pad` (torchvision's ``'edge'`` is ``'replicate'``).
    fill : float, default 0
        The value of ``'constant'`` padding.

    Returns ``(B, C, h, w)`` from ``(B, C, H, W)``; the top-left corner of image ``b``'s window
    in the padded image is uniform over ``0 .. H + top + bottom - h`` (rows) and
    ``0 .. W + left + right - w`` (columns), rows drawn first for the whole batch.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> RandomCrop(4, padding=1)(x, np.random.default_rng(0)).shape
    (1, 1, 4, 4)
    """

    def __init__(self, size, padding=0, padding_mode: str = "constant", fill: float = 0.0):
        self.size = to_tuple(size, 2, "size", "RandomCrop", minimum=1)
        if isinstance(padding, (tuple, list)) and len(padding) == 2:
            lr, tb = to_tuple(padding, 2, "padding", "RandomCrop", minimum=0)
            self.padding = (lr, tb, lr, tb)
        elif isinstance(padding, (tuple, list)) and len(padding) != 4:
            raise ValueError(f"RandomCrop: padding expects an int, 2 ints (left/right, top/bottom) or "
                             f"4 ints (left, top, right, bottom), but got {len(padding)} values {tuple(padding)!r}")
        else:
            self.padding = to_tuple(padding, 4, "padding", "RandomCrop", minimum=0)
        self.padding_mode = check_padding_mode(padding_mode, "RandomCrop", MODES)
        if isinstance(fill, bool) or not isinstance(fill, numbers.Real):
            raise TypeError(f"RandomCrop: fill expects a number, but got {fill!r} ({type(fill).__name__})")
        self.fill = float(fill)

    def __call__(self, images: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        images = _check_batch(images, "RandomCrop", ndim=4)
        rng = _generator(rng, "RandomCrop")
        left, top, right, bottom = self.padding
        height, width = images.shape[2:]
        if self.padding_mode in ("reflect", "circular"):
            limit_h, limit_w = (height - 1, width - 1) if self.padding_mode == "reflect" else (height, width)
            if max(top, bottom) > limit_h or max(left, right) > limit_w:
                raise ValueError(f"RandomCrop: padding_mode {self.padding_mode!r} expects padding of at most "
                                 f"{limit_h} rows and {limit_w} columns for images of {height}x{width}, "
                                 f"but got padding {self.padding} (left, top, right, bottom)")
        padded = pad(images, [(top, bottom), (left, right)], self.padding_mode, self.fill) \
            if any(self.padding) else images
        h, w = self.size
        ph, pw = padded.shape[2:]
        if h > ph or w > pw:
            raise ValueError(f"RandomCrop: size {self.size} expects images of at least that size after padding, "
                             f"but the padded images are {ph}x{pw} (input {height}x{width}, padding {self.padding})")
        batch = len(images)
        tops = rng.integers(0, ph - h + 1, size=batch)
        lefts = rng.integers(0, pw - w + 1, size=batch)
        windows = sliding_window_view(padded, (h, w), axis=(2, 3))      # (B, C, ph-h+1, pw-w+1, h, w), a view
        return windows[np.arange(batch), :, tops, lefts]                 # (B, C, h, w), a copy

    def __repr__(self) -> str:
        return (f"RandomCrop(size={self.size}, padding={self.padding}, padding_mode={self.padding_mode!r}, "
                f"fill={self.fill})")


class RandomHorizontalFlip:
    """Mirror each image left-right (the last axis) with probability ``p``, independently.

    Parameters
    ----------
    p : float in [0, 1], default 0.5

    Examples
    --------
    >>> import numpy as np
    >>> RandomHorizontalFlip(p=1.0)(np.array([[[[1.0, 2.0, 3.0]]]]))
    array([[[[3., 2., 1.]]]])
    """

    def __init__(self, p: float = 0.5):
        if isinstance(p, bool) or not isinstance(p, numbers.Real):
            raise TypeError(f"RandomHorizontalFlip: p expects a probability in [0, 1], "
                            f"but got {p!r} ({type(p).__name__})")
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p expects a probability in [0, 1], but got {p!r}")
        self.p = float(p)

    def __call__(self, images: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        images = _check_batch(images, "RandomHorizontalFlip")
        rng = _generator(rng, "RandomHorizontalFlip")
        flip = (rng.random(len(images)) < self.p).reshape((-1,) + (1,) * (images.ndim - 1))
        return np.where(flip, images[..., ::-1], images)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class Compose:
    """Apply transforms in order, all drawing from the same generator.

    Parameters
    ----------
    transforms : sequence of callables ``t(images, rng)``

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.data import Compose, Normalize, RandomHorizontalFlip
    >>> t = Compose([RandomHorizontalFlip(), Normalize(0.5, 0.5)])
    >>> t(np.ones((2, 1, 3, 3), np.float32), np.random.default_rng(0))[0, 0]
    array([[1., 1., 1.],
           [1., 1., 1.],
           [1., 1., 1.]], dtype=float32)
    """

    def __init__(self, transforms: Sequence[Callable]):
        if not isinstance(transforms, (list, tuple)):
            raise TypeError(f"Compose: transforms expects a list or tuple of callables, "
                            f"but got {type(transforms).__name__}")
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"Compose: transforms expects callables t(images, rng), "
                                f"but item {i} is {t!r} ({type(t).__name__})")
        self.transforms = list(transforms)

    def __call__(self, images: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        rng = _generator(rng, "Compose")
        for t in self.transforms:
            images = t(images, rng)
        return images

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"
