"""`convscope viz ...`: pictures written, user mistakes as one line and exit 2."""

import subprocess
import sys

import pytest

pytest.importorskip("matplotlib")


def _run(*argv, timeout=120):
    return subprocess.run([sys.executable, "-m", "convscope", "viz", *argv], capture_output=True, text=True,
                          timeout=timeout)


def _refused(done, command, *needles):
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    line = done.stderr.strip()
    assert len(line.splitlines()) == 1, line
    assert line.startswith(f"convscope viz {command}: "), line
    for needle in needles:
        assert needle in line, line


@pytest.mark.parametrize("argv, suffix", [
    (["filters"], ".png"),
    (["filters", "--model", "alexnet", "--layer", "features.0"], ".png"),
    (["filters", "--nearest"], ".png"),
    (["features", "digit:3", "--layers", "0,1"], ".png"),
    (["maximize", "--layer", "0", "--channels", "0,1", "--steps", "8"], ".png"),
    (["saliency", "digit:1"], ".svg"),
    (["saliency", "digit:1", "--grad-cam", "3"], ".png"),
    (["rf", "--layer", "3", "--position", "2,2"], ".png"),
    (["animate", "--input", "5", "--kernel", "3", "--stride", "2", "--padding", "1"], ".gif"),
    (["animate", "--case", "dilation"], ".gif"),
])
def test_each_command_writes_its_picture(tmp_path, argv, suffix):
    out = tmp_path / f"out{suffix}"
    done = _run(*argv, "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 1000
    assert done.stdout.strip() == f"wrote {out}"


def test_unknown_layer_lists_the_layers(tmp_path):
    _refused(_run("filters", "--layer", "conv9", "-o", str(tmp_path / "f.png")), "filters", "'conv9'", "'0'", "'11'")


def test_channel_out_of_range(tmp_path):
    _refused(_run("maximize", "--layer", "0", "--channels", "6", "-o", str(tmp_path / "m.png")), "maximize", "6")


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    _refused(_run("filters", "-o", str(blocker / "f.png")), "filters", "is a file")


def test_animation_without_output_shows_the_formula(tmp_path):
    _refused(_run("animate", "--input", "3", "--kernel", "5", "-o", str(tmp_path / "a.gif")), "animate", "3", "5")
    assert not (tmp_path / "a.gif").exists()


def test_existing_output_needs_force(tmp_path):
    out = tmp_path / "f.png"
    out.write_bytes(b"old")
    _refused(_run("filters", "-o", str(out)), "filters", "--force")
    assert out.read_bytes() == b"old"
    assert _run("filters", "-o", str(out), "--force").returncode == 0


@pytest.mark.parametrize("argv, command, needle", [
    (["filters", "--model", "nope"], "filters", "--model expects one of"),
    (["filters", "--weights", "missing.npz"], "filters", "no file at"),
    (["features", "digit:99999"], "features", "digit:N expects N in 0.."),
    (["saliency", "digit:0", "--target", "10"], "saliency", "10"),
    (["rf", "--layer", "3", "--position", "10,0"], "rf", "10"),
    (["animate", "--case", "nope"], "animate", "--case expects one of"),
    (["animate", "--kernel", "3"], "animate", "expects --input and --kernel"),
])
def test_bad_values_are_one_line_errors(tmp_path, argv, command, needle):
    suffix = ".gif" if command == "animate" else ".png"
    _refused(_run(*argv, "-o", str(tmp_path / f"x{suffix}")), command, needle)


def test_bad_suffix(tmp_path):
    _refused(_run("filters", "-o", str(tmp_path / "f.jpg")), "filters", ".png")
