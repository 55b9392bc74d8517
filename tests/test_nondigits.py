"""'Not a digit': dots, dashes, scribbles and ruled paper read as "-" with a reason, in every reader
(predict-csv, predict-image, the API), while the sample digits and MNIST's are read as before."""

import io
import json
import sys

import numpy as np
import pytest
from conftest import ROOT, SAMPLES
from conftest import cli_run as run
from PIL import Image, ImageDraw

from digitcli.reading import nondigit

sys.path.insert(0, str(ROOT / "tests" / "bench"))
import nondigit_set  # noqa: E402

ROBUST = ROOT / "models" / "robust.keras"


def field(draw_on):
    """A 28 x 28 MNIST-style field (uint8, ink 255) drawn by `draw_on(ImageDraw)`."""
    image = Image.new("L", (28, 28), 0)
    draw_on(ImageDraw.Draw(image))
    return np.asarray(image)


SURE = np.eye(10)[3] * 0.999 + 0.0001  # a model that is sure it sees a 3


def test_each_reason_on_hand_made_fields():
    disc = field(lambda d: d.ellipse([4, 4, 23, 23], fill=255))
    bar = field(lambda d: d.rectangle([4, 12, 23, 15], fill=255))
    grid = field(lambda d: [d.line(c, fill=255, width=2) for c in ([4, 9, 23, 9], [4, 17, 23, 17], [9, 4, 9, 23])])
    one = field(lambda d: d.line([14, 4, 14, 23], fill=255, width=3))
    assert nondigit.reason(disc, SURE) == "no stroke structure (a dot or blob)"
    assert nondigit.reason(bar, SURE) == "no stroke structure (a dash or line)"
    assert nondigit.holes(grid > 127) == 0  # open at the sides
    boxes = field(lambda d: [d.rectangle(b, outline=255, width=2) for b in ([4, 4, 13, 13], [14, 4, 23, 13])] + [
        d.rectangle([4, 14, 23, 23], outline=255, width=2)])  # fmt: skip
    assert nondigit.holes(boxes > 127) == 3
    assert nondigit.reason(boxes, SURE) == "scribbled or crossed out"
    assert nondigit.reason(one, SURE) is None
    unsure = np.full(10, 0.1)
    assert nondigit.reason(one, unsure) == "unlike any digit (confidence 0.10)"
    small = {"extent": 0.05, "thinness": 2.0}
    assert nondigit.reason(one, SURE, small) == "too small for the page (the ink spans 5% of it)"
    ruled = {"extent": 1.0, "thinness": 140.0}
    assert nondigit.reason(one, SURE, ruled) == "no stroke structure (long thin lines, as on ruled paper)"
    assert nondigit.reasons([one, disc], [SURE, SURE]) == [None, "no stroke structure (a dot or blob)"]


def test_page_measures_see_what_the_mnist_scaling_hides():
    mask = np.zeros((280, 280), dtype=bool)
    yy, xx = np.mgrid[:280, :280]
    mask[(yy - 100) ** 2 + (xx - 140) ** 2 <= 8**2] = True  # a pen dot, 17 pixels across
    measures = nondigit.page_measures(mask, mask.shape)
    assert measures["extent"] == pytest.approx(17 / 280)
    assert measures["thinness"] == pytest.approx(2, abs=0.3)


def png(page):
    buf = io.BytesIO()
    Image.fromarray(page).save(buf, "PNG")
    return buf.getvalue()


def read_drawn(kind, per_kind=20):
    from digitcli.errors import InputFileError
    from digitcli.inference.predictors import load_predictor
    from digitcli.reading import pipeline

    predictor = pipeline.Remembered(load_predictor(ROBUST, "onnx"))
    out = []
    for page in nondigit_set.pages(per_kind, seed=1)[kind]:
        try:
            found, batch = pipeline.read_body(png(page), "image/png", read=predictor.network_probabilities)
        except InputFileError:
            out.append(None)  # no ink found at all: refused before any reading
            continue
        out.append(pipeline.predict(batch, predictor, found)[0][0])
    return out


@pytest.mark.parametrize("kind,least", [("dot", 1.0), ("dash", 0.9), ("lined-paper", 1.0), ("scribble", 0.2)])
def test_drawn_non_digits_are_refused(kind, least):
    records = read_drawn(kind)
    refused = [r is None or "reason" in r for r in records]
    assert np.mean(refused) >= least, [r and (r["prediction"], r.get("reason")) for r in records]
    for r in records:
        if r is not None and "reason" in r:
            assert r["reason"].startswith("not a digit: ") and "-" in r["prediction"]


def test_sample_digits_and_photos_are_all_read():
    rows = [json.loads(line) for line in run("predict-csv", SAMPLES, "--format", "json").stdout.splitlines()]
    assert len(rows) == 40 and not [r for r in rows if "reason" in r or r["prediction"] == "-"]
    out = run("predict-image", SAMPLES / "photo_7.png", SAMPLES / "number_2025.jpg", "--format", "json").stdout
    assert [json.loads(line)["prediction"] for line in out.splitlines()] == ["7", "2025"]
    assert "reason" not in out


def test_a_dot_on_the_page_is_not_a_zero_unless_allowed(tmp_path):
    page = np.full((280, 280), 255, dtype=np.uint8)
    yy, xx = np.mgrid[:280, :280]
    page[(yy - 120) ** 2 + (xx - 150) ** 2 <= 9**2] = 0
    (tmp_path / "dot.png").write_bytes(png(page))
    record = json.loads(run("predict-image", tmp_path / "dot.png", "--format", "json").stdout)
    assert record["prediction"] == "-"
    # The dot is 19 of 280 pixels across; its ink mask a pixel or two less.
    assert record["reason"] in [f"not a digit: too small for the page (the ink spans {k}% of it)" for k in (6, 7)]
    table = run("predict-image", tmp_path / "dot.png").stdout
    assert table.splitlines()[0].split()[-1] == "reason" and "not a digit" in table
    allowed = json.loads(run("predict-image", tmp_path / "dot.png", "--format", "json", "--allow-nondigits").stdout)
    assert allowed["prediction"] in list("0123456789") and "reason" not in allowed


def test_predict_csv_refuses_a_blob_and_a_dash_with_exit_0(tmp_path):
    disc = field(lambda d: d.ellipse([4, 4, 23, 23], fill=255))
    bar = field(lambda d: d.rectangle([4, 12, 23, 15], fill=255))
    (tmp_path / "two.csv").write_text("\n".join(",".join(map(str, im.ravel())) for im in (disc, bar)) + "\n")
    rows = [json.loads(x) for x in run("predict-csv", tmp_path / "two.csv", "--format", "json").stdout.splitlines()]
    assert [r["prediction"] for r in rows] == ["-", "-"]
    assert [r["reason"] for r in rows] == [
        "not a digit: no stroke structure (a dot or blob)",
        "not a digit: no stroke structure (a dash or line)",
    ]
    allowed = run("predict-csv", tmp_path / "two.csv", "--format", "json", "--allow-nondigits").stdout
    assert all(isinstance(json.loads(x)["prediction"], int) for x in allowed.splitlines())
    kaggle = run("predict-csv", tmp_path / "two.csv", "--format", "kaggle").stdout  # a digit for every image
    assert all(line.split(",")[1].isdigit() for line in kaggle.splitlines()[1:])


def test_the_api_says_not_a_digit_and_can_be_told_otherwise():
    from starlette.testclient import TestClient

    from digitcli.inference.modelfile import ModelFile
    from digitcli.inference.predictors import load_predictor
    from digitcli.serve.app import create_app

    client = TestClient(create_app(ModelFile.open(ROBUST), load_predictor(ROBUST, "onnx")))
    body = png(nondigit_set.pages(1, seed=3)["dot"][0])
    record = client.post("/api/predict", content=body, headers={"Content-Type": "image/png"}).json()["records"][0]
    assert record["prediction"] == "-" and record["reason"].startswith("not a digit: too small for the page")
    allowed = client.post("/api/predict?allow_nondigits=1", content=body, headers={"Content-Type": "image/png"}).json()[
        "records"
    ][0]
    assert allowed["prediction"].isdigit() and "reason" not in allowed


def test_at_most_half_a_percent_of_mnist_test_digits_are_refused(real_data):
    from digitcli.data.datasets import load_raw
    from digitcli.inference.predictors import load_predictor

    raw = load_raw(str(real_data))
    probabilities = load_predictor(ROBUST, "onnx").probabilities(raw.x_test)
    refused = sum(r is not None for r in nondigit.reasons(raw.x_test, probabilities))
    assert refused / len(raw.x_test) <= 0.005
