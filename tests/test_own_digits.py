"""Training on your own labelled digits: a folder of the seed's CSVs with a labels file, a test set of
your own (--test-data), MNIST mixed in (--mix), and fine-tuning a saved model (--from)."""

import json

import numpy as np
import pytest
from conftest import cli_run as run
from conftest import synthetic_digits, write_idx_folder

pytest.importorskip("tensorflow")


def digit_folder(folder, n, seed=0, labels=True):
    """n digits as 28 x 28 CSVs (the seed's format) and a file,label labels file."""
    folder.mkdir(parents=True)
    images, digits = synthetic_digits(n, seed)
    rows = ["file,label"]
    for i, (image, digit) in enumerate(zip(images, digits)):
        np.savetxt(folder / f"d{i:03d}.csv", image, fmt="%d", delimiter=",")
        rows.append(f"d{i:03d}.csv,{digit}")
    if labels:
        (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    return folder, images, digits


def meta(out):
    return json.loads(out.with_suffix(".json").read_text())


@pytest.mark.slow  # trains
def test_a_folder_of_digit_csvs_trains_with_a_tenth_held_out(tmp_path):
    folder, _, _ = digit_folder(tmp_path / "mine", 200)
    out = tmp_path / "m.keras"
    result = run(
        "train", "--data", folder, "--hidden", 16, "--epochs", 5, "--batch-size", 16, "--no-onnx", "-q", "--out", out
    )
    sizes = meta(out)["data"]
    assert (sizes["train"], sizes["validation"], sizes["test"]) == (162, 18, 20)  # a tenth tests, a tenth validates
    assert sizes["source"] == str(folder)
    accuracy = meta(out)["test"]["accuracy"]
    assert accuracy > 0.5 and f"test accuracy {100 * accuracy:.2f}%" in result.stdout


@pytest.mark.slow  # trains
def test_a_test_set_of_your_own_and_every_image_of_data_trains(tmp_path):
    folder, _, _ = digit_folder(tmp_path / "mine", 100)
    other, _, _ = digit_folder(tmp_path / "other", 40, seed=5)
    out = tmp_path / "m.keras"
    run("train", "--data", folder, "--test-data", other, "--hidden", 8, "--epochs", 1, "--no-onnx", "-q", "--out", out)
    sizes = meta(out)["data"]
    assert (sizes["train"], sizes["validation"], sizes["test"]) == (90, 10, 40)
    assert sizes["source"] == f"{folder} (test: {other})"


def test_bad_digit_files_and_missing_labels_are_one_line_naming_the_file(tmp_path):
    folder, _, _ = digit_folder(tmp_path / "mine", 30)
    (folder / "d007.csv").write_text("1,2,3\n4,5\n")
    bad = run("train", "--data", folder, "--hidden", 8, "--epochs", 1, "--out", tmp_path / "m.keras", code=1)
    assert bad.stderr.strip().splitlines()[-1].startswith(f"Error: {folder / 'd007.csv'}: ")
    unlabelled, _, _ = digit_folder(tmp_path / "unlabelled", 30, labels=False)
    bad = run("train", "--data", unlabelled, "--hidden", 8, "--epochs", 1, "--out", tmp_path / "m.keras", code=1)
    assert bad.stderr.strip().splitlines()[-1] == (
        f"Error: {unlabelled / 'd000.csv'}: no label (no file,label CSV in {unlabelled}, and no label column); "
        "training needs a label for every digit (30 without one)"
    )


@pytest.mark.slow  # trains
def test_mix_adds_mnist_and_repeats_your_digits_to_half_of_each_epoch(tmp_path):
    folder, _, _ = digit_folder(tmp_path / "mine", 50)
    mnist = write_idx_folder(tmp_path / "mnist", n_train=300, n_test=50, seed=3)
    out = tmp_path / "m.keras"
    run(
        "train",
        "--data",
        folder,
        "--mix",
        mnist,
        "--mix-size",
        200,
        "--hidden",
        8,
        "--epochs",
        1,
        "--no-onnx",
        "-q",
        "--out",
        out,
    )
    sizes = meta(out)["data"]
    # 50 of your own: 5 test, 4 (a tenth of the other 45) validate, 41 train, repeated 5 times to
    # reach the 200 MNIST images beside them.
    assert (sizes["train"], sizes["validation"], sizes["test"]) == (41 * 5 + 200, 4, 5)
    assert sizes["source"] == f"{folder} + 200 of {mnist}"


@pytest.mark.slow  # trains
def test_from_continues_a_saved_model_with_its_settings(tmp_path):
    mnist = write_idx_folder(tmp_path / "mnist", n_train=300, n_test=50)
    first = tmp_path / "first.keras"
    run(
        "train",
        "--data",
        mnist,
        "--validation-size",
        50,
        "--hidden",
        12,
        "--activation",
        "tanh",
        "--epochs",
        2,
        "-q",
        "--out",
        first,
    )
    folder, images, _ = digit_folder(tmp_path / "mine", 60, seed=9)
    tuned = tmp_path / "tuned.keras"
    run("train", "--from", first, "--data", folder, "--epochs", 1, "--lr", 1e-9, "-q", "--out", tuned)
    settings = meta(tuned)["settings"]
    assert (settings["hidden"], settings["activation"], settings["epochs"]) == ([12], "tanh", 1)
    assert settings["init_from"] == str(first) and settings["lr"] == 1e-9
    # A learning rate of 1e-9 leaves the weights where they started: the saved model's.
    before = [
        json.loads(line)["top_k"]
        for line in run("predict-csv", folder, "--model", first, "--top-k", 3, "--format", "json").stdout.splitlines()
    ]
    after = [
        json.loads(line)["top_k"]
        for line in run("predict-csv", folder, "--model", tuned, "--top-k", 3, "--format", "json").stdout.splitlines()
    ]
    assert [[d for d, _ in row] for row in after] == [[d for d, _ in row] for row in before]
    # Each model has its own temperature (fitted on its own validation set): compare the network's outputs.
    from digitcli.inference.predictors import load_predictor

    raw_before = load_predictor(first, calibrated=False).probabilities(np.asarray(images))
    raw_after = load_predictor(tuned, calibrated=False).probabilities(np.asarray(images))
    np.testing.assert_allclose(raw_after, raw_before, atol=1e-4)
    refused = run("train", "--from", first, "--model", "cnn", "--data", folder, "--out", tmp_path / "x.keras", code=2)
    assert f"{first} is a dense network, and --from keeps its architecture" in refused.stderr
    refused = run(
        "train",
        "--from",
        first,
        "--hidden",
        "30",
        "--data",
        folder,
        "--epochs",
        1,
        "--out",
        tmp_path / "x.keras",
        code=2,
    )
    assert "its weights do not fit the network these settings build" in refused.stderr
