"""Pictures of filters, feature maps and what a network has learned (extra ``viz``).

Every function returns a :class:`matplotlib.figure.Figure` or a :class:`PIL.Image.Image` and
takes an optional ``path`` to write it to (atomically; PNG, SVG or GIF chosen by the suffix).
All follow one colour convention (see :mod:`convscope.viz._common`): signed values on a
diverging map centred on 0 (blue negative, white 0, red positive) with one shared scale,
non-negative magnitudes on a sequential map, images in grey.

- filters: :func:`filter_grid`, :func:`nearest_classic` / :func:`match_classic` (learned vs designed)
- activations: :func:`capture`, :func:`feature_maps`, :func:`activation_maximization`, :func:`maximize_grid`
- attribution: :func:`saliency`, :func:`grad_cam` (and their ``*_map`` arrays)
- geometry: :func:`receptive_field_overlay`, :func:`receptive_window`, :func:`animate_convolution`
  with Dumoulin & Visin's cases in :data:`DUMOULIN_CASES`
- training: :func:`training_curves`, :func:`confusion_matrix`, :class:`FilterEvolution` and
  :func:`filter_evolution`, :class:`StepRecorder` (``fit`` callbacks)
- small arrays and images: :func:`show_matrices`, :func:`show_images`
"""

from ._common import IMAGE_CMAP, MAGNITUDE_CMAP, SIGNED_CMAP, save
from .animate import CASE_TITLES, DUMOULIN_CASES, animate_convolution, convolution_plan
from .arrays import show_images, show_matrices
from .attribution import grad_cam, grad_cam_map, saliency, saliency_map
from .features import capture, feature_maps
from .filters import ClassicMatch, filter_grid, match_classic, nearest_classic
from .maximize import Maximization, activation_maximization, maximize_grid
from .receptive import receptive_field_overlay, receptive_window
from .training import (FilterEvolution, StepRecorder, confusion_counts, confusion_matrix, filter_evolution,
                       training_curves)

__all__ = [
    "SIGNED_CMAP", "MAGNITUDE_CMAP", "IMAGE_CMAP", "save",
    "filter_grid", "match_classic", "nearest_classic", "ClassicMatch",
    "capture", "feature_maps", "activation_maximization", "maximize_grid", "Maximization",
    "saliency", "saliency_map", "grad_cam", "grad_cam_map",
    "receptive_field_overlay", "receptive_window", "animate_convolution", "convolution_plan", "DUMOULIN_CASES", "CASE_TITLES",
    "training_curves", "confusion_counts", "confusion_matrix", "FilterEvolution", "filter_evolution",
    "StepRecorder", "show_matrices", "show_images",
]
