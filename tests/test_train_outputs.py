"""Where `train` writes and what it does to a model already there: runs/ by default (never the
shipped models/), --restart keeps the earlier model as NAME.N, --overwrite replaces it, and a resumed
run reports the time of all its epochs."""

import json

import pytest
from click.testing import CliRunner
from conftest import write_idx_folder

from digitcli.cli import cli

pytestmark = pytest.mark.slow  # every test here trains


def invoke(*args, code=0):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == code, (result.output, result.stderr, repr(result.exception))
    return result


@pytest.fixture
def data(tmp_path):
    return write_idx_folder(tmp_path / "mnist", n_train=120, n_test=40)


def small(data, *extra):
    return ["train", "--data", data, "--validation-size", 20, "--epochs", 1, "--hidden", 8, "-q", *extra]


def test_train_without_out_writes_runs_not_the_shipped_models(data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(*small(data, "--no-onnx"))
    assert "wrote runs/dense.keras, runs/dense.json, runs/dense.history.csv" in result.output
    assert json.loads((tmp_path / "runs" / "dense.json").read_text())["settings"]["hidden"] == [8]
    assert not (tmp_path / "models").exists()
    assert "runs/<preset or model>.keras" in " ".join(invoke("train", "--help").output.split())


def test_overwrite_replaces_the_model_and_its_files_keeping_no_copy(data, tmp_path):
    out = tmp_path / "m.keras"
    invoke(*small(data, "--out", out))  # with its .onnx
    first = out.read_bytes()
    assert out.with_suffix(".onnx").exists()
    for _ in range(2):  # the README's set-up command, run again and again: nothing piles up
        invoke(*small(data, "--out", out, "--overwrite", "--no-onnx", "--seed", 7))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "mnist") == ["m.history.csv", "m.json", "m.keras"]
    assert out.read_bytes() != first
    assert json.loads(out.with_suffix(".json").read_text())["settings"]["seed"] == 7


def test_restart_discards_progress_but_keeps_the_earlier_model(data, tmp_path):
    out = tmp_path / "m.keras"
    invoke(*small(data, "--out", out, "--no-onnx"))
    model = out.read_bytes()
    staging = tmp_path / ".m.keras.train"
    staging.mkdir()
    (staging / "history.csv").write_text("epoch,accuracy\n1,0.5\n")  # an interrupted run's epoch
    refused = invoke(*small(data, "--out", out, "--no-onnx"), code=1)
    assert "add --resume to continue it, or --restart to discard it and start over" in refused.stderr
    invoke(*small(data, "--out", out, "--no-onnx", "--restart"))
    assert (tmp_path / "m.1.keras").read_bytes() == model and not staging.exists()
    both = invoke(*small(data, "--out", out, "--restart", "--resume"), code=2)
    assert "--resume continues an interrupted run and --restart discards it" in both.stderr


def test_a_resumed_run_reports_the_time_of_every_epoch(data, tmp_path, monkeypatch):
    import time

    from digitcli.training.callbacks import HistoryLog

    out = tmp_path / "m.keras"
    args = small(data, "--out", out, "--no-onnx", "--epochs", 3)
    logged = HistoryLog.on_epoch_end

    def slow_then_killed(self, epoch, logs=None):
        logged(self, epoch, logs)
        if epoch == 2:  # killed before its backup: this epoch is repeated, its time is not the run's
            raise KeyboardInterrupt
        time.sleep(5)  # two slow epochs kept before the interruption: 10 s that the resumed run must count

    with monkeypatch.context() as patch:
        patch.setattr(HistoryLog, "on_epoch_end", slow_then_killed)
        invoke(*args, code=130)
    started = time.perf_counter()
    result = invoke(*args, "--resume")
    resumed_alone = time.perf_counter() - started
    meta = json.loads(out.with_suffix(".json").read_text())
    assert len(meta["history"]) == 3 and meta["resumed"] is True
    assert meta["train_seconds"] >= 10.0, resumed_alone  # the resumed part alone takes a few seconds
    assert f"in {meta['train_seconds']:.1f} s" in result.output
