"""The ``convscope`` command: a thin layer over the library."""

from __future__ import annotations

import argparse
import sys

from . import __version__


def _demo(args: argparse.Namespace) -> int:
    from . import demo

    return demo.run(sys.stdout)


DATASETS = ("mnist", "fashion-mnist")
# Per-dataset normalisation (mean, std of the training pixels in [0, 1]).
_NORMALIZE = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}


def _datasets(args: argparse.Namespace):
    """(train, test, where) for --dataset, from --data-dir, $CONVSCOPE_DATA or the bundled subset."""
    import os

    from . import data

    cls = data.MNIST if args.dataset == "mnist" else data.FashionMNIST
    root = args.data_dir or os.environ.get("CONVSCOPE_DATA")
    if args.bundled or not root:
        return cls.bundled(train=True), cls.bundled(train=False), "the subset bundled with convscope"
    return cls(root, train=True), cls(root, train=False), str(root)


def _train(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    import numpy as np

    from . import data, io, models, nn, optim
    from .random import manual_seed
    from .train import evaluate, fit

    out = Path(args.out)
    checkpoint = out / "checkpoint.npz"
    if args.resume and not checkpoint.is_file():
        print(f"convscope train: --resume expects a checkpoint at {checkpoint}, but there is none", file=sys.stderr)
        return 2
    if not args.resume and checkpoint.exists() and not args.force:
        print(f"convscope train: {checkpoint} exists; pass --resume to continue it or --force to start over",
              file=sys.stderr)
        return 2
    manual_seed(args.seed)
    train_set, test_set, where = _datasets(args)
    if args.limit:
        train_set = data.ArrayDataset(train_set.data[:args.limit], train_set.targets[:args.limit])
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
    model = models.get(args.model, in_channels=1, num_classes=10)
    params = list(model.parameters())
    if args.optimizer == "sgd":
        optimizer = optim.SGD(params, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    elif args.optimizer == "adamw":
        optimizer = optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    else:
        optimizer = optim.Adam(params, lr=args.lr, weight_decay=args.weight_decay)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs) if args.cosine else None
    n_params = sum(p.numel() for p in params)
    print(f"training {args.model} ({n_params:,} parameters) on {args.dataset} from {where}: "
          f"{len(train_set):,} train / {len(test_set):,} test images, {args.epochs} epochs, "
          f"batch {args.batch_size}, {args.optimizer} lr {args.lr}{', cosine' if args.cosine else ''}"
          f"{', augmented' if args.augment else ''}", file=sys.stderr)
    history = fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, args.epochs, val_loader=test_loader,
                  scheduler=scheduler, checkpoint=checkpoint, resume=args.resume,
                  progress=False if args.no_progress else None)
    final = evaluate(model, test_loader)
    io.save_state_dict(out / "model.npz", model.state_dict())
    summary = {"model": args.model, "dataset": args.dataset, "data": where, "epochs": args.epochs,
               "test_accuracy": final["accuracy"], "history": history.epochs,
               "seconds_per_epoch": float(np.mean(history.column("seconds"))),
               "images_per_second": float(np.mean(history.column("images_per_second")))}
    tmp = out / "history.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2))
    tmp.replace(out / "history.json")
    print(f"test accuracy {final['accuracy']:.2%} after {args.epochs} epochs; "
          f"{summary['seconds_per_epoch']:.1f} s/epoch, {summary['images_per_second']:,.0f} images/s; "
          f"weights in {out / 'model.npz'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convscope", description="Compute, learn and explain convolutional filters.")
    parser.add_argument("--version", action="version", version=f"convscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="the worked 4x4 example: cross-correlation vs convolution, explained")
    demo.set_defaults(func=_demo)

    train = sub.add_parser("train", help="train a model from the zoo on MNIST or Fashion-MNIST")
    train.add_argument("--model", default="lenet5", help="a name from convscope.models.available() (default lenet5)")
    train.add_argument("--dataset", choices=DATASETS, default="mnist")
    train.add_argument("--epochs", type=int, default=5)
    train.add_argument("--data-dir", help="folder with the IDX files (default: $CONVSCOPE_DATA, else the bundled subset)")
    train.add_argument("--bundled", action="store_true", help="use the small subset shipped with convscope")
    train.add_argument("--out", required=True, help="folder for checkpoint.npz, model.npz and history.json")
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
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    train.add_argument("--force", action="store_true", help="start over even if OUT/checkpoint.npz exists")
    train.add_argument("--no-progress", action="store_true", help="print one line per epoch only")
    train.set_defaults(func=_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args)
