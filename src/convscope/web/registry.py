"""The whitelist of models the explorer serves.

A request names a model by its *key* only (``"lenet5"``, ``"small_vgg"``, ``"my_net"``); the
key is looked up in a dict built at startup, so no request ever reaches the filesystem. The
entries come from :func:`resolve`: a zoo name (with the bundled weights when the package ships
them), a weights file written by :func:`convscope.save` of a zoo model (``.safetensors``), or an
ONNX file (``.onnx``, through :func:`convscope.onnx.load`).

Every model is put in eval mode with its parameters frozen once, here, and carries a lock: a
forward pass with hooks on a shared model must not interleave with another one.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..nn.module import Module
from .settings import Settings

__all__ = ["ModelEntry", "resolve", "build_whitelist", "DEFAULT_MODELS"]

#: The models served when none is named: the two with pretrained weights first.
DEFAULT_MODELS = ("lenet5", "small_vgg", "simple_cnn", "tiny_vgg")

# Zoo models trained on 28x28 grey digits or clothes, and the dataset their weights come from.
_MNIST_SHAPED = ("lenet5", "simple_cnn", "small_vgg")
# (mean, std) of the training pixels in [0, 1], as `convscope train` normalises them.
_NORMALIZE = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}
_FILE_SUFFIXES = (".onnx", ".safetensors")


@dataclass
class ModelEntry:
    """One whitelisted model and what the explorer needs to feed it.

    Attributes
    ----------
    key : str
        The name requests use (letters, digits, ``_`` and ``-``).
    label : str
        What the page shows.
    model : Module
        In eval mode, parameters frozen.
    input_shape : tuple of int
        One input ``(C, H, W)``; requests must send exactly this.
    classes : list of str
        A name per output (``"0"``.. for a model without known classes).
    source : str
        ``"zoo"``, ``"bundled"``, ``"weights"`` or ``"onnx"``.
    trained : bool
        False for a zoo model with random weights (its predictions mean nothing).
    dataset : str or None
        ``"mnist"`` / ``"fashion-mnist"`` for the bundled weights: the page then suggests
        matching samples, and inputs are normalised as in training.
    normalize : (float, float) or None
        ``(mean, std)`` applied to inputs in ``[0, 1]``.
    light_on_dark : bool
        The model was trained on light strokes on a dark ground (MNIST): uploads with a light
        background are inverted.
    summary : Summary or None
        :func:`convscope.summary` of the model on ``input_shape`` (shapes, receptive fields),
        traced once at startup.

    Examples
    --------
    >>> entry = resolve("small_vgg")
    >>> entry.label, entry.input_shape, entry.normalize, entry.classes[9]
    ('small_vgg (trained on fashion-mnist, 93.0% test accuracy)', (1, 28, 28), (0.286, 0.353), 'Ankle boot')
    >>> entry.describe()["source"], entry.summary["1"].type
    ('bundled', 'BatchNorm2d')
    """

    key: str
    label: str
    model: Module
    input_shape: tuple[int, int, int]
    classes: list[str]
    source: str
    trained: bool
    dataset: str | None = None
    normalize: tuple[float, float] | None = None
    light_on_dark: bool = False
    summary: object = field(default=None, repr=False, compare=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def describe(self) -> dict:
        """The entry as the ``/api/models`` listing gives it (JSON-ready)."""
        return {"key": self.key, "label": self.label, "input_shape": list(self.input_shape),
                "classes": list(self.classes), "source": self.source, "trained": self.trained,
                "dataset": self.dataset, "normalize": None if self.normalize is None else list(self.normalize)}


def _freeze(model: Module) -> Module:
    model.eval()
    for p in model.parameters():
        p.requires_grad = False
    return model


def _classes(dataset: str | None, count: int) -> list[str]:
    from ..data import MNIST, FashionMNIST

    known = {"mnist": MNIST.CLASSES, "fashion-mnist": FashionMNIST.CLASSES}.get(dataset)
    if known is not None and len(known) == count:
        return list(known)
    return [str(i) for i in range(count)]


def _summary(model: Module, input_shape: tuple[int, ...], spec: str):
    """:func:`convscope.summary` of the model (no compute), checked to end in ``(1, classes)``."""
    from ..analysis import summary

    try:
        table = summary(model, input_shape)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"explore: --model {spec} does not run on a {'x'.join(map(str, input_shape))} input: "
                         f"{str(exc).removeprefix('summary: ')}") from None
    shape = table[-1].output_shape if len(table) else None
    if not shape or len(shape) != 2:
        raise ValueError(f"explore: --model {spec} expects a classifier with outputs (1, classes), but its "
                         f"last layer gives {shape}")
    return table


def _zoo_shape(name: str, in_channels: int, settings: Settings) -> tuple[int, int, int]:
    if name in _MNIST_SHAPED:
        return (in_channels, 28, 28)
    side = 64 if name == "tiny_vgg" else min(224, settings.max_input_side)
    return (in_channels, side, side)


def _key(text: str) -> str:
    key = re.sub(r"[^a-z0-9_-]+", "_", text.lower()).strip("_-")
    return key or "model"


def _entry(key: str, label: str, model: Module, shape, source: str, trained: bool, dataset: str | None,
           spec: str) -> ModelEntry:
    _freeze(model)
    table = _summary(model, shape, spec)
    normalize = _NORMALIZE.get(dataset) if dataset else None
    return ModelEntry(key=key, label=label, model=model, input_shape=tuple(int(s) for s in shape),
                      classes=_classes(dataset, int(table[-1].output_shape[1])), source=source, trained=trained,
                      dataset=dataset, normalize=normalize, light_on_dark=dataset in _NORMALIZE, summary=table)


def _zoo(name: str, settings: Settings) -> ModelEntry:
    from .. import models

    bundled = models.bundled_weights()
    kwargs = {"in_channels": 1, "num_classes": 10} if name in _MNIST_SHAPED else {}
    if name in bundled:
        model = models.get(name, weights="bundled", **kwargs)
        dataset = bundled[name].get("dataset")
        accuracy = bundled[name].get("test_accuracy")
        label = f"{name} (trained on {dataset}" + (f", {float(accuracy):.1%} test accuracy)" if accuracy else ")")
        return _entry(name, label, model, _zoo_shape(name, 1, settings), "bundled", True, dataset, name)
    model = models.get(name, **kwargs)
    channels = 1 if name in _MNIST_SHAPED else 3
    return _entry(name, f"{name} (random weights)", model, _zoo_shape(name, channels, settings), "zoo", False,
                  "mnist" if name in _MNIST_SHAPED else None, name)


def _onnx_shape(model, spec: str, settings: Settings) -> tuple[int, int, int]:
    declared = next(iter(getattr(model, "input_shapes", {}).values()), ())
    if len(declared) != 4:
        raise ValueError(f"explore: --model {spec} expects an ONNX model with one image input (N, C, H, W), but "
                         f"it declares {declared!r}")
    channels = declared[1] or 3
    side = min(224, settings.max_input_side)
    shape = (int(channels), int(declared[2] or side), int(declared[3] or side))
    if max(shape[1:]) > settings.max_input_side:
        raise ValueError(f"explore: --model {spec} expects a {'x'.join(map(str, shape))} input, larger than "
                         f"max_input_side={settings.max_input_side}; raise the limit (--max-side) to serve it")
    return shape


def _file(path: Path, spec: str, settings: Settings) -> ModelEntry:
    if path.suffix.lower() == ".onnx":
        from .. import onnx

        try:
            model = onnx.load(str(path))
        except ValueError as exc:
            raise ValueError(f"explore: --model {spec}: {str(exc).removeprefix('load: ')}") from None
        return _entry(_key(path.stem), path.name, model, _onnx_shape(model, spec, settings), "onnx", True, None,
                      spec)
    from ..io.weights import load, read_metadata

    try:
        loaded = load(path)
        metadata = read_metadata(path)
    except ValueError as exc:
        raise ValueError(f"explore: --model {spec}: {str(exc).removeprefix('load: ')}") from None
    if not isinstance(loaded, Module) or not getattr(loaded, "zoo_spec", None):
        raise ValueError(f"explore: --model {spec} expects the weights of a zoo model (written by "
                         f"convscope.save(model, path)), but the file holds a state dict without its architecture")
    name = loaded.zoo_spec["name"]
    channels = int(loaded.zoo_spec.get("kwargs", {}).get("in_channels", 1 if name in _MNIST_SHAPED else 3))
    dataset = metadata.get("dataset") or ("mnist" if name in _MNIST_SHAPED and channels == 1 else None)
    return _entry(_key(path.stem), f"{path.name} ({name})", loaded, _zoo_shape(name, channels, settings),
                  "weights", True, dataset, spec)


def resolve(spec, settings: Settings | None = None) -> ModelEntry:
    """A :class:`ModelEntry` for a zoo name, a ``.safetensors`` weights file or an ``.onnx`` file.

    Parameters
    ----------
    spec : str or os.PathLike
        ``"lenet5"`` (any name of :func:`convscope.models.available`), or the path of a file.
    settings : Settings, optional
        For the input-size limit.

    Returns
    -------
    ModelEntry

    Raises
    ------
    ValueError
        An unknown name, a missing file, an unsupported suffix, a file that does not hold a
        model, or a model too large for ``settings.max_input_side``.

    Examples
    --------
    >>> entry = resolve("lenet5")
    >>> entry.key, entry.input_shape, entry.trained, entry.classes[:3]
    ('lenet5', (1, 28, 28), True, ['0', '1', '2'])
    >>> resolve("lenet6")
    Traceback (most recent call last):
        ...
    ValueError: explore: --model expects a zoo name (alexnet, ...) or a .onnx / .safetensors file, but got 'lenet6'
    """
    from .. import models

    settings = settings or Settings()
    text = str(spec)
    if text in models.available():
        return _zoo(text, settings)
    path = Path(text)
    if path.suffix.lower() not in _FILE_SUFFIXES:
        raise ValueError(f"explore: --model expects a zoo name ({', '.join(models.available())}) or a .onnx / "
                         f".safetensors file, but got {text!r}")
    if not path.is_file():
        raise ValueError(f"explore: --model expects an existing file, but there is no file at {text}")
    return _file(path, text, settings)


def build_whitelist(specs=None, settings: Settings | None = None) -> dict[str, ModelEntry]:
    """The key -> entry dict of the models to serve, in order (the first is the page's default).

    ``specs``: zoo names, file paths or ready :class:`ModelEntry` objects; None serves
    :data:`DEFAULT_MODELS`. Two files with the same stem get keys ``name`` and ``name-2``.

    Examples
    --------
    >>> list(build_whitelist(["lenet5", "lenet5"]))
    ['lenet5']
    """
    settings = settings or Settings()
    entries: dict[str, ModelEntry] = {}
    seen_specs = set()
    for spec in DEFAULT_MODELS if specs is None else specs:
        if not isinstance(spec, ModelEntry):
            if str(spec) in seen_specs:
                continue
            seen_specs.add(str(spec))
        entry = spec if isinstance(spec, ModelEntry) else resolve(spec, settings)
        key, n = entry.key, 2
        while key in entries:
            key, n = f"{entry.key}-{n}", n + 1
        entry.key = key
        entries[key] = entry
    if not entries:
        raise ValueError("explore: models expects at least one model, but got none")
    return entries
