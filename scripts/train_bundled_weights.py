"""Train the pretrained weights that ship in the package (``models.get(name, weights="bundled")``).

Runs ``convscope train`` on the full datasets (from ``--data-dir``, default ``$CONVSCOPE_DATA`` or
``../shared/data``) and writes each final model as a safetensors file in
``src/convscope/models/weights/``, with its test accuracy and the command in the file's metadata,
and the run's history next to the other runs in ``benchmarks/runs/``:

- ``lenet5-mnist.safetensors``: LeNet-5 on MNIST, 12 epochs, cosine schedule, random crops;
- ``small_vgg-fashion-mnist.safetensors``: small_vgg on Fashion-MNIST, cosine schedule.

    python scripts/train_bundled_weights.py [--only lenet5] [--epochs-vgg 4]
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "src" / "convscope" / "models" / "weights"


def run(model: str, dataset: str, epochs: int, augment: bool, data_dir: str, work: Path) -> None:
    import numpy as np

    import convscope
    from convscope import io
    out = work / f"{model}-{dataset}"
    command = [sys.executable, "-m", "convscope", "train", "--model", model, "--dataset", dataset,
               "--data-dir", data_dir, "--epochs", str(epochs), "--cosine", "--out", str(out), "--force"]
    if augment:
        command.append("--augment")
    subprocess.run(command, check=True)
    accuracy = json.loads((out / "history.json").read_text())["test_accuracy"]
    state = convscope.io.weights.load_state_dict(out / "model.safetensors")
    target = OUT / f"{model}-{dataset}.safetensors"
    shown = " ".join(["convscope"] + command[3:]).replace(str(out), f"runs/{model}-{dataset}").replace(data_dir, "DATA")
    convscope.save({k: np.asarray(v) for k, v in state.items()}, target, model=model, model_args={},
                   metadata={"dataset": dataset, "test_accuracy": f"{accuracy:.4f}", "epochs": str(epochs),
                             "command": shown})
    record = REPO / "benchmarks" / "runs" / f"{model}-{dataset}-bundled.json"
    summary = json.loads((out / "history.json").read_text())
    summary["data"] = os.path.relpath(data_dir, REPO)        # no path of this machine in the repo
    record.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{target.relative_to(REPO)}: test accuracy {accuracy:.4f} ({target.stat().st_size / 1e6:.2f} MB)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("CONVSCOPE_DATA", str(REPO.parent / "shared" / "data")))
    parser.add_argument("--only", choices=["lenet5", "small_vgg"])
    parser.add_argument("--epochs-vgg", type=int, default=4)
    parser.add_argument("--work", default=str(REPO / "runs"))
    args = parser.parse_args(argv)
    work = Path(args.work)
    if args.only in (None, "lenet5"):
        run("lenet5", "mnist", 12, True, args.data_dir, work)
    if args.only in (None, "small_vgg"):
        run("small_vgg", "fashion-mnist", args.epochs_vgg, False, args.data_dir, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
