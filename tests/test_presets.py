"""Presets set every hyperparameter; options typed on the command line override them."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import synthetic_digits, write_idx_folder
from digitcli.cli import cli
from digitcli.data import with_shifts
from digitcli.presets import PRESETS, resolve
from digitcli.training import TrainSettings


def test_every_preset_sets_every_hyperparameter():
    fields = set(TrainSettings.__dataclass_fields__) - {"seed", "limit", "preset"}
    for name, preset in PRESETS.items():
        assert set(preset["settings"]) == fields, name
        TrainSettings(**preset["settings"])  # all valid field names


def test_book_units():
    assert resolve("nielsen-ch3")["l2"] == pytest.approx(5.0 / (2 * 50_000))
    assert resolve("nielsen-ch6")["l2"] == pytest.approx(0.1 * 10 / (2 * 50_000))
    assert resolve("nielsen-ch6", "shift")["l2"] == pytest.approx(0.1 * 10 / (2 * 250_000))
    assert resolve("nielsen-ch1")["lr"] == 3.0 and resolve("nielsen-ch1")["loss"] == "quadratic"


def test_presets_command_lists_them_all():
    out = CliRunner().invoke(cli, ["presets", "--format", "json"]).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["preset"] for r in rows] == list(PRESETS)
    assert {r["preset"]: r["target"] for r in rows} == {
        "seed001": 0.98, "keras-convnet": 0.99, "robust": 0.995, "nielsen-ch1": 0.95, "nielsen-ch3": 0.975, "nielsen-ch6": 0.99}


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
def test_preset_trains_and_explicit_options_override(tmp_path, preset):
    pytest.importorskip("tensorflow")
    data = write_idx_folder(tmp_path / "mnist", n_train=200, n_test=50)
    out = tmp_path / "p.keras"
    result = CliRunner().invoke(cli, ["train", "--preset", preset, "--data", str(data), "--validation-size", "50",
                                      "--epochs", "2", "--no-onnx", "-q", "--out", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    settings = json.loads(out.with_suffix(".json").read_text())["settings"]
    expected = {**resolve(preset), "epochs": 2, "validation_size": 50, "preset": preset}
    assert resolve(preset)["validation_size"] == 10_000  # the book's 50k/10k split, overridden here
    for key, value in expected.items():
        assert settings[key] == (list(value) if isinstance(value, tuple) else value), key
    evaluated = json.loads(CliRunner().invoke(cli, ["evaluate", str(out), "--data", str(data), "--format", "json"]).stdout)
    assert evaluated["loss_kind"] == resolve(preset)["loss"]
    assert evaluated["accuracy"] == pytest.approx(json.loads(out.with_suffix(".json").read_text())["test"]["accuracy"])


def test_default_output_name_follows_the_preset(tmp_path, monkeypatch):
    pytest.importorskip("tensorflow")
    monkeypatch.chdir(tmp_path)
    data = write_idx_folder(tmp_path / "mnist", n_train=100, n_test=20)
    result = CliRunner().invoke(cli, ["train", "--preset", "seed001", "--data", str(data), "--validation-size", "20",
                                      "--epochs", "1", "--hidden", "8", "--no-onnx", "-q"])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "models" / "seed001.json").read_text())
    assert meta["settings"]["hidden"] == [8] and meta["settings"]["batch_size"] == 64
    assert meta["settings"]["validation_size"] == 20  # typed, so it overrides the preset's 0
