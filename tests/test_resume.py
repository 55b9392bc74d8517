"""Training survives interruption: a real `digitcli train` process is killed (SIGKILL, SIGINT) at
several points and resumed with --resume; two runs on one output never corrupt it."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import write_idx_folder

pytestmark = pytest.mark.slow  # every test here trains in subprocesses

pytest.importorskip("tensorflow")

EPOCHS = 6


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_idx_folder(tmp_path_factory.mktemp("resume") / "mnist", n_train=3000, n_test=300)


def train_cmd(data, out, *extra):
    return [
        sys.executable,
        "-m",
        "digitcli",
        "train",
        "--data",
        str(data),
        "--validation-size",
        "500",
        "--epochs",
        str(EPOCHS),
        "--hidden",
        "64",
        "--batch-size",
        "16",
        "--seed",
        "3",
        "--no-onnx",
        "--out",
        str(out),
        *extra,
    ]


def completed_epochs(out):
    log = out.with_name(f".{out.name}.train") / "history.csv"
    return max(0, len(log.read_text().splitlines()) - 1) if log.exists() else 0


def start_and_interrupt(data, out, sig, after_epochs, timeout=120):
    """Start training; send `sig` once `after_epochs` epochs are logged (0: as soon as the run holds its
    output, mid start-up, before any epoch)."""
    proc = subprocess.Popen(train_cmd(data, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    lock = out.with_name(f"{out.name}.lock")
    while (completed_epochs(out) < after_epochs if after_epochs else not lock.exists()) and proc.poll() is None:
        assert time.monotonic() < deadline, "training did not progress"
        time.sleep(0.02)
    assert proc.poll() is None, "training finished before it could be interrupted"
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=timeout)
    return proc.returncode, stdout, stderr


def resume(data, out):
    result = subprocess.run(train_cmd(data, out, "--resume"), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(out.with_suffix(".json").read_text())


@pytest.fixture(scope="module")
def uninterrupted(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("straight") / "m.keras"
    start = time.monotonic()
    subprocess.run(train_cmd(data, out), check=True, capture_output=True, timeout=300)
    return {**json.loads(out.with_suffix(".json").read_text()), "wall_seconds": time.monotonic() - start}


@pytest.mark.parametrize("after_epochs", [0, 1, 3])
def test_sigkill_then_resume_finishes_every_epoch_once(data, tmp_path, uninterrupted, after_epochs):
    out = tmp_path / "m.keras"
    code, _, _ = start_and_interrupt(data, out, signal.SIGKILL, after_epochs)
    assert code == -signal.SIGKILL
    assert not out.exists()  # no half-written model where a reader would load it
    # Killed as soon as epoch k was logged: k epochs done (one more only if it finished as the signal flew).
    assert completed_epochs(out) in ((0,) if after_epochs == 0 else (after_epochs, after_epochs + 1))
    meta = resume(data, out)
    assert [row["epoch"] for row in meta["history"]] == list(range(1, EPOCHS + 1))
    assert abs(meta["test"]["accuracy"] - uninterrupted["test"]["accuracy"]) <= 0.003
    assert not out.with_name(f".{out.name}.train").exists() and not out.with_name(f"{out.name}.lock").exists()


def test_sigint_saves_says_how_to_resume_and_exits_130(data, tmp_path, uninterrupted):
    out = tmp_path / "m.keras"
    code, stdout, stderr = start_and_interrupt(data, out, signal.SIGINT, 2)
    assert code == 130
    assert stdout == ""
    assert "Run the same command with --resume to continue." in stderr
    assert "Traceback" not in stderr
    assert not out.with_name(f"{out.name}.lock").exists()
    meta = resume(data, out)
    assert [row["epoch"] for row in meta["history"]] == list(range(1, EPOCHS + 1))
    assert meta["resumed"] is True
    assert abs(meta["test"]["accuracy"] - uninterrupted["test"]["accuracy"]) <= 0.003


def test_interrupted_progress_is_not_thrown_away_by_a_plain_rerun(data, tmp_path):
    out = tmp_path / "m.keras"
    start_and_interrupt(data, out, signal.SIGKILL, 1)
    result = subprocess.run(train_cmd(data, out), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "left its progress in" in result.stderr and "add --resume to continue it" in result.stderr
    assert completed_epochs(out) >= 1


def test_resume_with_other_settings_is_refused(data, tmp_path):
    out = tmp_path / "m.keras"
    start_and_interrupt(data, out, signal.SIGKILL, 1)
    cmd = train_cmd(data, out, "--resume")
    cmd[cmd.index("--seed") + 1] = "4"
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "the interrupted run used other settings (seed: 3 -> 4)" in result.stderr


def test_two_runs_on_one_output_one_is_refused(data, tmp_path):
    out = tmp_path / "m.keras"
    first = subprocess.Popen(train_cmd(data, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = out.with_name(f"{out.name}.lock")
    deadline = time.monotonic() + 60
    while not lock.exists():
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.02)
    second = subprocess.run(train_cmd(data, out), capture_output=True, text=True, timeout=120)
    assert second.returncode == 1
    assert f"is being written by another digitcli process (pid {first.pid})" in second.stderr
    first.communicate(timeout=300)
    assert first.returncode == 0
    assert json.loads(out.with_suffix(".json").read_text())["history"][-1]["epoch"] == EPOCHS


def test_stale_lock_from_a_killed_run_does_not_block(data, tmp_path, uninterrupted):
    out = tmp_path / "m.keras"
    code, _, _ = start_and_interrupt(data, out, signal.SIGKILL, 1)
    lock = out.with_name(f"{out.name}.lock")
    assert lock.exists() and not _alive(int(lock.read_text().split()[-1]))
    meta = resume(data, out)
    assert [row["epoch"] for row in meta["history"]] == list(range(1, EPOCHS + 1))  # each epoch once
    assert abs(meta["test"]["accuracy"] - uninterrupted["test"]["accuracy"]) <= 0.003
    assert not lock.exists() and not rundir_of(out).exists()


def rundir_of(out):
    from digitcli.training.rundir import staging_dir

    return staging_dir(out)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_stops_like_ctrl_c_with_exit_143(data, tmp_path):
    out = tmp_path / "m.keras"
    code, _, stderr = start_and_interrupt(data, out, signal.SIGTERM, 1)
    assert code == 143
    assert "Run the same command with --resume to continue." in stderr
    meta = resume(data, out)
    assert [row["epoch"] for row in meta["history"]] == list(range(1, EPOCHS + 1))


DIE_IN_FIRST_BACKUP_WRITE = """
import os, signal, sys
import keras
real = keras.Model.save_weights
def dying(self, filepath, *args, **kwargs):
    if "backup" in str(filepath):  # the first backup write, cut off half-way
        with open(filepath, "wb") as fh:
            fh.write(b"\\x89HDF\\r\\n\\x1a\\n half a file")
        os.kill(os.getpid(), signal.SIGKILL)
    return real(self, filepath, *args, **kwargs)
keras.Model.save_weights = dying
from digitcli.cli import cli
cli(sys.argv[1:], prog_name="digitcli")
"""


def test_sigkill_in_the_middle_of_the_first_backup_write_resumes(data, tmp_path, uninterrupted):
    out = tmp_path / "m.keras"
    cmd = train_cmd(data, out)
    killed = subprocess.run(
        [sys.executable, "-c", DIE_IN_FIRST_BACKUP_WRITE, *cmd[3:]], capture_output=True, text=True, timeout=300
    )
    assert killed.returncode == -signal.SIGKILL
    meta = resume(data, out)
    assert [row["epoch"] for row in meta["history"]] == list(range(1, EPOCHS + 1))
    assert abs(meta["test"]["accuracy"] - uninterrupted["test"]["accuracy"]) <= 0.003


def test_sigkill_at_random_instants_always_resumes(data, tmp_path, uninterrupted):
    """One run killed again and again at random instants (start-up, mid-epoch, mid-write, the final
    save), each time resumed: every resume works and the history ends with each epoch once."""
    import random

    rng = random.Random(20261126)
    out = tmp_path / "m.keras"
    kills = 0
    for _ in range(12):
        proc = subprocess.Popen(
            train_cmd(data, out, "--resume"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:  # start-up, an epoch, a checkpoint write, the final save: a resumed run is shorter, so
            # instants late in a whole run's time would mostly find it finished
            proc.wait(timeout=rng.uniform(0.3, 0.7 * uninterrupted["wall_seconds"]))
        except subprocess.TimeoutExpired:
            proc.kill()
            kills += 1
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode in (0, -signal.SIGKILL), stderr[-2000:]
        if proc.returncode == 0:
            break
    assert kills >= 4
    meta = json.loads(out.with_suffix(".json").read_text()) if proc.returncode == 0 else resume(data, out)
    assert [row["epoch"] for row in meta["history"]] == list(range(1, EPOCHS + 1))
    assert abs(meta["test"]["accuracy"] - uninterrupted["test"]["accuracy"]) <= 0.003
    assert not out.with_name(f".{out.name}.train").exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["m.history.csv", "m.json", "m.keras"]
