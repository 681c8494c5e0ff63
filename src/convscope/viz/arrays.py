"""Small arrays with their numbers, and images side by side.

:func:`show_matrices` draws a few small 2-D arrays as coloured grids with every value written in
its cell (the worked examples of the reference texts: an image, a kernel, the feature map);
:func:`show_images` lays out images or filter responses with titles.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ._common import IMAGE_CMAP, MAGNITUDE_CMAP, SIGNED_CMAP, finish, new_figure, symmetric_limit

__all__ = ["show_matrices", "show_images"]


def _as_2d(value: Any, fn: str, name: str) -> np.ndarray:
    from ..autograd import Tensor

    arr = np.asarray(value.data if isinstance(value, Tensor) else value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: {name!r} expects real numbers, but got dtype {arr.dtype}")
    arr = np.squeeze(arr) if arr.ndim > 2 else arr
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"{fn}: {name!r} expects a non-empty 2-D array, but got shape {np.shape(value)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{fn}: {name!r} expects finite values, but it holds NaN or infinity")
    return arr.astype(np.float64)


def _text_colour(rgba) -> str:
    r, g, b = rgba[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else "white"


def _fmt(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.2g}" if abs(v) < 0.01 else f"{v:.2f}"


def show_matrices(arrays: Mapping[str, Any], *, title: str | None = None, annotate: bool = True,
                  signed=None, max_cells: int = 20, path=None):
    """Small 2-D arrays side by side as grids with their values written in the cells.

    Parameters
    ----------
    arrays : mapping of str to array_like
        Panel title -> 2-D array (longer axes of size 1 are squeezed away), at most ``max_cells``
        per side.
    title : str, optional
        The figure's title.
    annotate : bool
        Write each value in its cell.
    signed : None, bool or collection of str
        Which panels use the diverging map centred on 0 (each with its own limits ``-m .. m``):
        None (default) those with negative values; True all; False none; or the panel titles.
    path : str or os.PathLike, optional
        Write the figure there (PNG/SVG by suffix).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Colours follow :mod:`convscope.viz`'s convention per panel: a signed panel (see ``signed``)
    uses the diverging map centred on 0 (blue < 0 < red), the others the grey image map.

    Examples
    --------
    >>> fig = show_matrices({"image": np.arange(16.0).reshape(4, 4), "kernel": [[1, 1], [-1, -1]]})
    >>> len(fig.axes)
    2
    """
    fn = "show_matrices"
    if not isinstance(arrays, Mapping) or not arrays:
        raise TypeError(f"{fn}: arrays expects a non-empty mapping of titles to 2-D arrays, "
                        f"but got {type(arrays).__name__}")
    panels = {str(k): _as_2d(v, fn, str(k)) for k, v in arrays.items()}
    for name, a in panels.items():
        if max(a.shape) > max_cells:
            raise ValueError(f"{fn}: {name!r} expects at most {max_cells} cells per side, but got shape {a.shape}")
    widths = [a.shape[1] for a in panels.values()]
    height = max(a.shape[0] for a in panels.values())
    cell = 0.5
    fig = new_figure(fn, (max(4.0, cell * sum(widths) + 0.9 * len(panels)), cell * height + 1.3 + (0.3 if title else 0)),
                     layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False, gridspec_kw={"width_ratios": widths})[0]
    for ax, (name, a) in zip(axes, panels.items()):
        if signed is None or isinstance(signed, bool):
            diverging = bool(np.any(a < 0)) if signed is None else signed
        else:
            diverging = name in signed
        if diverging:
            m = symmetric_limit([a])
            im = ax.imshow(a, cmap=SIGNED_CMAP, vmin=-m, vmax=m)
        else:
            hi = float(a.max()) if a.max() > 0 else 1.0
            im = ax.imshow(a, cmap=IMAGE_CMAP, vmin=0, vmax=hi)
        ax.set_title(name, fontsize=10)
        ax.set_xticks(range(a.shape[1]))
        ax.set_yticks(range(a.shape[0]))
        ax.tick_params(labelsize=7, length=0)
        ax.set_xticks(np.arange(-0.5, a.shape[1]), minor=True)
        ax.set_yticks(np.arange(-0.5, a.shape[0]), minor=True)
        ax.grid(which="minor", color="#888888", linewidth=0.6)
        ax.tick_params(which="minor", length=0)
        if annotate:
            for (i, j), v in np.ndenumerate(a):
                ax.text(j, i, _fmt(v), ha="center", va="center", fontsize=9,
                        color=_text_colour(im.cmap(im.norm(v))))
    if title:
        fig.suptitle(title, fontsize=12)
    return finish(fig, path, fn)


def show_images(images: Mapping[str, Any], *, columns: int | None = None, signed: bool | None = None,
                title: str | None = None, panel_size: float = 2.6, path=None):
    """Images (grey ``(H, W)`` or colour ``(H, W, 3)``) or filter responses in a grid with titles.

    Parameters
    ----------
    images : mapping of str to array_like
        Title -> image. uint8 images are shown as they are; float images are scaled per panel:
        a panel with negative values (a signed filter response) on the diverging map centred
        on 0, others from their minimum (black) to their maximum (white).
    columns : int, optional
        Panels per row (default: all in one row, up to 4).
    signed : bool, optional
        Force the diverging (True) or grey (False) map for float panels.
    title : str, optional
    panel_size : float
        Inches per panel.
    path : str or os.PathLike, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = show_images({"ramp": np.tile(np.arange(8.0), (8, 1)), "edge": np.eye(8) - 0.5})
    >>> len(fig.axes)
    2
    """
    fn = "show_images"
    if not isinstance(images, Mapping) or not images:
        raise TypeError(f"{fn}: images expects a non-empty mapping of titles to images, but got "
                        f"{type(images).__name__}")
    items = []
    for name, value in images.items():
        arr = np.asarray(value)
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)) or arr.size == 0:
            raise ValueError(f"{fn}: {name!r} expects an image (H, W) or (H, W, 3), but got shape {arr.shape}")
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{fn}: {name!r} expects real numbers, but got dtype {arr.dtype}")
        items.append((str(name), arr))
    n = len(items)
    cols = columns if columns else min(n, 4)
    rows = -(-n // cols)
    fig = new_figure(fn, (panel_size * cols, panel_size * rows + (0.4 if title else 0.1)), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, (name, arr) in zip(axes.ravel(), items):
        if arr.dtype == np.uint8 or (arr.ndim == 3 and arr.dtype.kind != "f"):
            ax.imshow(arr, cmap=None if arr.ndim == 3 else IMAGE_CMAP, vmin=0, vmax=255, interpolation="nearest")
        elif arr.ndim == 3:
            lo, hi = float(arr.min()), float(arr.max())
            ax.imshow((arr - lo) / (hi - lo if hi > lo else 1.0), interpolation="nearest")
        else:
            use_signed = bool(np.any(arr < 0)) if signed is None else signed
            if use_signed:
                m = symmetric_limit([arr])
                ax.imshow(arr, cmap=SIGNED_CMAP, vmin=-m, vmax=m, interpolation="nearest")
            else:
                lo, hi = float(arr.min()), float(arr.max())
                cmap = IMAGE_CMAP if signed is None else MAGNITUDE_CMAP
                ax.imshow(arr, cmap=cmap, vmin=lo, vmax=hi if hi > lo else lo + 1, interpolation="nearest")
        ax.set_title(name, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=12)
    return finish(fig, path, fn)
