"""predict-csv: every input layout gives the same, correct predictions; bad inputs give one-line errors.

Uses the shipped default model and the sample digits (which it reads correctly: see
test_shipped_model_reads_the_sample_set), so each expected prediction is the digit's true label."""

import csv
import io
import json
import os

import numpy as np
import pytest
from conftest import SAMPLES, SHIPPED_DENSE, cli_run, sample_labels


@pytest.fixture(autouse=True)
def predictor(request, monkeypatch):
    """The fake predictor (conftest.NearestSample) unless a test is marked real_model."""
    if request.node.get_closest_marker("real_model") is None:
        request.getfixturevalue("fake_predictor")
    elif not SHIPPED_DENSE.exists():
        pytest.skip("shipped model missing")


LABELS = sample_labels()
FIVE = ["digit3_1.csv", "digit8_2.csv", "digit9_3.csv", "digit5_4.csv", "digit4_1.csv"]


def grid(name):
    return np.loadtxt(SAMPLES / name, delimiter=",").astype(int)


def run(*args, code=0, stdin=None):
    return cli_run("predict-csv", "--model", SHIPPED_DENSE, *args, code=code, stdin=stdin)


def records(*args, **kw):
    return [json.loads(line) for line in run(*args, "--format", "json", **kw).stdout.splitlines()]


def predictions(*args, **kw):
    return [r["prediction"] for r in records(*args, **kw)]


@pytest.mark.real_model
def test_shipped_model_reads_the_sample_set():
    recs = records(SAMPLES, "--labels", SAMPLES / "labels.csv")
    assert len(recs) == len(LABELS) >= 30
    assert sorted(r["file"].split("/")[-1] for r in recs) == sorted(LABELS)  # labels.csv itself is skipped
    right = sum(r["correct"] for r in recs)
    assert right / len(recs) >= 0.9, f"{right} of {len(recs)}"
    for r in recs:
        assert r["label"] == LABELS[r["file"].split("/")[-1]]


def test_seed_format_28_by_28(tmp_path):
    assert predictions(SAMPLES / "digit3_1.csv") == [3]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_one_row_of_784(tmp_path):
    path = write(tmp_path, "row.csv", ",".join(map(str, grid("digit8_2.csv").ravel())) + "\n")
    assert predictions(path) == [8]


def test_many_rows_of_784_one_image_each(tmp_path):
    rows = [",".join(map(str, grid(n).ravel())) for n in FIVE]
    recs = records(write(tmp_path, "many.csv", "\n".join(rows) + "\n"))
    assert [r["prediction"] for r in recs] == [3, 8, 9, 5, 4]
    assert [r["row"] for r in recs] == [1, 2, 3, 4, 5]


def test_mnist_as_csv_with_label_header_reports_correctness(tmp_path):
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    truth = [3, 8, 9, 5, 7]  # the last label is deliberately wrong (the digit is a 4)
    rows = [f"{t}," + ",".join(map(str, grid(n).ravel())) for t, n in zip(truth, FIVE)]
    result = run(write(tmp_path, "train.csv", "\n".join([header, *rows]) + "\n"))
    lines = result.stdout.splitlines()
    assert lines[-1] == "accuracy: 4 of 5 correct (80.0%)"
    table = [line.split() for line in lines[1:-1]]
    assert [(int(t[2]), int(t[4]), t[5]) for t in table] == [
        (3, 3, "True"),
        (8, 8, "True"),
        (9, 9, "True"),
        (5, 5, "True"),
        (4, 7, "False"),
    ]


def test_785_columns_without_header_take_the_first_as_label(tmp_path):
    rows = [f"{LABELS[n]}," + ",".join(map(str, grid(n).ravel())) for n in FIVE]
    recs = records(write(tmp_path, "l.csv", "\n".join(rows)))
    assert [(r["prediction"], r["label"], r["correct"]) for r in recs] == [(d, d, True) for d in (3, 8, 9, 5, 4)]


@pytest.mark.parametrize("sep", [";", "\t", " ", "  "], ids=["semicolon", "tab", "space", "spaces"])
def test_separators(tmp_path, sep):
    text = "\n".join(sep.join(map(str, row)) for row in grid("digit9_3.csv"))
    assert predictions(write(tmp_path, "s.csv", text)) == [9]


def test_floats_between_0_and_1(tmp_path):
    text = "\n".join(",".join(f"{v / 255:.5f}" for v in row) for row in grid("digit5_4.csv"))
    recs = records(write(tmp_path, "f.csv", text))
    direct = records(SAMPLES / "digit5_4.csv")
    assert recs[0]["prediction"] == 5
    assert recs[0]["confidence"] == pytest.approx(direct[0]["confidence"], abs=1e-4)


def test_trailing_separator_and_blank_lines(tmp_path):
    text = "\n\n".join(",".join(map(str, row)) + "," for row in grid("digit4_1.csv")) + "\n\n"
    assert predictions(write(tmp_path, "t.csv", text)) == [4]


def test_dark_on_light_is_inverted_with_a_note(tmp_path):
    text = "\n".join(",".join(str(255 - v) for v in row) for row in grid("digit3_1.csv"))
    path = write(tmp_path, "paper.csv", text)
    result = run(path, "--format", "json")
    assert json.loads(result.stdout)["prediction"] == 3
    assert "dark on light; inverted" in result.stderr
    kept = run(path, "--no-invert", "--format", "json")
    assert "inverted" not in kept.stderr
    assert json.loads(kept.stdout)["confidence"] != json.loads(result.stdout)["confidence"]


def test_folder_glob_and_stdin(tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    for n in FIVE:
        (folder / n).write_text((SAMPLES / n).read_text())
    (folder / "notes.txt").write_text("not a csv, not read")
    (folder / "truth.csv").write_text("file,label\ndigit3_1.csv,3\n")  # a labels file is not a digit
    recs = records(folder)
    assert [r["file"] for r in recs] == [str(folder / n) for n in sorted(FIVE)]
    assert [r["prediction"] for r in recs] == [LABELS[n] for n in sorted(FIVE)]
    assert predictions(str(folder / "digit[38]_*.csv")) == [3, 8]
    assert predictions("-", stdin=(SAMPLES / "digit9_3.csv").read_text()) == [9]


def test_top_k(tmp_path):
    rec = records(SAMPLES / "digit8_2.csv", "--top-k", 3)[0]
    digits = [d for d, _ in rec["top_k"]]
    probs = [p for _, p in rec["top_k"]]
    assert digits[0] == rec["prediction"] == 8 and len(set(digits)) == 3
    assert probs == sorted(probs, reverse=True) and probs[0] == rec["confidence"] and sum(probs) <= 1.0 + 1e-6
    table = run(SAMPLES / "digit8_2.csv", "--top-k", 2).stdout
    assert f"8:{probs[0]:.4f} {digits[1]}:{probs[1]:.4f}" in table


def test_labels_in_input_order_like_the_seed(tmp_path):
    files = [SAMPLES / n for n in FIVE]
    result = run(*files, "--labels", "3,8,9,5,4")
    assert result.stdout.splitlines()[-1] == "accuracy: 5 of 5 correct (100.0%)"
    result = run(*files, "--labels", "3,8,9,5,1", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["correct"] for r in rows] == ["True"] * 4 + ["False"]
    assert "accuracy: 4 of 5 correct (80.0%)" in result.stderr  # csv stays parseable


def test_labels_file_matches_by_name(tmp_path):
    labels = write(tmp_path, "truth.csv", "file,label\ndigit3_1.csv,3\ndigit8_2.csv,1\n")
    recs = records(SAMPLES / "digit3_1.csv", SAMPLES / "digit8_2.csv", SAMPLES / "digit9_3.csv", "--labels", labels)
    assert [(r.get("label"), r.get("correct")) for r in recs] == [(3, True), (1, False), (None, None)]


def test_min_confidence_reports_unsure_as_question_mark():
    conf = records(SAMPLES / "digit9_3.csv")[0]["confidence"]  # rounded to 6 decimals
    assert conf < 1.0
    assert predictions(SAMPLES / "digit9_3.csv", "--min-confidence", conf - 1e-6) == [9]
    unsure = records(SAMPLES / "digit9_3.csv", "--min-confidence", min(1.0, conf + 1e-6), "--labels", "9")
    assert unsure[0]["prediction"] == "?" and unsure[0]["correct"] is False


def test_csv_output_parses():
    result = run(SAMPLES / "digit3_1.csv", SAMPLES / "digit4_1.csv", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["file"].split("/")[-1], r["row"], r["prediction"]) for r in rows] == [
        ("digit3_1.csv", "1", "3"),
        ("digit4_1.csv", "1", "4"),
    ]
    assert 0.5 < float(rows[0]["confidence"]) <= 1.0


BAD = {
    "short.csv": ("\n".join(",".join(["0"] * 28) for _ in range(27)), "27 rows x 28 columns; expected 28 rows"),
    "word.csv": (
        "\n".join(",".join(["0"] * 27 + ["x" if r == 5 else "0"]) for r in range(28)),
        "line 6, column 28: 'x' is not a number",
    ),
    "nan.csv": (
        "\n".join(",".join(["0"] * 27 + ["nan" if r == 2 else "0"]) for r in range(28)),
        "line 3, column 28: value is missing or NaN",
    ),
    "inf.csv": (
        "\n".join(",".join(["0"] * 27 + ["inf" if r == 2 else "0"]) for r in range(28)),
        "line 3, column 28: value is infinite",
    ),
    "big.csv": (
        "\n".join(",".join(["0"] * 27 + ["300" if r == 2 else "0"]) for r in range(28)),
        "image 1 has the value 300; pixels must be 0-255",
    ),
    "negative.csv": ("\n".join(",".join(["-1"] + ["0"] * 27) for _ in range(28)), "has the value -1"),
    "ragged.csv": (
        "\n".join(",".join(["0"] * (29 if r == 4 else 28)) for r in range(28)),
        "line 5 has 29 values where earlier lines have 28",
    ),
    "empty.csv": ("", "empty file"),
    "blank.csv": ("\n \n\n", "empty file"),
    "header_only.csv": ("label," + ",".join(f"pixel{i}" for i in range(784)), "a header but no pixel rows"),
    "badlabel.csv": ("12," + ",".join(["0"] * 784), "row 1: label 12 is not a digit 0-9"),
    "three.csv": ("1,2,3", "1 rows x 3 columns; expected 28 rows of 28 values"),
    "row_word.csv": (",".join(["0"] * 783 + ["x"]), "line 1, column 784: 'x' is not a number"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_csv_gives_one_line_naming_the_file(tmp_path, name):
    text, message = BAD[name]
    path = write(tmp_path, name, text)
    result = run(path, code=1)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"error: {path}: ") and message in errors[0]
    assert result.stderr.strip().endswith("1 input(s) rejected")
    # The rejected file is a record of the output too, with the same message.
    (record,) = records(path, code=1)
    assert record["file"] == str(path) and record["prediction"] is None
    assert f"error: {record['error']}" == errors[0]


def test_binary_missing_and_csv_less_folder(tmp_path):
    (tmp_path / "img.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "empty_dir").mkdir()
    result = run(tmp_path / "img.csv", tmp_path / "nope.csv", tmp_path / "empty_dir", code=1)
    err = result.stderr
    assert f"error: {tmp_path / 'img.csv'}: a binary file, not a CSV of pixel values" in err
    assert f"error: {tmp_path / 'nope.csv'}: file not found" in err
    assert f"error: {tmp_path / 'empty_dir'}: folder has no .csv or .npy files" in err
    assert "3 input(s) rejected" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file(tmp_path):
    path = write(tmp_path, "secret.csv", "0")
    path.chmod(0)
    assert "permission denied" in run(path, code=1).stderr


def test_good_inputs_are_still_predicted_beside_bad_ones(tmp_path):
    bad = write(tmp_path, "bad.csv", "1,2,3\n")
    recs = [
        json.loads(x)
        for x in run(
            SAMPLES / "digit3_1.csv", bad, SAMPLES / "digit4_1.csv", "--format", "json", code=1
        ).stdout.splitlines()
    ]
    assert [r["prediction"] for r in recs] == [3, None, 4]
    assert recs[1]["file"] == str(bad) and "1 rows x 3 columns" in recs[1]["error"]


def test_strict_stops_at_the_first_bad_input_with_no_output(tmp_path):
    bad = write(tmp_path, "bad.csv", "1,2,3\n")
    result = run(SAMPLES / "digit3_1.csv", bad, "--strict", code=1)
    assert result.stdout == ""
    assert (
        result.stderr.strip() == f"Error: {bad}: 1 rows x 3 columns; expected 28 rows of 28 values, "
        "or one row of 784 values per image (optionally a label first)"
    )


@pytest.mark.parametrize(
    "args,message",
    [
        (["--labels", "3,8"], "2 labels given but the inputs hold 1 images"),
        (["--labels", "3,x"], "is neither a labels file nor digits"),
        (["--labels", "12"], "labels must be digits 0-9"),
        (["--top-k", "11"], "11 is not in the range 1<=x<=10"),
        (["--min-confidence", "2"], "2.0 is not in the range 0<=x<=1"),
        (["--format", "xml"], "'xml' is not one of 'table', 'csv', 'json'"),
    ],
)
def test_usage_errors_exit_2(args, message):
    result = run(SAMPLES / "digit3_1.csv", *args, code=2)
    assert message in result.stderr


@pytest.mark.real_model
def test_model_that_is_not_a_model(tmp_path):
    fake = write(tmp_path, "fake.keras", "hello")
    result = cli_run("predict-csv", "--model", fake, SAMPLES / "digit3_1.csv", code=1)
    assert (
        result.stderr.strip() == f"Error: {fake}: not a Keras model (a .keras file is a zip archive; this one is not)"
    )
    result = cli_run("predict-csv", "--model", tmp_path / "none.keras", SAMPLES / "digit3_1.csv", code=1)
    assert "no such model file" in result.stderr


def test_kaggle_submission(tmp_path):
    """Kaggle's Digit Recognizer test.csv (a pixel0..pixel783 header, one image per row) becomes its
    submission file."""
    names = ["digit3_1.csv", "digit8_2.csv", "digit0_4.csv"]
    rows = [np.loadtxt(SAMPLES / n, delimiter=",").astype(int).reshape(784) for n in names]
    test_csv = tmp_path / "test.csv"
    test_csv.write_text(
        ",".join(f"pixel{i}" for i in range(784)) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n"
    )
    result = run(test_csv, "--format", "kaggle")
    assert result.stdout.splitlines() == ["ImageId,Label", "1,3", "2,8", "3,0"]
    refused = run(test_csv, "--format", "kaggle", "--min-confidence", "0.5", code=2)
    assert "needs a digit for every image" in refused.stderr
