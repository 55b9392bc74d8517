"""Bad input, everywhere: each case gets a one-line message naming what is wrong, the documented exit
status (1 for unusable input, 2 for a bad option), no traceback, no partial output, nothing earlier lost.

Each case is (name, setup) where setup(tmp_path) writes what it needs and returns the command line,
the expected exit status and a piece of the expected message."""

import errno
import gzip
import hashlib
import os
import pickle
import shutil

import numpy as np
import pytest
from conftest import ROOT, SAMPLES, CommandPickle, assert_no_bug, cli_run, idx_bytes, write_idx_folder

pytest.importorskip("tensorflow")
SHIPPED = ROOT / "models" / "dense.keras"


def mnist(tmp, **kw):
    return write_idx_folder(tmp / "mnist", n_train=120, n_test=40, **kw)


def train(tmp, *extra, data=None):
    return [
        "train",
        "--data",
        str(data or mnist(tmp)),
        "--validation-size",
        "20",
        "--epochs",
        "1",
        "--hidden",
        "8",
        "--no-onnx",
        "-q",
        "--out",
        str(tmp / "out" / "m.keras"),
        *extra,
    ]


def corrupt(tmp, name, edit, gz=False):
    folder = mnist(tmp, gz=gz)
    path = folder / name
    path.write_bytes(edit(path.read_bytes()))
    return folder


def keras_file(tmp, build):
    import keras

    model = build(keras)
    path = tmp / "odd.keras"
    model.save(path)
    for marker in tmp.glob("PWNED*"):  # building the model ran its Lambda; loading it must not
        marker.unlink()
    return path


def lambda_model(keras):
    marker = "PWNED_BY_LAMBDA"
    return keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Lambda(lambda x: x + 0 * len(open(marker, "w").name)),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def text(tmp, name, content):
    path = tmp / name
    path.write_text(content)
    return path


def crafted_pickle(tmp):
    path = tmp / "mnist.pkl.gz"
    with gzip.open(path, "wb") as fh:
        pickle.dump(CommandPickle(), fh)
    return path


CASES = {
    # train: options
    "train unknown model": lambda t: (train(t, "--model", "lenet"), 2, "'lenet' is not one of 'dense', 'cnn'"),
    "train zero epochs": lambda t: (train(t, "--epochs", "0"), 2, "0 is not in the range x>=1"),
    "train negative batch": lambda t: (train(t, "--batch-size", "-1"), 2, "-1 is not in the range x>=1"),
    "train bad hidden": lambda t: (train(t, "--hidden", "400,abc"), 2, "'400,abc' is not a comma-separated list"),
    "train unknown optimizer": lambda t: (train(t, "--optimizer", "lbfgs"), 2, "'lbfgs' is not one of"),
    "train dropout 1": lambda t: (train(t, "--dropout", "1"), 2, "1.0 is not in the range 0<=x<1"),
    "train validation too big": lambda t: (
        train(t, "--validation-size", "5000"),
        2,
        "--validation-size 5000 must be between 0 and 119",
    ),
    "train out not .keras": lambda t: (train(t)[:-1] + [str(t / "m.h5")], 2, "model files must end in .keras"),
    # train: data
    "data folder missing": lambda t: (train(t, data=t / "nope"), 1, "no such file or folder; point --data"),
    "data folder empty": lambda t: (
        (t / "empty").mkdir() or train(t, data=t / "empty"),
        1,
        "no train-images-idx3-ubyte[.gz]",
    ),
    "idx truncated": lambda t: (
        train(t, data=corrupt(t, "train-images-idx3-ubyte", lambda b: b[:-100])),
        1,
        "truncated: 120 x 28 x 28 images needs 94,080 bytes",
    ),
    "idx wrong magic": lambda t: (
        train(t, data=corrupt(t, "train-labels-idx1-ubyte", lambda b: b"\0\0\x08\x03" + b[4:])),
        1,
        "not an IDX labels file (magic number 0x00000803",
    ),
    "idx size mismatch": lambda t: (
        train(t, data=corrupt(t, "t10k-labels-idx1-ubyte", lambda b: idx_bytes(np.zeros(39, np.uint8)))),
        1,
        "40 test images but 39 labels",
    ),
    "idx label out of range": lambda t: (
        train(t, data=corrupt(t, "t10k-labels-idx1-ubyte", lambda b: b[:-1] + b"\x0b")),
        1,
        "test label #39 is 11, labels must be digits 0-9",
    ),
    "gzip corrupt": lambda t: (
        train(t, data=corrupt(t, "train-images-idx3-ubyte.gz", lambda b: b[:40] + b"\xff" * 64 + b[104:], gz=True)),
        1,
        "train-images-idx3-ubyte.gz: corrupt or truncated compressed data",
    ),
    "gzip truncated": lambda t: (
        train(t, data=corrupt(t, "t10k-images-idx3-ubyte.gz", lambda b: b[: len(b) // 2], gz=True)),
        1,
        "t10k-images-idx3-ubyte.gz: ",
    ),
    "npz missing arrays": lambda t: (
        np.savez(t / "m.npz", x_train=np.zeros((3, 28, 28))) or train(t, data=t / "m.npz"),
        1,
        "missing arrays x_test, y_test, y_train",
    ),
    "npz not a zip": lambda t: (train(t, data=text(t, "m.npz", "hello")), 1, "m.npz: not a readable .npz"),
    "pickle that runs a command": lambda t: (train(t, data=crafted_pickle(t)), 1, "it was not executed"),
    "pickle truncated": lambda t: (
        train(t, data=text(t, "mnist.pkl", "(lp0\nI1\na")),
        1,
        "truncated or corrupt pickle",
    ),
    "data of unknown format": lambda t: (train(t, data=text(t, "mnist.txt", "1 2 3")), 1, "unknown data format"),
    # train: outputs
    "out folder under a file": lambda t: (
        text(t, "afile", "x") and train(t)[:-1] + [str(t / "afile" / "m.keras")],
        1,
        "a file stands where a folder is needed",
    ),
    # evaluate
    "evaluate missing model": lambda t: (
        ["evaluate", str(t / "none.keras"), "--data", str(mnist(t))],
        1,
        "no such model file; train one",
    ),
    "evaluate text as model": lambda t: (
        ["evaluate", str(text(t, "m.keras", "hi")), "--data", str(mnist(t))],
        1,
        "not a Keras model (a .keras file is a zip archive",
    ),
    "evaluate zip not model": lambda t: (
        [
            "evaluate",
            str(
                shutil.make_archive(str(t / "z"), "zip", SAMPLES)
                and os.replace(t / "z.zip", t / "z.keras")
                or t / "z.keras"
            ),
            "--data",
            str(mnist(t)),
        ],
        1,
        "a zip archive but not a Keras model",
    ),
    "evaluate h5 model": lambda t: (
        ["evaluate", str(text(t, "m.h5", "hi")), "--data", str(mnist(t))],
        1,
        "not a .keras model file",
    ),
    "evaluate wrong input shape": lambda t: (
        [
            "evaluate",
            str(
                keras_file(
                    t,
                    lambda k: k.Sequential(
                        [k.Input((32, 32, 1)), k.layers.Flatten(), k.layers.Dense(10, activation="softmax")]
                    ),
                )
            ),
            "--data",
            str(mnist(t)),
        ],
        1,
        "takes inputs of shape (32, 32, 1), expected 28 x 28 pixels",
    ),
    "evaluate wrong output": lambda t: (
        [
            "evaluate",
            str(keras_file(t, lambda k: k.Sequential([k.Input((784,)), k.layers.Dense(3)]))),
            "--data",
            str(mnist(t)),
        ],
        1,
        "outputs shape (3,), expected 10",
    ),
    "evaluate lambda layer": lambda t: (
        ["evaluate", str(keras_file(t, lambda_model)), "--data", str(mnist(t))],
        1,
        "contains a Lambda layer (arbitrary Python code)",
    ),
    "evaluate bad format": lambda t: (["evaluate", str(SHIPPED), "--format", "xml"], 2, "'xml' is not one of"),
    "evaluate missing data": lambda t: (["evaluate", str(SHIPPED), "--data", str(t / "nope")], 1, "no such file"),
    # predict-csv
    "predict onnx forced but absent": lambda t: (
        [
            "predict-csv",
            "--model",
            str(shutil.copy(SHIPPED, t / "copy.keras")),
            "--backend",
            "onnx",
            str(SAMPLES / "digit3_1.csv"),
        ],
        1,
        "cannot use the ONNX export (no ONNX export)",
    ),
    "predict bad backend": lambda t: (
        ["predict-csv", "--backend", "torch", str(SAMPLES / "digit3_1.csv")],
        2,
        "'torch' is not one of 'auto', 'onnx', 'keras'",
    ),
    # plot
    "plot not a history": lambda t: (
        ["plot", str(text(t, "h.csv", "a,b\n1,2")), "--out", str(t / "out")],
        1,
        "not a history CSV",
    ),
    "plot json without history": lambda t: (
        ["plot", str(text(t, "m.json", "{}")), "--out", str(t / "out")],
        1,
        "not digitcli model metadata",
    ),
    "plot unknown format": lambda t: (["plot", str(SHIPPED), "--format", "gif"], 2, "'gif' is not one of"),
    "plot samples bad data": lambda t: (
        ["plot", "--samples", "--data", str(t / "nope"), "--out", str(t / "out")],
        1,
        "no such file or folder",
    ),
    "plot out under a file": lambda t: (
        ["plot", str(SHIPPED), "--out", str(text(t, "afile", "x") / "sub")],
        1,
        "a file stands where a folder is needed",
    ),
    # export
    "export not a model": lambda t: (["export", str(text(t, "m.keras", "hi"))], 1, "not a Keras model"),
    "export unknown format": lambda t: (["export", str(SHIPPED), "--format", "coreml"], 2, "'coreml' is not one of"),
    "export wrong suffix": lambda t: (
        ["export", str(SHIPPED), "--format", "onnx", "--out", str(t / "m.bin")],
        2,
        "onnx exports must end in .onnx",
    ),
}


def snapshot(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.real_model
def test_bad_input(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args, code, message = CASES[name](tmp_path)
    before = snapshot(tmp_path)
    shipped_before = hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    result = cli_run(*args, code=code)
    # (Digit files predict-csv rejects one by one are test_predict_csv's BAD cases.)
    lines = [line for line in result.stderr.splitlines() if message in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert result.stdout == ""
    assert snapshot(tmp_path) == before, "partial output left behind or an input changed"
    assert hashlib.sha256(SHIPPED.read_bytes()).hexdigest() == shipped_before
    assert not list(tmp_path.glob("PWNED*")), "untrusted code ran"


@pytest.mark.slow  # trains
def test_full_disk_at_the_final_save_keeps_the_earlier_model(tmp_path, monkeypatch):
    import digitcli.fileio as fileio

    data = mnist(tmp_path)
    args = train(tmp_path, data=data)
    cli_run(*args)
    out = tmp_path / "out"
    before = snapshot(out)

    class FullDisk:
        def __getattr__(self, name):
            return getattr(os, name)

        @staticmethod
        def replace(src, dst):
            if str(dst) == str(out / "m.keras"):  # the disk fills up as the new model is moved in
                raise OSError(errno.ENOSPC, "No space left on device")
            return os.replace(src, dst)

    monkeypatch.setattr(fileio, "os", FullDisk())
    result = cli_run(*args, "--overwrite", code=1)
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: {out / 'm.keras'}: no space left on the device; free some space or write elsewhere with --out"
    )
    after = {k: v for k, v in snapshot(out).items() if not k.startswith(".m.keras.train/")}
    assert after == before  # the earlier model, metadata and history are intact; no temp files remain


@pytest.mark.slow  # trains
def test_full_disk_during_training_is_one_line(tmp_path, monkeypatch):
    from digitcli.training.callbacks import HistoryLog

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(HistoryLog, "on_epoch_end", full)
    result = cli_run(*train(tmp_path), code=1)
    assert "no space left on the device" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "out" / "m.keras").exists()
    # It failed before completing an epoch: nothing to resume, so its folder is gone and the next
    # run is not told to add --resume.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []


def test_a_bug_is_one_line_for_a_user_and_an_exception_for_the_tests(monkeypatch, fake_predictor):
    """The last-resort catch keeps a user's screen to one line; with DIGITCLI_DEBUG (conftest sets it
    for every test) the exception itself comes out, and conftest.assert_no_bug fails on either."""
    from click.testing import CliRunner

    from digitcli.cli import cli
    from digitcli.reading import digit_csv

    def planted(*args, **kwargs):
        raise IndexError("planted")

    monkeypatch.setattr(digit_csv, "parse", planted)
    args = ["predict-csv", str(SAMPLES / "digit3_1.csv")]
    raised = CliRunner().invoke(cli, args)
    assert isinstance(raised.exception, IndexError)
    with pytest.raises(AssertionError):
        assert_no_bug(raised)
    monkeypatch.delenv("DIGITCLI_DEBUG")
    polite = CliRunner().invoke(cli, args)
    assert polite.exit_code == 1 and polite.stdout == ""
    assert polite.stderr == (
        "Error: unexpected IndexError: planted (a bug in digitcli: rerun with DIGITCLI_DEBUG=1 for the details "
        "and report them)\n"
    )
    with pytest.raises(AssertionError):
        assert_no_bug(polite)
