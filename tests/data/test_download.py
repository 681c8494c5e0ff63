"""download=True against local HTTP servers on 127.0.0.1 (no other network traffic)."""

import contextlib
import functools
import http.server
import shutil
import socket
import threading

import numpy as np
import pytest

from convscope.data import DownloadError, FashionMNIST, MNIST
from convscope.data.download import file_md5
from tests.data.conftest import flip_byte


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):          # keep the test output clean
        pass


@contextlib.contextmanager
def serve(directory):
    """Serve ``directory`` over HTTP on 127.0.0.1; yield (base URL, list of requested paths)."""
    requests = []

    class Recording(_Handler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Recording, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _corrupt_copy(shared_data, folder, dest):
    """Copies of the test-split files with one byte inverted: the same sizes, the wrong MD5s."""
    dest.mkdir()
    for name in MNIST.files(train=False):
        flip_byte(shutil.copyfile(shared_data / folder / name, dest / name))
    return dest


@pytest.mark.parametrize("cls", [MNIST, FashionMNIST])
def test_download_fetches_verifies_and_loads(shared_data, official, tmp_path, cls, capfd):
    with serve(shared_data) as (url, requests):
        ds = cls(tmp_path, train=False, download=True, mirrors=[url + cls.FOLDER + "/"], timeout=10)
        assert sorted(requests) == sorted(f"/{cls.FOLDER}/{name}" for name in cls.files(train=False))
        again = cls(tmp_path, train=False, download=True, mirrors=url + cls.FOLDER + "/")   # files present now
        assert len(requests) == 2
    assert sorted(p.name for p in (tmp_path / cls.FOLDER).iterdir()) == sorted(cls.files(train=False))  # no temp files
    for name in cls.files(train=False):
        assert file_md5(tmp_path / cls.FOLDER / name) == cls.MD5[name]
    np.testing.assert_array_equal(ds.data, official(cls.FOLDER, False).data)
    np.testing.assert_array_equal(again.targets, official(cls.FOLDER, False).targets)
    assert ds.root == tmp_path / cls.FOLDER
    assert "MD5 ok" in capfd.readouterr().err          # progress is reported on stderr


def test_bad_mirror_is_rejected_by_md5_and_the_next_one_used(shared_data, official, tmp_path, capfd):
    bad_dir = _corrupt_copy(shared_data, "mnist", tmp_path / "bad")
    with serve(bad_dir) as (bad_url, bad_requests), serve(shared_data / "mnist") as (good_url, good_requests):
        ds = MNIST(tmp_path / "root", train=False, download=True, mirrors=[bad_url, good_url], timeout=10)
    names = MNIST.files(train=False)
    assert sorted(bad_requests) == sorted(good_requests) == sorted(f"/{n}" for n in names)
    for name in names:
        assert file_md5(tmp_path / "root" / "mnist" / name) == MNIST.MD5[name]
    assert sorted(p.name for p in (tmp_path / "root" / "mnist").iterdir()) == sorted(names)
    np.testing.assert_array_equal(ds.data, official("mnist", False).data)
    err = capfd.readouterr().err
    assert f"{bad_url}t10k-images-idx3-ubyte.gz: MD5 " in err and "does not match the expected " in err


def test_all_mirrors_failing_lists_each_failure(tmp_path):
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    for name in MNIST.files(train=False):
        (bad_dir / name).write_bytes(b"not the published file")
    (tmp_path / "empty").mkdir()
    closed = _closed_port_url()
    with serve(tmp_path / "empty") as (empty_url, _), serve(bad_dir) as (bad_url, _):
        with pytest.raises(DownloadError) as info:
            MNIST(tmp_path / "root", train=False, download=True, mirrors=[empty_url, bad_url, closed], timeout=5)
    message = str(info.value)
    assert message.startswith("MNIST: could not download 't10k-images-idx3-ubyte.gz' into '")
    assert "every mirror failed" in message
    assert f"{empty_url}t10k-images-idx3-ubyte.gz: HTTP 404" in message
    assert f"{bad_url}t10k-images-idx3-ubyte.gz: MD5 " in message
    assert f"{closed}t10k-images-idx3-ubyte.gz: cannot connect" in message
    assert isinstance(info.value, OSError) and isinstance(info.value, ValueError)
    assert list((tmp_path / "root" / "mnist").iterdir()) == []      # nothing half-written left behind
