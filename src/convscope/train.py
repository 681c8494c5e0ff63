"""Training and evaluation loops with a progress bar, callbacks, atomic checkpoints and exact resume.

>>> history = fit(model, train_loader, nn.CrossEntropyLoss(), optim.Adam(model.parameters()),
...               epochs=5, val_loader=test_loader, checkpoint="runs/lenet5/checkpoint.npz")  # doctest: +SKIP

A checkpoint is written at the end of every epoch (atomically, see :mod:`convscope.io.native`)
with everything the next epoch depends on: weights and buffers, optimizer and scheduler state,
convscope's global random generator (dropout) and the loader's seed (its shuffling order for epoch
``e`` is a function of the seed and ``e``). ``fit(..., resume=True)`` continues from it and gives
the same result as a run that was never interrupted; a run killed mid-epoch loses only that epoch.

Progress: on a terminal, a live bar from :mod:`tqdm` (an optional dependency, imported only when
a bar is drawn); in a log, or without tqdm, one summary line per epoch. Callbacks (``fit(...,
callbacks=[...])``, protocol in :func:`fit`) watch the run: the per-step recorder and the filter
snapshots of :mod:`convscope.viz.training` are two.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence, TextIO

import numpy as np

from . import io as cs_io
from . import random as cs_random
from .autograd import Tensor, no_grad

__all__ = ["fit", "evaluate", "History", "NonFiniteLossError", "load_checkpoint"]


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; training stopped at the step named in the message.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import data, models, nn, optim
    >>> from convscope.train import NonFiniteLossError, fit
    >>> images = np.full((8, 1, 28, 28), np.nan, np.float32)
    >>> loader = data.DataLoader(data.ArrayDataset(images, np.arange(8) % 10), batch_size=4)
    >>> model = models.lenet5()
    >>> try:
    ...     fit(model, loader, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), 1, progress=False)
    ... except NonFiniteLossError as error:
    ...     print(type(error).__name__, isinstance(error, FloatingPointError))
    NonFiniteLossError True
    """


@dataclass
class History:
    """Per-epoch records from :func:`fit`: ``epoch``, ``train_loss``, ``train_accuracy``,
    ``seconds``, ``images_per_second``, ``lr`` and, with a validation loader, ``val_loss`` and
    ``val_accuracy``. Plain data: ``history.epochs`` is a list of dicts.

    Examples
    --------
    >>> from convscope.train import History
    >>> history = History([{"epoch": 1, "train_loss": 0.9}, {"epoch": 2, "train_loss": 0.4}])
    >>> len(history), history[-1]["epoch"], history.column("train_loss")
    (2, 2, [0.9, 0.4])
    """

    epochs: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.epochs)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.epochs[i]

    def column(self, key: str) -> list[Any]:
        """One metric over the epochs, e.g. ``history.column("val_accuracy")``."""
        return [e.get(key) for e in self.epochs]


def _tqdm():
    """``tqdm.tqdm``, or None when tqdm is not installed (it is optional: the core needs NumPy only)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def _format_metrics(metrics: dict[str, Any], sep: str) -> str:
    parts = []
    for key, value in metrics.items():
        if isinstance(value, float):
            parts.append(f"{key}{sep}{value:.2%}" if "acc" in key else f"{key}{sep}{value:.4f}")
        else:
            parts.append(f"{key}{sep}{value}")
    return ", ".join(parts) if sep == "=" else "  ".join(parts)


class _EpochProgress:
    """One epoch's progress report.

    ``live``: a :mod:`tqdm` bar on ``stream`` (batches done, loss, accuracy, images/s, time
    left), left on screen with the epoch's summary when it closes. Otherwise, or when tqdm is not
    installed: nothing during the epoch and one summary line at :meth:`close`, so logs and CI
    output do not fill with carriage returns.
    """

    def __init__(self, total: int, desc: str, stream: TextIO, live: bool) -> None:
        self.total, self.desc, self.stream = total, desc, stream
        self.start = time.perf_counter()
        self.done = 0
        tqdm = _tqdm() if live else None
        self.bar = None if tqdm is None else tqdm(
            total=total or None, desc=desc, file=stream, unit="batch", leave=True, dynamic_ncols=True,
            mininterval=0.1)

    def update(self, metrics: Callable[[], dict[str, Any]]) -> None:
        """One more batch; ``metrics`` is called only when a live bar shows them."""
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(_format_metrics(metrics(), "="), refresh=False)
            self.bar.update(1)

    def close(self, metrics: dict[str, Any]) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(_format_metrics(metrics, "="), refresh=False)
            self.bar.close()
            return
        elapsed = time.perf_counter() - self.start
        count = f"{self.done}/{self.total}" if self.total else f"{self.done}"
        self.stream.write(f"{self.desc}  {count} batches  {_format_metrics(metrics, ' ')}  {elapsed:.0f}s\n")
        self.stream.flush()


_CALLBACK_METHODS = ("on_train_begin", "on_batch_end", "on_epoch_end", "on_train_end")


def _check_callbacks(callbacks) -> list[Any]:
    if callbacks is None:
        return []
    if any(hasattr(callbacks, m) for m in _CALLBACK_METHODS) or not hasattr(callbacks, "__iter__"):
        raise TypeError(f"fit: callbacks expects a list or tuple of callbacks, but got one "
                        f"{type(callbacks).__name__} (wrap it: callbacks=[cb])")
    callbacks = list(callbacks)
    for cb in callbacks:
        if not any(callable(getattr(cb, m, None)) for m in _CALLBACK_METHODS):
            raise TypeError(f"fit: callbacks expects objects with at least one of the methods "
                            f"{', '.join(_CALLBACK_METHODS)}, but got {type(cb).__name__} {cb!r:.60}")
    return callbacks


def _notify(callbacks: list[Any], method: str, *args: Any) -> None:
    for cb in callbacks:
        hook = getattr(cb, method, None)
        if hook is not None:
            hook(*args)


def _batch_accuracy(logits: np.ndarray, labels: np.ndarray) -> int:
    return int((np.argmax(logits, axis=1) == labels).sum())


def evaluate(model, loader, loss_fn: Callable | None = None) -> dict[str, float]:
    """Mean loss (if ``loss_fn``) and accuracy of ``model`` over ``loader``, in eval mode and
    without recording gradients. The model's previous mode is restored afterwards.

    Examples
    --------
    >>> import numpy as np
    >>> from convscope import data, models, nn
    >>> from convscope.train import evaluate
    >>> images = np.random.default_rng(0).random((20, 1, 28, 28)).astype(np.float32)
    >>> loader = data.DataLoader(data.ArrayDataset(images, np.arange(20) % 10), batch_size=8)
    >>> result = evaluate(models.lenet5(), loader, nn.CrossEntropyLoss())
    >>> sorted(result), result["count"], 0 <= result["accuracy"] <= 1
    (['accuracy', 'count', 'loss'], 20, True)
    """
    was_training = model.training
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    try:
        with no_grad():
            for images, labels in loader:
                out = model(images)
                logits = out.data if isinstance(out, Tensor) else out
                if loss_fn is not None:
                    loss = loss_fn(out, labels)
                    total_loss += float(loss.item() if isinstance(loss, Tensor) else loss) * len(labels)
                correct += _batch_accuracy(logits, labels)
                seen += len(labels)
    finally:
        model.train(was_training)
    if not seen:
        raise ValueError("evaluate: loader expects at least one sample, but it gave none (an empty dataset?)")
    result = {"accuracy": correct / seen, "count": seen}
    if loss_fn is not None:
        result["loss"] = total_loss / seen
    return result


def load_checkpoint(path) -> dict[str, Any]:
    """Read a training checkpoint written by :func:`fit` (validated, never unpickled).

    Returns a dict with ``epoch`` (epochs completed), ``epochs`` (the run's planned total),
    ``model``, ``optimizer``, ``scheduler``, ``rng``, ``loader_seed``, ``history`` (one record per
    completed epoch) and ``run`` (what the caller passed as ``fit(..., run=...)``, else None).

    Raises
    ------
    FileNotFoundError, ValueError
        No file; not a checkpoint, truncated or corrupt; or contents that contradict each other
        (an epoch count that is not a non-negative integer, or a history of another length).

    Examples
    --------
    >>> import io, os, tempfile
    >>> import numpy as np
    >>> from convscope import data, models, nn, optim
    >>> from convscope.train import fit, load_checkpoint
    >>> images = np.random.default_rng(0).random((16, 1, 28, 28)).astype(np.float32)
    >>> loader = data.DataLoader(data.ArrayDataset(images, np.arange(16) % 10), batch_size=8)
    >>> model, path = models.lenet5(), os.path.join(tempfile.mkdtemp(), "checkpoint.npz")
    >>> _ = fit(model, loader, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.01), 1,
    ...         checkpoint=path, progress=False, stream=io.StringIO())
    >>> state = load_checkpoint(path)
    >>> state["epoch"], len(state["history"]), "0.weight" in state["model"]
    (1, 1, True)
    """
    state = cs_io.load(path, kind="checkpoint")
    if not isinstance(state, dict):
        raise ValueError(f"load_checkpoint: {path} expects a training checkpoint, but it holds a {type(state).__name__}")
    for key in ("epoch", "model", "optimizer", "rng", "history"):
        if key not in state:
            raise ValueError(f"load_checkpoint: {path} expects a training checkpoint with {key!r}, but it is missing")
    epoch, history = state["epoch"], state["history"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"load_checkpoint: {path} expects a non-negative integer epoch, but it records {epoch!r}")
    if not isinstance(history, list) or len(history) != epoch:
        size = len(history) if isinstance(history, list) else type(history).__name__
        raise ValueError(f"load_checkpoint: {path} is inconsistent: it records epoch {epoch} but a history of "
                         f"{size} epochs")
    state.setdefault("run", None)
    return state


def _save_checkpoint(path, model, optimizer, scheduler, loader, history, epoch: int, epochs: int,
                     run: dict | None) -> None:
    cs_io.save(path, {
        "run": run,
        "epoch": epoch,
        "epochs": epochs,
        "model": dict(model.state_dict()),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "rng": cs_random.get_rng_state(),
        "loader_seed": getattr(loader, "seed", None),
        "history": history,
    }, kind="checkpoint")


def fit(model, loader, loss_fn: Callable, optimizer, epochs: int, *, val_loader=None, scheduler=None,
        checkpoint: str | Path | None = None, resume: bool = False, progress: bool | None = None,
        stream: TextIO | None = None, callbacks: Sequence[Any] = (), run: dict | None = None) -> History:
    """Train ``model`` for ``epochs`` passes over ``loader``.

    Parameters
    ----------
    model : Module
    loader : iterable of (images, labels) batches, ideally a :class:`convscope.data.DataLoader`
        (its ``set_epoch`` is called each epoch so shuffling is reproducible and resumable)
    loss_fn : callable(logits, labels) -> scalar Tensor, e.g. ``nn.CrossEntropyLoss()``
    optimizer : a :mod:`convscope.optim` optimizer over the model's parameters
    epochs : total number of epochs (a resumed run continues up to this number)
    val_loader : optional loader evaluated after each epoch
    scheduler : optional learning-rate scheduler, stepped once per epoch
    checkpoint : path of the checkpoint file, rewritten atomically after each epoch
    resume : continue from ``checkpoint`` if it exists (an error if it is missing or corrupt)
    progress : bool, optional
        True: a live :mod:`tqdm` bar during each epoch (batches, loss, accuracy, images/s, time
        left), left on screen with the epoch's summary. False: nothing during the epoch and one
        summary line at its end. None (default): the bar when ``stream`` is a terminal, the
        summary lines otherwise (logs, CI). Without tqdm installed there is no live bar, only the
        summary lines.
    stream : text stream for the progress output (default ``sys.stderr``)
    run : dict, optional
        A description of the run (names, numbers, strings: what ``convscope train`` was given),
        stored in every checkpoint so a later resume can check it is continuing the same run.
    callbacks : sequence of objects, optional
        Told about the training as it goes, in order; a callback defines any of these methods
        (one it lacks is skipped), all called positionally:

        - ``on_train_begin(model)``: before the first epoch (after a resume has restored the
          state);
        - ``on_batch_end(model, step, epoch, batch, loss, accuracy)``: after each optimizer
          step; ``step`` counts the steps of the whole run from 1 (continuing after a resume),
          ``epoch`` and ``batch`` count from 1, ``loss`` and ``accuracy`` are this batch's
          (floats, accuracy in 0..1);
        - ``on_epoch_end(model, epoch, record)``: after the epoch's validation and checkpoint;
          ``record`` is the epoch's :class:`History` entry (read it, do not change it);
        - ``on_train_end(model, history)``: with the :class:`History` about to be returned
          (not called when training stops with an error).

        Callbacks see the model but must not change it or the random state if a resumed run is
        to stay exact; their own state is not saved in checkpoints. See
        :class:`convscope.viz.training.StepRecorder` and
        :class:`convscope.viz.training.FilterEvolution`.

    Returns
    -------
    History
        One record per epoch, including those restored from the checkpoint.

    Raises
    ------
    NonFiniteLossError
        When the loss becomes NaN or infinite, naming the epoch, batch and step, or when an
        epoch ends with non-finite weights (the last checkpoint is then the last good state).
    ValueError, TypeError
        A bad ``epochs``, ``resume`` without a checkpoint, a loader that yields no batch,
        ``callbacks`` that are not a sequence of callback objects.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from convscope import data, models, nn, optim
    >>> from convscope.train import fit
    >>> images = np.random.default_rng(0).random((32, 1, 28, 28)).astype(np.float32)
    >>> loader = data.DataLoader(data.ArrayDataset(images, np.arange(32) % 10), batch_size=8)
    >>> class CountSteps:
    ...     steps = 0
    ...     def on_batch_end(self, model, step, epoch, batch, loss, accuracy):
    ...         self.steps = step
    >>> counter = CountSteps()
    >>> model = models.lenet5()
    >>> history = fit(model, loader, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.01), 2,
    ...               progress=False, stream=io.StringIO(), callbacks=[counter])
    >>> counter.steps, len(history)
    (8, 2)
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"fit: epochs expects a positive integer, but got {epochs!r}")
    if resume and checkpoint is None:
        raise ValueError("fit: resume=True expects a checkpoint path, but checkpoint is None")
    callbacks = _check_callbacks(callbacks)
    history: list[dict[str, Any]] = []
    start = 0
    if resume:
        state = load_checkpoint(checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
        cs_random.set_rng_state(state["rng"])
        if state.get("loader_seed") is not None and hasattr(loader, "seed"):
            loader.seed = int(state["loader_seed"])        # same shuffling as the interrupted run
        history = list(state["history"])
        start = int(state["epoch"])
    out = stream if stream is not None else sys.stderr
    live = bool(getattr(out, "isatty", lambda: False)()) if progress is None else bool(progress)
    step = start * _safe_len(loader)
    _notify(callbacks, "on_train_begin", model)
    for epoch in range(start, epochs):
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        model.train()
        bar = _EpochProgress(_safe_len(loader), f"epoch {epoch + 1}/{epochs}", out, live)
        t0 = time.perf_counter()
        total_loss, correct, seen = 0.0, 0, 0
        for b, (images, labels) in enumerate(loader):
            logits = model(images)
            loss = loss_fn(logits, labels)
            value = float(loss.item())
            if not math.isfinite(value):
                raise NonFiniteLossError(
                    f"fit: the loss became {value} at epoch {epoch + 1}, batch {b + 1} (step {step + 1}); "
                    f"lower the learning rate or check the inputs for NaN/inf")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            hits = _batch_accuracy(logits.data, labels)
            total_loss += value * len(labels)
            correct += hits
            seen += len(labels)
            if callbacks:
                _notify(callbacks, "on_batch_end", model, step, epoch + 1, b + 1, value, hits / max(len(labels), 1))
            bar.update(lambda: {"loss": total_loss / seen, "acc": correct / seen,
                                "img/s": f"{seen / (time.perf_counter() - t0):,.0f}"})
        seconds = time.perf_counter() - t0
        if not seen:
            raise ValueError(f"fit: loader expects at least one batch per epoch, but epoch {epoch + 1} gave none "
                             f"(an empty dataset?)")
        bad = [name for name, p in model.named_parameters() if not np.all(np.isfinite(p.data))]
        if bad:
            raise NonFiniteLossError(
                f"fit: the weights became non-finite during epoch {epoch + 1} ({', '.join(bad[:3])}"
                f"{', ...' if len(bad) > 3 else ''}); lower the learning rate or check the inputs for NaN/inf")
        record: dict[str, Any] = {
            "epoch": epoch + 1, "train_loss": total_loss / max(seen, 1), "train_accuracy": correct / max(seen, 1),
            "seconds": seconds, "images_per_second": seen / seconds if seconds > 0 else float("nan"),
            "lr": float(optimizer.param_groups[0]["lr"]),
        }
        if scheduler is not None:
            scheduler.step()
        if val_loader is not None:
            ev = evaluate(model, val_loader, loss_fn)
            if not math.isfinite(ev["loss"]):
                raise NonFiniteLossError(
                    f"fit: the validation loss became {ev['loss']} after epoch {epoch + 1} (the weights overflow "
                    f"on real inputs); lower the learning rate or check the inputs for NaN/inf")
            record.update(val_loss=ev["loss"], val_accuracy=ev["accuracy"])
        history.append(record)
        if checkpoint is not None:
            _save_checkpoint(checkpoint, model, optimizer, scheduler, loader, history, epoch + 1, epochs, run)
        summary = {"loss": record["train_loss"], "acc": record["train_accuracy"],
                   "img/s": f"{record['images_per_second']:,.0f}"}
        if val_loader is not None:
            summary.update(val_loss=record["val_loss"], val_acc=record["val_accuracy"])
        bar.close(summary)
        _notify(callbacks, "on_epoch_end", model, epoch + 1, record)
    result = History(history)
    _notify(callbacks, "on_train_end", model, result)
    return result


def _safe_len(loader) -> int:
    try:
        return len(loader)
    except TypeError:
        return 0
