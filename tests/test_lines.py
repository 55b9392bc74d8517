"""Photos of several lines of digits (a list of numbers, a meter-reading card): a record per line, top
to bottom, each digit's box in the user's own pixels, in the CLI, the API and `prepare --show`.
The pages are drawn here from the sample digits, at places the tests know."""

import json

import numpy as np
import photomaker
import pytest
from conftest import SAMPLES, SHIPPED_DENSE, cli_run, sample_labels
from PIL import Image

from digitcli.photos.lines import split_lines

LABELS = sample_labels()
LINES = [["digit7_1.csv", "digit9_2.csv", "digit0_3.csv", "digit1_4.csv"], ["digit3_1.csv", "digit8_2.csv"],
         ["digit2_2.csv", "digit5_4.csv", "digit4_1.csv"]]  # fmt: skip
SCALE = 5  # each 28 x 28 sample drawn 140 x 140


def digit(name):
    return np.loadtxt(SAMPLES / name, delimiter=",").astype(np.uint8)


def known_page(lines=LINES, left=(60, 300, 120), top=120, spacing=260, gap=40):
    """A white page, dark digits at known places: (PIL image, [[(x, y, w, h) of each digit's ink]])."""
    sheet = np.zeros((top + spacing * len(lines), 1500), np.float32)
    boxes = []
    for k, line in enumerate(lines):
        x, y, found = left[k % len(left)], top + k * spacing, []
        for name in line:
            big = np.asarray(Image.fromarray(digit(name)).resize((28 * SCALE,) * 2, Image.BILINEAR), np.float32)
            ink = big > 0.2 * big.max()  # the stroke with its soft edge
            rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
            sheet[y : y + 28 * SCALE, x : x + 28 * SCALE] = np.maximum(
                sheet[y : y + 28 * SCALE, x : x + 28 * SCALE], big
            )
            found.append((x + cols[0], y + rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1))
            x += cols[-1] + 1 + gap
        boxes.append(found)
    return Image.fromarray((255 - sheet).clip(0, 255).astype(np.uint8)), boxes


def numbers(lines=LINES):
    return ["".join(str(LABELS[n]) for n in line) for line in lines]


def near(found, known, tolerance):
    return all(abs(a - b) <= tolerance for a, b in zip(found, known))


def records(*args):
    out = cli_run("predict-image", *args, "--format", "json").stdout
    return [json.loads(line) for line in out.splitlines()]


def test_a_page_of_lines_is_a_record_per_line_with_each_digits_box(tmp_path, fake_predictor):
    img, boxes = known_page()
    path = tmp_path / "card.png"
    img.save(path)  # 1500 pixels wide: read from a copy shrunk to 1000, boxes given in these pixels
    found = records(path, "--labels", ",".join(numbers()))
    assert [(r["line"], r["prediction"], r["correct"]) for r in found] == [
        (k, n, True) for k, n in enumerate(numbers(), 1)
    ]
    for record, known in zip(found, boxes):
        got = [(b["x"], b["y"], b["width"], b["height"]) for b in record["boxes"]]
        assert len(got) == len(known) and all(near(g, k, 4) for g, k in zip(got, known)), (got, known)
        assert [b["digit"] for b in record["boxes"]] == [int(c) for c in record["prediction"]]
        assert [b["confidence"] for b in record["boxes"]] == [c for _, c in record["digits"]]
        x0, y0 = min(k[0] for k in known), min(k[1] for k in known)
        x1, y1 = max(k[0] + k[2] for k in known), max(k[1] + k[3] for k in known)
        assert near(list(record["box"].values()), (x0, y0, x1 - x0, y1 - y0), 4)


def test_boxes_are_in_the_upright_image_a_turned_photo_shows(tmp_path, fake_predictor):
    """A phone stores a photo on its side with an EXIF orientation; its boxes are where a viewer
    (and the serve page) shows the digits, in the upright image."""
    img, boxes = known_page(lines=LINES[:2])
    turned = img.transpose(Image.Transpose.ROTATE_90)  # stored on its side...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...and turned upright again by its viewer
    path = tmp_path / "phone.jpg"
    turned.save(path, exif=exif, quality=95)
    found = records(path)
    assert [r["prediction"] for r in found] == numbers(LINES[:2])
    for record, known in zip(found, boxes):
        got = [(b["x"], b["y"], b["width"], b["height"]) for b in record["boxes"]]
        assert all(near(g, k, 6) for g, k in zip(got, known)), (got, known)


def test_the_table_has_a_line_column_only_for_pages_of_several_lines(tmp_path, fake_predictor):
    page, _ = known_page()
    page.save(tmp_path / "card.png")
    row, _ = known_page(lines=LINES[:1])
    row.save(tmp_path / "row.png")
    several = cli_run("predict-image", tmp_path / "card.png", tmp_path / "row.png", "--format", "csv").stdout
    assert several.splitlines()[0].startswith("file,line,prediction")
    assert [line.split(",")[1:3] for line in several.splitlines()[1:]] == [
        ["1", "7901"], ["2", "38"], ["3", "254"], ["1", "7901"]
    ]  # fmt: skip
    one = cli_run("predict-image", tmp_path / "row.png", "--format", "csv").stdout
    assert one.splitlines()[0].startswith("file,prediction") and one.splitlines()[1].split(",")[1] == "7901"


def test_prepare_names_each_lines_digits_and_draws_their_boxes(tmp_path, fake_predictor):
    page, _ = known_page()
    page.save(tmp_path / "card.png")
    cli_run("prepare", tmp_path / "card.png", "-o", tmp_path / "out", "--show")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    expected = [f"card_line{k}_{i}.csv" for k, line in enumerate(LINES, 1) for i in range(1, len(line) + 1)]
    assert names == sorted(expected + ["card-prepared.png"])
    read = cli_run("predict-csv", *(tmp_path / "out" / n for n in expected), "--format", "csv").stdout
    assert "".join(line.split(",")[2] for line in read.splitlines()[1:]) == "".join(numbers())
    picture = np.asarray(Image.open(tmp_path / "out" / "card-prepared.png").convert("RGB"), dtype=int)
    red = (picture[..., 0] > 150) & (picture[..., 1] < 80) & (picture[..., 2] < 100)
    blue = (picture[..., 2] > 150) & (picture[..., 0] < 100)
    assert red.sum() > 500 and blue.sum() > 200  # lines 1 and 3 boxed in red, line 2 in blue


def test_the_api_gives_a_record_per_line_with_boxes(tmp_path, fake_predictor):
    from conftest import NearestSample
    from starlette.testclient import TestClient

    from digitcli.inference.modelfile import ModelFile
    from digitcli.serve.app import create_app

    img, boxes = known_page()
    path = tmp_path / "card.png"
    img.save(path)
    with TestClient(create_app(ModelFile.open(SHIPPED_DENSE), NearestSample())) as api:
        answer = api.post("/api/predict", content=path.read_bytes(), headers={"Content-Type": "image/png"}).json()
    assert [r["prediction"] for r in answer["records"]] == numbers()
    assert answer["records"] == [{**r, "file": "request"} for r in records(path, "--top-k", "3")]
    assert len(answer["prepared"]) == sum(len(line) for line in LINES)


def blob(top, height, left=0, width=30):
    mask = np.zeros((400, 400), bool)
    mask[top : top + height, left : left + width] = True
    return mask


@pytest.mark.parametrize(
    "marks, lines",
    [
        ([blob(50, 100)], 1),
        ([blob(50, 100), blob(250, 100)], 2),  # two lines, far apart
        ([blob(50, 48), blob(104, 48)], 1),  # an 8 broken across its waist: one digit, one line
        ([blob(50, 12, 0, 40), blob(70, 90)], 1),  # a 5's detached cap above its body
        ([blob(50, 60, 20, 100), blob(114, 40, 30, 30), blob(120, 25, 17, 10)], 1),  # a pencil 5: bar, bowl, tip
        ([blob(50, 100, 0), blob(50, 100, 60), blob(160, 100, 0), blob(160, 100, 60)], 2),  # close lines
        ([blob(50, 100), blob(250, 100), blob(200, 5, 300, 5)], 2),  # a speck between lines joins one
        ([blob(50, 100, 0), blob(90, 100, 60), blob(130, 100, 120)], 1),  # a row going uphill: one line
    ],
)
def test_lines_are_split_only_at_clear_gaps(marks, lines):
    mask = np.logical_or.reduce(marks)
    found = split_lines(mask)
    assert len(found) == lines
    assert np.array_equal(np.logical_or.reduce(found), mask)  # every mark in exactly one line
    assert sum(f.sum() for f in found) == mask.sum()


@pytest.mark.real_model
def test_made_up_pages_read_line_by_line(tmp_path):
    """Pages of 2 to 4 lines of 2 to 5 digits, with light, blur, noise and either polarity."""
    rng = np.random.default_rng(1)
    names, paths, truth = sorted(LABELS), [], []
    for k in range(6):
        lines = [
            [names[int(i)] for i in rng.integers(0, len(names), int(rng.integers(2, 6)))]
            for _ in range(int(rng.integers(2, 5)))
        ]
        paths.append(photomaker.save(photomaker.page([[digit(n) for n in line] for line in lines], rng), tmp_path,
                                     f"page{k}", rng))  # fmt: skip
        truth += numbers(lines)
    found = records(*paths, "--model", SHIPPED_DENSE)
    assert [r["prediction"] for r in found] == truth


def test_a_photo_piped_in_reads_as_the_file_does(fake_predictor):
    card = SAMPLES / "meter_card.jpg"
    piped = cli_run("predict-image", "-", "--format", "json", stdin=card.read_bytes()).stdout
    assert [json.loads(line) for line in piped.splitlines()] == [{**r, "file": "-"} for r in records(card)]
    empty = cli_run("predict-image", "-", stdin=b"", code=1)
    assert "-: nothing on standard input" in empty.stderr
