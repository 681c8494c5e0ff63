"""Pictures of training: loss and accuracy curves, the confusion matrix, filters as they learn.

Two :func:`convscope.train.fit` callbacks record what the pictures need while a model trains:

>>> recorder, evolution = StepRecorder(), FilterEvolution("0", every=20)       # doctest: +SKIP
>>> history = fit(model, loader, loss, opt, 3, callbacks=[recorder, evolution])  # doctest: +SKIP
>>> training_curves(history, steps=recorder, path="curves.png")                 # doctest: +SKIP
>>> filter_evolution(evolution, path="filters.gif")                             # doctest: +SKIP

Colours follow :mod:`convscope.viz._common`: counts in the confusion matrix use
:data:`MAGNITUDE_CMAP`; filter weights use :data:`SIGNED_CMAP` with one symmetric scale shared by
every frame of the animation, so a weight that grows shows a colour that deepens.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

import numpy as np

from .._validation import check_int
from ._common import (
    FIGURE_SUFFIXES,
    IMAGE_SUFFIXES,
    MAGNITUDE_CMAP,
    SIGNED_CMAP,
    animation,
    check_output_path,
    conv_layers,
    finish,
    get_layer,
    new_figure,
    require_matplotlib,
    require_pillow,
    save,
    symmetric_limit,
)

__all__ = ["StepRecorder", "FilterEvolution", "Snapshot", "training_curves", "confusion_counts",
           "confusion_matrix", "filter_evolution"]


# --------------------------------------------------------------------------- callbacks

class StepRecorder:
    """A :func:`~convscope.train.fit` callback keeping every step's loss and accuracy.

    Attributes
    ----------
    steps, epochs, batches : list of int
        The run's step (from 1), and the epoch and batch within it (from 1), of each record.
    losses, accuracies : list of float
        That batch's loss and accuracy (0..1), measured before the step's update.

    Examples
    --------
    >>> import io, numpy as np
    >>> from convscope import data, models, nn, optim
    >>> from convscope.train import fit
    >>> from convscope.viz.training import StepRecorder
    >>> x = np.random.default_rng(0).random((24, 1, 28, 28)).astype(np.float32)
    >>> loader = data.DataLoader(data.ArrayDataset(x, np.arange(24) % 10), batch_size=8)
    >>> recorder, model = StepRecorder(), models.lenet5()
    >>> _ = fit(model, loader, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.01), 2,
    ...         progress=False, stream=io.StringIO(), callbacks=[recorder])
    >>> recorder.steps, recorder.epoch_positions().tolist()
    ([1, 2, 3, 4, 5, 6], [0.3333333333333333, 0.6666666666666666, 1.0, 1.3333333333333333, 1.6666666666666665, 2.0])
    """

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.epochs: list[int] = []
        self.batches: list[int] = []
        self.losses: list[float] = []
        self.accuracies: list[float] = []

    def __len__(self) -> int:
        return len(self.steps)

    def on_batch_end(self, model, step: int, epoch: int, batch: int, loss: float, accuracy: float) -> None:
        self.steps.append(int(step))
        self.epochs.append(int(epoch))
        self.batches.append(int(batch))
        self.losses.append(float(loss))
        self.accuracies.append(float(accuracy))

    def epoch_positions(self) -> np.ndarray:
        """Each record's place in epochs: ``epoch - 1 + batch / batches in that epoch`` (an epoch's
        last batch sits on the whole number, where :func:`fit` records that epoch)."""
        epochs, batches = np.asarray(self.epochs, float), np.asarray(self.batches, float)
        per_epoch = {e: max(b for ee, b in zip(self.epochs, self.batches) if ee == e) for e in set(self.epochs)}
        total = np.asarray([per_epoch[e] for e in self.epochs], float)
        return epochs - 1 + batches / np.maximum(total, 1)


class Snapshot(NamedTuple):
    """A layer's weights at one moment of training: after ``step`` steps, in ``epoch`` (0: before
    the first step of a fresh run).

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.viz.training import Snapshot
    >>> snapshot = Snapshot(step=0, epoch=0, weight=np.zeros((6, 1, 5, 5)))
    >>> snapshot.step, snapshot.weight.shape
    (0, (6, 1, 5, 5))
    """

    step: int
    epoch: int
    weight: np.ndarray


class FilterEvolution:
    """A :func:`~convscope.train.fit` callback that keeps copies of a conv layer's weights.

    A snapshot is taken when training begins, after every ``every``-th step of the run, and when
    it ends (unless that step was just taken); :func:`filter_evolution` turns them into an
    animation.

    Parameters
    ----------
    layer : str or Module
        A convolution layer of the model being trained, by name (as ``named_modules()`` spells
        it, e.g. ``"0"``) or the module itself; looked up when training begins.
    every : int
        Steps between snapshots (>= 1).

    Attributes
    ----------
    snapshots : list of Snapshot
        ``(step, epoch, weight)``, the weight an (O, I, kH, kW) copy.
    layer_name : str or None
        The layer's name, once training has begun.

    Raises
    ------
    ValueError
        (when training begins) the layer is not in the model, or is not a convolution.

    Examples
    --------
    >>> import io, numpy as np
    >>> from convscope import data, models, nn, optim
    >>> from convscope.train import fit
    >>> from convscope.viz.training import FilterEvolution
    >>> x = np.random.default_rng(0).random((40, 1, 28, 28)).astype(np.float32)
    >>> loader = data.DataLoader(data.ArrayDataset(x, np.arange(40) % 10), batch_size=8)
    >>> evolution, model = FilterEvolution("0", every=2), models.lenet5()
    >>> _ = fit(model, loader, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), 1,
    ...         progress=False, stream=io.StringIO(), callbacks=[evolution])
    >>> [s.step for s in evolution.snapshots], evolution.snapshots[0].weight.shape
    ([0, 2, 4, 5], (6, 1, 5, 5))
    """

    def __init__(self, layer, every: int = 25) -> None:
        self.layer = layer
        self.every = check_int(every, "every", "FilterEvolution", minimum=1)
        self.layer_name: str | None = None
        self.snapshots: list[Snapshot] = []
        self._module = None
        self._pending: np.ndarray | None = None
        self._last: tuple[int, int] | None = None

    def _weight(self) -> np.ndarray:
        return np.array(self._module.weight.data, copy=True)

    def on_train_begin(self, model) -> None:
        fn = "FilterEvolution"
        name, module = get_layer(model, self.layer, fn)
        convs = conv_layers(model)
        if all(m is not module for _, m in convs):
            listing = ", ".join(repr(n) for n, _ in convs) or "none"
            raise ValueError(f"{fn}: layer expects a convolution layer (this model's: {listing}), but {name!r} "
                             f"is a {type(module).__name__}")
        self.layer_name, self._module = name, module
        self._pending = self._weight()          # its step is known at the first batch
        self._last = None

    def on_batch_end(self, model, step: int, epoch: int, batch: int, loss: float, accuracy: float) -> None:
        if self._pending is not None:
            self.snapshots.append(Snapshot(step - 1, epoch - 1 if batch == 1 else epoch, self._pending))
            self._pending = None
        self._last = (step, epoch)
        if step % self.every == 0:
            self.snapshots.append(Snapshot(step, epoch, self._weight()))

    def on_train_end(self, model, history) -> None:
        if self._pending is not None:            # no batch was run
            self.snapshots.append(Snapshot(0, 0, self._pending))
            self._pending = None
        elif self._last is not None and (not self.snapshots or self.snapshots[-1].step != self._last[0]):
            self.snapshots.append(Snapshot(self._last[0], self._last[1], self._weight()))


# --------------------------------------------------------------------------- curves

def _history_records(history, fn: str) -> list[dict[str, Any]]:
    records = getattr(history, "epochs", history)
    if isinstance(records, dict) or not isinstance(records, Sequence) or isinstance(records, (str, bytes)):
        raise TypeError(f"{fn}: history expects a History from fit or a list of per-epoch dicts, but got "
                        f"{type(history).__name__}")
    records = list(records)
    if not records:
        raise ValueError(f"{fn}: history expects at least one epoch, but got none")
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            raise TypeError(f"{fn}: history expects per-epoch dicts, but entry {i} is {type(r).__name__}")
        if "train_loss" not in r:
            raise ValueError(f"{fn}: history expects 'train_loss' in every epoch, but entry {i} has "
                             f"{sorted(r)}")
    return records


def _column(records, key) -> np.ndarray | None:
    values = [r.get(key) for r in records]
    if all(v is None for v in values):
        return None
    return np.array([np.nan if v is None else float(v) for v in values])


def training_curves(history, *, steps: StepRecorder | None = None, path=None):
    """Loss and accuracy against epochs, for training and validation.

    Parameters
    ----------
    history : History or list of dict
        What :func:`~convscope.train.fit` returns, or its ``epochs``: per-epoch dicts with
        ``train_loss`` and optionally ``epoch``, ``train_accuracy``, ``val_loss``,
        ``val_accuracy``.
    steps : StepRecorder, optional
        Per-batch losses and accuracies recorded during the same run, drawn faintly behind the
        epoch points (noisy: each is one batch's), with their moving mean.
    path : str or Path, optional
        Write the figure there (PNG, SVG or GIF).

    Returns
    -------
    matplotlib.figure.Figure
        Two panels, loss and accuracy (%), one point per epoch for each of training and
        validation. A training point is the epoch's mean over its batches, measured while the
        weights changed, so it is drawn at the middle of its epoch (``epoch - 0.5``); validation
        is measured after the epoch, and drawn at its end.

    Raises
    ------
    TypeError, ValueError
        ``history`` is not a History or a list of per-epoch dicts with ``train_loss``, or is
        empty; ``steps`` is not a StepRecorder.

    Examples
    --------
    >>> from convscope.viz.training import training_curves
    >>> fig = training_curves([{"epoch": 1, "train_loss": 0.9, "val_loss": 0.5, "train_accuracy": 0.7,
    ...                         "val_accuracy": 0.85},
    ...                        {"epoch": 2, "train_loss": 0.4, "val_loss": 0.3, "train_accuracy": 0.88,
    ...                         "val_accuracy": 0.9}])
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['loss', 'accuracy (%)']
    """
    fn = "training_curves"
    records = _history_records(history, fn)
    if steps is not None and not isinstance(steps, StepRecorder):
        raise TypeError(f"{fn}: steps expects a StepRecorder (the fit callback), but got {type(steps).__name__}")
    if path is not None:
        check_output_path(path, fn, FIGURE_SUFFIXES)
    require_matplotlib(fn)
    from matplotlib.ticker import MaxNLocator

    epochs = _column(records, "epoch")
    epochs = np.arange(1, len(records) + 1, dtype=float) if epochs is None else epochs
    fig = new_figure(fn, (10, 3.9), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    panels = [(ax_loss, "loss", 1.0, "loss"), (ax_acc, "accuracy", 100.0, "accuracy (%)")]
    per_step = steps is not None and len(steps) > 0
    window = 0
    if per_step:
        positions = steps.epoch_positions()
        window = max(1, min(len(steps) // 8, max(steps.batches) // 5))
    for ax, key, factor, ylabel in panels:
        if per_step:
            values = np.asarray(steps.losses if key == "loss" else steps.accuracies) * factor
            ax.plot(positions, values, color="C0", alpha=0.22, lw=0.8, label="train, each batch", gid=f"batch_{key}")
            if window > 1:
                ax.plot(positions[window - 1:], _moving_mean(values, window), color="C0", alpha=0.75, lw=1.2,
                        label=f"train, mean of the last {window} batches", gid=f"smooth_{key}")
        train = _column(records, f"train_{key}")
        val = _column(records, f"val_{key}")
        if train is not None:
            ax.plot(epochs - 0.5, train * factor, "o-", color="C0", lw=2, ms=7,
                    label="train, mean over each epoch (at its middle)", gid=f"train_{key}")
        if val is not None:
            ax.plot(epochs, val * factor, "s--", color="C1", lw=2, ms=7, label="validation, after each epoch",
                    gid=f"val_{key}")
        if train is None and val is None and not per_step:
            ax.text(0.5, 0.5, f"no {key} recorded", ha="center", va="center", transform=ax.transAxes, color="0.4")
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.set_xlim(min(0.0, float(np.nanmin(epochs)) - 1), float(np.nanmax(epochs)) + 0.25)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="upper right" if key == "loss" else "lower right")
    ax_loss.set_ylim(bottom=0)
    lo, hi = ax_acc.get_ylim()
    ax_acc.set_ylim(max(lo, 0), min(hi, 102))
    ax_loss.set_title("loss (lower is better)", fontsize=10)
    ax_acc.set_title("accuracy (higher is better)", fontsize=10)
    last = records[-1]
    summary = [f"{len(records)} epoch{'s' if len(records) != 1 else ''}"]
    if last.get("val_accuracy") is not None:
        summary.append(f"final validation accuracy {last['val_accuracy']:.1%}")
    elif last.get("train_accuracy") is not None:
        summary.append(f"final training accuracy {last['train_accuracy']:.1%}")
    fig.suptitle("Training curves: " + ", ".join(summary), fontsize=11)
    return finish(fig, path, fn)


def _moving_mean(values: np.ndarray, window: int) -> np.ndarray:
    sums = np.cumsum(np.concatenate([[0.0], values]))
    return (sums[window:] - sums[:-window]) / window


# --------------------------------------------------------------------------- confusion matrix

def _labels_array(values, name: str, fn: str) -> np.ndarray:
    from ..autograd import Tensor

    arr = np.asarray(values.data if isinstance(values, Tensor) else values)
    if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iub":
        raise TypeError(f"{fn}: {name} expects integer class indices, but got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{fn}: {name} expects a 1-D array of class indices, but got shape {arr.shape}")
    if arr.size and arr.min() < 0:
        raise ValueError(f"{fn}: {name} expects class indices >= 0, but got {int(arr.min())}")
    return arr.astype(np.int64)


def confusion_counts(labels, predictions, num_classes: int | None = None) -> np.ndarray:
    """How often each true class was predicted as each class.

    Parameters
    ----------
    labels : (N,) int array
        The true classes.
    predictions : (N,) int array or (N, K) scores
        The predicted classes, or per-class scores (logits, probabilities) whose argmax is taken.
    num_classes : int, optional
        K; default the number of score columns, else ``max(labels, predictions) + 1``.

    Returns
    -------
    (K, K) int64 array
        ``counts[t, p]``: the number of samples of true class ``t`` predicted as ``p``. Rows sum
        to the class sizes, the diagonal holds the correct predictions.

    Raises
    ------
    ValueError
        Different lengths, an index outside ``0..num_classes-1``, a non-1-D ``labels``.
    TypeError
        Non-integer labels.

    Examples
    --------
    >>> from convscope.viz.training import confusion_counts
    >>> confusion_counts([0, 0, 1, 2, 2], [0, 1, 1, 2, 0])
    array([[1, 1, 0],
           [0, 1, 0],
           [1, 0, 1]])
    """
    fn = "confusion_counts"
    labels = _labels_array(labels, "labels", fn)
    scores = np.asarray(getattr(predictions, "data", predictions))
    if scores.ndim == 2:
        if num_classes is None:
            num_classes = scores.shape[1]
        predictions = np.argmax(scores, axis=1)
    predictions = _labels_array(predictions, "predictions", fn)
    if len(labels) != len(predictions):
        raise ValueError(f"{fn}: labels and predictions expect the same length, but got {len(labels)} labels "
                         f"and {len(predictions)} predictions")
    seen = int(max(labels.max(initial=-1), predictions.max(initial=-1))) + 1
    if num_classes is None:
        num_classes = max(seen, 1)
    num_classes = check_int(num_classes, "num_classes", fn, minimum=1)
    if seen > num_classes:
        raise ValueError(f"{fn}: labels and predictions expect classes 0..{num_classes - 1} (num_classes="
                         f"{num_classes}), but got class {seen - 1}")
    flat = np.bincount(labels * num_classes + predictions, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(np.int64)


def confusion_matrix(labels, predictions, *, class_names: Sequence[str] | None = None, normalize: bool = False,
                     num_classes: int | None = None, path=None):
    """The confusion matrix as a picture: true class down, predicted class across.

    Parameters
    ----------
    labels, predictions, num_classes
        As for :func:`confusion_counts` (predictions may be per-class scores).
    class_names : sequence of str, optional
        One name per class (default ``0, 1, ...``).
    normalize : bool
        False: cells show and are coloured by counts. True: by the share of each true class
        (rows sum to 100 %), so rare and common classes compare; a cell reads "of the true 7s,
        this share was predicted as 1".
    path : str or Path, optional
        Write the figure there (PNG, SVG or GIF).

    Returns
    -------
    matplotlib.figure.Figure
        Cells coloured with :data:`MAGNITUDE_CMAP` on a square-root scale (so the few mistakes
        are visible beside the large diagonal), annotated with their count (or percentage); the
        title gives the overall accuracy. ``fig.counts`` holds the (K, K) counts.

    Raises
    ------
    ValueError, TypeError
        As for :func:`confusion_counts`; ``class_names`` of the wrong length.

    Examples
    --------
    >>> from convscope.viz.training import confusion_matrix
    >>> fig = confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1], class_names=["cat", "dog"])
    >>> fig.counts.tolist()
    [[1, 1], [0, 2]]
    """
    fn = "confusion_matrix"
    counts = confusion_counts(labels, predictions, num_classes)
    k = counts.shape[0]
    if class_names is None:
        names = [str(i) for i in range(k)]
    else:
        if isinstance(class_names, str) or not isinstance(class_names, Sequence):
            raise TypeError(f"{fn}: class_names expects a sequence of names, but got {type(class_names).__name__}")
        names = [str(n) for n in class_names]
        if len(names) != k:
            raise ValueError(f"{fn}: class_names expects {k} names (one per class), but got {len(names)}")
    if path is not None:
        check_output_path(path, fn, FIGURE_SUFFIXES)
    require_matplotlib(fn)
    from matplotlib.colors import PowerNorm

    rows = counts.sum(axis=1, keepdims=True)
    shown = counts / np.maximum(rows, 1) * 100 if normalize else counts.astype(float)
    top = float(shown.max()) if shown.size and shown.max() > 0 else 1.0
    side = min(max(3.8, 0.5 * k + 2.2), 14)
    fig = new_figure(fn, (side + 1.0, side), layout="constrained")
    ax = fig.subplots()
    norm = PowerNorm(0.5, vmin=0, vmax=top)
    im = ax.imshow(shown, cmap=MAGNITUDE_CMAP, norm=norm, interpolation="nearest")
    bar = fig.colorbar(im, ax=ax, shrink=0.8)
    bar.set_label(("share of the true class (%)" if normalize else "count") + ", square-root colour scale")
    if k <= 30:
        size = 9 if k <= 12 else 7 if k <= 20 else 5
        for t in range(k):
            for p in range(k):
                value = shown[t, p]
                if not normalize:
                    text = f"{counts[t, p]:d}"
                elif value >= 9.5 or abs(value - round(value)) < 0.05:
                    text = f"{value:.0f}"
                else:
                    text = f"{value:.1f}"
                bright = norm(value) > 0.6
                ax.text(p, t, text, ha="center", va="center", fontsize=size,
                        color="black" if bright else ("white" if counts[t, p] else "0.45"),
                        fontweight="bold" if t == p else "normal")
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 3 else 0,
                  ha="right" if max(map(len, names)) > 3 else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    total, correct = int(counts.sum()), int(np.trace(counts))
    accuracy = f"{correct:,} of {total:,} correct ({correct / total:.1%})" if total else "no samples"
    ax.set_title(f"Confusion matrix: {accuracy}\n(diagonal: correct; row t, column p: true t predicted as p)",
                 fontsize=10)
    fig.counts = counts
    return finish(fig, path, fn)


# --------------------------------------------------------------------------- filter evolution

_GAP = 6
_MAX_FILTERS, _MAX_INPUTS = 32, 16
_HEADER = 62            # title, snapshot label, progress track


class _Layout:
    """Where everything sits in a frame: one or two panels (weights; change since the first
    snapshot) of (O, I, kH, kW) tiles, each with a heading and a colour bar below."""

    def __init__(self, shape: tuple[int, ...], panels: int):
        o, i, kh, kw = shape
        self.panels = panels
        self.filters, self.inputs = min(o, _MAX_FILTERS), min(i, _MAX_INPUTS)
        self.hidden = (o - self.filters, i - self.inputs)
        if self.inputs == 1:                          # one input channel: a near-square grid of filters
            per_row = max(1, math.ceil(math.sqrt(self.filters * 1.6)))
            self.rows = math.ceil(self.filters / per_row)
            self.cols = math.ceil(self.filters / self.rows)
        else:                                         # a row per filter, a column per input channel
            self.rows, self.cols = self.filters, self.inputs
        self.label_h = 15 if self.inputs == 1 else 0  # the filter's number above each tile
        self.row_label_w = 24 if self.inputs > 1 else 0
        self.col_label_h = 15 if self.inputs > 1 else 0
        target = min(64, max(12, 660 // self.rows - _GAP - self.label_h))
        self.px = max(1, target // max(kh, kw))       # screen pixels per weight
        self.tile_h, self.tile_w = kh * self.px, kw * self.px
        self.cell_w, self.cell_h = self.tile_w + _GAP, self.tile_h + _GAP + self.label_h
        grid_w = self.row_label_w + self.cols * self.cell_w - _GAP
        self.panel_w = max(grid_w, 250)
        self.grid_offset = (self.panel_w - grid_w) // 2 + self.row_label_w
        self.margin, self.panel_gap = 16, 36
        self.width = 2 * self.margin + panels * self.panel_w + (panels - 1) * self.panel_gap
        self.heading_top = _HEADER
        self.grid_top = _HEADER + 22 + self.col_label_h + self.label_h
        self.bar_top = self.grid_top + self.rows * self.cell_h - _GAP - self.label_h + 16
        self.height = self.bar_top + 42

    def panel_left(self, panel: int) -> int:
        return self.margin + panel * (self.panel_w + self.panel_gap)

    def tile_origin(self, f: int, c: int, panel: int = 0) -> tuple[int, int]:
        """(x, y) of the top-left pixel of filter ``f``'s input channel ``c`` in ``panel``."""
        r, col = divmod(f, self.cols) if self.inputs == 1 else (f, c)
        return (self.panel_left(panel) + self.grid_offset + col * self.cell_w,
                self.grid_top + r * self.cell_h)


def _lut():
    require_matplotlib("filter_evolution")
    from matplotlib import colormaps

    return (colormaps[SIGNED_CMAP](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def _font(size: int):
    from PIL import ImageFont

    try:
        from matplotlib import font_manager

        return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)
    except Exception:                                   # no TrueType support: PIL's own font
        return ImageFont.load_default(size)


def _as_weights(weight, fn: str, where: str) -> np.ndarray:
    from ..autograd import Tensor

    w = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: {where} expects real weights, but got dtype {w.dtype}")
    if w.ndim == 2:
        w = w[None, None]
    elif w.ndim == 3:
        w = w[:, :, None, :]
    if w.ndim != 4 or w.size == 0:
        raise ValueError(f"{fn}: {where} expects conv weights (O, I, kH, kW), (O, I, k) or one (kH, kW) "
                         f"filter, but got shape {np.shape(weight)}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{fn}: {where} expects finite weights, but they hold NaN or infinity")
    return w.astype(np.float64)


def _render_frame(panels, layout: _Layout, lut: np.ndarray, title: str, label: str, progress: float, fonts):
    """One frame. ``panels``: (weights (O, I, kH, kW), limit, heading, bar caption) for each panel."""
    from PIL import Image, ImageDraw

    canvas = np.full((layout.height, layout.width, 3), 255, np.uint8)
    for p, (weights, limit, _, _) in enumerate(panels):
        idx = np.clip(np.rint((weights / limit + 1) * 127.5), 0, 255).astype(np.int64)
        block = np.ones((layout.px, layout.px), np.int64)
        for f in range(layout.filters):
            for c in range(layout.inputs):
                x, y = layout.tile_origin(f, c, p)
                canvas[y - 1:y + layout.tile_h + 1, x - 1:x + layout.tile_w + 1] = 150      # a thin frame
                canvas[y:y + layout.tile_h, x:x + layout.tile_w] = lut[np.kron(idx[f, c], block)]
        left = layout.panel_left(p)
        bar_w = min(layout.panel_w - 90, 240)
        x0 = left + (layout.panel_w - bar_w) // 2
        canvas[layout.bar_top:layout.bar_top + 10, x0:x0 + bar_w] = \
            lut[np.linspace(0, 255, bar_w).round().astype(np.int64)][None]
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    big, small, tiny = fonts
    ink, grey = (25, 25, 25), (95, 95, 95)
    draw.text((layout.width // 2, 6), title, fill=ink, font=big, anchor="ma")
    draw.text((layout.width // 2, 28), label, fill=(55, 55, 55), font=small, anchor="ma")
    track = (layout.margin, 48, layout.width - layout.margin, 51)
    draw.rectangle(track, fill=(226, 226, 226))
    draw.rectangle((track[0], track[1], track[0] + round((track[2] - track[0]) * progress), track[3]),
                   fill=(80, 80, 80))
    for p, (_, limit, heading, caption) in enumerate(panels):
        left = layout.panel_left(p)
        centre = left + layout.panel_w // 2
        draw.text((centre, layout.heading_top), heading, fill=ink, font=small, anchor="ma")
        for f in range(layout.filters):
            x, y = layout.tile_origin(f, 0, p)
            if layout.inputs == 1:
                draw.text((x + layout.tile_w // 2, y - 3), f"{f}", fill=grey, font=tiny, anchor="mb")
            else:
                draw.text((x - 5, y + layout.tile_h // 2), f"{f}", fill=grey, font=tiny, anchor="rm")
        if layout.inputs > 1:
            for c in range(layout.inputs):
                x, y = layout.tile_origin(0, c, p)
                draw.text((x + layout.tile_w // 2, y - 3), f"{c}", fill=grey, font=tiny, anchor="mb")
        bar_w = min(layout.panel_w - 90, 240)
        x0, y0 = left + (layout.panel_w - bar_w) // 2, layout.bar_top
        draw.rectangle((x0 - 1, y0 - 1, x0 + bar_w, y0 + 10), outline=(130, 130, 130))
        draw.text((x0 - 6, y0 + 5), f"{-limit:.2g}", fill=ink, font=small, anchor="rm")
        draw.text((x0 + bar_w + 6, y0 + 5), f"+{limit:.2g}", fill=ink, font=small, anchor="lm")
        draw.text((centre, y0 + 15), caption, fill=grey, font=tiny, anchor="ma")
    return image


def filter_evolution(snapshots, *, path=None, duration: int = 250, hold: int = 1500, show_change: bool = True,
                     title: str | None = None):
    """An animation (GIF) of a conv layer's filters changing during training.

    Each frame shows the layer's filters at one snapshot, labelled with its step and epoch,
    under a bar showing how far through training it is. Beside them (``show_change``), each
    weight's change since the first snapshot: early in training the change is small beside the
    weights themselves and easier to see on its own. Every frame shares one symmetric colour
    scale per panel, ``-m .. +m`` with ``m`` the largest ``|value|`` in any snapshot, so a weight
    that grows deepens in colour and one that stays put keeps its colour (blue negative, white
    zero, red positive, :data:`SIGNED_CMAP`). The frames are drawn with NumPy and Pillow (a
    colour look-up table and integer upscaling of each weight to a square), not one matplotlib
    figure each.

    Parameters
    ----------
    snapshots : FilterEvolution or sequence of Snapshot or of arrays
        The callback after training, its ``.snapshots``, or weight arrays ((O, I, kH, kW),
        (O, I, k) or one (kH, kW) filter each, all of one shape), one frame each.
    path : str or Path, optional
        Write the animation there (``.gif``; ``.png`` writes the first frame only).
    duration : int
        Milliseconds per frame.
    hold : int
        Milliseconds the last frame stays, so the trained filters can be looked at.
    show_change : bool
        Add the panel of changes since the first snapshot.
    title : str, optional
        The heading; default names the layer.

    Returns
    -------
    PIL.Image.Image
        An animated image with one frame per snapshot (``n_frames``, ``seek(i)``). A layer with
        one input channel shows its filters in a grid, numbered; one with several shows a row
        per filter and a column per input channel. Beyond 32 filters or 16 input channels the
        first ones are shown (the heading says so).

    Raises
    ------
    ValueError
        No snapshots, snapshots of different shapes, not conv weights or not finite,
        non-positive durations, a bad ``path`` suffix.
    TypeError
        ``snapshots`` of the wrong kind.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope.viz.training import filter_evolution
    >>> w = np.random.default_rng(0).normal(size=(6, 1, 5, 5))
    >>> gif = filter_evolution([w, 1.5 * w, 2 * w])
    >>> gif.n_frames
    3
    """
    fn = "filter_evolution"
    layer_name = None
    if isinstance(snapshots, FilterEvolution):
        layer_name = snapshots.layer_name
        snapshots = snapshots.snapshots
    if isinstance(snapshots, (str, bytes, np.ndarray)) or not isinstance(snapshots, Sequence):
        raise TypeError(f"{fn}: snapshots expects a FilterEvolution or a list of snapshots or weight arrays, but "
                        f"got {type(snapshots).__name__}")
    if not snapshots:
        raise ValueError(f"{fn}: snapshots expects at least one snapshot, but got none (was the FilterEvolution "
                         f"passed to fit's callbacks?)")
    duration = check_int(duration, "duration", fn, minimum=1)
    hold = check_int(hold, "hold", fn, minimum=1)
    if path is not None:
        check_output_path(path, fn, IMAGE_SUFFIXES)
    require_pillow(fn)
    weights, labels, steps = [], [], []
    for k, snap in enumerate(snapshots):
        if isinstance(snap, Snapshot):
            w = _as_weights(snap.weight, fn, f"snapshot {k}")
            labels.append(f"after step {snap.step:,} (epoch {snap.epoch})" if snap.step
                          else "step 0 (before training)")
            steps.append(snap.step)
        else:
            w = _as_weights(snap, fn, f"snapshot {k}")
            labels.append(f"snapshot {k + 1} of {len(snapshots)}")
            steps.append(k)
        if weights and w.shape != weights[0].shape:
            raise ValueError(f"{fn}: snapshots expect one shape, but snapshot 0 is {weights[0].shape} and "
                             f"snapshot {k} is {w.shape}")
        weights.append(w)
    limit = symmetric_limit(weights)
    changes = [w - weights[0] for w in weights]
    change_limit = symmetric_limit(changes)
    layout = _Layout(weights[0].shape, 2 if show_change else 1)
    lut = _lut()
    fonts = (_font(16), _font(13), _font(11))
    o, i = weights[0].shape[:2]
    heading = title if title is not None else (
        f"Filters of layer {layer_name!r} during training" if layer_name else "Filters during training")
    if any(layout.hidden):
        heading += f" (first {layout.filters} of {o} filters" + (
            f", {layout.inputs} of {i} inputs)" if layout.hidden[1] else ")")
    first, last = steps[0], steps[-1]
    since = labels[0].split(" (")[0].replace("after ", "")
    frames = []
    for w, change, label, s in zip(weights, changes, labels, steps):
        panels = [(w, limit, "weights", "weight: blue < 0 < red")]
        if show_change:
            panels.append((change, change_limit, f"change since {since}", "change: blue down, red up"))
        progress = (s - first) / (last - first) if last > first else 1.0
        if layout.inputs > 1:
            label += "   \u00b7   row: filter, column: input channel"
        frames.append(_render_frame(panels, layout, lut, heading, label, progress, fonts))
    durations = [duration] * len(frames)
    durations[-1] = max(hold, duration)
    gif = animation(frames, durations, fn)
    if path is not None:
        save(gif, path, fn)
    return gif
