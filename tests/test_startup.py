"""--help must be instant: no TensorFlow, Keras or matplotlib on the way to it."""

import subprocess
import sys

import pytest

from digitcli.cli import cli  # light: the first case below checks what it imports

HEAVY = ("tensorflow", "keras", "matplotlib", "onnxruntime", "pandas", "PIL", "scipy")
# Every command, read from the CLI itself so that a new one (serve was left out) is checked too.
COMMANDS = [[]] + [[name] for name in sorted(cli.commands)]
assert {"serve", "train", "predict-image"} <= set(cli.commands)

PROBE = """
import sys
from digitcli.cli import cli
try:
    cli(sys.argv[1:] + ["--help"], prog_name="digitcli")
except SystemExit as exc:
    assert exc.code == 0, exc.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
print("HEAVY:" + ",".join(heavy))
"""


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "digitcli")
def test_help_imports_nothing_heavy(command):
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=set(HEAVY)), *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "Usage: digitcli" in out
    assert out.strip().endswith("HEAVY:"), out.splitlines()[-1]


def test_python_dash_m_runs_the_cli():
    out = subprocess.run(
        [sys.executable, "-m", "digitcli", "--version"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    from digitcli import __version__

    assert out.strip() == f"digitcli, version {__version__}"


def test_help_shows_defaults_and_environment_variables():
    import re

    from click.testing import CliRunner

    from digitcli.cli import cli

    out = " ".join(CliRunner().invoke(cli, ["train", "--help"]).output.split())
    assert re.search(
        r"--epochs INTEGER RANGE \[default: 10 for dense, 1 for cnn, 10 for keras-convnet, "
        r"10 for book-cnn, 10 for bn-cnn\] \[x>=1\]",
        out,
    )
    assert re.search(
        r"--batch-size INTEGER RANGE Global batch size\. \[default: 256 for dense, 256 for cnn, "
        r"64 for keras-convnet, 64 for book-cnn, 256 for bn-cnn\] \[x>=1\]",
        out,
    )
    assert re.search(
        r"\[default: cosine for dense, onecycle for cnn, constant for keras-convnet, "
        r"constant for book-cnn, onecycle for bn-cnn\]",
        out,
    )
    assert re.search(
        r"--hidden N,N,\.\.\. Hidden Dense layer sizes\. \[default: 400,100 for dense, 512 for cnn, "
        r"none for keras- ?convnet, 100 for book-cnn, 256 for bn-cnn\]",
        out,
    )
    assert re.search(r"--data PATH .*\[env var: DIGITCLI_DATA\]", out)
    out = " ".join(CliRunner().invoke(cli, ["predict-csv", "--help"]).output.split())
    assert re.search(
        r"--model PATH Model file; give --model again for an ensemble \(probabilities averaged\)\. "
        r"\[default: models/robust\.keras\] \[env var: DIGITCLI_MODEL\]",
        out,
    )


def _run(*args, cwd=None):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITCLI_")}
    return subprocess.run(
        [sys.executable, "-m", "digitcli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=env,
    )


@pytest.mark.slow  # trains, in subprocesses
@pytest.mark.real_model
def test_loading_tensorflow_prints_nothing_but_what_digitcli_says(tmp_path):
    pytest.importorskip("tensorflow")
    from conftest import ROOT, SAMPLES, write_idx_folder

    data = write_idx_folder(tmp_path / "mnist", n_train=60, n_test=20)
    result = _run("evaluate", ROOT / "models" / "cnn.keras", "--data", data, "--backend", "keras", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no absl or oneDNN notices
    trained = _run(
        "train",
        "--data",
        data,
        "--validation-size",
        20,
        "--epochs",
        1,
        "--hidden",
        4,
        "--no-onnx",
        "-q",
        "--out",
        tmp_path / "m.keras",
    )
    assert trained.returncode == 0 and trained.stderr == "", trained.stderr
    predicted = _run("predict-csv", SAMPLES / "digit3_1.csv", "--model", tmp_path / "m.keras")
    assert predicted.returncode == 0
    # No ONNX twin: Keras is used, and says so, in one line.
    assert predicted.stderr.splitlines() == [
        f"note: not using {tmp_path / 'm.onnx'} (no ONNX export); predicting with Keras, which takes seconds to "
        f"start. `digitcli export {tmp_path / 'm.keras'}` makes a fresh one."
    ]


@pytest.mark.slow  # TensorFlow in a subprocess
@pytest.mark.real_model
def test_the_keras_download_talks_on_stderr_only(tmp_path):
    pytest.importorskip("tensorflow")
    from conftest import ROOT

    result = _run("evaluate", ROOT / "models" / "cnn.keras", cwd=tmp_path)  # no --data: Keras' download
    assert result.stdout == ""  # "Downloading data from ..." once came out here
    if result.returncode == 0:
        pytest.skip("this machine can download MNIST")
    assert result.stderr.strip().splitlines()[-1].startswith("Error: could not download MNIST through Keras")


def test_shell_completion_for_bash_zsh_and_fish():
    import os

    def complete(**env):
        return subprocess.run(
            [sys.executable, "-m", "digitcli"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **env},
            check=True,
        ).stdout

    for shell in ("bash", "zsh", "fish"):
        assert "_DIGITCLI_COMPLETE" in complete(_DIGITCLI_COMPLETE=f"{shell}_source")
    words = complete(_DIGITCLI_COMPLETE="bash_complete", COMP_WORDS="digitcli pre", COMP_CWORD="1").split()
    assert words == ["plain,predict-csv", "plain,predict-image", "plain,prepare", "plain,presets"]
    models = complete(_DIGITCLI_COMPLETE="bash_complete", COMP_WORDS="digitcli train --model ", COMP_CWORD="3")
    assert models.split() == ["plain,dense", "plain,cnn", "plain,keras-convnet", "plain,book-cnn", "plain,bn-cnn"]
