"""``convscope explore``: every mistake one line before the server starts; a real start and stop;
the models a file names (weights, ONNX) served like the zoo's."""

import os
import signal
import socket
import subprocess
import sys

import httpx
import numpy as np
import pytest

from convscope import cli, models

from .conftest import local_client


def one_line(capsys, code, want_code, *fragments):
    err = capsys.readouterr().err
    assert code == want_code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convscope explore: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.mark.parametrize("argv, fragments", [
    (["--model", "lenet6"], ["--model expects a zoo name", "'lenet6'"]),
    (["--model", "missing.onnx"], ["no file at missing.onnx"]),
    (["--model", "weights.npz"], ["or a .onnx / .safetensors file"]),
    (["--port", "70000"], ["--port: expects a port number in 0..65535"]),
    (["--port", "eighty"], ["--port"]),
    (["--max-side", "0"], ["--max-side: expects a positive integer"]),
    (["--max-upload-bytes", "-5"], ["--max-upload-bytes"]),
    (["--host", "no-such-host.invalid"], ["--host expects an address of this machine"]),
    (["--host", "192.0.2.1"], ["cannot listen on 192.0.2.1:0"]),
    (["--log-level", "loud"], ["--log-level"]),
])
def test_mistakes_are_one_line_and_exit_2(capsys, argv, fragments):
    argv = ["explore", *argv] + ([] if "--port" in argv else ["--port", "0"])
    one_line(capsys, cli.main(argv), 2, *fragments)


def test_the_hosts_answered_follow_host():
    from convscope.cli_explore import _allowed_hosts

    assert _allowed_hosts("127.0.0.1") == ("127.0.0.1", "localhost", "[::1]") == _allowed_hosts("localhost")
    assert _allowed_hosts("0.0.0.0") == ("*",) and _allowed_hosts("::") == ("*",)
    assert _allowed_hosts("192.168.1.5")[-1] == "192.168.1.5" and _allowed_hosts("fe80::1")[-1] == "[fe80::1]"


def test_a_port_in_use_is_one_line(capsys):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        one_line(capsys, cli.main(["explore", "--port", str(port), "--model", "lenet5"]), 2,
                 f"cannot listen on 127.0.0.1:{port}", "try another --port")
    finally:
        taken.close()


def test_a_state_dict_file_is_refused_by_name(tmp_path, capsys):
    import convscope

    path = convscope.save(models.get("lenet5").state_dict(), tmp_path / "bare.safetensors")
    one_line(capsys, cli.main(["explore", "--port", "0", "--model", str(path)]), 2,
             "a state dict without its architecture")


def test_a_missing_web_extra_is_one_line_and_exit_1(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)                 # import uvicorn -> ImportError
    one_line(capsys, cli.main(["explore", "--port", "0"]), 1, "needs uvicorn (the web extra)",
             "pip install 'convscope[web]'")


def test_the_command_serves_until_interrupted():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen([sys.executable, "-m", "convscope", "explore", "--port", "0", "--model", "lenet5"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as process:
        try:
            line = process.stdout.readline()
            assert line.startswith("convscope explorer on http://127.0.0.1:"), (line, process.stderr.read())
            url = line.split()[3]
            assert httpx.get(url + "api/health", timeout=10).json()["models"] == 1
            assert "convscope explorer" in httpx.get(url, timeout=10).text
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=20)
            assert process.returncode == 0, err
            assert "Traceback" not in err and out.strip() == "convscope explorer stopped"
        finally:
            if process.poll() is None:
                process.kill()


def test_a_weights_file_is_served_as_its_zoo_model(tmp_path):
    import convscope
    from convscope.web import create_app, resolve

    trained = models.get("lenet5", weights="bundled")
    path = convscope.save(trained, tmp_path / "my lenet.safetensors")
    entry = resolve(str(path))
    assert (entry.key, entry.source, entry.input_shape, entry.classes[3]) == ("my_lenet", "weights", (1, 28, 28), "3")
    client = local_client(create_app([str(path), "lenet5"]))
    sample = client.get("/api/samples/digit-3", params={"model": "my_lenet"}).json()
    mine = client.post("/api/forward", json={"model": "my_lenet", "input": sample["input"]}).json()
    bundled = client.post("/api/forward", json={"model": "lenet5", "input": sample["input"]}).json()
    assert mine["output"]["logits"] == bundled["output"]["logits"] and mine["output"]["prediction"] == 3


def test_an_onnx_file_is_served_with_its_declared_input(tmp_path):
    pytest.importorskip("onnx", reason="ONNX export needs the onnx extra")
    from convscope import onnx
    from convscope.web import create_app

    path = onnx.export(models.get("lenet5", weights="bundled"), (1, 28, 28), tmp_path / "lenet.onnx")
    client = local_client(create_app([str(path)]))
    listed = client.get("/api/models").json()["models"][0]
    assert (listed["key"], listed["source"], listed["input_shape"]) == ("lenet", "onnx", [1, 28, 28])
    picture = np.zeros((28, 28), np.float32)
    picture[4:24, 12:16] = 2.0
    body = client.post("/api/forward", json={"model": "lenet", "input": picture[None].tolist()}).json()
    assert [layer["op"] for layer in body["layers"]][:3] == ["conv2d", "relu", "max_pool2d"]
    first = body["layers"][0]["name"]
    cell = client.post("/api/cell", json={"model": "lenet", "input": picture[None].tolist(), "layer": first,
                                          "channel": 0, "row": 10, "col": 13}).json()
    assert cell["kind"] == "conv" and cell["total"] == pytest.approx(cell["value"], rel=1e-5, abs=1e-6)
    assert client.get("/api/models/lenet/filters").status_code == 200


def test_too_large_an_onnx_input_is_refused_at_startup(tmp_path):
    pytest.importorskip("onnx", reason="ONNX export needs the onnx extra")
    from convscope import onnx
    from convscope.web import Settings, resolve

    path = onnx.export(models.get("lenet5"), (1, 28, 28), tmp_path / "lenet.onnx")
    with pytest.raises(ValueError, match=r"1x28x28 input, larger than max_input_side=16"):
        resolve(str(path), Settings(max_input_side=16))
