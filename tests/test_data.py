"""Loaders: every supported format, and a clear DataError for every broken one."""

import gzip
import pickle

import numpy as np
import pytest
from conftest import CommandPickle, idx_bytes, synthetic_digits, write_idx_folder

from digitcli.data import datasets as data
from digitcli.data import mnist_files as readers
from digitcli.data import splits
from digitcli.errors import DataError, UsageProblem


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("names", ["dashed", "dotted"])
def test_idx_folder_any_naming_gz_or_raw(tmp_path, gz, names):
    folder = write_idx_folder(tmp_path / "m", n_train=50, n_test=20, gz=gz, names=names)
    raw = data.load_raw(folder)
    x_train, y_train = synthetic_digits(50, 0)
    assert raw.x_train.dtype == np.uint8 and raw.x_train.shape == (50, 28, 28)
    np.testing.assert_array_equal(raw.x_train, x_train)
    np.testing.assert_array_equal(raw.y_train, y_train)
    assert raw.x_test.shape == (20, 28, 28)


def test_split_holds_out_the_last_images_and_limit_takes_the_first(tiny_mnist):
    raw = data.load_raw(tiny_mnist)
    ds = splits.split(raw, validation_size=100, limit=30)
    np.testing.assert_array_equal(ds.x_val, raw.x_train[200:])
    np.testing.assert_array_equal(ds.x_train, raw.x_train[:30])
    assert ds.sizes() == {"train": 30, "validation": 100, "test": 100}
    assert splits.split(raw, 0).sizes()["validation"] == 0


@pytest.mark.parametrize("size", [-1, 300, 1000])
def test_validation_size_out_of_range(tiny_mnist, size):
    with pytest.raises(UsageProblem, match="--validation-size"):
        splits.split(data.load_raw(tiny_mnist), size)


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_npz_keras_layout(tmp_path):
    x, y = synthetic_digits(40)
    raw = data.load_raw(_npz(tmp_path / "m.npz", x_train=x, y_train=y, x_test=x[:10], y_test=y[:10]))
    np.testing.assert_array_equal(raw.x_train, x)
    assert raw.source.endswith("m.npz")


def test_npz_float_images_in_0_1_are_scaled(tmp_path):
    x, y = synthetic_digits(40)
    raw = data.load_raw(_npz(tmp_path / "m.npz", x_train=x / 255.0, y_train=y, x_test=x / 255.0, y_test=y))
    np.testing.assert_array_equal(raw.x_train, x)


def _nielsen_pickle(path, n=(60, 20, 20), opener=gzip.open):
    sets = []
    for i, size in enumerate(n):
        x, y = synthetic_digits(size, seed=i)
        sets.append(((x.reshape(size, 784) / 255.0).astype(np.float32), y.astype(np.int64)))
    with opener(path, "wb") as fh:
        pickle.dump(tuple(sets), fh, protocol=2)
    return path


def test_nielsen_pkl_gz_joins_train_and_validation(tmp_path):
    raw = data.load_raw(_nielsen_pickle(tmp_path / "mnist.pkl.gz"))
    assert raw.x_train.shape == (80, 28, 28) and raw.x_test.shape == (20, 28, 28)
    x, _ = synthetic_digits(60, seed=0)
    np.testing.assert_array_equal(raw.x_train[:60], x)  # floats round back to the same bytes
    ds = splits.split(raw, validation_size=20)
    np.testing.assert_array_equal(ds.x_val, synthetic_digits(20, seed=1)[0])


def test_idx_longer_than_declared(tmp_path):
    folder = write_idx_folder(tmp_path / "m", gz=False)
    path = folder / "t10k-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes() + b"\x01")
    with pytest.raises(DataError, match="longer than its header declares"):
        data.load_raw(folder)


def test_idx_gzip_bomb_declared_size_is_refused_before_reading(tmp_path):
    folder = write_idx_folder(tmp_path / "m")
    header = idx_bytes(np.zeros((0, 28, 28)))[:4] + (10**7).to_bytes(4, "big") + (300).to_bytes(4, "big") * 2
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + b"\0" * 1000))
    with pytest.raises(DataError, match="more than the 1,073,741,824 allowed"):
        data.load_raw(folder)


def test_no_network_gives_a_one_line_hint(monkeypatch):
    import keras

    def offline():
        raise OSError("URL fetch failure: [Errno -3] Temporary failure in name resolution\nmore detail")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DataError) as info:
        data.load_raw(None)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("could not download MNIST through Keras (URL fetch failure")
    assert "point --data (or DIGITCLI_DATA)" in message


def test_npz_holding_a_command_running_pickle_is_refused_and_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x, y = synthetic_digits(10)
    np.savez(tmp_path / "m.npz", x_train=np.array([CommandPickle()], dtype=object), y_train=y, x_test=x, y_test=y)
    with pytest.raises(DataError, match="refuses to unpickle"):
        readers.read_npz(tmp_path / "m.npz")
    assert not (tmp_path / "PWNED_BY_PICKLE").exists()


@pytest.mark.slow  # trains
def test_kaggle_train_csv_trains_and_its_test_csv_becomes_a_submission(tmp_path):
    """Kaggle's Digit Recognizer, end to end: train.csv (label,pixel0..pixel783) for --data, and the
    unlabelled test.csv through predict-csv --format kaggle."""
    pytest.importorskip("tensorflow")
    import json

    from click.testing import CliRunner

    from digitcli.cli import cli

    images, labels = synthetic_digits(400, seed=5)
    header = ",".join(f"pixel{i}" for i in range(784))
    train_csv, test_csv = tmp_path / "train.csv", tmp_path / "test.csv"
    train_csv.write_text(
        "label,"
        + header
        + "\n"
        + "\n".join(f"{y}," + ",".join(map(str, x.reshape(784))) for x, y in zip(images[:360], labels[:360]))
        + "\n"
    )
    test_csv.write_text(header + "\n" + "\n".join(",".join(map(str, x.reshape(784))) for x in images[360:]) + "\n")
    out = tmp_path / "kaggle.keras"
    trained = CliRunner().invoke(
        cli,
        [
            "train",
            "--data",
            str(train_csv),
            "--validation-size",
            "40",
            "--epochs",
            "5",
            "--batch-size",
            "16",
            "--hidden",
            "32",
            "-q",
            "-o",
            str(out),
        ],
    )
    assert trained.exit_code == 0, trained.output
    meta = json.loads(out.with_suffix(".json").read_text())
    assert {k: meta["data"][k] for k in ("train", "validation", "test")} == {"train": 284, "validation": 40, "test": 36}
    assert meta["test"]["accuracy"] > 0.8  # the synthetic classes are easy
    submission = CliRunner().invoke(cli, ["predict-csv", str(test_csv), "--model", str(out), "--format", "kaggle"])
    lines = submission.stdout.splitlines()
    assert lines[0] == "ImageId,Label" and [line.split(",")[0] for line in lines[1:]] == [str(i) for i in range(1, 41)]
    predicted = np.array([int(line.split(",")[1]) for line in lines[1:]])
    assert np.mean(predicted == labels[360:]) > 0.8


def test_a_csv_without_labels_is_not_training_data(tmp_path):
    path = tmp_path / "test.csv"
    path.write_text("\n".join(",".join(["0"] * 784) for _ in range(5)))
    with pytest.raises(DataError, match="no label column; training needs rows of label,pixel0"):
        data.load_raw(path)
