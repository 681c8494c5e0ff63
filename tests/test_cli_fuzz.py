"""Fuzzing the command line: every subcommand, valid, boundary and garbage values.

Each argument list runs in this process through ``convscope.cli.main`` under a timeout. The
promise being tested: exit status 0 (it worked) or 2 (a user mistake, told in one line
``convscope CMD: ...`` on stderr); never a traceback, never a hang.

Values are drawn so that an argument list that happens to be entirely valid is also cheap (small
models, one epoch, a few images, a few steps): expensive valid runs are covered by the tests of
each command. ``demo`` is drawn with a never-valid ``--epochs`` for that reason (a valid demo
trains for a minute; tests/report runs it).

The draws are derandomized (the same lists on every run, so CI is reproducible); set
CONVSCOPE_FUZZ_RANDOM=1 to explore new ones locally.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import struct
import sys
import zlib

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from convscope.cli import main

pytest.importorskip("matplotlib", reason="the viz commands need the viz extra")

TIMEOUT_S = 60           # one call; the slowest valid draw (a feature-map figure) takes about a second
PER_COMMAND = 250        # 13 commands x 250 draws: over 2,000 distinct argument lists per run
RANDOM = bool(os.environ.get("CONVSCOPE_FUZZ_RANDOM"))
CALLS: list[tuple[str, ...]] = []


class Hang(BaseException):
    """Raised by the alarm: a call ran past TIMEOUT_S (BaseException so no handler swallows it)."""


def _alarm(signum, frame):
    raise Hang


@pytest.fixture(scope="module")
def playground(tmp_path_factory):
    """A folder of hostile files: a FIFO, an empty file, a directory, text posing as an image,
    a truncated PNG, a PNG whose header claims 100000 x 100000 pixels."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "empty.png").write_bytes(b"")
    (root / "text.png").write_text("not an image")
    (root / "folder.png").mkdir()
    (root / "afile").write_text("a file, not a folder")
    from PIL import Image

    Image.new("L", (8, 8), 128).save(root / "small.png")
    raw = (root / "small.png").read_bytes()
    (root / "truncated.png").write_bytes(raw[: len(raw) // 2])
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
    huge = raw[:8] + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + raw[33:]
    (root / "huge.png").write_bytes(huge)
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "fifo.png")
    return root


@pytest.fixture(autouse=True)
def _isolated(playground, monkeypatch):
    monkeypatch.chdir(playground)
    monkeypatch.delenv("CONVSCOPE_DATA", raising=False)       # the bundled subset only: cheap and offline


def run(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:                          # argparse: --help, usage errors
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except Hang:
        pytest.fail(f"convscope {' '.join(argv)} ran for more than {TIMEOUT_S} s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    CALLS.append(tuple(argv))
    return code, err.getvalue()


def check(argv: list[str]) -> None:
    code, err = run(argv)
    where = f"convscope {' '.join(argv)}"
    assert "Traceback" not in err, f"{where}\n{err}"
    assert code in (0, 2), f"{where} exited {code}\n{err}"
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("convscope"), f"{where}: expected one line, got\n{err}"


# --------------------------------------------------------------------------- value pools

GARBAGE = ["", " ", "x", "-", "--", "1.5", "nan", "inf", "-inf", "1e3", "0x10", "None", "true", "[]", "é", ",", ":"]
INTS_BAD = ["0", "-1", "-5", "4611686018427387904", "9223372036854775808", "99999999999999999999", *GARBAGE]
FLOATS_BAD = ["0", "-1", "nan", "inf", "1e308", "-1e308", "1e-320", "x", ""]


def pool(valid, bad=()):
    """A value: valid or not about as often as the lists are long (one choice, so distinct draws
    give distinct values)."""
    values = list(valid) + [v for v in (list(bad) or GARBAGE) if v not in valid]
    return st.sampled_from(values)


OUT_PNG = pool(["out.png", "sub/out.png", "out.svg"],
               ["out.txt", "afile/out.png", "folder.png", "/proc/out.png", "", "small.png", ".png"])
IMAGES = pool(["digit:0", "digit:7", "pattern:bars", "pattern:checkerboard", "small.png", "pattern:bars:width=4"],
              ["digit:-1", "digit:99999", "digit:x", "pattern:nope", "pattern:bars:width=1e308",
               "pattern:bars:width=-3", "pattern:circles:n=99999999", "pattern:", "sample:nope", "fifo.png",
               "empty.png", "text.png", "folder.png", "truncated.png", "huge.png", "missing.png", "/dev/zero",
               "/dev/null", "afile"])
MODELS_SMALL = pool(["lenet5", "simple_cnn"], ["nope", "", "LENET5", "lenet5 ", "resnet-18"])
KERNEL_NAMES = ["box", "gaussian", "sobel_x", "laplacian_of_gaussian", "gabor", "motion_blur", "identity",
                "difference_of_gaussians", "unsharp_mask", "emboss"]
KWARG_KEYS = ["sigma", "size", "truncate", "theta", "frequency", "length", "angle", "amount", "sigma1", "sigma2",
              "k", "x", "_", "1a"]
KWARG_VALUES = ["1", "2", "3", "0.5", "0", "-1", "1e308", "-1e308", "nan", "inf", "100000", "10**9",
                "99999999999999999999", "true", "none", "abc", ""]


@st.composite
def filter_spec(draw):
    name = draw(st.sampled_from(KERNEL_NAMES + ["nope", "", "Gaussian"]))
    pairs = draw(st.lists(st.tuples(st.sampled_from(KWARG_KEYS), st.sampled_from(KWARG_VALUES)), max_size=3))
    spec = name + (":" + ",".join(f"{k}={v}" for k, v in pairs) if pairs else "")
    return draw(st.sampled_from([spec, spec, spec, name + ":", name + ":sigma", ":" + spec]))


KERNELS = st.sampled_from(["[[1,0,-1],[2,0,-2],[1,0,-1]]", "[1,2,1]", "[[1]]", "[]", "[[]]", "[[1,2],[3]]",
                           "[[1e308,1e308],[1e308,1e308]]", "[[1e-320]]", "x", "[[1,'a']]", "[[True]]",
                           "[" * 200 + "]" * 200, "[[" + "1," * 2000 + "1]]", "[[0,0],[0,0]]", "[[-1,-1]]"])


@st.composite
def command(draw, head: list[str], options: list[tuple[str, st.SearchStrategy | None]],
            positional: st.SearchStrategy | None = None, required: tuple[str, ...] = (),
            always: tuple[str, st.SearchStrategy] | None = None):
    """``head`` + a positional (usually) + a random subset of ``options`` in random order;
    flags in ``required`` appear nearly always, ``always`` always, and sometimes an unknown flag."""
    argv = list(head)
    if always is not None:
        argv += [always[0], draw(always[1])]
    if positional is not None and draw(st.integers(0, 9)) > 0:
        argv.append(draw(positional))
    chosen = []
    for flag, values in options:
        if (draw(st.integers(0, 9)) > 0) if flag in required else draw(st.booleans()):
            chosen.append([flag] if values is None else [flag, draw(values)])
    chosen = draw(st.permutations(chosen)) if chosen else []
    for part in chosen:
        argv.extend(part)
    if draw(st.integers(0, 19)) == 0:
        argv.append(draw(st.sampled_from(["--nope", "-z", "extra", "--help", "--force"])))
    return argv


# No shrinking: a failing list is reported as drawn (shrinking re-runs slow commands for minutes).
SETTINGS = settings(max_examples=PER_COMMAND, deadline=None, database=None, derandomize=not RANDOM,
                    suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])

COMMANDS = {
    "demo": command(["demo"], [("--out", OUT_PNG), ("--seed", pool(["0", "1"], INTS_BAD)), ("--no-progress", None),
                               ("--epochs", st.sampled_from(INTS_BAD + ["51", "99999999999999999999"]))],
                    always=("--epochs", st.sampled_from(["0", "-1", "51", "99999999999999999999", *GARBAGE]))),
    "train": command(["train"], [
        ("--model", MODELS_SMALL), ("--dataset", pool(["mnist", "fashion-mnist"])),
        ("--epochs", pool(["1"], INTS_BAD)), ("--data-dir", pool(["folder.png"], ["missing", "afile", "/proc"])),
        ("--bundled", None), ("--out", pool(["run", "runs/a"], ["afile", "afile/run", "/proc/run", ""])),
        ("--batch-size", pool(["16", "64"], INTS_BAD)), ("--optimizer", pool(["adam", "sgd", "adamw"])),
        ("--lr", pool(["0.001", "0.01"], FLOATS_BAD)), ("--momentum", pool(["0.9", "0"], FLOATS_BAD + ["1", "2"])),
        ("--weight-decay", pool(["0", "0.0001"], FLOATS_BAD)), ("--cosine", None), ("--augment", None),
        ("--seed", pool(["0", "3"], INTS_BAD)), ("--limit", pool(["16", "32"], ["0", "-5", *GARBAGE])),
        ("--resume", None), ("--force", None), ("--allow-lr-change", None), ("--no-progress", None)],
        required=("--out", "--limit", "--epochs")),
    "filters": command(["filters"], []),
    "apply": command(["apply"], [("--filter", filter_spec()), ("--kernel", KERNELS),
                                 ("--mode", pool(["same", "valid", "full"])),
                                 ("--boundary", pool(["reflect", "symm", "replicate", "wrap", "fill"])),
                                 ("--stride", pool(["1", "2"], INTS_BAD)),
                                 ("--display", pool(["auto", "abs", "clip", "rescale"])),
                                 ("-o", OUT_PNG), ("--force", None)],
                     positional=IMAGES, required=("-o", "--filter")),
    "describe": command(["describe"], [("--filter", filter_spec()), ("--kernel", KERNELS)]),
    "summary": command(["summary"], [("--input", pool(["1x28x28", "3x224x224", "3x32x32", "3x20000x20000"],
                                                      ["1x28x28x5", "28", "0x28x28", "-1x2x2", "1x1x1", "3x2x2",
                                                       "1xx28", "axbxc", "3x224x224x1x1"])),
                                      ("--batch", pool(["1", "2", "1000000"], INTS_BAD))],
                       positional=pool(["lenet5", "resnet18", "simple_cnn", "mobilenet_v1", "googlenet"], ["nope", ""]),
                       required=("--input",)),
    "shape": command(["shape"], [("--input", pool(["28", "5", "224"], INTS_BAD)),
                                 ("--kernel", pool(["3", "5"], INTS_BAD)), ("--stride", pool(["1", "2"], INTS_BAD)),
                                 ("--padding", pool(["0", "1", "same", "valid"], INTS_BAD)),
                                 ("--dilation", pool(["1", "2"], INTS_BAD)), ("--transposed", None),
                                 ("--pool", None), ("--output-padding", pool(["0", "1"], INTS_BAD)),
                                 ("--ceil-mode", None)], required=("--input", "--kernel")),
    "cost": command(["cost"], [("--in", pool(["3", "64"], INTS_BAD)), ("--out", pool(["8", "32"], INTS_BAD)),
                               ("--kernel", pool(["3", "3x3", "1x7"], INTS_BAD + ["3x3x3"])),
                               ("--size", pool(["56", "56x56"], INTS_BAD)), ("--groups", pool(["1", "2"], INTS_BAD)),
                               ("--bias", None), ("--no-bias", None), ("--separable", None)],
                    required=("--in", "--out", "--kernel")),
    "viz filters": command(["viz", "filters"], [("--model", MODELS_SMALL), ("--weights", pool(["small.png"])),
                                                ("--layer", pool(["0", "3"], ["99", "nope", ""])),
                                                ("--nearest", None), ("-o", OUT_PNG), ("--force", None)],
                           required=("-o",)),
    "viz features": command(["viz", "features"], [("--model", MODELS_SMALL),
                                                  ("--layers", pool(["0", "0,3"], ["99", "0,,3", "nope"])),
                                                  ("-o", OUT_PNG), ("--force", None)],
                            positional=IMAGES, required=("-o",)),
    "viz maximize": command(["viz", "maximize"], [("--model", MODELS_SMALL), ("--layer", pool(["0", "3"], ["99", ""])),
                                                  ("--channels", pool(["0", "0,1"], ["-1", "99999", "", "a,b"])),
                                                  ("--steps", pool(["1", "2"], INTS_BAD)), ("-o", OUT_PNG),
                                                  ("--force", None)], required=("-o", "--layer")),
    "viz saliency": command(["viz", "saliency"], [("--model", MODELS_SMALL),
                                                  ("--target", pool(["0", "9"], INTS_BAD + ["10"])),
                                                  ("--grad-cam", pool(["3", "0"], ["99", "nope"])),
                                                  ("-o", OUT_PNG), ("--force", None)],
                            positional=IMAGES, required=("-o",)),
    "viz rf": command(["viz", "rf"], [("--model", MODELS_SMALL), ("--layer", pool(["0", "3"], ["99", ""])),
                                      ("--position", pool(["0,0", "5,5"], ["-1,0", "99999,0", "1", "1,2,3", "a,b"])),
                                      ("-o", OUT_PNG), ("--force", None)],
                      positional=IMAGES, required=("-o", "--layer", "--position")),
    "viz animate": command(["viz", "animate"], [
        ("--case", pool(["no_padding_no_strides", "no_padding_strides"], ["nope", ""])),
        ("--input", pool(["4", "5", "3x4"], INTS_BAD + ["100000", "0x0"])), ("--kernel", pool(["3", "2"], INTS_BAD)),
        ("--stride", pool(["1", "2"], INTS_BAD)), ("--padding", pool(["0", "1"], INTS_BAD)),
        ("--dilation", pool(["1", "2"], INTS_BAD)), ("--transposed", None),
        ("--output-padding", pool(["0", "1"], INTS_BAD)),
        ("-o", pool(["a.gif", "sub/a.gif"], ["a.png", "afile/a.gif", "folder.png", ""])), ("--force", None)],
        required=("-o", "--input", "--kernel")),
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_fuzzed_command_lines_exit_0_or_2_in_one_line(name):
    start = len(CALLS)

    @SETTINGS
    @given(COMMANDS[name])
    def fuzz(argv):
        check(argv)

    fuzz()
    if name != "filters":                                     # it takes no arguments: few distinct lists
        assert len(CALLS) - start >= PER_COMMAND // 2, f"only {len(CALLS) - start} argument lists for {name}"


def test_the_whole_run_drew_at_least_2000_distinct_argument_lists():
    if len(CALLS) < 2000:
        pytest.skip(f"only part of the fuzz ran here ({len(CALLS)} lists): run the whole file to count")
    assert len(set(CALLS)) >= 2000, f"{len(set(CALLS))} distinct of {len(CALLS)}"
