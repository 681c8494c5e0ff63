"""Pictures of filters, feature maps and what a network has learned (extra ``viz``).

Every function returns a :class:`matplotlib.figure.Figure` or a :class:`PIL.Image.Image` and
takes an optional ``path`` to write it to (atomically; PNG, SVG or GIF chosen by the suffix).
See :mod:`convscope.viz._common` for the one colour convention all of them follow.
"""

from ._common import IMAGE_CMAP, MAGNITUDE_CMAP, SIGNED_CMAP, save

__all__ = ["SIGNED_CMAP", "MAGNITUDE_CMAP", "IMAGE_CMAP", "save"]
