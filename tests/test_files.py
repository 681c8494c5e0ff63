"""convscope._files: the run lock and the temporary files of atomic writes."""

import json
import os

import pytest

from convscope._files import LockedError, RunLock, atomic_write, leftover_temp_files


def test_a_held_lock_refuses_a_second_holder_and_is_removed_on_release(tmp_path):
    with RunLock(tmp_path / "run", "test run") as first:
        assert first.stale is None
        holder = json.loads(first.path.read_text())
        assert holder["pid"] == os.getpid() and holder["what"] == "test run"
        with pytest.raises(LockedError, match=rf"is in use by another test run \(pid {os.getpid()} on .*lock file"):
            RunLock(tmp_path / "run", "test run").acquire()
    assert not (tmp_path / "run" / RunLock.NAME).exists()
    with RunLock(tmp_path / "run") as again:               # free again
        assert again.stale is None


def test_a_lock_file_nobody_holds_is_stale_and_taken_over(tmp_path):
    (tmp_path / RunLock.NAME).write_text(json.dumps({"pid": 999999, "host": "h", "started": "then"}))
    with RunLock(tmp_path) as lock:
        assert lock.stale == "pid 999999 on h, started then"


def test_without_fcntl_a_dead_pid_is_stale_and_a_live_one_holds(tmp_path):
    path = tmp_path / RunLock.NAME
    path.write_text(json.dumps({"pid": 2**22 + 12345, "host": "h", "started": "then"}))
    lock = RunLock(tmp_path)._acquire_exclusive()           # the path taken where fcntl is missing
    assert lock.stale.startswith(f"pid {2**22 + 12345} on h")
    lock.release()
    path.write_text(json.dumps({"pid": os.getpid(), "host": "h", "started": "now"}))
    with pytest.raises(LockedError, match=rf"pid {os.getpid()} on h, started now"):
        RunLock(tmp_path)._acquire_exclusive()


def test_leftover_temp_files_are_those_of_atomic_write_for_the_named_targets(tmp_path):
    atomic_write(tmp_path / "model.npz", lambda f: f.write(b"x"))
    (tmp_path / ".model.npz.abc123.tmp").write_bytes(b"half")
    (tmp_path / ".checkpoint.npz.zzz.tmp").write_bytes(b"half")
    (tmp_path / ".notes.txt.abc.tmp").write_bytes(b"not ours")
    found = leftover_temp_files(tmp_path, ["model.npz", "checkpoint.npz"])
    assert [p.name for p in found] == [".checkpoint.npz.zzz.tmp", ".model.npz.abc123.tmp"]
