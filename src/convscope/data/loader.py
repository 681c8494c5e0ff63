"""Mini-batches of NumPy arrays from a dataset, shuffled reproducibly and resumably."""

from __future__ import annotations

import math
from typing import Callable, Iterator

import numpy as np

from .. import random as _random
from .._validation import check_bool, check_int

__all__ = ["DataLoader"]


def _as_batch_images(images: np.ndarray) -> np.ndarray:
    """(B, H, W) -> (B, 1, H, W); uint8 -> float32 / 255; other integers -> float32; floats kept."""
    if images.ndim == 3:
        images = images[:, None]
    kind = images.dtype.kind
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255)
    if kind == "f":
        return images
    if kind in "iub":
        return images.astype(np.float32)
    raise TypeError(f"DataLoader: images expect a real numeric dtype (uint8, integer, bool or float), "
                    f"but the dataset gives {images.dtype}")


def _check_labels(labels: np.ndarray, where: str) -> np.ndarray:
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise TypeError(f"DataLoader: {where} expects integer class labels, one per item, "
                        f"but got dtype {labels.dtype} with shape {labels.shape}")
    return labels


class DataLoader:
    """Iterate over a dataset in mini-batches of NumPy arrays.

    Parameters
    ----------
    dataset : object with ``len(dataset)`` and ``dataset[i] -> (image, label)``
        E.g. :class:`MNIST`, :class:`FashionMNIST`, :class:`ArrayDataset`. If it also has
        ``.data`` and ``.targets`` NumPy arrays of its length, whole batches are sliced from
        them at once (no per-item Python loop); that assumes ``dataset[i]`` is
        ``(data[i], targets[i])`` up to the channel axis, as it is for the classes here.
    batch_size : int, default 1
        Items per batch; the last batch is smaller unless ``drop_last``.
    shuffle : bool, default False
        Visit the items in a new random order each pass.
    drop_last : bool, default False
        Leave out a last, incomplete batch.
    seed : int >= 0 or None
        Seeds shuffling and transforms. ``None`` draws one once, here, from
        :func:`convscope.random.get_generator` (so :func:`convscope.manual_seed` fixes it); it
        is then kept in ``loader.seed``.
    transform : callable ``transform(images, rng) -> images``, optional
        Applied to each whole float batch, e.g. a :mod:`convscope.data.transforms` pipeline.

    Yields
    ------
    images : numpy.ndarray, shape (B, C, H, W)
        uint8 images become float32 scaled to [0, 1] (``x / 255``); float images keep their
        dtype and values; other integer (and bool) images become float32 unscaled. Items of
        shape ``(H, W)`` gain a channel axis (``C = 1``). Always a fresh array, never a view of
        the dataset.
    labels : numpy.ndarray of int64, shape (B,)

    Notes
    -----
    Reproducible and resumable: the loader counts passes in ``loader.epoch`` (0 at first), and
    pass ``k`` visits the items in the order ``np.random.default_rng([seed, k]).permutation(N)``
    (or ``0 .. N-1`` without ``shuffle``). Finishing a pass sets the counter to ``k + 1``; a pass
    left early does not advance it. :meth:`set_epoch` sets it, like PyTorch's
    ``DistributedSampler.set_epoch``, so a run restarted with the same seed and
    ``set_epoch(k)`` sees exactly the batches of pass ``k`` again.

    Batch ``b`` of pass ``k`` is transformed with
    ``np.random.default_rng(np.random.SeedSequence([seed, k], spawn_key=(b,)))`` (the ``b``-th
    child of the pass's seed sequence, independent of the shuffling stream), so augmentation
    resumes identically too.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.data import ArrayDataset, DataLoader
    >>> ds = ArrayDataset(np.arange(10 * 4, dtype=np.uint8).reshape(10, 2, 2), np.arange(10))
    >>> loader = DataLoader(ds, batch_size=4, shuffle=True, seed=0)
    >>> len(loader), [labels.tolist() for _, labels in loader]
    (3, [[4, 6, 2, 7], [3, 5, 9, 0], [8, 1]])
    >>> loader.epoch
    1
    >>> images, labels = next(iter(DataLoader(ds, batch_size=4)))
    >>> images.shape, images.dtype, round(float(images.max()), 4)      # uint8 15 -> 15 / 255
    ((4, 1, 2, 2), dtype('float32'), 0.0588)
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 seed: int | None = None, transform: Callable | None = None):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: dataset expects an object with __len__ and __getitem__, "
                            f"but got {type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = check_int(batch_size, "batch_size", "DataLoader", minimum=1)
        self.shuffle = check_bool(shuffle, "shuffle", "DataLoader")
        self.drop_last = check_bool(drop_last, "drop_last", "DataLoader")
        if seed is None:
            seed = int(_random.get_generator().integers(2**63))
        self.seed = check_int(seed, "seed", "DataLoader", minimum=0)
        if transform is not None and not callable(transform):
            raise TypeError(f"DataLoader: transform expects a callable transform(images, rng) or None, "
                            f"but got {transform!r} ({type(transform).__name__})")
        self.transform = transform
        self._epoch = 0
        data, targets = getattr(dataset, "data", None), getattr(dataset, "targets", None)
        self._arrays = None
        if (isinstance(data, np.ndarray) and isinstance(targets, np.ndarray)
                and len(data) == len(targets) == len(dataset)):
            self._arrays = (data, _check_labels(targets, "dataset.targets"))

    @property
    def epoch(self) -> int:
        """The pass the next iteration will run (0, 1, ...)."""
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration run pass ``epoch`` (its order and its transforms)."""
        self._epoch = check_int(epoch, "epoch", "DataLoader.set_epoch", minimum=0)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def order(self, epoch: int | None = None) -> np.ndarray:
        """The item indices of pass ``epoch`` (default: the next pass), in visiting order, int64 (N,)."""
        epoch = self._epoch if epoch is None else check_int(epoch, "epoch", "DataLoader.order", minimum=0)
        n = len(self.dataset)
        if self.shuffle:
            return np.random.default_rng([self.seed, epoch]).permutation(n)
        return np.arange(n)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return self._run(self._epoch)

    def _run(self, epoch: int):
        order = self.order(epoch)
        for b in range(len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            images, labels = self._gather(idx)
            if self.transform is not None:
                images = self._transform(images, epoch, b)
            yield images, labels
        self._epoch = epoch + 1

    def _gather(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._arrays is not None:
            data, targets = self._arrays
            return _as_batch_images(np.take(data, idx, axis=0)), targets[idx].astype(np.int64)
        items = [self.dataset[int(i)] for i in idx]
        for item in items[:1]:
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise TypeError(f"DataLoader: dataset[i] expects an (image, label) pair, "
                                f"but dataset[{int(idx[0])}] is {type(item).__name__}")
        images = [np.asarray(image) for image, _ in items]
        shapes = {im.shape for im in images}
        if len(shapes) > 1:
            raise ValueError(f"DataLoader: expected images of one shape within a batch, "
                             f"but got shapes {sorted(shapes)}")
        labels = _check_labels(np.asarray([label for _, label in items]), "dataset[i][1]")
        return _as_batch_images(np.stack(images)), labels.astype(np.int64)

    def _transform(self, images: np.ndarray, epoch: int, b: int) -> np.ndarray:
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, epoch], spawn_key=(b,)))
        out = self.transform(images, rng)
        if not isinstance(out, np.ndarray) or out.ndim < 1 or len(out) != len(images):
            got = f"shape {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
            raise ValueError(f"DataLoader: transform expects to return an array of {len(images)} images, "
                             f"but returned {got}")
        return out

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}, epoch={self._epoch})")
