"""Digit CSVs whose header decides (issue 26): the label column is found by name wherever it is,
columns that are neither label nor pixel are refused, lines longer than a digit row are refused
before parsing; and folders of digit CSVs read as they are (a labels file with a byte-order mark, a
file named *idx*)."""

import shutil

import numpy as np
import pytest
from conftest import SAMPLES, cli_run, sample_labels

from digitcli.data import datasets
from digitcli.errors import InputFileError
from digitcli.reading import digit_csv
from digitcli.reading import sources as inputs

NAMES = sorted(sample_labels())[:12]


def rows():
    """(labels, pixel rows) of twelve sample digits."""
    pixels = np.stack([np.loadtxt(SAMPLES / n, delimiter=",").astype(int).ravel() for n in NAMES])
    return np.array([sample_labels()[n] for n in NAMES]), pixels


def csv_text(header, table):
    return ",".join(header) + "\n" + "\n".join(",".join(map(str, r)) for r in table) + "\n"


PIXELS = [f"pixel{i}" for i in range(784)]


def test_a_label_in_the_last_column_is_the_label(tmp_path):
    labels, pixels = rows()
    path = tmp_path / "label_last.csv"
    path.write_text(csv_text(PIXELS + ["label"], np.column_stack([pixels, labels])))
    found = digit_csv.read(str(path), invert=False)
    assert found.labels.tolist() == labels.tolist()
    assert np.array_equal(found.images.reshape(len(labels), 784), pixels)
    # What train reads: the labels, not pixel0 (all 0, which trained to "100%").
    assert datasets.load_raw(str(path), hold_out=False).y_train.tolist() == labels.tolist()


def test_pixel_columns_in_any_order_are_put_in_order(tmp_path):
    labels, pixels = rows()
    order = np.random.default_rng(0).permutation(784)
    path = tmp_path / "shuffled.csv"
    path.write_text(csv_text(["label"] + [PIXELS[i] for i in order], np.column_stack([labels, pixels[:, order]])))
    found = digit_csv.read(str(path), invert=False)
    assert found.labels.tolist() == labels.tolist()
    assert np.array_equal(found.images.reshape(len(labels), 784), pixels)


@pytest.mark.parametrize(
    "header, message",
    [
        (["ImageId"] + PIXELS, r"column 1 \('imageid'\) is neither the label nor a pixel \(pixel0 to pixel783\)"),
        ([f"c{i}" for i in range(785)], r"785 columns, but no column of the header is named label"),
        (["label", "label"] + PIXELS[1:], r"columns 1 and 2 are both named as the label"),
        (["label"] + PIXELS[:783] + ["pixel7"], r"the header.s pixel columns must be pixel0 to pixel783, each once"),
        ([f"px{i}" for i in range(784)], r"column 1 \('px0'\) is neither the label nor a pixel"),
        (["label"] + PIXELS[:783] + ["pixel784"], r"the header.s pixel columns must be pixel0 to pixel783, each once"),
    ],
    ids=["image-id", "no-label", "two-labels", "repeated-pixel", "px-names-unlabelled", "pixel784"],
)
def test_a_header_that_does_not_fit_digits_is_refused(tmp_path, header, message):
    labels, pixels = rows()
    path = tmp_path / "odd.csv"
    first = [np.arange(1, len(labels) + 1)] if len(header) == 785 else []
    path.write_text(csv_text(header, np.column_stack([*first, pixels])))
    with pytest.raises(InputFileError, match=f"^{path}: {message}"):
        digit_csv.read(str(path))


def test_row_by_column_pixel_names_are_read_in_their_order(tmp_path):
    """Kaggle's "MNIST in CSV" names its columns label,1x1,1x2,...,28x28: row by column, from 1."""
    labels, pixels = rows()
    names = [f"{r}x{c}" for r in range(1, 29) for c in range(1, 29)]
    order = np.random.default_rng(1).permutation(784)
    path = tmp_path / "mnist_in_csv.csv"
    path.write_text(csv_text(["label"] + [names[i] for i in order], np.column_stack([labels, pixels[:, order]])))
    found = digit_csv.read(str(path), invert=False)
    assert found.labels.tolist() == labels.tolist()
    assert np.array_equal(found.images.reshape(len(labels), 784), pixels)


def test_predict_csv_marks_answers_by_the_label_column(tmp_path, fake_predictor):
    labels, pixels = rows()
    path = tmp_path / "label_last.csv"
    path.write_text(csv_text(PIXELS + ["label"], np.column_stack([pixels, labels])))
    out = cli_run("predict-csv", path, "--format", "csv").stdout.splitlines()
    assert "correct" in out[0] and len(out) == len(labels) + 1
    assert all(line.split(",")[-1] == "True" for line in out[1:])  # NearestSample reads every sample right


def test_a_line_longer_than_a_digit_row_is_refused_before_parsing(tmp_path, monkeypatch):
    def no_parsing(*args):
        raise AssertionError("parsed a CSV it should have refused from its raw bytes")

    monkeypatch.setattr(digit_csv, "_numbers", no_parsing)
    _, pixels = rows()
    good = ",".join(map(str, pixels[0]))
    path = tmp_path / "wide.csv"
    path.write_text(f"{good}\r\n{good}\r\n" + ",".join(["255"] * 20_000) + "\r\n")
    with pytest.raises(
        InputFileError, match=rf"^{path}: line 3 is 79,999 characters long; a digit row holds at most 785"
    ):
        digit_csv.read(str(path))


def test_a_line_of_too_many_values_is_refused_before_pandas_parses_it(monkeypatch):
    def no_parsing(*args):
        raise AssertionError("parsed a CSV it should have refused")

    monkeypatch.setattr(digit_csv, "_table", no_parsing)
    line = ",".join(["1"] * 12_000)
    body = "\n".join([line + ",0"] * 3 + [line + ",x"])  # a text cell: NumPy's parser gives up
    with pytest.raises(InputFileError, match=r"^body.csv: line 1 has 12,001 values; a digit row holds at most 785"):
        digit_csv.parse(body.encode(), "body.csv")


def test_rows_of_785_values_written_long_are_still_read():
    labels, pixels = rows()
    text = "\n".join(f"{d}," + ",".join(f"{v / 255:.17f}" for v in r) for d, r in zip(labels, pixels))
    found = digit_csv.parse(text.encode(), "long.csv", invert=False)
    assert found.labels.tolist() == labels.tolist()
    assert np.abs(found.images.reshape(len(labels), 784).astype(int) - pixels).max() <= 1


def digit_folder(folder, names):
    folder.mkdir()
    for i, name in enumerate(NAMES):
        shutil.copy(SAMPLES / name, folder / names(i, name))
    return {names(i, n): sample_labels()[n] for i, n in enumerate(NAMES)}


def test_a_labels_file_saved_by_excel_with_a_bom_is_not_read_as_digits(tmp_path):
    truth = digit_folder(tmp_path / "digits", lambda i, name: name)
    labels = tmp_path / "digits" / "labels.csv"
    labels.write_bytes(
        b"\xef\xbb\xbf" + ("file,label\r\n" + "".join(f"{f},{d}\r\n" for f, d in truth.items())).encode()
    )
    assert inputs.is_labels_file(labels)
    assert [n for n, _ in inputs.expand([str(tmp_path / "digits")])] == [
        str(tmp_path / "digits" / f) for f in sorted(truth)
    ]
    data = datasets.load_raw(str(tmp_path / "digits"), hold_out=False)
    assert sorted(data.y_train.tolist()) == sorted(truth.values())


def test_a_folder_of_digit_csvs_named_idx_is_not_an_mnist_folder(tmp_path):
    truth = digit_folder(tmp_path / "digits", lambda i, name: f"idx_{i}.csv")
    (tmp_path / "digits" / "labels.csv").write_text("file,label\n" + "".join(f"{f},{d}\n" for f, d in truth.items()))
    data = datasets.load_raw(str(tmp_path / "digits"), hold_out=False)
    assert sorted(data.y_train.tolist()) == sorted(truth.values())
