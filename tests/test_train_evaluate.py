"""train → evaluate on small written-on-the-fly data, through the CLI, checking what is written."""

import csv
import json
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import ROOT, cli_run

from digitcli.cli import cli

pytest.importorskip("tensorflow")


def run(*args, code=0):
    return cli_run(*args, code=code)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One small dense model trained for 3 epochs, shared by the tests that only read it."""
    from conftest import write_idx_folder

    root = tmp_path_factory.mktemp("trained")
    data = write_idx_folder(root / "mnist", n_train=400, n_test=100)
    out = root / "models" / "tiny.keras"
    result = run(
        "train",
        "--data",
        data,
        "--validation-size",
        100,
        "--epochs",
        3,
        "--batch-size",
        32,
        "--hidden",
        "64,32",
        "--out",
        out,
    )
    return data, out, result


@pytest.mark.slow  # trains
def test_train_writes_checkpoint_metadata_history_and_onnx(trained):
    data, out, result = trained
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["architecture"] == "dense"
    assert meta["settings"]["hidden"] == [64, 32] and meta["settings"]["epochs"] == 3
    assert meta["settings"]["lr"] == 0.002 and meta["settings"]["optimizer"] == "adam"  # dense's tuned default
    assert meta["settings"]["schedule"] == "cosine"
    assert meta["data"] == {
        "source": str(data),
        "train": 300,
        "validation": 100,
        "test": 100,
        "fingerprint": meta["data"]["fingerprint"],
    }
    assert len(meta["data"]["fingerprint"]) == 16 and int(meta["data"]["fingerprint"], 16) >= 0
    assert [row["epoch"] for row in meta["history"]] == [1, 2, 3]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(meta["history"][0])
    best = max(meta["history"], key=lambda r: r["val_accuracy"])
    assert meta["best_epoch"] == best["epoch"]
    assert 0.9 <= meta["test"]["accuracy"] <= 1.0  # the synthetic classes are easy
    assert {"tensorflow", "keras", "numpy", "digitcli"} <= set(meta["versions"])
    # The .keras file alone carries the same metadata.
    with zipfile.ZipFile(out) as zf:
        assert json.loads(zf.read("digitcli.json")) == meta
    # The history CSV holds the same numbers.
    with open(out.with_name("tiny.history.csv")) as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert [float(r["val_accuracy"]) for r in rows] == [r["val_accuracy"] for r in meta["history"]]
    assert out.with_suffix(".onnx").exists()
    # No staging folder or lock left behind.
    assert sorted(p.name for p in out.parent.iterdir()) == ["tiny.history.csv", "tiny.json", "tiny.keras", "tiny.onnx"]
    # stdout is the one summary line; the progress went to stderr.
    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith(f"test accuracy {100 * meta['test']['accuracy']:.2f}% after 3 epochs")
    assert "Epoch 1/3" in result.stderr and "Epoch" not in result.stdout


@pytest.mark.slow  # trains
def test_evaluate_matches_the_test_score_saved_at_training(trained):
    import onnxruntime as ort

    from digitcli.data.datasets import load_raw
    from digitcli.inference.calibration import fit_temperature
    from digitcli.inference.predictors import load_predictor

    data, out, _ = trained
    meta = json.loads(out.with_suffix(".json").read_text())
    # train fitted the temperature on its 100 validation images and baked it into the ONNX twin.
    raw = load_raw(str(data))
    uncalibrated = load_predictor(out, "onnx", calibrated=False).probabilities(raw.x_train[-100:])
    assert meta["calibration"]["temperature"] == pytest.approx(
        fit_temperature(uncalibrated, raw.y_train[-100:]), rel=1e-3
    )
    baked = ort.InferenceSession(str(out.with_suffix(".onnx"))).get_modelmeta().custom_metadata_map
    assert float(baked["digitcli.temperature"]) == meta["calibration"]["temperature"]
    for backend in ("onnx", "keras"):
        result = json.loads(run("evaluate", out, "--data", data, "--format", "json", "--backend", backend).stdout)
        assert result["backend"] == backend
        assert result["accuracy"] == pytest.approx(meta["test"]["accuracy"], abs=1e-9)
        assert result["nll"] == pytest.approx(meta["test"]["nll"], rel=1e-3)
        assert result["ece"] == pytest.approx(meta["test"]["ece"], abs=1e-4)
        matrix = np.array(result["confusion_matrix"])
        assert matrix.shape == (10, 10) and matrix.sum() == 100
        assert np.trace(matrix) == result["correct"] == round(100 * result["accuracy"])
        rows = matrix.sum(axis=1)
        np.testing.assert_allclose(result["per_class_accuracy"], np.diag(matrix) / rows)


@pytest.mark.slow  # trains
def test_model_from_environment_variable(trained, monkeypatch):
    data, out, _ = trained
    monkeypatch.setenv("DIGITCLI_MODEL", str(out))
    monkeypatch.setenv("DIGITCLI_DATA", str(data))
    result = json.loads(run("evaluate", "--format", "json").stdout)
    assert result["model"] == str(out) and result["images"] == 100


@pytest.mark.slow  # trains
def test_onnx_and_keras_agree_to_1e_5(trained):
    from conftest import synthetic_digits

    from digitcli.inference.predictors import load_predictor

    _, out, _ = trained
    images, _ = synthetic_digits(200, seed=7)
    onnx = load_predictor(out, "onnx")
    keras = load_predictor(out, "keras")
    assert (onnx.backend, keras.backend) == ("onnx", "keras")
    np.testing.assert_allclose(onnx.probabilities(images), keras.probabilities(images), atol=1e-5, rtol=0)


@pytest.mark.slow  # trains
def test_stale_onnx_is_not_used(trained, tmp_path):
    import shutil

    from digitcli.inference.predictors import load_predictor

    _, out, _ = trained
    copy = tmp_path / "m.keras"
    shutil.copy(out, copy)
    shutil.copy(out.with_suffix(".onnx"), tmp_path / "m.onnx")
    assert load_predictor(copy).backend == "onnx"
    with zipfile.ZipFile(copy, "a") as zf:  # the checkpoint changes; its export is now stale
        zf.writestr("notes.txt", "edited after export")
    notes = []
    assert load_predictor(copy, note=notes.append).backend == "keras"
    assert "made from another version of the checkpoint" in notes[0]


@pytest.mark.slow  # trains
def test_existing_output_is_kept_under_a_new_name_even_with_restart(trained, tmp_path):
    import shutil

    data, out, _ = trained
    target = tmp_path / "m.keras"
    for suffix in (".keras", ".json", ".history.csv", ".onnx"):
        shutil.copy(out.with_name("tiny" + suffix), tmp_path / f"m{suffix}")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    args = [
        "train",
        "--data",
        data,
        "--limit",
        50,
        "--validation-size",
        100,
        "--epochs",
        1,
        "--hidden",
        "8",
        "--out",
        target,
    ]
    result = run(*args)
    assert f"kept the earlier {target} as {tmp_path / 'm.1.keras'}" in result.stderr
    for name, content in before.items():  # every earlier file, byte for byte, under its new name
        assert (tmp_path / name.replace("m.", "m.1.", 1)).read_bytes() == content
    assert json.loads((tmp_path / "m.json").read_text())["settings"]["hidden"] == [8]
    run(*args)
    assert (tmp_path / "m.2.keras").exists() and (tmp_path / "m.1.keras").read_bytes() == before["m.keras"]
    latest = (tmp_path / "m.keras").read_bytes()
    run(*args, "--restart")  # discards an interrupted run's progress; a finished model is still kept
    assert (tmp_path / "m.3.keras").read_bytes() == latest
    assert (tmp_path / "m.keras").read_bytes() != latest


@pytest.mark.slow  # trains
def test_same_seed_same_history(tmp_path):
    from conftest import write_idx_folder

    data = write_idx_folder(tmp_path / "mnist", n_train=300, n_test=50)

    def history(name, seed):
        common = ["--validation-size", 100, "--epochs", 2, "--hidden", "32", "--no-onnx", "-q"]
        run("train", "--data", data, *common, "--seed", seed, "--out", tmp_path / f"{name}.keras")
        return json.loads((tmp_path / f"{name}.json").read_text())["history"]

    first = history("a", 7)
    assert history("b", 7) == first
    assert history("c", 8) != first


@pytest.mark.slow  # trains
def test_cnn_trains_and_sgd_mse_options_are_recorded(tmp_path):
    from conftest import write_idx_folder

    data = write_idx_folder(tmp_path / "mnist", n_train=200, n_test=50)
    run(
        "train",
        "--model",
        "cnn",
        "--data",
        data,
        "--validation-size",
        50,
        "--epochs",
        1,
        "--optimizer",
        "sgd",
        "--lr",
        0.05,
        "--momentum",
        0.9,
        "--loss",
        "mse",
        "--no-onnx",
        "-q",
        "--out",
        tmp_path / "c.keras",
    )
    meta = json.loads((tmp_path / "c.json").read_text())
    assert meta["architecture"] == "cnn" and meta["input_shape"] == [28, 28, 1]
    for key, value in {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "loss": "mse"}.items():
        assert meta["settings"][key] == value
    result = json.loads(run("evaluate", tmp_path / "c.keras", "--data", data, "--format", "json").stdout)
    assert result["backend"] == "keras" and result["loss_kind"] == "mse"
    assert result["accuracy"] == pytest.approx(meta["test"]["accuracy"])


@pytest.mark.slow  # trains
def test_validation_size_zero_selects_by_training_accuracy(tmp_path):
    from conftest import write_idx_folder

    data = write_idx_folder(tmp_path / "mnist", n_train=100, n_test=50)
    run(
        "train",
        "--data",
        data,
        "--validation-size",
        0,
        "--epochs",
        2,
        "--hidden",
        "16",
        "--no-onnx",
        "-q",
        "--out",
        tmp_path / "v.keras",
    )
    meta = json.loads((tmp_path / "v.json").read_text())
    assert meta["selected_by"] == "accuracy" and meta["data"]["validation"] == 0
    assert "val_accuracy" not in meta["history"][0]


@pytest.mark.real_model
def test_default_model_falls_back_to_the_installed_copy(tmp_path, monkeypatch):
    """With no --model, predict-csv reads models/robust.keras here, else the copy installed with the
    package (test_install: each kind of install); with neither, the error names what it looked for."""
    import shutil
    import site
    import sys

    from digitcli.inference import modelfile

    work, prefix = tmp_path / "work", tmp_path / "prefix"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(modelfile, "REPOSITORY", tmp_path)  # installed, not run from a checkout
    monkeypatch.setattr(sys, "prefix", str(prefix))
    monkeypatch.setattr(site, "USER_BASE", str(tmp_path / "user"))
    digit = str(ROOT / "sample_digits" / "digit3_1.csv")
    nothing = run("predict-csv", digit, "--format", "json", code=1)
    assert "models/robust.keras: no such model file" in nothing.stderr
    installed = prefix / "share" / "digitcli" / "models" / "robust.keras"
    installed.parent.mkdir(parents=True)
    for suffix in (".keras", ".onnx"):
        shutil.copy(ROOT / "models" / f"dense{suffix}", installed.with_suffix(suffix))
    from_install = json.loads(run("predict-csv", digit, "--format", "json").stdout)
    (work / "models").mkdir()
    (work / "models" / "robust.keras").write_bytes(b"not a model")  # a local models/ wins, even a broken one
    local = run("predict-csv", digit, "--format", "json", code=1)
    assert "models/robust.keras: not a Keras model" in local.stderr
    assert from_install["prediction"] == 3


def test_defaults_depend_on_the_architecture():
    from digitcli.settings import TrainSettings

    assert (TrainSettings().batch_size, TrainSettings().schedule, TrainSettings().learning_rate()) == (
        256,
        "cosine",
        0.002,
    )
    cnn = TrainSettings(model="cnn")
    assert (cnn.epochs, cnn.batch_size, cnn.schedule, cnn.learning_rate(), cnn.dropout, cnn.adam_betas) == (
        1,
        256,
        "onecycle",
        0.01,
        0.0,
        (0.7, 0.9),
    )
    old = TrainSettings(model="keras-convnet")
    assert (old.epochs, old.batch_size, old.schedule, old.learning_rate(), old.dropout) == (
        10,
        64,
        "constant",
        0.001,
        0.5,
    )
    assert TrainSettings(optimizer="sgd").learning_rate() == 0.01  # Keras' default for other optimizers
    assert TrainSettings(batch_size=32, lr=0.1).as_dict()["batch_size"] == 32


@pytest.mark.parametrize("schedule, end_rate", [("cosine", 0.0), ("constant", 0.002)])
def test_learning_rate_schedule(schedule, end_rate):
    from digitcli.nets.optimizers import optimizer as _optimizer
    from digitcli.settings import TrainSettings

    settings = TrainSettings(epochs=4, schedule=schedule)
    rate = _optimizer(settings, steps_per_epoch=50)._learning_rate
    # Cosine starts at --lr, is at half of it halfway, and reaches zero after the last of 4 x 50 steps.
    at = (lambda step: float(rate(step))) if schedule == "cosine" else (lambda step: float(rate))
    assert [round(at(step), 6) for step in (0, 100, 200)] == [0.002, 0.001 if schedule == "cosine" else 0.002, end_rate]


@pytest.mark.slow  # trains
def test_defaults_and_presets_schedules_are_recorded(tmp_path):
    from conftest import write_idx_folder

    data = write_idx_folder(tmp_path / "mnist", n_train=200, n_test=20)
    for extra, expected in (([], ("cosine", 256, 0.002)), (["--preset", "seed001"], ("constant", 64, 0.001))):
        out = tmp_path / f"m{len(extra)}.keras"
        result = CliRunner().invoke(
            cli,
            [
                "train",
                "--data",
                str(data),
                "--validation-size",
                "20",
                "--epochs",
                "1",
                "--hidden",
                "8",
                "--no-onnx",
                "-q",
                "--out",
                str(out),
                *extra,
            ],
        )
        assert result.exit_code == 0, result.output
        settings = json.loads(out.with_suffix(".json").read_text())["settings"]
        assert (settings["schedule"], settings["batch_size"], settings["lr"]) == expected


@pytest.mark.slow  # trains
def test_evaluate_table_csv_and_the_old_text_name(trained):
    data, out, _ = trained
    js = json.loads(run("evaluate", out, "--data", data, "--format", "json").stdout)
    table = run("evaluate", out, "--data", data).stdout
    assert f"accuracy    {100 * js['accuracy']:.2f}% ({js['correct']} of 100)" in table
    assert "confusion matrix (rows: true digit, columns: predicted digit)" in table
    rows = list(csv.DictReader(run("evaluate", out, "--data", data, "--format", "csv").stdout.splitlines()))
    assert rows[0]["digit"] == "all" and int(rows[0]["images"]) == js["images"] == 100
    assert float(rows[0]["accuracy"]) == pytest.approx(js["accuracy"], abs=1e-4)
    assert float(rows[0]["nll"]) == pytest.approx(js["nll"], abs=1e-4)
    assert [int(r["digit"]) for r in rows[1:]] == list(range(10))
    assert [[int(r[f"pred_{p}"]) for p in range(10)] for r in rows[1:]] == js["confusion_matrix"]
    old = run("evaluate", out, "--data", data, "--format", "text")
    assert old.stdout == table
    assert "--format text is now table" in old.stderr
