"""The command line's contract for mistakes: one line ``convscope CMD: ...`` on stderr, exit 2.

Each case here raised a Python traceback before (the values of the hardening issue); the fuzz
test (tests/test_cli_fuzz.py) draws thousands more.
"""

import os
import subprocess
import sys
import threading

import pytest

from convscope import cli


def convscope(*argv, timeout=60):
    return subprocess.run([sys.executable, "-m", "convscope", *argv], capture_output=True, text=True,
                          timeout=timeout)


def one_line(done, command, *fragments):
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"convscope {command}: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.mark.parametrize("argv, command, fragments", [
    (["describe", "--filter", "gaussian:sigma=1e308"], "describe", ["sigma"]),
    (["describe", "--kernel", "[[1e308, 1e308], [1e308, 1e308]]"], "describe", ["neither overflow nor underflow", "scale the kernel down"]),
    (["apply", "pattern:bars", "--filter", "box:size=100000", "-o", "OUT.png"], "apply", ["size", "100000"]),
    (["apply", "pattern:bars", "--filter", "gaussian:sigma=1e308", "-o", "OUT.png"], "apply", ["sigma"]),
    (["summary", "lenet5", "--input", "1x28x28x5"], "summary", ["--input expects 3 sizes (C, H, W)", "(1, 28, 28, 5)"]),
    (["summary", "resnet18", "--input", "3x100000x100000", "--batch", "99999999999999999999"], "summary", []),
    (["demo", "--epochs", "99999999999999999999"], "demo", ["--epochs expects an integer in 1..50"]),
    (["train", "--epochs", "x", "--out", "OUT"], "train", ["--epochs: invalid int value: 'x'", "convscope train --help"]),
    (["viz", "animate", "--input", "5", "--kernel", "3", "--stride", "0", "-o", "OUT.gif"], "viz animate", ["stride expects positive integers, but got 0"]),
    (["cost"], "cost", ["the following arguments are required"]),
])
def test_extreme_values_are_one_line(tmp_path, argv, command, fragments):
    argv = [a.replace("OUT", str(tmp_path / "out")) for a in argv]
    done = convscope(*argv)
    if argv[0] == "summary" and done.returncode == 0:      # shape-only: a huge batch is a valid question
        return
    one_line(done, command, *fragments)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="this platform has no named pipes (os.mkfifo)")
def test_a_fifo_as_image_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "image.png"
    os.mkfifo(fifo)
    done = convscope("apply", str(fifo), "--filter", "sobel_x", "-o", str(tmp_path / "out.png"), timeout=60)
    one_line(done, "apply", "is a FIFO")


def test_a_bug_shows_its_traceback_and_asks_to_be_reported(monkeypatch, capsys):
    def broken(args):
        raise RuntimeError("an internal mistake")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["filters"].set_defaults(func=broken)
    assert cli.main(["filters"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: an internal mistake" in err
    assert err.strip().splitlines()[-1].startswith("convscope filters: internal error: this is a bug in convscope")


def test_running_out_of_memory_is_one_line_not_a_traceback(monkeypatch, capsys):
    from convscope import ResourceError

    def hungry(args):
        raise ResourceError("conv2d: the output of shape (1, 64, 100000, 100000) needs 2.33 TiB")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["filters"].set_defaults(func=hungry)
    assert cli.main(["filters"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["convscope filters: conv2d: the output of shape (1, 64, 100000, 100000) needs 2.33 TiB "
                     "(try a smaller input, batch or size)"]


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._subparsers._group_actions[0].choices["filters"].set_defaults(func=interrupted)
    assert cli.main(["filters"]) == 130
    assert capsys.readouterr().err == "convscope filters: interrupted\n"


def test_no_command_prints_the_help_and_exits_2(capsys):
    assert cli.main([]) == 2
    assert "usage: convscope" in capsys.readouterr().err


def test_main_returns_the_status_of_a_usage_error_instead_of_raising(capsys):
    assert cli.main(["shape", "--input", "x", "--kernel", "3"]) == 2
    assert capsys.readouterr().err == ("convscope shape: argument --input: expects a positive integer, but got 'x' "
                                       "(see convscope shape --help)\n")
    assert cli.main(["--version"]) == 0
