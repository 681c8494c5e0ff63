"""Model weights as safetensors (convscope.save / convscope.load): round trips for every zoo model
that is quick to build, interchange with the safetensors library and PyTorch, and a clear error for
every wrong, truncated, tampered or hostile file; nothing is unpickled."""

import json
import os
import struct

import numpy as np
import pytest

import convscope
from convscope import models, nn
from convscope.io import weights

safetensors = pytest.importorskip("safetensors.numpy", reason="the weights extra (safetensors) is not installed")

QUICK = ["lenet5", "simple_cnn", "small_vgg", "tiny_vgg", "mobilenet_v1", "resnet18", "dilated_segmenter"]


@pytest.mark.parametrize("name", QUICK)
def test_a_zoo_model_comes_back_as_itself(name, tmp_path):
    convscope.manual_seed(0)
    net = models.get(name, num_classes=7)
    path = convscope.save(net, tmp_path / f"{name}.safetensors")
    back = convscope.load(path)
    assert isinstance(back, nn.Module) and back.zoo_spec == {"name": name, "kwargs": {"num_classes": 7}}
    expected, got = net.state_dict(), back.state_dict()
    assert expected.keys() == got.keys()
    for key in expected:
        np.testing.assert_array_equal(np.asarray(got[key]), np.asarray(expected[key]), err_msg=key)
    meta = weights.read_metadata(path)
    assert meta["format"] == "convscope-weights" and meta["convscope_version"] == convscope.__version__


def test_a_state_dict_comes_back_as_arrays_of_each_dtype(tmp_path):
    state = {"f16": np.arange(6, dtype=np.float16).reshape(2, 3), "f64": np.array(1.5), "i8": np.array([-1, 2], np.int8),
             "u32": np.array([7], np.uint32), "flag": np.array([True, False]), "empty": np.zeros((0, 4), np.float32),
             "strided": np.arange(12.0)[::3]}
    back = convscope.load(convscope.save(state, tmp_path / "s.safetensors"))
    assert back.keys() == state.keys()
    for key, value in state.items():
        assert back[key].dtype == value.dtype and back[key].shape == value.shape
        np.testing.assert_array_equal(back[key], value)


def test_model_and_model_args_can_be_given(tmp_path):
    net = models.get("lenet5")
    path = convscope.save(net.state_dict(), tmp_path / "w.safetensors", model="lenet5", model_args={})
    assert isinstance(convscope.load(path), nn.Module)


def test_files_of_other_tools_load(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file
    convscope.manual_seed(0)
    net = models.get("resnet18", num_classes=5)
    path = tmp_path / "torch.safetensors"
    save_file({k: torch.from_numpy(np.array(v)) for k, v in net.state_dict().items()}, str(path))
    state = convscope.load(path)                                  # no convscope metadata: a dict
    assert isinstance(state, dict)
    fresh = models.get("resnet18", num_classes=5)
    fresh.load_state_dict(state)
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    net.eval(), fresh.eval()
    np.testing.assert_array_equal(fresh(x).data if hasattr(fresh(x), "data") else fresh(x),
                                  net(x).data if hasattr(net(x), "data") else net(x))


def test_written_files_are_read_by_the_safetensors_library(tmp_path):
    state = {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}
    path = convscope.save(state, tmp_path / "a.safetensors")
    np.testing.assert_array_equal(safetensors.load_file(str(path))["w"], state["w"])


def test_the_write_is_atomic_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "sub" / "w.safetensors"
    convscope.save({"a": np.ones(3)}, path)
    convscope.save({"a": np.zeros(3)}, path)                      # replaced in place
    assert os.listdir(path.parent) == ["w.safetensors"]
    np.testing.assert_array_equal(convscope.load(path)["a"], np.zeros(3))


# --------------------------------------------------------------------------- hostile files

def _written(tmp_path):
    return convscope.save({"a": np.arange(8, dtype=np.float32), "b": np.ones((2, 2))}, tmp_path / "w.safetensors")


def _rewrite_header(path, change):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    change(header)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n:])


def test_a_flipped_data_bit_is_caught_by_the_digest(tmp_path):
    path = _written(tmp_path)
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0x10
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"is corrupted or was modified: its tensors do not match the sha256"):
        convscope.load(path)


@pytest.mark.parametrize("cut", [4, 20, -1])
def test_a_truncated_file_is_refused(tmp_path, cut):
    path = _written(tmp_path)
    raw = path.read_bytes()
    path.write_bytes(raw[:cut] if cut > 0 else raw[:cut])
    with pytest.raises(ValueError, match=r"truncated|shorter than its 8-byte header"):
        convscope.load(path)


@pytest.mark.parametrize("content, message", [
    (b"PK\x03\x04 this is a zip, not weights", r"not a safetensors weights file"),
    (struct.pack("<Q", 5) + b"nope!", r"its header is not JSON"),
    (struct.pack("<Q", 2) + b"[]", r"its header is not a JSON object"),
    (struct.pack("<Q", 2**62) + b"{}", r"declares a 4611686018427387904-byte header"),
    (b"\x80\x04\x95pickle", r"not a safetensors weights file"),
])
def test_files_that_are_not_weights_are_refused(tmp_path, content, message):
    path = tmp_path / "x.safetensors"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        convscope.load(path)


@pytest.mark.parametrize("change, message", [
    (lambda h: h["a"].update(dtype="BF16"), r"tensor 'a' expects a dtype of"),
    (lambda h: h["a"].update(shape=[9]), r"shape \[9\] of F32 is 36 bytes, but its data offsets span 32"),
    (lambda h: h["a"].update(data_offsets=[0, 2**40], shape=[2**38]), r"is truncated: tensor 'a' ends at byte"),
    (lambda h: h["a"].update(shape=[-8]), r"expects a dtype of .* a shape"),
    (lambda h: h.update(__metadata__={"x": 1}), r"metadata expects strings only"),
])
def test_a_tampered_header_is_refused(tmp_path, change, message):
    path = _written(tmp_path)
    _rewrite_header(path, change)
    with pytest.raises(ValueError, match=message):
        convscope.load(path)


def test_the_tensor_bytes_are_bounded(tmp_path):
    path = _written(tmp_path)
    with pytest.raises(ValueError, match=r"its tensors declare 64 bytes, more than max_bytes=10"):
        convscope.load(path, max_bytes=10)


def test_folders_and_missing_files_get_clear_errors(tmp_path):
    with pytest.raises(ValueError, match=r"expects a regular file, but it is a folder"):
        convscope.load(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"does not exist"):
        convscope.load(tmp_path / "missing.safetensors")


def test_weights_that_do_not_fit_the_named_model_are_refused(tmp_path):
    path = convscope.save({"bogus": np.ones(2)}, tmp_path / "w.safetensors", model="lenet5", model_args={})
    with pytest.raises(ValueError, match=r"its weights do not fit lenet5"):
        convscope.load(path)
    path = convscope.save({"a": np.ones(2)}, tmp_path / "v.safetensors", model="lenet6", model_args={})
    with pytest.raises(ValueError, match=r"names the model 'lenet6'"):
        convscope.load(path)


@pytest.mark.parametrize("obj, message", [
    (42, r"obj expects a Module or a state dict"),
    ({1: np.ones(2)}, r"obj expects string keys"),
    ({"a": np.array(["text"])}, r"obj\['a'\] expects a float, integer or bool array"),
])
def test_bad_save_arguments_are_type_errors(tmp_path, obj, message):
    with pytest.raises(TypeError, match=message):
        convscope.save(obj, tmp_path / "w.safetensors")


# --------------------------------------------------------------------------- PyTorch files

def test_a_pytorch_state_dict_file_loads_into_the_zoo_model(tmp_path):
    torch = pytest.importorskip("torch")
    convscope.manual_seed(1)
    source = models.get("resnet18", num_classes=4)
    state = {k: torch.from_numpy(np.array(v)) for k, v in source.state_dict().items()}
    for wrap, name in [(lambda s: s, "plain.pth"), (lambda s: {"state_dict": s, "epoch": 3}, "ckpt.pt")]:
        path = tmp_path / name
        torch.save(wrap(state), str(path))
        net = models.get("resnet18", num_classes=4)
        net.load_state_dict(weights.load_torch(path))
        for key, value in source.state_dict().items():
            np.testing.assert_array_equal(net.state_dict()[key], value, err_msg=key)


def test_a_pickle_that_runs_code_is_refused(tmp_path):
    pytest.importorskip("torch")
    import pickle

    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"w": Boom()}))
    with pytest.raises(ValueError, match=r"is not a PyTorch weights file torch.load\(weights_only=True\) accepts"):
        weights.load_torch(path)
    assert not (tmp_path / "pwned").exists()


def test_pytorch_files_that_are_not_state_dicts_are_refused(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "list.pt"
    torch.save([torch.ones(2)], str(path))
    with pytest.raises(ValueError, match=r"expects a state dict \(names -> tensors\), but holds list"):
        weights.load_torch(path)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match=r"is not a PyTorch weights file"):
        weights.load_torch(path)


@pytest.mark.parametrize("name", QUICK)
def test_a_zoo_model_round_trips_through_pytorch_state_dict_files(name, tmp_path):
    """convscope state -> torch tensors -> .pt (torch.save) and .safetensors (safetensors.torch) ->
    load_torch -> a fresh zoo model: the same outputs. (The torchvision-sized models are checked
    against torchvision itself, state dict in and outputs out, in tests/models.)"""
    torch = pytest.importorskip("torch")
    save_torch = pytest.importorskip("safetensors.torch", reason="safetensors' torch support is missing").save_file
    convscope.manual_seed(2)
    source = models.get(name).eval()
    shape = (1, 28, 28) if name in ("lenet5", "simple_cnn", "small_vgg") else (3, 64, 64)
    x = np.random.default_rng(0).standard_normal((2,) + shape).astype(np.float32)
    with convscope.no_grad():
        want = source(x).data
    state = {k: torch.from_numpy(np.array(v)) for k, v in source.state_dict().items()}
    torch.save(state, str(tmp_path / "w.pt"))
    save_torch(state, str(tmp_path / "w.safetensors"))
    for file in ("w.pt", "w.safetensors"):
        convscope.manual_seed(3)
        net = models.get(name)
        net.load_state_dict(weights.load_torch(tmp_path / file))
        with convscope.no_grad():
            got = net.eval()(x).data
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max(), err_msg=file)
