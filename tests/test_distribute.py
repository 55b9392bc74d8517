"""tf.distribute: TF_CONFIG roles, mirrored replicas on CPU devices, and a real two-worker cluster on
127.0.0.1 that trains, saves on the chief only, fails clearly when a worker dies, and resumes."""

import json
import os
import shlex
import socket
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from conftest import write_idx_folder

from digitcli import cli as cli_module
from digitcli.errors import UsageProblem
from digitcli.training import distribute

TIMEOUT = 240  # seconds any one distributed run may take before the test calls it a hang


def tf_config(workers, kind, index, chief=None):
    cluster = {"worker": workers, **({"chief": [chief]} if chief else {})}
    return json.dumps({"cluster": cluster, "task": {"type": kind, "index": index}})


# --- roles from TF_CONFIG (pure) -------------------------------------------------------------------


def test_worker_zero_is_chief_without_a_chief_task():
    workers = ["127.0.0.1:1", "127.0.0.1:2"]
    first = distribute.role("multi-worker", {"TF_CONFIG": tf_config(workers, "worker", 0)})
    second = distribute.role("multi-worker", {"TF_CONFIG": tf_config(workers, "worker", 1)})
    assert (first.chief, first.task, first.workers) == (True, "worker:0", 2)
    assert (second.chief, second.task, second.workers) == (False, "worker:1", 2)


def test_a_chief_task_is_the_chief_and_counts_as_a_worker():
    env = {"TF_CONFIG": tf_config(["127.0.0.1:1"], "worker", 0, chief="127.0.0.1:3")}
    assert distribute.role("multi-worker", env).chief is False
    env = {"TF_CONFIG": tf_config(["127.0.0.1:1"], "chief", 0, chief="127.0.0.1:3")}
    chief = distribute.role("multi-worker", env)
    assert (chief.chief, chief.task, chief.workers) == (True, "chief:0", 2)


def test_none_and_mirrored_need_no_cluster():
    assert distribute.role("none", {}) == distribute.Role("none", "local", 1, True)
    assert distribute.role("mirrored", {"TF_CONFIG": "not read"}).workers == 1


@pytest.mark.parametrize(
    "env, says",
    [
        ({}, "needs TF_CONFIG"),
        ({"TF_CONFIG": "{not json"}, "not a cluster description"),
        ({"TF_CONFIG": json.dumps({"cluster": {"worker": ["a:1"]}})}, "not a cluster description"),
        ({"TF_CONFIG": tf_config(["a:1", "b:2"], "worker", 2)}, "task worker:2 is not in the cluster"),
    ],
)
def test_bad_tf_config_is_a_usage_problem(env, says):
    with pytest.raises(UsageProblem, match=says):
        distribute.role("multi-worker", env)


def test_cli_rejects_multi_worker_without_tf_config_before_loading_anything(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    data = write_idx_folder(tmp_path / "mnist")
    result = CliRunner().invoke(
        cli_module.cli,
        ["train", "--data", str(data), "--distribute", "multi-worker", "--out", str(tmp_path / "m.keras")],
    )
    assert result.exit_code == 2
    assert "needs TF_CONFIG" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m.keras").exists()


def test_replicas_needs_mirrored(tmp_path):
    result = CliRunner().invoke(cli_module.cli, ["train", "--replicas", "2", "--out", str(tmp_path / "m.keras")])
    assert result.exit_code == 2 and "--replicas goes with --distribute mirrored" in result.output


# --- real training in subprocesses (a strategy must be made before TensorFlow starts) ---------------

pytest.importorskip("tensorflow")
# Adam at a constant 0.001: at dense's default (0.002, cosine) one epoch on these 4,000 faint images
# swings with the seed alone (one process, seeds 0-3: 95.3, 93.4, 93.5, 96.7%), too much for a
# 1-point comparison. On real MNIST the defaults agree: 2 epochs, one process 96.49%, mirrored x2 96.56%.
ARGS = [
    "--limit",
    "4000",
    "--validation-size",
    "500",
    "--batch-size",
    "64",
    "--lr",
    "0.001",
    "--schedule",
    "constant",
    "--no-onnx",
    "-q",
]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    # Faint, noisy digits: one epoch lands near 92%, so a wrong split or a lost gradient would show.
    return write_idx_folder(tmp_path_factory.mktemp("dist") / "mnist", n_train=4000, n_test=1000, ink=42, noise=60)


def digitcli(*args, env=None, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "digitcli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        **kwargs,
    )


def finish(proc, timeout=TIMEOUT):
    stdout, stderr = proc.communicate(timeout=timeout)
    return proc.returncode, stdout, stderr


def accuracy_of(model, data):
    result = CliRunner().invoke(
        cli_module.cli, ["evaluate", str(model), "--data", str(data), "--format", "json", "--backend", "keras"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["accuracy"]


@pytest.fixture(scope="module")
def single(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "m.keras"
    start = time.perf_counter()
    code, _, stderr = finish(digitcli("train", "--data", str(data), "--epochs", "1", "--out", str(out), *ARGS))
    assert code == 0, stderr[-2000:]
    return {"out": out, "wall": time.perf_counter() - start, "accuracy": accuracy_of(out, data)}


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def readme_cluster():
    """The two-worker example (docs/distribute.md): (TF_CONFIG, digitcli arguments) for each worker."""
    from docpages import marked_block

    commands = []
    for line in marked_block("example:two-workers"):
        assignment, program, *args = shlex.split(line)
        assert assignment.startswith("TF_CONFIG=") and program == "digitcli"
        commands.append((assignment.removeprefix("TF_CONFIG="), args))
    return commands


def _with(args, option, value):
    args = list(args)
    args[args.index(option) + 1] = value
    return args


def start_cluster(data, out, tmp_path, epochs, *extra):
    """The documented two workers on free ports, training `data` into `out`; each has its own TMPDIR so
    its cleanup can be checked. Returns (chief, worker) processes."""
    ports = free_ports(2)
    procs = []
    for index, (config, args) in reversed(list(enumerate(readme_cluster()))):
        config = config.replace("12345", str(ports[0])).replace("12346", str(ports[1]))
        assert json.loads(config)["task"]["index"] == index
        tmp = tmp_path / f"tmp{index}"
        tmp.mkdir(exist_ok=True)
        args = _with(_with(_with(args, "--data", str(data)), "--out", str(out)), "--epochs", str(epochs))
        procs.append(digitcli(*args, *ARGS, *extra, env={"TF_CONFIG": config, "TMPDIR": str(tmp)}))
    return procs[1], procs[0]


@pytest.mark.slow
def test_mirrored_over_two_cpu_devices_matches_one_process(data, tmp_path, single):
    out = tmp_path / "m.keras"
    code, stdout, stderr = finish(
        digitcli(
            "train",
            "--data",
            str(data),
            "--epochs",
            "1",
            "--out",
            str(out),
            "--distribute",
            "mirrored",
            "--replicas",
            "2",
            *ARGS,
        )
    )
    assert code == 0, stderr[-2000:]
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["distribution"] == {"strategy": "mirrored", "replicas": 2, "workers": 1}
    assert "2 replicas of 32-image batches" in stderr
    assert abs(accuracy_of(out, data) - single["accuracy"]) <= 0.01


@pytest.mark.slow
def test_two_workers_train_and_only_the_chief_saves(data, tmp_path, single):
    out = tmp_path / "out" / "m.keras"
    start = time.perf_counter()
    chief, worker = start_cluster(data, out, tmp_path, 1)
    (c_code, c_out, c_err), (w_code, w_out, w_err) = finish(chief), finish(worker)
    wall = time.perf_counter() - start
    assert (c_code, w_code) == (0, 0), c_err[-2000:] + w_err[-2000:]
    assert "wrote" in c_out and "worker:1 wrote nothing" in w_out
    assert sorted(p.name for p in out.parent.iterdir()) == ["m.history.csv", "m.json", "m.keras"]
    assert not any((tmp_path / "tmp1").iterdir()), "the worker left its temporary folder behind"
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["distribution"] == {"strategy": "multi-worker", "replicas": 2, "workers": 2}
    assert [row["epoch"] for row in meta["history"]] == [1]
    accuracy = accuracy_of(out, data)
    assert abs(accuracy - single["accuracy"]) <= 0.01, (accuracy, single["accuracy"])
    # Figures for the docs and the issue note (pytest -s shows them).
    print(
        f"\ntwo workers: {100 * accuracy:.2f}% in {wall:.1f} s wall ({meta['train_seconds']:.1f} s training); "
        f"one process: {100 * single['accuracy']:.2f}% in {single['wall']:.1f} s wall"
    )


@pytest.mark.slow
def test_a_killed_worker_stops_the_chief_clearly_and_resume_finishes(data, tmp_path):
    out = tmp_path / "m.keras"
    log = tmp_path / ".m.keras.train" / "history.csv"
    chief, worker = start_cluster(data, out, tmp_path, 6)
    deadline = time.monotonic() + TIMEOUT
    while not (log.exists() and len(log.read_text().splitlines()) >= 3):  # header and two epochs
        assert time.monotonic() < deadline and chief.poll() is None, "the cluster did not train"
        time.sleep(0.1)
    worker.kill()
    finish(worker)
    killed = time.monotonic()
    code, stdout, stderr = finish(chief, timeout=120)
    assert code == 1, stderr[-2000:]
    assert "another worker stopped responding" in stderr and "--resume" in stderr
    assert "Traceback" not in stderr and stdout == ""
    print(f"\nchief stopped {time.monotonic() - killed:.1f} s after the worker was killed")
    assert not out.exists() and log.exists()

    chief, worker = start_cluster(data, out, tmp_path, 6, "--resume")
    (c_code, _, c_err), (w_code, _, w_err) = finish(chief), finish(worker)
    assert (c_code, w_code) == (0, 0), c_err[-2000:] + w_err[-2000:]
    meta = json.loads(out.with_suffix(".json").read_text())
    assert [row["epoch"] for row in meta["history"]] == [1, 2, 3, 4, 5, 6]
    assert meta["resumed"] is True


@pytest.mark.slow
def test_a_killed_chief_stops_the_worker_clearly(data, tmp_path):
    out = tmp_path / "m.keras"
    log = tmp_path / ".m.keras.train" / "history.csv"
    chief, worker = start_cluster(data, out, tmp_path, 6)
    deadline = time.monotonic() + TIMEOUT
    while not (log.exists() and len(log.read_text().splitlines()) >= 2):
        assert time.monotonic() < deadline and worker.poll() is None, "the cluster did not train"
        time.sleep(0.1)
    chief.kill()
    finish(chief)
    code, stdout, stderr = finish(worker, timeout=120)
    assert code == 1, stderr[-2000:]
    assert "worker:1: another worker stopped responding" in stderr and "Traceback" not in stderr
    assert not any((tmp_path / "tmp1").iterdir()), "the worker left its temporary folder behind"
