"""The seed's experiment: several runs (--runs), a set of one's own scored every epoch (--watch), and
plots of several runs, one line each or their mean with a band."""

import json
import statistics

import numpy as np
import pytest
from conftest import SAMPLES, write_idx_folder
from conftest import cli_run as run

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    data = write_idx_folder(tmp / "mnist", n_train=200, n_test=60)
    out = tmp / "m.keras"
    args = [
        "train",
        "--data",
        data,
        "--validation-size",
        40,
        "--hidden",
        16,
        "--epochs",
        3,
        "--batch-size",
        20,
        "--seed",
        5,
        "--runs",
        3,
        "--watch",
        SAMPLES,
        "--watch-labels",
        SAMPLES / "labels.csv",
        "--no-onnx",
        "-q",
        "--out",
        out,
    ]
    return args, run(*args), [tmp / f"m.run{k}.keras" for k in (1, 2, 3)]


def test_runs_have_their_own_seeds_files_and_a_summary(three_runs):
    _, result, paths = three_runs
    metas = [json.loads(p.with_suffix(".json").read_text()) for p in paths]
    assert [m["settings"]["seed"] for m in metas] == [5, 6, 7]
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    for k, (line, m, path) in enumerate(zip(lines, metas, paths), 1):
        assert line.startswith(f"run {k}: seed {4 + k}, test accuracy {100 * m['test']['accuracy']:.2f}%")
        assert line.endswith(str(path))
    scores = [100 * m["test"]["accuracy"] for m in metas]
    assert lines[3] == (
        f"mean test accuracy {statistics.mean(scores):.2f}% ± {statistics.stdev(scores):.2f} "
        "(standard deviation over 3 runs)"
    )
    assert len({m["history"][-1]["loss"] for m in metas}) == 3  # three different runs, not one thrice


def test_resume_keeps_the_runs_that_finished(three_runs):
    args, first, paths = three_runs
    before = [p.read_bytes() for p in paths]
    again = run(*args, "--resume")
    assert again.stderr.count("had finished; keeping it") == 3
    assert [p.read_bytes() for p in paths] == before and again.stdout == first.stdout


def test_the_watched_set_is_scored_every_epoch(three_runs):
    _, _, paths = three_runs
    meta = json.loads(paths[0].with_suffix(".json").read_text())
    assert [sorted(k for k in row if k.startswith("watch_")) for row in meta["history"]] == [
        ["watch_accuracy", "watch_loss"]
    ] * 3
    assert meta["watch"] == {"source": str(SAMPLES), "images": 40}
    # The saved model has the best epoch's weights: its watch_accuracy is what predict-csv measures.
    best = meta["history"][meta["best_epoch"] - 1]
    records = [
        json.loads(line)
        for line in run(
            "predict-csv", SAMPLES, "--model", paths[0], "--labels", SAMPLES / "labels.csv", "--format", "json"
        ).stdout.splitlines()
    ]
    assert best["watch_accuracy"] == pytest.approx(sum(r["correct"] for r in records) / 40)
    history = (paths[0].with_suffix(".history.csv")).read_text().splitlines()[0].split(",")
    assert {"watch_accuracy", "watch_loss"} <= set(history)


def test_a_band_is_the_runs_mean_and_spread(three_runs):
    from digitcli.report.plots import draw_history
    from digitcli.training.history import read_history

    _, _, paths = three_runs
    runs = [read_history(p) for p in paths]
    fig = draw_history(runs, band=True)
    accuracy = fig.axes[0]
    lines = {line.get_label(): line for line in accuracy.get_lines()}
    assert set(lines) == {"train (mean)", "validation (mean)", "watched set (mean)"}
    watched = [[row["watch_accuracy"] for row in history] for _, history in runs]
    assert np.allclose(lines["watched set (mean)"].get_ydata(), np.mean(watched, axis=0))
    assert len(accuracy.collections) == 3  # a band for each
    one_each = draw_history(runs)
    assert len(one_each.axes[0].get_lines()) == 9  # 3 runs x train, validation, watched


def test_watch_needs_labels(tmp_path):
    data = write_idx_folder(tmp_path / "mnist", n_train=50, n_test=20)
    refused = run(
        "train",
        "--data",
        data,
        "--validation-size",
        10,
        "--watch",
        SAMPLES / "digit3_1.csv",
        "--out",
        tmp_path / "m.keras",
        code=2,
    )
    assert "every digit watched needs a label; give --watch-labels" in refused.stderr
