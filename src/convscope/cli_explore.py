"""``convscope explore``: serve the explorer page on a local port (the ``web`` extra).

Everything is checked before the server starts, each mistake one line and exit status 2: the
models (:func:`convscope.web.registry.resolve`: a zoo name, a weights file, an ONNX file), the
port, the limits, and the address itself, which is bound here, so a port in use or a host this
machine does not have is told in one line, not in uvicorn's traceback. A missing ``web`` extra
is one line and exit status 1. The server binds to 127.0.0.1 unless ``--host`` says otherwise.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys

from .cli import UserError
from .cli import _stride_arg as _positive_arg      # "expects a positive integer"

#: The packages of the ``web`` extra, each with the module names it may install.
WEB_EXTRA = {"fastapi": ("fastapi",), "uvicorn": ("uvicorn",), "python-multipart": ("python_multipart", "multipart"),
             "Pillow": ("PIL",)}
_LOCAL = ("127.0.0.1", "localhost", "::1")


def _missing_extra() -> str | None:
    """The pip name of the first ``web`` package that is not installed, or None."""
    import importlib.util

    for package, modules in WEB_EXTRA.items():
        if not any(_installed(m, importlib.util) for m in modules):
            return package
    return None


def _installed(module: str, util) -> bool:
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _port_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expects a port number in 0..65535 (0: any free port), but got {text!r}")
    return value


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``, or a :class:`UserError` naming what failed.

    Examples
    --------
    >>> sock = bind("127.0.0.1", 0)
    >>> sock.getsockname()[0]
    '127.0.0.1'
    >>> sock.close()
    >>> bind("no such host.invalid", 8000)
    Traceback (most recent call last):
        ...
    convscope.cli.UserError: --host expects an address of this machine, but 'no such host.invalid' does not resolve
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError):
        raise UserError(f"--host expects an address of this machine, but {host!r} does not resolve") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        reason = "is in use by another program" if exc.errno in (98, 48, 10048) else (exc.strerror or str(exc))
        raise UserError(f"cannot listen on {host}:{port}: {reason} (try another --port)") from None
    sock.set_inheritable(True)
    return sock


def _is_local(host: str) -> bool:
    if host in _LOCAL:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _allowed_hosts(host: str) -> tuple[str, ...]:
    """The Host names the server answers to: this machine's, and ``--host`` when it is another
    address (any name for 0.0.0.0 and ::, which listen on every address)."""
    from .web import Settings

    local = Settings().allowed_hosts
    if host in ("0.0.0.0", "::"):
        return ("*",)
    if _is_local(host):
        return local
    return local + (f"[{host}]" if ":" in host else host,)


def _settings(args):
    from .web import Settings

    try:
        return Settings(max_upload_bytes=args.max_upload_bytes, max_input_side=args.max_side,
                        allowed_hosts=_allowed_hosts(args.host))
    except (TypeError, ValueError) as exc:
        raise UserError(str(exc).removeprefix("Settings: ")) from None


def run(args) -> int:
    """Check everything, bind, then serve until interrupted; the exit status (0 after Ctrl+C).

    Examples
    --------
    >>> from convscope.cli import main
    >>> main(["explore", "--model", "lenet6"])          # a UserError: one line on stderr
    2
    """
    missing = _missing_extra()
    if missing:
        print(f"convscope explore: the explorer needs {missing} (the web extra): pip install 'convscope[web]'",
              file=sys.stderr)
        return 1
    settings = _settings(args)
    from .web.app import create_app

    try:
        app = create_app(args.model or None, settings)
    except ValueError as exc:
        raise UserError(str(exc).removeprefix("explore: ")) from None
    sock = bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"convscope explorer on http://{shown}:{port}/ serving {', '.join(app.state.models)} (Ctrl+C to stop)",
          flush=True)
    if not _is_local(args.host):
        print(f"convscope explore: note: --host {args.host} lets other machines reach this server", file=sys.stderr)
    if args.open:
        import webbrowser

        webbrowser.open(f"http://{shown}:{port}/")
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level=args.log_level, access_log=args.log_level == "debug"))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:               # uvicorn shuts down, then re-raises the Ctrl+C it caught
        pass
    finally:
        sock.close()
    print("convscope explorer stopped", flush=True)
    return 0


def add_parser(sub) -> None:
    """Register ``convscope explore`` on the top-level subparsers.

    Examples
    --------
    >>> from convscope.cli import Parser
    >>> parser = Parser(prog="convscope")
    >>> add_parser(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["explore", "--model", "lenet5", "--port", "8123"])
    >>> args.model, args.host, args.port, args.func is run
    (['lenet5'], '127.0.0.1', 8123, True)
    """
    p = sub.add_parser(
        "explore", help="an interactive page: feature maps, dot products, conv arithmetic, filters (local web server)",
        description="Serve the explorer on a local web page: every layer's feature maps for an image (upload,\n"
                    "draw or pick one), a clicked cell's receptive field and dot product written out, the\n"
                    "convolution-arithmetic playground, classic kernels applied and described, and the learned\n"
                    "filters beside their nearest classic kernels. Needs the web extra.",
        epilog="examples:\n  convscope explore                      # LeNet-5 and the small VGG, pretrained\n"
               "  convscope explore --model resnet18 --port 8080\n"
               "  convscope explore --model runs/lenet5/model.safetensors --model net.onnx\n"
               "exit status: 0 stopped with Ctrl+C; 2 a bad model, port or address; 1 the web extra is missing.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", metavar="NAME|WEIGHTS|ONNX",
                   help="a zoo name, a .safetensors file written by convscope.save, or an .onnx file (repeatable; "
                        "default: lenet5, small_vgg, simple_cnn, tiny_vgg); requests name models only from this list")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=_port_arg, default=8000, help="default 8000; 0 picks a free one")
    p.add_argument("--max-upload-bytes", type=_positive_arg, default=4 * 1024 * 1024, metavar="N",
                   help="the largest image upload (default 4 MiB)")
    p.add_argument("--max-side", type=_positive_arg, default=128, metavar="N",
                   help="the largest model input height or width (default 128): bounds each request's compute")
    p.add_argument("--open", action="store_true", help="open the page in a browser")
    p.add_argument("--log-level", choices=("warning", "info", "debug"), default="warning",
                   help="uvicorn's logging (default warning; debug logs every request)")
    p.set_defaults(func=run)
