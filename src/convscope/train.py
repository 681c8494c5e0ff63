"""Training and evaluation loops with a progress bar, atomic checkpoints and exact resume.

>>> history = fit(model, train_loader, nn.CrossEntropyLoss(), optim.Adam(model.parameters()),
...               epochs=5, val_loader=test_loader, checkpoint="runs/lenet5/checkpoint.npz")  # doctest: +SKIP

A checkpoint is written at the end of every epoch (atomically, see :mod:`convscope.io.native`)
with everything the next epoch depends on: weights and buffers, optimizer and scheduler state,
convscope's global random generator (dropout) and the loader's seed (its shuffling order for epoch
``e`` is a function of the seed and ``e``). ``fit(..., resume=True)`` continues from it and gives
the same result as a run that was never interrupted; a run killed mid-epoch loses only that epoch.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

import numpy as np

from . import io as cs_io
from . import random as cs_random
from .autograd import Tensor, no_grad

__all__ = ["fit", "evaluate", "History", "NonFiniteLossError", "ProgressBar", "load_checkpoint"]


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; training stopped at the step named in the message."""


@dataclass
class History:
    """Per-epoch records from :func:`fit`: ``epoch``, ``train_loss``, ``train_accuracy``,
    ``seconds``, ``images_per_second``, ``lr`` and, with a validation loader, ``val_loss`` and
    ``val_accuracy``. Plain data: ``history.epochs`` is a list of dicts."""

    epochs: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.epochs)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.epochs[i]

    def column(self, key: str) -> list[Any]:
        """One metric over the epochs, e.g. ``history.column("val_accuracy")``."""
        return [e.get(key) for e in self.epochs]


class ProgressBar:
    """A one-line progress bar on a terminal (batch count, metrics, images/s, time left).

    On a stream that is not a terminal (a log file, CI) it stays quiet until :meth:`close`, which
    prints one summary line, so logs do not fill with carriage returns.
    """

    def __init__(self, total: int, desc: str = "", stream: TextIO | None = None, enabled: bool | None = None,
                 width: int = 24) -> None:
        self.total, self.desc, self.width = total, desc, width
        self.stream = stream if stream is not None else sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)()) if enabled is None else enabled
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self.done = 0

    def _line(self, done: int, metrics: dict[str, Any]) -> str:
        elapsed = time.perf_counter() - self.start
        frac = done / self.total if self.total else 1.0
        bar = "#" * int(round(frac * self.width))
        parts = [f"{self.desc} {done}/{self.total} [{bar:<{self.width}}]"]
        for key, value in metrics.items():
            if isinstance(value, float):
                parts.append(f"{key} {value:.4f}" if "acc" not in key else f"{key} {value:.2%}")
            else:
                parts.append(f"{key} {value}")
        eta = elapsed / frac - elapsed if 0 < frac < 1 else 0.0
        parts.append(f"{elapsed:.0f}s" + (f" (eta {eta:.0f}s)" if eta else ""))
        return "  ".join(parts)

    def update(self, done: int, **metrics: Any) -> None:
        self.done = done
        now = time.perf_counter()
        if self.live and (now - self._last_draw > 0.1 or done == self.total):
            self._last_draw = now
            self.stream.write("\r" + self._line(done, metrics) + "\033[K")
            self.stream.flush()

    def close(self, **metrics: Any) -> None:
        self.stream.write(("\r" if self.live else "") + self._line(self.done, metrics) + ("\033[K" if self.live else "")
                          + "\n")
        self.stream.flush()


def _batch_accuracy(logits: np.ndarray, labels: np.ndarray) -> int:
    return int((np.argmax(logits, axis=1) == labels).sum())


def evaluate(model, loader, loss_fn: Callable | None = None) -> dict[str, float]:
    """Mean loss (if ``loss_fn``) and accuracy of ``model`` over ``loader``, in eval mode and
    without recording gradients. The model's previous mode is restored afterwards."""
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
    result = {"accuracy": correct / seen if seen else float("nan"), "count": seen}
    if loss_fn is not None:
        result["loss"] = total_loss / seen if seen else float("nan")
    return result


def load_checkpoint(path) -> dict[str, Any]:
    """Read a training checkpoint written by :func:`fit` (validated, never unpickled)."""
    state = cs_io.load(path, kind="checkpoint")
    for key in ("epoch", "model", "optimizer", "rng", "history"):
        if key not in state:
            raise ValueError(f"load_checkpoint: {path} expects a training checkpoint with {key!r}, but it is missing")
    return state


def _save_checkpoint(path, model, optimizer, scheduler, loader, history, epoch: int, epochs: int) -> None:
    cs_io.save(path, {
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
        stream: TextIO | None = None) -> History:
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
    progress : show the progress bar (default: only on a terminal; a summary line per epoch otherwise)

    Returns
    -------
    History
        One record per epoch, including those restored from the checkpoint.

    Raises
    ------
    NonFiniteLossError
        When the loss becomes NaN or infinite, naming the epoch, batch and step.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"fit: epochs expects a positive integer, but got {epochs!r}")
    if resume and checkpoint is None:
        raise ValueError("fit: resume=True expects a checkpoint path, but checkpoint is None")
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
    step = start * _safe_len(loader)
    for epoch in range(start, epochs):
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        model.train()
        bar = ProgressBar(_safe_len(loader), f"epoch {epoch + 1}/{epochs}", out, enabled=progress)
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
            total_loss += value * len(labels)
            correct += _batch_accuracy(logits.data, labels)
            seen += len(labels)
            bar.update(b + 1, loss=total_loss / seen, acc=correct / seen,
                       **{"img/s": f"{seen / (time.perf_counter() - t0):,.0f}"})
        seconds = time.perf_counter() - t0
        record: dict[str, Any] = {
            "epoch": epoch + 1, "train_loss": total_loss / max(seen, 1), "train_accuracy": correct / max(seen, 1),
            "seconds": seconds, "images_per_second": seen / seconds if seconds > 0 else float("nan"),
            "lr": float(optimizer.param_groups[0]["lr"]),
        }
        if scheduler is not None:
            scheduler.step()
        if val_loader is not None:
            ev = evaluate(model, val_loader, loss_fn)
            record.update(val_loss=ev["loss"], val_accuracy=ev["accuracy"])
        history.append(record)
        if checkpoint is not None:
            _save_checkpoint(checkpoint, model, optimizer, scheduler, loader, history, epoch + 1, epochs)
        summary = {"loss": record["train_loss"], "acc": record["train_accuracy"],
                   "img/s": f"{record['images_per_second']:,.0f}"}
        if val_loader is not None:
            summary.update(val_loss=record["val_loss"], val_acc=record["val_accuracy"])
        bar.close(**summary)
    return History(history)


def _safe_len(loader) -> int:
    try:
        return len(loader)
    except TypeError:
        return 0
