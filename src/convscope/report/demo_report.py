"""The report behind ``make demo``: the reference texts' story, told with live results.

:func:`build_demo_report` trains LeNet-5 on the MNIST digits bundled with convscope, then writes
``index.html`` with pictures beside it: the 4x4 worked example, classic filters on a photograph
and on test patterns, the convolution-arithmetic animations, the learned filters and their
nearest classic kernels, feature maps, activation maximization, saliency and Grad-CAM, receptive
fields, the model summary, accuracy and curves, and the cost of 1x1, depthwise-separable and
standard convolutions. Everything is computed when the report is built; nothing is fetched.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TextIO

import numpy as np

from .html import Page

__all__ = ["DemoReport", "build_demo_report", "SECTIONS"]

# Section ids in page order (the browser test checks each is present).
SECTIONS = ("worked-example", "classic-filters", "arithmetic", "learned-filters", "feature-maps",
            "maximization", "saliency", "receptive-fields", "summary", "training", "cost")

DIGITS = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class DemoReport:
    """What :func:`build_demo_report` wrote: the page, the accuracy reached and the time taken.

    Examples
    --------
    >>> from pathlib import Path
    >>> from convscope.report.demo_report import DemoReport
    >>> report = DemoReport(Path("demo-report/index.html"), accuracy=0.97, epochs=3, seconds=41.0, images=15000)
    >>> f"{report.accuracy:.0%} after {report.epochs} epochs"
    '97% after 3 epochs'
    """

    path: Path
    accuracy: float
    epochs: int
    seconds: float
    images: int


def _say(stream: TextIO | None, text: str) -> None:
    if stream is not None:
        print(text, file=stream, flush=True)


# --------------------------------------------------------------------------- 1. the worked example

def _worked_example(page: Page) -> None:
    from .. import demo
    from ..viz.arrays import show_matrices

    r = demo.worked_example()
    s = page.section("worked-example", "1. A filter slides over an image",
                     "A 4x4 grayscale image and a 2x2 filter that responds to horizontal edges (bright above, dark "
                     "below). Every number below was computed by convscope's engine when this page was built.")
    s.figure(show_matrices({"image I": demo.IMAGE, "filter K": demo.HORIZONTAL_EDGE,
                            "CNN layer: cross-correlation": r["cross_correlation"],
                            "true convolution (K flipped)": r["true_convolution"]},
                           signed={"filter K", "CNN layer: cross-correlation", "true convolution (K flipped)"},
                           title="The same image and filter, two operations"),
             "worked-example.png", "Output size (4 - 2 + 2*0) / 1 + 1 = 3, so a 3x3 feature map.")
    s.markup("<p>What a CNN layer computes is a <b>cross-correlation</b>: the filter is not flipped.</p>")
    s.code("y[i, j] = sum_u sum_v I[i + u, j + v] * K[u, v]\n"
           "y[0, 0] = 1*1 + 2*1 + 5*(-1) + 6*(-1) = -8\n"
           "every window is [[a, a+1], [a+4, a+5]]: a + (a+1) - (a+4) - (a+5) = -8")
    s.markup("<p>A <b>true convolution</b> flips the filter by 180 degrees first, K becomes [[-1, -1], [1, 1]], "
             "and the sign changes: y[0, 0] = 1*(-1) + 2*(-1) + 5*1 + 6*1 = <b>+8</b>. Some write-ups print -8 "
             "for the flipped version; flipping gives +8. A network learns the flipped weights just as well, "
             "which is why frameworks skip the flip and still call it convolution.</p>")
    s.figure(show_matrices({"image I": demo.IMAGE, "filter [[0, 1], [1, 0]]": demo.DIAGONAL,
                            "feature map 2": r["diagonal"]}, title="A second filter of the same layer"),
             "worked-example-diagonal.png",
             "y[i, j] = I[i, j+1] + I[i+1, j]: a window [[a, a+1], [a+4, a+5]] gives 2a + 5, so 7 ... 27. "
             "(Some write-ups print a constant 8 here; it grows with a.)")
    s.figure(show_matrices({"image with a line in row 2": r["line_image"],
                            "line detector": demo.HORIZONTAL_LINE, "response, padding='same'": r["line_response"]},
                           title="A horizontal-line detector"),
             "worked-example-line.png",
             "+6 on the line (2+2+2 from the middle row), -3 on the rows beside it, 0 on flat areas; the ends read "
             "+4 and -2 because zero padding cuts the window short.")


# --------------------------------------------------------------------------- 2. classic filters

_CLASSIC = (
    ("gaussian", {"sigma": 2.0}, "Gaussian blur, sigma 2"),
    ("sobel_x", {}, "Sobel x: vertical edges"),
    ("sobel_y", {}, "Sobel y: horizontal edges"),
    ("laplacian", {}, "Laplacian: second derivative"),
    ("sharpen", {}, "sharpen"),
    ("emboss", {}, "emboss"),
    ("gabor", {"sigma": 3.0, "theta": 45.0, "wavelength": 8.0}, "Gabor, 45 degrees"),
    ("horizontal_line", {}, "horizontal line detector"),
)


def _display(result: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """uint8 for the page, mapped as ``convscope apply --display auto`` maps it."""
    from ..filters.display import auto_method, to_display

    return to_display(result, auto_method([kernel])[0])


def _photograph() -> tuple[np.ndarray, str]:
    from ..data import patterns

    try:
        return patterns.sample_image("camera"), "the 'camera' photograph from scikit-image"
    except ModuleNotFoundError:
        return patterns.circles(256, width=12), "a test pattern (install convscope[samples] for a photograph)"


def _classic_filters(page: Page) -> None:
    from .. import filters
    from ..data import patterns
    from ..viz.arrays import show_images

    photo, where = _photograph()
    pattern = patterns.checkerboard(192, square=24)
    s = page.section("classic-filters", "2. Classic filters, designed by hand",
                     f"Each kernel is a small array of weights; sliding it over an image computes a weighted sum "
                     f"at every pixel. Here on {where} and on a checkerboard, with a signed kernel shown on the "
                     f"diverging colour map (blue negative, white 0, red positive) and a non-negative one in grey. filters.describe() explains each "
                     f"kernel from its numbers alone.")
    magnitude, _ = filters.gradient(photo)
    s.figure(show_images({"photograph": photo, "Sobel gradient magnitude": filters.display.to_display(magnitude, "rescale")},
                         panel_size=3.6), "classic-gradient.png",
             "filters.gradient(): the edge strength sqrt(gx^2 + gy^2) from the Sobel pair.")
    for name, params, label in _CLASSIC:
        kernel = filters.get(name, **params)
        on_photo = _display(filters.apply(photo, kernel, boundary="reflect"), kernel)
        on_pattern = _display(filters.apply(pattern, kernel, boundary="reflect"), kernel)
        fig = show_images({f"kernel {kernel.shape[0]}x{kernel.shape[1]}": kernel, "on the photograph": on_photo,
                           "on the checkerboard": on_pattern}, panel_size=2.8, title=label)
        s.heading(label)
        s.figure(fig, f"classic-{name}.png", "")
        s.text(filters.describe(kernel).text())


# --------------------------------------------------------------------------- 3. arithmetic

def _arithmetic(page: Page) -> None:
    from ..viz.animate import CASE_TITLES, DUMOULIN_CASES, animate_convolution

    s = page.section("arithmetic", "3. Padding, stride and dilation",
                     "The window slides over the (padded) input and fills one output cell per position, drawn as in "
                     "Dumoulin & Visin's \"A guide to convolution arithmetic for deep learning\". Each frame writes "
                     "the output-size formula out with its numbers: out = floor((in + 2p - d(k - 1) - 1) / s) + 1. "
                     "A transposed convolution is drawn as the direct convolution that computes it: zeros inserted "
                     "between the input cells (stride - 1 of them) and padded by d(k - 1) - p.")
    items = []
    for name, kwargs in DUMOULIN_CASES.items():
        items.append((animate_convolution(**kwargs), f"arithmetic-{name}.gif", CASE_TITLES[name]))
    s.gallery(items, wide=True)


# --------------------------------------------------------------------------- 4-10. the learned network

def _train(epochs: int, seed: int, progress: bool | None, stream: TextIO | None):
    from .. import data, models, nn, optim
    from ..random import manual_seed
    from ..train import evaluate, fit
    from ..viz.training import FilterEvolution, StepRecorder

    manual_seed(seed)
    norm = data.Normalize(0.1307, 0.3081)
    train_set, test_set = data.MNIST.bundled(train=True), data.MNIST.bundled(train=False)
    train = data.DataLoader(train_set, batch_size=64, shuffle=True, seed=seed, transform=norm)
    test = data.DataLoader(test_set, batch_size=250, transform=norm)
    model = models.lenet5()
    evolution = FilterEvolution("0", every=max(1, len(train) // 8))
    steps = StepRecorder()
    optimizer = optim.Adam(model.parameters(), lr=2e-3)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    history = fit(model, train, nn.CrossEntropyLoss(), optimizer, epochs, val_loader=test, scheduler=scheduler,
                  progress=progress, stream=stream, callbacks=[evolution, steps])
    model.eval()
    final = evaluate(model, test)
    return model, history, evolution, steps, final, norm, test_set, len(train_set)


def _predict(model, images: np.ndarray) -> np.ndarray:
    from ..autograd import no_grad

    with no_grad():
        out = model(images)
    return np.asarray(out.data if hasattr(out, "data") else out)


def _examples(test_set, norm, count: int = 3) -> list[tuple[np.ndarray, int]]:
    """The first test images of ``count`` different classes, normalised, as (1, 28, 28) and label."""
    picked, seen = [], set()
    for i in range(len(test_set.targets)):
        label = int(test_set.targets[i])
        if label not in seen:
            seen.add(label)
            image = norm(test_set.data[i:i + 1].astype(np.float32)[:, None] / 255.0)[0]
            picked.append((np.asarray(image, dtype=np.float32), label))
        if len(picked) == count:
            break
    return picked


def _learned_filters(page: Page, model, evolution) -> None:
    from ..viz.filters import filter_grid, match_classic, nearest_classic
    from ..viz.training import filter_evolution

    s = page.section("learned-filters", "4. Filters learned from data",
                     "LeNet-5 started from random weights; backpropagation turned its first layer's six 5x5 filters "
                     "into detectors of strokes and edges. Colours on one shared scale centred on 0.")
    s.figure(filter_grid(evolution.snapshots[0].weight, title="conv1 at initialisation"), "filters-initial.png",
             "Uniform random weights in +-1/sqrt(25) = +-0.2 (PyTorch's default initialisation).")
    s.figure(filter_grid(model[0], title="conv1 after training"), "filters-trained.png",
             "The same six filters after training.")
    s.figure(filter_evolution(evolution), "filters-evolution.gif",
             "The first layer's filters during training, one frame per snapshot, one colour scale for all frames.")
    s.figure(nearest_classic(model[0]), "filters-nearest-classic.png",
             "Learned vs designed: each learned filter beside the classic kernel it correlates with best.")
    rows = [(m.filter, m.name, f"{m.similarity:.2f}") for m in match_classic(model[0])]
    s.table(["learned filter", "nearest classic kernel", "similarity |r|"], rows)
    s.figure(filter_grid(model[3], title="conv2: 16 filters x 6 input channels"), "filters-conv2.png",
             "The second layer's filters combine the first layer's six maps; each row is one filter.")


def _feature_maps(page: Page, model, examples) -> None:
    from ..viz.features import feature_maps

    s = page.section("feature-maps", "5. Feature maps: where each filter fires",
                     "A test image through every layer: each small map is one channel's response. The first layer's "
                     "maps still look like the digit, edge by edge; deeper maps are smaller and more abstract.")
    for i, (image, label) in enumerate(examples):
        s.figure(feature_maps(model, image), f"features-{i}.png", f"A test digit {label} through LeNet-5.")


def _maximization(page: Page, model) -> list[tuple[str, int, float, float]]:
    from ..viz.maximize import activation_maximization, maximize_grid

    s = page.section("maximization", "6. What each filter looks for",
                     "Activation maximization: start from faint noise and follow the gradient of one channel's mean "
                     "activation with respect to the input image, through convscope's own autograd, with random "
                     "jitter, small scalings and rotations, and L2 and total-variation penalties so the result is a "
                     "pattern rather than noise.")
    s.figure(maximize_grid(model, "0", list(range(6))), "maximize-conv1.png",
             "The six conv1 channels: oriented strokes and edges.")
    s.figure(maximize_grid(model, "3", list(range(8))), "maximize-conv2.png",
             "Eight of the sixteen conv2 channels: combinations of strokes.")
    rows = []
    for layer, channel in (("0", 0), ("3", 0)):
        m = activation_maximization(model, layer, channel)
        rows.append((layer, channel, m.start, m.final))
    s.table(["layer", "channel", "activation at start (noise)", "after ascent"],
            [(a, b, f"{c:.3g}", f"{d:.3g}") for a, b, c, d in rows])
    return rows


def _saliency(page: Page, model, examples) -> None:
    from ..viz.attribution import grad_cam, saliency

    s = page.section("saliency", "7. Which pixels decided",
                     "Saliency is the size of the gradient of the predicted class's score with respect to each input "
                     "pixel; Grad-CAM weights the last conv layer's maps by their gradients and shows where the "
                     "evidence lies.")
    for i, (image, label) in enumerate(examples):
        s.gallery([(saliency(model, image), f"saliency-{i}.png", f"saliency, digit {label}"),
                   (grad_cam(model, image, layer="3"), f"gradcam-{i}.png", f"Grad-CAM at conv2, digit {label}")])


def _receptive_fields(page: Page, model, examples) -> None:
    from ..viz.receptive import receptive_field_overlay

    image = examples[0][0]
    s = page.section("receptive-fields", "8. Receptive fields",
                     "The input pixels one output value can see. A 5x5 conv sees 5x5; after a 2x2 pool and another "
                     "5x5 conv each value sees 14x14; after the second pool, 16x16. The figures come from "
                     "convscope.summary's receptive-field arithmetic: rf_out = rf_in + (k - 1) * jump_in, "
                     "jump_out = jump_in * stride.")
    s.gallery([(receptive_field_overlay(model, "0", (14, 14), image), "rf-conv1.png", "conv1, output cell (14, 14)"),
               (receptive_field_overlay(model, "3", (5, 5), image), "rf-conv2.png", "conv2, output cell (5, 5)"),
               (receptive_field_overlay(model, "5", (2, 2), image), "rf-pool2.png", "pool2, output cell (2, 2)")])


def _summary(page: Page, model) -> None:
    from ..analysis import summary

    result = summary(model, (1, 28, 28))
    s = page.section("summary", "9. The model, layer by layer",
                     "convscope.summary(model, (1, 28, 28)) traces one forward pass: each layer's output shape, "
                     "parameters, multiply-accumulates and receptive field.")

    def rf(r):
        if r.global_rf:
            return "whole input"
        return "-" if r.receptive_field is None else "x".join(str(v) for v in r.receptive_field)

    rows = [(r.name, r.type, r.geometry_text, "x".join(map(str, r.output_shape)), f"{r.params:,}", f"{r.macs:,}",
             rf(r), "-" if r.jump is None else "x".join(str(v) for v in r.jump)) for r in result]
    s.table(["layer", "type", "k/s/p/d/g", "output", "params", "MACs", "receptive field", "jump"], rows)
    s.text(f"Total: {result.total_params:,} parameters, {result.total_macs:,} multiply-accumulates per image.")


def _training(page: Page, history, steps, final, model, test_set, norm, train_count: int) -> None:
    from ..viz.training import confusion_matrix, training_curves

    s = page.section("training", "10. Training and accuracy",
                     f"LeNet-5 (61,706 parameters) trained with Adam (lr 2e-3, cosine schedule, batch 64) on the "
                     f"{train_count:,} MNIST digits bundled with convscope, and tested on "
                     f"{final['count']:,} others it never saw.")
    s.markup(f'<p>Held-out accuracy: <span class="metric" id="accuracy" data-value="{final["accuracy"]:.6f}">'
             f'{final["accuracy"]:.2%}</span> after {len(history)} epoch{"s" if len(history) > 1 else ""}.</p>')
    s.table(["epoch", "train loss", "train accuracy", "held-out loss", "held-out accuracy", "images/s"],
            [(h["epoch"], f"{h['train_loss']:.3f}", f"{h['train_accuracy']:.2%}", f"{h['val_loss']:.3f}",
              f"{h['val_accuracy']:.2%}", f"{h['images_per_second']:,.0f}") for h in history.epochs])
    s.figure(training_curves(history, steps=steps), "training-curves.png",
             "Loss and accuracy per epoch; the faint line is the loss of every batch.")
    images = norm(test_set.data.astype(np.float32)[:, None] / 255.0)
    predictions = np.argmax(_predict(model, np.asarray(images, dtype=np.float32)), axis=1)
    s.figure(confusion_matrix(test_set.targets, predictions, class_names=DIGITS), "confusion-matrix.png",
             "Rows: the true digit; columns: the prediction. Off-diagonal cells are the mistakes.")
    s.text("Full MNIST (60,000 images) takes LeNet-5 past 99 % test accuracy: "
           "convscope train --model lenet5 --dataset mnist --data-dir DIR --epochs 12 --cosine --augment --out runs/lenet5")


def _cost(page: Page) -> None:
    from ..analysis import compare_separable, conv_cost
    from ..viz._common import new_figure

    s = page.section("cost", "11. What a filter costs: 1x1, depthwise separable and standard",
                     "A standard k x k convolution from Cin to Cout channels has k*k*Cin*Cout weights. A 1x1 "
                     "convolution mixes channels only (Cin*Cout). A depthwise-separable one (MobileNet) filters each "
                     "channel on its own (k*k*Cin) and then mixes with a 1x1 (Cin*Cout): a ratio of "
                     "1/Cout + 1/k^2 of the standard cost.")
    layers = [(32, 64, 112), (64, 128, 56), (128, 256, 28), (256, 512, 14), (512, 512, 14)]
    rows, labels, standard, separable, pointwise = [], [], [], [], []
    for cin, cout, size in layers:
        std = conv_cost(cin, cout, 3, size, bias=False)
        one = conv_cost(cin, cout, 1, size, bias=False)
        sep = compare_separable(cin, cout, 3, size)
        rows.append((f"{cin} -> {cout} at {size}x{size}", f"{std.params:,}", f"{one.params:,}",
                     f"{sep.separable_params:,}", f"{std.macs / 1e6:,.1f} M", f"{sep.separable_macs / 1e6:,.1f} M",
                     f"{sep.ratio:.3f}"))
        labels.append(f"{cin}->{cout}")
        standard.append(std.macs / 1e6)
        separable.append(sep.separable_macs / 1e6)
        pointwise.append(one.macs / 1e6)
    s.table(["layer", "3x3 params", "1x1 params", "separable params", "3x3 MACs", "separable MACs",
             "ratio"], rows)
    fig = new_figure("cost", (7.5, 3.6), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(labels))
    ax.bar(x - 0.27, standard, 0.27, label="standard 3x3", color="#3b6fb6")
    ax.bar(x, separable, 0.27, label="depthwise separable 3x3", color="#e08a2c")
    ax.bar(x + 0.27, pointwise, 0.27, label="1x1", color="#6aa56a")
    ax.set_xticks(x, labels)
    ax.set_xlabel("layer (input -> output channels)")
    ax.set_ylabel("million multiply-accumulates")
    ax.set_title("Cost per image of one conv layer (MobileNet v1's shapes)")
    ax.legend(frameon=False)
    s.figure(fig, "cost.png", "The separable factorisation costs 8 to 9 times less than the standard 3x3 here.")


# --------------------------------------------------------------------------- the whole report

def build_demo_report(out_dir="demo-report", *, epochs: int = 3, seed: int = 0, progress: bool | None = None,
                      stream: TextIO | None = sys.stderr) -> DemoReport:
    """Train LeNet-5 on the bundled digits and write the explained report to ``out_dir/index.html``.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Folder for ``index.html`` and ``img/`` (created; existing report files are replaced).
    epochs : int
        Training epochs over the 5,000 bundled training digits (about 1 to 3 s each here).
    seed : int
        Seeds initialisation and shuffling: the same seed gives the same report.
    progress : bool or None
        Show the training progress bar (None: only on a terminal).
    stream : text stream or None
        Where progress lines go (None: silent).

    Returns
    -------
    DemoReport
        ``path`` of the page, the held-out ``accuracy`` it records, ``seconds`` taken.

    Raises
    ------
    ValueError
        ``epochs`` not a positive integer.
    PermissionError
        ``out_dir`` cannot be written (checked before any work).

    Examples
    --------
    >>> report = build_demo_report("demo-report", epochs=1)   # doctest: +SKIP
    >>> report.path.name                                       # doctest: +SKIP
    'index.html'
    """
    from .. import __version__
    from .._validation import check_int
    from ..viz._common import check_output_path

    epochs = check_int(epochs, "epochs", "build_demo_report", minimum=1)
    out = Path(out_dir)
    check_output_path(out / "img" / "check.png", "build_demo_report", {".png": "png"})
    t0 = time.perf_counter()
    page = Page("convscope: how convolutional filters see",
                "Computed, learned and explained by convscope " + __version__ + " - everything on this page was "
                "computed when it was built, on this machine, offline.")
    steps: list[tuple[str, Callable[[], object]]] = [
        ("the worked example", lambda: _worked_example(page)),
        ("classic filters", lambda: _classic_filters(page)),
        ("convolution arithmetic animations", lambda: _arithmetic(page)),
    ]
    for label, step in steps:
        _say(stream, f"report: {label}")
        step()
    _say(stream, f"report: training LeNet-5 for {epochs} epoch{'s' if epochs > 1 else ''} on the bundled digits")
    model, history, evolution, recorder, final, norm, test_set, train_count = _train(epochs, seed, progress, stream)
    examples = _examples(test_set, norm)
    later = [
        ("learned filters", lambda: _learned_filters(page, model, evolution)),
        ("feature maps", lambda: _feature_maps(page, model, examples)),
        ("activation maximization", lambda: _maximization(page, model)),
        ("saliency and Grad-CAM", lambda: _saliency(page, model, examples)),
        ("receptive fields", lambda: _receptive_fields(page, model, examples)),
        ("model summary", lambda: _summary(page, model)),
        ("training curves and confusion matrix",
         lambda: _training(page, history, recorder, final, model, test_set, norm, train_count)),
        ("costs", lambda: _cost(page)),
    ]
    for label, step in later:
        _say(stream, f"report: {label}")
        step()
    page.footer = f"convscope {__version__}; built in {time.perf_counter() - t0:.0f} s; seed {seed}."
    _say(stream, "report: writing the page and its pictures")
    path = page.write(out)
    return DemoReport(path=path, accuracy=float(final["accuracy"]), epochs=epochs,
                      seconds=time.perf_counter() - t0, images=len(page.images))
