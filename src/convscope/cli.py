"""The ``convscope`` command: a thin layer over the library."""

from __future__ import annotations

import argparse
import sys

from . import __version__

class UserError(Exception):
    """A mistake in the command line or its input: printed as one line, exit status 2.

    A command raises it; :func:`main` prints ``convscope CMD: <message>`` on stderr (which
    doctest does not capture) and returns 2.

    Examples
    --------
    >>> try:
    ...     raise UserError("--epochs expects a positive integer, but got 0")
    ... except UserError as exc:
    ...     print(exc)
    --epochs expects a positive integer, but got 0
    >>> main(["train", "--model", "nope", "--out", "runs/nope"])     # train raises a UserError
    2
    """


class Parser(argparse.ArgumentParser):
    """argparse with convscope's error style: one line ``convscope CMD: ...`` and exit status 2
    (argparse's own prints the usage block first).

    Examples
    --------
    >>> parser = Parser(prog="convscope demo")
    >>> _ = parser.add_argument("--epochs", type=int, default=3)
    >>> parser.parse_args(["--epochs", "5"]).epochs
    5
    >>> parser.parse_args(["--epochs", "five"])      # the one line goes to stderr
    Traceback (most recent call last):
        ...
    SystemExit: 2
    """

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


DEMO_MAX_EPOCHS = 50


def _demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import demo

    if args.text:
        return demo.run(sys.stdout)
    if not 1 <= args.epochs <= DEMO_MAX_EPOCHS:
        return _fail("demo", f"--epochs expects an integer in 1..{DEMO_MAX_EPOCHS} (the bundled digits are learned "
                             f"in a few), but got {args.epochs}")
    try:
        from .report import build_demo_report
        from .viz._common import check_output_path

        check_output_path(Path(args.out) / "index.html", "--out", {".html": "html"})
    except ModuleNotFoundError as exc:
        return _fail("demo", f"{exc} (make demo installs it)", code=1)
    except (ValueError, PermissionError) as exc:
        return _fail("demo", str(exc))
    demo.print_worked_example(sys.stdout)
    try:
        report = build_demo_report(args.out, epochs=args.epochs, seed=args.seed,
                                   progress=False if args.no_progress else None, stream=sys.stderr)
    except ModuleNotFoundError as exc:
        return _fail("demo", f"{exc} (make demo installs it)", code=1)
    except PermissionError as exc:
        return _fail("demo", str(exc))
    print(f"\nThe report, with every picture: {report.path.resolve()}")
    print(f"LeNet-5 reached {report.accuracy:.2%} held-out accuracy after {report.epochs} epoch{'s' if report.epochs > 1 else ''} "
          f"on the bundled digits ({report.images} pictures, built in {report.seconds:.0f} s).")
    if args.open:
        import webbrowser

        webbrowser.open(report.path.resolve().as_uri())
    return 0


# ---- filters, apply, describe -------------------------------------------------------------------

DISPLAY_CHOICES = ("auto", "abs", "clip", "rescale")


def _value(text: str):
    """A ``key=value`` value from the command line: int, float, true/false/none, else the string."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def _named(text: str, what: str) -> tuple[str, dict]:
    """``'NAME'`` or ``'NAME:key=value,key=value'`` -> (NAME, {key: value})."""
    name, _, rest = text.partition(":")
    if not name:
        raise argparse.ArgumentTypeError(f"expects {what} NAME or NAME:key=value,..., but got {text!r}")
    kwargs = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip().isidentifier():
            raise argparse.ArgumentTypeError(
                f"expects {what} NAME or NAME:key=value,... (e.g. gaussian:sigma=2), but got {text!r}")
        kwargs[key.strip()] = _value(value.strip())
    return name, kwargs


def _filter_arg(text: str) -> tuple[str, str, dict]:
    """--filter NAME[:key=value,...] -> ('filter', text, (NAME, kwargs))."""
    return ("filter", text, _named(text, "a filter"))


def _kernel_arg(text: str) -> tuple[str, str, object]:
    """--kernel "[[1, 0, -1], ...]" -> ('kernel', text, float64 2-D array); a flat list is one row."""
    import ast
    import math

    import numpy as np

    example = "[[1, 0, -1], [2, 0, -2], [1, 0, -1]]"
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise argparse.ArgumentTypeError(
            f"expects a nested list of numbers like {example!r}, but got {text!r}") from None
    if isinstance(value, (list, tuple)) and value and all(not isinstance(v, (list, tuple)) for v in value):
        value = [value]                                       # a flat list is a single row
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(r, (list, tuple)) for r in value):
        raise argparse.ArgumentTypeError(
            f"expects a non-empty list of rows like {example!r}, but got {text!r}")
    lengths = sorted({len(r) for r in value})
    if lengths[0] == 0 or len(lengths) > 1:
        raise argparse.ArgumentTypeError(
            f"expects rows of equal, non-zero length, but got rows of lengths {[len(r) for r in value]} in {text!r}")
    for row in value:
        for v in row:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise argparse.ArgumentTypeError(f"expects finite numbers, but got {v!r} in {text!r}")
    return ("kernel", text, np.array(value, dtype=np.float64))


def _stride_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expects a positive integer, but got {text!r}")
    return value


def _fail(command: str, message: str, code: int = 2) -> int:
    print(f"convscope {command}: {message}", file=sys.stderr)
    return code


def _build_kernels(steps) -> tuple[list, str | None]:
    """[(label, kernel), ...] for the --filter/--kernel steps, or ([], error message)."""
    import numpy as np

    from .filters import kernels

    built = []
    for kind, label, spec in steps:
        if kind == "kernel":
            built.append((label, spec))
            continue
        name, kwargs = spec
        try:
            kernel = np.asarray(kernels.get(name, **kwargs), dtype=np.float64)
        except (KeyError, ValueError, TypeError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            return [], f"--filter {label}: {message} (convscope filters lists the names)"
        if kernel.ndim != 2 or kernel.size == 0 or not np.all(np.isfinite(kernel)):
            return [], f"--filter {label}: expects a 2-D kernel of finite numbers, but got shape {kernel.shape}"
        built.append((label, kernel))
    return built, None


def _filters(args: argparse.Namespace) -> int:
    from .filters import kernels

    table = kernels.available()
    width = max(map(len, table), default=0)
    for name, description in table.items():
        print(f"{name:<{width}}  {description}")
    return 0


def _load_input(spec: str):
    """The image for ``convscope apply``: a built-in (pattern:NAME[:k=v,...], sample:NAME) or a file."""
    kind, _, rest = spec.partition(":")
    if kind in ("pattern", "sample") and rest:
        from .data import patterns

        name, kwargs = _named(rest, "an image")
        return patterns.load_image(f"{kind}:{name}", **kwargs)
    from .io.images import read_image

    return read_image(spec)


def _apply(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from .io.images import SUFFIXES

    out = Path(args.output)
    if out.suffix.lower() not in SUFFIXES:
        return _fail("apply", f"-o {out} expects a suffix in {', '.join(SUFFIXES)} to choose the format")
    if out.exists() and not args.force:
        return _fail("apply", f"{out} exists; pass --force to replace it")
    if not args.steps:
        return _fail("apply", "expects at least one --filter NAME or --kernel \"[[...]]\"")
    kernels, error = _build_kernels(args.steps)
    if error:
        return _fail("apply", error)
    try:
        image = _load_input(args.image)
    except argparse.ArgumentTypeError as exc:
        return _fail("apply", f"IMAGE {exc}")
    except ModuleNotFoundError as exc:
        return _fail("apply", str(exc), code=1)
    except (OSError, ValueError, TypeError) as exc:
        return _fail("apply", str(exc))
    notes = []
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
        notes.append("alpha channel dropped")
    from .filters.convolve import apply
    from .filters.display import to_display
    from .io.images import write_image

    result = image
    for i, (label, kernel) in enumerate(kernels):
        last = i == len(kernels) - 1
        try:
            result = apply(result, kernel, mode=args.mode, boundary=args.boundary, channels="each",
                           stride=args.stride if last else 1)
        except (ValueError, TypeError) as exc:
            return _fail("apply", f"filter {label}: {exc}")
    if args.display == "auto":
        from .filters.display import auto_method

        method, why = auto_method([k for _, k in kernels])
    else:
        method, why = args.display, "as asked"
    picture = to_display(result, method)
    try:
        write_image(out, picture, overwrite=args.force)
    except FileExistsError:
        return _fail("apply", f"{out} exists; pass --force to replace it")
    except ModuleNotFoundError as exc:
        return _fail("apply", str(exc), code=1)
    except OSError as exc:
        return _fail("apply", f"cannot write {out}: {exc.strerror or exc}")

    def size(a) -> str:
        return f"{a.shape[0]} x {a.shape[1]} (H x W), " + ("grayscale" if a.ndim == 2 else f"{a.shape[2]} channels")

    if image.ndim == 3:
        notes.append("each channel filtered on its own")
    print(f"input   {args.image}: {size(image)}{'; ' + ', '.join(notes) if notes else ''}")
    for label, kernel in kernels:
        print(f"filter  {label} ({kernel.shape[0]}x{kernel.shape[1]}), mode {args.mode}, boundary {args.boundary}")
    if args.stride > 1:
        print(f"stride  {args.stride} on the last filter")
    print(f"result  {size(result)}, values {float(np.min(result)):.4g} .. {float(np.max(result)):.4g}")
    print(f"output  {out}: display {method!r} ({why})")
    return 0


def _describe(args: argparse.Namespace) -> int:
    from .filters.describe import describe

    kernels, error = _build_kernels([args.step])
    if error:
        return _fail("describe", error)
    try:
        text = str(describe(kernels[0][1]))
    except (ValueError, TypeError) as exc:
        return _fail("describe", str(exc).removeprefix("describe: "))
    print(text)
    return 0


# ---- summary, shape, cost ----------------------------------------------------------------------

def _sizes_arg(text: str) -> tuple[int, ...]:
    """'3x224x224' -> (3, 224, 224): positive ints joined by 'x'."""
    from .analysis import parse_shape

    try:
        return parse_shape(text, "convscope", "the value")
    except (ValueError, TypeError):
        raise argparse.ArgumentTypeError(f"expects positive integers joined by 'x' like 3x224x224, "
                                         f"but got {text!r}") from None


def _padding_arg(text: str):
    """--padding: a non-negative int, 'same' or 'valid'."""
    if text in ("same", "valid"):
        return text
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expects a non-negative integer, 'same' or 'valid', but got {text!r}")
    return value


def _summary(args: argparse.Namespace) -> int:
    from . import models
    from .analysis import summary

    args.input_given = args.input is not None
    if args.input is None:
        args.input = (3, 224, 224)
    names = models.available()
    from .cli_viz import is_onnx, onnx_model

    if is_onnx(args.model):
        model = onnx_model(args.model, "MODEL")
        declared = next(iter(model.input_shapes.values()), ())
        if not args.input_given and len(declared) == 4 and all(declared[1:]):
            args.input, args.input_given = tuple(declared[1:]), True
    elif args.model not in names:
        return _fail("summary", f"MODEL expects one of {', '.join(names)} or an ONNX file (.onnx), "
                                f"but got {args.model!r}")
    else:
        try:
            model = models.get(args.model, in_channels=args.input[0])
        except TypeError:
            model = models.get(args.model)          # a builder without in_channels
    try:
        result = summary(model, args.input, batch_size=args.batch)
    except (ValueError, TypeError) as exc:
        message = str(exc).removeprefix("summary: ").replace("input_shape expects", "--input expects", 1)
        if not args.input_given:
            message += " (the default --input is 3x224x224; pass the CxHxW the model expects)"
        return _fail("summary", message)
    print(result)
    return 0


def _shape(args: argparse.Namespace) -> int:
    from .analysis import conv_output_size, conv_transpose_output_size, pool_output_size

    if args.ceil_mode and not args.pool:
        return _fail("shape", "--ceil-mode applies to --pool only")
    if args.output_padding and not args.transposed:
        return _fail("shape", "--output-padding applies to --transposed only")
    if isinstance(args.padding, str) and (args.pool or args.transposed):
        return _fail("shape", f"--padding {args.padding} applies to a convolution only; "
                              f"--{'pool' if args.pool else 'transposed'} expects an integer")
    try:
        if args.pool:
            out = pool_output_size(args.input, args.kernel, args.stride, args.padding, args.dilation, args.ceil_mode)
        elif args.transposed:
            out = conv_transpose_output_size(args.input, args.kernel, 1 if args.stride is None else args.stride,
                                             args.padding, args.output_padding, args.dilation)
        else:
            out = conv_output_size(args.input, args.kernel, 1 if args.stride is None else args.stride,
                                   args.padding, args.dilation)
    except (ValueError, TypeError) as exc:
        return _fail("shape", str(exc))
    print(out.explain())
    return 0


def _cost(args: argparse.Namespace) -> int:
    from .analysis import compare_separable, conv_cost

    kernel = args.kernel[0] if len(args.kernel) == 1 else args.kernel
    size = None if args.size is None else (args.size[0] if len(args.size) == 1 else args.size)
    try:
        if args.separable:
            if args.groups != 1:
                return _fail("cost", "--groups does not apply with --separable (the depthwise conv has groups = --in)")
            result = compare_separable(args.in_channels, args.out_channels, kernel, size,
                                       bias=bool(args.bias))
        else:
            result = conv_cost(args.in_channels, args.out_channels, kernel, size, groups=args.groups,
                               bias=True if args.bias is None else args.bias)
    except (ValueError, TypeError) as exc:
        return _fail("cost", str(exc))
    print(result)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``convscope`` argument parser, every subcommand included; each sets ``func``.

    Examples
    --------
    >>> args = build_parser().parse_args(["shape", "--input", "28", "--kernel", "3", "--stride", "2"])
    >>> args.command, args.input, args.kernel, args.stride, args.padding
    ('shape', 28, 3, 2, 0)
    >>> args.func(args)
    out = floor((28 + 2*0 - 1*(3-1) - 1) / 2) + 1 = 13
    0
    """
    parser = Parser(
        prog="convscope", description="Compute, learn and explain convolutional filters.")
    parser.add_argument("--version", action="version", version=f"convscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo", help="train LeNet-5 on the bundled digits and write an illustrated report (what make demo runs)",
        description="The reference texts' story with live results: the 4x4 worked example, classic filters, "
                    "convolution-arithmetic animations, learned filters and their nearest classic kernels, "
                    "feature maps, activation maximization, saliency, receptive fields, the model summary, "
                    "accuracy and costs, written as DIR/index.html (offline, self-contained).",
        epilog="example: convscope demo --out demo-report --epochs 3 --open\n"
               "exit status: 0 written; 2 bad arguments or DIR not writable; 1 matplotlib or Pillow missing.")
    demo.add_argument("--out", default="demo-report", metavar="DIR", help="folder for index.html (default demo-report)")
    demo.add_argument("--epochs", type=int, default=3, help="training epochs on the 5,000 bundled digits (default 3)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--open", action="store_true", help="open the report in the web browser when done")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.add_argument("--text", action="store_true", help="only print the worked example and train, no report")
    demo.set_defaults(func=_demo)

    from . import cli_train

    cli_train.add_parser(sub)

    filters = sub.add_parser("filters", help="list the named kernels (for --filter)")
    filters.set_defaults(func=_filters)

    apply = sub.add_parser(
        "apply", help="filter an image file or a built-in image and save the result as PNG/JPEG",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="IMAGE is a file (PNG, JPEG, ...) or a built-in image:\n"
               "  pattern:NAME[:key=value,...]  checkerboard, circles, bars, step_edge, ramp, impulse\n"
               "                                e.g. pattern:bars:width=4,angle=45\n"
               "  sample:NAME                   a photograph from scikit-image (convscope[samples]):\n"
               "                                camera, astronaut, coins, moon, chelsea, coffee, ...\n"
               "(a file whose name starts with 'pattern:' or 'sample:' can be given as ./NAME).\n\n"
               "Filters run in the order given (each a cross-correlation); colour images are\n"
               "filtered per channel. --display auto shows |response| when a kernel sums to 0\n"
               "(edges), clips to 0..255 when every kernel sums to 1 (blurs, sharpening), and\n"
               "rescales min..max to 0..255 otherwise.\n\n"
               "example: convscope apply sample:camera --filter gaussian:sigma=2 --filter sobel_x -o edges.png\n\n"
               "exit status: 0 written; 2 bad arguments or input, or OUT exists (nothing written);\n"
               "1 other failures (Pillow or scikit-image missing, OUT not writable).")
    apply.add_argument("image", metavar="IMAGE", help="image file, pattern:NAME or sample:NAME (see below)")
    apply.add_argument("--filter", dest="steps", action="append", type=_filter_arg, metavar="NAME[:k=v,...]",
                       help="a named kernel from `convscope filters`, with arguments, e.g. gaussian:sigma=2 "
                            "(repeatable)")
    apply.add_argument("--kernel", dest="steps", action="append", type=_kernel_arg, metavar='"[[...]]"',
                       help='an explicit kernel as a nested list, e.g. "[[1,0,-1],[2,0,-2],[1,0,-1]]" '
                            "(repeatable)")
    apply.add_argument("--mode", default="same", help="output size: same (default), valid or full")
    apply.add_argument("--boundary", default="reflect",
                       help="how the image is extended past its border: reflect (default, c b|a b c), "
                            "symm (b a|a b c), replicate, wrap or fill (zeros)")
    apply.add_argument("--stride", type=_stride_arg, default=1, metavar="N",
                       help="keep every Nth output row and column of the last filter")
    apply.add_argument("--display", choices=DISPLAY_CHOICES, default="auto",
                       help="how the float result becomes 0..255 (default auto, see below)")
    apply.add_argument("-o", "--output", required=True, metavar="OUT", help="output file, .png or .jpg")
    apply.add_argument("--force", action="store_true", help="replace OUT if it exists")
    apply.set_defaults(func=_apply)

    describe = sub.add_parser("describe", help="explain a kernel in words: what it detects, separability, ...")
    which = describe.add_mutually_exclusive_group(required=True)
    which.add_argument("--filter", dest="step", type=_filter_arg, metavar="NAME[:k=v,...]",
                       help="a named kernel from `convscope filters`, e.g. sobel_x or gaussian:sigma=2")
    which.add_argument("--kernel", dest="step", type=_kernel_arg, metavar='"[[...]]"',
                       help='an explicit kernel, e.g. "[[1,2,1],[2,4,2],[1,2,1]]"')
    describe.set_defaults(func=_describe)

    summ = sub.add_parser(
        "summary", help="trace a model from the zoo: per-layer shapes, params, MACs and receptive fields",
        description="Trace a zoo model's shapes (nothing is computed, so any input size is quick) and print "
                    "every layer: output shape, "
                    "parameters, multiply-adds (conv and linear, biases excluded) and receptive field "
                    "(RF), effective stride (jump) and first-window centre (start) in input pixels.",
        epilog="example: convscope summary resnet18 --input 3x224x224; convscope summary lenet5 --input 1x28x28;\n"
               "         convscope summary model.onnx --input 3x48x192\n"
               "exit status: 0 printed; 2 unknown model, bad --input, or an input too small for the model.")
    summ.add_argument("model", metavar="MODEL", help="a name from convscope.models.available(), or an ONNX file (.onnx)")
    summ.add_argument("--input", type=_sizes_arg, default=None, metavar="CxHxW",
                      help="one sample's shape without the batch (default 3x224x224; MNIST models take 1x28x28); "
                           "the model is built with in_channels = C")
    summ.add_argument("--batch", type=_stride_arg, default=1, metavar="N", help="batch size (default 1)")
    summ.set_defaults(func=_summary)

    shape = sub.add_parser(
        "shape", help="output size of a conv, transposed conv or pool along one dim, with the formula filled in",
        epilog="example: convscope shape --input 28 --kernel 3   ->   "
               "out = floor((28 + 2*0 - 1*(3-1) - 1) / 1) + 1 = 26")
    shape.add_argument("--input", type=_stride_arg, required=True, metavar="N", help="input size along the dim")
    shape.add_argument("--kernel", type=_stride_arg, required=True, metavar="K")
    shape.add_argument("--stride", type=_stride_arg, default=None, metavar="S",
                       help="default 1 (a pool's default is its kernel)")
    shape.add_argument("--padding", type=_padding_arg, default=0, metavar="P",
                       help="zeros on each side (default 0); a conv also takes 'same' or 'valid'")
    shape.add_argument("--dilation", type=_stride_arg, default=1, metavar="D", help="default 1 (no gaps)")
    kind = shape.add_mutually_exclusive_group()
    kind.add_argument("--transposed", action="store_true", help="a transposed conv (learned upsampling)")
    kind.add_argument("--pool", action="store_true", help="a max or average pool (PyTorch's rule)")
    shape.add_argument("--output-padding", type=int, default=0, metavar="OP", help="with --transposed")
    shape.add_argument("--ceil-mode", action="store_true", help="with --pool: round the division up")
    shape.set_defaults(func=_shape)

    cost = sub.add_parser(
        "cost", help="parameters and multiply-adds of a conv layer; --separable compares it with MobileNet's "
                     "depthwise separable factorisation",
        epilog="example: convscope cost --in 64 --out 32 --kernel 3 --size 56 --separable")
    cost.add_argument("--in", dest="in_channels", type=_stride_arg, required=True, metavar="CIN",
                      help="input channels")
    cost.add_argument("--out", dest="out_channels", type=_stride_arg, required=True, metavar="COUT",
                      help="output channels")
    cost.add_argument("--kernel", type=_sizes_arg, required=True, metavar="K", help="3 or 3x3 (or 1x7...)")
    cost.add_argument("--size", type=_sizes_arg, default=None, metavar="OUT",
                      help="the OUTPUT feature map's size, 56 or 56x56, for the MACs (omit for params only)")
    cost.add_argument("--groups", type=_stride_arg, default=1, metavar="G", help="default 1")
    cost.add_argument("--bias", action=argparse.BooleanOptionalAction, default=None,
                      help="count a bias per output channel (default: yes; with --separable: no, the textbook "
                           "k*k*Cin*Cout vs k*k*Cin + Cin*Cout)")
    cost.add_argument("--separable", action="store_true",
                      help="compare with a depthwise conv (groups = CIN) followed by a 1x1 pointwise conv")
    cost.set_defaults(func=_cost)

    from . import cli_explore, cli_viz

    cli_viz.add_parser(sub)
    cli_explore.add_parser(sub)
    return parser


def _command(args: argparse.Namespace) -> str:
    """'train' or 'viz filters': the command's name as the user typed it."""
    return " ".join(filter(None, (getattr(args, "command", None), getattr(args, "viz_command", None))))


def main(argv: list[str] | None = None) -> int:
    """Run the ``convscope`` command; returns the exit status.

    0 done; 2 a user mistake (bad arguments, unusable files, impossible sizes, too little memory),
    reported as one line ``convscope CMD: ...`` on stderr; 130 interrupted; 1 a missing optional
    extra, or a bug in convscope, which alone shows a traceback and asks to be reported.

    Examples
    --------
    >>> main(["shape", "--input", "28", "--kernel", "3"])
    out = floor((28 + 2*0 - 1*(3-1) - 1) / 1) + 1 = 26
    0
    >>> main(["cost", "--in", "64", "--out", "32", "--kernel", "3"])
    conv 64 -> 32 channels, kernel 3x3
    params = (Cin/groups)*k*k*Cout + Cout = 64*3*3*32 + 32 = 18,464
    0
    >>> main(["shape", "--input", "2", "--kernel", "3"])     # no output: the reason goes to stderr
    2
    >>> main([])                                             # no command: the help goes to stderr
    2
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:                       # --help, --version, or a usage error told in one line
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    command = _command(args)
    try:
        return args.func(args)
    except UserError as exc:
        return _fail(command, str(exc))
    except MemoryError as exc:                      # convscope.ResourceError included
        detail = str(exc) or "not enough memory"
        return _fail(command, f"{detail} (try a smaller input, batch or size)")
    except KeyboardInterrupt:
        print(f"convscope {command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:                         # the reader went away (convscope ... | head)
        return 0
    except Exception:
        import traceback

        traceback.print_exc()
        print(f"convscope {command}: internal error: this is a bug in convscope {__version__}, not in your "
              f"input; please report it to the convscope issue tracker with the command line and the "
              f"traceback above",
              file=sys.stderr)
        return 1
