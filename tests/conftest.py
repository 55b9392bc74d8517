"""Shared fixtures: small MNIST-format files written on the fly, and the real data when present."""

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DENSE = ROOT / "models" / "dense.keras"
SAMPLES = ROOT / "sample_digits"


def idx_bytes(array, magic=None):
    array = np.asarray(array, dtype=np.uint8)
    magic = magic if magic is not None else 0x800 + array.ndim
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape) + array.tobytes()


def synthetic_digits(n, seed=0, ink=220, noise=20):
    """Learnable stand-ins for digits: class k is a fixed random blob pattern plus noise. Less ink
    and more noise make them harder (distribution tests want accuracy short of 100%)."""
    rng = np.random.default_rng(seed)
    prototypes = np.random.default_rng(1234).random((10, 28, 28)) ** 3
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = prototypes[labels] * ink + rng.normal(0, noise, (n, 28, 28))
    return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.uint8)


def write_idx_folder(folder, n_train=300, n_test=100, gz=True, names="dashed", seed=0, **look):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    x_train, y_train = synthetic_digits(n_train, seed, **look)
    x_test, y_test = synthetic_digits(n_test, seed + 1, **look)
    sep = "-" if names == "dashed" else "."
    files = {
        f"train-images{sep}idx3-ubyte": x_train,
        f"train-labels{sep}idx1-ubyte": y_train,
        f"t10k-images{sep}idx3-ubyte": x_test,
        f"t10k-labels{sep}idx1-ubyte": y_test,
    }
    for name, arr in files.items():
        data = idx_bytes(arr)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def tiny_mnist(tmp_path):
    return write_idx_folder(tmp_path / "mnist")


@pytest.fixture
def real_data():
    path = os.environ.get("DIGITCLI_DATA")
    if not path or not Path(path).exists():
        pytest.skip("real MNIST not available (set DIGITCLI_DATA)")
    return Path(path).resolve()  # CI gives ../shared/data/mnist: tests run commands in other folders


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch):
    # Tests choose their data and model explicitly; the developer's environment must not leak in.
    monkeypatch.delenv("DIGITCLI_MODEL", raising=False)


def sample_labels():
    import csv

    with open(SAMPLES / "labels.csv") as fh:
        return {row["file"]: int(row["label"]) for row in csv.DictReader(fh)}


class CommandPickle:
    """A pickle that runs a shell command when loaded: digitcli must refuse it without running it."""

    def __reduce__(self):
        return (os.system, ("touch PWNED_BY_PICKLE",))


class NearestSample:
    """A fake predictor, as simonw/llm's tests use a mock model: it reads a digit as the class of the
    nearest of the sample digits, with probabilities that fall with the distance. It spares the CLI
    tests the shipped models and onnxruntime, and reads every sample digit correctly (confidence
    below 1), so a test of reading, formats or labels fails only for the CLI's own reasons. Like a
    calibrated model it is sure of what is near a sample (a photo of one: about 0.99) and unsure of
    what is near none, so the not-a-digit check treats its readings as it treats a real model's."""

    backend = "fake"

    def __init__(self):
        names = sorted(sample_labels())
        self.samples = np.stack([np.loadtxt(SAMPLES / n, delimiter=",").ravel() / 255 for n in names])
        self.labels = np.array([sample_labels()[n] for n in names])

    def probabilities(self, images):
        x = np.asarray(images, dtype=np.float64).reshape(len(images), 784) / 255
        distance = ((x[:, None, :] - self.samples[None]) ** 2).sum(-1)
        nearest = np.stack([distance[:, self.labels == d].min(axis=1) for d in range(10)], axis=1)
        # A sample is 30 or more from every other digit's samples (squared pixel distance, pixels 0-1).
        scores = np.exp(-(nearest - nearest.min(axis=1, keepdims=True)) / 4)
        return (scores / scores.sum(axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def fake_predictor(monkeypatch):
    """Every command predicts with NearestSample, whatever --model says."""
    from digitcli.inference import predictors

    monkeypatch.setattr(
        predictors, "load_predictor", lambda model, backend="auto", note=None, calibrated=True: NearestSample()
    )


# What digitcli prints when it hides a bug from a user: the last-resort line of DigitcliGroup.invoke,
# and the per-input line of reading.sources.unreadable for an error no reader foresaw.
BUG_SIGNS = ("Traceback", "(a bug in digitcli", ": cannot be read (")


@pytest.fixture(autouse=True)
def _bugs_raise(monkeypatch):
    # With DIGITCLI_DEBUG the last-resort catch re-raises, so an unexpected exception reaches the test
    # (and a subprocess prints its traceback) instead of becoming one polite line.
    monkeypatch.setenv("DIGITCLI_DEBUG", "1")


def assert_no_bug(result):
    """A CliRunner result that shows no sign of a bug: no exception but Click's own exit, and none of
    the lines digitcli prints in place of a traceback. Any exit status may be right; callers check it."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception),
        result.output[-2000:],
    )
    shown = [sign for sign in BUG_SIGNS if sign in result.output]
    assert not shown, (shown, result.output[-2000:])
    return result


def invoke(*args, stdin=None):
    """Invoke digitcli in-process with `args` (any values, made strings), failing on any sign of a bug."""
    from click.testing import CliRunner

    from digitcli.cli import cli

    return assert_no_bug(CliRunner().invoke(cli, [str(a) for a in args], input=stdin))


def cli_run(*args, code=0, stdin=None):
    """invoke(), and the exit status must be `code`."""
    result = invoke(*args, stdin=stdin)
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result
