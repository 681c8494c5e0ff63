"""Filtering and classifying images beyond one machine's memory, chunk by chunk, on Dask (the ``scale`` extra).

:func:`predict` runs a model's inference over a Dask array of images (or a folder of image files)
in parallel partitions of samples.


:func:`filter` is :func:`convscope.filters.apply` for a `Dask array <https://docs.dask.org/en/stable/array.html>`_:
the image is extended past its border lazily by the boundary mode (``dask.array.pad``), each chunk
takes the halo the kernel's windows need from its neighbours (``dask.array.overlap`` with the
kernel's asymmetric extent, dilation included), and every chunk is filtered by the engine in
'valid' mode, so the result equals the in-memory one to float rounding, for every boundary,
odd and even kernels and any chunking. Nothing is computed until the caller asks (``.compute()``,
``.to_zarr()``, ``da.store``...); the scheduler is Dask's: the local threaded one by default, or a
``dask.distributed`` cluster when a ``Client`` is active.

Examples
--------
>>> import numpy as np
>>> import dask.array as da
>>> from convscope import filters, scale
>>> image = np.random.default_rng(0).random((300, 200), dtype=np.float32)
>>> lazy = scale.filter(da.from_array(image, chunks=64), np.ones((5, 4), np.float32) / 20, boundary="wrap")
>>> lazy.shape, lazy.chunks[0][:2]
((300, 200), (64, 64))
>>> bool(np.allclose(lazy.compute(), filters.apply(image, np.ones((5, 4), np.float32) / 20, boundary="wrap"), atol=1e-6))
True
"""

from __future__ import annotations

import numpy as np

from . import filters
from .filters.convolve import MODES, mode_pads
from ._validation import check_choice, to_tuple

__all__ = ["filter", "predict"]

#: The filters' boundary names -> ``numpy.pad`` / ``dask.array.pad`` modes.
_DASK_PAD = {"reflect": "reflect", "symm": "symmetric", "replicate": "edge", "wrap": "wrap", "fill": "constant"}


def _dask():
    try:
        import dask.array as da
    except ImportError:                          # pragma: no cover - the extra is missing
        raise ModuleNotFoundError("convscope.scale needs Dask: pip install 'convscope[scale]'") from None
    return da


def _dilated(kernel: np.ndarray, dilation: tuple[int, int]) -> np.ndarray:
    """The kernel with ``d - 1`` zeros between its taps per spatial axis."""
    if dilation == (1, 1):
        return kernel
    p, q = kernel.shape[:2]
    out = np.zeros(((p - 1) * dilation[0] + 1, (q - 1) * dilation[1] + 1) + kernel.shape[2:], kernel.dtype)
    out[::dilation[0], ::dilation[1]] = kernel
    return out


def _axis_chunks(sizes, before: int, after: int, need: int) -> tuple[int, ...]:
    """The padded axis's chunks: the input's, with all of the padding on the last (so that the
    output's chunks, each ``need - 1`` shorter at the end, line up with the input's), and any
    chunk shorter than ``need`` merged into the next (a block's halo, ``need - 1`` positions,
    comes from its neighbour alone, and the last block takes none)."""
    sizes = list(sizes)
    sizes[-1] += before + after
    merged, run = [], 0
    for n in sizes:
        run += n
        if run >= need:
            merged.append(run)
            run = 0
    if run:
        if merged:
            merged[-1] += run
        else:
            merged.append(run)
    return tuple(merged)


def filter(image, kernel, *, mode: str = "same", boundary: str = "reflect", fillvalue: float = 0.0,
           channels: str = "each", stride=1, dilation=1, method: str = "auto", dtype=None):
    """:func:`convscope.filters.apply` on a Dask array, lazily, chunk by chunk.

    Parameters
    ----------
    image : dask.array.Array (or array_like, wrapped in one chunk)
        ``(H, W)``, ``(H, W, C)`` or ``(N, H, W, C)``, chunked in any way.
    kernel, mode, boundary, fillvalue, channels, stride, method, dtype
        As :func:`convscope.filters.apply`.
    dilation : int or (int, int)
        Spacing between the kernel's taps (``d - 1`` zeros between them, as a dilated conv).

    Returns
    -------
    dask.array.Array
        The filtered image, lazy, chunked as the input (the chunks at the end of each spatial axis
        may be merged: they take no halo).

    Raises
    ------
    ValueError, TypeError
        As :func:`convscope.filters.apply`, checked on a small sample before the graph is built;
        also for a reflecting boundary whose padding reaches past the image (a kernel wider than
        the image).

    Examples
    --------
    >>> import numpy as np
    >>> import dask.array as da
    >>> from convscope import scale
    >>> big = da.zeros((20000, 20000), dtype=np.float32, chunks=4096)     # 1.6 GB, never in memory at once
    >>> out = scale.filter(big, np.ones((3, 3), np.float32) / 9)
    >>> out.shape, out.dtype, out.chunks[0][:2]
    ((20000, 20000), dtype('float32'), (4096, 4096))
    """
    fn = "scale.filter"
    da = _dask()
    x = image if isinstance(image, da.Array) else da.from_array(np.asarray(image))
    k = np.asarray(kernel)
    dil = to_tuple(dilation, 2, "dilation", fn, minimum=1)
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"{fn}: image expects shape (H, W), (H, W, C) or (N, H, W, C), but got a "
                         f"{x.ndim}-D array of shape {x.shape}")
    if k.ndim not in (2, 3) or k.size == 0:
        raise ValueError(f"{fn}: kernel expects a non-empty 2-D (P, Q) or 3-D (P, Q, C) array, "
                         f"but got shape {k.shape}")
    kd = _dilated(k, dil)
    pe, qe = kd.shape[:2]
    options = dict(boundary=boundary, fillvalue=fillvalue, channels=channels, method=method, dtype=dtype)
    # Every argument checked (and the output dtype found) on a sample the kernel just fits.
    ha, wa = (0, 1) if x.ndim < 4 else (1, 2)
    sample_shape = list(x.shape)
    sample_shape[ha], sample_shape[wa] = pe, qe
    sample_shape = [1 if n == 0 else n for n in sample_shape]
    check_choice(mode, "mode", fn, MODES)
    sample = filters.apply(np.zeros(sample_shape, x.dtype), kd, mode="valid", **options)
    stride = to_tuple(stride, 2, "stride", fn, minimum=1)
    h, w = x.shape[ha], x.shape[wa]
    if mode == "valid" and (pe > h or qe > w):
        raise ValueError(f"{fn}: mode 'valid' expects a kernel no larger than the image, but got "
                         f"kernel {kd.shape[:2]} (dilated) for image {x.shape}")
    pads = mode_pads(mode, pe, qe)
    if boundary in ("reflect", "symm", "wrap"):
        for n, (lo, hi), axis in ((h, pads[0], "H"), (w, pads[1], "W")):
            if max(lo, hi) > n - (boundary == "reflect"):
                raise ValueError(f"{fn}: boundary {boundary!r} expects the image's {axis} ({n}) larger than "
                                 f"the kernel's padding ({max(lo, hi)}); filter it in memory with filters.apply")
    if x.dtype.kind in "biu" or x.dtype == np.float16:
        x = x.astype(sample.dtype)               # a fill value is padded in the compute dtype, as in memory
    width = [(0, 0)] * x.ndim
    width[ha], width[wa] = pads
    pad_args = {"constant_values": fillvalue} if boundary == "fill" else {}
    xp = da.pad(x, width, mode=_DASK_PAD[boundary], **pad_args) if any(lo or hi for lo, hi in pads) else x
    chunks = list(x.chunks)
    chunks[ha] = _axis_chunks(x.chunks[ha], *pads[0], pe)
    chunks[wa] = _axis_chunks(x.chunks[wa], *pads[1], qe)
    if x.ndim > 2 and (channels == "all" or k.ndim == 3):
        chunks[-1] = (x.shape[-1],)               # a channel sum, or one kernel a channel: all of them a block
    xp = xp.rechunk(tuple(chunks))
    depth = {ha: (0, pe - 1), wa: (0, qe - 1)}
    blocks = da.overlap.overlap(xp, depth=depth, boundary="none")
    out_chunks = list(xp.chunks)
    out_chunks[ha] = xp.chunks[ha][:-1] + (xp.chunks[ha][-1] - (pe - 1),)
    out_chunks[wa] = xp.chunks[wa][:-1] + (xp.chunks[wa][-1] - (qe - 1),)
    drop = []
    if channels == "all":
        if x.ndim == 3:
            drop = [2]
            out_chunks = out_chunks[:2]
        elif x.ndim == 4:
            out_chunks[3] = (1,)

    def block(b):
        return filters.apply(b, kd, mode="valid", **options)

    y = blocks.map_blocks(block, chunks=tuple(out_chunks), dtype=sample.dtype, drop_axis=drop,
                          meta=np.empty((0,) * len(out_chunks), sample.dtype))
    if stride != (1, 1):
        index = [slice(None)] * y.ndim
        index[ha], index[wa] = slice(None, None, stride[0]), slice(None, None, stride[1])
        y = y[tuple(index)]
    return y


def _images_from_files(paths, fn: str, mode: str | None):
    """A lazy ``(N, C, H, W)`` float32 Dask array of image files (0-1 scale), one chunk per file."""
    import dask
    da = _dask()
    from .io.images import read_image
    if not paths:
        raise ValueError(f"{fn}: images expects image files, but the folder or list holds none")
    first = read_image(paths[0], mode=mode)       # the shape every file must have (checked per file)

    def load(path, shape=first.shape):
        a = read_image(path, mode=mode)
        if a.shape != shape:
            raise ValueError(f"{fn}: every image expects the first one's shape {shape}, but {str(path)!r} "
                             f"is {a.shape}")
        a = a[None] if a.ndim == 2 else np.moveaxis(a, -1, 0)
        return (a.astype(np.float32) / 255)[None]

    channels = 1 if first.ndim == 2 else first.shape[2]
    shape = (1, channels) + first.shape[:2]
    parts = [da.from_delayed(dask.delayed(load)(p), shape=shape, dtype=np.float32) for p in paths]
    return da.concatenate(parts, axis=0)


def predict(model, images, *, batch_size: int = 256, transform=None, softmax: bool = False,
            mode: str | None = None):
    """A model's outputs for every image, computed lazily in partitions of samples.

    Parameters
    ----------
    model : convscope.nn.Module
        Run in eval mode without gradients (a copy travels with each task: the caller's model is
        not changed).
    images : dask.array.Array, array_like, folder or list of image files
        ``(N, C, H, W)`` samples (the batch axis chunked any way; the others are made whole), or
        files read with :func:`convscope.io.read_image` (``mode``: 'L', 'RGB'...; all of one shape)
        and scaled to ``[0, 1]``, as ``(N, C, H, W)`` float32.
    batch_size : int
        Samples per partition (the batch axis is rechunked to it).
    transform : callable, optional
        Applied to each partition's batch before the model (e.g. ``data.Normalize``).
    softmax : bool
        Return class probabilities instead of the model's raw outputs.

    Returns
    -------
    dask.array.Array
        ``(N, *model output)``, lazy; ``.compute()`` (or a ``dask.distributed`` client) runs it.

    Examples
    --------
    >>> import numpy as np
    >>> import dask.array as da
    >>> from convscope import models, scale
    >>> net = models.get("lenet5")
    >>> x = da.zeros((1000, 1, 28, 28), dtype=np.float32, chunks=100)
    >>> out = scale.predict(net, x, batch_size=300, softmax=True)
    >>> out.shape, out.chunks[0]
    ((1000, 10), (300, 300, 300, 100))
    >>> bool(np.allclose(out.sum(axis=1).compute(), 1))
    True
    """
    import copy
    import os
    from pathlib import Path

    from .autograd import no_grad
    from .nn.functional import softmax as _softmax
    from .nn.module import Module
    fn = "scale.predict"
    da = _dask()
    if not isinstance(model, Module):
        raise TypeError(f"{fn}: model expects a convscope.nn.Module, but got {type(model).__name__}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"{fn}: batch_size expects a positive int, but got {batch_size!r}")
    if isinstance(images, (str, os.PathLike)) and Path(images).is_dir():
        paths = sorted(p for p in Path(images).iterdir() if p.is_file() and not p.name.startswith("."))
        x = _images_from_files(paths, fn, mode)
    elif isinstance(images, (list, tuple)) and images and isinstance(images[0], (str, os.PathLike)):
        x = _images_from_files([Path(p) for p in images], fn, mode)
    elif isinstance(images, (str, os.PathLike)):
        raise ValueError(f"{fn}: images expects a folder of image files, but {str(images)!r} is not a folder")
    else:
        x = images if isinstance(images, da.Array) else da.from_array(np.asarray(images))
    if x.ndim < 2:
        raise ValueError(f"{fn}: images expects (N, C, H, W) samples, but got shape {x.shape}")
    x = x.rechunk((batch_size,) + x.shape[1:])
    net = copy.deepcopy(model).eval()
    # The output's shape and dtype, from one sample (and every argument checked before the graph).
    probe = np.zeros((1,) + x.shape[1:], x.dtype)
    with no_grad():
        sample = net(transform(probe) if transform else probe)
    sample = np.asarray(getattr(sample, "data", sample))

    def run(batch, net=net):
        with no_grad():
            out = net(transform(batch) if transform else batch)
            out = _softmax(out, dim=1) if softmax else out
        return np.asarray(getattr(out, "data", out))

    dtype = sample.dtype
    chunks = (x.chunks[0],) + tuple((n,) for n in sample.shape[1:])
    return x.map_blocks(run, chunks=chunks, dtype=dtype,
                        drop_axis=list(range(len(sample.shape), x.ndim)) if x.ndim > sample.ndim else [],
                        new_axis=list(range(x.ndim, sample.ndim)) if sample.ndim > x.ndim else None,
                        meta=np.empty((0,) * sample.ndim, dtype))
