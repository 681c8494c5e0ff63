"""`convscope train` owns its output folder: one run at a time, nothing lost, resume only the same run.

Each test drives the real command in a subprocess on the bundled digits, small enough to take a
few seconds.
"""

import json
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from convscope import io
from convscope.train import load_checkpoint
from convscope.io.weights import load_state_dict as load_weights

SMALL = ["--model", "lenet5", "--bundled", "--limit", "256", "--batch-size", "64", "--no-progress", "--seed", "1"]


def train(out, *extra, timeout=300):
    return subprocess.run([sys.executable, "-m", "convscope", "train", "--out", str(out), *SMALL, *extra],
                          capture_output=True, text=True, timeout=timeout)


def one_line_error(done, *fragments):
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.strip().splitlines() if not line.startswith("training ")]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("convscope train: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A run of one epoch, finished: its folder holds checkpoint, weights and history."""
    out = tmp_path_factory.mktemp("finished") / "run"
    done = train(out, "--epochs", "1")
    assert done.returncode == 0, done.stderr
    return out


def test_a_second_run_on_a_live_folder_is_refused_and_the_first_completes(tmp_path):
    out = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-m", "convscope", "train", "--out", str(out), "--model", "lenet5",
                              "--bundled", "--epochs", "4", "--no-progress"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = out / ".convscope.lock"
    deadline = time.time() + 120
    while not (lock.exists() and lock.read_text()) and time.time() < deadline and first.poll() is None:
        time.sleep(0.01)
    assert lock.exists(), "the first run never took its lock"
    holder = json.loads(lock.read_text())
    assert holder["pid"] == first.pid
    for extra in ([], ["--force"], ["--resume"]):
        second = train(out, "--epochs", "1", *extra)
        one_line_error(second, f"{out} is in use by another convscope train run", f"pid {first.pid}", str(lock))
    stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert not lock.exists()                                # removed on exit
    assert load_checkpoint(out / "checkpoint.npz")["epoch"] == 4
    assert load_weights(out / "model.safetensors")
    assert json.loads((out / "history.json").read_text())["epochs"] == 4


def test_a_killed_run_leaves_a_stale_lock_that_the_next_run_takes_over(tmp_path):
    out = tmp_path / "run"
    victim = subprocess.Popen([sys.executable, "-m", "convscope", "train", "--out", str(out), "--model", "lenet5",
                               "--bundled", "--epochs", "4", "--no-progress"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "checkpoint.npz").exists() and time.time() < deadline and victim.poll() is None:
        time.sleep(0.01)
    assert victim.poll() is None, "the run ended before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    assert (out / ".convscope.lock").exists()              # SIGKILL runs no clean-up
    done = train(out, "--epochs", "5", "--limit", "0", "--batch-size", "64", "--seed", "0", "--resume")
    assert done.returncode == 0, done.stderr
    assert f"took over the stale lock of a run that is no longer alive (pid {victim.pid}" in done.stderr
    assert not (out / ".convscope.lock").exists()


CHILD = textwrap.dedent("""
    import os, sys, time
    real_replace, calls = os.replace, []
    def replace(src, dst, *args, **kwargs):
        if str(dst).endswith("checkpoint.npz"):
            calls.append(dst)
            if len(calls) == 2:                  # the second checkpoint is on disk, not yet renamed
                print("WRITING", flush=True)
                time.sleep(600)
        return real_replace(src, dst, *args, **kwargs)
    os.replace = replace
    from convscope.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def test_sigkill_while_the_checkpoint_is_written_loses_nothing_and_the_temp_file_is_cleaned(tmp_path):
    args = ["train", *SMALL, "--epochs", "3"]
    reference = subprocess.run([sys.executable, "-m", "convscope", *args, "--out", str(tmp_path / "reference")],
                               capture_output=True, text=True, timeout=300)
    assert reference.returncode == 0, reference.stderr
    out = tmp_path / "run"
    victim = subprocess.Popen([sys.executable, "-c", CHILD, *args, "--out", str(out)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert victim.stdout.readline().strip() == "WRITING", victim.stderr.read()
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    temps = list(out.glob(".checkpoint.npz.*.tmp"))
    assert len(temps) == 1                                  # the whole second checkpoint, never renamed
    assert load_checkpoint(out / "checkpoint.npz")["epoch"] == 1   # the first one is intact
    done = train(out, "--epochs", "3", "--resume")
    assert done.returncode == 0, done.stderr
    assert "removed 1 temporary file left by an interrupted run" in done.stderr
    assert not list(out.glob(".*.tmp"))
    want = load_weights(tmp_path / "reference" / "model.safetensors")
    got = load_weights(out / "model.safetensors")
    for key in want:
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


@pytest.mark.parametrize("change, named", [
    (["--lr", "0.5"], "--lr is 0.5 but the checkpoint's run used 0.001"),
    (["--dataset", "fashion-mnist"], "--dataset is 'fashion-mnist' but the checkpoint's run used 'mnist'"),
    (["--batch-size", "32"], "--batch-size is 32 but the checkpoint's run used 64"),
    (["--limit", "300"], "--limit is 300 but the checkpoint's run used 256"),
    (["--seed", "2"], "--seed is 2 but the checkpoint's run used 1"),
    (["--optimizer", "sgd"], "--optimizer is 'sgd' but the checkpoint's run used 'adam'"),
    (["--model", "simple_cnn"], "--model is 'simple_cnn' but the checkpoint's run used 'lenet5'"),
    (["--augment"], "--augment is on but the checkpoint's run used off"),
])
def test_resume_refuses_a_changed_argument_naming_it(finished, change, named):
    before = (finished / "checkpoint.npz").read_bytes()
    done = train(finished, "--epochs", "2", "--resume", *change)
    one_line_error(done, "--resume would not continue the run in", named, "--force to start over")
    assert (finished / "checkpoint.npz").read_bytes() == before


def test_resume_names_every_difference_at_once(finished):
    done = train(finished, "--epochs", "2", "--resume", "--lr", "0.01", "--seed", "9", "--limit", "100")
    line = one_line_error(done, "--lr is 0.01", "--seed is 9", "--limit is 100")
    assert "(a new --lr is allowed with --allow-lr-change)" in line


def test_resume_of_a_finished_run_asks_for_more_epochs(finished):
    one_line_error(train(finished, "--epochs", "1", "--resume"),
                   "has already finished 1 epoch, and --epochs 1 asks for no more; pass --epochs above 1")


def test_allow_lr_change_continues_with_the_new_rate(tmp_path, finished):
    out = tmp_path / "run"
    out.mkdir()
    for name in ("checkpoint.npz", "model.safetensors", "history.json"):
        (out / name).write_bytes((finished / name).read_bytes())
    done = train(out, "--epochs", "2", "--resume", "--lr", "0.0005", "--allow-lr-change")
    assert done.returncode == 0, done.stderr
    state = load_checkpoint(out / "checkpoint.npz")
    assert state["epoch"] == 2
    assert state["history"][1]["lr"] == 0.0005 and state["history"][0]["lr"] == 0.001
    assert state["run"]["lr"] == 0.0005
    one_line_error(train(out, "--epochs", "3", "--cosine", "--resume", "--allow-lr-change"),
                   "--allow-lr-change applies without --cosine only")


def _rewrite_checkpoint(src, dst, **changes):
    state = load_checkpoint(src)
    state.update(changes)
    io.save(dst, state, kind="checkpoint")


def test_a_checkpoint_claiming_epoch_999_trains_nothing_and_says_so(tmp_path, finished):
    out = tmp_path / "run"
    out.mkdir()
    state = load_checkpoint(finished / "checkpoint.npz")
    _rewrite_checkpoint(finished / "checkpoint.npz", out / "checkpoint.npz", epoch=999,
                        history=state["history"] * 999)
    one_line_error(train(out, "--epochs", "5", "--resume"),
                   "has already finished 999 epochs, and --epochs 5 asks for no more")
    _rewrite_checkpoint(finished / "checkpoint.npz", out / "checkpoint.npz", epoch=999)
    one_line_error(train(out, "--epochs", "1000", "--resume"),
                   "is inconsistent: it records epoch 999 but a history of 1 epochs", "--force to start over")
    assert not (out / "model.safetensors").exists()


def test_a_checkpoint_without_its_run_arguments_is_refused(tmp_path, finished):
    out = tmp_path / "run"
    out.mkdir()
    _rewrite_checkpoint(finished / "checkpoint.npz", out / "checkpoint.npz", run=None)
    one_line_error(train(out, "--epochs", "2", "--resume"), "does not record the arguments of its run",
                   "--force to start over")


def test_a_corrupt_checkpoint_is_one_line(tmp_path, finished):
    out = tmp_path / "run"
    out.mkdir()
    raw = (finished / "checkpoint.npz").read_bytes()
    (out / "checkpoint.npz").write_bytes(raw[: len(raw) // 2])
    one_line_error(train(out, "--epochs", "2", "--resume"), "is truncated or corrupt", "--force to start over")


def test_force_removes_the_old_outputs_before_training(tmp_path, finished):
    out = tmp_path / "run"
    out.mkdir()
    for name in ("checkpoint.npz", "model.safetensors", "history.json"):
        (out / name).write_bytes((finished / name).read_bytes())
    # A run that fails at its first epoch must not leave the old run's weights beside nothing.
    done = train(out, "--epochs", "1", "--force", "--lr", "1e30")
    one_line_error(done, "became nan")
    assert not any((out / name).exists() for name in ("checkpoint.npz", "model.safetensors", "history.json"))


def test_missing_or_corrupt_data_is_one_line(tmp_path):
    one_line_error(subprocess.run([sys.executable, "-m", "convscope", "train", "--out", str(tmp_path / "a"),
                                   "--data-dir", str(tmp_path / "nowhere")], capture_output=True, text=True,
                                  timeout=60),
                   "--data-dir expects a folder holding the mnist IDX files", "is missing")
    data = tmp_path / "data"
    data.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        (data / name).write_bytes(b"\x1f\x8b not really gzip")
    one_line_error(subprocess.run([sys.executable, "-m", "convscope", "train", "--out", str(tmp_path / "b"),
                                   "--data-dir", str(data)], capture_output=True, text=True, timeout=60),
                   "train-images-idx3-ubyte.gz")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()   # nothing was written


def test_an_empty_dataset_is_one_line_not_nan(tmp_path):
    from convscope.data.idx import write_idx

    data = tmp_path / "data"
    data.mkdir()
    write_idx(data / "train-images-idx3-ubyte.gz", np.zeros((0, 28, 28), np.uint8))
    write_idx(data / "train-labels-idx1-ubyte.gz", np.zeros((0,), np.uint8))
    write_idx(data / "t10k-images-idx3-ubyte.gz", np.zeros((0, 28, 28), np.uint8))
    write_idx(data / "t10k-labels-idx1-ubyte.gz", np.zeros((0,), np.uint8))
    done = subprocess.run([sys.executable, "-m", "convscope", "train", "--out", str(tmp_path / "run"),
                           "--data-dir", str(data)], capture_output=True, text=True, timeout=60)
    one_line_error(done, "the training set from", "has no images")
    assert "nan" not in done.stderr


def test_the_library_refuses_an_empty_loader_instead_of_reporting_nan():
    from convscope import data, models, nn, optim
    from convscope.train import evaluate, fit

    empty = data.DataLoader(data.ArrayDataset(np.zeros((0, 1, 28, 28), np.float32), np.zeros(0, np.int64)),
                            batch_size=8)
    model = models.lenet5()
    with pytest.raises(ValueError, match=r"evaluate: loader expects at least one sample, but it gave none"):
        evaluate(model, empty)
    with pytest.raises(ValueError, match=r"fit: loader expects at least one batch per epoch, but epoch 1 gave none"):
        fit(model, empty, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), 1, progress=False)
