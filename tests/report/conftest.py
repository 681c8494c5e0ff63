"""One demo report per test session, built through the command line as `make demo` builds it."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("demo") / "report"
    done = subprocess.run([sys.executable, "-m", "convscope", "demo", "--out", str(out), "--epochs", "1",
                           "--no-progress"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    match = re.search(r"reached (\d+\.\d+)% held-out accuracy", lines[-1])
    assert match, lines[-2:]
    return {"out": out, "page": out / "index.html", "stdout": done.stdout, "stderr": done.stderr,
            "last_lines": lines[-2:], "accuracy_percent": float(match.group(1))}


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests leave screenshots for people to look at: $CONVSCOPE_ARTIFACTS or test-artifacts/."""
    folder = Path(os.environ.get("CONVSCOPE_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
