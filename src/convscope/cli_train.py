"""``convscope train``: train a zoo model on MNIST or Fashion-MNIST, owning its output folder.

Everything a user can get wrong is checked before the first batch: the arguments, the output
folder (a folder, writable, not in use by another run), the checkpoint when resuming (readable,
from the same run) and the data. Each mistake is one line on stderr and exit status 2.

The output folder ``OUT`` holds ``checkpoint.npz`` (rewritten atomically after every epoch),
``model.safetensors`` (the weights, with the model's name and arguments, the dataset and the test
accuracy in its metadata: ``convscope.load`` rebuilds the model from it; ``model.npz`` instead when
the ``weights`` extra is missing) and ``history.json`` (written at the end). While a run works there it holds
``OUT/.convscope.lock`` (see :class:`convscope._files.RunLock`): a second run on the same folder,
``--force`` included, is refused while the first is alive, and the lock of a killed run is
recognised as stale and taken over. Temporary files a killed run left behind are removed when
the next run starts.

The checkpoint records the run's arguments. ``--resume`` continues only the same run: it refuses,
naming each difference, when the model, dataset, data source, optimizer and its settings, learning
rate, schedule, augmentation, batch size, ``--limit`` or seed differ. Two changes are allowed:

- ``--epochs`` may grow (train a finished run further), except with ``--cosine``, whose schedule
  is laid out over the epoch count;
- ``--lr`` may change with ``--allow-lr-change`` (without ``--cosine``): the new rate replaces the
  checkpoint's from the next epoch on. The optimizer's moments are kept, so this is the usual
  "continue with a smaller rate", no longer an exact continuation of the first run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cli import UserError

DATASETS = ("mnist", "fashion-mnist")
# Per-dataset normalisation (mean, std of the training pixels in [0, 1]).
_NORMALIZE = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}
_OUTPUTS = ("checkpoint.npz", "model.safetensors", "model.npz", "history.json")
# The run arguments a resume must match, with how to name each on the command line.
_CHECKED = {"model": "--model", "dataset": "--dataset", "source": "the data source", "optimizer": "--optimizer",
            "lr": "--lr", "momentum": "--momentum", "weight_decay": "--weight-decay", "cosine": "--cosine",
            "augment": "--augment", "batch_size": "--batch-size", "limit": "--limit", "seed": "--seed",
            "init_from": "--init-from", "freeze": "--freeze"}


def _check_arguments(args) -> None:
    import math

    from . import models

    names = models.available()
    if args.model not in names:
        raise UserError(f"--model expects one of {', '.join(names)}, but got {args.model!r}")
    for flag, value, ok, what in (
            ("--epochs", args.epochs, args.epochs >= 1, "a positive integer"),
            ("--batch-size", args.batch_size, args.batch_size >= 1, "a positive integer"),
            ("--limit", args.limit, args.limit >= 0, "a non-negative integer (0 means every image)"),
            ("--lr", args.lr, math.isfinite(args.lr) and args.lr > 0, "a positive number"),
            ("--momentum", args.momentum, math.isfinite(args.momentum) and 0 <= args.momentum < 1,
             "a number in [0, 1)"),
            ("--weight-decay", args.weight_decay, math.isfinite(args.weight_decay) and args.weight_decay >= 0,
             "a non-negative number"),
            ("--seed", args.seed, 0 <= args.seed < 2**63, "an integer in 0 .. 2**63-1")):
        if not ok:
            raise UserError(f"{flag} expects {what}, but got {value}")
    if args.resume and args.force:
        raise UserError("--resume and --force contradict each other: --resume continues OUT's run, "
                        "--force starts it over")
    if args.allow_lr_change and not args.resume:
        raise UserError("--allow-lr-change applies with --resume only")
    if args.allow_lr_change and args.cosine:
        raise UserError("--allow-lr-change applies without --cosine only (the schedule sets the rate)")
    if args.bundled and args.data_dir:
        raise UserError("--bundled and --data-dir contradict each other: pick one source of images")
    if args.init_from == "bundled":
        shipped = models.bundled_weights()
        if args.model not in shipped:
            raise UserError(f"--init-from bundled expects a model with pretrained weights in convscope "
                            f"({', '.join(sorted(shipped))}), but --model is {args.model!r}")
    elif args.init_from is not None:
        from pathlib import Path
        path = Path(args.init_from)
        if not path.is_file():
            raise UserError(f"--init-from expects 'bundled' or a weights file, but {args.init_from!r} "
                            f"{'is not a regular file' if path.exists() else 'does not exist'}")


def _check_out(out: Path) -> None:
    from ._files import writable_folder_problem

    problem = writable_folder_problem(out)
    if problem is not None:
        where, what = problem
        raise UserError(f"--out expects a {'writable ' if what == 'is not writable' else ''}folder, but {where} {what}")


def _data_root(args) -> str | None:
    """The folder of IDX files the run reads: --data-dir, else $CONVSCOPE_DATA; None for the
    bundled subset."""
    import os

    return None if args.bundled else (args.data_dir or os.environ.get("CONVSCOPE_DATA") or None)


def _record(args) -> dict:
    """The arguments that define the run, as stored in its checkpoints."""
    source = "bundled" if _data_root(args) is None else "files"
    return {"model": args.model, "dataset": args.dataset, "source": source, "optimizer": args.optimizer,
            "lr": args.lr, "momentum": args.momentum if args.optimizer == "sgd" else None,
            "weight_decay": args.weight_decay, "cosine": bool(args.cosine), "augment": bool(args.augment),
            "batch_size": args.batch_size, "limit": args.limit, "seed": args.seed, "epochs": args.epochs,
            "init_from": args.init_from, "freeze": sorted(args.freeze) or None}


def _check_resume(state: dict, record: dict, args, checkpoint: Path) -> None:
    """Refuse a resume that would not continue the checkpoint's run, naming every difference."""
    previous = state.get("run")
    if not isinstance(previous, dict):
        raise UserError(f"{checkpoint} does not record the arguments of its run (an older convscope wrote it), "
                        f"so --resume cannot check that it continues the same run; pass --force to start over")
    differences = []
    for key, flag in _CHECKED.items():
        if key == "lr" and args.allow_lr_change:
            continue
        if previous.get(key) != record[key]:
            differences.append(f"{flag} is {_show(record[key])} but the checkpoint's run used {_show(previous.get(key))}")
    if args.cosine and previous.get("epochs") != record["epochs"]:
        differences.append(f"--epochs is {record['epochs']} but the checkpoint's cosine schedule is laid out over "
                           f"{previous.get('epochs')}")
    if differences:
        hint = "; pass the checkpoint's values, or --force to start over"
        if any(d.startswith("--lr ") for d in differences) and not args.cosine:
            hint += " (a new --lr is allowed with --allow-lr-change)"
        raise UserError(f"--resume would not continue the run in {checkpoint}: " + "; ".join(differences) + hint)
    done = state["epoch"]
    if done >= args.epochs:
        raise UserError(f"{checkpoint} has already finished {done} epoch{'s' if done != 1 else ''}, and --epochs "
                        f"{args.epochs} asks for no more; pass --epochs above {done} to train further")


def _show(value) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "on" if value else "off"
    return repr(value) if isinstance(value, str) else str(value)


def _datasets(args):
    """(train, test, where) for --dataset, from --data-dir, $CONVSCOPE_DATA or the bundled subset."""
    from . import data

    cls = data.MNIST if args.dataset == "mnist" else data.FashionMNIST
    root = _data_root(args)
    if root is None:
        return cls.bundled(train=True), cls.bundled(train=False), "the subset bundled with convscope"
    if not Path(root).is_dir():
        flag = "--data-dir" if args.data_dir else "$CONVSCOPE_DATA"
        raise UserError(f"{flag} expects a folder holding the {args.dataset} IDX files, but {root} is "
                        f"{'a file' if Path(root).exists() else 'missing'}")
    try:
        return cls(root, train=True), cls(root, train=False), str(root)
    except (FileNotFoundError, ValueError, OSError) as exc:
        raise UserError(str(exc).removeprefix(f"{cls.__name__}: ")) from None


def run(args: argparse.Namespace) -> int:
    """``convscope train``: check everything, take OUT's lock, train, write the outputs.

    Returns the exit status (0 trained, 130 interrupted); a user mistake raises
    :class:`~convscope.cli.UserError`, which :func:`convscope.cli.main` turns into status 2. The
    arguments are checked before OUT is touched.

    Examples
    --------
    >>> from convscope.cli import build_parser
    >>> args = build_parser().parse_args(["train", "--epochs", "0", "--out", "runs/lenet5"])
    >>> run(args)
    Traceback (most recent call last):
        ...
    convscope.cli.UserError: --epochs expects a positive integer, but got 0
    >>> import os; os.path.exists("runs")
    False
    """
    from ._files import LockedError, RunLock

    _check_arguments(args)
    out = Path(args.out)
    _check_out(out)
    created = not out.exists()
    lock = RunLock(out, "convscope train run")
    try:
        lock.acquire()
    except LockedError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"--out expects a writable folder, but {out} cannot be used ({exc.strerror})") from None
    try:
        return _train(args, out, lock)
    finally:
        lock.release()
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()                                   # nothing was written: leave no empty folder


def _train(args, out: Path, lock) -> int:
    import json

    import numpy as np

    from . import data, io, models, nn, optim
    from ._files import atomic_write, leftover_temp_files
    from .random import manual_seed
    from .train import NonFiniteLossError, evaluate, fit, load_checkpoint

    if lock.stale:
        print(f"convscope train: took over the stale lock of a run that is no longer alive ({lock.stale})",
              file=sys.stderr)
    leftovers = leftover_temp_files(out, _OUTPUTS)
    for path in leftovers:
        path.unlink(missing_ok=True)
    if leftovers:
        print(f"convscope train: removed {len(leftovers)} temporary file{'s' if len(leftovers) > 1 else ''} "
              f"left by an interrupted run ({', '.join(p.name for p in leftovers)})", file=sys.stderr)
    checkpoint = out / "checkpoint.npz"
    record = _record(args)
    if args.resume:
        if not checkpoint.is_file():
            raise UserError(f"--resume expects a checkpoint at {checkpoint}, but there is none")
        try:
            state = load_checkpoint(checkpoint)
        except ValueError as exc:
            raise UserError(f"{exc} (pass --force to start over)".removeprefix("load_checkpoint: ")
                            .removeprefix("load: ")) from None
        _check_resume(state, record, args, checkpoint)
    elif checkpoint.exists() and not args.force:
        raise UserError(f"{checkpoint} exists; pass --resume to continue it or --force to start over")
    manual_seed(args.seed)
    train_set, test_set, where = _datasets(args)
    if args.limit:
        train_set = data.ArrayDataset(train_set.data[:args.limit], train_set.targets[:args.limit])
    for name, dataset in (("training", train_set), ("test", test_set)):
        if len(dataset) == 0:
            raise UserError(f"the {name} set from {where} has no images")
    if args.force:
        for name in _OUTPUTS:                     # no checkpoint of one run beside weights of another
            (out / name).unlink(missing_ok=True)
    mean, std = _NORMALIZE[args.dataset]
    norm = data.Normalize(mean, std)
    augment = norm
    if args.augment:
        steps = [data.RandomCrop(28, padding=2)]
        if args.dataset == "fashion-mnist":
            steps.append(data.RandomHorizontalFlip())     # clothes are mirror-symmetric; digits are not
        augment = data.Compose(steps + [norm])
    train_loader = data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed,
                                   transform=augment)
    test_loader = data.DataLoader(test_set, batch_size=256, transform=norm)
    model = _initial_model(args, models)
    params = [p for p in model.parameters() if p.requires_grad]
    if args.optimizer == "sgd":
        optimizer = optim.SGD(params, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    elif args.optimizer == "adamw":
        optimizer = optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    else:
        optimizer = optim.Adam(params, lr=args.lr, weight_decay=args.weight_decay)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs) if args.cosine else None
    callbacks = [_SetLearningRate(optimizer, args.lr)] if args.allow_lr_change else []
    n_params = sum(p.numel() for p in params)
    epochs = f"{args.epochs} epoch{'s' if args.epochs > 1 else ''}"
    print(f"training {args.model} ({n_params:,} parameters) on {args.dataset} from {where}: "
          f"{len(train_set):,} train / {len(test_set):,} test images, {epochs}, "
          f"batch {args.batch_size}, {args.optimizer} lr {args.lr}{', cosine' if args.cosine else ''}"
          f"{', augmented' if args.augment else ''}", file=sys.stderr)
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):   # fit reports non-finite values
            history = fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, args.epochs, val_loader=test_loader,
                          scheduler=scheduler, checkpoint=checkpoint, resume=args.resume,
                          progress=False if args.no_progress else None, callbacks=callbacks, run=record)
    except NonFiniteLossError as exc:
        kept = f"; {checkpoint} holds the last good epoch" if checkpoint.exists() else ""
        raise UserError(f"{str(exc).removeprefix('fit: ')}{kept}") from None
    except KeyboardInterrupt:
        kept = f"; {checkpoint} holds the last finished epoch: continue with --resume" if checkpoint.exists() else ""
        print(f"convscope train: interrupted{kept}", file=sys.stderr)
        return 130
    final = evaluate(model, test_loader)
    weights = _save_weights(out, model, {"dataset": args.dataset, "epochs": str(args.epochs),
                                         "test_accuracy": f"{final['accuracy']:.6f}"})
    summary = {"model": args.model, "dataset": args.dataset, "data": where, "epochs": args.epochs,
               "run": record, "test_accuracy": final["accuracy"], "history": history.epochs,
               "seconds_per_epoch": float(np.mean(history.column("seconds"))),
               "images_per_second": float(np.mean(history.column("images_per_second")))}
    atomic_write(out / "history.json", lambda f: f.write(json.dumps(summary, indent=2).encode()))
    print(f"test accuracy {final['accuracy']:.2%} after {epochs}; "
          f"{summary['seconds_per_epoch']:.1f} s/epoch, {summary['images_per_second']:,.0f} images/s; "
          f"weights in {weights}")
    return 0


def _save_weights(out: Path, model, metadata: dict) -> Path:
    """OUT/model.safetensors (atomic; the model's zoo name and arguments in its metadata), or
    OUT/model.npz when the safetensors package (the ``weights`` extra) is missing."""
    from . import io
    from .io import weights

    try:
        weights._safetensors()
    except ModuleNotFoundError:
        print("convscope train: the safetensors package is missing (pip install 'convscope[weights]'); "
              "writing the weights as model.npz", file=sys.stderr)
        return io.save_state_dict(out / "model.npz", model.state_dict())
    return weights.save(model, out / "model.safetensors", metadata=metadata)


def _initial_model(args, models):
    """The zoo model, from --init-from's weights when given, with --freeze's parameters fixed."""
    try:
        model = models.get(args.model, in_channels=1, num_classes=10, weights=args.init_from)
    except (ValueError, TypeError, FileNotFoundError, ModuleNotFoundError) as exc:
        raise UserError(f"--init-from: {str(exc).removeprefix('models.get: ')}") from None
    if args.freeze:
        names = [name for name, _ in model.named_parameters()]
        for prefix in args.freeze:
            hit = [name for name in names if name == prefix or name.startswith(prefix.rstrip(".") + ".")]
            if not hit:
                tops = sorted({name.split(".")[0] for name in names}, key=lambda t: (len(t), t))
                raise UserError(f"--freeze expects a parameter name or prefix of {args.model} (its top-level "
                                f"names: {', '.join(tops)}), but got {prefix!r}")
        for name, param in model.named_parameters():
            if any(name == prefix or name.startswith(prefix.rstrip(".") + ".") for prefix in args.freeze):
                param.requires_grad = False
        if not any(p.requires_grad for p in model.parameters()):
            raise UserError("--freeze leaves no parameter to train")
    return model


class _SetLearningRate:
    """``--allow-lr-change``: once the resume has restored the optimizer, use the new rate."""

    def __init__(self, optimizer, lr: float) -> None:
        self.optimizer, self.lr = optimizer, lr

    def on_train_begin(self, model) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr


def add_parser(sub) -> None:
    """Register ``convscope train`` on the top-level subparsers.

    Examples
    --------
    >>> from convscope.cli import Parser
    >>> parser = Parser(prog="convscope")
    >>> add_parser(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["train", "--model", "lenet5", "--epochs", "2", "--out", "runs/lenet5"])
    >>> args.command, args.model, args.dataset, args.epochs, args.out, args.optimizer, args.lr
    ('train', 'lenet5', 'mnist', 2, 'runs/lenet5', 'adam', 0.001)
    >>> args.func is run
    True
    """
    train = sub.add_parser(
        "train", help="train a model from the zoo on MNIST or Fashion-MNIST",
        description="Train a zoo model, writing OUT/checkpoint.npz after every epoch and OUT/model.safetensors and "
                    "OUT/history.json at the end. One run at a time owns OUT (OUT/.convscope.lock); --resume "
                    "continues the checkpoint's run and refuses changed arguments (see below).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="--resume accepts a larger --epochs (not with --cosine) and, with --allow-lr-change, a new --lr;\n"
               "any other difference from the checkpoint's run (model, dataset, data source, optimizer,\n"
               "momentum, weight decay, cosine, augment, batch size, limit, seed) is refused.\n\n"
               "example: convscope train --model lenet5 --epochs 5 --out runs/lenet5\n"
               "         convscope train --model lenet5 --epochs 8 --out runs/lenet5 --resume\n\n"
               "exit status: 0 trained; 2 a bad argument, unusable OUT, OUT in use by another run, a missing,\n"
               "corrupt or mismatched checkpoint, missing or corrupt data, a loss that became NaN;\n"
               "130 interrupted (continue with --resume).")
    train.add_argument("--model", default="lenet5", help="a name from convscope.models.available() (default lenet5)")
    train.add_argument("--dataset", choices=DATASETS, default="mnist")
    train.add_argument("--epochs", type=int, default=5)
    train.add_argument("--data-dir", help="folder with the IDX files (default: $CONVSCOPE_DATA, else the bundled subset)")
    train.add_argument("--bundled", action="store_true", help="use the small subset shipped with convscope")
    train.add_argument("--out", required=True, help="folder for checkpoint.npz, model.safetensors and history.json")
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--optimizer", choices=("adam", "adamw", "sgd"), default="adam")
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--momentum", type=float, default=0.9, help="for sgd")
    train.add_argument("--weight-decay", type=float, default=0.0)
    train.add_argument("--cosine", action="store_true", help="cosine learning-rate schedule over the epochs")
    train.add_argument("--augment", action="store_true",
                       help="random 28x28 crops of the image padded by 2 (and horizontal flips for fashion-mnist)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    train.add_argument("--resume", action="store_true", help="continue the run in OUT from OUT/checkpoint.npz")
    train.add_argument("--init-from", metavar="WEIGHTS",
                       help="start from these weights: 'bundled' (the pretrained ones shipped with convscope), a "
                            "file of convscope.save or a PyTorch state dict (fine-tuning)")
    train.add_argument("--freeze", metavar="PREFIX", action="append", default=[],
                       help="keep the parameters under this name fixed (e.g. 0 for the first layer; repeatable)")
    train.add_argument("--allow-lr-change", action="store_true",
                       help="with --resume: continue with the new --lr instead of refusing it")
    train.add_argument("--force", action="store_true",
                       help="start over: OUT's checkpoint, weights and history are removed first")
    train.add_argument("--no-progress", action="store_true", help="print one line per epoch only")
    train.set_defaults(func=run)
