"""What every picture shares: the optional imports, the colour convention, inputs, saving.

Colour convention (one for all of ``convscope.viz``)
----------------------------------------------------
- Signed values (filter weights, pre-activation feature maps, signed gradients) use the
  diverging map :data:`SIGNED_CMAP` (blue negative, white zero, red positive) with limits
  ``-m .. +m``, ``m`` the largest ``|value|`` shown together, so zero is always white and
  colours compare across panels.
- Non-negative magnitudes (ReLU activations, saliency, Grad-CAM, counts) use the sequential
  map :data:`MAGNITUDE_CMAP` from 0 (dark) to the maximum (bright).
- Input images are shown in grey (:data:`IMAGE_CMAP`), or in colour when they have 3 channels.

Figures are :class:`matplotlib.figure.Figure` objects made without ``pyplot``, so building one
changes no global state and needs no display; Jupyter shows them inline.
"""

from __future__ import annotations

import io as _io
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .._files import atomic_write, writable_folder_problem

SIGNED_CMAP = "RdBu_r"
MAGNITUDE_CMAP = "magma"
IMAGE_CMAP = "gray"

FIGURE_SUFFIXES = {".png": "png", ".svg": "svg", ".gif": "gif"}
IMAGE_SUFFIXES = {".png": "PNG", ".gif": "GIF"}

_INSTALL = "pip install 'convscope[viz]'"


def require_matplotlib(fn: str):
    """The ``matplotlib`` module, or ModuleNotFoundError saying how to install the extra."""
    try:
        import matplotlib
        from matplotlib.figure import Figure  # noqa: F401  (fails early if the install is broken)
    except ModuleNotFoundError:
        raise ModuleNotFoundError(f"{fn}: pictures need matplotlib; install it with {_INSTALL}") from None
    return matplotlib


def require_pillow(fn: str):
    """``PIL.Image``, or ModuleNotFoundError saying how to install the extra."""
    try:
        from PIL import Image
    except ModuleNotFoundError:
        raise ModuleNotFoundError(f"{fn}: pictures need Pillow; install it with {_INSTALL}") from None
    return Image


def new_figure(fn: str, figsize: tuple[float, float], **kwargs):
    """A matplotlib Figure with an Agg canvas, not registered with pyplot."""
    require_matplotlib(fn)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, **kwargs)
    FigureCanvasAgg(fig)
    return fig


def symmetric_limit(arrays: Iterable[np.ndarray]) -> float:
    """The largest ``|value|`` over ``arrays`` (1.0 when all are zero), for ``vmin=-m, vmax=m``."""
    m = max((float(np.max(np.abs(a))) for a in arrays if np.size(a)), default=0.0)
    return m if m > 0 and np.isfinite(m) else 1.0


def figure_to_image(fig, dpi: float | None = None):
    """Render a Figure to an RGB :class:`PIL.Image.Image`."""
    Image = require_pillow("figure_to_image")
    buffer = _io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def check_output_path(path, fn: str, suffixes: dict[str, str]) -> Path:
    """Check ``path`` before any work: a known suffix and a folder that exists (or can be made)
    and is writable. Returns it as a Path.

    Raises
    ------
    ValueError
        An unknown suffix (the allowed ones are listed).
    PermissionError
        The folder, or the nearest existing folder above it, is not writable, or is a file.
    """
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise ValueError(f"{fn}: path expects a file name ending in {', '.join(suffixes)}, but got {str(path)!r}")
    if path.is_dir():
        raise ValueError(f"{fn}: path expects a file name, but {str(path)!r} is a folder")
    problem = writable_folder_problem(path.parent)
    if problem is not None:
        raise PermissionError(f"{fn}: path expects a writable folder, but {str(problem[0])!r} {problem[1]}")
    return path


def save(obj: Any, path, fn: str, *, dpi: float | None = None) -> Path:
    """Write a Figure (PNG, SVG, or a one-frame GIF) or a PIL image (PNG, GIF; an animated image
    keeps all its frames and their durations) atomically, the format chosen by the suffix.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from convscope.viz import save
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [1, 0])
    >>> save(fig, "line.png", "example").name
    'line.png'
    >>> plt.close(fig)
    """
    Image = require_pillow(fn)
    if isinstance(obj, Image.Image):
        path = check_output_path(path, fn, IMAGE_SUFFIXES)
        fmt = IMAGE_SUFFIXES[path.suffix.lower()]
        buffer = _io.BytesIO()
        if fmt == "GIF" and getattr(obj, "n_frames", 1) > 1:
            frames = list(frames_of(obj))
            durations = [f.info.get("duration", 100) for f in frames]
            frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=durations,
                           loop=obj.info.get("loop", 0), disposal=1)
        else:
            image = obj if obj.mode in ("RGB", "RGBA", "L", "P") else obj.convert("RGB")
            image.save(buffer, format=fmt)
    else:
        path = check_output_path(path, fn, FIGURE_SUFFIXES)
        fmt = FIGURE_SUFFIXES[path.suffix.lower()]
        buffer = _io.BytesIO()
        if fmt == "gif":
            figure_to_image(obj, dpi).save(buffer, format="GIF")
        else:
            obj.savefig(buffer, format=fmt, dpi=dpi, metadata={"Software": "convscope"} if fmt == "png" else None)
    data = buffer.getvalue()
    atomic_write(path, lambda f: f.write(data), overwrite=True, fn=fn)
    return path


def animation(frames: list, durations: list[int] | int, fn: str, *, loop: int = 0):
    """An animated :class:`PIL.Image.Image` (GIF in memory) from RGB frames; ``n_frames`` and
    ``seek(i)`` reach each frame, :func:`save` writes it as ``.gif``."""
    Image = require_pillow(fn)
    if not frames:
        raise ValueError(f"{fn}: an animation expects at least one frame")
    if isinstance(durations, int):
        durations = [durations] * len(frames)
    palette = [f.convert("RGB").quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
               for f in frames]
    buffer = _io.BytesIO()
    palette[0].save(buffer, format="GIF", save_all=True, append_images=palette[1:], duration=durations,
                    loop=loop, disposal=1, optimize=False)
    buffer.seek(0)
    return Image.open(buffer)


def frames_of(image) -> Iterable:
    """Each frame of a (possibly animated) PIL image as its own RGB image, with its ``duration``."""
    n = getattr(image, "n_frames", 1)
    for i in range(n):
        image.seek(i)
        frame = image.convert("RGB")
        frame.info["duration"] = image.info.get("duration", 100)
        yield frame
    image.seek(0)


def layer_names(model) -> list[str]:
    """The names ``model.named_modules()`` gives, without the model itself (``''``)."""
    return [name for name, _ in model.named_modules() if name]


def _listing(names: list[str], limit: int = 40) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def get_layer(model, name: str, fn: str, arg: str = "layer"):
    """The submodule called ``name`` (as ``named_modules()`` spells it), or an error listing them."""
    from ..nn.module import Module

    if not isinstance(model, Module):
        raise TypeError(f"{fn}: model expects a convscope.nn.Module, but got {type(model).__name__}")
    if isinstance(name, Module):
        for found, m in model.named_modules():
            if m is name:
                return found, m
        raise ValueError(f"{fn}: {arg} expects a module of the model, but the one given is not in it")
    if not isinstance(name, str):
        raise TypeError(f"{fn}: {arg} expects a layer name (str), but got {type(name).__name__}")
    modules = dict(model.named_modules())
    if name not in modules or name == "":
        raise ValueError(f"{fn}: {arg} expects one of the model's layers ({_listing(layer_names(model))}), "
                         f"but got {name!r}")
    return name, modules[name]


def conv_layers(model) -> list[tuple[str, Any]]:
    """``(name, module)`` for every convolution (or transposed convolution) layer, in order."""
    from .. import nn

    kinds = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
    return [(n, m) for n, m in model.named_modules() if isinstance(m, kinds)]


def as_image_batch(image, fn: str, channels: int | None = None) -> np.ndarray:
    """An image as a float32 batch of one, ``(1, C, H, W)``.

    Accepts ``(H, W)`` (grey), ``(C, H, W)``, ``(1, C, H, W)``, or ``(H, W, 3)`` when ``channels``
    is 3 and the first axis is not 3 (a photo as read from disk). uint8 images are scaled to 0..1.
    """
    from ..autograd import Tensor

    arr = image.data if isinstance(image, Tensor) else np.asarray(image)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: image expects real numbers, but got dtype {arr.dtype}")
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    arr = arr.astype(np.float32, copy=False)
    if arr.ndim == 3 and channels == 3 and arr.shape[0] != 3 and arr.shape[2] == 3:
        arr = arr.transpose(2, 0, 1)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[0] != 1:
        raise ValueError(f"{fn}: image expects one image of shape (H, W), (C, H, W) or (1, C, H, W), "
                         f"but got shape {np.shape(image)}")
    if channels is not None and arr.shape[1] != channels:
        raise ValueError(f"{fn}: image expects {channels} channel(s) for this model, but got shape {np.shape(image)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{fn}: image expects finite values, but it holds NaN or infinity")
    return np.ascontiguousarray(arr)


def input_channels(model) -> int | None:
    """The in_channels of the model's first convolution, if it has one."""
    convs = conv_layers(model)
    return int(convs[0][1].in_channels) if convs else None


def finish(fig, path, fn: str):
    """Save ``fig`` to ``path`` when one is given; return ``fig``."""
    if path is not None:
        save(fig, path, fn)
    return fig
