"""Feature maps: what each layer of a network computes for one image.

:func:`capture` records layer outputs through :meth:`convscope.nn.Module.register_forward_hook`
(every hook removed afterwards, even after an error); :func:`feature_maps` draws them, the input
first, then one block of channel heatmaps per layer. Colours follow
:mod:`convscope.viz._common`: a layer whose values are all ``>= 0`` (after a ReLU, a pool of
them) uses :data:`~convscope.viz._common.MAGNITUDE_CMAP` from 0 to its maximum, any other uses
the diverging :data:`~convscope.viz._common.SIGNED_CMAP` with limits ``-m .. +m``; all channels
of one layer share one scale and one colour bar.
"""

from __future__ import annotations

import contextlib
import math
from typing import Iterator

import numpy as np

from .. import _validation as V
from ..autograd import Tensor, no_grad
from ._common import (FIGURE_SUFFIXES, IMAGE_CMAP, MAGNITUDE_CMAP, SIGNED_CMAP, as_image_batch, check_output_path,
                      conv_layers, finish, get_layer, input_channels, new_figure, symmetric_limit)

__all__ = ["capture", "feature_maps", "default_layers"]

_ACTIVATIONS = ("ReLU", "LeakyReLU", "Sigmoid", "Tanh")
_DEFAULT_LIMIT = 12        # feature_maps draws at most this many of the default layers


# --------------------------------------------------------------------------- shared with attribution, receptive

def _check_model(model, fn: str):
    from ..nn.module import Module

    if not isinstance(model, Module):
        raise TypeError(f"{fn}: model expects a convscope.nn.Module, but got {type(model).__name__}")
    return model


@contextlib.contextmanager
def _evaluating(model, *, freeze: bool = False) -> Iterator[None]:
    """Eval mode (and, with ``freeze``, parameters that record no gradient) for the duration of
    the block; every module's mode and every parameter's ``requires_grad`` restored afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    flags = [(p, p.requires_grad) for p in model.parameters()]
    try:
        model.eval()
        if freeze:
            for p, _ in flags:
                p.requires_grad = False
        yield
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
        for p, flag in flags:
            p.requires_grad = flag


def _display_image(batch: np.ndarray) -> tuple[np.ndarray, str | None, str]:
    """An input batch ``(1, C, H, W)`` as something ``imshow`` draws: ``(image, cmap, note)``.

    One channel: grey. Three: RGB (rescaled to 0..1 when outside it). Otherwise the mean of the
    channels, in grey.
    """
    x = batch[0].astype(np.float64)
    c = x.shape[0]
    if c == 1:
        return x[0], IMAGE_CMAP, ""
    if c == 3:
        rgb = x.transpose(1, 2, 0)
        lo, hi = float(rgb.min()), float(rgb.max())
        if lo < 0 or hi > 1:
            rgb = (rgb - lo) / (hi - lo) if hi > lo else np.zeros_like(rgb)
            return rgb, None, "rescaled to 0..1 for display"
        return rgb, None, ""
    return x.mean(axis=0), IMAGE_CMAP, f"mean of its {c} channels"


def _shape_text(shape) -> str:
    return "\u00d7".join(str(s) for s in shape)


def _span(indices: list[int]) -> str:
    return f"{indices[0]}\u2013{indices[-1]}" if len(indices) > 1 else f"{indices[0]}"


# --------------------------------------------------------------------------- capture

def default_layers(model) -> list[str]:
    """The layers :func:`capture` and :func:`feature_maps` show by default.

    Every convolution (in ``named_modules()`` order) and, for each, the first activation
    (ReLU, LeakyReLU, Sigmoid or Tanh) that comes after it and before the next convolution, so a
    BatchNorm in between is skipped: what the conv computes, and what survives its
    non-linearity.

    Examples
    --------
    >>> from convscope import models
    >>> default_layers(models.lenet5())
    ['0', '1', '3', '4']
    """
    _check_model(model, "default_layers")
    convs = {id(m) for _, m in conv_layers(model)}
    names, waiting = [], False
    for name, module in model.named_modules():
        if not name:
            continue
        if id(module) in convs:
            names.append(name)
            waiting = True
        elif waiting and type(module).__name__ in _ACTIVATIONS:
            names.append(name)
            waiting = False
    return names


def _select(model, layers, fn: str) -> list[tuple[str, object]]:
    from ..nn.module import Module

    if layers is None:
        chosen = [get_layer(model, name, fn, "layers") for name in default_layers(model)]
        if not chosen:
            raise ValueError(f"{fn}: layers expects names of the model's layers when the model has no conv layer, "
                             f"but got None")
        return chosen
    if isinstance(layers, (str, Module)):
        layers = [layers]
    try:
        items = list(layers)
    except TypeError:
        raise TypeError(f"{fn}: layers expects a layer name, a list of them or None, but got "
                        f"{type(layers).__name__}") from None
    if not items:
        raise ValueError(f"{fn}: layers expects at least one layer name, but got an empty {type(layers).__name__}")
    chosen, seen = [], set()
    for item in items:
        name, module = get_layer(model, item, fn, "layers")
        if name not in seen:
            seen.add(name)
            chosen.append((name, module))
    return chosen


def _as_array(value, name: str, fn: str) -> np.ndarray:
    if isinstance(value, Tensor):
        return np.array(value.data, copy=True)
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    raise TypeError(f"{fn}: layer {name!r} expects to return an array or Tensor, but it returned "
                    f"{type(value).__name__}")


def _run(model, batch: np.ndarray, selected, fn: str) -> dict[str, np.ndarray]:
    outputs: dict[str, object] = {}

    def recorder(name):
        def hook(module, args, output):
            outputs[name] = output
        return hook

    with _evaluating(model), contextlib.ExitStack() as hooks:
        for name, module in selected:
            hooks.enter_context(module.register_forward_hook(recorder(name)))
        with no_grad():
            model(Tensor(batch))
    missing = [name for name, _ in selected if name not in outputs]
    if missing:
        raise ValueError(f"{fn}: layers expects layers that the forward pass calls, but "
                         f"{', '.join(repr(n) for n in missing)} did not run")
    return {name: _as_array(outputs[name], name, fn) for name, _ in selected}


def capture(model, image, layers=None) -> dict[str, np.ndarray]:
    """Run ``model`` on one image and return the outputs of the chosen layers.

    Parameters
    ----------
    model : Module
    image : array_like or Tensor
        One image, ``(H, W)``, ``(C, H, W)`` or ``(1, C, H, W)`` (``(H, W, 3)`` for an RGB
        model); uint8 is scaled to 0..1. Its channels must match the model's first conv.
    layers : str, Module, list of them, or None
        Names as ``model.named_modules()`` gives them (``'features.0'``), or the modules
        themselves. None: :func:`default_layers` (every conv and the activation after it).

    Returns
    -------
    dict of str to ndarray
        Name -> a copy of what that layer returned, batch dimension included (``(1, C, h, w)``
        for a conv), in the order of ``layers``. A module called more than once during the
        forward pass (a ReLU reused inside a ResNet block) gives its last output.

    Raises
    ------
    ValueError
        An unknown layer name (the message lists the model's layers); a layer the forward pass
        does not call; a wrong image shape or channel count.
    TypeError
        ``model`` not a Module, a layer that returns something other than an array.

    Notes
    -----
    The model runs once in eval mode (Dropout off, BatchNorm on its running statistics) under
    ``no_grad``; each module's mode is restored and every hook removed afterwards, also when the
    forward pass fails.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import models
    >>> from convscope.viz.features import capture
    >>> acts = capture(models.lenet5(), np.zeros((28, 28)), layers=["0", "2"])
    >>> {name: a.shape for name, a in acts.items()}
    {'0': (1, 6, 28, 28), '2': (1, 6, 14, 14)}
    """
    fn = "capture"
    _check_model(model, fn)
    selected = _select(model, layers, fn)
    batch = as_image_batch(image, fn, input_channels(model))
    return _run(model, batch, selected, fn)


# --------------------------------------------------------------------------- feature_maps

def _layer_colours(values: np.ndarray) -> tuple[str, float, float, str]:
    """(cmap, vmin, vmax, label) by the convention: magnitudes from 0, signed values symmetric."""
    if values.size and float(values.min()) >= 0:
        top = float(values.max())
        return MAGNITUDE_CMAP, 0.0, top if top > 0 else 1.0, "activation (\u2265 0)"
    m = symmetric_limit([values])
    return SIGNED_CMAP, -m, m, "activation (signed)"


def feature_maps(model, image, layers=None, *, max_channels: int = 16, title: str | None = None, path=None):
    """Draw the input and, for each chosen layer, its channels as heatmaps.

    Parameters
    ----------
    model : Module
    image : array_like or Tensor
        One image, as for :func:`capture`.
    layers : str, Module, list of them, or None
        As for :func:`capture`. None: :func:`default_layers`, the first 12 of them for a deep
        model (the title says so; pass ``layers`` to choose others).
    max_channels : int
        Channels ``0 .. max_channels - 1`` of each layer at most (the block's title says how
        many the layer has). The first ones, so a conv and its activation show the same channels.
    title : str, optional
        Replaces the default title.
    path : str or os.PathLike, optional
        Also save the figure there (``.png``, ``.svg`` or ``.gif``).

    Returns
    -------
    matplotlib.figure.Figure
        One sub-figure (``fig.subfigs``) for the input, then one per layer, titled
        ``"name · Type · shape"``, with a grid of up to 8 maps a row and one colour bar.

    Raises
    ------
    ValueError, TypeError
        As :func:`capture`; a bad ``max_channels``.
    PermissionError
        ``path`` is in a folder that is not writable (checked before any work).

    Notes
    -----
    A layer whose values are all ``>= 0`` is drawn with the magnitude colour map from 0 to its
    largest value, any other with the diverging map, white at 0, limits ``-m .. +m``; the
    channels of one layer share one scale, so they compare with each other (not across layers).
    A layer with no spatial dims (a Linear) is drawn as one strip of its values.

    Examples
    --------
    >>> from convscope import models
    >>> from convscope.data import MNIST
    >>> from convscope.viz.features import feature_maps
    >>> fig = feature_maps(models.lenet5(), MNIST.bundled(train=False).data[0], max_channels=4)
    >>> [sub.get_suptitle() for sub in fig.subfigs]     # doctest: +NORMALIZE_WHITESPACE
    ['input \u00b7 1\u00d728\u00d728', '0 \u00b7 Conv2d \u00b7 6\u00d728\u00d728 \u00b7 channels 0\u20133 of 6',
     '1 \u00b7 ReLU \u00b7 6\u00d728\u00d728 \u00b7 channels 0\u20133 of 6',
     '3 \u00b7 Conv2d \u00b7 16\u00d710\u00d710 \u00b7 channels 0\u20133 of 16',
     '4 \u00b7 ReLU \u00b7 16\u00d710\u00d710 \u00b7 channels 0\u20133 of 16']
    """
    fn = "feature_maps"
    _check_model(model, fn)
    max_channels = V.check_int(max_channels, "max_channels", fn, minimum=1)
    if path is not None:
        check_output_path(path, fn, FIGURE_SUFFIXES)
    note = ""
    if layers is None:
        names = default_layers(model)
        if len(names) > _DEFAULT_LIMIT:
            note = f"\n(the first {_DEFAULT_LIMIT} of {len(names)} conv and activation layers; pass layers= for others)"
            names = names[:_DEFAULT_LIMIT]
        selected = _select(model, names or None, fn)
    else:
        selected = _select(model, layers, fn)
    batch = as_image_batch(image, fn, input_channels(model))
    outputs = _run(model, batch, selected, fn)
    modules = dict(selected)

    ncols_max = 8
    blocks = []               # (name, array (C, ...) or vector, channels shown)
    heights = [2.1]
    for name, out in outputs.items():
        values = out[0] if out.ndim >= 2 and out.shape[0] == 1 else out
        if values.ndim >= 3:
            channels = list(range(min(values.shape[0], max_channels)))
            rows = math.ceil(len(channels) / ncols_max)
            heights.append(0.55 + 0.9 * rows)
        else:
            channels = []
            heights.append(1.3)
        blocks.append((name, values, channels))

    fig_w = 8.0
    fig = new_figure(fn, (fig_w, sum(heights) + 0.5), layout="constrained")
    subs = fig.subfigures(len(heights), 1, height_ratios=heights, hspace=0.01)

    shown, cmap, input_note = _display_image(batch)
    ax = subs[0].subplots()
    ax.imshow(shown, cmap=cmap, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    subs[0].suptitle(f"input \u00b7 {_shape_text(batch.shape[1:])}", fontsize=9, fontweight="bold")
    if input_note:
        ax.set_xlabel(input_note, fontsize=7)

    for sub, (name, values, channels) in zip(subs[1:], blocks):
        kind = type(modules[name]).__name__
        heading = f"{name} \u00b7 {kind} \u00b7 {_shape_text(values.shape)}"
        if channels and len(channels) < values.shape[0]:
            heading += f" \u00b7 channels {_span(channels)} of {values.shape[0]}"
        sub.suptitle(heading, fontsize=9, fontweight="bold")
        if channels:
            maps = values[channels].reshape(len(channels), values.shape[1], -1)
            cmap, lo, hi, label = _layer_colours(maps)
            ncols = min(ncols_max, len(channels))
            rows = math.ceil(len(channels) / ncols)
            axes = np.atleast_1d(sub.subplots(rows, ncols_max, squeeze=False)).ravel()
            image_artist = None
            for i, ax in enumerate(axes):
                ax.set_xticks([])
                ax.set_yticks([])
                if i >= len(channels):
                    ax.set_visible(False)
                    continue
                image_artist = ax.imshow(maps[i], cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
                ax.set_title(f"ch {channels[i]}", fontsize=7, pad=2)
        else:
            vector = values.reshape(1, -1)
            cmap, lo, hi, label = _layer_colours(vector)
            ax = sub.subplots()
            image_artist = ax.imshow(vector, cmap=cmap, vmin=lo, vmax=hi, aspect="auto", interpolation="nearest")
            ax.set_yticks([])
            ax.set_xlabel("unit", fontsize=7)
            ax.tick_params(labelsize=7)
            axes = [ax]
        bar = sub.colorbar(image_artist, ax=list(axes), shrink=0.9, aspect=12, pad=0.01)
        if not channels:
            from matplotlib.ticker import MaxNLocator
            bar.locator = MaxNLocator(3)
            bar.update_ticks()
        bar.set_label(label, fontsize=7)
        bar.ax.tick_params(labelsize=7)
    if title is None:
        title = f"Feature maps of {type(model).__name__} for one image{note}"
    fig.suptitle(title, fontsize=11)
    return finish(fig, path, fn)
