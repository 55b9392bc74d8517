"""train --from on a small set of one's own takes the fine-tuning defaults (training.plan.FINE_TUNE)
for what was not typed, and --freeze convolutions keeps the convolutions' weights."""

import dataclasses
import json

import numpy as np
import pytest
from conftest import ROOT, write_idx_folder
from conftest import cli_run as run
from test_own_digits import digit_folder

from digitcli.settings import TrainSettings
from digitcli.training import plan

SHIPPED_CNN = ROOT / "models" / "cnn.keras"


def saved_cnn(**changes):
    """The settings a --from of a cnn trained from scratch starts with: its own 20 epochs at 0.005."""
    return TrainSettings(**{"model": "cnn", "lr": 0.005, "epochs": 20, "init_from": "models/cnn.keras", **changes})


def test_a_small_set_of_ones_own_takes_the_fine_tuning_defaults(tmp_path):
    folder, _, _ = digit_folder(tmp_path / "mine", 30)
    mnist = write_idx_folder(tmp_path / "mnist", n_train=300, n_test=20)
    chosen, data = plan.data_for(saved_cnn(), set(), folder, mix=mnist)
    assert (chosen.lr, chosen.epochs, chosen.freeze) == (
        plan.FINE_TUNE["lr"],
        plan.FINE_TUNE["epochs"],
        plan.FINE_TUNE["freeze"],
    )
    assert data.source == f"{folder} + 300 of {mnist}"  # all of a mix smaller than the default size
    typed, _ = plan.data_for(saved_cnn(lr=0.01, freeze="none"), {"lr", "freeze"}, folder, mix=mnist)
    assert (typed.lr, typed.epochs, typed.freeze) == (0.01, plan.FINE_TUNE["epochs"], "none")  # typed wins


def test_the_defaults_leave_large_sets_and_fresh_runs_alone(tmp_path):
    big = write_idx_folder(tmp_path / "big", n_train=plan.SMALL_FINE_TUNE + 100, n_test=10)
    chosen, _ = plan.data_for(saved_cnn(), set(), big)
    assert (chosen.lr, chosen.epochs, chosen.freeze) == (0.005, 20, "none")
    folder, _, _ = digit_folder(tmp_path / "mine", 30)
    fresh, _ = plan.data_for(TrainSettings(model="cnn"), set(), folder)
    assert (fresh.learning_rate(), fresh.epochs, fresh.freeze) == (0.01, 1, "none")
    dense, _ = plan.data_for(TrainSettings(model="dense", init_from="d.keras"), set(), folder)
    assert dense.freeze == "none" and dense.lr == plan.FINE_TUNE["lr"]  # nothing to freeze in a dense network


def test_freeze_goes_with_from(tmp_path):
    refused = run("train", "--freeze", "convolutions", "--data", tmp_path, "--out", tmp_path / "m.keras", code=2)
    assert "--freeze convolutions keeps the weights of the model given by --from; give --from" in refused.stderr


@pytest.mark.slow  # trains
@pytest.mark.skipif(not SHIPPED_CNN.exists(), reason="shipped model missing")
def test_from_on_a_small_set_records_the_defaults_and_keeps_the_convolutions(tmp_path):
    keras = pytest.importorskip("keras")
    folder, _, _ = digit_folder(tmp_path / "mine", 40)
    mnist = write_idx_folder(tmp_path / "mnist", n_train=200, n_test=20)
    tuned = tmp_path / "tuned.keras"
    run("train", "--from", SHIPPED_CNN, "--data", folder, "--mix", mnist, "--no-onnx", "-q", "--out", tuned)
    settings = json.loads(tuned.with_suffix(".json").read_text())["settings"]
    assert {k: settings[k] for k in plan.FINE_TUNE} == plan.FINE_TUNE
    assert settings["init_from"] == str(SHIPPED_CNN)
    again = plan.settings_for(dataclasses.asdict(TrainSettings()), set(), from_model=tuned)
    assert again.freeze == "none" and again.init_from == str(tuned)  # not inherited: a large set trains it all
    before = keras.saving.load_model(SHIPPED_CNN, compile=False)
    after = keras.saving.load_model(tuned, compile=False)
    for old, new in zip(before.layers, after.layers):
        same = all(np.array_equal(a, b) for a, b in zip(old.get_weights(), new.get_weights()))
        if isinstance(old, keras.layers.Conv2D):
            assert same, old.name
        elif isinstance(old, keras.layers.Dense):
            assert not same, old.name  # the dense layers did learn
