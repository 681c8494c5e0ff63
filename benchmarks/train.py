"""Training throughput (images/s) of convscope against PyTorch on the same architectures.

Each model trains for ``--steps`` optimizer steps (Adam, batch 64, cross-entropy) on 28x28 inputs
in both libraries, in the same process and with the same number of threads (default 2). The two
libraries alternate in blocks, and the best block of each is kept, so drifts of a shared machine
hit both alike. PyTorch is a benchmark-only dependency (``pip install -e .[bench]``).

    python benchmarks/train.py                     # lenet5 and small_vgg
    python benchmarks/train.py --models lenet5 --steps 50
"""

from __future__ import annotations

import argparse
import sys
import time

import _threads  # noqa: E402,F401  (first: pins the thread counts before NumPy loads)

import numpy as np  # noqa: E402

try:
    import torch  # noqa: E402
except ImportError:  # pragma: no cover
    sys.exit("benchmarks/train.py needs PyTorch as the reference: pip install -e '.[bench]'")

import convscope  # noqa: E402
from convscope import models, nn, optim  # noqa: E402

tnn = torch.nn


def torch_twin(name: str):
    """The same architecture in PyTorch, with state_dict keys equal to convscope's."""
    if name == "lenet5":
        return tnn.Sequential(
            tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
            tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
            tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10))
    if name == "simple_cnn":
        return tnn.Sequential(tnn.Conv2d(1, 32, 3), tnn.ReLU(), tnn.MaxPool2d(2, 2), tnn.Flatten(),
                              tnn.Linear(32 * 13 * 13, 10))
    if name == "small_vgg":
        w = 32

        def block(cin, cout):
            return [tnn.Conv2d(cin, cout, 3, padding=1, bias=False), tnn.BatchNorm2d(cout), tnn.ReLU()]

        return tnn.Sequential(*block(1, w), *block(w, w), tnn.MaxPool2d(2), *block(w, 2 * w), *block(2 * w, 2 * w),
                              tnn.MaxPool2d(2), tnn.Flatten(), tnn.Dropout(0.3), tnn.Linear(2 * w * 49, 128),
                              tnn.ReLU(), tnn.Linear(128, 10))
    raise SystemExit(f"no PyTorch twin for {name}")


def images_per_second(step, steps: int, batch: int, blocks: int = 3) -> float:
    step()
    step()
    best = float("inf")
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, time.perf_counter() - t0)
    return steps * batch / best


def measure(name: str, steps: int, batch: int):
    rng = np.random.default_rng(0)
    x = rng.random((batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    convscope.manual_seed(0)
    cs = models.get(name)
    pt = torch_twin(name)
    pt.load_state_dict({k: torch.tensor(v) for k, v in cs.state_dict().items()})
    cs_opt, pt_opt = optim.Adam(cs.parameters()), torch.optim.Adam(pt.parameters())
    cs_loss, pt_loss = nn.CrossEntropyLoss(), tnn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def cs_step():
        loss = cs_loss(cs(x), y)
        cs_opt.zero_grad()
        loss.backward()
        cs_opt.step()

    def pt_step():
        loss = pt_loss(pt(xt), yt)
        pt_opt.zero_grad()
        loss.backward()
        pt_opt.step()

    return images_per_second(cs_step, steps, batch), images_per_second(pt_step, steps, batch)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["lenet5", "small_vgg"])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"training throughput, batch {args.batch_size}, Adam, {args.threads} threads, "
          f"best of 3 blocks of {args.steps} steps; PyTorch {torch.__version__}")
    print("| model | convscope images/s | PyTorch images/s | PyTorch / convscope |")
    print("|---|---:|---:|---:|")
    for name in args.models:
        ours, theirs = measure(name, args.steps, args.batch_size)
        print(f"| {name} | {ours:,.0f} | {theirs:,.0f} | {theirs / ours:.2f} |", flush=True)


if __name__ == "__main__":
    main()
