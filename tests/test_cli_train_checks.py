"""`convscope train` checks its arguments before any work: one line on stderr, exit 2."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("argv, message", [
    (["--model", "no-such-model"], "--model expects one of"),
    (["--epochs", "0"], "--epochs expects a positive integer, but got 0"),
    (["--batch-size", "0"], "--batch-size expects a positive integer"),
    (["--limit", "-5"], "--limit expects a non-negative integer (0 means every image), but got -5"),
    (["--lr", "nan"], "--lr expects a positive number, but got nan"),
    (["--lr", "-1"], "--lr expects a positive number"),
])
def test_train_refuses_bad_arguments_with_one_line(tmp_path, argv, message):
    done = subprocess.run([sys.executable, "-m", "convscope", "train", "--out", str(tmp_path / "run"), *argv],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith("convscope train: ") and message in done.stderr
    assert not (tmp_path / "run").exists()


def test_train_refuses_an_out_that_is_a_file_before_training(tmp_path):
    target = tmp_path / "taken"
    target.write_text("")
    done = subprocess.run([sys.executable, "-m", "convscope", "train", "--out", str(target), "--epochs", "1"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--out expects a folder" in done.stderr and "Traceback" not in done.stderr
