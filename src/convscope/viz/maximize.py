"""Activation maximization: the input a channel responds to most, found by gradient ascent.

Starting from faint noise, the input image is changed step by step in the direction that raises
the mean activation of one channel of one layer (Erhan et al., 2009, "Visualizing higher-layer
features of a deep network"). Left alone, the ascent finds high-frequency noise that fools the
channel; three standard remedies make the result a recognisable pattern (Olah, Mordvintsev and
Schubert, 2017, "Feature Visualization", Distill; Mahendran and Vedaldi, 2015, "Understanding
deep image representations by inverting them"):

- **transformation robustness**: every step looks at a randomly shifted, scaled and rotated copy
  of the image, so only patterns that work wherever they sit survive;
- **regularisation**: an L2 penalty keeps the pixels near zero (the data's mean after
  normalisation) and a total-variation penalty keeps neighbouring pixels alike;
- **gradient normalisation**: each step moves the pixels by ``lr`` (RMS), whatever the scale of
  the layer's gradients, so one learning rate serves every layer and model.

Everything runs on convscope's own autograd: the image is a :class:`~convscope.autograd.Tensor`
with ``requires_grad``, a forward hook takes the layer's output (and stops the forward there, so
the layers after it cost nothing), and ``backward`` gives the gradient.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from .._validation import check_int
from ..autograd import Tensor, enable_grad, no_grad
from ._common import FIGURE_SUFFIXES, IMAGE_CMAP, check_output_path, finish, get_layer, input_channels, new_figure

__all__ = ["Maximization", "activation_maximization", "maximize_grid"]


@dataclass(frozen=True, eq=False)
class Maximization:
    """What :func:`activation_maximization` found for one channel.

    Attributes
    ----------
    image : (C, H, W) float32 array
        The optimised input, in the model's input units (for a model trained on normalised
        images, normalised units: 0 is the data's mean).
    activations : (steps,) float array
        The channel's mean positive activation ``mean(max(a, 0))`` over its positions (the
        objective of :func:`activation_maximization`), measured on the untransformed image
        after each step: the curve the ascent climbed.
    start : float
        The same on the starting noise, before the first step.
    final : float
        The same on :attr:`image` (``activations[-1]``).
    layer : str
        The layer's name, as ``model.named_modules()`` spells it.
    channel : int
        The channel (index along axis 1 of the layer's output).

    Examples
    --------
    >>> import convscope
    >>> from convscope import models
    >>> from convscope.viz.maximize import activation_maximization
    >>> _ = convscope.manual_seed(0)
    >>> found = activation_maximization(models.lenet5(), "0", channel=1, steps=5)
    >>> found.layer, found.channel, found.image.shape, found.activations.shape
    ('0', 1, (1, 28, 28), (5,))
    """

    image: np.ndarray
    activations: np.ndarray
    start: float
    final: float
    layer: str
    channel: int

    @property
    def ratio(self) -> float:
        """``final / start``, how many times the ascent raised the activation; NaN when
        ``start <= 0`` (a ratio over a non-positive start says nothing)."""
        return self.final / self.start if self.start > 0 else float("nan")

    def figure(self, path=None):
        """The image beside the activation curve; written to ``path`` (PNG, SVG, GIF) if given.

        Returns
        -------
        matplotlib.figure.Figure
        """
        fig = new_figure("Maximization.figure", (7.6, 3.3), layout="constrained")
        ax_img, ax_curve = fig.subplots(1, 2, width_ratios=[1, 1.45])
        _show_image(ax_img, self.image)
        ax_img.set_title(f"input that excites channel {self.channel}", fontsize=10)
        ax_img.set_xlabel("bright = high input, dark = low", fontsize=8, color="0.3")
        steps = np.arange(0, len(self.activations) + 1)
        ax_curve.plot(steps, np.concatenate([[self.start], self.activations]), color="C0", lw=1.8)
        ax_curve.axhline(self.start, color="0.6", lw=1, ls="--", label=f"start (noise): {self.start:.3g}")
        ax_curve.plot([steps[-1]], [self.final], "o", color="C3", label=f"final: {self.final:.3g}")
        ax_curve.set_xlabel("gradient-ascent step")
        ax_curve.set_ylabel(f"channel {self.channel}: mean positive activation")
        ax_curve.set_title("activation during the ascent", fontsize=10)
        ax_curve.grid(alpha=0.3)
        ax_curve.legend(loc="lower right", fontsize=8, frameon=False)
        ratio = "" if not math.isfinite(self.ratio) else (
            f", {self.ratio:,.0f}x its start" if self.ratio >= 10 else f", {self.ratio:.1f}x its start")
        fig.suptitle(f"Activation maximization: layer {self.layer!r}, channel {self.channel}{ratio}", fontsize=11)
        return finish(fig, path, "Maximization.figure")


DEFAULTS = {"steps": 64, "lr": 0.1, "size": None, "jitter": 2.0, "scale": 0.1, "rotation": 10.0, "l2": 0.5,
            "tv": 0.3, "seed": 0}


def activation_maximization(model, layer, channel: int, steps: int = 64, lr: float = 0.1, *, size=None,
                            jitter: float = 2.0, scale: float = 0.1, rotation: float = 10.0, l2: float = 0.5,
                            tv: float = 0.3, seed: int = 0, path=None) -> Maximization:
    """The input image that most excites ``channel`` of ``layer``, found by gradient ascent.

    The objective is the channel's **mean positive activation**, ``mean(max(a, 0))`` over its
    positions: for a layer followed by a ReLU (LeNet-5's conv ``"0"``) that is the mean of what
    the ReLU passes on, and for a ReLU layer (``"1"``) it is simply the mean activation. Cutting
    the negative part matters for a layer whose output is linear in the image: the plain mean of
    a convolution's output is maximised by a flat image (the interior gradient is the same at
    every pixel), which shows nothing of the pattern the filter detects. While an image's
    channel is nowhere positive, the plain mean's gradient is used so the ascent can start.

    Each step draws a random transformation ``T`` (a shift of up to ``jitter`` pixels, a zoom
    in ``1 +- scale``, a rotation of up to ``rotation`` degrees), takes the gradient ``g`` of the
    objective at ``T(x)`` with respect to ``x``, removes its mean (the image's mean brightness
    stays that of the starting noise, 0) and moves ``x`` by
    ``lr * (g / rms(g) - l2 * x - tv * grad TV(x))``.

    The transformation is applied *differentiably*: ``T`` is a bilinear resampling written in
    NumPy whose exact adjoint (a scatter-add with the same interpolation weights) carries the
    gradient from ``T(x)`` back to ``x``. The ascent therefore maximises the expected activation
    over random transformations of one image that stays where it is. Resampling the image
    itself between steps would blur it a little more at every step and let it drift and turn;
    the adjoint costs four ``np.bincount`` calls a step.

    With the defaults the L2 penalty balances the normalised gradient at a pixel RMS near
    ``1 / l2 = 2`` (MNIST digits, normalised, have RMS 1) after about ``1 / (lr * l2) = 20``
    steps, so the curve levels off within the 64 steps.

    Parameters
    ----------
    model : Module
        Put in eval mode for the ascent and restored to its previous modes afterwards; its
        parameters are not changed and their ``.grad`` is untouched (they stop requiring grad
        during the ascent, which also skips computing their gradients).
    layer : str or Module
        A layer name from ``model.named_modules()`` (e.g. ``"0"`` for LeNet-5's first conv), or
        the module itself. The forward stops at this layer's first call, so the layers after it
        cost nothing.
    channel : int
        Index along axis 1 of the layer's output (a conv's output channel, a linear layer's unit).
    steps : int
        Gradient-ascent steps (>= 1).
    lr : float
        RMS change of the pixels per step from the activation's gradient, in the model's input
        units (normalised units for a model trained on normalised images).
    size : int or (int, int), optional
        Height and width of the image; default 28 (MNIST) for single-channel models and 64
        otherwise. Layers after ``layer`` never see the image, so any size the layers before it
        accept works.
    jitter : float
        Largest random shift, in pixels (sub-pixel shifts included; 0 for none).
    scale : float
        Largest relative random zoom (0.1: between 0.9x and 1.1x; 0 for none; below 1).
    rotation : float
        Largest random rotation, in degrees (0 for none).
    l2 : float
        Weight of the L2 penalty ``|x|^2 / 2``, relative to the normalised gradient.
    tv : float
        Weight of the total-variation penalty ``sum (x[i+1,j]-x[i,j])^2 + (x[i,j+1]-x[i,j])^2``
        (Mahendran and Vedaldi's TV with beta = 2), which smooths the image.
    seed : int
        Seeds the starting noise (normal, standard deviation 0.1) and the transformations: the
        same call gives the same image.
    path : str or Path, optional
        Write :meth:`Maximization.figure` (image and curve) there (PNG, SVG or GIF).

    Returns
    -------
    Maximization
        ``.image`` (C, H, W), ``.activations`` (steps,), ``.start``, ``.final``, ``.ratio``,
        ``.layer``, ``.channel`` and ``.figure()``; the activations are the objective above,
        measured on the untransformed image.

    Raises
    ------
    ValueError
        An unknown layer (the message lists the model's layers), a channel out of range (the
        message gives the layer's channel count), ``steps < 1``, a non-positive ``lr``, a
        negative ``jitter``, ``scale``, ``rotation``, ``l2`` or ``tv``, ``scale >= 1``, a bad
        ``path`` suffix.
    TypeError
        ``model`` is not a Module, or an argument has the wrong type.

    Examples
    --------
    >>> import convscope
    >>> from convscope import models
    >>> from convscope.viz.maximize import activation_maximization
    >>> _ = convscope.manual_seed(0)
    >>> found = activation_maximization(models.lenet5(), "3", channel=2, steps=20)
    >>> found.image.shape, found.activations.shape
    ((1, 28, 28), (20,))
    >>> bool(found.final > 10 * found.start)
    True
    """
    fn = "activation_maximization"
    name, module = get_layer(model, layer, fn)
    channel = check_int(channel, "channel", fn, minimum=0)
    if path is not None:
        check_output_path(path, fn, FIGURE_SUFFIXES)
    images, curves, starts, _ = _ascend(model, name, module, [channel], fn, steps=steps, lr=lr, size=size,
                                        jitter=jitter, scale=scale, rotation=rotation, l2=l2, tv=tv, seed=seed)
    result = _result(images[0], curves[0], starts[0], name, channel)
    if path is not None:
        result.figure(path)
    return result


def maximize_grid(model, layer, channels=None, *, path=None, columns: int | None = None, **kwargs):
    """Activation maximization for several channels of one layer, side by side.

    The channels are optimised together as one batch (each image for its own channel, each
    starting from the noise and meeting the transformations :func:`activation_maximization`
    would use for it), so a grid costs little more than one channel and each image is the one
    ``activation_maximization`` returns for that channel with the same arguments.

    Parameters
    ----------
    model : Module
    layer : str or Module
    channels : sequence of int, optional
        The channels to show (default: the first 8, or all when the layer has fewer).
    path : str or Path, optional
        Write the figure there (PNG, SVG or GIF).
    columns : int, optional
        Images per row (default: all in one row, up to 8).
    **kwargs
        ``steps``, ``lr``, ``size``, ``jitter``, ``scale``, ``rotation``, ``l2``, ``tv``,
        ``seed``: as for :func:`activation_maximization`.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per channel, titled with the channel and its mean positive activation on the
        starting noise and after the ascent; the :class:`Maximization` results are
        ``fig.maximizations``.

    Raises
    ------
    ValueError, TypeError
        As for :func:`activation_maximization`; an empty ``channels``; an unknown keyword.

    Examples
    --------
    >>> import convscope
    >>> from convscope import models
    >>> from convscope.viz.maximize import maximize_grid
    >>> _ = convscope.manual_seed(0)
    >>> fig = maximize_grid(models.lenet5(), "3", channels=[0, 1, 2], steps=10)
    >>> [m.channel for m in fig.maximizations]
    [0, 1, 2]
    """
    fn = "maximize_grid"
    unknown = sorted(set(kwargs) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"{fn}: got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
                        f"it takes {', '.join(DEFAULTS)}")
    name, module = get_layer(model, layer, fn)
    explicit = channels is not None
    if not explicit:
        channels = range(8)
    if isinstance(channels, (str, bytes)) or not hasattr(channels, "__iter__"):
        raise TypeError(f"{fn}: channels expects a sequence of ints, but got {type(channels).__name__}")
    channels = [check_int(c, "channels", fn, minimum=0) for c in channels]
    if not channels:
        raise ValueError(f"{fn}: channels expects at least one channel, but got none")
    if columns is not None:
        columns = check_int(columns, "columns", fn, minimum=1)
    if path is not None:
        check_output_path(path, fn, FIGURE_SUFFIXES)
    options = {**DEFAULTS, **kwargs}
    images, curves, starts, channels = _ascend(model, name, module, channels, fn, drop_missing=not explicit,
                                               **options)
    results = [_result(images[i], curves[i], starts[i], name, c) for i, c in enumerate(channels)]
    cols = columns or min(len(results), 8)
    rows = math.ceil(len(results) / cols)
    fig = new_figure(fn, (max(1.6 * cols + 0.4, 5.0), 1.85 * rows + 0.9), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, r in zip(axes, results):
        _show_image(ax, r.image)
        ax.set_title(f"channel {r.channel}\n{r.start:.2g} \u2192 {r.final:.2g}", fontsize=9)
    for ax in axes[len(results):]:
        ax.set_axis_off()
    fig.suptitle(f"Inputs that most excite channels of layer {name!r}", fontsize=11)
    fig.supxlabel(f"numbers: mean positive activation, starting noise \u2192 after {options['steps']} steps\n"
                  f"(bright = high input, dark = low; each image scaled to its own range)", fontsize=8, color="0.3")
    fig.maximizations = results
    return finish(fig, path, fn)


# --------------------------------------------------------------------------- the ascent

class _Reached(Exception):
    """Raised by the forward hook to stop the forward at the layer of interest."""


def _check_real(value, name: str, fn: str, *, positive: bool = False) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        raise TypeError(f"{fn}: {name} expects a finite number, but got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{fn}: {name} expects a positive number, but got {value!r}")
    if value < 0:
        raise ValueError(f"{fn}: {name} expects a number >= 0, but got {value!r}")
    return float(value)


def _image_size(size, model, fn: str) -> tuple[int, int, int]:
    channels = input_channels(model) or 1
    if size is None:
        size = 28 if channels == 1 else 64
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (size, size)
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in size)):
        raise TypeError(f"{fn}: size expects an int or (height, width), but got {size!r}")
    if min(size) < 1:
        raise ValueError(f"{fn}: size expects positive sizes, but got {tuple(size)!r}")
    return channels, int(size[0]), int(size[1])


def _ascend(model, name, module, channels, fn, *, steps, lr, size, jitter, scale, rotation, l2, tv, seed,
            drop_missing=False):
    """Optimise one image per channel in one batch: images (N, C, H, W), curves (N, steps), starts (N,)
    and the channels (with ``drop_missing``, only those the layer has)."""
    steps = check_int(steps, "steps", fn, minimum=1)
    jitter = _check_real(jitter, "jitter", fn)
    seed = check_int(seed, "seed", fn, minimum=0)
    lr = _check_real(lr, "lr", fn, positive=True)
    scale = _check_real(scale, "scale", fn)
    if scale >= 1:
        raise ValueError(f"{fn}: scale expects a relative zoom below 1 (0.1 means 0.9x to 1.1x), but got {scale!r}")
    rotation = _check_real(rotation, "rotation", fn)
    l2 = _check_real(l2, "l2", fn)
    tv = _check_real(tv, "tv", fn)
    c, h, w = _image_size(size, model, fn)
    rng = np.random.default_rng(seed)
    start = np.stack([np.random.default_rng([seed, ch]).normal(0.0, 0.1, (c, h, w)) for ch in channels])
    x = start.astype(np.float32)

    modes = [(m, m.training) for m in model.modules()]
    params = [(p, p.requires_grad) for p in model.parameters()]
    try:
        model.eval()
        for p, _ in params:
            p.requires_grad = False
        with no_grad():
            first = _forward_to(model, module, name, x, fn)
        if first.ndim < 2:
            raise ValueError(f"{fn}: layer expects a layer whose output has a channel axis (N, C, ...), "
                             f"but {name!r} gives shape {first.shape}")
        count = first.shape[1]
        if drop_missing:
            keep = [i for i, ch in enumerate(channels) if ch < count]
            channels, x, first = [channels[i] for i in keep], x[keep], first[keep]
        bad = [ch for ch in channels if ch >= count]
        if bad:
            raise ValueError(f"{fn}: channel expects an index in 0..{count - 1} (layer {name!r} has {count} "
                             f"channels), but got {bad[0]}")
        n = len(channels)
        rows = np.arange(n)
        starts = _objective(first, rows, channels)
        per_position = 1.0 / max(int(np.prod(first.shape[2:])), 1)
        curves = np.empty((n, steps))
        for k in range(steps):
            warp = _random_warp(rng, h, w, jitter, scale, rotation)
            with enable_grad():
                xt = Tensor(warp.apply(x), requires_grad=True)
                out = _forward_to(model, module, name, xt, fn)
                if not out.requires_grad:
                    raise ValueError(f"{fn}: layer expects a layer whose output depends on the input, "
                                     f"but {name!r} gives a constant")
                out.backward(_objective_grad(out.data, rows, channels, per_position))
            g = warp.adjoint(xt.grad)
            g -= g.mean(axis=(1, 2, 3), keepdims=True)          # hold the mean brightness fixed
            rms = np.sqrt(np.mean(g * g, axis=(1, 2, 3), keepdims=True)) + 1e-12
            x = (x + lr * (g / rms - l2 * x - tv * _tv_grad(x))).astype(np.float32)
            with no_grad():
                curves[:, k] = _objective(_forward_to(model, module, name, x, fn), rows, channels)
    finally:
        for p, flag in params:
            p.requires_grad = flag
        for m, flag in modes:
            object.__setattr__(m, "training", flag)
    return x, curves, starts, channels


def _forward_to(model, module, name, x, fn):
    """``module``'s output (a Tensor) when ``model`` runs on ``x``; the forward stops there."""
    box = {}

    def grab(_module, _args, output):
        box["out"] = output
        raise _Reached

    with module.register_forward_hook(grab):
        try:
            model(x)
        except _Reached:
            pass
    if "out" not in box:
        raise ValueError(f"{fn}: layer expects a layer the model's forward calls, but {name!r} was never called")
    out = box["out"]
    if isinstance(out, np.ndarray):
        out = Tensor(out)
    if not isinstance(out, Tensor):
        raise TypeError(f"{fn}: layer expects a layer that outputs one Tensor, but {name!r} gives "
                        f"{type(out).__name__}")
    return out


def _objective(out, rows, channels) -> np.ndarray:
    """The mean over positions of each image's channel, its negative part cut: mean(max(a, 0))."""
    data = out.data if isinstance(out, Tensor) else out
    picked = data[rows, channels].reshape(len(rows), -1)
    return np.maximum(picked, 0).mean(axis=1).astype(np.float64)


def _objective_grad(out: np.ndarray, rows, channels, per_position: float) -> np.ndarray:
    """d(objective)/d(layer output): 1/positions where the channel is positive; where an image's
    channel is nowhere positive, the plain mean's gradient, so the ascent can start."""
    grad = np.zeros(out.shape, dtype=out.dtype)
    picked = out[rows, channels]
    positive = picked > 0
    anywhere = positive.reshape(len(rows), -1).any(axis=1).reshape((-1,) + (1,) * (picked.ndim - 1))
    grad[rows, channels] = np.where(positive | ~anywhere, per_position, 0.0)
    return grad


def _tv_grad(x: np.ndarray) -> np.ndarray:
    """Gradient of ``sum (x[i+1,j]-x[i,j])^2 + (x[i,j+1]-x[i,j])^2`` over the last two axes."""
    g = np.zeros_like(x)
    dy = x[..., 1:, :] - x[..., :-1, :]
    dx = x[..., :, 1:] - x[..., :, :-1]
    g[..., 1:, :] += 2 * dy
    g[..., :-1, :] -= 2 * dy
    g[..., :, 1:] += 2 * dx
    g[..., :, :-1] -= 2 * dx
    return g


class _Warp:
    """A bilinear resampling ``y = T(x)`` of (N, C, H, W) images and its exact adjoint."""

    def __init__(self, h, w, sy, sx):
        sy = np.clip(sy, 0, h - 1)
        sx = np.clip(sx, 0, w - 1)
        y0 = np.minimum(np.floor(sy).astype(np.int64), h - 1)
        x0 = np.minimum(np.floor(sx).astype(np.int64), w - 1)
        y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
        fy, fx = sy - y0, sx - x0
        self.size = h * w
        self.index = np.stack([y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1]).reshape(4, -1)
        self.weight = np.stack([(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx]).reshape(4, -1)

    def apply(self, x: np.ndarray) -> np.ndarray:
        flat = x.reshape(-1, self.size)
        out = np.zeros_like(flat)
        for idx, wt in zip(self.index, self.weight):
            out += flat[:, idx] * wt.astype(flat.dtype)
        return out.reshape(x.shape)

    def adjoint(self, g: np.ndarray) -> np.ndarray:
        flat = g.reshape(-1, self.size).astype(np.float64)
        rows = flat.shape[0]
        offsets = (np.arange(rows) * self.size)[:, None]
        total = np.zeros(rows * self.size)
        for idx, wt in zip(self.index, self.weight):
            total += np.bincount((offsets + idx).ravel(), weights=(flat * wt).ravel(), minlength=rows * self.size)
        return total.reshape(g.shape)


def _random_warp(rng, h, w, jitter, scale, rotation) -> _Warp:
    """Output pixel p samples the input at c + R(-angle) (p - c - t) / s: shift t, zoom s, turn angle."""
    ty, tx = rng.uniform(-jitter, jitter, size=2) if jitter else (0.0, 0.0)
    s = 1.0 + rng.uniform(-scale, scale) if scale else 1.0
    angle = math.radians(rng.uniform(-rotation, rotation)) if rotation else 0.0
    yy, xx = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    cy, cx = (h - 1) / 2, (w - 1) / 2
    py, px = yy - cy - ty, xx - cx - tx
    cos, sin = math.cos(angle), math.sin(angle)
    sy = cy + (cos * py - sin * px) / s
    sx = cx + (sin * py + cos * px) / s
    return _Warp(h, w, sy, sx)


def _result(image, curve, start, name, channel) -> Maximization:
    image = np.array(image, dtype=np.float32)
    curve = np.array(curve, dtype=np.float64)
    image.setflags(write=False)
    curve.setflags(write=False)
    return Maximization(image=image, activations=curve, start=float(start), final=float(curve[-1]), layer=name,
                        channel=int(channel))


def _show_image(ax, image: np.ndarray) -> None:
    """An optimised input: grey (per-image min..max) for one channel, RGB (min..max scaled) for three."""
    img = np.asarray(image, dtype=np.float64)
    lo, hi = float(img.min()), float(img.max())
    span = hi - lo if hi > lo else 1.0
    if img.shape[0] == 3:
        ax.imshow(((img - lo) / span).transpose(1, 2, 0), interpolation="nearest")
    else:
        ax.imshow(img.mean(axis=0), cmap=IMAGE_CMAP, vmin=lo, vmax=lo + span, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
