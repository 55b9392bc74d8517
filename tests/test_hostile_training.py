"""Hostile cases on the training side (issue 26): a lock file that ate a user's file, --resume over
other data, file-system failures, misleading plots and names, and refusals that came only after
training. Each case here once lost data, printed a last-resort message or misled."""

import errno
import hashlib
import os
import shutil
import warnings

import pytest
from click.testing import CliRunner
from conftest import ROOT, synthetic_digits, write_idx_folder

from digitcli.cli import cli

SHIPPED = ROOT / "models" / "dense.keras"


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "unexpected" not in result.stderr, result.stderr
    return result


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def data(tmp_path):
    return write_idx_folder(tmp_path / "mnist", n_train=120, n_test=40)


def train_args(data, out, *extra):
    return ["train", "--data", data, "--validation-size", 20, "--epochs", 1, "--hidden", 8, "--no-onnx", "-q"] + [
        "--out",
        out,
        *extra,
    ]


def no_training_began(out):
    return not out.exists() and not out.with_name(f".{out.name}.train").exists()


# --- 1. the lock file ---------------------------------------------------------------------------------


def test_a_symlink_named_like_the_lock_is_refused_and_its_target_untouched(tmp_path, data):
    diary = tmp_path / "diary.txt"
    diary.write_text("Dear diary,\nnothing of mine may be lost.\n")
    before = digest(diary)
    lock = tmp_path / "m.keras.lock"
    lock.symlink_to(diary)
    result = invoke(*train_args(data, tmp_path / "m.keras"))
    assert result.exit_code == 1
    assert f"{lock} is a symbolic link" in result.stderr
    assert digest(diary) == before and lock.is_symlink() and os.readlink(lock) == str(diary)
    assert no_training_began(tmp_path / "m.keras")


def test_a_users_own_file_named_like_the_lock_is_refused_and_kept(tmp_path, data):
    lock = tmp_path / "m.keras.lock"
    lock.write_bytes(b"my list of locks to buy\n")
    result = invoke(*train_args(data, tmp_path / "m.keras"))
    assert result.exit_code == 1
    assert f"{lock} exists and is not a lock digitcli made" in result.stderr
    assert lock.read_bytes() == b"my list of locks to buy\n"
    assert no_training_began(tmp_path / "m.keras")


def test_no_space_for_the_locks_pid_is_explained_and_leaves_no_lock(tmp_path, data, monkeypatch):
    from digitcli import fileio

    def full(fd, data, offset):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "pwrite", full)
    result = invoke(*train_args(data, tmp_path / "m.keras"))
    assert result.exit_code == 1
    assert f"{tmp_path / 'm.keras.lock'}: no space left on the device" in result.stderr
    assert not (tmp_path / "m.keras.lock").exists()


# --- 5. --runs N --resume on other data ----------------------------------------------------------------


@pytest.mark.slow
def test_resume_of_finished_runs_refuses_other_data(tmp_path):
    pytest.importorskip("tensorflow")
    first = write_idx_folder(tmp_path / "first", n_train=120, n_test=40, seed=0)
    other = write_idx_folder(tmp_path / "other", n_train=120, n_test=40, seed=5)
    out = tmp_path / "m.keras"
    assert invoke(*train_args(first, out, "--runs", 2)).exit_code == 0
    kept = {p.name: digest(p) for p in tmp_path.glob("m.run*.keras")}
    result = invoke(*train_args(other, out, "--runs", 2, "--resume"))
    assert result.exit_code == 2
    assert f"{tmp_path / 'm.run1.keras'} was trained on other data ({first})" in result.stderr
    assert {p.name: digest(p) for p in tmp_path.glob("m.run*.keras")} == kept
    again = invoke(*train_args(first, out, "--runs", 2, "--resume"))  # the same data: both are kept
    assert again.exit_code == 0 and again.stderr.count("had finished; keeping it") == 2


# --- 7. file-system failures -------------------------------------------------------------------------


def test_tensorboard_under_a_file_is_refused_before_training(tmp_path, data):
    pytest.importorskip("tensorflow")
    (tmp_path / "notes.txt").write_text("mine")
    result = invoke(*train_args(data, tmp_path / "m.keras", "--tensorboard", tmp_path / "notes.txt" / "tb"))
    assert result.exit_code == 1
    assert "notes.txt/tb: a file stands where a folder is needed" in result.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert no_training_began(tmp_path / "m.keras")


def test_a_read_only_tensorboard_folder_is_refused_before_training(tmp_path, data, monkeypatch):
    pytest.importorskip("tensorflow")
    from digitcli.training import fitting

    def read_only(*args, **kwargs):  # root writes anywhere, so a read-only mount is simulated
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(fitting.tempfile, "TemporaryFile", read_only)
    result = invoke(*train_args(data, tmp_path / "m.keras", "--tensorboard", tmp_path / "tb"))
    assert result.exit_code == 1
    assert f"{tmp_path / 'tb'}: cannot write here (Read-only file system)" in result.stderr
    assert no_training_began(tmp_path / "m.keras")


def test_a_symlinked_staging_folder_is_refused_and_left_alone(tmp_path, data):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "history.csv").write_text("epoch,accuracy\n1,0.5\n")
    staging = tmp_path / ".m.keras.train"
    staging.symlink_to(elsewhere, target_is_directory=True)
    for extra in ([], ["--overwrite"], ["--resume"]):
        result = invoke(*train_args(data, tmp_path / "m.keras", *extra))
        assert result.exit_code == 1, extra
        assert f"{staging} is a symbolic link" in result.stderr
        assert staging.is_symlink() and (elsewhere / "history.csv").read_text() == "epoch,accuracy\n1,0.5\n"


@pytest.mark.slow
def test_a_full_disk_under_tensorboard_is_not_called_out_of_memory(tmp_path, data):
    pytest.importorskip("tensorflow")
    import keras
    import tensorflow as tf

    from digitcli.data.datasets import load_raw
    from digitcli.data.splits import dataset_from
    from digitcli.errors import OutputError
    from digitcli.settings import TrainSettings
    from digitcli.training.run import train

    class FullDisk(keras.callbacks.Callback):  # what TensorFlow's event writer raises on ENOSPC
        def on_epoch_end(self, epoch, logs=None):
            raise tf.errors.ResourceExhaustedError(None, None, "tb/train/events.out.tfevents; No space left on device")

    dataset = dataset_from(load_raw(data), 20, None)
    with pytest.raises(OutputError) as caught:
        train(
            TrainSettings(hidden=(8,), epochs=1),
            dataset,
            tmp_path / "m.keras",
            verbose=0,
            export_onnx=False,
            callbacks=[FullDisk()],
            tensorboard=tmp_path / "tb",
        )
    assert str(caught.value) == f"{tmp_path / 'tb'}: no space left on the device; free some space"


@pytest.mark.slow
def test_a_failed_weights_write_leaves_no_partial_file(tmp_path, data, monkeypatch):
    pytest.importorskip("tensorflow")
    import keras

    real = keras.Model.save_weights

    def full_disk(self, path, *args, **kwargs):
        if os.path.basename(path).startswith(".tmp-best"):
            with open(path, "wb") as fh:
                fh.write(b"\x89HDF half a file")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", full_disk)
    out = tmp_path / "m.keras"
    result = invoke(*train_args(data, out))
    assert result.exit_code == 1 and "no space left on the device" in result.stderr
    staging = out.with_name(f".{out.name}.train")
    assert staging.is_dir()  # its completed epoch's history stays for --resume
    assert sorted(p.name for p in staging.rglob(".tmp-*")) == []


def test_publish_after_a_kill_between_its_links_reuses_the_orphan_number(tmp_path):
    from digitcli.training import rundir

    out = tmp_path / "m.keras"
    out.write_bytes(b"old model")
    (tmp_path / "m.json").write_text('{"old": true}')
    os.link(out, tmp_path / "m.1.keras")  # what a SIGKILL right after publish's first link leaves
    final = tmp_path / ".m.keras.train" / "final"
    final.mkdir(parents=True)
    staged = {".keras": final / "m.keras", ".json": final / "m.json"}
    staged[".keras"].write_bytes(b"new model")
    staged[".json"].write_text('{"new": true}')
    kept = rundir.publish(staged, out)
    assert kept == tmp_path / "m.1.keras"
    assert out.read_bytes() == b"new model" and (tmp_path / "m.json").read_text() == '{"new": true}'
    assert kept.read_bytes() == b"old model" and (tmp_path / "m.1.json").read_text() == '{"old": true}'
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("m.")) == [
        "m.1.json",
        "m.1.keras",
        "m.json",
        "m.keras",
    ]


def test_publish_never_reuses_a_number_holding_another_file(tmp_path):
    from digitcli.training import rundir

    out = tmp_path / "m.keras"
    out.write_bytes(b"old model")
    (tmp_path / "m.1.keras").write_bytes(b"an older model")  # a real earlier model, not a second name
    final = tmp_path / "final"
    final.mkdir()
    (final / "m.keras").write_bytes(b"new model")
    assert rundir.publish({".keras": final / "m.keras"}, out) == tmp_path / "m.2.keras"
    assert (tmp_path / "m.1.keras").read_bytes() == b"an older model"
    assert (tmp_path / "m.2.keras").read_bytes() == b"old model"


# --- 9. misleading results ---------------------------------------------------------------------------


def test_band_over_runs_of_different_lengths_averages_only_common_epochs():
    from digitcli.report.plots import draw_history

    def history(accuracies):
        return [{"epoch": e, "accuracy": a, "loss": 1 - a} for e, a in enumerate(accuracies, 1)]

    runs = [("a", history([0.5, 0.6, 0.7, 0.8, 0.9])), ("b", history([0.7, 0.8, 0.9]))]
    fig = draw_history(runs, band=True)
    acc = fig.axes[0]
    assert acc.get_title() == "Accuracy by epoch (mean of 2 runs to epoch 3, band: 1 s.d.)"
    (line,) = acc.get_lines()
    assert list(line.get_xdata()) == [1, 2, 3]
    assert list(line.get_ydata()) == pytest.approx([0.6, 0.7, 0.8])
    same = draw_history([("a", history([0.5, 0.6])), ("b", history([0.7, 0.8]))], band=True)
    assert same.axes[0].get_title() == "Accuracy by epoch (mean of 2 runs, band: 1 s.d.)"


def test_evaluate_plots_of_an_ensemble_are_named_from_the_model_paths(tmp_path, data):
    first = tmp_path / "x + y.keras"  # a name holding the display string's separator
    for suffix in (".keras", ".onnx"):
        shutil.copy(SHIPPED.with_suffix(suffix), first.with_suffix(suffix))
        shutil.copy(SHIPPED.with_suffix(suffix), (tmp_path / "z.keras").with_suffix(suffix))
    result = invoke("evaluate", first, tmp_path / "z.keras", "--data", data, "--plots", tmp_path / "plots")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "x + y-ensemble2-confusion.png",
        "x + y-ensemble2-misclassified.png",
        "x + y-ensemble2-reliability.png",
    ]


def test_kaggle_submission_refuses_one_file_given_twice(tmp_path):
    images, _ = synthetic_digits(3)
    csv = tmp_path / "test.csv"
    rows = [",".join(f"pixel{i}" for i in range(784))] + [",".join(map(str, image.ravel())) for image in images]
    csv.write_text("\n".join(rows) + "\n")
    for second in (csv, tmp_path / "." / "test.csv"):
        result = invoke("predict-csv", "--model", SHIPPED, "--format", "kaggle", csv, second)
        assert result.exit_code == 2
        assert "is given more than once" in result.stderr and "ImageId" not in result.stdout
    once = invoke("predict-csv", "--model", SHIPPED, "--format", "kaggle", csv)
    assert once.exit_code == 0 and once.stdout.splitlines()[0] == "ImageId,Label"
    assert [line.split(",")[0] for line in once.stdout.splitlines()[1:]] == ["1", "2", "3"]


def test_plot_of_a_history_without_loss_prints_no_python_warning(tmp_path):
    history = tmp_path / "acc.history.csv"
    history.write_text("epoch,accuracy\n1,0.5\n2,0.6\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = invoke("plot", history, "-o", tmp_path / "plots")
    assert result.exit_code == 0, result.stderr
    assert [str(w.message) for w in caught] == []
    assert (tmp_path / "plots" / "acc-history.png").stat().st_size > 0


# --- 10. refusals before training ----------------------------------------------------------------------


def test_a_folder_at_a_sidecars_name_is_refused_before_training(tmp_path, data):
    (tmp_path / "q.json").mkdir()
    result = invoke(*train_args(data, tmp_path / "q.keras"))
    assert result.exit_code == 1
    assert f"{tmp_path / 'q.json'} is a folder, and training writes a file there" in result.stderr
    assert no_training_began(tmp_path / "q.keras") and not (tmp_path / "q.keras.lock").exists()


def test_an_out_name_too_long_for_the_names_beside_it_is_refused_before_training(tmp_path, data):
    out = tmp_path / ("m" * 236 + ".keras")  # fits itself and its lock, not its temporary sidecars
    result = invoke(*train_args(data, out))
    assert result.exit_code == 2
    assert "the name is too long for the files written beside it" in result.stderr
    assert not any(tmp_path.glob("*mmm*")) and not any(tmp_path.glob(".mmm*"))


@pytest.mark.parametrize("option", ["--test-data", "--mix", "--watch", "--from"])
def test_an_empty_path_is_a_bad_parameter(tmp_path, data, option):
    result = invoke(*train_args(data, tmp_path / "m.keras", option, ""))
    assert result.exit_code == 2
    assert f"Invalid value for {option}: an empty path" in result.stderr
    assert no_training_began(tmp_path / "m.keras")
