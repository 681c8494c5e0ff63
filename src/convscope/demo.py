"""The worked example behind ``make demo``: a 4x4 image, 2x2 filters, computed and explained;
then filters learned from random initialisation on the bundled MNIST digits.

Every number printed here is computed by convscope's engine at run time; the explanations derive
them by hand so a reader can check each one. The same figures are asserted in
``tests/test_demo.py``.
"""

from __future__ import annotations

import sys
from typing import TextIO

import numpy as np

from .nn import functional as F
from .ops.conv import output_shape
from .ops.reference import convolve_true_2d

IMAGE = np.arange(1.0, 17.0).reshape(4, 4)
HORIZONTAL_EDGE = np.array([[1.0, 1.0], [-1.0, -1.0]])
DIAGONAL = np.array([[0.0, 1.0], [1.0, 0.0]])
HORIZONTAL_LINE = np.array([[-1.0, -1.0, -1.0], [2.0, 2.0, 2.0], [-1.0, -1.0, -1.0]])


def _matrix(a: np.ndarray, indent: str = "    ") -> str:
    width = max(len(f"{v:g}") for v in a.ravel())
    return "\n".join(indent + "[" + "  ".join(f"{v:g}".rjust(width) for v in row) + "]" for row in a)


def worked_example() -> dict[str, np.ndarray]:
    """The example's results, computed by the engine (used by the demo and its tests).

    Examples
    --------
    >>> from convscope.demo import worked_example
    >>> result = worked_example()
    >>> result["cross_correlation"].tolist()
    [[-8.0, -8.0, -8.0], [-8.0, -8.0, -8.0], [-8.0, -8.0, -8.0]]
    >>> float(result["true_convolution"][0, 0])       # the flipped kernel changes the sign
    8.0
    """
    x = IMAGE[None, None]
    filters = np.stack([HORIZONTAL_EDGE, DIAGONAL])[:, None]          # (2 filters, 1 channel, 2, 2)
    layer = F.conv2d(x, filters, np.zeros(2))[0]                     # what a CNN layer computes
    line_image = np.zeros((6, 6))
    line_image[2, :] = 1.0                                            # a one-pixel horizontal line
    return {
        "cross_correlation": layer[0],
        "true_convolution": convolve_true_2d(IMAGE, HORIZONTAL_EDGE),
        "true_convolution_via_flip": F.conv2d(x, HORIZONTAL_EDGE[::-1, ::-1][None, None].copy())[0, 0],
        "diagonal": layer[1],
        "line_image": line_image,
        "line_response": F.conv2d(line_image[None, None], HORIZONTAL_LINE[None, None], padding="same")[0, 0],
    }


def run(out: TextIO = sys.stdout) -> int:
    """Print the worked example, then train LeNet-5 on the bundled digits and show a learned filter.

    Examples
    --------
    >>> import io
    >>> from convscope.demo import run
    >>> run(io.StringIO())          # about 4 s: trains LeNet-5 for two epochs  # doctest: +SKIP
    0
    """
    p = print_worked_example(out)
    _learning(p)
    p("", "Next: `make test` checks all of this, and the engine against PyTorch.")
    return 0


def print_worked_example(out: TextIO = sys.stdout):
    """Print the 4x4 example and the output-size table; returns the print function used.

    Examples
    --------
    >>> import io
    >>> from convscope.demo import print_worked_example
    >>> out = io.StringIO()
    >>> _ = print_worked_example(out)
    >>> out.getvalue().splitlines()[0]
    'convscope demo: how a convolutional filter turns an image into a feature map'
    """
    r = worked_example()
    p = lambda *lines: print(*lines, sep="\n", file=out)  # noqa: E731
    p("convscope demo: how a convolutional filter turns an image into a feature map",
      "=" * 78, "",
      "A 4x4 grayscale image and a 2x2 filter that responds to horizontal edges",
      "(bright above, dark below):", "",
      "  image I", _matrix(IMAGE), "",
      "  filter K", _matrix(HORIZONTAL_EDGE), "")
    h_out = output_shape((4,), (2,), (1,), ((0, 0),), (1,))[0]
    p("Output size, stride S=1, padding P=0:  (H - K + 2P) / S + 1 = (4 - 2 + 0) / 1 + 1 "
      f"= {h_out}, so a {h_out}x{h_out} feature map.", "")
    p("1. What a CNN layer computes: cross-correlation (the filter is NOT flipped)",
      "   y[i, j] = sum_u sum_v I[i + u, j + v] * K[u, v]",
      "   y[0, 0] = 1*1 + 2*1 + 5*(-1) + 6*(-1) = -8",
      "   convscope.nn.functional.conv2d(image, K):",
      _matrix(r["cross_correlation"]),
      "   Every 2x2 window has the form [[a, a+1], [a+4, a+5]], so every output is",
      "   a + (a+1) - (a+4) - (a+5) = -8: the image brightens downward at a constant rate.", "")
    p("2. True (mathematical) convolution flips the filter by 180 degrees first",
      "   (I * K)[i, j] = sum_u sum_v I[i + u, j + v] * K[1 - u, 1 - v];  flipped K = [[-1, -1], [1, 1]]",
      "   y[0, 0] = 1*(-1) + 2*(-1) + 5*1 + 6*1 = +8",
      "   textbook loop (convscope.ops.reference.convolve_true_2d):",
      _matrix(r["true_convolution"]),
      "   the same via the engine with a flipped kernel, conv2d(image, K[::-1, ::-1]):",
      _matrix(r["true_convolution_via_flip"]),
      "   The sign changes because this K is antisymmetric under a 180-degree turn.",
      "   Some write-ups print -8 for the flipped version; flipping gives +8.",
      "   Learned filters make the distinction moot (a network learns the flipped weights",
      "   just as well), which is why frameworks skip the flip and call it convolution.", "")
    p("3. A layer with two filters (nn.Conv2d(1, 2, kernel_size=2) with these weights)",
      "   filter 1: K (above); filter 2: [[0, 1], [1, 0]], a diagonal pattern",
      "   feature map 1:", _matrix(r["cross_correlation"]),
      "   feature map 2: y[i, j] = I[i, j+1] + I[i+1, j];  y[0, 0] = 2 + 5 = 7",
      _matrix(r["diagonal"]),
      "   It is not constant: a window [[a, a+1], [a+4, a+5]] gives (a+1) + (a+4) = 2a + 5,",
      "   which grows with a. (Some write-ups print a constant 8 here; 7 ... 27 is right.)",
      "   This filter is symmetric under a 180-degree turn, so convolution and",
      "   cross-correlation agree for it.", "")
    p("4. The line detector [[-1,-1,-1], [2,2,2], [-1,-1,-1]] on a 6x6 image with a",
      "   one-pixel horizontal line in row 2, padding='same' (output stays 6x6):",
      _matrix(r["line_image"]), "   response:", _matrix(r["line_response"]),
      "   +6 on the line (2+2+2 from the middle row), -3 on the rows beside it",
      "   (one row of -1s sees the line), 0 on flat areas; the ends of the line read",
      "   +4 and -2 because zero padding cuts the window short.", "")
    p("5. How padding, stride and dilation change the output size of a 28x28 input",
      "   out = floor((in + 2P - D*(K - 1) - 1) / S) + 1")
    rows = [("3x3, P=0, S=1, D=1", 3, 0, 1, 1), ("3x3, P=1, S=1 ('same')", 3, 1, 1, 1),
            ("3x3, P=1, S=2", 3, 1, 2, 1), ("3x3, P=0, D=2 (sees 5x5)", 3, 0, 1, 2),
            ("5x5, P=0 (LeNet conv1 on 28)", 5, 0, 1, 1)]
    for label, k, pad, s, d in rows:
        y = F.conv2d(np.zeros((1, 1, 28, 28)), np.zeros((1, 1, k, k)), stride=s, padding=pad, dilation=d)
        formula = f"(28 + {2 * pad} - {d}*{k - 1} - 1) // {s} + 1"
        by_hand = (28 + 2 * pad - d * (k - 1) - 1) // s + 1
        p(f"   {label:<30} {formula:<24} = {by_hand:>2}   (engine output {y.shape[-2]}x{y.shape[-1]})")
    return p


def train_bundled_lenet(epochs: int = 2, seed: int = 0):
    """LeNet-5 trained on the bundled 5,000 MNIST digits; returns (model, first filter before, history).

    Examples
    --------
    >>> from convscope.demo import train_bundled_lenet
    >>> model, before, history = train_bundled_lenet(epochs=1)     # about 2 s
    >>> before.shape, len(history), history[-1]["val_accuracy"] > 0.5
    ((5, 5), 1, True)
    """
    from . import data, models, nn, optim
    from .random import manual_seed
    from .train import fit

    manual_seed(seed)
    norm = data.Normalize(0.1307, 0.3081)
    train = data.DataLoader(data.MNIST.bundled(train=True), batch_size=64, shuffle=True, seed=seed, transform=norm)
    test = data.DataLoader(data.MNIST.bundled(train=False), batch_size=250, transform=norm)
    model = models.lenet5()
    before = model[0].weight.data[0, 0].copy()
    history = fit(model, train, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=2e-3), epochs,
                  val_loader=test, progress=False, stream=_Quiet())
    return model, before, history


class _Quiet:
    def write(self, text):
        pass

    def flush(self):
        pass


def _learning(p) -> None:
    p("", "6. Filters are learned, not designed: LeNet-5 (two conv layers of 6 and 16 filters, 61,706",
      "   parameters) starts from random weights and trains by backpropagation on the 5,000 MNIST",
      "   digits that ship with convscope, tested on 1,000 others it never saw.")
    model, before, history = train_bundled_lenet()
    after = model[0].weight.data[0, 0]
    for h in history.epochs:
        p(f"   epoch {h['epoch']}: train loss {h['train_loss']:.3f}, held-out accuracy {h['val_accuracy']:.1%} "
          f"({h['images_per_second']:,.0f} images/s)")
    from .filters import describe

    fmt = lambda a: "\n".join("      [" + "  ".join(f"{v:6.2f}" for v in row) + "]" for row in a)  # noqa: E731
    text = describe(after).text()
    p("   first filter of conv1 at initialisation (uniform in +-1/sqrt(25) = +-0.2):", fmt(before),
      "   the same filter after training:", fmt(after),
      "   filters.describe() on the trained filter:",
      *("     " + line for line in _wrap(text, 86)),
      "   Full MNIST (60,000 images) takes LeNet-5 past 99 % test accuracy: see the README.")


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width)
