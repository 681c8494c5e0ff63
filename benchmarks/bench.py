"""The whole benchmark table in one run: conv layers, training steps and image filters, as JSON.

Every case runs convscope and its reference in the same process with the same threads (default
2; ``--threads``: the BLAS/OpenMP environment, ``torch.set_num_threads``, ``cv2.setNumThreads``
and ``convscope.backend.set_num_threads``). The ratio is convscope time / reference time: lower is
better, 1.0 = the reference's speed.

Sections (``--only conv,train,filters``; default all three)

``conv``
    conv.py's SUITE of 11 layers, NCHW float32: ``convscope.nn.functional.conv2d`` against
    ``torch.nn.functional.conv2d`` under ``no_grad``, and forward+backward (convscope's conv2d
    then ``convscope.ops.conv.conv_backward``; torch's conv2d then ``.backward(gy)``). Each row
    records the algorithm convscope ran for every pass (``convscope.backend.algorithm_log``).
``train``
    Optimizer steps (Adam, cross-entropy, batch 64, 28x28 inputs) of ``lenet5``, ``simple_cnn``
    and ``small_vgg`` against the same PyTorch architectures (train.py's ``torch_twin``, loaded
    with convscope's initial weights); time per step.
``filters``
    A ``--size`` x ``--size`` float32 image (default 2048, uniform noise) filtered by
    ``convscope.filters.apply(image, kernel, boundary='symm')`` (mirror with the edge repeated,
    which is OpenCV's BORDER_REFLECT and SciPy's 'symm'): separable kernels (Sobel 3x3, Gaussian
    5x5, 15x15, 31x31) against ``cv2.sepFilter2D`` with the 1-D factors, non-separable random
    kernels (3x3 ... 31x31, fixed seed) against ``cv2.filter2D``, and every kernel against
    ``scipy.signal.convolve2d`` (flipped kernel, 'same', 'symm'; single-threaded; ``--no-scipy``,
    ``--scipy-max-taps``).

Every case is first checked (convscope's numbers against the reference's, relative to the largest
output; a disagreement is reported in the table, on stderr and in the JSON), then warmed up on
both sides (oneDNN builds its kernels over the first calls of each shape; numba compiles on the
first call), then timed: ``--rounds`` rounds of alternating blocks, each block ``--repeat`` calls
of one library; the reported time is the MEDIAN of all per-call times of a library. A reference
whose first call takes over 1 s (SciPy with large kernels) is timed by that single run. Peak
memory is measured apart from the timing, in one more convscope call under ``tracemalloc`` (which
NumPy reports its allocations to) with convscope's scratch cache emptied first: the most memory
the call allocated at once, its inputs excluded. The process's max RSS is recorded at the end.

    python benchmarks/bench.py                        # everything, JSON in benchmarks/runs/
    python benchmarks/bench.py --only conv --markdown
    python benchmarks/bench.py --quick --json /tmp/b.json       # seconds: a smoke run
    python benchmarks/bench.py --compare benchmarks/runs/old.json
    python benchmarks/bench.py --compare old.json new.json      # no measuring: compare two runs

Exit status: 0; 1 with ``--strict`` when a case disagreed with its reference; 2 when a reference
library (PyTorch, OpenCV, SciPy) is missing or an argument is wrong.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(HERE) not in sys.path:            # run from anywhere: the sibling modules live here
    sys.path.insert(0, str(HERE))

import _threads  # noqa: E402,F401  (first: pins the thread counts before NumPy loads)

import argparse  # noqa: E402
import datetime as _dt  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

SECTIONS = ("conv", "train", "filters")
TRAIN_MODELS = ("lenet5", "simple_cnn", "small_vgg")
SLOW_SECONDS = 1.0          # a reference slower than this per call is timed by one run
RTOL = 1e-4                 # agreement: max |ours - theirs| <= RTOL * max(1, max |theirs|)
SCHEMA = 1


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- libraries

def _need(module: str, what: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        print(f"benchmarks/bench.py: {what} is not installed (pip install -e '.[bench]')", file=sys.stderr)
        sys.exit(2)


def _version(module_name: str, *dist_names: str) -> str | None:
    """The module's ``__version__`` if it is loaded, else its installed distribution's (not
    importing it: cv2 and numba start threads of their own), else None."""
    module = sys.modules.get(module_name)
    if module is not None and getattr(module, "__version__", None):
        return str(module.__version__)
    from importlib import metadata
    for dist in dist_names or (module_name,):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


# --------------------------------------------------------------------------- timing

class Timing:
    """How cases are warmed up and timed (``--quick`` makes it minimal)."""

    def __init__(self, rounds: int, repeat: int, warm_calls: int, warm_seconds: float):
        self.rounds, self.repeat = rounds, repeat
        self.warm_calls, self.warm_seconds = warm_calls, warm_seconds

    def warm_up(self, fn, done: int = 1) -> None:
        """``done`` calls were made already (the check); make at least ``warm_calls`` in all, and
        more (up to 20) until ``warm_seconds`` have passed."""
        start = time.perf_counter()
        for i in range(done, 20):
            if i >= self.warm_calls and time.perf_counter() - start >= self.warm_seconds:
                break
            fn()

    def measure(self, fns: dict, first_s: dict, single_if_slow=()) -> dict:
        """Median seconds per call of each callable, over alternating blocks.

        ``fns``: name -> callable, the first being convscope; each was called once already (to
        check its numbers), taking ``first_s[name]`` seconds. Each is warmed up, then each round
        runs a block of ``repeat`` calls of every callable in turn. A callable named in
        ``single_if_slow`` whose first call took over SLOW_SECONDS is timed by that call alone.
        """
        times = {name: [] for name in fns}
        single = {name for name in fns if name in single_if_slow and first_s[name] > SLOW_SECONDS}
        for name, fn in fns.items():
            if name in single:
                times[name].append(first_s[name])
            else:
                self.warm_up(fn)
        for _ in range(self.rounds):
            for name, fn in fns.items():
                if name in single:
                    continue
                for _ in range(self.repeat):
                    t0 = time.perf_counter()
                    fn()
                    times[name].append(time.perf_counter() - t0)
        return {name: {"median_s": statistics.median(ts), "min_s": min(ts), "runs": len(ts),
                       "single_run": name in single, "times_s": ts} for name, ts in times.items()}


def timed(fn):
    """``(fn(), seconds)``."""
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def peak_mib(fn, backend) -> float:
    """The most memory one call of ``fn`` allocated at once (tracemalloc), scratch cache emptied."""
    backend.release_scratch()       # (no gc.collect(): it takes 0.3 s with torch loaded, and memory
    tracemalloc.start()             # allocated before tracing starts is not counted anyway)
    try:
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak / 2**20


def rel_err(got, want) -> float:
    """max |got - want| / max(1, max |want|)."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return math.inf
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    return float(np.abs(got - want).max(initial=0.0)) / scale


def geomean(values) -> float | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def summarize(rows, ratio_of) -> dict:
    """Geometric mean, worst row and the count above 2.0 of ``ratio_of(row)`` (None: skipped)."""
    pairs = [(row["name"], ratio_of(row)) for row in rows]
    pairs = [(name, r) for name, r in pairs if r is not None]
    if not pairs:
        return {"geomean": None, "worst": None, "worst_ratio": None, "above_2": 0, "count": 0}
    worst = max(pairs, key=lambda p: p[1])
    return {"geomean": geomean(r for _, r in pairs), "worst": worst[0], "worst_ratio": worst[1],
            "above_2": sum(r > 2.0 for _, r in pairs), "count": len(pairs)}


def _unique(items):
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


# --------------------------------------------------------------------------- conv

def conv_section(args, timing: Timing, libs) -> dict:
    torch, backend = libs["torch"], libs["backend"]
    from conv import SUITE, macs
    import convscope.nn.functional as F
    from convscope.ops import conv as conv_ops

    rows = []
    for index, spec in enumerate(SUITE, 1):
        name, shape, o, k, s, p, d, g = spec
        if args.quick:              # tiny: 1 sample, at most 12x12 and 32 channels (depthwise stays so)
            c = min(shape[1], 32)
            o, g = min(o, 32), (c if g == shape[1] else 1)
            shape = (1, c, min(shape[2], 12), min(shape[3], 12))
        rng = np.random.default_rng(0)
        x = rng.standard_normal(shape, dtype=np.float32)
        w = rng.standard_normal((o, shape[1] // g, k, k), dtype=np.float32) * 0.1
        b = rng.standard_normal(o, dtype=np.float32)
        pads = ((p, p), (p, p))
        out_shape = (shape[0], o) + conv_ops.output_shape(shape[2:], (k, k), (s, s), pads, (d, d))
        gy = rng.standard_normal(out_shape, dtype=np.float32)
        xt, wt, bt, gyt = (torch.from_numpy(a) for a in (x, w, b, gy))
        xr, wr, br = (a.clone().requires_grad_(True) for a in (xt, wt, bt))
        row = {"name": name, "shape": list(shape), "out_channels": o, "kernel": k, "stride": s, "padding": p,
               "dilation": d, "groups": g, "output_shape": list(out_shape),
               "macs": macs(shape, o, k, s, p, d, g)}

        def cs_forward():
            return F.conv2d(x, w, b, s, p, d, g)

        def pt_forward():
            with torch.no_grad():
                return torch.nn.functional.conv2d(xt, wt, bt, s, p, d, g)

        def cs_step():
            F.conv2d(x, w, b, s, p, d, g)
            return conv_ops.conv_backward(gy, x, w, (s, s), pads, (d, d), g)

        def pt_step():
            xr.grad = wr.grad = br.grad = None
            torch.nn.functional.conv2d(xr, wr, br, s, p, d, g).backward(gyt)
            return xr.grad, wr.grad, br.grad

        # forward: check (and which algorithm ran), time, peak memory
        first = {}
        with backend.algorithm_log() as passes:
            y, first["convscope"] = timed(cs_forward)
        want, first["torch"] = timed(pt_forward)
        err = rel_err(y, want.numpy())
        t = timing.measure({"convscope": cs_forward, "torch": pt_forward}, first)
        row["forward"] = {
            "convscope_s": t["convscope"]["median_s"], "torch_s": t["torch"]["median_s"],
            "ratio": t["convscope"]["median_s"] / t["torch"]["median_s"],
            "algorithm": _unique(a for _, kind, a in passes if kind == "forward"),
            "max_rel_err": err, "agrees": err <= RTOL, "peak_mib": peak_mib(cs_forward, backend), "timing": t}
        row["forward"]["algorithm"] = "+".join(row["forward"]["algorithm"]) or None
        log(f"  [conv {index}/{len(SUITE)}] {name} forward: {_ms(t['convscope'])} vs torch {_ms(t['torch'])}, "
            f"ratio {row['forward']['ratio']:.2f} ({row['forward']['algorithm']})")

        # forward + backward
        with backend.algorithm_log() as passes:
            grads, first["convscope"] = timed(cs_step)
        want, first["torch"] = timed(pt_step)
        err = max(rel_err(gc_, gt.numpy()) for gc_, gt in zip(grads, want))
        t = timing.measure({"convscope": cs_step, "torch": pt_step}, first)
        algorithms = {}
        for _, kind, a in passes:
            algorithms.setdefault(kind, [])
            if a not in algorithms[kind]:
                algorithms[kind].append(a)
        row["forward_backward"] = {
            "convscope_s": t["convscope"]["median_s"], "torch_s": t["torch"]["median_s"],
            "ratio": t["convscope"]["median_s"] / t["torch"]["median_s"],
            "algorithms": {kind: "+".join(a) for kind, a in algorithms.items()},
            "max_rel_err": err, "agrees": err <= RTOL, "peak_mib": peak_mib(cs_step, backend), "timing": t}
        log(f"  [conv {index}/{len(SUITE)}] {name} fwd+bwd: {_ms(t['convscope'])} vs torch {_ms(t['torch'])}, "
            f"ratio {row['forward_backward']['ratio']:.2f} {row['forward_backward']['algorithms']}")
        rows.append(row)
    return {"rows": rows, "summary": {
        "forward": summarize(rows, lambda r: r["forward"]["ratio"]),
        "forward_backward": summarize(rows, lambda r: r["forward_backward"]["ratio"])}}


def _ms(t: dict) -> str:
    return f"{t['median_s'] * 1e3:.2f} ms"


# --------------------------------------------------------------------------- train

def train_section(args, timing: Timing, libs) -> dict:
    torch, backend = libs["torch"], libs["backend"]
    from train import torch_twin
    import convscope
    from convscope import models, nn, optim

    rows = []
    for index, name in enumerate(TRAIN_MODELS, 1):
        batch = args.batch_size
        rng = np.random.default_rng(0)
        x = rng.random((batch, 1, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, batch)
        convscope.manual_seed(0)
        torch.manual_seed(0)
        cs = models.get(name)
        pt = torch_twin(name)
        pt.load_state_dict({k: torch.tensor(v) for k, v in cs.state_dict().items()})
        cs_opt, pt_opt = optim.Adam(cs.parameters()), torch.optim.Adam(pt.parameters())
        cs_loss, pt_loss = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
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

        first = {}
        with backend.algorithm_log() as passes:
            _, first["convscope"] = timed(cs_step)
        _, first["torch"] = timed(pt_step)
        t = timing.measure({"convscope": cs_step, "torch": pt_step}, first)
        ratio = t["convscope"]["median_s"] / t["torch"]["median_s"]
        row = {"name": name, "batch": batch, "convscope_s": t["convscope"]["median_s"],
               "torch_s": t["torch"]["median_s"], "ratio": ratio,
               "convscope_images_per_s": batch / t["convscope"]["median_s"],
               "torch_images_per_s": batch / t["torch"]["median_s"],
               "algorithms": [list(p) for p in _unique(passes)],
               "peak_mib": peak_mib(cs_step, backend), "timing": t}
        rows.append(row)
        log(f"  [train {index}/{len(TRAIN_MODELS)}] {name}: {_ms(t['convscope'])} vs torch {_ms(t['torch'])} "
            f"per step, ratio {ratio:.2f}")
    return {"rows": rows, "summary": {"step": summarize(rows, lambda r: r["ratio"])}}


# --------------------------------------------------------------------------- filters

def _gaussian_1d(sigma: float, size: int) -> np.ndarray:
    x = np.arange(size) - size // 2
    g = np.exp(-0.5 * (x / sigma) ** 2)
    return g / g.sum()


def filter_kernels():
    """(name, 2-D kernel, (column, row) factors or None), all float32."""
    out = [("Sobel 3x3", np.array([1.0, 2.0, 1.0]), np.array([-1.0, 0.0, 1.0]))]
    for size, sigma in ((5, 1.0), (15, 2.5), (31, 5.0)):
        g = _gaussian_1d(sigma, size)
        out.append((f"Gaussian {size}x{size}", g, g))
    kernels = [(name, np.outer(col, row).astype(np.float32), (col.astype(np.float32), row.astype(np.float32)))
               for name, col, row in out]
    rng = np.random.default_rng(1234)
    for size in (3, 5, 9, 15, 31):
        kernels.append((f"random {size}x{size}", rng.standard_normal((size, size)).astype(np.float32), None))
    return kernels


def filters_section(args, timing: Timing, libs) -> dict:
    cv2, signal, backend = libs["cv2"], libs["scipy_signal"], libs["backend"]
    from convscope.filters import apply
    from convscope.filters.convolve import choose_method

    rng = np.random.default_rng(0)
    image = rng.random((args.size, args.size), dtype=np.float32)
    kernels = filter_kernels()
    rows = []
    for index, (name, kernel, factors) in enumerate(kernels, 1):
        def ours(kernel=kernel):
            return apply(image, kernel, boundary="symm")

        refs = {}
        if factors is not None:
            col, row_ = factors
            refs["cv2.sepFilter2D"] = lambda col=col, row_=row_: cv2.sepFilter2D(
                image, -1, row_, col, borderType=cv2.BORDER_REFLECT)
        else:
            refs["cv2.filter2D"] = lambda kernel=kernel: cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT)
        taps = kernel.size
        scipy_skipped = None
        if signal is None:
            scipy_skipped = "--no-scipy"
        elif taps > args.scipy_max_taps:
            scipy_skipped = f"{taps} taps > --scipy-max-taps {args.scipy_max_taps}"
        else:
            flipped = np.ascontiguousarray(kernel[::-1, ::-1])
            refs["scipy.signal.convolve2d"] = lambda flipped=flipped: signal.convolve2d(
                image, flipped, mode="same", boundary="symm")

        first = {}
        got, first["convscope"] = timed(ours)
        references = {}
        for ref, fn in refs.items():
            want, first[ref] = timed(fn)
            err = rel_err(got, want)
            references[ref] = {"max_rel_err": err, "agrees": err <= RTOL}
        t = timing.measure({"convscope": ours, **refs}, first, single_if_slow=set(refs))
        for ref in refs:
            references[ref].update(time_s=t[ref]["median_s"], runs=t[ref]["runs"], single_run=t[ref]["single_run"],
                                   ratio=t["convscope"]["median_s"] / t[ref]["median_s"])
        row = {"name": name, "kernel_shape": list(kernel.shape), "separable": factors is not None,
               "method": choose_method(kernel, image.shape), "convscope_s": t["convscope"]["median_s"],
               "references": references, "scipy_skipped": scipy_skipped,
               "peak_mib": peak_mib(ours, backend), "timing": t}
        rows.append(row)
        log(f"  [filters {index}/{len(kernels)}] {name} ({row['method']}): {_ms(t['convscope'])}; "
            + ", ".join(f"{ref} {v['time_s'] * 1e3:.2f} ms (ratio {v['ratio']:.2f})" for ref, v in references.items()))

    def ratio_for(kind):
        def pick(row):
            for ref, v in row["references"].items():
                if (kind == "cv2" and ref.startswith("cv2.")) or ref == kind:
                    return v["ratio"]
            return None
        return pick

    return {"image": [args.size, args.size], "boundary": "symm (cv2.BORDER_REFLECT, scipy 'symm')",
            "rows": rows, "summary": {"cv2": summarize(rows, ratio_for("cv2")),
                                      "scipy.signal.convolve2d": summarize(rows, ratio_for("scipy.signal.convolve2d"))}}


# --------------------------------------------------------------------------- tables

def print_table(title: str, head, lines, markdown: bool, text_cols: int = 1) -> None:
    print()
    print(("### " if markdown else "") + title)
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---" if i < text_cols else "---:" for i in range(len(head))) + "|")
        for cells in lines:
            print("| " + " | ".join(cells) + " |")
    else:
        widths = [max(len(str(c)) for c in col) for col in zip(head, *lines)]
        for cells in [head] + lines:
            print("  ".join(str(c).rjust(wd) if i >= text_cols else str(c).ljust(wd)
                            for i, (c, wd) in enumerate(zip(cells, widths))).rstrip())
    sys.stdout.flush()


def _r(value) -> str:
    """A ratio: two decimals, two significant digits below 0.1 (0.0031, not 0.00)."""
    if value is None:
        return "-"
    return f"{value:.2f}" if value >= 0.095 else f"{value:.2g}"


def _flag(case: dict) -> str:
    return "" if case.get("agrees", True) else " !"


def _summary_line(label: str, summary: dict) -> str:
    if not summary["count"]:
        return f"{label}: no rows"
    return (f"{label}: geometric mean {summary['geomean']:.2f}, worst {summary['worst']} "
            f"{summary['worst_ratio']:.2f}, {summary['above_2']} of {summary['count']} above 2.0")


def print_conv(section: dict, meta: dict, markdown: bool) -> None:
    head = ["layer", "GMAC", "fwd ms", "torch ms", "fwd ratio", "fwd algo", "fwd MiB",
            "f+b ms", "torch ms", "f+b ratio", "bwd algos (input/weight)", "f+b MiB"]
    lines = []
    for r in section["rows"]:
        f, fb = r["forward"], r["forward_backward"]
        bwd = "/".join(fb["algorithms"].get(k, "-") for k in ("input_grad", "weight_grad"))
        lines.append([r["name"], f"{r['macs'] / 1e9:.3f}", f"{f['convscope_s'] * 1e3:.2f}", f"{f['torch_s'] * 1e3:.2f}",
                      _r(f["ratio"]) + _flag(f), f["algorithm"] or "-", f"{f['peak_mib']:.1f}",
                      f"{fb['convscope_s'] * 1e3:.2f}", f"{fb['torch_s'] * 1e3:.2f}", _r(fb["ratio"]) + _flag(fb),
                      bwd, f"{fb['peak_mib']:.1f}"])
    s = section["summary"]
    lines.append(["geometric mean", "", "", "", _r(s["forward"]["geomean"]), "", "", "", "",
                  _r(s["forward_backward"]["geomean"]), "", ""])
    lines.append(["layers above 2.0", "", "", "", str(s["forward"]["above_2"]), "", "", "", "",
                  str(s["forward_backward"]["above_2"]), "", ""])
    print_table(f"conv2d: convscope vs PyTorch {meta['versions']['torch']}, NCHW float32, {meta['threads']} threads, "
                f"median of {meta['settings']['rounds']} x {meta['settings']['repeat']}; ratio = convscope / PyTorch",
                head, lines, markdown)
    print(_summary_line("forward", s["forward"]))
    print(_summary_line("forward+backward", s["forward_backward"]))


def print_train(section: dict, meta: dict, markdown: bool) -> None:
    head = ["model", "batch", "convscope ms/step", "torch ms/step", "ratio", "convscope img/s", "torch img/s",
            "peak MiB"]
    lines = [[r["name"], str(r["batch"]), f"{r['convscope_s'] * 1e3:.1f}", f"{r['torch_s'] * 1e3:.1f}", _r(r["ratio"]),
              f"{r['convscope_images_per_s']:,.0f}", f"{r['torch_images_per_s']:,.0f}", f"{r['peak_mib']:.1f}"]
             for r in section["rows"]]
    s = section["summary"]["step"]
    lines.append(["geometric mean", "", "", "", _r(s["geomean"]), "", "", ""])
    lines.append(["models above 2.0", "", "", "", str(s["above_2"]), "", "", ""])
    print_table(f"training step (Adam, cross-entropy, 28x28): convscope vs PyTorch, {meta['threads']} threads, "
                f"median of {meta['settings']['rounds']} x {meta['settings']['repeat']} steps; "
                "ratio = convscope / PyTorch",
                head, lines, markdown)
    print(_summary_line("training step", s))


def print_filters(section: dict, meta: dict, markdown: bool) -> None:
    head = ["kernel", "method", "convscope ms", "cv2 ms", "cv2 ratio", "scipy ms", "scipy ratio", "peak MiB"]
    lines = []
    for r in section["rows"]:
        cv = next(v for ref, v in r["references"].items() if ref.startswith("cv2."))
        cv_name = next(ref for ref in r["references"] if ref.startswith("cv2."))
        sp = r["references"].get("scipy.signal.convolve2d")
        lines.append([r["name"], r["method"], f"{r['convscope_s'] * 1e3:.2f}",
                      f"{cv['time_s'] * 1e3:.2f} ({cv_name[4:]})", _r(cv["ratio"]) + _flag(cv),
                      "-" if sp is None else f"{sp['time_s'] * 1e3:.1f}" + (" (1 run)" if sp["single_run"] else ""),
                      "-" if sp is None else _r(sp["ratio"]) + _flag(sp), f"{r['peak_mib']:.1f}"])
    s = section["summary"]
    lines.append(["geometric mean", "", "", "", _r(s["cv2"]["geomean"]), "",
                  _r(s["scipy.signal.convolve2d"]["geomean"]), ""])
    lines.append(["kernels above 2.0", "", "", "", str(s["cv2"]["above_2"]), "",
                  str(s["scipy.signal.convolve2d"]["above_2"]), ""])
    n = section["image"][0]
    print_table(f"image filters: convscope apply vs OpenCV {meta['versions']['cv2']} and SciPy "
                f"{meta['versions']['scipy']}, {n}x{n} float32, mirror boundary (BORDER_REFLECT / 'symm'), "
                f"{meta['threads']} threads (SciPy: 1), median of {meta['settings']['rounds']} x "
                f"{meta['settings']['repeat']}; ratio = convscope / reference", head, lines, markdown)
    print(_summary_line("vs OpenCV", s["cv2"]))
    print(_summary_line("vs scipy.signal.convolve2d", s["scipy.signal.convolve2d"]))


PRINTERS = {"conv": print_conv, "train": print_train, "filters": print_filters}


# --------------------------------------------------------------------------- compare

def flat_ratios(doc: dict) -> dict:
    """(section, row, variant) -> ratio for every row of a bench JSON."""
    out = {}
    sections = doc.get("sections", {})
    for r in sections.get("conv", {}).get("rows", []):
        out[("conv", r["name"], "forward")] = r["forward"]["ratio"]
        out[("conv", r["name"], "forward+backward")] = r["forward_backward"]["ratio"]
    for r in sections.get("train", {}).get("rows", []):
        out[("train", r["name"], "step")] = r["ratio"]
    for r in sections.get("filters", {}).get("rows", []):
        for ref, v in r["references"].items():
            out[("filters", r["name"], ref)] = v["ratio"]
    for name, section in sections.items():
        for variant, s in section.get("summary", {}).items():
            if s.get("geomean") is not None:
                out[(name, "geometric mean", variant.replace("_", "+"))] = s["geomean"]
    return out


def print_compare(old: dict, new: dict, old_name: str, new_name: str, markdown: bool) -> None:
    a, b = flat_ratios(old), flat_ratios(new)
    shared = set(old.get("sections", {})) & set(new.get("sections", {}))      # --only runs: their sections
    keys = [k for k in list(b) + [k for k in a if k not in b] if k[0] in shared]
    lines = []
    for key in keys:
        ra, rb = a.get(key), b.get(key)
        change = "-" if ra is None or rb is None else f"{(rb / ra - 1) * 100:+.0f}%"
        lines.append([key[0], key[1], key[2], _r(ra), _r(rb), change])
    print_table(f"ratio changes (convscope / reference; lower is better): {old_name} ({_commit_of(old)}) -> "
                f"{new_name} ({_commit_of(new)})", ["section", "row", "variant", "old", "new", "change"], lines,
                markdown, text_cols=3)
    keys = ("quick", "size", "batch_size", "rounds", "repeat")
    olds, news = old.get("metadata", {}).get("settings", {}), new.get("metadata", {}).get("settings", {})
    differ = [f"{k} {olds.get(k)} -> {news.get(k)}" for k in keys if olds.get(k) != news.get(k)]
    if old.get("metadata", {}).get("threads") != new.get("metadata", {}).get("threads"):
        differ.append(f"threads {old['metadata'].get('threads')} -> {new['metadata'].get('threads')}")
    if differ:
        print(f"note: the runs differ in their settings ({'; '.join(differ)}), so rows may not be comparable")


def _commit_of(doc: dict) -> str:
    meta = doc.get("metadata", {})
    return f"{meta.get('git_commit') or '?'}{'+dirty' if meta.get('git_dirty') else ''}, {meta.get('date', '?')}"


def load_json(path: str) -> dict:
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"benchmarks/bench.py: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(2)
    if not isinstance(doc, dict) or "sections" not in doc:
        print(f"benchmarks/bench.py: {path} is not a bench.py result (no 'sections')", file=sys.stderr)
        sys.exit(2)
    return doc


# --------------------------------------------------------------------------- metadata, output

def _git(*cmd) -> str | None:
    try:
        done = subprocess.run(["git", *cmd], cwd=REPO, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def metadata(args, backend) -> dict:
    now = _dt.datetime.now(_dt.timezone.utc)
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "date": now.isoformat(timespec="seconds"),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": None if status is None else bool(status),
        "command": [Path(sys.executable).name] + sys.argv,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {"convscope": _version("convscope"), "numpy": _version("numpy"), "torch": _version("torch"),
                     "cv2": _version("cv2", "opencv-python-headless", "opencv-python", "opencv-contrib-python",
                                        "opencv-contrib-python-headless"), "scipy": _version("scipy"),
                     "numba": _version("numba")},
        "threads": args.threads,
        "cpu_model": _cpu_model(),
        "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "compiled_available": backend.compiled_available(),
        "settings": {"rounds": args.rounds, "repeat": args.repeat, "quick": args.quick, "size": args.size,
                     "batch_size": args.batch_size, "sections": list(args.sections), "scipy": not args.no_scipy,
                     "scipy_max_taps": args.scipy_max_taps, "rtol": RTOL, "slow_reference_seconds": SLOW_SECONDS,
                     "timing": "median of all per-call times over rounds of alternating blocks of repeat calls, "
                               "after a warm-up; peak memory from one separate tracemalloc'd convscope call"},
        "_stamp": now.strftime("%Y%m%dT%H%M%SZ"),
    }


def write_json(path: Path, doc: dict) -> None:
    """Write ``doc`` to ``path`` atomically: a temporary file in the same folder, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)             # mkstemp makes 0600; a result file is a normal file
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=1, allow_nan=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def disagreements(doc: dict) -> list[str]:
    out = []
    sections = doc["sections"]
    for r in sections.get("conv", {}).get("rows", []):
        for variant in ("forward", "forward_backward"):
            if not r[variant]["agrees"]:
                out.append(f"conv {r['name']} {variant}: max relative error {r[variant]['max_rel_err']:.3g}")
    for r in sections.get("filters", {}).get("rows", []):
        for ref, v in r["references"].items():
            if not v["agrees"]:
                out.append(f"filters {r['name']} vs {ref}: max relative error {v['max_rel_err']:.3g}")
    return out


# --------------------------------------------------------------------------- main

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="threads for every library (default 2)")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help="comma-separated sections to run: conv, train, filters (default all)")
    parser.add_argument("--rounds", type=int, default=None, help="alternating blocks per library (default 5)")
    parser.add_argument("--repeat", type=int, default=None, help="timed calls per block (default 3)")
    parser.add_argument("--size", type=int, default=None, help="filter image side in pixels (default 2048)")
    parser.add_argument("--batch-size", type=int, default=None, help="training batch (default 64)")
    parser.add_argument("--no-scipy", action="store_true", help="skip scipy.signal.convolve2d in the filters")
    parser.add_argument("--scipy-max-taps", type=int, default=31 * 31,
                        help="skip SciPy for kernels with more taps than this (default 961: none skipped)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: tiny conv layers, 256x256 image, batch 8, 1 round of 1 call, "
                             "2 steps per model")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--json", metavar="PATH", default=None,
                        help="where to write the results (default benchmarks/runs/bench-<commit>-<UTC date>.json)")
    parser.add_argument("--compare", nargs="+", metavar="JSON",
                        help="OLD.json: print ratio changes vs that run after measuring; OLD.json NEW.json: "
                             "compare two runs without measuring")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a case disagrees with its reference")
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in args.sections if s not in SECTIONS]
    if bad or not args.sections:
        parser.error(f"--only expects sections from {', '.join(SECTIONS)}, but got {args.only!r}")
    if args.compare and len(args.compare) > 2:
        parser.error("--compare takes OLD.json, or OLD.json NEW.json")
    defaults = (dict(rounds=1, repeat=1, size=256, batch_size=8) if args.quick
                else dict(rounds=5, repeat=3, size=2048, batch_size=64))
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for key in ("threads", "rounds", "repeat", "size", "batch_size", "scipy_max_taps"):
        if getattr(args, key) < 1:
            parser.error(f"--{key.replace('_', '-')} expects a positive integer, but got {getattr(args, key)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.compare and len(args.compare) == 2:
        print_compare(load_json(args.compare[0]), load_json(args.compare[1]), args.compare[0], args.compare[1],
                      args.markdown)
        return 0
    old = load_json(args.compare[0]) if args.compare else None

    libs = {}
    if {"conv", "train"} & set(args.sections):
        libs["torch"] = _need("torch", "PyTorch, the reference for the conv and train sections,")
    if "filters" in args.sections:
        libs["cv2"] = _need("cv2", "OpenCV (cv2), the reference for the filters section,")
        if not args.no_scipy:
            _need("scipy", "SciPy, a reference for the filters section (or pass --no-scipy),")
            libs["scipy_signal"] = importlib.import_module("scipy.signal")
        else:
            libs["scipy_signal"] = None
    from convscope import backend
    libs["backend"] = backend

    backend.set_num_threads(args.threads)
    if "torch" in libs:
        libs["torch"].set_num_threads(args.threads)
    if "cv2" in libs:
        libs["cv2"].setNumThreads(args.threads)

    meta = metadata(args, backend)
    stamp = meta.pop("_stamp")
    load = meta["load_average_start"]
    if load and load[0] > 0.75:
        log(f"bench: load average {load[0]:.2f} on {meta['cpus_available']} CPUs before the start: other work "
            "is running, so the times (and ratios) will be noisy")
    path = Path(args.json) if args.json else HERE / "runs" / f"bench-{meta['git_commit'] or 'nogit'}-{stamp}.json"
    timing = (Timing(args.rounds, args.repeat, warm_calls=1, warm_seconds=0.0) if args.quick
              else Timing(args.rounds, args.repeat, warm_calls=3, warm_seconds=0.5))
    runners = {"conv": conv_section, "train": train_section, "filters": filters_section}

    doc = {"schema": SCHEMA, "metadata": meta, "sections": {}}
    start = time.perf_counter()
    for name in SECTIONS:
        if name in args.sections:
            log(f"bench: {name} ...")
            t0 = time.perf_counter()
            doc["sections"][name] = runners[name](args, timing, libs)
            doc["sections"][name]["seconds"] = time.perf_counter() - t0
    meta["seconds"] = time.perf_counter() - start
    meta["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    meta["max_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux
    bad = disagreements(doc)
    doc["disagreements"] = bad
    write_json(path, doc)

    for name in SECTIONS:
        if name in doc["sections"]:
            PRINTERS[name](doc["sections"][name], meta, args.markdown)
    print()
    print(f"max RSS {meta['max_rss_mib']:.0f} MiB; {meta['seconds']:.0f} s; convscope {meta['versions']['convscope']} "
          f"at {meta['git_commit']}{' (uncommitted changes)' if meta['git_dirty'] else ''}, numba kernels "
          f"{'on' if meta['compiled_available'] else 'off'}; {meta['cpu_model']}")
    for line in bad:
        print(f"DISAGREES: {line}")
    if bad:
        print("('!' in the tables: convscope's numbers differ from the reference's by more than "
              f"{RTOL:g} of the largest value)")
    if old is not None:
        print_compare(old, doc, args.compare[0], str(path), args.markdown)
    print(f"\nresults: {path}")
    log(f"bench: wrote {path}")
    return 1 if bad and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
