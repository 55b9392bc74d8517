"""Nothing a user owns is lost, and no input shows a traceback: each case here once destroyed a file,
trapped the next run or crashed (issue "Never lose what a user owns")."""

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SAMPLES, invoke, write_idx_folder
from PIL import Image

SHIPPED = ROOT / "models" / "dense.keras"


def tree(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(folder.rglob("*"))
    }


# --- export -------------------------------------------------------------------------------------------


@pytest.fixture
def keras_model(tmp_path):
    pytest.importorskip("tensorflow")
    import shutil

    return shutil.copy(ROOT / "models" / "cnn.keras", tmp_path / "cnn.keras")


@pytest.mark.parametrize("where", ["parent", "existing folder", "dot", "existing file"])
@pytest.mark.real_model
def test_saved_model_export_never_replaces_what_it_did_not_make(tmp_path, keras_model, monkeypatch, where):
    work = tmp_path / "work" / "sub"
    work.mkdir(parents=True)
    (tmp_path / "work" / "precious.txt").write_text("mine")
    (work / "notes.txt").write_text("also mine")
    monkeypatch.chdir(work)
    target = {
        "parent": "..",
        "existing folder": str(tmp_path / "work"),
        "dot": ".",
        "existing file": str(work / "notes.txt"),
    }[where]
    before = tree(tmp_path)
    result = invoke("export", keras_model, "--format", "saved_model", "--out", target, "--overwrite")
    assert result.exit_code == 1
    assert "already exists" in result.stderr or "not a SavedModel" in result.stderr
    assert tree(tmp_path) == before


@pytest.mark.slow  # exports with TensorFlow
@pytest.mark.real_model
def test_saved_model_export_replaces_a_saved_model_only_when_told(tmp_path, keras_model):
    target = tmp_path / "m_saved_model"
    assert invoke("export", keras_model, "--format", "saved_model", "--out", target).exit_code == 0
    assert (target / "saved_model.pb").exists()
    before = tree(tmp_path)
    again = invoke("export", keras_model, "--format", "saved_model", "--out", target)
    assert again.exit_code == 1 and "add --overwrite" in again.stderr
    assert tree(tmp_path) == before
    assert invoke("export", keras_model, "--format", "saved_model", "--out", target, "--overwrite").exit_code == 0
    assert (target / "saved_model.pb").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cnn.keras", "m_saved_model"]  # no temporary left


@pytest.mark.real_model
def test_saved_model_export_to_a_read_only_folder_is_one_line(tmp_path, keras_model, monkeypatch):
    import errno

    from digitcli.inference import export

    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root writes into read-only folders: refuse as the kernel would anyone else
        mkdtemp = export.tempfile.mkdtemp

        def refused(*args, dir=None, **kwargs):
            if dir is not None and Path(dir).resolve() == folder.resolve():
                raise PermissionError(errno.EACCES, "Permission denied")
            return mkdtemp(*args, dir=dir, **kwargs)

        monkeypatch.setattr(export.tempfile, "mkdtemp", refused)
    result = invoke("export", keras_model, "--format", "saved_model", "--out", folder / "m")
    assert result.exit_code == 1 and "cannot write here" in result.stderr


@pytest.mark.real_model
def test_onnx_export_refuses_an_existing_file_but_refreshes_the_twin(tmp_path, keras_model):
    mine = tmp_path / "mine.onnx"
    mine.write_text("my own file")
    result = invoke("export", keras_model, "--out", mine)
    assert result.exit_code == 1 and "already exists" in result.stderr
    assert mine.read_text() == "my own file"
    twin = keras_model.with_suffix(".onnx")
    twin.write_text("stale")
    assert invoke("export", keras_model).exit_code == 0
    assert twin.read_bytes()[:4] != b"stal"


# --- prepare ------------------------------------------------------------------------------------------


def _photo(path, digit_x=40):
    page = np.full((100, 120), 235, np.uint8)
    page[20:80, digit_x : digit_x + 12] = 20
    Image.fromarray(page).save(path)
    return path


def test_prepare_never_replaces_an_existing_file(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("file,label\nx.csv,7\n")
    photo = _photo(tmp_path / "photo_7.png")
    result = invoke("prepare", photo, "-o", labels)
    assert result.exit_code == 1 and f"{labels}: already exists" in result.stderr and "--overwrite" in result.stderr
    assert labels.read_text() == "file,label\nx.csv,7\n"
    assert invoke("prepare", photo, "-o", labels, "--overwrite").exit_code == 0
    assert len(labels.read_text().split(",")) == 784


def test_prepare_gives_photos_of_one_name_their_own_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = _photo(tmp_path / "a" / "p.png", 30), _photo(tmp_path / "b" / "p.png", 70)
    out = tmp_path / "out"
    result = invoke("prepare", first, second, "-o", out)
    assert result.exit_code == 0
    assert result.stdout.split() == [str(out / "p.csv"), str(out / "p-2.csv")]
    again = invoke("prepare", first, "-o", out)
    assert again.exit_code == 1 and "already exists" in again.stderr


# --- train --------------------------------------------------------------------------------------------


def _train_args(tmp_path, *extra):
    data = write_idx_folder(tmp_path / "mnist", n_train=120, n_test=40)
    return [
        "train",
        "--data",
        data,
        "--validation-size",
        20,
        "--epochs",
        1,
        "--hidden",
        8,
        "--no-onnx",
        "-q",
        "--out",
        tmp_path / "m.keras",
        *extra,
    ]


@pytest.mark.parametrize(
    "option,value,says",
    [
        ("--seed", "-1", "-1 is not in the range 0<=x<=4294967295"),
        ("--dropout", "nan", "'nan' is not a finite number"),
        ("--lr", "nan", "'nan' is not a finite number"),
        ("--lr", "inf", "'inf' is not a finite number"),
        ("--l2", "inf", "'inf' is not a finite number"),
        ("--hidden", "1000000000", "at most 16,384 units a layer"),
    ],
)
def test_impossible_training_values_are_refused_before_anything_is_written(tmp_path, option, value, says):
    args = _train_args(tmp_path, option, value)
    before = tree(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2 and says in result.stderr
    assert tree(tmp_path) == before


@pytest.mark.slow  # trains
def test_a_run_that_fails_before_its_first_epoch_does_not_trap_the_next(tmp_path, monkeypatch):
    pytest.importorskip("tensorflow")
    from digitcli.training.callbacks import HistoryLog

    args = _train_args(tmp_path)
    assert invoke(*args).exit_code == 0
    model = (tmp_path / "m.keras").read_bytes()

    def crash(self, epoch, logs=None):
        raise RuntimeError("something unforeseen")

    from click.testing import CliRunner

    from digitcli.cli import cli

    with monkeypatch.context() as patch:
        patch.setattr(HistoryLog, "on_epoch_end", crash)
        # conftest sets DIGITCLI_DEBUG, so the planted bug comes out as itself, not as the polite line.
        failed = CliRunner().invoke(cli, [str(a) for a in args])
    assert isinstance(failed.exception, RuntimeError) and str(failed.exception) == "something unforeseen"
    assert not (tmp_path / ".m.keras.train").exists()
    rerun = invoke(*args)  # neither "add --resume" nor a refused --resume
    assert rerun.exit_code == 0, rerun.stderr
    assert (tmp_path / "m.1.keras").read_bytes() == model


@pytest.mark.slow  # trains
def test_restart_of_interrupted_progress_still_keeps_the_model(tmp_path):
    pytest.importorskip("tensorflow")
    args = _train_args(tmp_path)
    assert invoke(*args).exit_code == 0
    model = (tmp_path / "m.keras").read_bytes()
    staging = tmp_path / ".m.keras.train"
    staging.mkdir()
    (staging / "history.csv").write_text("epoch,accuracy\n1,0.5\n")  # an interrupted run's epoch
    refused = invoke(*args)
    assert refused.exit_code == 1 and "add --resume to continue it, or --restart to discard it" in refused.stderr
    assert invoke(*args, "--restart").exit_code == 0
    assert (tmp_path / "m.1.keras").read_bytes() == model


def test_resume_refuses_other_data(tmp_path):
    pytest.importorskip("tensorflow")
    args = _train_args(tmp_path, "--epochs", 3)
    from digitcli.training import rundir

    staging = rundir.staging_dir(tmp_path / "m.keras")
    staging.mkdir()
    (staging / "settings.json").write_text(
        json.dumps({"data_fingerprint": "0123456789abcdef", "data_source": "/elsewhere/mnist"})
    )
    result = invoke(*args, "--resume")
    assert result.exit_code == 2
    assert "the interrupted run trained on other data (/elsewhere/mnist)" in result.stderr


@pytest.mark.slow  # trains
def test_a_stale_lock_whose_pid_is_alive_does_not_block(tmp_path):
    pytest.importorskip("tensorflow")
    args = _train_args(tmp_path)
    (tmp_path / "m.keras.lock").write_text(str(os.getpid()))  # a live pid, but nobody holds the lock
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    assert not (tmp_path / "m.keras.lock").exists()


# --- inputs -------------------------------------------------------------------------------------------


def predict(*args):
    return invoke("predict-csv", "--model", SHIPPED, "--format", "json", *args)


def records(result):
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.real_model
def test_a_huge_integer_is_one_error_and_good_files_are_still_read(tmp_path):
    bad = tmp_path / "big.csv"
    bad.write_text(",".join(["0"] * 783 + [str(2**64)]))
    result = predict(bad, SAMPLES / "digit3_1.csv")
    assert result.exit_code == 1
    got = records(result)
    assert "pixels must be 0-255" in got[0]["error"]
    assert got[1]["prediction"] == 3


@pytest.mark.real_model
def test_quoted_numbers_are_numbers(tmp_path):
    digit = np.loadtxt(SAMPLES / "digit3_1.csv", delimiter=",").astype(int)
    quoted = tmp_path / "q.csv"
    quoted.write_text("\n".join(",".join(f'"{v}"' for v in row) for row in digit) + "\n")
    assert records(predict(quoted))[0]["prediction"] == 3


@pytest.mark.real_model
def test_a_blank_digit_is_rejected_not_read_as_a_five(tmp_path):
    blank = tmp_path / "blank.csv"
    blank.write_text("\n".join(",".join(["0"] * 28) for _ in range(28)))
    result = predict(blank, SAMPLES / "digit3_1.csv")
    assert result.exit_code == 1
    got = records(result)
    assert got[0]["prediction"] is None and "blank image (no ink)" in got[0]["error"]
    assert got[1]["prediction"] == 3


def test_floats_are_read_without_pandas(tmp_path):
    digit = np.loadtxt(SAMPLES / "digit3_1.csv", delimiter=",") / 255.0
    path = tmp_path / "f.csv"
    np.savetxt(path, digit, delimiter=",", fmt="%.4f")
    code = (
        "import sys; from digitcli.reading import digit_csv; d = digit_csv.read(sys.argv[1]); "
        "print(int(d.images.max()), 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["255", "False"]


@pytest.mark.parametrize(
    "labels_text,says",
    [
        ("file,label\ndigit3_1.csv,12\n", "label '12' is not a digit 0-9"),
        ("file,label\ndigit3_1.csv,-1\n", "label '-1' is not a digit 0-9"),
        ("file,label\ndigit3_1.csv,three\n", "label 'three' is not a digit 0-9"),
        ("digit3_1.csv,3\n", "needs a header line with columns file,label"),
    ],
)
@pytest.mark.real_model
def test_labels_files_are_checked(tmp_path, labels_text, says):
    path = tmp_path / "labels.csv"
    path.write_text(labels_text)
    result = predict(SAMPLES / "digit3_1.csv", "--labels", path)
    assert result.exit_code == 2 and says in result.stderr


@pytest.mark.real_model
def test_a_labels_file_with_a_bom_reads_the_same(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_bytes("\ufefffile,label\ndigit3_1.csv,3\nphoto_7.png,7\n".encode("utf-8"))
    assert records(predict(SAMPLES / "digit3_1.csv", "--labels", path))[0]["correct"] is True
    photo = invoke("predict-image", SAMPLES / "photo_7.png", "--model", SHIPPED, "--labels", path, "--format", "json")
    assert json.loads(photo.stdout)["label"] == "7"  # the BOM once hid the file column from predict-image


@pytest.mark.real_model
def test_labels_with_old_mac_line_ends_read_and_an_unreadable_csv_is_one_line(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_bytes(b"file,label\rdigit3_1.csv,3\r")  # a lone \r once crashed the csv module (fuzz)
    assert records(predict(SAMPLES / "digit3_1.csv", "--labels", path))[0]["label"] == 3
    path.write_bytes(b"\r0")
    assert "needs a header line with columns file,label" in predict(SAMPLES / "digit3_1.csv", "--labels", path).stderr
    path.write_bytes(b"file,label\n" + b"x" * 200_000 + b",3\n")
    result = predict(SAMPLES / "digit3_1.csv", "--labels", path)
    assert result.exit_code == 2 and "not a readable CSV (field larger than field limit" in result.stderr


@pytest.mark.real_model
def test_a_labels_file_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_bytes(b"file,label\n\xff\xfe\xfa,7\n")
    result = invoke("predict-image", SAMPLES / "photo_7.png", "--model", SHIPPED, "--labels", path)
    assert result.exit_code == 2 and "not UTF-8 text" in result.stderr


@pytest.mark.real_model
def test_one_rejected_input_does_not_break_positional_labels(tmp_path):
    missing = tmp_path / "gone.csv"
    result = predict(SAMPLES / "digit3_1.csv", missing, SAMPLES / "digit8_1.csv", "--labels", "3,0,8")
    got = records(result)
    assert [r.get("label") for r in got] == [3, None, 8]
    photos = invoke(
        "predict-image",
        SAMPLES / "photo_7.png",
        tmp_path / "gone.png",
        "--model",
        SHIPPED,
        "--labels",
        "7,1",
        "--format",
        "json",
    )
    assert [json.loads(line).get("label") for line in photos.stdout.splitlines()] == ["7", None]


@pytest.mark.real_model
def test_nan_min_confidence_is_refused():
    result = predict(SAMPLES / "digit3_1.csv", "--min-confidence", "nan")
    assert result.exit_code == 2 and "'nan' is not a finite number" in result.stderr


@pytest.mark.real_model
def test_a_symlink_loop_is_named_as_one(tmp_path):
    loop = tmp_path / "loop.csv"
    os.symlink(loop, loop)
    result = predict(loop)
    assert "symbolic link loop" in records(result)[0]["error"]


@pytest.mark.real_model
def test_a_16_bit_scan_is_read(tmp_path):
    page = np.full((120, 100), 60000, np.uint16)
    page[25:95, 45:57] = 3000  # a dark vertical stroke: a 1
    Image.fromarray(page).save(tmp_path / "one.png")
    result = invoke("predict-image", tmp_path / "one.png", "--model", SHIPPED, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["prediction"] == "1"


def test_a_photo_with_hundreds_of_marks_is_refused_early(tmp_path):
    import tracemalloc

    from digitcli.photos.segment import split_digits

    mask = np.zeros((260, 260), bool)
    mask[::10, ::10] = True  # 676 separate dots
    tracemalloc.start()
    with pytest.raises(Exception, match="676 separate marks"):
        split_digits(mask)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5e6  # a mask per mark would be 676 x 68 kB


# --- models and histories -----------------------------------------------------------------------------


def test_an_oversized_metadata_entry_is_refused_unread(tmp_path):
    from digitcli.inference import modelfile

    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", "{}")
        zf.writestr("digitcli.json", b" " * (modelfile.MAX_META_BYTES + 1))
    result = invoke("plot", path, "--out", tmp_path / "plots")
    assert result.exit_code == 1 and "larger than 16 MiB" in result.stderr


@pytest.mark.real_model
def test_an_onnx_twin_with_the_wrong_outputs_is_not_used(tmp_path):
    pytest.importorskip("tensorflow")
    import shutil

    import keras

    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(11, activation="softmax")])
    odd = tmp_path / "odd.keras"
    model.save(odd)
    from digitcli.inference.export import export_onnx

    export_onnx(model, odd)  # an 11-class twin, stamped as fresh
    shutil.copy(SHIPPED, tmp_path / "m.keras")
    shutil.copy(odd.with_suffix(".onnx"), tmp_path / "m.onnx")
    import onnx

    from digitcli.inference.export import CHECKPOINT_HASH_KEY

    proto = onnx.load(str(tmp_path / "m.onnx"))
    for entry in proto.metadata_props:
        if entry.key == CHECKPOINT_HASH_KEY:
            entry.value = hashlib.sha256((tmp_path / "m.keras").read_bytes()).hexdigest()
    onnx.save(proto, str(tmp_path / "m.onnx"))
    result = invoke("predict-csv", SAMPLES / "digit3_1.csv", "--model", tmp_path / "m.keras", "--format", "json")
    assert result.exit_code == 0
    assert "outputs 11 values, not 10" in result.stderr
    assert json.loads(result.stdout)["prediction"] == 3


@pytest.mark.parametrize(
    "name,content,says",
    [
        ("ragged.csv", "epoch,accuracy\n1,0.5,0.7\n", "line 2 has 3 values where the header has 2"),
        ("list.json", json.dumps({"history": [1, 2]}), "its history is not a list of per-epoch rows"),
        ("dict.json", json.dumps({"history": {"epoch": 1}}), "its history is not a list of per-epoch rows"),
        ("text.json", json.dumps({"history": [{"epoch": 1, "accuracy": "high"}]}), "not a number"),
    ],
)
def test_broken_histories_are_one_line(tmp_path, name, content, says):
    path = tmp_path / name
    path.write_text(content)
    result = invoke("plot", path, "--out", tmp_path / "plots")
    assert result.exit_code == 1 and says in result.stderr
    assert not (tmp_path / "plots").exists()


@pytest.mark.real_model
def test_plot_digits_draws_at_most_the_cap(tmp_path, monkeypatch):
    from digitcli import settings as defaults
    from digitcli.report import plots

    monkeypatch.setattr(defaults, "MAX_PLOT_DIGITS", 12)  # the real cap, 400, takes a while to draw
    drawn = []
    monkeypatch.setattr(plots, "draw_digits", lambda images, *a, **k: drawn.append(len(images)) or plots.Figure())
    many = tmp_path / "many.csv"
    digit = np.loadtxt(SAMPLES / "digit3_1.csv", delimiter=",").astype(int).reshape(784)
    many.write_text("\n".join(",".join(map(str, digit)) for _ in range(62)))
    result = invoke("plot", "--digits", many, "--model", SHIPPED, "--out", tmp_path / "plots")
    assert result.exit_code == 0
    assert "drawing the first 12 of 62 digits" in result.stderr
    assert drawn == [12]
