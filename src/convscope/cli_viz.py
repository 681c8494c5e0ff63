"""``convscope viz filters|features|maximize|saliency|animate|rf``: pictures from the command line.

A thin layer over :mod:`convscope.viz`: it builds the model (a zoo name, optionally with weights
written by ``convscope train``), reads the image, checks the output path before any work, and
maps user mistakes to one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cli import UserError

MNIST_MODELS = ("lenet5", "simple_cnn", "small_vgg")
# (mean, std) of the MNIST training pixels: what the digit models were trained on.
_MNIST_NORM = (0.1307, 0.3081)

_EXIT = ("\nexit status: 0 written; 2 bad arguments or input (unknown model or layer, channel out of range,\n"
         "unusable output path, OUT exists without --force); 1 a missing extra (matplotlib or Pillow).")


def _fail(command: str, message: str, code: int = 2) -> int:
    print(f"convscope viz {command}: {message}", file=sys.stderr)
    return code


_ONNX_SHAPES: dict[str, tuple[int, int, int]] = {}


def is_onnx(name: str) -> bool:
    """Whether a --model value names an ONNX file rather than a zoo model.

    Examples
    --------
    >>> is_onnx("models/resnet.ONNX"), is_onnx("lenet5")
    (True, False)
    """
    return str(name).lower().endswith(".onnx")


def onnx_model(path: str, option: str = "--model"):
    """The ONNX file at ``path`` as a Module (eval mode); its declared one-sample input shape is
    remembered for the image's size (a free dim: 224). A missing or unreadable file is a UserError.

    Examples
    --------
    >>> try:
    ...     onnx_model("no/such/model.onnx")
    ... except UserError as exc:
    ...     print(exc)
    --model expects a zoo name or an ONNX file, but there is no file at no/such/model.onnx
    """
    from . import onnx

    if not Path(path).is_file():
        raise UserError(f"{option} expects a zoo name or an ONNX file, but there is no file at {path}")
    try:
        model = onnx.load(path)
    except ModuleNotFoundError as exc:
        raise UserError(f"{exc}") from None
    except ValueError as exc:
        raise UserError(f"{option}: {str(exc).removeprefix('load: ')}") from None
    declared = next(iter(model.input_shapes.values()), ())
    if len(declared) == 4:
        _ONNX_SHAPES[path] = tuple(n or 224 for n in declared[1:])
    return model


def _model(args):
    """The zoo model of --model (or an ONNX file), with --weights loaded when given; in eval mode."""
    if is_onnx(args.model):
        if args.weights:
            raise UserError("--weights applies to zoo models; an ONNX file holds its own weights")
        return onnx_model(args.model)
    from . import io, models
    from .train import load_checkpoint

    names = models.available()
    if args.model not in names:
        raise UserError(f"--model expects one of {', '.join(names)}, but got {args.model!r}")
    kwargs = {"in_channels": 1, "num_classes": 10} if args.model in MNIST_MODELS else {}
    if args.weights == "bundled" or (args.weights and Path(args.weights).suffix in (".safetensors", ".pt", ".pth")):
        if args.weights == "bundled" and args.model not in models.bundled_weights():
            raise UserError(f"--weights bundled expects a model with pretrained weights in convscope "
                            f"({', '.join(sorted(models.bundled_weights()))}), but --model is {args.model!r}")
        if args.weights != "bundled" and not Path(args.weights).is_file():
            raise UserError(f"--weights expects a weights file, but there is no file at {args.weights}")
        try:
            return models.get(args.model, weights=args.weights, **kwargs).eval()
        except (ValueError, TypeError, FileNotFoundError, ModuleNotFoundError) as exc:
            raise UserError(f"--weights: {str(exc).removeprefix('models.get: ')}") from None
    model = models.get(args.model, **kwargs)
    if args.weights:
        path = Path(args.weights)
        if not path.is_file():
            raise UserError(f"--weights expects a file written by convscope train (model.npz or checkpoint.npz), "
                            f"a weights file (.safetensors, .pt) or 'bundled', but there is no file at {path}")
        try:
            state = io.load_state_dict(path)
        except ValueError:
            state = load_checkpoint(path)["model"]
        model.load_state_dict(state)
    model.eval()
    return model


def _input_size(model_name: str) -> tuple[int, int, int]:
    if model_name in _ONNX_SHAPES:
        return _ONNX_SHAPES[model_name]
    if model_name in MNIST_MODELS:
        return (1, 28, 28)
    if model_name == "tiny_vgg":
        return (3, 64, 64)
    return (3, 224, 224)


def _image(spec: str | None, model_name: str):
    """The model's input (C, H, W) float32 from IMAGE: digit:N (a bundled MNIST test digit), a file,
    pattern:NAME or sample:NAME (made grey or RGB and resized to the model's input size)."""
    import numpy as np

    from .cli import _load_input

    channels, h, w = _input_size(model_name)
    mean, std = _MNIST_NORM
    spec = spec or "digit:0"
    if spec.startswith("digit:"):
        from .data import MNIST

        test = MNIST.bundled(train=False)
        try:
            index = int(spec.partition(":")[2])
        except ValueError:
            index = -1
        if not 0 <= index < len(test.targets):
            raise UserError(f"IMAGE digit:N expects N in 0..{len(test.targets) - 1}, but got {spec!r}")
        image = test.data[index].astype(np.float32) / 255.0
        if channels == 3:
            image = np.repeat(image[None], 3, axis=0)
        else:
            image = image[None]
    else:
        try:
            picture = _load_input(spec)
        except argparse.ArgumentTypeError as exc:
            raise UserError(f"IMAGE {exc}") from None
        from PIL import Image

        pil = Image.fromarray(np.asarray(picture)[..., :3] if np.ndim(picture) == 3 else np.asarray(picture))
        pil = pil.convert("L" if channels == 1 else "RGB").resize((w, h), Image.Resampling.BILINEAR)
        image = np.asarray(pil, dtype=np.float32) / 255.0
        image = image[None] if channels == 1 else image.transpose(2, 0, 1)
    if channels == 1:
        image = (image - mean) / std
    return np.ascontiguousarray(image, dtype=np.float32)


def _out(args, command: str) -> Path:
    from .viz._common import FIGURE_SUFFIXES, check_output_path

    suffixes = {".gif": "gif"} if command == "animate" else FIGURE_SUFFIXES
    path = check_output_path(args.output, f"-o {args.output}", suffixes)
    if path.exists() and not args.force:
        raise UserError(f"{path} exists; pass --force to replace it")
    return path


def _ints(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.replace("x", ",").split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expects {what} as non-negative integers separated by commas, "
                                         f"but got {text!r}")
    return values


def _channels_arg(text: str) -> list[int]:
    return _ints(text, "channels")


def _position_arg(text: str) -> tuple[int, int]:
    values = _ints(text, "a position ROW,COL")
    if len(values) != 2:
        raise argparse.ArgumentTypeError(f"expects a position ROW,COL, but got {text!r}")
    return tuple(values)


def _pair_arg(text: str):
    values = _ints(text, "a size N or HxW")
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError(f"expects N or HxW, but got {text!r}")
    return values[0] if len(values) == 1 else tuple(values)


# --------------------------------------------------------------------------- the commands

def _filters(args) -> object:
    from .viz._common import conv_layers, get_layer
    from .viz.filters import filter_grid, nearest_classic

    model = _model(args)
    if args.layer is None:
        convs = conv_layers(model)
        if not convs:
            raise UserError(f"--model {args.model} has no convolution layer to show")
        name, layer = convs[0]
    else:
        name, layer = get_layer(model, args.layer, "--layer")
    if args.nearest:
        return nearest_classic(layer)
    return filter_grid(layer, title=f"{Path(args.model).name if is_onnx(args.model) else args.model} layer {name}")


def _features(args) -> object:
    from .viz.features import feature_maps

    model = _model(args)
    layers = args.layers.split(",") if args.layers else None
    return feature_maps(model, _image(args.image, args.model), layers)


def _maximize(args) -> object:
    from .viz.maximize import maximize_grid

    model = _model(args)
    return maximize_grid(model, args.layer, args.channels, steps=args.steps)


def _saliency(args) -> object:
    from .viz.attribution import grad_cam, saliency

    model = _model(args)
    image = _image(args.image, args.model)
    if args.grad_cam is not None:
        return grad_cam(model, image, args.target, layer=args.grad_cam or None)
    return saliency(model, image, args.target)


def _rf(args) -> object:
    from .viz.receptive import receptive_field_overlay

    model = _model(args)
    return receptive_field_overlay(model, args.layer, args.position, _image(args.image, args.model))


def _animate(args) -> object:
    from .viz.animate import DUMOULIN_CASES, animate_convolution

    if args.case:
        if args.case not in DUMOULIN_CASES:
            raise UserError(f"--case expects one of {', '.join(DUMOULIN_CASES)}, but got {args.case!r}")
        return animate_convolution(**DUMOULIN_CASES[args.case])
    if args.input is None or args.kernel is None:
        raise UserError("expects --input and --kernel (or --case NAME)")
    return animate_convolution(args.input, args.kernel, stride=args.stride, padding=args.padding,
                               dilation=args.dilation, transposed=args.transposed,
                               output_padding=args.output_padding)


_COMMANDS = {"filters": _filters, "features": _features, "maximize": _maximize, "saliency": _saliency,
             "rf": _rf, "animate": _animate}


def run(args) -> int:
    """``convscope viz WHAT``: check the output path, draw the picture, save it; the exit status.

    0 written (``wrote OUT`` on stdout); 2 a user mistake, one line on stderr (which doctest does
    not capture); 1 a missing extra (matplotlib or Pillow).

    Examples
    --------
    >>> from convscope.cli import build_parser
    >>> args = build_parser().parse_args(["viz", "animate", "--case", "nope", "-o", "t.gif"])
    >>> run(args)                                   # unknown --case: nothing is written
    2
    >>> run(build_parser().parse_args(["viz", "animate", "--input", "5", "--kernel", "3", "-o", "t.png"]))
    2
    >>> import os; os.path.exists("t.png")          # animate writes a .gif only
    False
    """
    command = args.viz_command
    try:
        path = _out(args, command)
        picture = _COMMANDS[command](args)
        from .viz import save

        save(picture, path, f"convscope viz {command}")
    except ModuleNotFoundError as exc:
        return _fail(command, str(exc), code=1)
    except (UserError, ValueError, TypeError, KeyError, PermissionError, FileNotFoundError,
            IsADirectoryError, NotADirectoryError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        return _fail(command, str(message))
    print(f"wrote {path}")
    return 0


def add_parser(sub) -> None:
    """Register ``convscope viz ...`` on the top-level subparsers.

    Examples
    --------
    >>> from convscope.cli import Parser
    >>> parser = Parser(prog="convscope")
    >>> add_parser(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["viz", "animate", "--input", "5", "--kernel", "3", "--stride", "2",
    ...                           "-o", "strided.gif"])
    >>> args.viz_command, args.input, args.kernel, args.stride, args.padding, args.output
    ('animate', 5, 3, 2, 0, 'strided.gif')
    >>> args.func is run
    True
    """
    viz = sub.add_parser("viz", help="pictures: filters, feature maps, maximization, saliency, animations, "
                                     "receptive fields (PNG/SVG/GIF)",
                         description="Pictures of filters and what a network computes. Models come from the zoo "
                                     "(random weights) or with --weights from `convscope train`'s model.safetensors.")
    inner = viz.add_subparsers(dest="viz_command", metavar="WHAT", required=True)

    def command(name: str, help: str, epilog: str, image: bool = False, model: bool = True,
                suffix: str = ".png"):
        p = inner.add_parser(name, help=help, epilog=epilog + _EXIT, formatter_class=argparse.RawDescriptionHelpFormatter)
        if image:
            p.add_argument("image", metavar="IMAGE", nargs="?", default="digit:0",
                           help="digit:N (bundled MNIST test digit N, the default digit:0), an image file, "
                                "pattern:NAME or sample:NAME; resized to the model's input")
        if model:
            p.add_argument("--model", default="lenet5", help="a zoo model (default lenet5) or an ONNX file (.onnx)")
            p.add_argument("--weights", help="model.safetensors, model.npz or checkpoint.npz from convscope train, a weights file "
                                             "(.safetensors, .pt), or 'bundled' for the pretrained ones")
        p.add_argument("-o", "--output", required=True, metavar="OUT", help=f"output file ({suffix})")
        p.add_argument("--force", action="store_true", help="replace OUT if it exists")
        p.set_defaults(func=run)
        return p

    p = command("filters", "a conv layer's filters on one colour scale",
                "examples:\n  convscope viz filters --weights runs/lenet5/model.safetensors -o filters.png\n"
                "  convscope viz filters --model alexnet --layer features.0 -o alexnet.png\n"
                "  convscope viz filters --weights runs/lenet5/model.safetensors --nearest -o learned-vs-designed.png")
    p.add_argument("--layer", help="module name as model.named_modules() gives it (default: the first conv)")
    p.add_argument("--nearest", action="store_true", help="each filter beside its nearest classic kernel")

    p = command("features", "feature maps of an image through the layers",
                "example:\n  convscope viz features digit:7 --weights runs/lenet5/model.safetensors --layers 0,3 -o maps.png",
                image=True)
    p.add_argument("--layers", help="comma-separated layer names (default: every conv and its activation)")

    p = command("maximize", "activation maximization: the input a channel responds to most",
                "example:\n  convscope viz maximize --weights runs/lenet5/model.safetensors --layer 3 --channels 0,1,2,3 "
                "-o max.png")
    p.add_argument("--layer", required=True, help="module name, e.g. 0 or 3 for lenet5's convs")
    p.add_argument("--channels", type=_channels_arg, default=[0, 1, 2, 3], help="e.g. 0,1,2 (default 0,1,2,3)")
    p.add_argument("--steps", type=int, default=128, help="gradient-ascent steps (default 128)")

    p = command("saliency", "saliency (input gradient) or Grad-CAM of a prediction",
                "examples:\n  convscope viz saliency digit:3 --weights runs/lenet5/model.safetensors -o saliency.png\n"
                "  convscope viz saliency digit:3 --weights runs/lenet5/model.safetensors --grad-cam 3 -o cam.png",
                image=True)
    p.add_argument("--target", type=int, default=None, help="class index (default: the predicted class)")
    p.add_argument("--grad-cam", nargs="?", const="", default=None, metavar="LAYER",
                   help="Grad-CAM at LAYER (default: the last conv) instead of saliency")

    p = command("rf", "the receptive field of one output cell, drawn on the input",
                "example:\n  convscope viz rf digit:0 --layer 3 --position 5,5 -o rf.png", image=True)
    p.add_argument("--layer", required=True, help="module name")
    p.add_argument("--position", type=_position_arg, required=True, metavar="ROW,COL",
                   help="the cell in that layer's output")

    p = command("animate", "a GIF of the window sliding: padding, stride, dilation, transposed",
                "examples:\n  convscope viz animate --input 5 --kernel 3 --stride 2 --padding 1 -o strided.gif\n"
                "  convscope viz animate --input 7 --kernel 3 --dilation 2 -o dilated.gif\n"
                "  convscope viz animate --case padding_strides_transposed -o t.gif",
                model=False, suffix=".gif")
    p.add_argument("--case", help="one of Dumoulin & Visin's cases by name (see convscope.viz.DUMOULIN_CASES)")
    p.add_argument("--input", type=_pair_arg, metavar="N|HxW")
    p.add_argument("--kernel", type=_pair_arg, metavar="K|KHxKW")
    p.add_argument("--stride", type=_pair_arg, default=1, metavar="S")
    p.add_argument("--padding", type=_pair_arg, default=0, metavar="P")
    p.add_argument("--dilation", type=_pair_arg, default=1, metavar="D")
    p.add_argument("--transposed", action="store_true", help="a transposed convolution")
    p.add_argument("--output-padding", type=_pair_arg, default=0, metavar="OP", help="with --transposed")
