"""The `convscope filters`, `convscope apply` and `convscope describe` commands, run as a user runs them."""

import subprocess
import sys

import numpy as np
import pytest

from convscope import cli

pytest.importorskip("PIL")
for _module in ("kernels", "convolve", "describe"):
    pytest.importorskip(f"convscope.filters.{_module}", reason=f"convscope.filters.{_module} is not written yet")

from convscope.io.images import read_image, write_image  # noqa: E402


def run(*args, cwd=None):
    """Run ``python -m convscope ARGS``; return (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "convscope", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def test_filters_lists_names_and_descriptions():
    code, out, err = run("filters")
    assert code == 0 and err == ""
    lines = out.splitlines()
    sobel = next(line for line in lines if line.startswith("sobel_x "))
    assert "derivative" in sobel
    starts = {len(line) - len(line.split(None, 1)[1]) for line in lines}
    assert len(starts) == 1                              # descriptions start in one column


def test_apply_checkerboard_sobel_x_then_refuse_to_overwrite(tmp_path):
    out = tmp_path / "tmp" / "out.png"
    code, stdout, err = run("apply", "pattern:checkerboard", "--filter", "sobel_x", "-o", str(out))
    assert code == 0, err
    assert "256 x 256" in stdout and "sobel_x" in stdout and str(out) in stdout and "'abs'" in stdout
    edges = read_image(out)
    assert edges.shape == (256, 256) and edges.dtype == np.uint8
    # Squares are 32 wide: columns 31|32, 63|64, ... change horizontally and are bright;
    # the middle of each square is flat and black.
    assert edges[16, 31] == 255 and edges[16, 32] == 255 and edges[100, 95] == 255
    assert edges[:, 8:24].max() == 0
    before = out.read_bytes()
    code, stdout, err = run("apply", "pattern:checkerboard", "--filter", "box", "-o", str(out))
    assert code == 2 and "exists" in err and "--force" in err and stdout == ""
    assert out.read_bytes() == before
    code, _, err = run("apply", "pattern:checkerboard", "--filter", "box", "-o", str(out), "--force")
    assert code == 0, err
    assert out.read_bytes() != before
    assert [p.name for p in out.parent.iterdir()] == ["out.png"]


def test_apply_chain_on_a_colour_file_with_kernel_and_stride(tmp_path, rng):
    source = write_image(tmp_path / "in.png", rng.integers(0, 256, size=(40, 30, 3), dtype=np.uint8))
    out = tmp_path / "out.jpg"
    code, stdout, err = run("apply", str(source), "--filter", "gaussian:sigma=1.5", "--kernel", "[[1, 0, -1]]",
                            "--stride", "2", "--display", "rescale", "-o", str(out))
    assert code == 0, err
    assert stdout.index("gaussian:sigma=1.5") < stdout.index("[[1, 0, -1]]")
    assert "3 channels" in stdout and "'rescale'" in stdout
    assert read_image(out).shape == (20, 15, 3)


@pytest.mark.parametrize("args, message", [
    (["--kernel", "[[1, a]]"], "argument --kernel: expects a nested list of numbers"),
    (["--kernel", "[[1, 2], [3]]"], "rows of equal, non-zero length"),
    (["--kernel", "[]"], "non-empty list of rows"),
    (["--kernel", "[[1, nan]]"], "expects a nested list of numbers"),
    (["--kernel", "[['1']]"], "expects finite numbers, but got '1'"),
    (["--filter", "sobelx"], "name expects one of"),
    (["--filter", "gaussian:sigma"], "NAME:key=value"),
    (["--filter", "gaussian:sigma=-1"], "sigma expects a positive number"),
    (["--filter", "sobel_x", "--stride", "0"], "argument --stride: expects a positive integer"),
    ([], "expects at least one --filter NAME or --kernel"),
])
def test_apply_bad_filters_exit_2_with_a_message(tmp_path, args, message):
    code, stdout, err = run("apply", "pattern:impulse", *args, "-o", str(tmp_path / "out.png"))
    assert code == 2 and message in err and stdout == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("image, message", [
    ("garbage.png", "is not an image file"),
    ("missing.png", "no file at"),
    ("pattern:nope", "name expects one of pattern:checkerboard"),
    ("pattern:bars:widht=2", "accepts size, width, angle"),
])
def test_apply_bad_images_exit_2(tmp_path, image, message):
    (tmp_path / "garbage.png").write_bytes(b"\x89PNG but not really")
    code, stdout, err = run("apply", image, "--filter", "sobel_x", "-o", "out.png", cwd=tmp_path)
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "out.png").exists()


def test_apply_unknown_output_suffix_exits_2(tmp_path):
    code, _, err = run("apply", "pattern:ramp", "--filter", "box", "-o", str(tmp_path / "out.bmp"))
    assert code == 2 and ".png, .jpg, .jpeg" in err


def test_describe_prints_the_description():
    code, out, err = run("describe", "--filter", "sobel_x")
    assert code == 0, err
    assert "separable" in out.lower()
    code, out, err = run("describe", "--kernel", "[[1, 2, 1], [2, 4, 2], [1, 2, 1]]")
    assert code == 0 and "separable" in out.lower()
    code, _, err = run("describe")
    assert code == 2 and "one of the arguments --filter --kernel is required" in err
    code, _, err = run("describe", "--kernel", "[[1, x]]")
    assert code == 2 and "expects a nested list of numbers" in err


# ---- argument parsing, in process ------------------------------------------------------------------

@pytest.mark.parametrize("text, name, kwargs", [
    ("sobel_x", "sobel_x", {}),
    ("gaussian:sigma=2", "gaussian", {"sigma": 2}),
    ("gabor:sigma=2.5, theta=45,wavelength=4", "gabor", {"sigma": 2.5, "theta": 45, "wavelength": 4}),
    ("laplacian:neighbours=8", "laplacian", {"neighbours": 8}),
    ("x:flag=true,label=abc", "x", {"flag": True, "label": "abc"}),
])
def test_filter_argument_parsing(text, name, kwargs):
    assert cli._filter_arg(text) == ("filter", text, (name, kwargs))


def test_kernel_argument_parsing():
    _, _, kernel = cli._kernel_arg("[[1, 0, -1], [2, 0, -2], [1, 0, -1]]")
    np.testing.assert_array_equal(kernel, [[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    assert kernel.dtype == np.float64
    np.testing.assert_array_equal(cli._kernel_arg("[0.25, .5, 1e-1]")[2], [[0.25, 0.5, 0.1]])
    np.testing.assert_array_equal(cli._kernel_arg("((1, 2), (3, 4))")[2], [[1, 2], [3, 4]])
