"""ONNX export through the op hook: every zoo model (VGG at its real 224x224 input is left to a
manual check: 530 MB a file) is written, passes onnx.checker, and onnxruntime's outputs agree with
convscope's within 1e-4 relative, for a batch size other than the exported one."""

import numpy as np
import pytest

import convscope
from convscope import models, nn

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
from convscope import onnx as cs_onnx  # noqa: E402

CASES = [("lenet5", (1, 28, 28)), ("simple_cnn", (1, 28, 28)), ("small_vgg", (1, 28, 28)), ("tiny_vgg", (3, 64, 64)),
         ("resnet18", (3, 64, 64)), ("resnet34", (3, 64, 64)), ("resnet50", (3, 64, 64)), ("googlenet", (3, 64, 64)),
         ("mobilenet_v1", (3, 64, 64)), ("dilated_segmenter", (3, 48, 64)), ("alexnet", (3, 224, 224))]


def run_both(net, shape, path, batch=3):
    x = np.random.default_rng(0).standard_normal((batch,) + shape).astype(np.float32)
    with convscope.no_grad():
        expected = np.asarray(net.eval()(x).data)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    return got, expected


@pytest.mark.parametrize("name, shape", CASES)
def test_a_zoo_model_runs_the_same_in_onnxruntime(name, shape, tmp_path):
    convscope.manual_seed(0)
    net = models.get(name)
    net.train()
    path = cs_onnx.export(net, shape, tmp_path / f"{name}.onnx")
    assert net.training                                          # the mode is restored
    onnx.checker.check_model(str(path))
    got, expected = run_both(net, shape, path)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * float(np.abs(expected).max()))


def test_trained_batch_norm_statistics_travel(tmp_path):
    convscope.manual_seed(1)
    net = models.get("small_vgg")
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean[...] = np.random.default_rng(2).standard_normal(module.running_mean.shape)
            module.running_var[...] = 0.5 + np.random.default_rng(3).random(module.running_var.shape)
    path = cs_onnx.export(net, (1, 28, 28), tmp_path / "bn.onnx")
    got, expected = run_both(net, (1, 28, 28), path)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_an_op_without_onnx_form_is_named(tmp_path):
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv3d(1, 2, 3)

        def forward(self, x):
            return self.conv(x)

    with pytest.raises(ValueError, match=r"export: the op 'conv3d' has no ONNX export yet"):
        cs_onnx.export(Odd(), (1, 5, 5, 5), tmp_path / "odd.onnx")
    assert not (tmp_path / "odd.onnx").exists()


@pytest.mark.parametrize("model, shape, message", [
    ("lenet5", (1, 28, 28), r"model expects a convscope.nn.Module"),
    (None, (0, 28), r"input_shape expects one sample's shape as positive ints"),
    (None, "1x28x28", r"input_shape expects"),
])
def test_bad_arguments(model, shape, message, tmp_path):
    net = model if model is not None else models.get("lenet5")
    with pytest.raises(TypeError, match=message):
        cs_onnx.export(net, shape, tmp_path / "x.onnx")


# --------------------------------------------------------------------------- import (round trip)

@pytest.mark.parametrize("name, shape", [c for c in CASES if c[0] != "alexnet"])
def test_a_zoo_model_round_trips_through_onnx(name, shape, tmp_path):
    convscope.manual_seed(0)
    net = models.get(name).eval()
    path = cs_onnx.export(net, shape, tmp_path / f"{name}.onnx")
    back = cs_onnx.load(path)
    x = np.random.default_rng(1).standard_normal((2,) + shape).astype(np.float32)
    with convscope.no_grad():
        expected = np.asarray(net(x).data)
        got = np.asarray(back.eval()(x).data)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * float(np.abs(expected).max()))
    trainable = sum(p.numel() for p in back.parameters())
    assert trainable == sum(p.numel() for p in net.parameters())


def test_an_imported_model_trains_exactly_like_the_original(tmp_path):
    from convscope import optim

    def losses(net):
        x = convscope.Tensor(np.random.default_rng(0).random((8, 1, 28, 28), dtype=np.float32))
        labels = np.arange(8) % 10
        loss_fn, opt = nn.CrossEntropyLoss(), optim.Adam(net.parameters(), lr=1e-2)
        seen = []
        for _ in range(12):
            loss = loss_fn(net.train()(x), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen.append(float(loss.data))
        return seen

    convscope.manual_seed(0)
    original = models.get("lenet5")
    imported = cs_onnx.load(cs_onnx.export(original, (1, 28, 28), tmp_path / "l.onnx"))
    curve = losses(imported)
    assert curve[-1] < curve[0]
    np.testing.assert_allclose(curve, losses(original), rtol=1e-5)


def test_an_unsupported_onnx_op_is_named_at_load(tmp_path):
    from onnx import TensorProto, helper
    node = helper.make_node("Einsum", ["input", "input"], ["output"], equation="ij,ij->ij", name="mystery")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [2, 2])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [2, 2])])
    path = tmp_path / "einsum.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(ValueError, match=r"the ONNX op 'Einsum' \(node 'mystery'\) is not supported"):
        cs_onnx.load(path)
    (tmp_path / "junk.onnx").write_bytes(b"\x00\x01garbage")
    with pytest.raises(ValueError, match=r"is not an ONNX model file"):
        cs_onnx.load(tmp_path / "junk.onnx")
