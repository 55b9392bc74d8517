"""Model files with forged metadata (issue 26): every stored setting is checked as strictly as train's
options, so `evaluate`, `train --from` and `serve` refuse a forged file by name and field (exit 1),
never with a last-resort "unexpected ..." message, and never train with a setting no option allows."""

import json
import math
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SHIPPED_DENSE, write_idx_folder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digitcli import settings as choices
from digitcli.cli import cli
from digitcli.inference.modelfile import META_ENTRY

COMMANDS = ("evaluate", "train --from", "serve")
# The calibration is read by every command that predicts, and rewritten by calibrate.
CALIBRATION_COMMANDS = ("evaluate", "serve", "predict-csv", "calibrate")
SAMPLE = Path(__file__).resolve().parents[1] / "sample_digits" / "digit3_1.csv"


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A real .keras file written once (the shipped dense model) and tiny data for the commands."""
    folder = tmp_path_factory.mktemp("forged")
    real = shutil.copy(SHIPPED_DENSE, folder / "real.keras")
    return folder, real, write_idx_folder(folder / "mnist", n_train=60, n_test=20)


def forge(real, out, change):
    """A copy of `real` whose digitcli.json is `change(metadata)`, every other entry as it was."""
    with zipfile.ZipFile(real) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            if item.filename != META_ENTRY:
                zout.writestr(item, zin.read(item.filename))
        meta = change(json.loads(zin.read(META_ENTRY)))
        zout.writestr(META_ENTRY, json.dumps(meta))
    return out


def run(command, path, data, out, monkeypatch):
    """One command on the model file `path`. serve opens the model and builds its app as the real
    server does, then asks the app for /api/model instead of handing it to uvicorn's loop."""
    from digitcli.serve import server

    def serve_once(model_path, host, port, backend, note, teach=None):
        from starlette.testclient import TestClient

        from digitcli.inference.modelfile import ModelFile
        from digitcli.inference.predictors import load_predictor
        from digitcli.serve.app import create_app

        model_file = ModelFile.open(model_path)
        app = create_app(model_file, load_predictor(model_file, backend, note=note))
        answer = TestClient(app, raise_server_exceptions=True).get("/api/model")
        assert answer.status_code == 200 and answer.json()["file"] == model_file.path.name

    monkeypatch.setattr(server, "serve", serve_once)
    args = {
        "evaluate": ["evaluate", path, "--data", data],
        "train --from": ["train", "--from", path, "--data", data, "--epochs", 1, "-q", "--out", out],
        "serve": ["serve", "--model", path],
        "predict-csv": ["predict-csv", "--model", path, SAMPLE],
        "calibrate": ["calibrate", path, "--data", data, "--validation-size", 10],
    }[command]
    return CliRunner().invoke(cli, [str(a) for a in args])


# Values that no option of train accepts, by the kind of setting (none of them is ever valid there).
anything_else = st.one_of(
    st.text(max_size=12), st.lists(st.integers(), max_size=3), st.dictionaries(st.text(), st.integers(), max_size=2)
)
not_finite = st.sampled_from([math.nan, math.inf, -math.inf])


def named(names):
    return st.one_of(st.text(max_size=12).filter(lambda t: t not in names), st.integers(), st.booleans(), st.none())


def whole(low, high=None, optional=False):
    bad = [st.integers(max_value=low - 1), st.floats(), st.booleans(), anything_else]
    if high is not None:
        bad.append(st.integers(min_value=high + 1))
    return st.one_of(*bad, *([] if optional else [st.none()]))


def fraction(optional=False):  # dropout, momentum, label smoothing: [0, 1)
    return st.one_of(
        st.floats(min_value=1),
        st.floats(max_value=-1e-9),
        not_finite,
        st.booleans(),
        anything_else,
        *([] if optional else [st.none()]),
    )


STORED = {
    "model": named(choices.ARCHITECTURES),
    "activation": named(choices.ACTIVATIONS),
    "optimizer": named(choices.OPTIMIZERS),
    "loss": named(choices.LOSSES),
    "output": named(choices.OUTPUTS),
    "init": named(choices.INITS),
    "augment": named(choices.AUGMENTS),
    "encoding": named(choices.ENCODINGS),
    "schedule": named(choices.SCHEDULES).filter(lambda v: v is not None),
    "hidden": st.one_of(
        st.lists(st.text(max_size=4), min_size=1, max_size=3),
        st.lists(st.integers(max_value=0), min_size=1, max_size=3),
        st.lists(st.integers(min_value=choices.MAX_LAYER_UNITS + 1), min_size=1, max_size=2),
        st.text(max_size=8),
        st.integers(),
    ),
    "epochs": whole(1, optional=True),
    "batch_size": whole(1, optional=True),
    "limit": whole(1, optional=True),
    "seed": whole(0, 2**32 - 1),
    "validation_size": whole(0),
    "dropout": fraction(optional=True),
    "momentum": fraction(),
    "label_smoothing": fraction(),
    "l2": st.one_of(st.floats(max_value=-1e-9), not_finite, st.booleans(), anything_else, st.none()),
    "lr": st.one_of(st.floats(max_value=0), not_finite, st.booleans(), anything_else),
    "adam_betas": st.one_of(
        st.lists(st.floats(0, 0.99), max_size=4).filter(lambda b: len(b) != 2),
        st.lists(st.floats(min_value=1), min_size=2, max_size=2),
        st.text(max_size=6),
        st.integers(),
    ),
    "preset": st.one_of(st.integers(), st.lists(st.text(), max_size=2), st.booleans()),
    "init_from": st.one_of(st.integers(), st.lists(st.text(), max_size=2), st.booleans()),
}

FORGERIES = st.one_of(
    st.tuples(st.just("settings"), st.sampled_from(sorted(STORED)), st.data()),
    st.tuples(st.just("meta"), st.sampled_from(["settings", "history", "test", "architecture"]), st.data()),
)
NOT_A = {"settings": dict, "history": list, "test": dict, "architecture": str}
# A fitted temperature lies in 0.05-20; anything outside 0.01-100, or not a number, is forged.
BAD_TEMPERATURES = st.one_of(
    st.floats(max_value=0.0099),
    st.floats(min_value=100.01),
    not_finite,
    st.booleans(),
    st.none(),
    anything_else,
)
CALIBRATIONS = st.one_of(
    st.tuples(st.just("calibration"), st.one_of(st.text(max_size=6), st.integers(), st.lists(st.integers()))),
    st.tuples(st.just("temperature"), BAD_TEMPERATURES),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(forgery=CALIBRATIONS, command=st.sampled_from(CALIBRATION_COMMANDS))
def test_a_forged_calibration_is_refused_by_file_and_field(work, monkeypatch, forgery, command):
    folder, real, data = work
    field, value = forgery

    def change(meta):
        if field == "calibration":
            meta["calibration"] = value
        else:
            meta["calibration"]["temperature"] = value
        return meta

    path = forge(real, folder / "calibration.keras", change)
    before = path.read_bytes()
    result = run(command, path, data, folder / "out.keras", monkeypatch)
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert "unexpected" not in result.stderr and "Traceback" not in result.output
    assert f"{path}: its calibration" in result.stderr and field in result.stderr, result.stderr
    assert path.read_bytes() == before  # calibrate refuses it too, rather than rewriting it silently


@pytest.mark.parametrize("command", CALIBRATION_COMMANDS + ("train --from",))
def test_metadata_nested_too_deeply_is_refused(work, monkeypatch, command):
    folder, real, data = work
    path = folder / "deep.keras"
    with zipfile.ZipFile(real) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            if item.filename != META_ENTRY:
                zout.writestr(item, zin.read(item.filename))
        zout.writestr(META_ENTRY, "[" * 100_000 + "]" * 100_000)
    result = run(command, path, data, folder / "out.keras", monkeypatch)
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert result.stderr.startswith(f"Error: {path}: its {META_ENTRY} is nested too deeply"), result.stderr


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(forgery=FORGERIES, command=st.sampled_from(COMMANDS))
def test_forged_metadata_is_refused_by_file_and_field(work, monkeypatch, forgery, command):
    folder, real, data = work
    where, field, draw = forgery
    if where == "settings":
        value = draw.draw(STORED[field], label=field)

        def change(meta):
            meta["settings"][field] = value
            return meta

    else:
        kinds = [st.integers(), st.text(max_size=6), st.lists(st.integers(), max_size=2), st.none(), st.booleans()]
        value = draw.draw(st.one_of(kinds).filter(lambda v: not isinstance(v, NOT_A[field])), label=field)

        def change(meta):
            meta[field] = value
            return meta

    path = forge(real, folder / "forged.keras", change)
    result = run(command, path, data, folder / "out.keras", monkeypatch)
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert "unexpected" not in result.stderr and "Traceback" not in result.output
    assert f"{path}: its " in result.stderr and field in result.stderr, result.stderr
    assert not (folder / "out.keras").exists()


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("hidden", ["64", "32"], "its stored setting hidden is \"['64', '32']\", not a list of layer sizes"),
        ("batch_size", 0, "its stored setting batch_size is '0', not a whole number >= 1 (or null)"),
        ("epochs", "ten", "its stored setting epochs is 'ten', not a whole number >= 1 (or null)"),
        ("seed", -1, "its stored setting seed is '-1', not a whole number >= 0 and <= 4294967295"),
        ("dropout", 2, "its stored setting dropout is '2', not a number in [0, 1) (or null)"),
        ("optimizer", "bogus", "its stored setting optimizer is 'bogus', not one of adam, sgd, rmsprop, adagrad"),
        ("lr", -0.1, "its stored setting lr is '-0.1', not a number in (0, inf) (or null)"),
    ],
)
def test_the_issues_forgeries_are_named_in_words(work, field, value, said):
    folder, real, data = work

    def change(meta):
        meta["settings"][field] = value
        return meta

    path = forge(real, folder / f"{field}.keras", change)
    result = CliRunner().invoke(cli, ["evaluate", str(path), "--data", str(data)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}: {said}"), result.stderr


@pytest.mark.slow
def test_an_unforged_rewrite_still_works_everywhere(work, monkeypatch):
    """The forging above changes only the metadata: the same rewrite with it unchanged is a good model."""
    pytest.importorskip("tensorflow")
    folder, real, data = work
    path = forge(real, folder / "same.keras", lambda meta: meta)
    for command in COMMANDS:
        result = run(command, path, data, folder / "control" / "out.keras", monkeypatch)
        assert result.exit_code == 0, (command, result.output)
    assert (folder / "control" / "out.keras").exists()
