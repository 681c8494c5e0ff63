"""convscope.scale.filter on Dask arrays equals the in-memory filters.apply, for every boundary,
mode, odd and even kernel, dilation, stride, layout and chunking, on the local scheduler and on a
dask.distributed LocalCluster; bad arguments are caught before any graph is built."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convscope import filters

da = pytest.importorskip("dask.array", reason="the scale extra (dask) is not installed")
from convscope import scale  # noqa: E402

BOUNDARIES = ["reflect", "symm", "replicate", "wrap", "fill"]


def dilate(k, d):
    out = np.zeros(((k.shape[0] - 1) * d[0] + 1, (k.shape[1] - 1) * d[1] + 1) + k.shape[2:], k.dtype)
    out[::d[0], ::d[1]] = k
    return out


@st.composite
def cases(draw):
    p, q = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    d = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pe, qe = (p - 1) * d[0] + 1, (q - 1) * d[1] + 1
    h, w = draw(st.integers(pe + 1, 40)), draw(st.integers(qe + 1, 40))
    layout = draw(st.sampled_from(["2d", "hwc", "nhwc"]))
    chunks = (draw(st.integers(1, 17)), draw(st.integers(1, 17)))
    return dict(p=p, q=q, d=d, h=h, w=w, layout=layout, chunks=chunks,
                mode=draw(st.sampled_from(["same", "valid", "full"])), boundary=draw(st.sampled_from(BOUNDARIES)),
                stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                channels=draw(st.sampled_from(["each", "all"])), kernel3d=draw(st.booleans()),
                dtype=draw(st.sampled_from(["float32", "float64", "uint8"])), seed=draw(st.integers(0, 2**16)))


@settings(max_examples=120, deadline=None)
@given(cases())
def test_chunked_filtering_equals_the_in_memory_result(c):
    rng = np.random.default_rng(c["seed"])
    shape = {"2d": (c["h"], c["w"]), "hwc": (c["h"], c["w"], 3), "nhwc": (2, c["h"], c["w"], 3)}[c["layout"]]
    image = (rng.random(shape) * 255).astype(c["dtype"])
    kernel = rng.standard_normal((c["p"], c["q"]) + ((3,) if c["kernel3d"] and c["layout"] != "2d" else ()))
    chunks = {"2d": c["chunks"], "hwc": c["chunks"] + (2,), "nhwc": (1,) + c["chunks"] + (2,)}[c["layout"]]
    if c["boundary"] in ("reflect", "symm", "wrap") and c["mode"] == "full":
        pe, qe = (c["p"] - 1) * c["d"][0] + 1, (c["q"] - 1) * c["d"][1] + 1
        if pe - 1 >= c["h"] - 1 or qe - 1 >= c["w"] - 1:
            return
    options = dict(mode=c["mode"], boundary=c["boundary"], fillvalue=1.5, channels=c["channels"], stride=c["stride"])
    expected = filters.apply(image, dilate(kernel, c["d"]), **options)
    lazy = scale.filter(da.from_array(image, chunks=chunks), kernel, dilation=c["d"], **options)
    assert lazy.shape == expected.shape and lazy.dtype == expected.dtype
    got = lazy.compute(scheduler="threads")
    tol = 1e-4 if expected.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * max(1.0, float(np.abs(expected).max())))


def test_nothing_is_computed_until_asked():
    calls = []
    source = da.from_delayed(__import__("dask").delayed(lambda: calls.append(1) or np.ones((64, 64)))(), (64, 64), float)
    lazy = scale.filter(source, np.ones((3, 3)) / 9)
    assert calls == [] and lazy.shape == (64, 64)
    np.testing.assert_allclose(lazy.compute(), 1.0)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(boundary="mirror"), ValueError, r"boundary expects one of"),
    (dict(mode="half"), ValueError, r"mode expects one of"),
    (dict(dilation=0), ValueError, r"scale.filter: dilation"),
    (dict(stride=0), ValueError, r"stride"),
])
def test_bad_arguments_fail_before_the_graph(kwargs, error, message):
    with pytest.raises(error, match=message):
        scale.filter(da.zeros((32, 32), chunks=8), np.ones((3, 3)), **kwargs)


def test_a_kernel_wider_than_the_image_with_a_mirror_boundary_is_refused():
    with pytest.raises(ValueError, match=r"expects the image's W \(4\) larger than the kernel's padding"):
        scale.filter(da.zeros((32, 4), chunks=8), np.ones((3, 11)))


def test_the_same_on_a_distributed_local_cluster():
    distributed = pytest.importorskip("distributed")
    rng = np.random.default_rng(0)
    image = rng.random((257, 193), dtype=np.float32)
    kernel = rng.standard_normal((4, 5)).astype(np.float32)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        for boundary in BOUNDARIES:
            lazy = scale.filter(da.from_array(image, chunks=(64, 50)), kernel, boundary=boundary, dilation=(2, 1))
            got = client.compute(lazy).result()
            expected = filters.apply(image, dilate(kernel, (2, 1)), boundary=boundary)
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------- predict

def test_predict_equals_the_model_on_the_whole_batch():
    import convscope
    from convscope import data, models
    convscope.manual_seed(0)
    net = models.get("lenet5")
    x = np.random.default_rng(0).random((130, 1, 28, 28), dtype=np.float32)
    norm = data.Normalize(0.1307, 0.3081)
    net.eval()
    with convscope.no_grad():
        expected = np.asarray(net(norm(x)).data)
    for chunks, batch in [(130, 256), (17, 40), (64, 64)]:
        got = scale.predict(net, da.from_array(x, chunks=(chunks, 1, 28, 28)), batch_size=batch, transform=norm)
        assert got.chunks[0][0] == min(batch, 130)
        np.testing.assert_allclose(got.compute(), expected, rtol=1e-5, atol=1e-5)
    probs = scale.predict(net, x, softmax=True).compute()
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


def test_predict_reads_a_folder_of_images(tmp_path):
    from PIL import Image
    from convscope import models
    net = models.get("lenet5")
    rng = np.random.default_rng(1)
    pixels = (rng.random((5, 28, 28)) * 255).astype(np.uint8)
    for i, p in enumerate(pixels):
        Image.fromarray(p).save(tmp_path / f"{i}.png")
    got = scale.predict(net, tmp_path, batch_size=2).compute()
    assert net.training                                       # predict evaluates a copy
    expected = scale.predict(net, pixels[:, None].astype(np.float32) / 255).compute()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    Image.fromarray(np.zeros((20, 28), np.uint8)).save(tmp_path / "9.png")
    with pytest.raises(ValueError, match=r"every image expects the first one's shape \(28, 28\)"):
        scale.predict(net, tmp_path).compute()


@pytest.mark.parametrize("images, kwargs, error, message", [
    ("no-such-folder", {}, ValueError, r"is not a folder"),
    (np.zeros((4, 1, 28, 28), np.float32), {"batch_size": 0}, ValueError, r"batch_size expects a positive int"),
    (np.zeros(4, np.float32), {}, ValueError, r"expects \(N, C, H, W\) samples"),
])
def test_predict_argument_errors(images, kwargs, error, message):
    from convscope import models
    with pytest.raises(error, match=message):
        scale.predict(models.get("lenet5"), images, **kwargs)
    with pytest.raises(TypeError, match=r"model expects a convscope.nn.Module"):
        scale.predict("lenet5", np.zeros((1, 1, 28, 28)))
