"""benchmarks/scale.py runs end to end on a small image (its time and memory are reported, never asserted)."""

import subprocess
import sys

import pytest

from tests.conftest import REPO

pytest.importorskip("distributed", reason="the scale extra (dask, distributed) is not installed")


def test_scale_benchmark_runs_on_a_local_cluster():
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "scale.py"), "--size", "3000", "--chunk", "1024"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "3000x3000 float32" in done.stdout and done.stdout.count("peak RSS") == 2
