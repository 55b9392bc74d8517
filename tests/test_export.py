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
