"""benchmarks/explore_load.py, small: a real server on 127.0.0.1, concurrent clients, no errors."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytest.importorskip("uvicorn", reason="the explorer needs the web extra (pip install 'convscope[web]')")


def test_a_small_load_completes_without_errors_and_reports_percentiles(tmp_path):
    out = tmp_path / "load.json"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "explore_load.py"), "--requests", "80",
                           "--concurrency", "4", "--json", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(out.read_text())
    assert summary["requests"] == 80 and summary["errors"] == 0, summary["first_errors"]
    assert set(summary["latency_ms"]) == {"p50", "p90", "p99", "max"}
    assert {"forward", "cell", "upload", "playground", "filter", "refused"} <= set(summary["by_kind"])
    assert summary["probes"] >= 1 and summary["health_probe_ms"]["max"] < 5000     # it kept answering
    assert "latency ms: p50" in done.stdout and "errors 0" in done.stdout
