"""--encoding bits: 4 sigmoid outputs holding the digit's binary code (Nielsen's chapter 1)."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import write_idx_folder

from digitcli.cli import cli
from digitcli.nets.encoding import codes, digit_probabilities


def test_codes_are_the_digits_in_binary():
    assert codes([0, 5, 9]).tolist() == [[0, 0, 0, 0], [0, 1, 0, 1], [1, 0, 0, 1]]


def test_a_clear_code_decodes_to_its_digit_and_an_invalid_one_to_the_nearest_valid_one():
    clear = digit_probabilities(codes(range(10)) * 0.98 + 0.01)
    assert clear.argmax(axis=1).tolist() == list(range(10)) and (clear.max(axis=1) > 0.9).all()
    eleven = digit_probabilities([[0.99, 0.01, 0.99, 0.99]])  # 1011: no digit; 1001 (9) and 0011 (3) are one bit away
    assert eleven.argmax() in (3, 9) and eleven.max() < 0.6
    assert np.allclose(eleven.sum(), 1.0, atol=1e-6)


@pytest.mark.slow
def test_a_bits_model_trains_predicts_and_evaluates_to_its_own_score(tmp_path):
    pytest.importorskip("tensorflow")
    data = write_idx_folder(tmp_path / "mnist", n_train=400, n_test=100)
    out = tmp_path / "bits.keras"
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "train",
            "--data",
            str(data),
            "--validation-size",
            "50",
            "--encoding",
            "bits",
            "--hidden",
            "32",
            "--epochs",
            "8",
            "--batch-size",
            "16",
            "-q",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.stderr
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["settings"]["encoding"] == "bits" and meta["settings"]["output"] == "sigmoid"
    import onnx

    assert onnx.load(str(out.with_suffix(".onnx"))).graph.output[0].type.tensor_type.shape.dim[1].dim_value == 4
    for backend in ("onnx", "keras"):
        scored = json.loads(
            runner.invoke(
                cli, ["evaluate", str(out), "--data", str(data), "--format", "json", "--backend", backend]
            ).stdout
        )
        # Keras' decoding metric during training and NumPy's decoding afterwards agree.
        assert scored["accuracy"] == pytest.approx(meta["test"]["accuracy"], abs=1e-9)
    assert meta["test"]["accuracy"] > 0.5
    from conftest import synthetic_digits

    digit = tmp_path / "one.csv"
    np.savetxt(digit, synthetic_digits(1, seed=4)[0][0], fmt="%d", delimiter=",")
    sure = json.loads(runner.invoke(cli, ["predict-csv", str(digit), "--model", str(out), "--format", "json"]).stdout)
    assert sure["prediction"] in range(10) and 0.1 <= sure["confidence"] < 1.0
    unsure = runner.invoke(
        cli,
        [
            "predict-csv",
            str(digit),
            "--model",
            str(out),
            "--format",
            "json",
            "--min-confidence",
            str(min(1.0, sure["confidence"] + 1e-6)),
        ],
    )
    assert json.loads(unsure.stdout)["prediction"] == "?"
