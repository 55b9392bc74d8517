"""The seed's experiment: several runs (--runs), a set of one's own scored every epoch (--watch), and
plots of several runs, one line each or their mean with a band."""

import json
import re

import pytest
from conftest import SAMPLES, write_idx_folder
from conftest import cli_run as run

pytest.importorskip("tensorflow")


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


@pytest.mark.slow  # three_runs trains three models
def test_runs_have_their_own_seeds_files_and_a_summary(three_runs):
    _, result, paths = three_runs
    metas = [json.loads(p.with_suffix(".json").read_text()) for p in paths]
    assert [m["settings"]["seed"] for m in metas] == [5, 6, 7]
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    for k, (line, m, path) in enumerate(zip(lines, metas, paths), 1):
        assert line.startswith(f"run {k}: seed {4 + k}, test accuracy {100 * m['test']['accuracy']:.2f}%")
        assert line.endswith(str(path))
    # The arithmetic of the last line: test_the_summary_is_the_mean_and_sample_deviation.
    assert re.fullmatch(r"mean test accuracy \d+\.\d\d% ± \d+\.\d\d \(standard deviation over 3 runs\)", lines[3])
    assert len({m["history"][-1]["loss"] for m in metas}) == 3  # three different runs, not one thrice


@pytest.mark.slow  # three_runs trains three models
def test_resume_keeps_the_runs_that_finished(three_runs):
    args, first, paths = three_runs
    before = [p.read_bytes() for p in paths]
    again = run(*args, "--resume")
    assert again.stderr.count("had finished; keeping it") == 3
    assert [p.read_bytes() for p in paths] == before and again.stdout == first.stdout


@pytest.mark.slow  # three_runs trains three models
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


@pytest.mark.slow  # three_runs trains three models
def test_a_band_is_the_runs_mean_and_spread(three_runs):
    from digitcli.report.plots import draw_history
    from digitcli.training.history import read_history

    _, _, paths = three_runs
    runs = [read_history(p) for p in paths]
    fig = draw_history(runs, band=True)
    accuracy = fig.axes[0]
    lines = {line.get_label(): line for line in accuracy.get_lines()}
    assert set(lines) == {"train (mean)", "validation (mean)", "watched set (mean)"}
    assert len(lines["watched set (mean)"].get_ydata()) == 3  # its values: test_plots' band test
    assert len(accuracy.collections) == 3  # a band for each
    one_each = draw_history(runs)
    assert len(one_each.axes[0].get_lines()) == 9  # 3 runs x train, validation, watched


def test_the_summary_is_the_mean_and_sample_deviation():
    from digitcli.training.runs import summary

    metas = [
        {"settings": {"seed": seed}, "test": {"accuracy": accuracy}, "best_epoch": 2, "history": [{}] * 3}
        for seed, accuracy in ((5, 0.97), (6, 0.98), (7, 0.995))
    ]
    assert summary(metas, ["a.keras", "b.keras", "c.keras"]) == [
        "run 1: seed 5, test accuracy 97.00% (best: epoch 2 of 3), a.keras",
        "run 2: seed 6, test accuracy 98.00% (best: epoch 2 of 3), b.keras",
        "run 3: seed 7, test accuracy 99.50% (best: epoch 2 of 3), c.keras",
        # mean 98.17; sample deviation sqrt((1.1667^2 + 0.1667^2 + 1.3333^2) / 2) = 1.26
        "mean test accuracy 98.17% ± 1.26 (standard deviation over 3 runs)",
    ]
    assert summary(metas[:1], ["a.keras"])[-1] == "mean test accuracy 97.00% ± 0.00 (standard deviation over 1 runs)"


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
