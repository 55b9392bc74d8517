"""Hostile names and inputs from a stranger's first try (issue: hardening): a path part longer than the
file system allows, a device or a pipe given as an input. Each is refused by name (exit 1), never with
the last-resort "unexpected ... (a bug in digitcli" line, and a device is never read at all."""

import errno
import os

import click
import pytest
from click.testing import CliRunner
from conftest import SAMPLES, SHIPPED_DENSE, cli_run

from digitcli.cliparams import DigitcliGroup

LONG = "a" * 300  # one name part over the 255 bytes any common file system allows


@pytest.mark.parametrize(
    "args",
    [
        ["predict-csv", f"{LONG}.csv"],
        ["prepare", f"{LONG}.png"],
        ["predict-csv", "--labels", f"{LONG}.csv", SAMPLES / "digit3_1.csv"],
        ["predict-csv", "--model", f"{LONG}.keras", SAMPLES / "digit3_1.csv"],
        ["evaluate", "--model", SHIPPED_DENSE, "--data", f"{LONG}.csv"],
    ],
    ids=["predict-csv", "prepare", "labels", "model", "evaluate"],
)
def test_a_name_too_long_is_refused_by_name(args, request, tmp_path, monkeypatch):
    if args[0] != "prepare" and "--model" not in args:  # the fake ignores --model and reads no photos
        request.getfixturevalue("fake_predictor")
    monkeypatch.chdir(tmp_path)
    result = cli_run(*args, code=1)
    assert "unexpected" not in result.stderr
    assert "too long" in result.stderr.lower()


def test_an_output_name_too_long_is_refused_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli_run("export", SHIPPED_DENSE, "--out", f"{'b' * 252}.onnx", code=1)
    assert "a name in this path is too long for the file system" in result.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_refused_before_it_is_read(device, fake_predictor):
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    result = cli_run("predict-csv", device, code=1)
    assert f"{device}: not a regular file" in result.stderr


def test_a_pipe_with_no_writer_is_refused_not_waited_on(tmp_path, fake_predictor):
    fifo = tmp_path / "digits.csv"
    os.mkfifo(fifo)
    result = cli_run("predict-csv", fifo, code=1)  # before the fix this blocked for ever
    assert "not a regular file" in result.stderr


@pytest.mark.parametrize(
    "args",
    [["predict-csv", "--model", "", SAMPLES / "digit3_1.csv"], ["evaluate", "--model", ""], ["evaluate", ""]],
    ids=["predict-csv", "evaluate --model", "evaluate MODEL"],
)
def test_an_empty_model_path_is_refused_not_read_as_the_default(args):
    result = cli_run(*args, code=2)
    assert "an empty path; give a .keras file, or leave the option out for the default model" in result.stderr


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (OSError(errno.ENAMETOOLONG, "File name too long", "x" * 300), "a name in this path is too long"),
        (OSError(errno.ENOSPC, "No space left on device", "out.csv"), "out.csv: no space left on the device"),
    ],
)
def test_an_os_error_naming_a_path_the_system_refused_is_a_message(error, said, monkeypatch):
    monkeypatch.delenv("DIGITCLI_DEBUG")
    result = CliRunner().invoke(_group_raising(error), ["go"])
    assert result.exit_code == 1 and said in result.stderr and "a bug in digitcli" not in result.stderr


@pytest.mark.parametrize(
    "error", [OSError(errno.EIO, "Input/output error", "f.csv"), OSError(errno.ENAMETOOLONG, "no filename")]
)
def test_any_other_os_error_is_still_a_bug(error, monkeypatch):
    monkeypatch.delenv("DIGITCLI_DEBUG")
    assert "a bug in digitcli" in CliRunner().invoke(_group_raising(error), ["go"]).stderr
    monkeypatch.setenv("DIGITCLI_DEBUG", "1")
    assert CliRunner().invoke(_group_raising(error), ["go"]).exception is error  # the traceback, for a report


def _group_raising(error):
    @click.group(cls=DigitcliGroup)
    def group():
        pass

    @group.command()
    def go():
        raise error

    return group


@pytest.mark.parametrize("length", [245, 300])
def test_train_refuses_an_output_name_too_long_before_training(length, tiny_mnist, tmp_path):
    out = tmp_path / f"{'m' * length}.keras"
    result = cli_run("train", "--data", tiny_mnist, "--epochs", 1, "--no-onnx", "-q", "--out", out, code=1)
    assert "a name in this path is too long for the file system; use a shorter one" in result.stderr
    assert not list(tmp_path.glob("mm*"))
