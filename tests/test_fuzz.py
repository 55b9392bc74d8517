"""Property-based fuzzing with Hypothesis: whatever bytes a user hands digitcli as a digit CSV, a labels
file, a training history or an image, the command exits with 0, 1 or 2, prints no traceback, and
changes no file except its own outputs."""

import hashlib
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import ROOT, SAMPLES

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from digitcli.cli import cli  # noqa: E402

MODEL = ROOT / "models" / "dense.keras"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TOKENS = st.sampled_from(
    [
        "0",
        "255",
        "17",
        "-3",
        "256",
        "1e3",
        "0.5",
        "nan",
        "inf",
        "",
        " ",
        "x",
        '"7"',
        "18446744073709551616",
        "label",
        "pixel0",
        "\ufeff",
        "\x00",
        "é",
    ]
)
SEPARATORS = st.sampled_from([",", ";", "\t", " ", ",,"])


@st.composite
def csv_texts(draw):
    """Near-misses of real layouts (28 x 28, rows of 784 or 785) with cells swapped for odd tokens,
    and plain junk."""
    if draw(st.booleans()):
        return draw(st.text(max_size=3000))
    rows, cols = draw(st.sampled_from([(28, 28), (1, 784), (2, 785), (3, 784), (27, 28), (28, 29)]))
    sep = draw(SEPARATORS)
    cells = [["0"] * cols for _ in range(rows)]
    for _ in range(draw(st.integers(0, 6))):
        cells[draw(st.integers(0, rows - 1))][draw(st.integers(0, cols - 1))] = draw(TOKENS)
    header = draw(st.sampled_from(["", "label," + ",".join(f"pixel{i}" for i in range(784)) + "\n"]))
    return header + "\n".join(sep.join(r) for r in cells) + draw(st.sampled_from(["", "\n", "\n\n", sep]))


def snapshot(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in Path(folder).rglob("*")
        if p.is_file()
    }


def check(args, folder, outputs=()):
    """Run digitcli; exit status <= 2, no traceback, nothing but `outputs` changed under `folder`."""
    before = {k: v for k, v in snapshot(folder).items() if not k.startswith(tuple(outputs))}
    model_before = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output[-2000:], repr(result.exception))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    after = {k: v for k, v in snapshot(folder).items() if not k.startswith(tuple(outputs))}
    assert after == before
    assert hashlib.sha256(MODEL.read_bytes()).hexdigest() == model_before
    return result


@FUZZ
@given(text=csv_texts())
def test_any_csv_text(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.csv"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        result = check(["predict-csv", path, SAMPLES / "digit3_1.csv", "--model", MODEL, "--format", "json"], tmp)
        # The good file beside it is always read.
        last = json.loads(result.stdout.splitlines()[-1])
        assert (last["row"], last["prediction"]) == (1, 3) and last["confidence"] > 0.999


@FUZZ
@given(data=st.binary(max_size=4000))
def test_any_csv_bytes(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.csv"
        path.write_bytes(data)
        check(["predict-csv", path, "--model", MODEL], tmp)


LABEL_CELLS = st.sampled_from(
    ["3", "8", "12", "-1", "three", "", " 3 ", "digit3_1.csv", "file", "label", "row", "1", "0", "\ufeff", "é", '"3"']
)


@st.composite
def labels_texts(draw):
    if draw(st.booleans()):
        return draw(st.text(max_size=500))
    lines = [draw(st.sampled_from(["file,label", "file,label,row", "label,file", "\ufefffile,label", "a,b", ""]))]
    for _ in range(draw(st.integers(0, 5))):
        lines.append(",".join(draw(LABEL_CELLS) for _ in range(draw(st.integers(1, 4)))))
    return "\n".join(lines)


@FUZZ
@given(text=labels_texts(), photo=st.booleans())
def test_any_labels_file(text, photo):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "labels.csv"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        command = ["predict-image", SAMPLES / "photo_7.png"] if photo else ["predict-csv", SAMPLES / "digit3_1.csv"]
        check([*command, "--model", MODEL, "--labels", path], tmp)


HISTORY_CELLS = st.sampled_from(["1", "2", "0.5", "nan", "", "NA", "x", "epoch", "accuracy", "-1", "1e400"])


@st.composite
def histories(draw):
    kind = draw(st.sampled_from(["csv", "json", "junk"]))
    if kind == "junk":
        return draw(st.sampled_from([".csv", ".json"])), draw(st.text(max_size=500))
    if kind == "csv":
        header = draw(st.sampled_from(["epoch,accuracy,loss", "accuracy,loss", "epoch", "epoch,val_accuracy"]))
        rows = [
            ",".join(draw(HISTORY_CELLS) for _ in range(draw(st.integers(1, 4))))
            for _ in range(draw(st.integers(0, 4)))
        ]
        return ".csv", "\n".join([header, *rows])
    value = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=5))
    row = st.dictionaries(st.sampled_from(["epoch", "accuracy", "loss", "val_accuracy"]), value, max_size=4)
    history = st.one_of(st.lists(row, max_size=4), st.lists(value, max_size=3), value, row)
    import json

    return ".json", json.dumps(draw(st.fixed_dictionaries({"history": history}, optional={"name": value})))


@FUZZ
@given(history=histories())
def test_any_history_file(history):
    suffix, text = history
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"h{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        check(["plot", path, "--out", Path(tmp) / "plots"], tmp, outputs=("plots",))


def _png(array):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


@st.composite
def image_bytes(draw):
    kind = draw(st.sampled_from(["junk", "truncated", "png"]))
    if kind == "junk":
        return draw(st.binary(max_size=2000))
    size = (draw(st.integers(1, 80)), draw(st.integers(1, 80)))
    dtype = draw(st.sampled_from([np.uint8, np.uint16]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    top = 255 if dtype == np.uint8 else 65535
    array = (rng.random(size) ** draw(st.sampled_from([1, 8, 0.1])) * top).astype(dtype)
    data = _png(array)
    if kind == "truncated":
        data = data[: draw(st.integers(8, max(8, len(data) - 1)))]
    return data


@FUZZ
@given(data=image_bytes())
def test_any_image_bytes(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "photo.png"
        path.write_bytes(data)
        check(["predict-image", path, "--model", MODEL], tmp)
        check(["prepare", path, "-o", Path(tmp) / "prepared"], tmp, outputs=("prepared",))
