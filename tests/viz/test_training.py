"""Training pictures: curves with a point per epoch, hand-checked confusion counts, filter
animations with one frame per snapshot on one colour scale, and clear errors."""

import io

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import convscope  # noqa: E402
from convscope import data, models, nn, optim  # noqa: E402
from convscope.train import fit  # noqa: E402
from convscope.viz import training as T  # noqa: E402
from convscope.viz._common import frames_of  # noqa: E402
from convscope.viz.training import (FilterEvolution, Snapshot, StepRecorder, confusion_counts,  # noqa: E402
                                    confusion_matrix, filter_evolution, training_curves)


def _loader(n=96, batch_size=16):
    train = data.MNIST.bundled(train=True)
    return data.DataLoader(data.ArrayDataset(train.data[:n], train.targets[:n]), batch_size=batch_size,
                           shuffle=True, seed=0, transform=data.Normalize(0.1307, 0.3081))


@pytest.fixture(scope="module")
def trained():
    """LeNet-5 for 2 epochs of 6 batches, with both recorders attached."""
    convscope.manual_seed(0)
    model = models.lenet5()
    recorder, evolution = StepRecorder(), FilterEvolution("0", every=4)
    history = fit(model, _loader(), nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=5e-3), 2,
                  val_loader=_loader(), progress=False, stream=io.StringIO(), callbacks=[recorder, evolution])
    return history, recorder, evolution


def _line(fig, gid):
    lines = [line for ax in fig.axes for line in ax.lines if line.get_gid() == gid]
    assert len(lines) == 1, gid
    return lines[0]


# --------------------------------------------------------------------------- curves

def test_curves_draw_one_point_per_epoch_and_every_batch_behind_them(trained):
    history, recorder, _ = trained
    fig = training_curves(history, steps=recorder)
    for key in ("loss", "accuracy"):
        assert len(_line(fig, f"train_{key}").get_xdata()) == len(history) == 2
        assert len(_line(fig, f"val_{key}").get_xdata()) == 2
        assert len(_line(fig, f"batch_{key}").get_xdata()) == len(recorder) == 12
    np.testing.assert_allclose(_line(fig, "val_loss").get_ydata(), history.column("val_loss"))
    np.testing.assert_allclose(_line(fig, "train_accuracy").get_ydata(),
                               100 * np.array(history.column("train_accuracy")))
    np.testing.assert_allclose(_line(fig, "val_loss").get_xdata(), [1, 2])          # measured after each epoch
    np.testing.assert_allclose(_line(fig, "train_loss").get_xdata(), [0.5, 1.5])    # a mean over each epoch
    np.testing.assert_allclose(_line(fig, "batch_loss").get_xdata()[[0, 5, 11]], [1 / 6, 1, 2])
    assert [ax.get_xlabel() for ax in fig.axes] == ["epoch", "epoch"]
    assert fig.axes[0].get_legend() is not None


def test_curves_take_a_plain_list_of_dicts_and_write_a_file(tmp_path):
    records = [{"train_loss": 1.0 / e, "train_accuracy": 0.5 + e / 10} for e in range(1, 6)]
    fig = training_curves(records, path=tmp_path / "curves.png")
    assert len(_line(fig, "train_loss").get_xdata()) == 5
    assert not [line for ax in fig.axes for line in ax.lines if line.get_gid() == "val_loss"]
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_step_recorder_keeps_every_step_in_order(trained):
    _, recorder, _ = trained
    assert recorder.steps == list(range(1, 13))
    assert recorder.epochs == [1] * 6 + [2] * 6 and recorder.batches == list(range(1, 7)) * 2
    assert all(0 <= a <= 1 for a in recorder.accuracies) and all(np.isfinite(recorder.losses))


def test_curve_errors():
    with pytest.raises(ValueError, match=r"history expects at least one epoch, but got none"):
        training_curves([])
    with pytest.raises(TypeError, match=r"history expects per-epoch dicts, but entry 0 is float"):
        training_curves([0.5])
    with pytest.raises(ValueError, match=r"history expects 'train_loss' in every epoch, but entry 1 has"):
        training_curves([{"train_loss": 1.0}, {"loss": 0.5}])
    with pytest.raises(TypeError, match=r"steps expects a StepRecorder"):
        training_curves([{"train_loss": 1.0}], steps=[0.1, 0.2])
    with pytest.raises(ValueError, match=r"path expects a file name ending in"):
        training_curves([{"train_loss": 1.0}], path="c.jpeg")


# --------------------------------------------------------------------------- confusion

def test_confusion_counts_equal_a_hand_count():
    rng = np.random.default_rng(0)
    labels, predictions = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    want = np.zeros((5, 5), int)
    for t, p in zip(labels, predictions):
        want[t, p] += 1
    got = confusion_counts(labels, predictions, num_classes=5)
    np.testing.assert_array_equal(got, want)
    assert got.sum() == 200 and got[4].sum() == 0
    np.testing.assert_array_equal(confusion_counts(labels, predictions), want[:4, :4])
    scores = np.eye(4)[predictions] + 0.1                       # (N, K) scores: argmax is taken
    np.testing.assert_array_equal(confusion_counts(labels, scores), want[:4, :4])


def test_confusion_matrix_annotates_each_cell_with_its_count():
    labels, predictions = [0, 0, 0, 1, 2, 2], [0, 0, 1, 1, 2, 0]
    fig = confusion_matrix(labels, predictions, class_names=["a", "b", "c"])
    ax = fig.axes[0]
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert texts == {(i, j): str(fig.counts[i, j]) for i in range(3) for j in range(3)}
    assert (ax.get_ylabel(), ax.get_xlabel()) == ("true class", "predicted class")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert "4 of 6 correct" in ax.get_title()
    shares = confusion_matrix(labels, predictions, normalize=True).axes[0].texts
    assert {t.get_text() for t in shares} >= {"67", "33", "100", "50", "0"}


def test_confusion_errors():
    with pytest.raises(ValueError, match=r"same length, but got 3 labels and 2 predictions"):
        confusion_counts([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match=r"expect classes 0\.\.2 \(num_classes=3\), but got class 3"):
        confusion_counts([0, 1, 3], [0, 1, 2], num_classes=3)
    with pytest.raises(ValueError, match=r"labels expects class indices >= 0, but got -1"):
        confusion_counts([0, -1], [0, 1])
    with pytest.raises(TypeError, match=r"labels expects integer class indices, but got dtype float64"):
        confusion_counts([0.5, 1.0], [0, 1])
    with pytest.raises(ValueError, match=r"class_names expects 3 names \(one per class\), but got 2"):
        confusion_matrix([0, 1, 2], [0, 1, 2], class_names=["a", "b"])


# --------------------------------------------------------------------------- filter evolution

def test_filter_evolution_snapshots_at_the_start_every_n_steps_and_the_end(trained):
    _, _, evolution = trained
    assert [s.step for s in evolution.snapshots] == [0, 4, 8, 12]
    assert [s.epoch for s in evolution.snapshots] == [0, 1, 2, 2]
    assert evolution.layer_name == "0"
    gif = filter_evolution(evolution)
    assert gif.n_frames == len(evolution.snapshots)
    frames = [np.asarray(f) for f in frames_of(gif)]
    assert len({f.shape for f in frames}) == 1
    for a, b in zip(frames, frames[1:]):                      # the weights change, so do the frames
        assert np.abs(a.astype(int) - b.astype(int)).sum() > 0
    w0, w1 = evolution.snapshots[0].weight, evolution.snapshots[1].weight
    assert not np.array_equal(w0, w1)                         # copies, not views of the live weights


def test_end_snapshot_is_not_repeated_when_the_last_step_was_taken():
    convscope.manual_seed(0)
    model = models.lenet5()
    evolution = FilterEvolution(model[3], every=3)             # the module itself, not its name
    fit(model, _loader(n=48), nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05), 2, progress=False,
        stream=io.StringIO(), callbacks=[evolution])
    assert [s.step for s in evolution.snapshots] == [0, 3, 6]
    assert evolution.layer_name == "3" and evolution.snapshots[0].weight.shape == (16, 6, 5, 5)
    assert filter_evolution(evolution).n_frames == 3


def _lut_colour(value, limit):
    return T._lut()[int(np.clip(np.rint((value / limit + 1) * 127.5), 0, 255))]


def test_tile_colours_follow_one_scale_shared_by_every_frame():
    """Frames of all-1, all-0.5 and all-(-1) weights: with one scale (limit 1), the half frame is a
    paler red than the first, not the same full red a per-frame scale would give."""
    base = np.ones((4, 1, 3, 3))
    gif = filter_evolution([base, 0.5 * base, -base], show_change=False)
    layout = T._Layout(base.shape, 1)
    frames = [np.asarray(f).astype(int) for f in frames_of(gif)]
    for frame, value in zip(frames, [1.0, 0.5, -1.0]):
        for f in range(4):
            x, y = layout.tile_origin(f, 0)
            pixel = frame[y + layout.tile_h // 2, x + layout.tile_w // 2]
            np.testing.assert_allclose(pixel, _lut_colour(value, 1.0), atol=10)
    assert np.abs(_lut_colour(0.5, 1.0).astype(int) - _lut_colour(1.0, 1.0)).max() > 60   # the test can tell


def test_the_change_panel_is_white_first_and_coloured_by_the_change():
    base = np.zeros((1, 1, 4, 4))
    grown = base.copy()
    grown[0, 0, 0, 0] = 2.0
    gif = filter_evolution([base, grown])
    layout = T._Layout(base.shape, 2)
    first, last = (np.asarray(f).astype(int) for f in frames_of(gif))
    x, y = layout.tile_origin(0, 0, panel=1)
    corner = (y + layout.px // 2, x + layout.px // 2)
    np.testing.assert_allclose(first[corner], _lut_colour(0.0, 2.0), atol=10)
    np.testing.assert_allclose(last[corner], _lut_colour(2.0, 2.0), atol=10)


def test_filter_evolution_writes_an_animated_gif(tmp_path):
    from PIL import Image

    w = np.random.default_rng(0).normal(size=(6, 1, 5, 5))
    snaps = [Snapshot(0, 0, w), Snapshot(10, 1, w * 1.2), Snapshot(20, 2, w * 1.4)]
    filter_evolution(snaps, path=tmp_path / "evo.gif", duration=120, hold=900)
    with Image.open(tmp_path / "evo.gif") as gif:
        assert gif.n_frames == 3
        durations = []
        for i in range(3):
            gif.seek(i)
            durations.append(gif.info["duration"])
    assert durations == [120, 120, 900]


def test_filter_evolution_errors():
    with pytest.raises(ValueError, match=r"snapshots expects at least one snapshot, but got none"):
        filter_evolution([])
    with pytest.raises(ValueError, match=r"snapshot 0 is \(2, 1, 3, 3\) and snapshot 1 is \(3, 1, 3, 3\)"):
        filter_evolution([np.zeros((2, 1, 3, 3)), np.zeros((3, 1, 3, 3))])
    with pytest.raises(ValueError, match=r"snapshot 0 expects conv weights .* but got shape \(1, 1, 1, 3, 3\)"):
        filter_evolution([np.zeros((1, 1, 1, 3, 3))])
    with pytest.raises(TypeError, match=r"snapshots expects a FilterEvolution or a list"):
        filter_evolution(np.zeros((2, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"path expects a file name ending in \.png, \.gif"):
        filter_evolution([np.zeros((2, 1, 3, 3))], path="evo.mp4")
    with pytest.raises(ValueError, match=r"every expects a positive integer, but got 0"):
        FilterEvolution("0", every=0)
    model = models.lenet5()
    with pytest.raises(ValueError, match=r"layer expects a convolution layer \(this model's: '0', '3'\), but '1' is"):
        fit(model, _loader(n=16), nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), 1, progress=False,
            stream=io.StringIO(), callbacks=[FilterEvolution("1")])
