"""Data for convscope: IDX files, MNIST / Fashion-MNIST, a bundled offline subset, a loader, transforms.

- :func:`read_idx` / :func:`write_idx`: the IDX format (gzip or raw), checked strictly.
- :class:`MNIST`, :class:`FashionMNIST`: the official files from a folder, with optional download
  from mirrors (MD5-verified); :meth:`MNIST.bundled` / :func:`load_bundled`: the class-balanced
  subset shipped inside the package (5000 train / 1000 test images each), SHA-256-verified.
- :class:`ArrayDataset`: your own arrays.
- :class:`DataLoader`: NumPy mini-batches, float32 ``(B, C, H, W)`` images and int64 labels,
  with reproducible, resumable shuffling (``set_epoch``).
- :mod:`convscope.data.transforms`: batched augmentation (``Normalize``, ``RandomCrop``,
  ``RandomHorizontalFlip``, ``Compose``).

Examples
--------
>>> from convscope.data import DataLoader, MNIST
>>> from convscope.data.transforms import Normalize
>>> loader = DataLoader(MNIST.bundled(train=True), batch_size=64, shuffle=True, seed=0,
...                     transform=Normalize(0.1307, 0.3081))
>>> images, labels = next(iter(loader))
>>> images.shape, images.dtype, labels.shape
((64, 1, 28, 28), dtype('float32'), (64,))
"""

from . import patterns, transforms
from .datasets import ArrayDataset, FashionMNIST, MNIST, load_bundled
from .download import DownloadError
from .idx import read_idx, write_idx
from .loader import DataLoader
from .transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip

__all__ = [
    "read_idx", "write_idx",
    "MNIST", "FashionMNIST", "load_bundled", "ArrayDataset", "DownloadError",
    "DataLoader",
    "transforms", "patterns", "Compose", "Normalize", "RandomCrop", "RandomHorizontalFlip",
]
