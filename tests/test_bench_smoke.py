"""benchmarks/bench.py --quick runs end to end and writes a well-formed JSON (times are never asserted)."""

import ast
import json
import math
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytest.importorskip("torch", reason="bench.py needs PyTorch as the conv/train reference: pip install -e '.[bench]'")
pytest.importorskip("cv2", reason="bench.py needs OpenCV as the filters reference: pip install -e '.[bench]'")
pytest.importorskip("scipy", reason="bench.py needs SciPy as a filters reference: pip install -e '.[bench]'")


def _suite_names():
    """The layer names of benchmarks/conv.py's SUITE, read without importing it (its import pins
    this process's thread variables)."""
    tree = ast.parse((REPO / "benchmarks" / "conv.py").read_text())
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "SUITE")
    return [spec[0] for spec in ast.literal_eval(node.value)]


def _positive(value):
    return isinstance(value, float) and math.isfinite(value) and value > 0


def test_quick_bench_writes_every_section(tmp_path):
    out = tmp_path / "b.json"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench.py"), "--quick", "--json", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "geometric mean" in done.stdout
    doc = json.loads(out.read_text())
    assert not list(tmp_path.glob(".b.json.*")), "the atomic write left its temporary file"

    meta = doc["metadata"]
    assert meta["threads"] == 2 and isinstance(meta["compiled_available"], bool)
    assert {"convscope", "numpy", "torch", "cv2", "scipy", "numba"} <= set(meta["versions"])
    assert meta["max_rss_mib"] > 0
    assert set(doc["sections"]) == {"conv", "train", "filters"}

    conv = doc["sections"]["conv"]
    assert [r["name"] for r in conv["rows"]] == _suite_names()
    for row in conv["rows"]:
        for variant in ("forward", "forward_backward"):
            case = row[variant]
            assert _positive(case["convscope_s"]) and _positive(case["torch_s"]) and _positive(case["ratio"])
            assert case["peak_mib"] >= 0 and isinstance(case["agrees"], bool)
        assert isinstance(row["forward"]["algorithm"], str)
        algorithms = row["forward_backward"]["algorithms"]
        assert {"forward", "input_grad", "weight_grad"} <= set(algorithms)
        assert all(isinstance(a, str) and a for a in algorithms.values())
    for variant in ("forward", "forward_backward"):
        assert _positive(conv["summary"][variant]["geomean"]) and conv["summary"][variant]["count"] == len(conv["rows"])

    train = doc["sections"]["train"]
    assert [r["name"] for r in train["rows"]] == ["lenet5", "simple_cnn", "small_vgg"]
    for row in train["rows"]:
        assert _positive(row["convscope_s"]) and _positive(row["torch_s"]) and _positive(row["ratio"])

    filters = doc["sections"]["filters"]
    assert len(filters["rows"]) == 9
    for row in filters["rows"]:
        assert _positive(row["convscope_s"]) and isinstance(row["method"], str)
        refs = row["references"]
        assert "scipy.signal.convolve2d" in refs
        assert ("cv2.sepFilter2D" if row["separable"] else "cv2.filter2D") in refs
        for ref in refs.values():
            assert _positive(ref["time_s"]) and _positive(ref["ratio"]) and isinstance(ref["agrees"], bool)
