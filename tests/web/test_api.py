"""The explorer's JSON API through FastAPI's test client: every endpoint, and its numbers
against the library (forward hooks, summary, filters), never against the server's own code."""

import numpy as np
import pytest

import convscope
from convscope import models
from convscope.autograd import Tensor, no_grad
from convscope.filters import apply, describe, kernels

from .conftest import png_bytes


def hooked_outputs(model, batch):
    """Every leaf layer's output through register_forward_hook, independently of the server."""
    outputs = {}
    handles = [m.register_forward_hook(lambda mod, args, out, name=name: outputs.__setitem__(name, out.numpy()))
               for name, m in model.named_modules() if name and next(m.children(), None) is None]
    with no_grad():
        model(Tensor(batch))
    for h in handles:
        h.remove()
    return outputs


@pytest.fixture(scope="module")
def lenet():
    return models.get("lenet5", weights="bundled").eval()


@pytest.fixture(scope="module")
def forward(client, digit):
    response = client.post("/api/forward", json={"model": "lenet5", "input": digit["input"]})
    assert response.status_code == 200, response.text
    return response.json()


def test_health_and_the_page(client):
    assert client.get("/api/health").json()["status"] == "ok"
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name, kind in (("app.js", "javascript"), ("app.css", "css")):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"]
    # nothing on the page comes from elsewhere: no http(s) URL in the markup, script or style
    for name in ("/", "/static/app.js", "/static/app.css"):
        assert "http://" not in client.get(name).text and "https://" not in client.get(name).text


def test_openapi_documents_every_endpoint(client):
    spec = client.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {"/api/health", "/api/models", "/api/models/{key}", "/api/models/{key}/filters", "/api/samples",
            "/api/samples/{sample_id}", "/api/input", "/api/forward", "/api/cell", "/api/playground",
            "/api/playground/cases", "/api/filters", "/api/filter"} <= paths
    assert "CellBody" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 404          # the Swagger page loads a CDN: not served


def test_models_list_the_whitelist_with_inputs_and_classes(client):
    listing = client.get("/api/models").json()
    lenet, vgg = listing["models"]
    assert (lenet["key"], lenet["input_shape"], lenet["trained"]) == ("lenet5", [1, 28, 28], True)
    assert lenet["dataset"] == "mnist"
    assert vgg["classes"][0] == "T-shirt/top" and vgg["dataset"] == "fashion-mnist"
    assert listing["limits"]["max_upload_bytes"] == 4 * 1024 * 1024


def test_model_detail_is_convscope_summary(client, lenet):
    detail = client.get("/api/models/lenet5").json()
    table = convscope.summary(lenet, (1, 28, 28))
    assert [r["name"] for r in detail["layers"]] == [r.name for r in table]
    conv2 = detail["layers"][3]
    assert (conv2["receptive_field"], conv2["jump"], conv2["start"]) == ([14, 14], [2, 2], [4.5, 4.5])
    assert detail["conv_layers"] == ["0", "3"] and detail["total_params"] == 61706


def test_samples_have_thumbnails_and_become_inputs(client, digit):
    samples = client.get("/api/samples").json()["samples"]
    ids = [s["id"] for s in samples]
    assert {"digit-0", "digit-9", "fashion-0", "pattern-checkerboard"} <= set(ids)
    assert all(s["thumbnail"].startswith("data:image/png;base64,") for s in samples)
    from convscope.data import MNIST

    test = MNIST.bundled(train=False)
    index = int(digit["label"].split("test image ")[1].rstrip(")"))
    assert test.targets[index] == 7
    expected = (test.data[index].astype(np.float32) / 255 - 0.1307) / 0.3081
    np.testing.assert_allclose(np.array(digit["input"])[0], expected, rtol=1e-6, atol=1e-6)
    assert digit["shape"] == [1, 28, 28] and np.array(digit["preview"]).shape == (28, 28)


def test_an_upload_becomes_the_model_input(client):
    picture = np.full((64, 48, 3), 255, np.uint8)        # dark strokes on white: inverted for LeNet-5
    picture[8:56, 20:28] = 0
    response = client.post("/api/input", files={"file": ("one.png", png_bytes(picture), "image/png")},
                           data={"model": "lenet5"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["shape"] == [1, 28, 28] and body["label"] == "one.png"
    assert any("inverted" in n for n in body["notes"]) and any("resized from 64x48" in n for n in body["notes"])
    assert any("grey" in n for n in body["notes"])
    x = np.array(body["input"])[0] * 0.3081 + 0.1307          # back to 0..1: bright stroke on black
    assert x[14, 14] > 0.9 and x[2, 2] < 0.05
    assert np.array(body["preview"]).shape == (64, 48)


def test_a_drawing_is_framed_like_an_mnist_digit(client):
    drawing = np.zeros((196, 196), np.uint8)
    drawing[20:60, 150:160] = 255                          # a short stroke in a corner
    body = client.post("/api/input", files={"file": ("d.png", png_bytes(drawing), "image/png")},
                       data={"model": "lenet5", "centre": "true"}).json()
    x = np.array(body["input"])[0] * 0.3081 + 0.1307
    rows, cols = np.nonzero(x > 0.5)
    assert 3 <= rows.min() and rows.max() <= 24 and abs((rows.min() + rows.max()) / 2 - 13.5) <= 1.5
    assert abs((cols.min() + cols.max()) / 2 - 13.5) <= 1.5
    assert body["source"] == "drawing"


def test_forward_maps_are_the_forward_hook_outputs(forward, digit, lenet):
    batch = np.array(digit["input"], np.float32)[None]
    hooked = hooked_outputs(lenet, batch)
    names = [layer["name"] for layer in forward["layers"]]
    assert names == ["0", "1", "2", "3", "4", "5", "7", "8", "9", "10", "11"]      # no Flatten row
    for layer in forward["layers"]:
        want = hooked[layer["name"]][0]
        got = np.array(layer["values"])
        assert got.shape == want.shape
        assert layer["limit"] == pytest.approx(float(np.abs(want).max()), rel=1e-6)
        np.testing.assert_allclose(got, want, atol=layer["limit"] * 1e-4)          # 5 significant digits
    probabilities = np.array(forward["output"]["probabilities"])
    logits = hooked["11"][0].astype(np.float64)
    np.testing.assert_allclose(probabilities, np.exp(logits) / np.exp(logits).sum(), rtol=1e-6)
    assert forward["output"]["prediction"] == 7 and forward["output"]["classes"][7] == "7"


def test_forward_caps_channels_and_layers(client):
    from convscope.web import Settings, create_app

    from .conftest import local_client

    small = local_client(create_app(["small_vgg"], Settings(max_channels=4, max_layers=5)))
    sample = small.get("/api/samples/fashion-0", params={"model": "small_vgg"}).json()
    body = small.post("/api/forward", json={"model": "small_vgg", "input": sample["input"]}).json()
    assert len(body["layers"]) == 5 and body["layers_total"] == 17
    assert body["layers"][0]["shape"] == [32, 28, 28] and np.array(body["layers"][0]["values"]).shape == (4, 28, 28)


def test_a_conv_cell_is_its_dot_product_written_out(client, digit, lenet, forward):
    batch = np.array(digit["input"], np.float32)[None]
    hooked = hooked_outputs(lenet, batch)
    channel, row, col = 2, 4, 5
    cell = client.post("/api/cell", json={"model": "lenet5", "input": digit["input"], "layer": "3",
                                          "channel": channel, "row": row, "col": col}).json()
    assert cell["kind"] == "conv" and cell["source"] == "2" and cell["source_shape"] == [6, 14, 14]
    assert cell["value"] == pytest.approx(float(hooked["3"][0, channel, row, col]), rel=1e-7)
    overview = next(layer for layer in forward["layers"] if layer["name"] == "3")
    assert cell["value"] == pytest.approx(overview["values"][channel][row][col], abs=overview["limit"] * 1e-4)
    weight = lenet[3].weight.numpy()[channel]
    window = hooked["2"][0][:, row:row + 5, col:col + 5]                   # stride 1, no padding
    assert cell["window"] == {"rows": list(range(row, row + 5)), "cols": list(range(col, col + 5)),
                              "inside": [[True] * 5] * 5}
    for term in cell["terms"]:
        c = term["channel"]
        np.testing.assert_array_equal(np.array(term["weights"]), weight[c])
        np.testing.assert_array_equal(np.array(term["inputs"]), window[c])
        np.testing.assert_allclose(np.array(term["products"]), weight[c].astype(float) * window[c], rtol=1e-12)
        assert term["sum"] == pytest.approx(float(np.sum(term["products"])), rel=1e-12)
    assert cell["bias"] == pytest.approx(float(lenet[3].bias.numpy()[channel]))
    written = sum(np.sum(t["products"]) for t in cell["terms"]) + cell["bias"]
    assert written == pytest.approx(cell["total"], rel=1e-12)
    assert cell["total"] == pytest.approx(cell["value"], rel=1e-5, abs=1e-6)
    rf = cell["receptive_field"]
    window_on_input = convscope.viz.receptive_window(lenet, "3", (row, col), (1, 28, 28), clip=False)
    assert (rf["rows"], rf["cols"]) == tuple(list(w) for w in window_on_input)
    assert rf["receptive_field"] == [14, 14] and rf["jump"] == [2, 2]


def test_a_padded_conv_cell_reads_zeros_on_the_padding(client, digit, lenet):
    cell = client.post("/api/cell", json={"model": "lenet5", "input": digit["input"], "layer": "0",
                                          "channel": 1, "row": 0, "col": 27}).json()
    assert cell["window"]["rows"] == [-2, -1, 0, 1, 2] and cell["window"]["cols"] == [25, 26, 27, 28, 29]
    inside = np.array(cell["window"]["inside"])
    assert not inside[:2].any() and not inside[:, 3:].any() and inside[2:, :3].all()
    inputs = np.array(cell["terms"][0]["inputs"])
    assert np.all(inputs[~inside] == 0)
    np.testing.assert_array_equal(inputs[2:, :3], np.array(digit["input"], np.float32)[0, 0:3, 25:28])
    assert cell["total"] == pytest.approx(cell["value"], rel=1e-5, abs=1e-6)
    assert cell["receptive_field"]["rows"] == [-2, 3] and cell["receptive_field"]["inside_rows"] == [0, 3]


@pytest.mark.parametrize("layer, channel, row, col, kind", [
    ("1", 3, 10, 12, "elementwise"), ("2", 0, 7, 7, "pool"), ("5", 5, 2, 3, "pool"),
    ("7", 17, 0, 0, "linear"), ("11", 7, 0, 0, "linear"), ("0", 5, 27, 27, "conv"),
])
def test_every_cell_kind_adds_up_to_the_engine_value(client, digit, lenet, layer, channel, row, col, kind):
    hooked = hooked_outputs(lenet, np.array(digit["input"], np.float32)[None])
    cell = client.post("/api/cell", json={"model": "lenet5", "input": digit["input"], "layer": layer,
                                          "channel": channel, "row": row, "col": col}).json()
    assert cell["kind"] == kind
    index = (0, channel, row, col) if hooked[layer].ndim == 4 else (0, channel)
    assert cell["value"] == pytest.approx(float(hooked[layer][index]), rel=1e-7)
    if kind == "elementwise":
        assert cell["op"] == "relu" and cell["value"] == max(0.0, cell["input"])
        assert cell["input"] == pytest.approx(float(hooked["0"][index]))
    else:
        assert cell["total"] == pytest.approx(cell["value"], rel=1e-5, abs=1e-5)
    if kind == "linear":
        assert len(cell["terms"]) + cell["rest_count"] == cell["inputs_count"]
        assert "receptive_field" not in cell


def test_batch_norm_cells_use_the_running_statistics(client):
    sample = client.get("/api/samples/fashion-3", params={"model": "small_vgg"}).json()
    cell = client.post("/api/cell", json={"model": "small_vgg", "input": sample["input"], "layer": "1",
                                          "channel": 4, "row": 9, "col": 14}).json()
    vgg = models.get("small_vgg", weights="bundled")
    bn = dict(vgg.named_modules())["1"]
    assert cell["kind"] == "batch_norm"
    assert cell["mean"] == pytest.approx(float(bn.running_mean[4]))
    assert cell["var"] == pytest.approx(float(bn.running_var[4]))
    assert cell["total"] == pytest.approx(cell["value"], rel=1e-5, abs=1e-6)
    conv = client.post("/api/cell", json={"model": "small_vgg", "input": sample["input"], "layer": "0",
                                          "channel": 4, "row": 9, "col": 14}).json()
    assert conv["bias"] == 0.0 and conv["total"] == pytest.approx(conv["value"], rel=1e-5, abs=1e-6)


def test_learned_filters_are_match_classic(client, lenet):
    body = client.get("/api/models/lenet5/filters", params={"layer": "3"}).json()
    matches = convscope.viz.match_classic(lenet[3], max_filters=64)
    assert body["weight_shape"] == [16, 6, 5, 5] and body["shown"] == 16
    for got, want in zip(body["filters"], matches):
        assert (got["filter"], got["channel"], got["nearest"]) == (want.filter, want.channel, want.name)
        np.testing.assert_array_equal(np.array(got["learned"]), want.learned)
        assert got["similarity"] == pytest.approx(want.similarity)
    assert client.get("/api/models/lenet5/filters").json()["layer"] == "0"          # default: the first conv


def test_playground_gives_the_formula_and_every_window(client):
    body = client.post("/api/playground", json={"input_size": 5, "kernel_size": 3, "stride": 2, "padding": 1}).json()
    assert body["output_size"] == [3, 3]
    assert body["formula"]["height"] == str(convscope.analysis.conv_output_size(5, 3, 2, 1).explain()) \
        == "out = floor((5 + 2*1 - 1*(3-1) - 1) / 2) + 1 = 3"
    assert len(body["frames"]) == 9 and body["frames"][4] == {
        "cell": [1, 1], "rows": [2, 3, 4], "cols": [2, 3, 4],
        "caption": "step 5 of 9: output (1, 1) = sum of the 3x3 window at rows 2-4, cols 2-4 of the padded input",
        "detail": "9 of its 9 taps on input cells, 0 on zeros"}
    assert body["grid"]["rows"]["source"] == [None, 0, 1, 2, 3, 4, None]
    transposed = client.post("/api/playground", json={"input_size": 3, "kernel_size": 3, "stride": 2, "padding": 1,
                                                      "transposed": True, "output_padding": 1}).json()
    assert transposed["output_size"] == [6, 6] and transposed["grid"]["rows"]["source"][:3] == [None, 0, None]
    rect = client.post("/api/playground", json={"input_size": [4, 6], "kernel_size": [1, 3], "dilation": [1, 2]}).json()
    assert rect["output_size"] == [4, 2] and rect["frames"][0]["cols"] == [0, 2, 4]
    cases = client.get("/api/playground/cases").json()["cases"]
    assert len(cases) == 15 and cases[0]["name"] == "no_padding_no_strides"


def test_filter_playground_is_filters_apply_and_describe(client, digit):
    image = np.array(digit["preview"])
    body = client.post("/api/filter", json={"kernel": "gaussian", "params": {"sigma": 1.5}, "image": image.tolist(),
                                            "boundary": "symm"}).json()
    kernel = kernels.gaussian(1.5)
    np.testing.assert_allclose(np.array(body["kernel"]), kernel)
    want = apply(image, kernel, boundary="symm")
    np.testing.assert_allclose(np.array(body["result"]["values"]), want, atol=np.abs(want).max() * 1e-4)
    assert body["description"] == str(describe(kernel))
    laplacian = [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    custom = client.post("/api/filter", json={"kernel": laplacian, "image": image.tolist()}).json()
    assert custom["method"] == "abs" and "nearest named kernel: laplacian" in custom["description"]
    assert np.array(custom["display"]).max() == 255
    listing = client.get("/api/filters").json()["filters"]
    assert {f["name"] for f in listing} == set(convscope.filters.available())
