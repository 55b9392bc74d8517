"""Presets set every hyperparameter; options typed on the command line override them."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import synthetic_digits, write_idx_folder
from docpages import marked_block

from digitcli.cli import cli
from digitcli.data.splits import with_shifts
from digitcli.nets.presets import PRESETS, resolve
from digitcli.settings import TrainSettings


def test_every_preset_sets_every_hyperparameter():
    fields = set(TrainSettings.__dataclass_fields__) - {"seed", "limit", "preset", "init_from", "freeze"}  # --from
    for name, preset in PRESETS.items():
        assert set(preset["settings"]) == fields, name
        TrainSettings(**preset["settings"])  # all valid field names


def test_book_regularisation_is_the_books_cost_term():
    """The books' L2 terms over the weights (not the biases): network2 (chapter 3, lambda 5.0) adds
    lambda/(2n) * sum(w^2) to the mean cost; network3 (chapter 6, lambda 0.1, mini-batches of m = 10)
    adds 0.5 * lambda * sum(w^2) / (n/m), n being the training images. The preset's network must add
    exactly that to Keras' loss."""
    keras = pytest.importorskip("keras")
    import numpy as np

    from digitcli.nets.builders import build

    for name, augment, lam, n, m in (
        ("nielsen-ch3", "none", 5.0, 50_000, None),
        ("nielsen-ch6", "none", 0.1, 50_000, 10),
        ("nielsen-ch6", "shift", 0.1, 250_000, 10),
    ):
        s = TrainSettings(**resolve(name, augment))
        model = build(s.model, s.hidden, s.activation, s.dropout, s.l2, s.output, s.init)
        model(np.zeros((1, *model.input_shape[1:]), "float32"))
        weights = sum(float(np.sum(v.numpy() ** 2)) for v in model.trainable_weights if v.path.endswith("kernel"))
        penalty = float(sum(keras.ops.convert_to_numpy(loss) for loss in model.losses))
        book = lam / (2 * n) * weights if m is None else 0.5 * lam * weights / (n / m)
        assert penalty == pytest.approx(book, rel=1e-4), (name, augment)


def test_presets_command_lists_them_all():
    out = CliRunner().invoke(cli, ["presets", "--format", "json"]).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["preset"] for r in rows] == list(PRESETS)
    assert {r["preset"]: r["target"] for r in rows} == {
        "seed001": 0.98,
        "keras-convnet": 0.99,
        "robust": 0.995,
        "fast": 0.995,
        "best": 0.996,
        "nielsen-ch1": 0.95,
        "nielsen-ch3": 0.975,
        "nielsen-ch6": 0.99,
    }


def test_fast_preset_is_the_robust_recipe_cut_to_ten_epochs_on_all_images():
    """The settings bench/fast_preset.py measured at 99.5% within a minute's worth of keras.io epochs."""
    chosen = {
        "model": "cnn",
        "hidden": (512,),
        "augment": "affine",
        "schedule": "onecycle",
        "lr": 0.005,
        "adam_betas": (0.7, 0.9),
        "batch_size": 256,
        "label_smoothing": 0.1,
        "epochs": 10,
        "validation_size": 0,
        "dropout": 0.0,
    }
    fast = resolve("fast")
    assert {key: fast[key] for key in chosen} == chosen
    # Everything else is the robust recipe's: only the length and the held-out images differ.
    differ = {key for key in fast if fast[key] != resolve("robust")[key]}
    assert differ == {"epochs", "validation_size"}


@pytest.mark.slow  # trains
def test_fast_preset_command_trains_on_all_images_with_the_affine_distortions(tmp_path):
    pytest.importorskip("tensorflow")
    import subprocess

    data = write_idx_folder(tmp_path / "mnist", n_train=300, n_test=100, ink=250, noise=5)
    (command,) = marked_block("fast")
    assert "--preset fast" in command
    result = subprocess.run(
        ["bash", "-c", command.replace("../shared/data/mnist", str(data)) + " --epochs 1 --no-onnx"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    meta = json.loads((tmp_path / "runs" / "fast.json").read_text())
    # A set this small validates on a tenth of its 300 images (training/plan.py); on MNIST none is held out.
    typed = {"preset": "fast", "epochs": 1, "validation_size": 30}
    expected = {**resolve("fast"), **typed, "hidden": [512], "adam_betas": [0.7, 0.9]}
    assert {key: meta["settings"][key] for key in expected} == expected
    assert meta["architecture"] == "cnn"
    evaluated = json.loads(
        CliRunner()
        .invoke(cli, ["evaluate", str(tmp_path / "runs" / "fast.keras"), "--data", str(data), "--format", "json"])
        .stdout
    )
    assert evaluated["accuracy"] == pytest.approx(meta["test"]["accuracy"])


def test_shifts_move_each_image_one_pixel_four_ways():
    images, labels = synthetic_digits(3)
    images[:, 0, :] = images[:, -1, :] = images[:, :, 0] = images[:, :, -1] = 0
    x, y = with_shifts(images, labels)
    assert x.shape == (15, 28, 28) and list(y) == list(labels) * 5
    np.testing.assert_array_equal(x[:3], images)
    np.testing.assert_array_equal(x[3:6, :-1], images[:, 1:])  # moved up one row
    np.testing.assert_array_equal(x[6:9, 1:], images[:, :-1])  # moved down
    np.testing.assert_array_equal(x[9:12, :, :-1], images[:, :, 1:])  # left
    np.testing.assert_array_equal(x[12:15, :, 1:], images[:, :, :-1])  # right


@pytest.mark.parametrize("preset", ["nielsen-ch1", "nielsen-ch3"])
@pytest.mark.slow  # trains
def test_preset_trains_and_explicit_options_override(tmp_path, preset):
    pytest.importorskip("tensorflow")
    data = write_idx_folder(tmp_path / "mnist", n_train=200, n_test=50)
    out = tmp_path / "p.keras"
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--preset",
            preset,
            "--data",
            str(data),
            "--validation-size",
            "50",
            "--epochs",
            "2",
            "--no-onnx",
            "-q",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    settings = json.loads(out.with_suffix(".json").read_text())["settings"]
    # The book's values (Nielsen, chapters 1 and 3), then the two options typed above.
    book = {
        "nielsen-ch1": {"hidden": [30], "lr": 3.0, "l2": 0.0, "loss": "quadratic", "init": "normal"},
        "nielsen-ch3": {"hidden": [100], "lr": 0.5, "l2": 5e-05, "loss": "binary-crossentropy", "init": "fan-in"},
    }[preset]
    shared = {"model": "dense", "activation": "sigmoid", "optimizer": "sgd", "batch_size": 10, "output": "sigmoid"}
    typed = {"epochs": 2, "validation_size": 50, "preset": preset}
    assert {key: settings[key] for key in {**book, **shared, **typed}} == {**book, **shared, **typed}
    assert resolve(preset)["validation_size"] == 10_000  # the book's 50k/10k split, overridden here
    evaluated = json.loads(
        CliRunner().invoke(cli, ["evaluate", str(out), "--data", str(data), "--format", "json"]).stdout
    )
    assert evaluated["loss_kind"] == resolve(preset)["loss"]
    assert evaluated["accuracy"] == pytest.approx(json.loads(out.with_suffix(".json").read_text())["test"]["accuracy"])


@pytest.mark.slow  # trains
def test_default_output_name_follows_the_preset(tmp_path, monkeypatch):
    pytest.importorskip("tensorflow")
    monkeypatch.chdir(tmp_path)
    data = write_idx_folder(tmp_path / "mnist", n_train=100, n_test=20)
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--preset",
            "seed001",
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
        ],
    )
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "runs" / "seed001.json").read_text())
    assert meta["settings"]["hidden"] == [8] and meta["settings"]["batch_size"] == 64
    assert meta["settings"]["validation_size"] == 20  # typed, so it overrides the preset's 0
