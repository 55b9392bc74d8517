"""Checks on the real MNIST files; they run whenever DIGITCLI_DATA points at them (CI sets it)."""

import json

import pytest
from conftest import ROOT, cli_run

pytestmark = pytest.mark.slow


def run(*args):
    return cli_run(*args)


def test_real_files_load_with_the_documented_counts(real_data):
    import numpy as np

    from digitcli.data.splits import load_dataset

    ds = load_dataset(real_data)
    assert ds.sizes() == {"train": 50_000, "validation": 10_000, "test": 10_000}
    assert np.bincount(ds.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_one_epoch_of_dense_on_full_mnist_reaches_94_percent(real_data, tmp_path):
    # One epoch of the default recipe is 196 batches of 256 with the rate decayed to zero: 94.70% here.
    out = tmp_path / "dense.keras"
    result = run("train", "--data", real_data, "--epochs", 1, "--out", out)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["data"]["train"] == 50_000 and len(meta["history"]) == 1
    assert meta["test"]["accuracy"] >= 0.94, meta["test"]
    assert {p.name for p in tmp_path.iterdir()} == {"dense.keras", "dense.json", "dense.history.csv", "dense.onnx"}
    assert f"test accuracy {100 * meta['test']['accuracy']:.2f}%" in result.stdout


@pytest.mark.parametrize("name,target", [("dense", 0.98), ("cnn", 0.99)])
@pytest.mark.real_model
def test_shipped_models_score_what_their_metadata_says(real_data, name, target):
    model = ROOT / "models" / f"{name}.keras"
    result = json.loads(run("evaluate", model, "--data", real_data, "--format", "json").stdout)
    meta = json.loads(model.with_suffix(".json").read_text())
    assert result["images"] == 10_000
    assert result["accuracy"] >= target
    assert result["accuracy"] == pytest.approx(meta["test"]["accuracy"], abs=1e-4)
    assert meta["data"]["source"].endswith("mnist") and meta["data"]["train"] == 50_000
