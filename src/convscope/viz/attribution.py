"""Which pixels a class score depends on: saliency maps and Grad-CAM, through convscope's autograd.

- :func:`saliency_map` (Simonyan, Vedaldi & Zisserman, 2014): ``|d score / d input|``, the
  largest over the colour channels, one value per input pixel.
- :func:`grad_cam_map` (Selvaraju et al., 2017): at a conv layer with maps ``A_k``, weights
  ``alpha_k = mean over positions of d score / d A_k``, then ``ReLU(sum_k alpha_k A_k)``,
  upsampled bilinearly to the input and divided by its maximum (so in ``[0, 1]``).

The score is the model's output for class ``target`` before any softmax the model does not
contain itself: ``output[0, target]`` for a classifier ``(1, K)``, or its sum over positions for
a dense predictor ``(1, K, h, w)``. ``target=None`` is the predicted class (the largest score).
The model runs in eval mode with its parameters recording no gradient (so no ``.grad`` of the
model changes); modes and flags are restored afterwards.

Both figures follow :mod:`convscope.viz._common`: the input in grey (or colour), the maps with
:data:`~convscope.viz._common.MAGNITUDE_CMAP` from 0, and an overlay of the two.

References
----------
.. [1] K. Simonyan, A. Vedaldi and A. Zisserman, "Deep inside convolutional networks:
   visualising image classification models and saliency maps", ICLR workshop, 2014.
.. [2] R. R. Selvaraju et al., "Grad-CAM: visual explanations from deep networks via
   gradient-based localization", ICCV 2017.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validation as V
from ..autograd import Tensor, enable_grad
from ..ops.resize import interpolate_forward
from ._common import (FIGURE_SUFFIXES, MAGNITUDE_CMAP, as_image_batch, check_output_path, conv_layers, finish,
                      get_layer, input_channels, new_figure)
from .features import _check_model, _display_image, _evaluating, _shape_text

__all__ = ["saliency_map", "saliency", "grad_cam_map", "grad_cam"]


@dataclass(frozen=True)
class _Scored:
    target: int
    predicted: int
    score: float
    classes: int


def _score(output, target, fn: str) -> tuple[Tensor, _Scored]:
    """The scalar Tensor to differentiate, and what it is."""
    if not isinstance(output, Tensor) or output.ndim < 2 or output.shape[0] != 1:
        shape = getattr(output, "shape", type(output).__name__)
        raise ValueError(f"{fn}: model expects to return class scores of shape (1, classes) or "
                         f"(1, classes, h, w), but it returned {shape}")
    classes = int(output.shape[1])
    per_class = output.data[0].reshape(classes, -1).sum(axis=1)
    predicted = int(np.argmax(per_class))
    if target is None:
        target = predicted
    else:
        target = V.check_int(target, "target", fn)
        if not 0 <= target < classes:
            raise ValueError(f"{fn}: target expects a class index in 0..{classes - 1} (the model gives {classes} "
                             f"scores), but got {target}")
    score = output[0, target]
    if score.ndim:
        score = score.sum()
    return score, _Scored(target, predicted, float(per_class[target]), classes)


def _saliency(model, image, target, fn: str) -> tuple[np.ndarray, np.ndarray, _Scored]:
    _check_model(model, fn)
    batch = as_image_batch(image, fn, input_channels(model))
    with _evaluating(model, freeze=True), enable_grad():
        x = Tensor(batch, requires_grad=True)
        score, scored = _score(model(x), target, fn)
        if score.requires_grad:
            score.backward()
    grad = np.zeros_like(batch) if x.grad is None else x.grad
    return np.abs(grad[0]).max(axis=0), batch, scored


def saliency_map(model, image, target: int | None = None) -> np.ndarray:
    """``|d score / d input|``, the largest over the input channels: one value per pixel.

    Parameters
    ----------
    model : Module
        A classifier returning ``(1, K)`` scores (or ``(1, K, h, w)``, whose class map is summed).
    image : array_like or Tensor
        One image, ``(H, W)``, ``(C, H, W)`` or ``(1, C, H, W)`` (uint8 is scaled to 0..1).
    target : int, optional
        The class whose score is differentiated; default the predicted one.

    Returns
    -------
    ndarray, shape (H, W), float
        Non-negative; 0 where the score does not depend on the pixel.

    Raises
    ------
    ValueError
        ``target`` outside ``0..K-1`` (the message gives the range); a wrong image shape or
        channel count; a model whose output is not ``(1, K, ...)``.
    TypeError
        ``model`` not a Module, ``target`` not an integer.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import nn
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(9, 2))
    >>> net[1].weight.data[...] = 0.0
    >>> net[1].weight.data[1, 4] = -3.0           # class 1 reads the centre pixel only
    >>> saliency_map(net, np.zeros((3, 3)), target=1)
    array([[0., 0., 0.],
           [0., 3., 0.],
           [0., 0., 0.]], dtype=float32)
    """
    return _saliency(model, image, target, "saliency_map")[0]


def _grad_cam(model, image, target, layer, fn: str):
    _check_model(model, fn)
    if layer is None:
        convs = conv_layers(model)
        if not convs:
            raise ValueError(f"{fn}: layer expects a layer name when the model has no conv layer, but got None")
        name, module = convs[-1]
    else:
        name, module = get_layer(model, layer, fn)
    batch = as_image_batch(image, fn, input_channels(model))
    seen: dict[str, object] = {}

    def hook(module, args, output):
        # The layer's output becomes a leaf that records its gradient; the layers before it are
        # not needed for Grad-CAM, so cutting the graph there costs nothing.
        if not isinstance(output, Tensor) or output.ndim != 4:
            seen["bad"] = getattr(output, "shape", type(output).__name__)
            return None
        seen["maps"] = Tensor(output.data, requires_grad=True)
        return seen["maps"]

    with _evaluating(model, freeze=True), enable_grad(), module.register_forward_hook(hook):
        output = model(Tensor(batch))
        if "maps" not in seen:
            found = f"gives {seen['bad']}" if "bad" in seen else "does not run in the forward pass"
            raise ValueError(f"{fn}: layer expects a layer with maps of shape (1, C, h, w), but {name!r} {found}")
        score, scored = _score(output, target, fn)
        if score.requires_grad:
            score.backward()
    maps = seen["maps"]
    activations = maps.data[0].astype(np.float64)
    gradients = np.zeros_like(activations) if maps.grad is None else maps.grad[0].astype(np.float64)
    alpha = gradients.mean(axis=(1, 2))
    cam = np.maximum(np.tensordot(alpha, activations, axes=1), 0.0)
    height, width = batch.shape[2:]
    up = interpolate_forward(cam[None, None], (height, width), "linear", align_corners=False)[0, 0]
    top = float(up.max())
    up = up / top if top > 0 else np.zeros_like(up)
    return np.clip(up, 0.0, 1.0), batch, scored, name, type(module).__name__, cam.shape


def grad_cam_map(model, image, target: int | None = None, layer=None) -> np.ndarray:
    """Grad-CAM: where, at a conv layer, the evidence for class ``target`` lies, at input size.

    Parameters
    ----------
    model : Module
        A classifier returning ``(1, K)`` scores (or ``(1, K, h, w)``, whose class map is summed).
    image : array_like or Tensor
        One image, ``(H, W)``, ``(C, H, W)`` or ``(1, C, H, W)``.
    target : int, optional
        The class; default the predicted one.
    layer : str or Module, optional
        A layer whose output is ``(1, C, h, w)``; default the last conv layer (in
        ``named_modules()`` order). A layer called more than once uses its last call.

    Returns
    -------
    ndarray, shape (H, W), float64, in [0, 1]
        ``ReLU(sum_k alpha_k A_k)`` with ``alpha_k`` the mean gradient of the score over map
        ``A_k``, upsampled bilinearly (pixel centres aligned) and divided by its maximum; all
        zeros when no position has positive evidence.

    Raises
    ------
    ValueError
        ``target`` out of range (the message gives the range); an unknown layer (the message
        lists them); a layer without ``(1, C, h, w)`` maps or that does not run; a model without
        conv layers and no ``layer``; a wrong image shape.
    TypeError
        ``model`` not a Module, ``target`` not an integer.

    Notes
    -----
    The gradient at the layer is read by a forward hook that replaces the layer's output with a
    leaf Tensor of the same values (PyTorch's ``retain_grad`` is not needed): the score and
    everything after the layer are unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import models
    >>> cam = grad_cam_map(models.lenet5(), np.random.default_rng(0).random((28, 28)), target=3)
    >>> cam.shape, bool(0 <= cam.min() and cam.max() <= 1)
    ((28, 28), True)
    """
    return _grad_cam(model, image, target, layer, "grad_cam_map")[0]


# --------------------------------------------------------------------------- figures

def _three_panels(fn: str, batch: np.ndarray, heat: np.ndarray, heat_title: str, bar_label: str,
                  title: str, path):
    """Input, the map (magnitude colours, colour bar), and the map over the input."""
    fig = new_figure(fn, (9.6, 3.75), layout="constrained")
    axes = fig.subplots(1, 3)
    shown, cmap, note = _display_image(batch)
    grey = shown if shown.ndim == 2 else shown.mean(axis=2)
    axes[0].imshow(shown, cmap=cmap, interpolation="nearest")
    axes[0].set_title(f"input {_shape_text(batch.shape[1:])}" + (f"\n({note})" if note else ""), fontsize=9)
    top = float(heat.max())
    vmax = top if top > 0 else 1.0
    artist = axes[1].imshow(heat, cmap=MAGNITUDE_CMAP, vmin=0.0, vmax=vmax, interpolation="nearest")
    axes[1].set_title(heat_title, fontsize=9)
    bar = fig.colorbar(artist, ax=axes[1], shrink=0.85, pad=0.02)
    bar.set_label(bar_label, fontsize=8)
    bar.ax.tick_params(labelsize=7)
    axes[2].imshow(grey, cmap="gray", interpolation="nearest")
    # Transparent where the map is 0, opaque where it is largest: the input shows through.
    alpha = np.sqrt(np.clip(heat / vmax, 0.0, 1.0)) * 0.85
    axes[2].imshow(heat, cmap=MAGNITUDE_CMAP, vmin=0.0, vmax=vmax, alpha=alpha, interpolation="nearest")
    axes[2].set_title("overlay on the input (grey)", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=10)
    return finish(fig, path, fn)


def _class_text(scored: _Scored) -> str:
    chosen = "the predicted class" if scored.target == scored.predicted else f"predicted: {scored.predicted}"
    return f"class {scored.target} (score {scored.score:.3g}; {chosen})"


def saliency(model, image, target: int | None = None, *, path=None):
    """Figure: the input, its saliency map for class ``target``, and the map over the input.

    Parameters
    ----------
    model, image, target
        As for :func:`saliency_map`.
    path : str or os.PathLike, optional
        Also save the figure there (``.png``, ``.svg`` or ``.gif``).

    Returns
    -------
    matplotlib.figure.Figure
        Three Axes (input, saliency with a colour bar from 0, overlay); the title names the
        class, its score and the predicted class.

    Raises
    ------
    ValueError, TypeError
        As :func:`saliency_map`.
    PermissionError
        ``path`` is in a folder that is not writable (checked before any work).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import models
    >>> fig = saliency(models.lenet5(), np.zeros((28, 28)), target=0)
    >>> fig.axes[1].get_title()
    'saliency |\u2202score/\u2202pixel|\\n(largest over channels)'
    """
    fn = "saliency"
    if path is not None:
        check_output_path(path, fn, FIGURE_SUFFIXES)
    heat, batch, scored = _saliency(model, image, target, fn)
    title = f"Saliency of {type(model).__name__} for {_class_text(scored)}: bright pixels change the score most"
    return _three_panels(fn, batch, heat, "saliency |\u2202score/\u2202pixel|\n(largest over channels)",
                         "|gradient|", title, path)


def grad_cam(model, image, target: int | None = None, layer=None, *, path=None):
    """Figure: the input, the Grad-CAM map for class ``target`` at ``layer``, and the map over the input.

    Parameters
    ----------
    model, image, target, layer
        As for :func:`grad_cam_map`.
    path : str or os.PathLike, optional
        Also save the figure there (``.png``, ``.svg`` or ``.gif``).

    Returns
    -------
    matplotlib.figure.Figure
        Three Axes (input, Grad-CAM with a colour bar 0..1, overlay); the title names the class
        and the layer, the map's own size and the size it was upsampled to.

    Raises
    ------
    ValueError, TypeError
        As :func:`grad_cam_map`.
    PermissionError
        ``path`` is in a folder that is not writable (checked before any work).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import models
    >>> fig = grad_cam(models.lenet5(), np.zeros((28, 28)), target=0)
    >>> fig.axes[1].get_title()
    'Grad-CAM at 3 (Conv2d)\\n10\u00d710 map, upsampled to 28\u00d728'
    """
    fn = "grad_cam"
    if path is not None:
        check_output_path(path, fn, FIGURE_SUFFIXES)
    heat, batch, scored, name, kind, size = _grad_cam(model, image, target, layer, fn)
    heading = (f"Grad-CAM at {name} ({kind})\n{_shape_text(size)} map, upsampled to "
               f"{_shape_text(batch.shape[2:])}")
    title = f"Grad-CAM of {type(model).__name__} for {_class_text(scored)}: bright regions hold the evidence"
    return _three_panels(fn, batch, heat, heading, "relevance (max = 1)", title, path)
