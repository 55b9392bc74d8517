"""Confidences are probabilities: temperature scaling, its storage with the model, its use by every
backend, the ECE and the one loss (`nll`) that evaluate, NAME.json and /api/model all report."""

import json
import shutil
import zipfile

import numpy as np
import pytest
from conftest import ROOT, SAMPLES, sample_labels, write_idx_folder
from conftest import cli_run as run

from digitcli.inference import calibration
from digitcli.inference.modelfile import ModelFile, read_metadata
from digitcli.inference.predictors import load_predictor


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def miscalibrated(n=20_000, seed=0, squash=0.4):
    """Labels drawn from softmax(logits), so softmax(logits) is calibrated by construction; the model
    reports softmax(squash * logits), as label smoothing makes a model too unsure."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (n, 10))
    truth = softmax(logits)
    labels = (rng.random(n)[:, None] > truth.cumsum(axis=1)).sum(axis=1)
    return softmax(squash * logits).astype(np.float32), labels


def test_temperature_scaling_makes_mean_confidence_match_accuracy():
    p, labels = miscalibrated()
    accuracy = np.mean(p.argmax(axis=1) == labels)
    assert accuracy - p.max(axis=1).mean() > 0.15  # far too unsure before
    temperature = calibration.fit_temperature(p, labels)
    assert temperature == pytest.approx(0.4, abs=0.02)  # undoes the squashing
    fixed = calibration.apply_temperature(p, temperature)
    assert np.array_equal(fixed.argmax(axis=1), p.argmax(axis=1))
    assert abs(fixed.max(axis=1).mean() - accuracy) < 0.01
    assert calibration.expected_calibration_error(p, labels) > 0.15
    assert calibration.expected_calibration_error(fixed, labels) < 0.015
    assert calibration.nll(fixed, labels) < calibration.nll(p, labels) - 0.2
    # A calibrated model is left nearly alone.
    again = calibration.fit_temperature(fixed, labels)
    assert again == pytest.approx(1.0, abs=0.03)


def test_a_validation_set_read_without_a_mistake_leaves_the_probabilities_as_they_are():
    """Such a set's NLL falls as T shrinks, with no minimum: a fit would end at its bound (T = 0.05)
    and make every confidence 1.0, as a small bits model's 50 validation images once did."""
    p, labels = miscalibrated(n=200, seed=1)
    right = p.argmax(axis=1) == labels
    assert 0 < right.sum() < len(labels)
    assert calibration.fit_temperature(p[right], labels[right]) == 1.0
    assert calibration.fit_temperature(p, labels) < 0.9  # one mistake or more: a fit, as before


def test_ece_on_a_hand_made_example():
    p = np.array(
        [
            [0.9, 0.1] + [0.0] * 8,  # confidence 0.9, right
            [0.1, 0.9] + [0.0] * 8,  # confidence 0.9, wrong (the label is 0)
            [0.6, 0.4] + [0.0] * 8,  # confidence 0.6, right
            [1.0] + [0.0] * 9,  # confidence 1.0, right
        ]
    )
    labels = np.array([0, 0, 0, 0])
    # bin (0.867, 0.933]: 2 images, accuracy 0.5, confidence 0.9; bin of 0.6: accuracy 1, confidence
    # 0.6; last bin: accuracy 1, confidence 1. ECE = 2/4 * 0.4 + 1/4 * 0.4 + 1/4 * 0 = 0.3.
    assert calibration.expected_calibration_error(p, labels) == pytest.approx(0.3)
    rows = calibration.reliability(p, labels)
    assert [r["images"] for r in rows] == [0] * 8 + [1, 0, 0, 0, 0, 2, 1]
    assert rows[13]["accuracy"] == 0.5 and rows[13]["confidence"] == pytest.approx(0.9)
    assert calibration.nll(p, labels) == pytest.approx(-np.mean(np.log([0.9, 0.1, 0.6, 1.0])))


def sample_images():
    names = sorted(sample_labels())
    images = np.stack([np.loadtxt(SAMPLES / n, delimiter=",") for n in names]).astype(np.uint8)
    return images, np.array([sample_labels()[n] for n in names])


@pytest.mark.parametrize("name", ["robust", "cnn", "dense"])
def test_shipped_models_carry_a_temperature_that_their_onnx_export_applies(name):
    import onnx
    import onnxruntime as ort

    from digitcli.inference import onnx_calibration

    model = ModelFile.open(ROOT / "models" / f"{name}.keras")
    assert model.temperature is not None and 0.2 < model.temperature < 5
    assert json.loads((ROOT / "models" / f"{name}.json").read_text())["calibration"] == model.metadata["calibration"]
    images, labels = sample_images()
    predictor = load_predictor(model, "onnx")
    calibrated = predictor.probabilities(images)
    # The export is calibrated for any program that reads it: its own output, nothing applied here.
    assert predictor.temperature is None
    session = ort.InferenceSession(str(model.onnx_path), providers=["CPUExecutionProvider"])
    x = (images / 255.0).astype(np.float32).reshape(len(images), *session.get_inputs()[0].shape[1:])
    np.testing.assert_allclose(session.run(None, {session.get_inputs()[0].name: x})[0], calibrated, atol=1e-6)
    raw = onnx_calibration.strip(onnx.load(str(model.onnx_path)))
    plain = ort.InferenceSession(raw.SerializeToString(), providers=["CPUExecutionProvider"])
    uncalibrated = plain.run(None, {plain.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(calibration.apply_temperature(uncalibrated, model.temperature), calibrated, atol=1e-5)
    assert np.array_equal(calibrated.argmax(axis=1), uncalibrated.argmax(axis=1))
    # What photo segmentation scores with (its weights were fitted before calibration).
    np.testing.assert_allclose(predictor.uncalibrated(images), uncalibrated, atol=1e-5)
    assert np.array_equal(calibrated.argmax(axis=1), labels)


def test_the_default_models_clear_digits_are_read_with_confidence_above_the_smoothing_cap():
    images, labels = sample_images()
    p = load_predictor(ROOT / "models" / "robust.keras", "onnx").probabilities(images)
    assert np.array_equal(p.argmax(axis=1), labels)
    # Label smoothing capped these near 0.90-0.93; calibrated, most clear digits are near-certain.
    assert np.median(p.max(axis=1)) > 0.99


@pytest.fixture
def dense_copy(tmp_path):
    for suffix in (".keras", ".json", ".onnx"):
        shutil.copy(ROOT / "models" / f"dense{suffix}", tmp_path / f"dense{suffix}")
    return tmp_path / "dense.keras"


def test_calibrate_refits_and_stores_the_temperature_changing_only_metadata(dense_copy, tmp_path):
    data = write_idx_folder(tmp_path / "mnist", n_train=400, n_test=100)
    before = zipfile.ZipFile(ROOT / "models" / "dense.keras")
    images, _ = sample_images()
    old = load_predictor(ROOT / "models" / "dense.keras", "onnx").probabilities(images)

    out = run("calibrate", dense_copy, "--data", data, "--validation-size", 150).stdout
    meta = read_metadata(dense_copy)
    temperature = meta["calibration"]["temperature"]
    assert out.startswith(f"{dense_copy}: temperature {temperature:.4f}")
    # The temperature is the one that fits the last 150 training images, seen through the raw network.
    from digitcli.data.datasets import load_raw

    raw = load_raw(str(data))
    uncalibrated = load_predictor(dense_copy, "onnx", calibrated=False).probabilities(raw.x_train[-150:])
    assert temperature == pytest.approx(calibration.fit_temperature(uncalibrated, raw.y_train[-150:]), rel=1e-6)
    after = zipfile.ZipFile(dense_copy)
    for info in before.infolist():
        if info.filename != "digitcli.json":
            assert after.read(info.filename) == before.read(info.filename), info.filename
    assert json.loads(dense_copy.with_suffix(".json").read_text()) == meta
    # The ONNX twin was re-stamped and re-baked: still used, same digits, the new temperature applied.
    predictor = load_predictor(dense_copy, "onnx")
    new = predictor.probabilities(images)
    assert np.array_equal(new.argmax(axis=1), old.argmax(axis=1))
    assert not np.allclose(new, old, atol=1e-3)
    # evaluate reports the figures stored in the model under the same names.
    result = json.loads(run("evaluate", dense_copy, "--data", data, "--format", "json").stdout)
    for key in ("accuracy", "nll", "ece"):
        assert result[key] == pytest.approx(meta["test"][key], rel=1e-4, abs=1e-6), key
    assert "loss" not in meta["test"] and result["temperature"] == pytest.approx(temperature)


def test_evaluate_reports_nll_and_ece_in_every_format_and_draws_a_reliability_diagram(tmp_path):
    import csv
    import io

    data = write_idx_folder(tmp_path / "mnist", n_train=20, n_test=60)
    model = ROOT / "models" / "dense.keras"
    as_json = json.loads(run("evaluate", model, "--data", data, "--format", "json").stdout)
    images, labels = load_test(data)
    p = load_predictor(model, "onnx").probabilities(images)
    assert as_json["ece"] == pytest.approx(calibration.expected_calibration_error(p, labels), abs=1e-9)
    assert as_json["nll"] == pytest.approx(calibration.nll(p, labels), abs=1e-9)
    rows = list(csv.DictReader(io.StringIO(run("evaluate", model, "--data", data, "--format", "csv").stdout)))
    assert float(rows[0]["ece"]) == pytest.approx(as_json["ece"], abs=1e-4)
    assert float(rows[0]["nll"]) == pytest.approx(as_json["nll"], abs=1e-4)
    text = run("evaluate", model, "--data", data, "--plots", tmp_path / "plots").stdout
    assert f"ECE         {100 * as_json['ece']:.2f}%" in text
    assert f"NLL         {as_json['nll']:.4f}" in text
    assert str(tmp_path / "plots" / "dense-reliability.png") in text
    from PIL import Image

    with Image.open(tmp_path / "plots" / "dense-reliability.png") as picture:
        assert picture.width > 300 and picture.height > 300


def load_test(data):
    from digitcli.data.datasets import load_raw

    raw = load_raw(str(data))
    return raw.x_test, raw.y_test


def test_reliability_figure_draws_one_bar_per_filled_bin():
    from digitcli.report.reliability import draw_reliability

    p, labels = miscalibrated(n=2000)
    fig = draw_reliability(p, labels, "test")
    top = fig.axes[0]
    filled = [r for r in calibration.reliability(p, labels) if r["images"]]
    heights = sorted(round(b.get_height(), 6) for b in top.patches[: len(filled)])
    assert heights == sorted(round(r["accuracy"], 6) for r in filled)
    assert "ECE" in top.get_title()


@pytest.mark.slow
def test_keras_and_onnx_apply_the_same_stored_temperature():
    images, _ = sample_images()
    model = ModelFile.open(ROOT / "models" / "robust.keras")
    keras_p = load_predictor(model, "keras").probabilities(images)
    onnx_p = load_predictor(model, "onnx").probabilities(images)
    np.testing.assert_allclose(keras_p, onnx_p, atol=1e-5)
    raw = load_predictor(model, "keras", calibrated=False).probabilities(images)
    assert np.abs(raw - keras_p).max() > 0.01  # the temperature did something
    np.testing.assert_allclose(calibration.apply_temperature(raw, model.temperature), keras_p, atol=1e-6)


def test_a_fine_tune_with_no_validation_mistake_keeps_its_parents_temperature():
    from types import SimpleNamespace

    from digitcli.inference.recalibrate import measured

    labels = np.arange(20) % 10
    p = np.full((20, 10), 0.01)
    p[np.arange(20), labels] = 0.91  # every image right, as a label-smoothed model says it
    data = SimpleNamespace(x_val=p[:5], y_val=labels[:5], x_test=p, y_test=labels, source="mine")
    kept = measured(lambda x: x, data, inherited=(0.47, "models/robust.keras"))["calibration"]
    assert kept["temperature"] == 0.47 and kept["fitted_on"].startswith("kept from models/robust.keras")
    assert measured(lambda x: x, data)["calibration"]["temperature"] == 1.0  # no parent: as the network says
    wrong = dict(vars(data), y_val=(labels[:5] + 1) % 10)
    fitted = measured(lambda x: x, SimpleNamespace(**wrong), inherited=(0.47, "m"))["calibration"]
    assert fitted["fitted_on"].startswith("validation set") and fitted["temperature"] != 0.47
