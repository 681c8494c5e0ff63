"""The small MNIST and Fashion-MNIST subsets shipped inside the package, so demos and tests run offline.

``bundled/`` holds, for each dataset, a class-balanced subset of the official files: 500 training
images per class (5000) and 100 test images per class (1000), as gzip IDX files, with
``manifest.json`` recording each file's SHA-256 and size, the counts, the MD5s of the source files
and the selection rule. The rule (see :func:`balanced_indices`): for each class, the first ``k``
images of that class in source-file order; the chosen images keep their source-file order, so the
classes stay interleaved as in the original. ``scripts/make_bundled_data.py`` regenerates the
files from the official ones.

Every load checks the SHA-256 of the files it reads against the manifest.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json

import numpy as np

from .._validation import check_bool
from .idx import decode_idx

__all__ = ["BUNDLED_NAMES", "MANIFEST", "balanced_indices", "bundled_manifest", "read_bundled"]

BUNDLED_NAMES = ("mnist", "fashion-mnist")
MANIFEST = "manifest.json"
TRAIN_PER_CLASS = 500
TEST_PER_CLASS = 100

# The folder the files are read from: a Traversable, so it also works when the package is zipped.
_BUNDLED = importlib.resources.files(__package__).joinpath("bundled")


def balanced_indices(labels: np.ndarray, per_class: int, num_classes: int = 10) -> np.ndarray:
    """Indices of the first ``per_class`` items of each class, in increasing (file) order.

    Parameters
    ----------
    labels : numpy.ndarray, shape (N,)
        Integer class labels in ``0 .. num_classes - 1``.
    per_class : int
        How many items to take from each class.

    Returns
    -------
    numpy.ndarray of int64, shape (num_classes * per_class,)
        Sorted indices into ``labels``.

    Raises
    ------
    ValueError
        If a class has fewer than ``per_class`` items.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.data.bundled import balanced_indices
    >>> balanced_indices(np.array([1, 0, 0, 1, 2, 1, 2, 0]), per_class=2, num_classes=3)
    array([0, 1, 2, 3, 4, 6])
    """
    labels = np.asarray(labels)
    chosen = []
    for c in range(num_classes):
        where = np.flatnonzero(labels == c)
        if len(where) < per_class:
            raise ValueError(f"balanced_indices: class {c} expects at least {per_class} items, "
                             f"but labels hold {len(where)}")
        chosen.append(where[:per_class])
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def bundled_manifest() -> dict:
    """The parsed ``manifest.json`` of the bundled data.

    Examples
    --------
    >>> from convscope.data.bundled import bundled_manifest
    >>> sorted(bundled_manifest()["datasets"])
    ['fashion-mnist', 'mnist']
    """
    try:
        return json.loads(_BUNDLED.joinpath(MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"load_bundled: the bundled data's {MANIFEST} is missing from '{_BUNDLED}'; "
                                f"reinstall convscope or run scripts/make_bundled_data.py") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"load_bundled: the bundled data's {MANIFEST} is not valid JSON ({exc})") from None


def _read_verified(manifest: dict, name: str) -> np.ndarray:
    try:
        want = manifest["files"][name]["sha256"]
    except (KeyError, TypeError):
        raise ValueError(f"load_bundled: {MANIFEST} records no sha256 for file {name!r}") from None
    try:
        raw = _BUNDLED.joinpath(name).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"load_bundled: bundled file {name!r} is missing from '{_BUNDLED}'; "
                                f"reinstall convscope or run scripts/make_bundled_data.py") from None
    got = hashlib.sha256(raw).hexdigest()
    if got != want:
        raise ValueError(f"load_bundled: bundled file {name!r} has SHA-256 {got}, but {MANIFEST} records {want}; "
                         f"the bundled data is damaged: reinstall convscope or run scripts/make_bundled_data.py")
    return decode_idx(raw, name, "load_bundled")


def read_bundled(name: str, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 ``(N, 28, 28)`` and labels uint8 ``(N,)`` of a bundled split, SHA-256 checked.

    Most code wants :func:`convscope.data.load_bundled`, which wraps these in a dataset.

    Examples
    --------
    >>> from convscope.data.bundled import read_bundled
    >>> images, labels = read_bundled("mnist", train=False)
    >>> images.shape, images.dtype, labels.shape
    ((1000, 28, 28), dtype('uint8'), (1000,))
    """
    if not isinstance(name, str) or name not in BUNDLED_NAMES:
        raise ValueError(f"load_bundled: name expects one of {', '.join(map(repr, BUNDLED_NAMES))}, but got {name!r}")
    check_bool(train, "train", "load_bundled")
    split = "train" if train else "test"
    manifest = bundled_manifest()
    try:
        entry = manifest["datasets"][name][split]
        files, count = (entry["images"], entry["labels"]), int(entry["count"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"load_bundled: {MANIFEST} has no complete entry for {name!r} {split} "
                         f"(expected images, labels and count)") from None
    images, labels = (_read_verified(manifest, f) for f in files)
    if images.dtype != np.uint8 or images.ndim != 3 or labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(f"load_bundled: {name!r} {split} expects uint8 images (N, H, W) and uint8 labels (N,), "
                         f"but got {images.dtype} {images.shape} and {labels.dtype} {labels.shape}")
    if not len(images) == len(labels) == count:
        raise ValueError(f"load_bundled: {MANIFEST} records {count} items for {name!r} {split}, "
                         f"but {files[0]!r} holds {len(images)} images and {files[1]!r} {len(labels)} labels")
    return images, labels
