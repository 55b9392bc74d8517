"""Plots draw exactly what was saved or predicted: curves equal histories, titles equal predictions,
the heatmap equals the confusion matrix."""

import json
import re

import numpy as np
from conftest import SAMPLES, SHIPPED_DENSE, cli_run, sample_labels, synthetic_digits

from digitcli.report import plots

HISTORY_A = [
    {"epoch": e, "accuracy": 0.8 + e / 100, "loss": 1 / e, "val_accuracy": 0.79 + e / 100, "val_loss": 1.1 / e}
    for e in range(1, 6)
]
HISTORY_B = [{"epoch": e, "accuracy": 0.7 + e / 50, "loss": 2 / e} for e in range(1, 4)]


def lines_by_label(ax):
    return {line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in ax.lines}


def test_history_curves_are_the_saved_values():
    fig = plots.draw_history([("run", HISTORY_A)])
    acc, loss = fig.axes
    drawn = lines_by_label(acc)
    assert drawn["train"] == ([1, 2, 3, 4, 5], [r["accuracy"] for r in HISTORY_A])
    assert drawn["validation"] == ([1, 2, 3, 4, 5], [r["val_accuracy"] for r in HISTORY_A])
    assert lines_by_label(loss)["validation"][1] == [r["val_loss"] for r in HISTORY_A]
    assert (acc.get_title(), acc.get_xlabel(), acc.get_ylabel()) == ("Accuracy by epoch", "epoch", "accuracy")
    assert loss.get_title() == "Loss by epoch" and loss.get_legend() is not None
    assert list(acc.get_xticks()) == [1, 2, 3, 4, 5]  # epochs numbered from 1


def test_several_runs_share_one_chart():
    fig = plots.draw_history([("dense", HISTORY_A), ("cnn", HISTORY_B)])
    drawn = lines_by_label(fig.axes[0])
    assert set(drawn) == {"dense train", "dense validation", "cnn train"}
    assert drawn["cnn train"][1] == [r["accuracy"] for r in HISTORY_B]
    colours = {label: line.get_color() for label, line in zip(drawn, fig.axes[0].lines)}
    assert colours["dense train"] == colours["dense validation"] != colours["cnn train"]


def test_a_band_is_the_mean_and_one_standard_deviation_of_the_runs():
    runs = [("a", [{"epoch": 1, "accuracy": 0.5, "loss": 1.0}, {"epoch": 2, "accuracy": 0.7, "loss": 0.8}])]
    runs.append(("b", [{"epoch": 1, "accuracy": 0.7, "loss": 0.6}, {"epoch": 2, "accuracy": 0.9, "loss": 0.4}]))
    fig = plots.draw_history(runs, band=True)
    acc = fig.axes[0]
    assert lines_by_label(acc)["train (mean)"][0] == [1, 2]
    np.testing.assert_allclose(lines_by_label(acc)["train (mean)"][1], [0.6, 0.8])
    (band,) = acc.collections
    corners = {(round(float(x), 6), round(float(y), 6)) for x, y in band.get_paths()[0].vertices}
    assert {(1, 0.5), (1, 0.7), (2, 0.7), (2, 0.9)} <= corners  # 0.6 and 0.8, each +- 0.1
    assert acc.get_title() == "Accuracy by epoch (mean of 2 runs, band: 1 s.d.)"


def test_digit_grid_titles_are_the_predictions_and_mistakes_are_marked():
    images, _ = synthetic_digits(3)
    titles, wrong = plots.prediction_titles([3, 8, 1], [0.91, 0.5, 0.995], [3, 9, None])
    assert titles == ["3 (91%)\ntrue 3", "8 (50%)\ntrue 9 ✗", "1 (100%)"] and wrong == [False, True, False]
    fig = plots.draw_digits(images, titles, wrong)
    assert [ax.get_title() for ax in fig.axes[:3]] == titles
    assert fig.axes[1].title.get_color() == "crimson" and fig.axes[0].title.get_color() == "black"
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), images[0])
    assert fig.axes[0].images[0].get_cmap().name == "binary"


def test_each_caption_sits_nearer_its_own_digit_than_the_one_above():
    images, _ = synthetic_digits(20)
    titles, wrong = plots.prediction_titles(list(range(10)) * 2, [0.9] * 20, list(range(10)) * 2)
    fig = plots.draw_digits(images, titles, wrong)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()

    def image_box(ax):
        return ax.images[0].get_window_extent(renderer)

    for above, below in zip(fig.axes[:10], fig.axes[10:20]):
        caption = below.title.get_window_extent(renderer)
        to_own = caption.y0 - image_box(below).y1  # display y grows upwards
        to_above = image_box(above).y0 - caption.y1
        assert -1 < to_own < to_above  # pixels; the caption may touch its own image


def test_a_few_digits_get_large_tiles():
    images, _ = synthetic_digits(3)
    fig = plots.draw_digits(images, ["a", "b", "c"])
    fig.canvas.draw()
    width = fig.axes[0].images[0].get_window_extent(fig.canvas.get_renderer()).width / fig.dpi
    assert width >= 1.2  # inches: the tiles were under an inch wide, with wide gaps between them


def test_confusion_heatmap_is_the_matrix():
    matrix = np.arange(100).reshape(10, 10)
    fig = plots.draw_confusion(matrix)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), matrix)
    assert [t.get_text() for t in ax.texts] == [str(v) for v in matrix.ravel()]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted digit", "true digit")


def test_samples_grid_has_one_row_per_digit():
    images, labels = synthetic_digits(200)
    fig = plots.draw_samples(images, labels, per_class=4)
    rows = [ax for ax in fig.axes if ax.get_ylabel()]
    assert [ax.get_ylabel() for ax in rows] == [str(d) for d in range(10)]
    first_of_seven = fig.axes[7 * 4].images[0].get_array()
    np.testing.assert_array_equal(first_of_seven, images[np.flatnonzero(labels == 7)[0]])


def run(*args, code=0):
    return cli_run(*args, code=code)


def test_plot_command_writes_each_picture_and_prints_its_path(tmp_path, tiny_mnist):
    history = tmp_path / "run.history.csv"
    history.write_text("epoch,accuracy,loss\n1,0.5,1.0\n2,0.7,0.6\n")
    meta = tmp_path / "other.json"
    meta.write_text(json.dumps({"name": "other", "history": HISTORY_A}))
    out = tmp_path / "pics"
    paths = run("plot", history, meta, "--out", out).stdout.split()
    assert paths == [str(out / "compare-history.png")]
    assert (out / "compare-history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    paths = run("plot", history, "--out", out, "--format", "svg", "--samples", "--data", tiny_mnist).stdout.split()
    assert paths == [str(out / "run-history.svg"), str(out / "samples.svg")]
    assert b"<svg" in (out / "samples.svg").read_bytes()[:500]


def test_plot_digits_titles_are_the_predictions(tmp_path, monkeypatch, fake_predictor):
    """With the fake predictor, which reads every sample digit right: each title is its file's label,
    a confidence, and the same true label, unmarked."""
    out = tmp_path / "pics"
    args = ["plot", "--digits", SAMPLES, "--labels", SAMPLES / "labels.csv", "--model", SHIPPED_DENSE, "--out", out]
    drawn = []
    real_save = plots.save
    monkeypatch.setattr(
        plots, "save", lambda fig, path: drawn.append([a.get_title() for a in fig.axes]) or real_save(fig, path)
    )
    assert run(*args, "--format", "pdf").stdout.split() == [str(out / "digits.pdf")]
    assert (out / "digits.pdf").read_bytes()[:5] == b"%PDF-"
    labels = [label for _, label in sorted(sample_labels().items())]  # a folder is read in name order
    titles = [t for t in drawn[0] if t]
    assert len(titles) == len(labels) == 40
    for title, label in zip(titles, labels):
        assert re.fullmatch(rf"{label} \(\d+%\)\ntrue {label}", title), (title, label)


def test_plot_of_a_file_without_history(tmp_path):
    bad = tmp_path / "x.history.csv"
    bad.write_text("a,b\n1,2\n")
    result = run("plot", bad, "--out", tmp_path, code=1)
    assert result.stderr.strip() == f"Error: {bad}: not a history CSV (needs an epoch column and one row per epoch)"
    assert not list(tmp_path.glob("*.png"))
