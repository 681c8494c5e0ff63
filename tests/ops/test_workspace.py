"""The workspace bound, the scratch cache and the memory limit of the conv engine.

The engine cuts every conv path into blocks (whole samples, bands of output rows, runs along a
later dim, single positions); these tests force each kind with a tiny chunk target, compare the
result with the unchunked engine and with PyTorch (values and every gradient, 1-D to 3-D, plain
and transposed), measure the temporaries with tracemalloc, and run the large case of the
acceptance criterion in a subprocess under a 2 GiB address-space limit.
"""

import json
import os
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope
import convscope.nn.functional as F
from convscope import backend, errors
from convscope.ops import conv as C
from convscope.ops.algorithms import gemm
from tests._reference import torch

PT_CONV = {1: torch.nn.functional.conv1d, 2: torch.nn.functional.conv2d, 3: torch.nn.functional.conv3d}
PT_CONV_T = {1: torch.nn.functional.conv_transpose1d, 2: torch.nn.functional.conv_transpose2d,
             3: torch.nn.functional.conv_transpose3d}
# chunk targets: 1 byte = single output positions; 300 = runs; 3000 = row bands; 4 MiB = samples
TARGETS = st.sampled_from([1, 300, 3000, 4 * 2**20])


def close(got, want, rtol=1e-10, what=""):
    want = want.detach().numpy() if hasattr(want, "detach") else np.asarray(want)
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale, err_msg=what)


def torch_grads(fn, x, w, b, gy):
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = fn(xt, wt, bt)
    y.backward(torch.from_numpy(gy))
    return y, xt.grad, wt.grad, bt.grad


# --------------------------------------------------------------------------- chunked == unchunked == torch

@st.composite
def conv_case(draw, transposed=False):
    n = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 2))
    cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 2 if n == 3 else 3)) for _ in range(n))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(n))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(n))
    most = {1: 12, 2: 8, 3: 4}[n]
    if transposed:
        spatial = tuple(draw(st.integers(1, most // 2 + 1)) for _ in range(n))
        output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
        padding = tuple(draw(st.integers(0, min(2, ((m - 1) * s + d * (k - 1) + op) // 2)))
                        for m, s, d, k, op in zip(spatial, stride, dilation, kernel, output_padding))
        geometry = dict(padding=padding, output_padding=output_padding)
    else:
        pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(n))
        spatial = tuple(max(1, d * (k - 1) + 1 - lo - hi) + draw(st.integers(0, most))
                        for k, d, (lo, hi) in zip(kernel, dilation, pads))
        geometry = dict(pads=pads)
    return dict(n=n, groups=groups, cg=cg, og=og, kernel=kernel, stride=stride, dilation=dilation,
                spatial=spatial, batch=draw(st.integers(1, 3)), target=draw(TARGETS),
                seed=draw(st.integers(0, 2**31 - 1)), **geometry)


@settings(max_examples=150)
@given(conv_case())
def test_chunked_conv_matches_unchunked_and_torch(case):
    rng = np.random.default_rng(case["seed"])
    n, g = case["n"], case["groups"]
    x = rng.standard_normal((case["batch"], case["cg"] * g) + case["spatial"])
    w = rng.standard_normal((case["og"] * g, case["cg"]) + case["kernel"])
    b = rng.standard_normal(case["og"] * g)
    args = (case["stride"], case["pads"], case["dilation"], g)
    full_y = C.conv_forward(x, w, b, *args)
    gy = rng.standard_normal(full_y.shape)
    full_grads = C.conv_backward(gy, x, w, *args)
    with backend.workspace(2**20), backend.chunk_target(case["target"]):
        y = C.conv_forward(x, w, b, *args)
        grads = C.conv_backward(gy, x, w, *args)
    flat = [p for pair in reversed(case["pads"]) for p in pair]
    pt = torch_grads(lambda x_, w_, b_: PT_CONV[n](torch.nn.functional.pad(x_, flat), w_, b_, case["stride"], 0,
                                                   case["dilation"], g), x, w, b, gy)
    for name, got, full, want in zip(("y", "gx", "gw", "gb"), (y,) + grads, (full_y,) + full_grads, pt):
        close(got, full, 1e-12, f"{name} chunked vs unchunked {case}")
        close(got, want, 1e-10, f"{name} vs torch {case}")


@settings(max_examples=120)
@given(conv_case(transposed=True))
def test_chunked_conv_transpose_matches_unchunked_and_torch(case):
    rng = np.random.default_rng(case["seed"])
    n, g = case["n"], case["groups"]
    x = rng.standard_normal((case["batch"], case["cg"] * g) + case["spatial"])
    w = rng.standard_normal((case["cg"] * g, case["og"]) + case["kernel"])
    b = rng.standard_normal(case["og"] * g)
    args = (case["stride"], case["padding"], case["output_padding"], case["dilation"], g)
    full_y = C.conv_transpose_forward(x, w, b, *args)
    gy = rng.standard_normal(full_y.shape)
    full_grads = C.conv_transpose_backward(gy, x, w, *args)
    with backend.workspace(2**20), backend.chunk_target(case["target"]):
        y = C.conv_transpose_forward(x, w, b, *args)
        grads = C.conv_transpose_backward(gy, x, w, *args)
    pt = torch_grads(lambda x_, w_, b_: PT_CONV_T[n](x_, w_, b_, case["stride"], case["padding"],
                                                     case["output_padding"], g, case["dilation"]), x, w, b, gy)
    for name, got, full, want in zip(("y", "gx", "gw", "gb"), (y,) + grads, (full_y,) + full_grads, pt):
        close(got, full, 1e-12, f"{name} chunked vs unchunked {case}")
        close(got, want, 1e-10, f"{name} vs torch {case}")


def test_public_ops_chunk_within_a_sample_float32():
    """Through nn.functional and autograd, float32, one sample larger than a 1 MiB workspace."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, 150, 140), dtype=np.float32)
    w = rng.standard_normal((4, 3, 5, 5), dtype=np.float32)
    b = rng.standard_normal(4, dtype=np.float32)
    want = PT_CONV[2](*map(torch.from_numpy, (x, w, b)), stride=(2, 1), padding=(2, 3), dilation=(1, 2))
    with backend.workspace(2**20):             # one sample's columns: 3 * 25 * 75 * 138 * 4 = 3.1 MB
        got = F.conv2d(x, w, b, stride=(2, 1), padding=(2, 3), dilation=(1, 2))
    close(got, want, 1e-4)


# --------------------------------------------------------------------------- blocks

def cols_cost(n, sizes):
    cols = n * int(np.prod(sizes)) * 100
    return cols, cols


@pytest.mark.parametrize("target, out, first_region", [
    (4 * 2**20, (40, 30), (slice(0, 40), slice(0, 30))),                 # whole samples
    (30 * 100 * 10, (40, 30), (slice(0, 10), slice(0, 30))),             # bands of 10 rows
    (30 * 100 * 7, (40, 30), (slice(0, 7), slice(0, 30))),               # 40 rows in bands of 7: 6 x 7 - 2
    (100 * 12, (40, 30), (slice(0, 1), slice(0, 10))),                   # a row is too large: runs of 10
    (1, (40, 30), (slice(0, 1), slice(0, 1))),                           # single positions
    (100 * 6 * 5, (4, 6, 5), (slice(0, 1), slice(0, 6), slice(0, 5))),   # 3-D: one depth slice
])
def test_blocks_cover_the_output_once_within_the_target(target, out, first_region):
    with backend.chunk_target(target):
        blocks = list(gemm._blocks(2, out, cols_cost))
        cover = np.zeros((2,) + out, dtype=int)
        for samples, region in blocks:
            cover[(samples,) + region] += 1
            assert cols_cost(samples.stop - samples.start, gemm._sizes(region))[0] <= max(target, 100)
    assert (cover == 1).all()
    assert blocks[0][1] == first_region


def test_blocks_are_balanced():
    with backend.chunk_target(30 * 100 * 60):           # 100 rows, at most 60 a block: 50 + 50
        assert [r[0] for _, r in gemm._blocks(1, (100, 30), cols_cost)] == [slice(0, 50), slice(50, 100)]


# --------------------------------------------------------------------------- the bound, measured

CONV_ARGS = ((1, 2), ((3, 3), (2, 4)), (1, 1), 2)              # stride, padding, dilation, groups
CONV_T_ARGS = ((2, 1), (1, 2), (1, 0), (1, 2), 1)             # stride, padding, output_padding, dilation, groups


def gradient_for(rng, x, w, transposed):
    if transposed:
        spatial = C.transpose_output_shape(x.shape[2:], w.shape[2:], *CONV_T_ARGS[:4])
        return rng.standard_normal((x.shape[0], w.shape[1] * CONV_T_ARGS[4]) + spatial)
    spatial = C.output_shape(x.shape[2:], w.shape[2:], CONV_ARGS[0], CONV_ARGS[1], CONV_ARGS[2])
    return rng.standard_normal((x.shape[0], w.shape[0]) + spatial)


PATHS = {   # x (1, 4, 96, 128): a strided view for the transposed conv; w (4, 2, 7, 7)
    "conv forward": lambda x, w, gy: C.conv_forward(x, w, None, *CONV_ARGS),
    "conv backward": lambda x, w, gy: C.conv_backward(gy, x, w, *CONV_ARGS),
    "transposed forward": lambda x, w, gy: C.conv_transpose_forward(x, w, None, *CONV_T_ARGS),
    "transposed backward": lambda x, w, gy: C.conv_transpose_backward(gy, x, w, *CONV_T_ARGS),
}


@pytest.mark.parametrize("path", PATHS)
def test_temporaries_stay_within_the_workspace(path, rng):
    """tracemalloc (NumPy reports to it) sees the call's peak: its results plus at most the bound.
    Unchunked, the conv's columns would be 4 * 49 * 96 * 64 * 8 = 9.6 MB; the bound is 1 MiB."""
    x = rng.standard_normal((1, 8, 96, 128))[:, ::2]
    w = rng.standard_normal((4, 2, 7, 7))
    gy = gradient_for(rng, x, w, transposed="transposed" in path)
    backend.release_scratch()
    with backend.workspace(2**20):
        tracemalloc.start()
        try:
            results = PATHS[path](x, w, gy)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert backend.scratch_bytes() <= 2**20
    kept = sum(a.nbytes for a in (results if isinstance(results, tuple) else (results,)) if a is not None)
    assert peak - kept <= 2**20 + 64 * 2**10, f"{path}: {peak - kept} bytes of temporaries"


# --------------------------------------------------------------------------- scratch cache

def test_scratch_buffers_above_the_workspace_are_not_kept():
    backend.release_scratch()
    with backend.workspace(2**20):
        small = backend.scratch("test.slot", (1000,), np.float64)
        assert backend.scratch_bytes() == small.nbytes
        big = backend.scratch("test.slot", (2**20,), np.float32)     # 4 MiB > the bound
        assert big.shape == (2**20,) and backend.scratch_bytes() == 0
        del big
        backend.scratch("test.slot", (1000,), np.float64)
    with backend.workspace(4 * 2**20):
        backend.scratch("test.slot", (3 * 2**20,), np.uint8)
        assert backend.scratch_bytes() == 3 * 2**20
        with backend.workspace(2**20):                                 # lowering the bound trims the cache
            assert backend.scratch_bytes() == 0
    backend.release_scratch()


def test_a_large_conv_leaves_no_large_buffer_cached(rng):
    x = rng.standard_normal((1, 3, 512, 512)).astype(np.float32)       # columns: 3 * 121 * 512^2 * 4 = 380 MB
    backend.release_scratch()
    F.conv2d(x, np.ones((2, 3, 11, 11), np.float32), padding=5)
    assert backend.scratch_bytes() <= backend.get_workspace_bytes()
    backend.release_scratch()


# --------------------------------------------------------------------------- memory limit

def test_an_output_above_the_memory_limit_raises_resource_error():
    x = np.broadcast_to(np.float32(1), (1, 64, 100000, 100000))        # 2.56 TB, never allocated
    with backend.memory_limit(8 * 2**30):
        with pytest.raises(convscope.ResourceError, match=r"^conv2d: the output of shape \(1, 64, 100000, 100000\) "
                           r"needs 2\.33 TiB, more than the memory limit of 8\.00 GiB "
                           r"\(convscope\.backend\.set_memory_limit\)$") as info:
            F.conv2d(x, np.ones((64, 64, 1, 1), np.float32))
    err = info.value
    assert isinstance(err, MemoryError)
    assert (err.op, err.shape, err.nbytes, err.limit) == ("conv2d", (1, 64, 100000, 100000), 64 * 10**10 * 4, 8 * 2**30)


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv1d(np.ones((2, 3, 5000)), np.ones((8, 3, 3)), padding=1),
     r"conv1d: the output of shape \(2, 8, 5000\) needs 625 KiB, more than the memory limit of 100 KiB"),
    (lambda: F.conv_transpose2d(np.ones((1, 2, 100, 100), np.float32), np.ones((2, 4, 2, 2), np.float32), stride=2),
     r"conv_transpose2d: the output of shape \(1, 4, 200, 200\) needs 625 KiB, more than"),
    (lambda: F.conv3d(np.ones((3, 20, 20, 20)), np.ones((4, 3, 1, 1, 1))),
     r"conv3d: the output of shape \(1, 4, 20, 20, 20\) needs 250 KiB, more than"),
    (lambda: C.conv_backward(np.ones((1, 1, 10, 10)), np.ones((1, 400, 10, 10)), np.ones((1, 400, 1, 1)),
                             (1, 1), ((0, 0), (0, 0)), (1, 1), 1, needs=(True, False, False)),
     r"conv2d: the input gradient of shape \(1, 400, 10, 10\) needs 312 KiB, more than"),
    (lambda: C.conv_forward(np.ones((1, 1, 10)), np.ones((1, 1, 1)), None, (1,), ((0, 20000),), (1,), 1,
                            name="my_filter"),
     r"my_filter: the output of shape \(1, 1, 20010\) needs 156 KiB"),
])
def test_resource_error_names_the_op_the_shape_and_the_bytes(call, message):
    with backend.memory_limit(100 * 2**10):
        with pytest.raises(MemoryError, match=message) as info:
            call()
    assert isinstance(info.value, errors.ResourceError)


def test_memory_limit_setting():
    default = backend.get_memory_limit()
    available = backend.available_memory()
    assert default == (available or 8 * 2**30) // 2
    if available is not None and hasattr(os, "sysconf"):
        assert available <= os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    with backend.memory_limit(2**20):
        assert backend.get_memory_limit() == 2**20
        assert backend.check_allocation("op", (512, 512), np.float32) == 2**20
        with pytest.raises(convscope.ResourceError, match=r"^op: the padded input of shape \(512, 513\)"):
            backend.check_allocation("op", (512, 513), np.float32, what="padded input")
    assert backend.get_memory_limit() == default
    with pytest.raises(ValueError, match=r"set_memory_limit: nbytes expects at least 1, but got 0"):
        backend.set_memory_limit(0)
    with pytest.raises(TypeError, match=r"set_memory_limit: nbytes expects an integer, but got '1G'"):
        backend.set_memory_limit("1G")
    assert convscope.ResourceError is errors.ResourceError and "ResourceError" in convscope.__all__
    assert [backend.format_bytes(v) for v in (512, 1536, 2**31, 1023 * 2**10 + 1000)] == \
        ["512 B", "1.50 KiB", "2.00 GiB", "1.00 MiB"]


# --------------------------------------------------------------------------- peak memory, acceptance

BIG_CASE = textwrap.dedent("""
    import json, resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))
    import numpy as np
    import convscope.nn.functional as F
    from convscope import backend

    def vm(field):  # Linux: current (VmRSS) and peak (VmHWM) resident set of this process alone
        try:
            with open("/proc/self/status") as f:
                return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field))
        except (OSError, StopIteration):
            return None

    baseline = vm("VmRSS:")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, 4096, 4096), dtype=np.float32)
    w = rng.standard_normal((8, 3, 11, 11), dtype=np.float32)
    b = rng.standard_normal(8, dtype=np.float32)
    start = time.perf_counter()
    y = F.conv2d(x, w, b, padding=5)
    seconds = time.perf_counter() - start
    # ru_maxrss also counts the parent's resident set at fork (Linux keeps it across exec), so it
    # bounds this process's peak from above; VmHWM is this process's own.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert y.shape == (1, 8, 4096, 4096), y.shape
    for o, i, j in [(0, 0, 0), (7, 4095, 4095), (3, 0, 2000), (5, 2047, 4090), (1, 1234, 5), (6, 3000, 3000)]:
        r0, r1, c0, c1 = max(i - 5, 0), min(i + 6, 4096), max(j - 5, 0), min(j + 6, 4096)
        window = x[0, :, r0:r1, c0:c1].astype(np.float64)
        taps = w[o, :, r0 - i + 5:r1 - i + 5, c0 - j + 5:c1 - j + 5].astype(np.float64)
        want = np.sum(window * taps) + b[o]
        assert abs(y[0, o, i, j] - want) <= 1e-4 * max(1.0, abs(want)), (o, i, j, y[0, o, i, j], want)
    print(json.dumps(dict(baseline=baseline, peak=peak, hwm=vm("VmHWM:"), input=x.nbytes, output=y.nbytes,
                          workspace=backend.get_workspace_bytes(), seconds=round(seconds, 2))))
""")
BASELINE_ALLOWANCE = 150 * 2**20     # Python, NumPy, OpenBLAS and convscope's modules (measured: ~36 MiB)


def test_large_image_stays_within_input_output_and_workspace():
    """(1, 3, 4096, 4096) * (8, 3, 11, 11), padding 5: once 20 GB of columns, now blocks of rows.

    Under RLIMIT_AS = 2 GiB it must finish with the right pixels, its peak RSS within
    input (192 MiB) + output (512 MiB) + workspace bound (256 MiB) + the baseline allowance.
    The engine copies no padded input, so there is no term for one. (Measured: a peak of about
    input + output + 40 MiB, some 5-10 s on 2 cores.)"""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", BIG_CASE], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"rc {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    m = json.loads(proc.stdout)
    bound = m["input"] + m["output"] + m["workspace"] + BASELINE_ALLOWANCE
    if m["hwm"] is not None:           # this process's own peak
        assert m["baseline"] <= BASELINE_ALLOWANCE, m
        assert m["hwm"] <= bound, m
    else:                              # ru_maxrss: also the parent's resident set at fork, an upper bound
        assert m["peak"] <= bound, m


def test_pad_checks_the_memory_limit_before_allocating():
    import convscope.nn.functional as F

    x = np.zeros((1, 1, 4, 4), np.float32)
    with pytest.raises(convscope.ResourceError, match=r"pad: the padded input of shape \(1, 1, 2097156, 2097156\) "
                                                      r"needs 16.0 TiB, more than the memory limit"):
        F.pad(x, (2**20,) * 4)                      # before: NumPy's "Unable to allocate 16.0 TiB"
