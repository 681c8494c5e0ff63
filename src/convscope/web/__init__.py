"""The explorer: a local web page over convscope's own computations (``convscope explore``).

CNN Explainer's views (feature maps of every layer, a clicked cell's receptive field and dot
product, convolution arithmetic, classic and learned filters) for *any* convscope model and
any picture, computed by the engine a user trains with. Needs the ``web`` extra (FastAPI,
uvicorn, python-multipart, Pillow).

- :func:`create_app` builds the FastAPI application (:mod:`convscope.web.app`); its JSON API is
  in :mod:`convscope.web.routes`, described at ``/openapi.json``; the page is ``static/``
  (hand-written HTML, CSS and JavaScript, nothing fetched from elsewhere).
- :class:`Settings` holds every limit (upload bytes, declared pixels, input side, layers,
  channels...); :mod:`convscope.web.registry` the whitelist of models a request may name.
- The server holds no math of its own: see :mod:`convscope.web.explain` for how hooks give the
  feature maps and the numbers of each dot product.
"""

from .registry import DEFAULT_MODELS, ModelEntry, build_whitelist, resolve
from .settings import Settings


def create_app(models=None, settings=None):
    """The explorer's FastAPI app; see :func:`convscope.web.app.create_app` (imported on call,
    so ``import convscope.web`` works without the ``web`` extra).

    Examples
    --------
    >>> app = create_app(["lenet5"], Settings(max_layers=8))
    >>> list(app.state.models), app.state.settings.max_layers
    (['lenet5'], 8)
    """
    from .app import create_app as build

    return build(models, settings)


__all__ = ["create_app", "Settings", "ModelEntry", "resolve", "build_whitelist", "DEFAULT_MODELS"]
