"""The explorer's FastAPI application: :func:`create_app`.

The app is a thin layer: request bodies are checked by pydantic models and by the limits of
:class:`~convscope.web.settings.Settings`, the work is done by :mod:`convscope.web.routes`
through the library's public API, and every mistake in a request is answered 4xx with
``{"detail": "<one readable sentence>"}``: malformed JSON and wrong types 422, an unknown model
or sample 404, a body over its limit 413, a model busy past ``busy_timeout`` 503. An unexpected
error is a 500 whose body says only that it is a bug (the traceback goes to the server's log).

Static files are read once, at startup, from the package's ``static/`` folder into memory and
served from a fixed table: no request path is ever joined to a filesystem path.
"""

from __future__ import annotations

import logging
from importlib import resources
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from .. import __version__
from .registry import build_whitelist
from .settings import Settings

__all__ = ["create_app", "STATIC_FILES", "UPLOAD_PATH"]

log = logging.getLogger("convscope.web")

#: The files of the page, name -> media type; nothing else is served from static/.
STATIC_FILES = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
                "app.css": "text/css; charset=utf-8"}
#: The one endpoint that takes a file (multipart); its body limit is ``max_upload_bytes``.
UPLOAD_PATH = "/api/input"

# Everything the page loads comes from this server; images may be data: URLs (the sample
# thumbnails) and blob: URLs (the drawn digit before upload).
_CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def _static() -> dict[str, bytes]:
    folder = resources.files("convscope.web") / "static"
    return {name: (folder / name).read_bytes() for name in STATIC_FILES}


class Guard:
    """ASGI middleware that checks every HTTP request before the app reads it.

    - The ``Host`` header must name one of ``settings.allowed_hosts`` (a page on another site
      that rebinds its DNS name to 127.0.0.1 is refused), and a cross-site ``Origin`` is refused
      (another site's page cannot make this server compute): both 403.
    - The body may not exceed its limit (``max_upload_bytes`` for uploads, ``max_json_bytes``
      otherwise): 413, from ``Content-Length`` before reading, or while a chunked body streams in.
    """

    def __init__(self, app, settings: Settings):
        self.app, self.settings = app, settings

    def _limit(self, path: str) -> tuple[int, str]:
        if path == UPLOAD_PATH:
            return self.settings.max_upload_bytes, "max_upload_bytes"
        return self.settings.max_json_bytes, "max_json_bytes"

    def _refusal(self, headers: dict, path: str) -> tuple[int, str] | None:
        host = headers.get(b"host", b"").decode("latin-1")
        if not _host_allowed(host, self.settings.allowed_hosts):
            names = ", ".join(self.settings.allowed_hosts)
            return 403, f"Host {host[:80]!r} is not one this server answers to ({names}; the setting allowed_hosts)"
        origin = headers.get(b"origin")
        if origin is not None and origin != b"null":
            origin_host = urlsplit(origin.decode("latin-1")).netloc
            if origin_host.lower() != host.lower():
                return 403, f"a request from the page of another site ({origin_host[:80]!r}) is refused"
        declared = headers.get(b"content-length")
        if declared is not None:
            text = declared.decode("latin-1").strip()
            if not text.isdigit():
                return 400, f"Content-Length expects a number of bytes, but got {text[:40]!r}"
            limit, name = self._limit(path)
            if int(text) > limit:
                return 413, _too_large(int(text), limit, name)
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refusal = self._refusal(dict(scope.get("headers") or []), scope["path"])
        if refusal is not None:
            return await JSONResponse({"detail": refusal[1]}, status_code=refusal[0])(scope, receive, send)
        limit, name = self._limit(scope["path"])
        received = 0

        async def limited():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, _too_large(received, limit, name, streamed=True))
            return message

        await self.app(scope, limited, send)


def _host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """Whether a Host header (``name``, ``name:port``, ``[v6]:port``) names an allowed host."""
    if "*" in allowed:
        return True
    name = host.rsplit("]", 1)[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]
    return name.lower() in allowed


def _too_large(size: int, limit: int, name: str, streamed: bool = False) -> str:
    what = f"more than {limit:,} bytes arrived" if streamed else f"the request body is {size:,} bytes"
    return f"request body too large: {what}, but the limit ({name}) is {limit:,} bytes"


def _location(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return ".".join(parts) or "body"


def _validation_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "the request does not match the API (see /openapi.json)"
    first = errors[0]
    if first.get("type") == "json_invalid":
        return f"the body is not valid JSON ({first.get('ctx', {}).get('error', 'parse error')})"
    given = first.get("input")
    shown = repr(given) if isinstance(given, (int, float, str, bool)) or given is None else type(given).__name__
    if isinstance(given, str) and len(shown) > 60:
        shown = shown[:57] + "...'"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    if first.get("type") == "missing":
        return f"{_location(first['loc'])} is required{more}"
    return f"{_location(first['loc'])}: {first.get('msg', 'invalid')}, but got {shown}{more}"


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": _validation_message(exc)}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception):
        log.exception("explorer: internal error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": f"internal error: this is a bug in convscope {__version__}, not in the "
                                       "request; the server's log has the details"}, status_code=500)


def _install_page(app: FastAPI, files: dict[str, bytes]) -> None:
    headers = {"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}

    @app.get("/", include_in_schema=False)
    def index():
        return Response(files["index.html"], media_type=STATIC_FILES["index.html"], headers=headers)

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str):
        if name not in files:
            raise HTTPException(404, f"no static file {name!r}; the page has {', '.join(sorted(files))}")
        return Response(files[name], media_type=STATIC_FILES[name], headers=headers)


def create_app(models=None, settings: Settings | None = None) -> FastAPI:
    """The explorer as a FastAPI application (serve it with uvicorn, or test it with its TestClient).

    Parameters
    ----------
    models : list of str or ModelEntry, optional
        The whitelist: zoo names, ``.safetensors`` weights files of zoo models, ``.onnx`` files
        (:func:`convscope.web.registry.resolve`), or ready entries. Default
        :data:`~convscope.web.registry.DEFAULT_MODELS` (LeNet-5 and the small VGG with their
        pretrained weights, then two untrained zoo models). The first is the page's default.
    settings : Settings, optional
        The limits; default :class:`Settings()`.

    Returns
    -------
    fastapi.FastAPI
        Its OpenAPI description is at ``/openapi.json``; the page at ``/``.

    Raises
    ------
    ValueError
        A model that cannot be served (see :func:`~convscope.web.registry.resolve`).

    Examples
    --------
    >>> app = create_app(["lenet5"])
    >>> app.title, list(app.state.models), "/api/cell" in app.openapi()["paths"]
    ('convscope explorer', ['lenet5'], True)
    >>> create_app(["../../etc/passwd"])
    Traceback (most recent call last):
        ...
    ValueError: explore: --model expects a zoo name (alexnet, ...) or a .onnx / .safetensors file, but got '../../etc/passwd'

    Serve it with ``uvicorn.run(app, host="127.0.0.1")`` or ``convscope explore``; in tests,
    ``fastapi.testclient.TestClient(app)`` sends requests without a server.
    """
    from . import routes

    settings = settings or Settings()
    whitelist = build_whitelist(models, settings)
    app = FastAPI(title="convscope explorer", version=__version__, docs_url=None, redoc_url=None,
                  description="Feature maps, receptive fields, dot products, convolution arithmetic and "
                              "filters of convscope models, computed by convscope. Every error is 4xx with "
                              "{\"detail\": message}.")
    app.state.models = whitelist
    app.state.settings = settings
    app.include_router(routes.router)
    _install_errors(app)
    _install_page(app, _static())
    app.add_middleware(Guard, settings=settings)
    return app
