"""Every bad request is a 4xx with a one-sentence ``detail``: never a 500, never a traceback,
never a file outside the whitelist (uploads too large, not images, bombs, wrong shapes and
types, malformed JSON, indices out of range, unknown models, path traversal)."""

import json
import struct
import threading
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import local_client, png_bytes


def refused(response, status, *fragments):
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"], body
    assert "Traceback" not in response.text and "File \"" not in response.text
    for fragment in fragments:
        assert fragment in body["detail"], (fragment, body["detail"])
    return body["detail"]


def bomb_png(width=100_000, height=100_000) -> bytes:
    """A valid 8x8 PNG whose header claims ``width x height`` pixels (a decompression bomb)."""
    raw = png_bytes(np.zeros((8, 8), np.uint8))
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return raw[:8] + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + raw[33:]


def upload(client, data: bytes, model="lenet5", name="x.png", **form):
    return client.post("/api/input", files={"file": (name, data, "image/png")}, data={"model": model, **form})


# --------------------------------------------------------------------------- uploads

def test_an_oversized_upload_is_413_before_it_is_read(client):
    refused(upload(client, b"\x89PNG" + b"\0" * (4 * 1024 * 1024 + 10)), 413, "max_upload_bytes", "4,194,304")


def test_an_oversized_body_without_content_length_is_413_while_it_streams(client):
    def chunks():
        for _ in range(10):
            yield b"x" * (1024 * 1024)

    response = client.post("/api/forward", content=chunks(), headers={"Content-Type": "application/json"})
    refused(response, 413, "max_json_bytes", "more than 8,388,608 bytes arrived")


def test_the_upload_limit_is_a_setting(client):
    from convscope.web import Settings, create_app

    small = local_client(create_app(["lenet5"], Settings(max_upload_bytes=1000)))
    picture = png_bytes(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
    assert len(picture) > 1000
    refused(upload(small, picture), 413, "1,000 bytes")
    assert upload(small, png_bytes(np.zeros((8, 8), np.uint8))).status_code == 200


@pytest.mark.parametrize("data, fragment", [
    (b"GIF89a this is not really an image", "not an image file"),
    (b"hello, world", "not an image file"),
    (b"", "empty file"),
    (png_bytes(np.random.default_rng(1).integers(0, 255, (32, 32), dtype=np.uint8))[:400], "truncated or corrupt"),
    (bomb_png(), "decompression bomb"),
])
def test_non_images_corrupt_files_and_bombs_are_422(client, data, fragment):
    detail = refused(upload(client, data), 422, fragment)
    assert "/tmp" not in detail and "convscope-upload" not in detail          # the temporary name stays private


def test_the_declared_pixel_limit_is_a_setting(client):
    from convscope.web import Settings, create_app

    strict = local_client(create_app(["lenet5"], Settings(max_pixels=100)))
    refused(upload(strict, png_bytes(np.zeros((20, 20), np.uint8))), 422, "max_pixels=100")


@pytest.mark.parametrize("form, status, fragment", [
    ({"model": "nope"}, 404, "unknown model 'nope'"),
    ({"model": "../../etc/passwd"}, 404, "unknown model"),
    ({"model": "lenet5", "invert": "sometimes"}, 422, "invert expects one of auto, yes, no"),
    ({"model": "lenet5", "centre": "perhaps"}, 422, "centre"),
])
def test_upload_form_fields_are_checked(client, form, status, fragment):
    response = client.post("/api/input", files={"file": ("a.png", png_bytes(np.zeros((8, 8), np.uint8)), "image/png")},
                           data=form)
    refused(response, status, fragment)


def test_an_upload_without_a_file_is_422(client):
    refused(client.post("/api/input", data={"model": "lenet5"}), 422, "file is required")


# --------------------------------------------------------------------------- JSON bodies

def test_malformed_json_is_422(client):
    response = client.post("/api/forward", content=b'{"model": "lenet5", "input": [[[0.1, ',
                           headers={"Content-Type": "application/json"})
    refused(response, 422, "not valid JSON")


@pytest.mark.parametrize("change, fragment", [
    ({"input": "abc"}, "input"),
    ({"input": [[[0.0] * 28] * 27]}, "shape 1x28x28 (C x H x W) for lenet5, but got 1x27x28"),
    ({"input": [[[0.0] * 28] * 28] * 2}, "but got 2x28x28"),
    ({"input": [[[0.0] * 28] * 27 + [[0.0] * 5]]}, "ragged lists"),
    ({"input": [[["0.5"] * 28] * 28]}, "valid number"),
    ({"model": 5}, "model"),
    ({"model": None}, "model"),
    ({"extra": 1}, "extra"),
])
def test_wrong_shapes_and_types_are_422(client, digit, change, fragment):
    body = {"model": "lenet5", "input": digit["input"], **change}
    refused(client.post("/api/forward", json=body), 422, fragment)


def test_nan_and_infinity_are_422(client, digit):
    for bad in (float("nan"), float("inf")):
        values = np.array(digit["input"])
        values[0, 3, 4] = bad
        text = json.dumps({"model": "lenet5", "input": values.tolist()})            # NaN / Infinity tokens
        assert "NaN" in text or "Infinity" in text
        refused(client.post("/api/forward", content=text, headers={"Content-Type": "application/json"}), 422, "finite")
    huge = np.array(digit["input"])
    huge[0, 0, 0] = 1e300                                                            # finite, but not in float32
    refused(client.post("/api/forward", json={"model": "lenet5", "input": huge.tolist()}), 422, "finite")


@pytest.mark.parametrize("cell, status, fragment", [
    ({"layer": "99"}, 422, "layer expects one of the layers that ran"),
    ({"layer": "../../etc/passwd"}, 422, "layer expects"),
    ({"layer": "3", "channel": 16}, 422, "channel 0..15"),
    ({"layer": "3", "row": 10}, 422, "row 0..9"),
    ({"layer": "0", "col": 28}, 422, "col 0..27"),
    ({"layer": "3", "channel": -1}, 422, "greater than or equal to 0"),
    ({"layer": "3", "channel": 1.5}, 422, "valid integer"),
    ({"layer": "3", "channel": True}, 422, "valid integer"),
    ({"layer": "3", "channel": "2"}, 422, "valid integer"),
    ({"layer": "7", "channel": 200}, 422, "vector of 120 values"),
    ({"layer": "7", "channel": 3, "row": 1}, 422, "row = col = 0"),
    ({"layer": 3}, 422, "layer"),
    ({"model": "resnet18"}, 404, "unknown model 'resnet18'; this server has lenet5, small_vgg"),
])
def test_cells_out_of_range_are_4xx(client, digit, cell, status, fragment):
    body = {"model": "lenet5", "input": digit["input"], "layer": "3", "channel": 0, "row": 0, "col": 0, **cell}
    refused(client.post("/api/cell", json=body), status, fragment)


@pytest.mark.parametrize("body, fragment", [
    ({"input_size": 100}, "input_size expects at most 32"),
    ({"stride": 0}, "greater than or equal to 1"),
    ({"input_size": 3, "kernel_size": 5}, "kernel"),
    ({"output_padding": 1}, "output_padding expects 0 unless transposed=True"),
    ({"input_size": [4, 5, 6]}, "input_size"),
    ({"transposed": "yes"}, "valid boolean"),
    ({"input_size": 32, "kernel_size": 1}, "at most 400 output cells"),
])
def test_playground_refusals_are_422(client, body, fragment):
    refused(client.post("/api/playground", json=body), 422, fragment)


@pytest.mark.parametrize("body, fragment", [
    ({"kernel": "nope"}, "nope"),
    ({"kernel": "../../etc/passwd"}, "kernel '../../etc/passwd'"),
    ({"kernel": "gaussian", "params": {"sigma": -1}}, "sigma"),
    ({"kernel": "box", "params": {"size": 100000}}, "size"),
    ({"kernel": "box", "params": {"size": 41}}, "at most 31 taps a side"),
    ({"kernel": "gaussian", "params": {"bogus": 1}}, "bogus"),
    ({"kernel": [[1, 2], [3]]}, "ragged"),
    ({"kernel": [[]]}, "non-empty"),
    ({"kernel": [[1.0]] * 40}, "at most 31 taps"),
    ({"kernel": [[1, 0]], "params": {"sigma": 1}}, "params apply to a named kernel"),
    ({"kernel": [[1e308, 1e308], [1e308, 1e308]]}, "overflow"),
    ({"image": [[0.0] * 300] * 3}, "at most 256 pixels a side"),
    ({"image": [[]]}, "non-empty"),
    ({"image": [[0.0, 1.0], [0.5]]}, "ragged"),
    ({"boundary": "mirror"}, "boundary"),
])
def test_filter_refusals_are_422(client, body, fragment):
    payload = {"kernel": "sobel_x", "image": [[0.0, 0.5, 1.0]] * 3, **body}
    refused(client.post("/api/filter", json=payload), 422, fragment)


# --------------------------------------------------------------------------- names, paths and traversal

@pytest.mark.parametrize("path", [
    "/api/models/nope", "/api/models/..%2F..%2Fetc%2Fpasswd", "/api/models/%2e%2e",
    "/api/models/nope/filters", "/api/samples/..%2F..%2Fetc%2Fpasswd", "/api/samples/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/api/samples/....//....//etc/passwd", "/api/samples/digit-99?model=lenet5", "/api/samples/digit-1?model=..%2Fx",
    "/static/..%2F..%2Fetc%2Fpasswd", "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/static/index.htm",
    "/static/../../../etc/passwd", "/../../etc/passwd", "/static/%252e%252e%252fetc%252fpasswd",
    "/etc/passwd", "/api/../../../etc/passwd",
])
def test_path_traversal_never_reaches_the_filesystem(client, path):
    response = client.get(path)
    assert response.status_code in (404, 422), (path, response.status_code)
    assert "root:" not in response.text and "daemon:" not in response.text
    assert isinstance(response.json()["detail"], str)


def test_learned_filters_of_an_unknown_layer_are_422(client):
    refused(client.get("/api/models/lenet5/filters", params={"layer": "7"}), 422, "conv layers (0, 3)")
    refused(client.get("/api/models/lenet5/filters", params={"layer": "../../etc/passwd"}), 422, "conv layers")


def test_a_sample_needs_a_model(client):
    refused(client.get("/api/samples/digit-1"), 422, "model is required")
    refused(client.get("/api/samples/digit-1", params={"model": "lenet5", "invert": "x"}), 422, "invert")


def test_a_busy_model_is_503_after_busy_timeout(digit):
    from convscope.web import Settings, create_app

    app = create_app(["lenet5"], Settings(busy_timeout=0.05))
    busy = local_client(app)
    entry = app.state.models["lenet5"]
    assert entry.lock.acquire()
    try:
        refused(busy.post("/api/forward", json={"model": "lenet5", "input": digit["input"]}), 503, "busy")
        assert busy.get("/api/health").status_code == 200                    # the rest still answers
    finally:
        entry.lock.release()
    assert busy.post("/api/forward", json={"model": "lenet5", "input": digit["input"]}).status_code == 200


def test_an_internal_error_is_a_500_without_a_traceback(digit, monkeypatch):
    from convscope.web import create_app, explain

    app = create_app(["lenet5"])
    broken = local_client(app, raise_server_exceptions=False)

    def fail(*args, **kwargs):
        raise RuntimeError("a bug in the explorer with a secret path /home/someone")

    monkeypatch.setattr(explain, "trace", fail)
    response = broken.post("/api/forward", json={"model": "lenet5", "input": digit["input"]})
    assert response.status_code == 500
    assert "bug in convscope" in response.json()["detail"] and "/home/someone" not in response.text


# --------------------------------------------------------------------------- fuzz: any JSON, never a 500

JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70)
                    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20)
FIELDS = {"/api/forward": ["model", "input"], "/api/cell": ["model", "input", "layer", "channel", "row", "col"],
          "/api/playground": ["input_size", "kernel_size", "stride", "padding", "dilation", "transposed",
                              "output_padding"],
          "/api/filter": ["kernel", "params", "image", "boundary"]}
VALID = {"model": "lenet5", "layer": "3", "channel": 0, "row": 0, "col": 0, "input_size": 5, "kernel_size": 3,
         "kernel": "sobel_x", "image": [[0.0, 1.0], [1.0, 0.0]]}


@settings(max_examples=120, deadline=None, derandomize=True)
@given(path=st.sampled_from(sorted(FIELDS)), data=st.data())
def test_fuzzed_bodies_are_answered_without_a_500(client, digit, path, data):
    body = {k: (digit["input"] if k == "input" else VALID[k]) for k in FIELDS[path] if k in VALID or k == "input"}
    for key in data.draw(st.lists(st.sampled_from(FIELDS[path] + ["junk"]), max_size=3, unique=True)):
        body[key] = data.draw(JSON)
    response = client.post(path, json=body)
    assert response.status_code < 500, (path, body, response.text)
    if response.status_code >= 400:
        assert isinstance(response.json()["detail"], str)


def test_concurrent_requests_on_one_model_give_each_its_own_maps(client, digit):
    """The hooks are per model: two passes must not see each other's outputs."""
    inputs = [digit["input"], (-np.array(digit["input"])).tolist()]
    want = [client.post("/api/forward", json={"model": "lenet5", "input": x}).json()["layers"][0]["values"]
            for x in inputs]
    errors = []

    def worker(k):
        for _ in range(5):
            got = client.post("/api/forward", json={"model": "lenet5", "input": inputs[k % 2]}).json()
            if got["layers"][0]["values"] != want[k % 2]:
                errors.append(k)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


# --------------------------------------------------------------------------- hosts and origins

@pytest.mark.parametrize("headers, status, fragment", [
    ({"Host": "evil.example"}, 403, "Host 'evil.example' is not one this server answers to"),
    ({"Host": "evil.example:8000"}, 403, "allowed_hosts"),
    ({"Host": "127.0.0.1.evil.example"}, 403, "not one this server answers to"),
    ({"Origin": "http://evil.example"}, 403, "another site ('evil.example')"),
    ({"Origin": "http://127.0.0.1:9999"}, 403, "another site"),
])
def test_other_hosts_and_cross_site_pages_are_403(client, digit, headers, status, fragment):
    response = client.post("/api/forward", json={"model": "lenet5", "input": digit["input"]}, headers=headers)
    refused(response, status, fragment)


def test_this_machine_s_names_and_same_origin_pages_are_served(client, digit):
    for host in ("localhost:8000", "127.0.0.1", "[::1]:8000", "LOCALHOST"):
        assert client.get("/api/health", headers={"Host": host}).status_code == 200, host
    same = client.post("/api/forward", json={"model": "lenet5", "input": digit["input"]},
                       headers={"Host": "127.0.0.1:8000", "Origin": "http://127.0.0.1:8000"})
    assert same.status_code == 200


def test_allowed_hosts_is_a_setting(client):
    from convscope.web import Settings, create_app

    anywhere = local_client(create_app(["lenet5"], Settings(allowed_hosts=("*",))))
    assert anywhere.get("/api/health", headers={"Host": "box.lan:8000"}).status_code == 200
    named = local_client(create_app(["lenet5"], Settings(allowed_hosts=("box.lan",))))
    assert named.get("/api/health", headers={"Host": "box.lan:8000"}).status_code == 200
    refused(named.get("/api/health"), 403, "box.lan")
    with pytest.raises(TypeError, match="allowed_hosts expects a tuple of host names"):
        Settings(allowed_hosts="localhost")
