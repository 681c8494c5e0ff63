"""Pictures in: uploads decoded with the bomb guard, the bundled samples, and a model's input.

An uploaded file is decoded by :func:`convscope.io.images.read_image` (the guard against
decompression bombs and corrupt files lives there), through a private temporary file the server
names itself, never a name from the request. Every picture, uploaded, drawn or a sample, then
becomes two arrays:

- the *preview*: the picture as it came, in ``[0, 1]``, grey ``(H, W)``, at most
  ``preview_side`` a side, which the filter playground filters;
- the model's *input*: ``(C, H, W)`` float32 exactly of the model's input shape (resized with
  Pillow, grey or RGB as the model takes, inverted for a digit model when the picture is dark on
  light, and normalised as in training with :class:`convscope.data.Normalize`).
"""

from __future__ import annotations

import base64
import io
import os
import tempfile
from dataclasses import dataclass, field

import numpy as np

from .registry import ModelEntry
from .settings import Settings

__all__ = ["Prepared", "decode_upload", "prepare", "samples", "sample_picture", "thumbnail", "INVERT_CHOICES"]

INVERT_CHOICES = ("auto", "yes", "no")
_THUMB_SIDE = 40


@dataclass
class Prepared:
    """A picture made ready for one model: its preview, the model input and what was done to it.

    Examples
    --------
    >>> import numpy as np
    >>> ready = Prepared(np.zeros((1, 2, 2), np.float32), np.ones((2, 2), np.float32), ["resized"])
    >>> ready.input.shape, ready.notes
    ((1, 2, 2), ['resized'])
    """

    input: np.ndarray                 # (C, H, W) float32, the model's input shape
    preview: np.ndarray               # (h, w) float32 in [0, 1], grey
    notes: list[str] = field(default_factory=list)

    def to_json(self, entry: ModelEntry, source: str, label: str | None = None) -> dict:
        return {"model": entry.key, "source": source, "label": label, "shape": list(self.input.shape),
                "input": self.input.tolist(), "preview": np.round(self.preview, 4).tolist(), "notes": self.notes}


def decode_upload(data: bytes, settings: Settings) -> np.ndarray:
    """The uint8 picture in an uploaded file's bytes, ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)``.

    Raises
    ------
    ValueError
        Not an image, truncated or corrupt, more than ``settings.max_pixels`` pixels declared
        (a decompression bomb), or empty.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from convscope.web.settings import Settings
    >>> buffer = io.BytesIO(); Image.new("L", (6, 4), 200).save(buffer, format="PNG")
    >>> decode_upload(buffer.getvalue(), Settings()).shape
    (4, 6)
    >>> decode_upload(b"not an image", Settings())
    Traceback (most recent call last):
        ...
    ValueError: upload: the uploaded file is not an image file that Pillow can read
    """
    from ..io.images import read_image

    if not data:
        raise ValueError("upload: file expects the bytes of a PNG or JPEG image, but got an empty file")
    fd, name = tempfile.mkstemp(prefix="convscope-upload-", suffix=".img")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return read_image(name, max_pixels=settings.max_pixels)
    except ValueError as exc:
        raise ValueError(str(exc).replace(name, "the uploaded file").replace("read_image: ", "upload: ")) from None
    finally:
        os.unlink(name)


def _pil(picture: np.ndarray):
    from PIL import Image

    arr = np.asarray(picture)
    if arr.ndim == 3 and arr.shape[2] == 4:          # transparent pixels over black, as the canvas draws
        alpha = arr[:, :, 3:4].astype(np.float32) / 255.0
        arr = np.rint(arr[:, :, :3] * alpha).astype(np.uint8)
    return Image.fromarray(arr)


def _fit(image, side: int):
    """``image`` shrunk (never enlarged) so that its longer side is at most ``side``."""
    from PIL import Image

    scale = min(1.0, side / max(image.size))
    if scale >= 1.0:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR)


def _centre_digit(grey):
    """MNIST's framing for a drawn digit: its bounding box scaled to fit 20x20, centred in 28x28."""
    from PIL import Image

    box = grey.getbbox()
    if box is None:
        return grey.resize((28, 28), Image.Resampling.BILINEAR), False
    crop = grey.crop(box)
    scale = 20.0 / max(crop.size)
    crop = crop.resize((max(1, round(crop.width * scale)), max(1, round(crop.height * scale))),
                       Image.Resampling.BILINEAR)
    canvas = Image.new("L", (28, 28), 0)
    canvas.paste(crop, ((28 - crop.width) // 2, (28 - crop.height) // 2))
    return canvas, True


def prepare(picture: np.ndarray, entry: ModelEntry, settings: Settings, *, invert: str = "auto",
            centre: bool = False) -> Prepared:
    """Make a uint8 picture into ``entry``'s input and a grey preview.

    Parameters
    ----------
    picture : ndarray
        uint8 ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` (alpha composited over black).
    entry : ModelEntry
    settings : Settings
    invert : {'auto', 'yes', 'no'}
        Invert grey levels. ``'auto'``: for a model trained on light strokes on a dark ground,
        when the picture's mean is above mid-grey (a dark digit on white paper).
    centre : bool
        Frame a 28x28 digit input as MNIST does (bounding box to 20x20, centred); for drawings.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.web.registry import resolve
    >>> from convscope.web.settings import Settings
    >>> page = np.full((56, 56), 255, np.uint8); page[10:46, 24:32] = 0      # a dark "1" on white
    >>> ready = prepare(page, resolve("lenet5"), Settings())
    >>> ready.input.shape, ready.preview.shape
    ((1, 28, 28), (56, 56))
    >>> ready.notes        # doctest: +NORMALIZE_WHITESPACE
    ['resized from 56x56 to 28x28', 'inverted: the model was trained on light strokes on a dark ground',
     'normalised as in training: (x - 0.1307) / 0.3081']
    """
    from PIL import ImageOps

    from ..data import Normalize

    channels, height, width = entry.input_shape
    image = _pil(picture)
    notes = []
    grey = image.convert("L")
    preview = np.asarray(_fit(grey, settings.preview_side), dtype=np.float32) / 255.0    # as it is, never inverted
    if invert == "yes" or (invert == "auto" and entry.light_on_dark and np.asarray(grey).mean() > 127.5):
        image, grey = ImageOps.invert(image.convert("RGB")), ImageOps.invert(grey)
        inverted = "inverted: the model was trained on light strokes on a dark ground" if invert == "auto" \
            else "inverted, as asked"
    else:
        inverted = None
    source = grey if channels == 1 else image.convert("RGB")
    if centre and channels == 1 and (height, width) == (28, 28):
        resized, framed = _centre_digit(grey)
        if framed:
            notes.append("framed as MNIST digits are: the drawing's bounding box scaled to 20x20 and centred")
    else:
        from PIL import Image

        resized = source.resize((width, height), Image.Resampling.BILINEAR)
        if source.size != (width, height):
            notes.append(f"resized from {source.height}x{source.width} to {height}x{width}")
    if channels == 1 and np.ndim(picture) == 3:
        notes.append("converted to grey")
    if inverted:
        notes.append(inverted)
    arr = np.asarray(resized, dtype=np.float32) / 255.0
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    if channels not in (1, 3):                        # a model of another channel count: repeat the grey
        arr = np.repeat(arr[:1], channels, axis=0)
    if entry.normalize is not None:
        arr = Normalize(*entry.normalize)(arr[None])[0]
        notes.append(f"normalised as in training: (x - {entry.normalize[0]}) / {entry.normalize[1]}")
    return Prepared(np.ascontiguousarray(arr, dtype=np.float32), preview, notes)


# --------------------------------------------------------------------------- samples

def _digits(dataset: str):
    from ..data import MNIST, FashionMNIST

    cls = MNIST if dataset == "mnist" else FashionMNIST
    test = cls.bundled(train=False)
    first = {}
    for index, target in enumerate(test.targets.tolist()):
        first.setdefault(int(target), index)
        if len(first) == len(test.classes):
            break
    return test, first


def _sample_table() -> dict[str, tuple[str, str, object]]:
    """id -> (label, group, loader) for every sample the page offers."""
    from ..data import patterns

    table: dict[str, tuple[str, str, object]] = {}
    for dataset, prefix, group in (("mnist", "digit", "MNIST test digits"),
                                   ("fashion-mnist", "fashion", "Fashion-MNIST test items")):
        test, first = _digits(dataset)
        for target, index in sorted(first.items()):
            label = test.classes[target]
            table[f"{prefix}-{target}"] = (f"{label} (test image {index})" if prefix == "fashion"
                                           else f"digit {label} (test image {index})", group,
                                           lambda t=test, i=index: np.array(t.data[i]))
    for name in ("checkerboard", "circles", "bars", "step_edge", "impulse"):
        table[f"pattern-{name}"] = (name.replace("_", " "), "patterns",
                                    lambda n=name: patterns.load_image(f"pattern:{n}", size=64,
                                                                       **({"square": 8} if n == "checkerboard" else
                                                                          {"width": 6} if n in ("circles", "bars")
                                                                          else {})))
    import importlib.util

    if importlib.util.find_spec("skimage") is None:       # the photographs need the samples extra
        return table
    for name in ("camera", "coins", "astronaut", "chelsea"):
        table[f"photo-{name}"] = (name, "photographs", lambda n=name: patterns.sample_image(n))
    return table


_SAMPLES: dict[str, tuple[str, str, object]] | None = None


def samples() -> dict[str, tuple[str, str, object]]:
    """The sample table, built once: id -> (label, group, loader returning a uint8 picture).

    Examples
    --------
    >>> samples()["digit-7"][:2]
    ('digit 7 (test image 0)', 'MNIST test digits')
    """
    global _SAMPLES
    if _SAMPLES is None:
        _SAMPLES = _sample_table()
    return _SAMPLES


def sample_picture(sample_id: str) -> tuple[np.ndarray, str]:
    """``(picture, label)`` of a sample id; KeyError for any other string (ids are never paths).

    Examples
    --------
    >>> picture, label = sample_picture("fashion-9")
    >>> picture.shape, picture.dtype, label
    ((28, 28), dtype('uint8'), 'Ankle boot (test image 0)')
    >>> sample_picture("../../etc/passwd")
    Traceback (most recent call last):
        ...
    KeyError: '../../etc/passwd'
    """
    label, _, load = samples()[sample_id]
    return load(), label


def thumbnail(picture: np.ndarray) -> str:
    """A small PNG of ``picture`` as a ``data:`` URL, for the sample gallery.

    Examples
    --------
    >>> import numpy as np
    >>> thumbnail(np.zeros((28, 28), np.uint8))[:22]
    'data:image/png;base64,'
    """
    buffer = io.BytesIO()
    _fit(_pil(picture).convert("RGB"), _THUMB_SIDE).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
