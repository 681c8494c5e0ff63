"""Time convscope's conv2d against torch.nn.functional.conv2d on a suite of real layers.

Both run in the same process with the same number of threads (default 2; ``--threads``),
NCHW float32. Reports milliseconds (best of 3 alternating blocks of ``--repeat`` runs, each
after a warm-up, so slow drifts of a shared machine hit both libraries alike), GFLOP/s
(2 * MACs / time, for the forward; 3x that for forward+backward) and the ratio
convscope / PyTorch (lower is better, 1.0 = PyTorch's speed). PyTorch is a benchmark-only
dependency: ``pip install -e .[bench]``.

    python benchmarks/conv.py                 # forward and forward+backward, whole suite
    python benchmarks/conv.py --only lenet    # layers whose name contains "lenet"
    python benchmarks/conv.py --markdown      # the table as Markdown, for the README
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import _threads  # noqa: E402,F401  (first: pins the thread counts before NumPy loads)

import numpy as np  # noqa: E402

try:
    import torch  # noqa: E402
except ImportError:  # pragma: no cover - a clear message instead of a traceback
    sys.exit("benchmarks/conv.py needs PyTorch as the reference: pip install -e '.[bench]'")

import convscope.nn.functional as F  # noqa: E402
from convscope.ops import conv as conv_ops  # noqa: E402

# name, (N, C, H, W), out_channels, kernel, stride, padding, dilation, groups
SUITE = [
    ("lenet conv1", (64, 1, 28, 28), 6, 5, 1, 0, 1, 1),
    ("lenet conv2", (64, 6, 14, 14), 16, 5, 1, 0, 1, 1),
    ("cifar 3x3", (64, 3, 32, 32), 32, 3, 1, 1, 1, 1),
    ("resnet 56x56x64", (32, 64, 56, 56), 64, 3, 1, 1, 1, 1),
    ("resnet 28x28x128", (32, 128, 28, 28), 128, 3, 1, 1, 1, 1),
    ("resnet 14x14x256", (8, 256, 14, 14), 256, 3, 1, 1, 1, 1),
    ("1x1 256->64", (32, 256, 14, 14), 64, 1, 1, 0, 1, 1),
    ("strided 3x3 s2", (32, 64, 56, 56), 128, 3, 2, 1, 1, 1),
    ("dilated 3x3 d2", (16, 64, 56, 56), 64, 3, 1, 2, 2, 1),
    ("depthwise 3x3", (32, 128, 56, 56), 128, 3, 1, 1, 1, 128),
    ("stem 7x7 s2", (16, 3, 224, 224), 64, 7, 2, 3, 1, 1),
]


def macs(shape, out_channels, k, stride, padding, dilation, groups):
    n, c, h, w = shape
    ho, wo = conv_ops.output_shape((h, w), (k, k), (stride,) * 2, ((padding, padding),) * 2, (dilation,) * 2)
    return n * out_channels * ho * wo * (c // groups) * k * k


def warm_up(fn):
    """PyTorch's oneDNN builds its kernels over the first calls for each shape (the first call can
    take 50x the steady state); run until that has settled."""
    start = time.perf_counter()
    for i in range(20):
        fn()
        if i >= 2 and time.perf_counter() - start > 0.5:
            break


def compare(ours, theirs, repeat, rounds=3):
    """Best times of two callables over ``rounds`` alternating blocks of ``repeat`` calls each.

    Blocks rather than single calls: the libraries' thread pools spin-wait after a call, so
    strict call-by-call alternation makes each fight the other's idle threads for the 2 cores.
    Alternating blocks still spreads slow drifts of a shared machine over both.
    """
    best = [math.inf, math.inf]
    for _ in range(rounds):
        for i, fn in enumerate((ours, theirs)):
            warm_up(fn)
            for _ in range(repeat):
                t0 = time.perf_counter()
                fn()
                best[i] = min(best[i], time.perf_counter() - t0)
    return best


def run_layer(spec, repeat, backward):
    name, shape, o, k, s, p, d, g = spec
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    w = rng.standard_normal((o, shape[1] // g, k, k), dtype=np.float32) * 0.1
    b = rng.standard_normal(o, dtype=np.float32)
    xt, wt, bt = (torch.from_numpy(a) for a in (x, w, b))
    row = {"name": name, "macs": macs(shape, o, k, s, p, d, g)}

    def pt_forward():
        with torch.no_grad():
            torch.nn.functional.conv2d(xt, wt, bt, s, p, d, g)

    row["fwd_cs"], row["fwd_pt"] = compare(lambda: F.conv2d(x, w, b, s, p, d, g), pt_forward, repeat)

    if backward:
        pads = ((p, p), (p, p))
        out_shape = (shape[0], o) + conv_ops.output_shape(shape[2:], (k, k), (s, s), pads, (d, d))
        gy = rng.standard_normal(out_shape, dtype=np.float32)
        gyt = torch.from_numpy(gy)

        def cs_step():
            F.conv2d(x, w, b, s, p, d, g)
            conv_ops.conv_backward(gy, x, w, (s, s), pads, (d, d), g)

        xr, wr, br = (a.clone().requires_grad_(True) for a in (xt, wt, bt))

        def pt_step():
            xr.grad = wr.grad = br.grad = None
            torch.nn.functional.conv2d(xr, wr, br, s, p, d, g).backward(gyt)

        row["bwd_cs"], row["bwd_pt"] = compare(cs_step, pt_step, repeat)
    return row


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="threads for both libraries (default 2)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per measurement (best is kept)")
    parser.add_argument("--only", default="", help="run the layers whose name contains this text")
    parser.add_argument("--forward-only", action="store_true", help="skip forward+backward")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    rows = []
    for spec in SUITE:
        if args.only in spec[0]:
            rows.append(run_layer(spec, args.repeat, not args.forward_only))
            print(f"  measured {spec[0]}", file=sys.stderr, flush=True)

    backward = not args.forward_only
    head = ["layer", "GMAC", "fwd ms", "torch ms", "fwd GFLOP/s", "fwd ratio"]
    if backward:
        head += ["fwd+bwd ms", "torch ms", "fwd+bwd ratio"]
    lines = []
    for r in rows:
        cells = [r["name"], f"{r['macs'] / 1e9:.3f}", f"{r['fwd_cs'] * 1e3:.1f}", f"{r['fwd_pt'] * 1e3:.1f}",
                 f"{2 * r['macs'] / r['fwd_cs'] / 1e9:.1f}", f"{r['fwd_cs'] / r['fwd_pt']:.2f}"]
        if backward:
            cells += [f"{r['bwd_cs'] * 1e3:.1f}", f"{r['bwd_pt'] * 1e3:.1f}", f"{r['bwd_cs'] / r['bwd_pt']:.2f}"]
        lines.append(cells)
    summary = ["geometric mean", "", "", "", "", f"{geomean([r['fwd_cs'] / r['fwd_pt'] for r in rows]):.2f}"]
    if backward:
        summary += ["", "", f"{geomean([r['bwd_cs'] / r['bwd_pt'] for r in rows]):.2f}"]
    lines.append(summary)

    print(f"convscope vs PyTorch {torch.__version__}, NCHW float32, {args.threads} threads, "
          f"best of 3 x {args.repeat}; ratio = convscope time / PyTorch time")
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|")
        for cells in lines:
            print("| " + " | ".join(cells) + " |")
    else:
        widths = [max(len(str(c)) for c in col) for col in zip(head, *lines)]
        for cells in [head] + lines:
            print("  ".join(str(c).rjust(wd) if i else str(c).ljust(wd) for i, (c, wd) in enumerate(zip(cells, widths))))


if __name__ == "__main__":
    main()
