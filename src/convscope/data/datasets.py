"""Datasets: MNIST and Fashion-MNIST from their IDX files, the bundled subsets, and user arrays.

A dataset here is anything with ``len(ds)`` and ``ds[i] -> (image, label)``. The classes below
also expose the whole arrays as ``.data`` and ``.targets``, which lets
:class:`~convscope.data.DataLoader` slice entire batches at once.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path

import numpy as np

from .._validation import check_bool
from .bundled import BUNDLED_NAMES, read_bundled
from .download import check_mirrors, download_file, file_md5
from .idx import read_idx

__all__ = ["ArrayDataset", "MNIST", "FashionMNIST", "load_bundled"]

DATA_ENV = "CONVSCOPE_DATA"


def _index(i, n: int, fn: str) -> int:
    """A Python int in ``0 .. n-1`` from an int index (negative counts from the end)."""
    if not isinstance(i, numbers.Integral) or isinstance(i, (bool, np.bool_)):
        raise TypeError(f"{fn}: index expects an integer, but got {i!r} ({type(i).__name__})")
    j = int(i) + n if i < 0 else int(i)
    if not 0 <= j < n:
        raise IndexError(f"{fn}: index {int(i)} is out of range for a dataset of {n} items")
    return j


class ArrayDataset:
    """A dataset over your own arrays: item ``i`` is ``(images[i], labels[i])``.

    Parameters
    ----------
    images : array_like, shape (N, ...)
        For :class:`DataLoader`, ``(N, C, H, W)`` or ``(N, H, W)`` (the loader then adds a
        channel axis); uint8 images are scaled to [0, 1] by the loader, floats are kept.
    labels : array_like, shape (N,) or (N, ...)
        For :class:`DataLoader`, integer class labels ``(N,)``.

    The arrays are kept as given (converted with :func:`numpy.asarray`, not copied) and exposed as
    ``.data`` and ``.targets``.

    Raises
    ------
    ValueError
        If either array is 0-d or their first dimensions differ.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.data import ArrayDataset, DataLoader
    >>> ds = ArrayDataset(np.zeros((10, 3, 8, 8), np.float32), np.arange(10) % 2)
    >>> len(ds), ds[3][0].shape, ds[3][1]
    (10, (3, 8, 8), 1)
    >>> images, labels = next(iter(DataLoader(ds, batch_size=4)))
    >>> images.shape, labels.dtype
    ((4, 3, 8, 8), dtype('int64'))
    """

    def __init__(self, images, labels):
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim == 0 or labels.ndim == 0:
            raise ValueError(f"ArrayDataset: images and labels expect arrays with a first (item) dimension, "
                             f"but got shapes {images.shape} and {labels.shape}")
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"ArrayDataset: images and labels expect the same number of items, "
                             f"but images has {images.shape[0]} (shape {images.shape}) "
                             f"and labels {labels.shape[0]} (shape {labels.shape})")
        self.data, self.targets = images, labels

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i):
        j = _index(i, len(self.data), "ArrayDataset")
        label = self.targets[j]
        return self.data[j], (label.item() if label.ndim == 0 else label)

    def __repr__(self) -> str:
        return (f"ArrayDataset(n={len(self)}, images={self.data.dtype}{list(self.data.shape[1:])}, "
                f"labels={self.targets.dtype}{list(self.targets.shape[1:])})")


class MNIST:
    """The MNIST handwritten digits (LeCun, Cortes and Burges), read from the official IDX files.

    Parameters
    ----------
    root : str, os.PathLike or None
        Folder with the four files ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
        ``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz``, either directly or in a
        subfolder named ``mnist`` (``fashion-mnist`` for :class:`FashionMNIST`); the subfolder is
        looked at first, so one ``root`` can serve both datasets. ``None`` means the folder in
        the ``CONVSCOPE_DATA`` environment variable.
    train : bool, default True
        The 60000 training images, or the 10000 test images (the ``t10k`` files).
    download : bool, default False
        If this split's files are not found, download the missing ones into ``root/mnist``
        (``root/fashion-mnist``): each mirror in turn, verifying the published MD5 before the
        file is moved into place. Progress goes to stderr.
    mirrors : str or sequence of str, optional
        Base URLs to download from, in order; default :attr:`MIRRORS`.
    verify : bool, default False
        Check the MD5 of existing files too (downloads are always checked). Off by default so
        loading stays fast.
    timeout : float, default 30
        Seconds a download may stall before that mirror counts as failed.

    Attributes
    ----------
    data : numpy.ndarray of uint8, shape (N, 28, 28)
    targets : numpy.ndarray of int64, shape (N,)
    classes : list of str
        The 10 class names; ``classes[targets[i]]`` names image ``i``.
    train : bool
    root : pathlib.Path or None
        The folder the files were read from (None for the bundled subset).

    Raises
    ------
    FileNotFoundError
        If the split's files are not found and ``download`` is False; the message says which
        files were looked for where.
    DownloadError
        If a download fails at every mirror.
    ValueError
        If a file is corrupt, fails ``verify``, or images and labels disagree in count.

    Notes
    -----
    ``ds[i]`` is ``(image, label)``: a uint8 ``(1, 28, 28)`` copy and a Python int. For an offline
    subset shipped with convscope (5000 train / 1000 test images, class-balanced) use
    :meth:`bundled`.

    Examples
    --------
    >>> from convscope.data import MNIST
    >>> ds = MNIST.bundled(train=False)
    >>> len(ds), ds.data.shape, ds[0][0].shape, ds.classes[ds[0][1]]
    (1000, (1000, 28, 28), (1, 28, 28), '7')
    >>> full = MNIST("../shared/data", train=False)    # doctest: +SKIP
    """

    FOLDER = "mnist"
    CLASSES = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
    MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
    #: Published MD5 of each file.
    MD5 = {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }

    def __init__(self, root, train: bool = True, download: bool = False, mirrors=None, *,
                 verify: bool = False, timeout: float = 30.0):
        fn = type(self).__name__
        for flag, value in (("train", train), ("download", download), ("verify", verify)):
            check_bool(value, flag, fn)
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
            raise TypeError(f"{fn}: timeout expects a positive number of seconds, but got {timeout!r}")
        if not timeout > 0:
            raise ValueError(f"{fn}: timeout expects a positive number of seconds, but got {timeout!r}")
        mirrors = check_mirrors(self.MIRRORS if mirrors is None else mirrors, fn)
        root = self._resolve_root(root)
        names = self.files(train)
        folder = self._find(root, names)
        if folder is None:
            candidates = (root / self.FOLDER, root)
            if not download:
                looked = " or ".join(f"'{c}'" for c in candidates)
                raise FileNotFoundError(
                    f"{fn}: the {'training' if train else 'test'} files {', '.join(names)} were not found "
                    f"(looked in {looked}); pass download=True to fetch them into '{candidates[0]}', "
                    f"or point root (or the {DATA_ENV} environment variable, with root=None) at a folder "
                    f"that holds them; {fn}.bundled() gives a small subset that needs no files")
            folder = candidates[0]
            for name in names:
                if not (folder / name).is_file():
                    download_file(name, self.MD5[name], folder, mirrors, timeout=float(timeout), fn=fn)
        if verify:
            for name in names:
                got = file_md5(folder / name)
                if got != self.MD5[name]:
                    raise ValueError(f"{fn}: file '{folder / name}' has MD5 {got}, but the published MD5 is "
                                     f"{self.MD5[name]}; delete it and pass download=True to fetch it again")
        images, labels = (read_idx(folder / name) for name in names)
        self._set(images, labels, bool(train), folder, f"'{folder / names[0]}' and '{folder / names[1]}'")

    @classmethod
    def files(cls, train: bool = True) -> tuple[str, str]:
        """The (images, labels) file names of a split."""
        return ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz") if train else \
            ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

    @classmethod
    def bundled(cls, train: bool = True):
        """The class-balanced subset shipped inside convscope: 5000 train or 1000 test images.

        The same as ``load_bundled(cls.FOLDER, train)``; see :func:`load_bundled`.
        """
        return load_bundled(cls.FOLDER, train)

    @classmethod
    def _from_arrays(cls, images: np.ndarray, labels: np.ndarray, train: bool, source: str):
        self = cls.__new__(cls)
        self._set(images, labels, train, None, source)
        return self

    def _set(self, images, labels, train, root, source) -> None:
        fn = type(self).__name__
        if images.dtype != np.uint8 or images.ndim != 3 or labels.ndim != 1:
            raise ValueError(f"{fn}: expected uint8 images (N, H, W) and labels (N,) in {source}, "
                             f"but got {images.dtype} images {images.shape} and labels {labels.shape}")
        if len(images) != len(labels):
            raise ValueError(f"{fn}: expected as many labels as images in {source}, "
                             f"but got {len(images)} images and {len(labels)} labels")
        if len(labels) and not (labels.min() >= 0 and labels.max() < len(self.CLASSES)):
            raise ValueError(f"{fn}: expected labels in 0..{len(self.CLASSES) - 1} in {source}, "
                             f"but got labels from {labels.min()} to {labels.max()}")
        self.data, self.targets = images, labels.astype(np.int64)
        self.classes = list(self.CLASSES)
        self.train, self.root, self._source = train, root, source

    def _resolve_root(self, root) -> Path:
        fn = type(self).__name__
        if root is None:
            env = os.environ.get(DATA_ENV)
            if not env:
                raise ValueError(f"{fn}: root is None and the {DATA_ENV} environment variable is not set; pass root, "
                                 f"set {DATA_ENV}, or use {fn}.bundled() for the subset shipped with convscope")
            return Path(env)
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"{fn}: root expects a folder path (str or os.PathLike) or None, "
                            f"but got {type(root).__name__}")
        return Path(root)

    def _find(self, root: Path, names) -> Path | None:
        for folder in (root / self.FOLDER, root):
            if all((folder / name).is_file() for name in names):
                return folder
        return None

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i) -> tuple[np.ndarray, int]:
        j = _index(i, len(self.data), type(self).__name__)
        return self.data[j][None].copy(), int(self.targets[j])

    def __repr__(self) -> str:
        where = f"root='{self.root}'" if self.root is not None else self._source
        return f"{type(self).__name__}(train={self.train}, n={len(self)}, {where})"


class FashionMNIST(MNIST):
    """Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017, Zalando Research): MNIST's format, clothing.

    The interface is :class:`MNIST`'s; the files sit directly in ``root`` or in
    ``root/fashion-mnist``, and the classes are the ten article types below.

    Examples
    --------
    >>> from convscope.data import FashionMNIST
    >>> FashionMNIST.CLASSES[:3]
    ('T-shirt/top', 'Trouser', 'Pullover')
    >>> test = FashionMNIST.bundled(train=False)       # the subset shipped with convscope
    >>> len(test), test[0][0].shape
    (1000, (1, 28, 28))
    """

    FOLDER = "fashion-mnist"
    CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
    MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    MD5 = {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    }


_BY_NAME = {name: cls for cls in (MNIST, FashionMNIST) for name in BUNDLED_NAMES if cls.FOLDER == name}


def load_bundled(name: str = "mnist", train: bool = True) -> MNIST:
    """The class-balanced subset of MNIST or Fashion-MNIST shipped inside convscope.

    Parameters
    ----------
    name : {'mnist', 'fashion-mnist'}
    train : bool, default True
        5000 training images (500 per class) or 1000 test images (100 per class).

    Returns
    -------
    MNIST or FashionMNIST
        With ``.data`` uint8 ``(N, 28, 28)``, ``.targets`` int64 ``(N,)``, ``.classes`` and
        ``root=None``. The images are, for each class, the first 500 (train) or 100 (test)
        images of that class in the official file, kept in file order.

    Raises
    ------
    ValueError
        If a file's SHA-256 differs from the manifest's, or the manifest is inconsistent.

    Examples
    --------
    >>> from convscope.data import load_bundled
    >>> ds = load_bundled("fashion-mnist", train=True)
    >>> len(ds), ds.classes[0]
    (5000, 'T-shirt/top')
    """
    images, labels = read_bundled(name, train)
    split = "train" if train else "test"
    return _BY_NAME[name]._from_arrays(images, labels, bool(train), f"bundled {name} {split} subset")
