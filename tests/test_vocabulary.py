"""Shell globs work wherever files are taken, and each option name means one thing everywhere
(issue "Fit where people already work")."""

import json

import pytest
from conftest import ROOT, SAMPLES, invoke

DENSE = ROOT / "models" / "dense.keras"
pytestmark = pytest.mark.real_model
GLOB = sorted(str(p) for p in SAMPLES.glob("*.csv"))  # what the shell makes of sample_digits/*.csv


def test_a_glob_that_takes_in_the_labels_file_reads_the_digits_only():
    assert str(SAMPLES / "labels.csv") in GLOB
    result = invoke("predict-csv", *GLOB, "--model", DENSE, "--labels", SAMPLES / "labels.csv", "--format", "json")
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 40 and all(r["correct"] for r in records)
    alone = invoke("predict-csv", SAMPLES / "labels.csv", "--model", DENSE)
    assert alone.exit_code == 1 and "a labels file (file,label), not digits; give it to --labels" in alone.stderr


def test_plot_digits_takes_every_file_of_a_glob(tmp_path, monkeypatch):
    from digitcli.report import plots

    drawn = []
    monkeypatch.setattr(
        plots,
        "draw_digits",
        lambda images, titles, wrong, suptitle=None: drawn.append((len(images), suptitle)) or plots.Figure(),
    )
    result = invoke(
        "plot", "--digits", *GLOB, "--labels", SAMPLES / "labels.csv", "--model", DENSE, "-o", tmp_path / "plots"
    )
    assert result.exit_code == 0, result.stderr
    assert drawn == [(40, "dense.keras: 40 of 40 read correctly")]
    assert result.stdout.split() == [str(tmp_path / "plots" / "digits.png")]


def test_count_is_the_number_of_digits_and_the_old_name_still_works(tmp_path):
    photo = SAMPLES / "number_2025.jpg"
    new = invoke("predict-image", photo, "--model", DENSE, "--count", 4, "--format", "json")
    old = invoke("predict-image", photo, "--model", DENSE, "--digits", 4, "--format", "json")
    assert json.loads(new.stdout)["prediction"] == json.loads(old.stdout)["prediction"] == "2025"
    assert new.stderr == "" and "--digits N is now --count N" in old.stderr
    assert "--digits" not in invoke("prepare", "--help").stdout  # hidden


def test_evaluate_and_export_take_model_like_the_predict_commands(tmp_path):
    import shutil

    from conftest import write_idx_folder

    data = write_idx_folder(tmp_path / "mnist", n_train=30, n_test=20)
    by_argument = json.loads(invoke("evaluate", DENSE, "--data", data, "--format", "json").stdout)
    by_option = json.loads(invoke("evaluate", "--model", DENSE, "--data", data, "--format", "json").stdout)
    assert by_option == by_argument
    both = json.loads(
        invoke("evaluate", ROOT / "models" / "cnn.keras", "--model", DENSE, "--data", data, "--format", "json").stdout
    )  # MODEL and --model together: an ensemble of the two
    assert both["model"] == f"{ROOT / 'models' / 'cnn.keras'} + {DENSE}"
    two = invoke("export", ROOT / "models" / "cnn.keras", "--model", DENSE)
    assert two.exit_code == 2 and "name two models; give one" in two.stderr  # export makes one file of one
    copy = shutil.copy(DENSE, tmp_path / "d.keras")
    exported = invoke("export", "--model", copy, "-o", tmp_path / "d2.onnx")
    assert exported.exit_code == 0 and exported.stdout.strip() == str(tmp_path / "d2.onnx")
