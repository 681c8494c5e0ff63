"""The benchmark script runs end to end (timings are reported, never asserted)."""

import subprocess
import sys

from tests.conftest import REPO
from tests._reference import torch  # noqa: F401  (skips without PyTorch)


def test_conv_benchmark_runs_and_prints_a_ratio_table():
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "conv.py"), "--only", "lenet conv1",
                           "--repeat", "1", "--markdown"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "| lenet conv1 |" in done.stdout and "geometric mean" in done.stdout
