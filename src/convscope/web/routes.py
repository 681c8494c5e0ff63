"""The explorer's JSON API (mounted under ``/api`` by :func:`convscope.web.create_app`).

Each endpoint checks its request, then asks the library: feature maps and the op behind each
layer from the hooks (:mod:`convscope.web.explain`), receptive fields from
:func:`convscope.summary` and :func:`convscope.viz.receptive_window`, learned filters and their
nearest classic kernels from :func:`convscope.viz.match_classic`, kernels from
:mod:`convscope.filters` (``kernels.get``, ``apply``, ``describe``), the output-size formula from
:mod:`convscope.analysis` and the window's path from the same plan
:func:`convscope.viz.animate_convolution` draws. Probabilities are
:func:`convscope.nn.functional.softmax` of the model's output.

Large arrays travel as nested lists rounded to 5 significant digits of the layer's largest
magnitude (a feature map for drawing); the values a view writes out (a cell, its dot product)
are sent exactly.
"""

from __future__ import annotations

import contextlib
import functools
import math
from typing import Annotated, Literal, Union

import numpy as np
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from .. import __version__
from . import explain as X
from .inputs import INVERT_CHOICES, decode_upload, prepare, sample_picture, samples, thumbnail
from .registry import ModelEntry
from .settings import Settings

__all__ = ["router"]

router = APIRouter(prefix="/api")

NonNegative = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(ge=1)]
Boundary = Literal["reflect", "symm", "replicate", "wrap", "fill"]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class InputBody(_Strict):
    """A model (its whitelist key) and one input of exactly its input shape ``(C, H, W)``."""

    model: str = Field(description="a key of GET /api/models", examples=["lenet5"])
    input: list[list[list[float]]] = Field(description="(C, H, W) numbers, as POST /api/input returns them")


class CellBody(InputBody):
    """One output cell of one layer; for a layer without spatial dims ``channel`` is the unit."""

    layer: str = Field(description="a layer name, as POST /api/forward lists them", examples=["3"])
    channel: NonNegative
    row: NonNegative = 0
    col: NonNegative = 0


class PlaygroundBody(_Strict):
    """A 2-D convolution's hyperparameters: each an int (both dims) or ``[height, width]``."""

    input_size: Union[Positive, list[Positive]] = 5
    kernel_size: Union[Positive, list[Positive]] = 3
    stride: Union[Positive, list[Positive]] = 1
    padding: Union[NonNegative, list[NonNegative]] = 0
    dilation: Union[Positive, list[Positive]] = 1
    transposed: bool = False
    output_padding: Union[NonNegative, list[NonNegative]] = 0


class FilterBody(_Strict):
    """A kernel (a name of GET /api/filters, with ``params``, or a matrix) and a grey image."""

    kernel: Union[str, list[list[float]]] = Field(examples=["sobel_x", [[0, 1, 0], [1, -4, 1], [0, 1, 0]]])
    params: dict[str, Union[int, float, bool]] = Field(default_factory=dict, examples=[{"sigma": 2}])
    image: list[list[float]] = Field(description="(H, W) grey values, e.g. the preview of POST /api/input")
    boundary: Boundary = "reflect"


# --------------------------------------------------------------------------- helpers

def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _entry(request: Request, key: str) -> ModelEntry:
    models = request.app.state.models
    if key not in models:
        raise HTTPException(404, f"unknown model {key[:80]!r}; this server has {', '.join(models)}")
    return models[key]


@contextlib.contextmanager
def _holding(entry: ModelEntry, settings: Settings):
    """The model's lock, or 503 when another request holds it for longer than ``busy_timeout``."""
    if not entry.lock.acquire(timeout=settings.busy_timeout):
        raise HTTPException(503, f"model {entry.key!r} is busy with other requests; try again in a moment")
    try:
        yield
    finally:
        entry.lock.release()


def _batch(entry: ModelEntry, values) -> np.ndarray:
    """The request's input as a ``(1, C, H, W)`` float32 batch, or 422 saying what was wrong."""
    expected = "x".join(map(str, entry.input_shape))
    try:
        with np.errstate(over="ignore"):                  # a number beyond float32 becomes inf, refused below
            arr = np.asarray(values, dtype=np.float32)
    except ValueError:
        raise HTTPException(422, f"input expects a {expected} array for {entry.key}, but got ragged lists "
                                 "(rows of different lengths)") from None
    if arr.shape != entry.input_shape:
        raise HTTPException(422, f"input expects shape {expected} (C x H x W) for {entry.key}, but got "
                                 f"{'x'.join(map(str, arr.shape))}")
    if not np.all(np.isfinite(arr)):
        raise HTTPException(422, "input expects finite numbers, but got NaN or infinity")
    return arr[None]


def _rounded(values: np.ndarray, limit: float, digits: int = 5) -> list:
    """``values`` as nested lists, rounded to ``digits`` significant digits of ``limit``."""
    values = np.asarray(values, dtype=np.float64)
    if limit <= 0 or not math.isfinite(limit):
        return np.zeros(values.shape).tolist()
    decimals = max(0, digits - 1 - math.floor(math.log10(limit)))
    return np.round(values, decimals).tolist()


def _limit(values: np.ndarray) -> float:
    return float(np.max(np.abs(values))) if values.size else 0.0


def _trace(entry: ModelEntry, settings: Settings, values, *, ops: bool) -> X.Trace:
    batch = _batch(entry, values)
    with _holding(entry, settings):
        traced = X.trace(entry.model, batch, ops=ops)
    if not np.all(np.isfinite(traced.output)):
        raise HTTPException(422, f"{entry.key} gives NaN or infinite outputs for this input")
    return traced


def _reply(payload: dict) -> JSONResponse:
    """``payload`` as JSON, written directly: FastAPI's encoder would walk every number of the
    large nested lists first."""
    return JSONResponse(payload)


# --------------------------------------------------------------------------- models and inputs

@router.get("/health", summary="The server is up")
def health(request: Request):
    """``{"status": "ok"}``, the version and how many models are served; never touches a model."""
    return {"status": "ok", "version": __version__, "models": len(request.app.state.models)}


@router.get("/models", summary="The whitelisted models")
def list_models(request: Request):
    """Every model this server serves, by key (the first is the default), with its input shape,
    class names and whether its weights are trained; and the server's limits."""
    settings = _settings(request)
    return {"models": [e.describe() for e in request.app.state.models.values()],
            "limits": {k: getattr(settings, k) for k in settings.__dataclass_fields__}}


def _conv_layers(model) -> list[str]:
    return [name for name, m in model.named_modules()
            if name and getattr(m, "weight", None) is not None and np.ndim(m.weight.data) == 4]


@router.get("/models/{key}", summary="One model's layers, from convscope.summary")
def model_detail(request: Request, key: str):
    """The model's per-layer table from :func:`convscope.summary` (type, kernel/stride/padding/
    dilation/groups, output shape, parameters, MACs, receptive field, jump, start) and its
    convolution layers (for the learned-filter view)."""
    entry = _entry(request, key)
    rows = [{"name": r.name, "type": r.type, "geometry": r.geometry_text, "output_shape": list(r.output_shape or ()),
             "params": r.params, "macs": r.macs, "receptive_field": None if r.receptive_field is None
             else list(r.receptive_field), "jump": None if r.jump is None else list(r.jump),
             "start": None if r.start is None else list(r.start), "global_rf": r.global_rf}
            for r in entry.summary]
    return _reply({**entry.describe(), "layers": rows, "conv_layers": _conv_layers(entry.model),
                   "total_params": entry.summary.total_params, "total_macs": entry.summary.total_macs})


@router.get("/models/{key}/filters", summary="A conv layer's learned filters and their nearest classic kernels")
def learned_filters(request: Request, key: str, layer: str | None = Query(None, description="a conv layer name; "
                                                                              "default the first")):
    """Each filter's kernel (its strongest input channel) beside the classic kernel
    :func:`convscope.filters.describe` finds nearest (:func:`convscope.viz.match_classic`),
    with the similarity and the description in words; at most ``max_filters``."""
    from ..viz import match_classic

    entry = _entry(request, key)
    convs = _conv_layers(entry.model)
    if not convs:
        raise HTTPException(422, f"{entry.key} has no convolution layer")
    name = convs[0] if layer is None else layer
    if name not in convs:
        raise HTTPException(422, f"layer expects one of {entry.key}'s conv layers ({', '.join(convs)}), "
                                 f"but got {name[:80]!r}")
    module = dict(entry.model.named_modules())[name]
    limit = _settings(request).max_filters
    matches = match_classic(module, max_filters=limit)
    scale = max((_limit(m.learned) for m in matches), default=0.0)
    weight = np.asarray(module.weight.data)
    return _reply({"model": entry.key, "layer": name, "weight_shape": list(weight.shape), "scale": scale,
                   "shown": len(matches), "total": int(weight.shape[0]), "filters": [
                       {"filter": m.filter, "channel": m.channel, "learned": m.learned.tolist(), "nearest": m.name,
                        "params": {k: float(v) if isinstance(v, (int, float)) else str(v) for k, v in m.params.items()},
                        "similarity": float(m.similarity),
                        "classic": None if m.classic is None else m.classic.tolist(),
                        "description": None if m.description is None else str(m.description)}
                       for m in matches]})


@functools.lru_cache(maxsize=1)
def _sample_listing() -> tuple:
    return tuple({"id": sample_id, "label": label, "group": group, "thumbnail": thumbnail(sample_picture(sample_id)[0])}
                 for sample_id, (label, group, _) in samples().items())


@router.get("/samples", summary="The sample pictures")
def list_samples():
    """Sample ids with a label, a group (MNIST digits, Fashion-MNIST items, patterns, photographs
    when scikit-image is installed) and a small PNG thumbnail as a ``data:`` URL."""
    return _reply({"samples": list(_sample_listing())})


def _check_invert(invert: str) -> str:
    if invert not in INVERT_CHOICES:
        raise HTTPException(422, f"invert expects one of {', '.join(INVERT_CHOICES)}, but got {invert[:40]!r}")
    return invert


@router.get("/samples/{sample_id}", summary="A sample made into a model's input")
def get_sample(request: Request, sample_id: str, model: str = Query(..., description="a model key"),
               invert: str = Query("auto", description="auto, yes or no")):
    """The sample as ``model``'s input (exact shape, normalised) and a grey preview, with notes
    on what was done (resized, inverted, normalised)."""
    entry = _entry(request, model)
    if sample_id not in samples():
        raise HTTPException(404, f"unknown sample {sample_id[:80]!r}; GET /api/samples lists them")
    picture, label = sample_picture(sample_id)
    ready = prepare(picture, entry, _settings(request), invert=_check_invert(invert))
    return _reply(ready.to_json(entry, f"sample:{sample_id}", label))


@router.post("/input", summary="An uploaded or drawn image made into a model's input")
def upload(request: Request, file: UploadFile = File(..., description="a PNG or JPEG, at most max_upload_bytes"),
           model: str = Form(..., description="a model key"), invert: str = Form("auto"),
           centre: bool = Form(False, description="frame a drawn digit as MNIST does")):
    """Decode the file with the decompression-bomb guard (at most ``max_pixels`` declared
    pixels), then as ``GET /api/samples/{id}``: the model's input and a preview."""
    entry = _entry(request, model)
    settings = _settings(request)
    _check_invert(invert)
    data = file.file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise HTTPException(413, f"file too large: more than max_upload_bytes={settings.max_upload_bytes:,} bytes")
    try:
        picture = decode_upload(data, settings)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    ready = prepare(picture, entry, settings, invert=invert, centre=centre)
    return _reply(ready.to_json(entry, "drawing" if centre else "upload", (file.filename or "")[:120] or None))


# --------------------------------------------------------------------------- the network

def _layer_json(run: X.LayerRun, settings: Settings) -> dict:
    values = run.output[0]
    spatial = values.ndim == 3
    shown = values[:settings.max_channels] if spatial else values[:settings.max_units]
    limit = _limit(values)
    return {"name": run.name, "type": run.type, "op": run.op_name, "source": run.source,
            "kind": "maps" if spatial else "vector", "shape": list(values.shape), "shown": int(shown.shape[0]),
            "min": float(values.min()), "max": float(values.max()), "limit": limit,
            "explainable": X.explainable(run), "values": _rounded(shown, limit)}


@router.post("/forward", summary="Every layer's feature maps and the class probabilities")
def forward(request: Request, body: InputBody):
    """Run the model once on the input; each visible layer's output (at most ``max_layers``
    layers, ``max_channels`` channels or ``max_units`` values each), captured with forward
    hooks, and the softmax of the output."""
    from ..nn import functional as F

    settings = _settings(request)
    entry = _entry(request, body.model)
    traced = _trace(entry, settings, body.input, ops=True)
    runs = X.visible_layers(traced)
    logits = traced.output.reshape(-1).astype(np.float64)
    probabilities = F.softmax(logits[None], dim=1)[0]
    top = int(np.argmax(probabilities))
    classes = entry.classes if len(entry.classes) == logits.size else [str(i) for i in range(logits.size)]
    return _reply({
        "model": entry.key, "input": {"shape": list(entry.input_shape), "min": float(traced.input.min()),
                                      "max": float(traced.input.max())},
        "layers": [_layer_json(run, settings) for run in runs[:settings.max_layers]],
        "layers_total": len(runs),
        "output": {"logits": logits.tolist(), "probabilities": probabilities.tolist(),
                   "classes": classes, "prediction": top, "trained": entry.trained},
    })


def _receptive(entry: ModelEntry, layer: str, row: int, col: int) -> dict | None:
    """The cell's window on the model input: :func:`convscope.viz.receptive_window` and the
    summary's numbers (receptive field, jump, start) for that layer."""
    from ..viz import receptive_window

    records = [r for r in entry.summary if r.name == layer]
    if not records or records[-1].output_shape is None or len(records[-1].output_shape) != 4:
        return None
    record = records[-1]
    try:
        full = receptive_window(entry.model, layer, (row, col), entry.input_shape, clip=False)
        inside = receptive_window(entry.model, layer, (row, col), entry.input_shape)
    except ValueError:
        return None
    return {"rows": list(full[0]), "cols": list(full[1]), "inside_rows": list(inside[0]),
            "inside_cols": list(inside[1]), "global": record.global_rf,
            "receptive_field": None if record.receptive_field is None else list(record.receptive_field),
            "jump": None if record.jump is None else list(record.jump),
            "start": None if record.start is None else list(record.start)}


@router.post("/cell", summary="How one output value was computed, with the numbers")
def cell(request: Request, body: CellBody):
    """For one cell of one layer: its value (the layer's output there) and how the op behind the
    layer computed it, from the op's recorded operands and geometry: for a convolution, per input
    channel the kernel, the input window (0 on the padding), the products and their sum, then
    the bias and the total; for a pool the window and max/mean; for batch norm its statistics;
    for an activation its argument. Also the receptive field of the cell on the model input."""
    settings = _settings(request)
    entry = _entry(request, body.model)
    traced = _trace(entry, settings, body.input, ops=True)
    try:
        result = X.explain_cell(traced, body.layer, body.channel, body.row, body.col)
    except X.CellError as exc:
        raise HTTPException(422, str(exc)) from None
    source = traced.layers.get(result["source"]) if result["source"] not in (None, "input") else None
    result["source_shape"] = (list(entry.input_shape) if result["source"] == "input"
                              else None if source is None else list(source.output.shape[1:]))
    if traced.layers[body.layer].output.ndim == 4:
        with _holding(entry, settings):
            result["receptive_field"] = _receptive(entry, body.layer, body.row, body.col)
    return _reply({"model": entry.key, **result})


# --------------------------------------------------------------------------- arithmetic and filters

@router.get("/playground/cases", summary="Dumoulin & Visin's animated cases")
def playground_cases():
    """The fifteen cases of "A guide to convolution arithmetic" (:data:`convscope.viz.DUMOULIN_CASES`),
    each with its caption and the arguments of POST /api/playground that draw it."""
    from ..viz import CASE_TITLES, DUMOULIN_CASES

    return {"cases": [{"name": name, "title": CASE_TITLES[name], "arguments": dict(arguments)}
                      for name, arguments in DUMOULIN_CASES.items()]}


@router.post("/playground", summary="Convolution arithmetic: output size and the window's path")
def playground(body: PlaygroundBody):
    """The output size per dim with its formula filled in (:mod:`convscope.analysis`), and every
    step of the window sliding as :func:`convscope.viz.animate_convolution` draws it: the drawn
    grid (input cells, padding and, when transposed, inserted zeros) and each output cell's
    taps. Sizes are bounded as the animation bounds them (input at most 32 a side, at most 400
    output cells)."""
    from ..viz.animate import convolution_plan

    try:
        plan = convolution_plan(body.input_size, body.kernel_size, body.stride, body.padding, body.dilation,
                                body.transposed, body.output_padding)
    except (ValueError, TypeError) as exc:
        raise HTTPException(422, str(exc).removeprefix("convolution_plan: ")) from None
    frames = []
    for frame in range(plan.n_frames):
        rows, cols = plan.window(frame)
        caption, detail = plan.caption(frame)
        frames.append({"cell": list(plan.cell(frame)), "rows": rows, "cols": cols, "caption": caption,
                       "detail": detail})
    axes = {"rows": plan.rows, "cols": plan.cols}
    return _reply({
        "title": plan.title, "output_size": list(plan.output_shape), "transposed": plan.transposed,
        "formula": {"height": plan.rows.out.explain(), "width": plan.cols.out.explain()},
        "header": list(plan.header), "grid_name": plan.grid_name, "input_label": plan.input_label,
        "output_label": plan.output_label,
        "grid": {k: {"source": list(a.source), "padding": list(a.padding_at)} for k, a in axes.items()},
        "frames": frames,
    })


@router.get("/filters", summary="The classic kernels")
def list_filters():
    """Every named kernel of :func:`convscope.filters.available` with its description and its
    matrix at the default arguments."""
    from ..filters import available, kernels

    return {"filters": [{"name": name, "description": text, "kernel": np.asarray(kernels.get(name)).tolist()}
                        for name, text in available().items()]}


def _kernel(body: FilterBody, settings: Settings) -> np.ndarray:
    from ..filters import kernels

    if isinstance(body.kernel, str):
        try:
            kernel = np.asarray(kernels.get(body.kernel, **body.params), dtype=np.float64)
        except (KeyError, ValueError, TypeError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            raise HTTPException(422, f"kernel {body.kernel[:40]!r}: {message}") from None
    else:
        if body.params:
            raise HTTPException(422, "params apply to a named kernel, but kernel is a matrix")
        kernel = body.kernel
    return _matrix(kernel, "kernel", "a non-empty 2-D matrix", "taps", settings.max_kernel_side, "max_kernel_side")


def _image(values, settings: Settings) -> np.ndarray:
    return _matrix(values, "image", "a non-empty (H, W) grey image", "pixels", settings.preview_side, "preview_side")


def _matrix(values, name: str, shape_text: str, unit: str, limit: int, setting: str) -> np.ndarray:
    """``values`` as a finite float64 2-D array of at most ``limit`` a side, else a 422 naming ``name``."""
    try:
        matrix = np.asarray(values, dtype=np.float64)
    except ValueError:
        raise HTTPException(422, f"{name} expects rows of equal length, but got ragged lists") from None
    if matrix.ndim != 2 or matrix.size == 0:
        raise HTTPException(422, f"{name} expects {shape_text}, but got shape {matrix.shape}")
    if max(matrix.shape) > limit:
        raise HTTPException(422, f"{name} expects at most {limit} {unit} a side ({setting}), "
                                 f"but got {matrix.shape[0]}x{matrix.shape[1]}")
    if not np.all(np.isfinite(matrix)):
        raise HTTPException(422, f"{name} expects finite numbers, but got NaN or infinity")
    return matrix


@router.post("/filter", summary="A kernel applied to an image, and described in words")
def apply_filter(request: Request, body: FilterBody):
    """:func:`convscope.filters.apply` of the kernel to the image (cross-correlation, 'same'
    size, the chosen boundary), the result as values and as a 0..255 picture
    (:func:`convscope.filters.display.to_display` with the method
    :func:`~convscope.filters.display.auto_method` picks), and :func:`convscope.filters.describe`
    of the kernel."""
    from ..filters import apply, describe
    from ..filters.display import auto_method, to_display

    settings = _settings(request)
    kernel, image = _kernel(body, settings), _image(body.image, settings)
    try:
        description = str(describe(kernel))
        result = apply(image, kernel, boundary=body.boundary)
    except (ValueError, TypeError) as exc:
        raise HTTPException(422, str(exc)) from None
    if not np.all(np.isfinite(result)):
        raise HTTPException(422, "the kernel's result overflows (NaN or infinity); scale the kernel down")
    method, why = auto_method([kernel])
    return _reply({"kernel": kernel.tolist(), "description": description, "boundary": body.boundary,
                   "result": {"values": _rounded(result, _limit(result)), "min": float(result.min()),
                              "max": float(result.max())},
                   "display": to_display(result, method).tolist(), "method": method, "why": why})
