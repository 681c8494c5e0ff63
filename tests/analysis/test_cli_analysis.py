"""`convscope summary`, `convscope shape` and `convscope cost`, run as a user runs them."""

import subprocess
import sys

import pytest


def run(*args):
    """Run ``python -m convscope ARGS``; return (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "convscope", *args], capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("args, line", [
    (["--input", "28", "--kernel", "3", "--stride", "1", "--padding", "0", "--dilation", "1"],
     "out = floor((28 + 2*0 - 1*(3-1) - 1) / 1) + 1 = 26"),
    (["--input", "224", "--kernel", "7", "--stride", "2", "--padding", "3"],
     "out = floor((224 + 2*3 - 1*(7-1) - 1) / 2) + 1 = 112"),
    (["--input", "28", "--kernel", "3", "--stride", "2", "--padding", "same"],
     "out = ceil(size / stride) = ceil(28 / 2) = 14 ('same': total padding max((14-1)*2 + 1*(3-1) + 1 - 28, 0) = 1: "
     "0 before, 1 after)"),
    (["--input", "7", "--kernel", "3", "--stride", "2", "--padding", "1", "--output-padding", "1", "--transposed"],
     "out = (7 - 1)*2 - 2*1 + 1*(3-1) + 1 + 1 = 14"),
    (["--input", "5", "--kernel", "2", "--pool"], "out = floor((5 + 2*0 - 1*(2-1) - 1) / 2) + 1 = 2"),
    (["--input", "5", "--kernel", "2", "--pool", "--ceil-mode"], "out = ceil((5 + 2*0 - 1*(2-1) - 1) / 2) + 1 = 3"),
])
def test_shape_prints_the_filled_in_formula(args, line):
    code, out, err = run("shape", *args)
    assert (code, out, err) == (0, line + "\n", "")


@pytest.mark.parametrize("args, message", [
    (["--input", "2", "--kernel", "5"], "input size 2 is too small for kernel 5"),
    (["--input", "8", "--kernel", "3", "--ceil-mode"], "--ceil-mode applies to --pool only"),
    (["--input", "8", "--kernel", "3", "--pool", "--padding", "same"], "--padding same applies to a convolution"),
    (["--input", "8", "--kernel", "2", "--pool", "--padding", "2"], "padding expects at most half the kernel"),
    (["--input", "8", "--kernel", "0"], "expects a positive integer"),
    (["--input", "8", "--kernel", "3", "--padding", "full"], "'same' or 'valid'"),
    (["--input", "8", "--kernel", "3", "--pool", "--transposed"], "not allowed with argument"),
])
def test_shape_errors_exit_2(args, message):
    code, out, err = run("shape", *args)
    assert code == 2 and out == "" and message in err


def test_cost_and_separable_comparison():
    code, out, err = run("cost", "--in", "64", "--out", "32", "--kernel", "3", "--size", "56")
    assert code == 0 and err == ""
    assert "64*3*3*32 + 32 = 18,464" in out and "= 57,802,752" in out
    code, out, err = run("cost", "--in", "64", "--out", "32", "--kernel", "3", "--separable")
    assert code == 0 and err == ""
    assert "18,432" in out and "2,624" in out and "0.1424" in out and "1/Cout + 1/k^2 = 1/32 + 1/9" in out
    code, out, _ = run("cost", "--in", "64", "--out", "32", "--kernel", "3", "--size", "56x56", "--separable")
    assert "57,802,752" in out and "8,228,864" in out


def test_cost_errors_exit_2():
    code, out, err = run("cost", "--in", "64", "--out", "30", "--kernel", "3", "--groups", "4")
    assert code == 2 and "out_channels expects a multiple of groups=4" in err
    code, _, err = run("cost", "--in", "64", "--out", "32", "--kernel", "3", "--separable", "--groups", "2")
    assert code == 2 and "--groups does not apply with --separable" in err
    code, _, err = run("cost", "--in", "64", "--out", "32", "--kernel", "3x")
    assert code == 2 and "joined by 'x'" in err


def test_summary_of_a_registered_model():
    code, out, err = run("summary", "lenet5", "--input", "1x28x28")
    assert code == 0 and err == ""
    assert "Sequential on input 1x1x28x28" in out and "Total params: 61,706" in out
    conv = next(line for line in out.splitlines() if line.startswith("0 "))
    assert "Conv2d" in conv and "5/1/2/1/1" in conv and "1x6x28x28" in conv and "117,600" in conv
    code, out, _ = run("summary", "lenet5", "--input", "1x28x28", "--batch", "3")
    assert code == 0 and "3x6x28x28" in out


def test_summary_unknown_model_lists_the_names():
    code, out, err = run("summary", "lenet6")
    assert code == 2 and out == ""
    assert "MODEL expects one of" in err and "lenet5" in err and "'lenet6'" in err


def test_summary_too_small_input_exit_2():
    code, out, err = run("summary", "lenet5", "--input", "1x4x4")
    assert code == 2 and out == ""
    assert "input 1x4x4 is too small for 3 (Conv2d)" in err
    code, _, err = run("summary", "lenet5", "--input", "1x0x4")
    assert code == 2 and "--input" in err
