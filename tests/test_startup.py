"""--help must be instant: no TensorFlow, Keras or matplotlib on the way to it."""

import subprocess
import sys

import pytest

HEAVY = ("tensorflow", "keras", "matplotlib", "onnxruntime", "pandas")
COMMANDS = [[], ["train"], ["evaluate"], ["predict-csv"], ["plot"], ["export"]]

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
    out = subprocess.run([sys.executable, "-c", PROBE.format(heavy=set(HEAVY)), *command],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert "Usage: digitcli" in out
    assert out.strip().endswith("HEAVY:"), out.splitlines()[-1]


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "digitcli", "--version"], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    from digitcli import __version__

    assert out.strip() == f"digitcli, version {__version__}"


def test_help_shows_defaults_and_environment_variables():
    from click.testing import CliRunner

    from digitcli.cli import cli

    out = CliRunner().invoke(cli, ["train", "--help"]).output
    assert "[default: 10]" in out  # --epochs
    assert "[default: 64]" in out  # --batch-size
    assert "DIGITCLI_DATA" in out
    out = CliRunner().invoke(cli, ["predict-csv", "--help"]).output
    assert "DIGITCLI_MODEL" in out and "models/dense.keras" in out
