"""Shared fixtures for the explorer's tests: the app, its test client, inputs, a live server."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the explorer needs the web extra (pip install 'convscope[web]')")
pytest.importorskip("PIL", reason="the explorer needs the web extra (pip install 'convscope[web]')")

# Starlette 1.x asks for httpx2 behind its test client (the test extra installs httpx): imported once
# here with that deprecation notice silenced, so it does not repeat in every run's summary.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

MODELS = ["lenet5", "small_vgg"]


@pytest.fixture(scope="session")
def app():
    from convscope.web import create_app

    return create_app(MODELS)


def local_client(app, **kwargs) -> TestClient:
    """A test client that sends ``Host: 127.0.0.1``, as a browser on this machine does."""
    return TestClient(app, base_url="http://127.0.0.1", **kwargs)


@pytest.fixture(scope="session")
def client(app):
    with local_client(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def digit(client):
    """The bundled MNIST test digit 7, made into LeNet-5's input by the API."""
    response = client.get("/api/samples/digit-7", params={"model": "lenet5"})
    assert response.status_code == 200, response.text
    return response.json()


def png_bytes(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests leave screenshots for people to look at: $CONVSCOPE_ARTIFACTS or test-artifacts/."""
    folder = Path(os.environ.get("CONVSCOPE_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1 at a free port, in a background thread."""

    def __init__(self, app):
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture(scope="session")
def live_server(app):
    with LiveServer(app) as server:
        yield server
