"""Ensembles: evaluate takes several MODELs and the predict commands --model more than once; the
probabilities are averaged."""

import json

import numpy as np
import pytest
from conftest import ROOT, SAMPLES, write_idx_folder
from conftest import cli_run as run

DENSE, CNN = ROOT / "models" / "dense.keras", ROOT / "models" / "cnn.keras"
pytestmark = [
    pytest.mark.real_model,
    pytest.mark.skipif(not (DENSE.exists() and CNN.exists()), reason="shipped models missing"),
]


def top10(*models):
    args = ["predict-csv", SAMPLES, "--top-k", 10, "--format", "json"]
    for m in models:
        args += ["--model", m]
    rows = [json.loads(line) for line in run(*args).stdout.splitlines()]
    return np.array([[p for _, p in sorted(r["top_k"])] for r in rows]), [r["prediction"] for r in rows]


def test_predict_csv_averages_the_models_probabilities():
    dense, _ = top10(DENSE)
    cnn, _ = top10(CNN)
    both, predictions = top10(DENSE, CNN)
    assert np.allclose(both, (dense + cnn) / 2, atol=2e-6)
    assert predictions == list(((dense + cnn) / 2).argmax(axis=1))
    assert not np.allclose(dense, cnn, atol=1e-3)  # two different models, so the average is a real one


def test_evaluate_scores_the_ensemble(tmp_path):
    from digitcli.data.datasets import load_raw
    from digitcli.inference.predictors import load_predictor

    data = write_idx_folder(tmp_path / "mnist", n_train=20, n_test=200, ink=250, noise=5)
    result = json.loads(run("evaluate", DENSE, CNN, "--data", data, "--format", "json").stdout)
    raw = load_raw(data)
    mean = (load_predictor(DENSE).probabilities(raw.x_test) + load_predictor(CNN).probabilities(raw.x_test)) / 2
    assert result["accuracy"] == pytest.approx(float((mean.argmax(axis=1) == raw.y_test).mean()))
    assert result["model"] == f"{DENSE} + {CNN}" and result["architecture"] == "ensemble of 2: dense, cnn"
    by_option = json.loads(run("evaluate", "--model", DENSE, "--model", CNN, "--data", data, "--format", "json").stdout)
    assert by_option["accuracy"] == result["accuracy"]


def test_predict_image_takes_an_ensemble_too():
    out = run("predict-image", SAMPLES / "number_2025.jpg", "--model", DENSE, "--model", CNN, "--format", "json")
    assert json.loads(out.stdout)["prediction"] == "2025"
