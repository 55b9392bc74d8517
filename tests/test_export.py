"""digitcli export: each format computes the same probabilities as the Keras model."""

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import ROOT, SAMPLES

from digitcli.cli import cli

tf = pytest.importorskip("tensorflow")
SHIPPED_CNN = ROOT / "models" / "cnn.keras"
pytestmark = [pytest.mark.real_model, pytest.mark.skipif(not SHIPPED_CNN.exists(), reason="shipped model missing")]


@pytest.fixture(scope="module")
def images_and_reference():
    from digitcli.inference.predictors import load_predictor

    images = np.stack([np.loadtxt(p, delimiter=",") for p in sorted(SAMPLES.glob("digit*_1.csv"))]).astype(np.uint8)
    return images, load_predictor(SHIPPED_CNN, "keras").probabilities(images)


def export(fmt, out):
    result = CliRunner().invoke(cli, ["export", str(SHIPPED_CNN), "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stdout.strip() == str(out)
    return out


@pytest.mark.slow  # exports with TensorFlow
def test_onnx_export(tmp_path, images_and_reference):
    import onnxruntime as ort

    images, reference = images_and_reference
    session = ort.InferenceSession(str(export("onnx", tmp_path / "m.onnx")))
    got = session.run(None, {session.get_inputs()[0].name: images[..., None].astype(np.float32) / 255})[0]
    np.testing.assert_allclose(got, reference, atol=1e-5)


@pytest.mark.slow
def test_litert_export(tmp_path, images_and_reference):
    images, reference = images_and_reference
    interpreter = tf.lite.Interpreter(model_path=str(export("litert", tmp_path / "m.tflite")))
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    got = []
    for image in images:
        interpreter.resize_tensor_input(inp["index"], [1, 28, 28, 1])
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], image[None, ..., None].astype(np.float32) / 255)
        interpreter.invoke()
        got.append(interpreter.get_tensor(out["index"])[0])
    np.testing.assert_allclose(np.array(got), reference, atol=1e-5)


@pytest.mark.slow
def test_saved_model_export(tmp_path, images_and_reference):
    images, reference = images_and_reference
    loaded = tf.saved_model.load(str(export("saved_model", tmp_path / "m_saved_model")))
    got = loaded.serve(tf.constant(images[..., None].astype(np.float32) / 255)).numpy()
    np.testing.assert_allclose(got, reference, atol=1e-5)


def test_wrong_suffix_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["export", str(SHIPPED_CNN), "--format", "litert", "--out", str(tmp_path / "m")])
    assert result.exit_code == 2 and "litert exports must end in .tflite" in result.stderr
    assert not list(tmp_path.iterdir())


# Another program's use of an export: onnxruntime and NumPy only, told what to feed the model by the
# file's own names and metadata, reading the sample digits' CSVs (0-255, ink high) itself.
STANDALONE = r"""
import csv, json, sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

model, samples = sys.argv[1], Path(sys.argv[2])
session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
(given,), (answer,) = session.get_inputs(), session.get_outputs()
with open(samples / "labels.csv") as fh:
    labels = {row["file"]: int(row["label"]) for row in csv.DictReader(fh)}
names = sorted(labels)
pixels = np.stack([np.loadtxt(samples / name, delimiter=",") for name in names]).astype(np.float32) / 255
probabilities = session.run([answer.name], {given.name: pixels.reshape((len(names), *given.shape[1:]))})[0]
print(json.dumps({
    "input": [given.name, given.shape], "output": [answer.name, answer.shape],
    "metadata": session.get_modelmeta().custom_metadata_map,
    "read": {name: int(digit) for name, digit in zip(names, probabilities.argmax(axis=1))}, "labels": labels,
    "sums": probabilities.sum(axis=1).tolist(), "digitcli_imported": any(m.startswith("digitcli") for m in sys.modules),
}))
"""


@pytest.mark.parametrize("name,shape", [("cnn", [28, 28, 1]), pytest.param("dense", [784], marks=pytest.mark.slow)])
def test_an_onnx_export_is_usable_by_onnxruntime_alone(tmp_path, name, shape):
    import json
    import subprocess
    import sys

    model = tmp_path / f"{name}.onnx"
    result = CliRunner().invoke(
        cli, ["export", str(ROOT / "models" / f"{name}.keras"), "--format", "onnx", "--out", str(model)]
    )
    assert result.exit_code == 0, result.output
    ran = subprocess.run(
        [sys.executable, "-c", STANDALONE, str(model), str(SAMPLES)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    seen = json.loads(ran.stdout)
    assert seen["input"] == ["pixels", ["batch", *shape]] and seen["output"] == ["probabilities", ["batch", 10]]
    assert seen["metadata"]["digitcli.input_scale"].startswith("0 to 1: a 0-255 pixel divided by 255")
    assert seen["metadata"]["digitcli.input_polarity"] == "0 = background, 1 = ink: a light digit on black, as in MNIST"
    assert seen["read"] == seen["labels"] and len(seen["read"]) == 40  # every sample digit read right
    np.testing.assert_allclose(seen["sums"], 1, atol=1e-4)
    assert not seen["digitcli_imported"]


def test_digitcli_reads_old_and_new_onnx_exports_alike(tmp_path, images_and_reference):
    import shutil

    from digitcli.inference.predictors import load_predictor

    images, _ = images_and_reference
    old = load_predictor(SHIPPED_CNN, "onnx")  # the shipped twin, as Keras' exporter named it
    assert old.session.get_outputs()[0].name != "probabilities"
    copy = shutil.copy(SHIPPED_CNN, tmp_path / "cnn.keras")
    result = CliRunner().invoke(cli, ["export", str(copy), "--format", "onnx"])
    assert result.exit_code == 0, result.output
    new = load_predictor(copy, "onnx")
    assert new.path == tmp_path / "cnn.onnx" and new.session.get_outputs()[0].name == "probabilities"
    np.testing.assert_allclose(new.probabilities(images), old.probabilities(images), atol=1e-6)
