"""Inputs that read as something other than what they are (issue: hardening): a .npy holding no images,
a labels file contradicting itself or matching nothing, a quoted labels file in a folder of digits, a
.npy header numpy will not read, and a .npy far larger than a command should copy in floats."""

import csv
import io
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, SAMPLES, NearestSample, cli_run

from digitcli.errors import InputFileError
from digitcli.reading import npy_digits


def test_a_npy_holding_no_images_is_refused(tmp_path, fake_predictor):
    np.save(tmp_path / "empty.npy", np.zeros((0, 784), np.uint8))
    result = cli_run("predict-csv", tmp_path / "empty.npy", code=1)
    assert f"{tmp_path / 'empty.npy'}: holds no images (shape (0, 28, 28))" in result.stderr
    assert "1 input(s) rejected" in result.stderr


def test_plot_of_a_npy_holding_no_images_writes_nothing(tmp_path):
    np.save(tmp_path / "empty.npy", np.zeros((0, 28, 28), np.uint8))
    result = cli_run("plot", "--digits", tmp_path / "empty.npy", "--out", tmp_path / "out", code=1)
    assert "holds no images" in result.stderr
    assert not (tmp_path / "out" / "digits.png").exists()


@pytest.mark.parametrize("kind", [np.uint8, np.int64, np.float32, np.float64])
def test_npy_pixels_read_as_before_whatever_their_kind(kind):
    rng = np.random.default_rng(1)
    expected = rng.integers(0, 256, (npy_digits.CHUNK + 7, 28, 28)).astype(np.uint8)
    expected[:, [0, -1], :] = expected[:, :, [0, -1]] = 0  # dark borders: none of them reads as inverted
    array = expected.astype(kind) / 255 if np.dtype(kind).kind == "f" else expected.astype(kind)
    path_bytes = _npy_bytes(array.reshape(len(array), 784))
    assert np.array_equal(npy_digits.read_input("x.npy", data=path_bytes).digits, expected)


def test_a_fortran_ordered_npy_reads_as_its_c_twin():
    images = np.random.default_rng(2).integers(0, 256, (5, 28, 28)).astype(np.uint8)
    images[:, [0, -1], :] = images[:, :, [0, -1]] = 0
    got = npy_digits.read_input("f.npy", data=_npy_bytes(np.asfortranarray(images))).digits
    assert np.array_equal(got, images)


def test_a_huge_npy_header_gets_a_whole_sentence():
    header = {"descr": "|u1", "fortran_order": False, "shape": (1, 784), "pad": "x" * 60_000}
    text = repr(header).encode() + b"\n"
    data = b"\x93NUMPY\x02\x00" + len(text).to_bytes(4, "little") + text + bytes(784)
    with pytest.raises(InputFileError) as caught:
        npy_digits.read_input("huge_header.npy", data=data)
    said = str(caught.value)
    assert said.startswith("huge_header.npy: not a NumPy .npy file (Header info length (")
    assert "is large and may not be safe to load securely); expected a NumPy array" in said


def _npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_conflicting_duplicate_labels_are_refused(tmp_path, fake_predictor):
    labels = tmp_path / "truth.csv"
    labels.write_text("file,label\ndigit3_1.csv,3\ndigit3_1.csv,5\n")
    result = cli_run("predict-csv", SAMPLES / "digit3_1.csv", "--labels", labels, code=2)
    assert "line 3: digit3_1.csv row 1 is labelled 3 earlier and 5 here; keep one" in result.stderr
    labels.write_text("file,label\ndigit3_1.csv,3\ndigit3_1.csv,3\n")  # the same label twice is harmless
    assert "accuracy: 1 of 1 correct" in cli_run("predict-csv", SAMPLES / "digit3_1.csv", "--labels", labels).stdout


def test_labels_matching_no_input_are_noted(tmp_path, fake_predictor):
    labels = tmp_path / "truth.csv"
    labels.write_text("file,label\nother_1.csv,3\nother_2.csv,4\n")
    result = cli_run("predict-csv", SAMPLES / "digit3_1.csv", "--labels", labels)
    assert "note: none of the 2 labels in" in result.stderr
    assert "looked up by file name as given or by its base name" in result.stderr


@pytest.mark.parametrize(
    "header",
    [b'"file","label"\n', b'\xef\xbb\xbf"file","label"\n', b"\xef\xbb\xbffile,label\r\n", b' "File" , "Label"\r'],
    ids=["quoted", "bom-quoted", "bom-crlf", "spaced-cr"],
)
def test_a_labels_file_in_a_folder_is_known_however_written(tmp_path, fake_predictor, header):
    shutil.copy(SAMPLES / "digit3_1.csv", tmp_path / "idx_digit3_1.csv")
    ending = b"\r\n" if b"\r\n" in header else b"\r" if header.endswith(b"\r") else b"\n"
    (tmp_path / "labels.csv").write_bytes(header + b'"idx_digit3_1.csv","3"' + ending)
    result = cli_run("predict-csv", tmp_path, "--format", "csv")
    assert [r["file"].rsplit("/", 1)[-1] for r in csv.DictReader(io.StringIO(result.stdout))] == ["idx_digit3_1.csv"]


@pytest.mark.slow
def test_reading_60000_npy_images_copies_no_floats(tmp_path):
    """60,000 images (47 MB): the file's bytes and one uint8 copy (about 125 MiB with Python), never a
    float64 copy (880 MiB before)."""
    images = np.zeros((60_000, 28, 28), np.uint8)
    images[:, 8:20, 12:16] = 200
    np.save(tmp_path / "many.npy", images)
    code = (
        "import re, sys; from digitcli.reading.npy_digits import read_input; read_input(sys.argv[1]); "
        "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))"
    )  # VmHWM starts afresh at exec; ru_maxrss would keep the forking test process's peak
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "many.npy")], check=True, cwd=ROOT, **TEXT)
    peak_mib = int(done.stdout) / 1024  # in KiB
    assert peak_mib < 300, f"reading 47 MB of images peaked at {peak_mib:.0f} MiB"


TEXT = {"capture_output": True, "text": True}


def test_plot_digits_predicts_only_the_digits_it_draws(tmp_path, monkeypatch, fake_predictor):
    from digitcli import settings as defaults
    from digitcli.report import plots

    predicted = []
    monkeypatch.setattr(NearestSample, "probabilities", _counting(NearestSample.probabilities, predicted))
    monkeypatch.setattr(defaults, "MAX_PLOT_DIGITS", 12)
    drawn = []
    monkeypatch.setattr(plots, "draw_digits", lambda images, titles, *a, **k: drawn.append(titles) or plots.Figure())
    digit = np.loadtxt(SAMPLES / "digit3_1.csv", delimiter=",").astype(int).reshape(784)
    (tmp_path / "a.csv").write_text("\n".join("3," + ",".join(map(str, digit)) for _ in range(8)))
    (tmp_path / "b.csv").write_text("\n".join("5," + ",".join(map(str, digit)) for _ in range(54)))
    result = cli_run("plot", "--digits", tmp_path / "a.csv", tmp_path / "b.csv", "--out", tmp_path / "plots")
    assert "drawing the first 12 of 62 digits" in result.stderr
    assert predicted == [12]  # not 62: what is not drawn is not predicted
    assert len(drawn[0]) == 12 and sum("5" in t for t in drawn[0]) == 4  # 8 from a.csv, 4 labelled 5 from b.csv


def _counting(method, sizes):
    def probabilities(self, images):
        sizes.append(len(images))
        return method(self, images)

    return probabilities
