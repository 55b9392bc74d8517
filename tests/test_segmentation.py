"""Photos of one digit stay one digit, and touching digits are cut where the result reads as digits
(issue: "A person's own digits"). Each case is drawn here with pen strokes; the ones marked `old`
were misread by the shape-only splitter that predict-image used before (its reading in brackets)."""

import json

import pytest
from click.testing import CliRunner
from conftest import ROOT
from PIL import Image, ImageDraw

from digitcli.cli import cli

MODEL = ROOT / "models" / "robust.keras"
pytestmark = pytest.mark.real_model
PEN = 22


def drawing(path, strokes, size=(340, 300), pen=PEN):
    img = Image.new("L", size, 255)
    draw = ImageDraw.Draw(img)
    for stroke in strokes:
        draw.line(stroke, fill=0, width=pen, joint="curve")
        for x, y in (stroke[0], stroke[-1]):
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=0)
    img.save(path)
    return path


CASES = {
    # name: (strokes, canvas size, what it reads, what the shape-only splitter read)
    "5 whose rising bar is not joined to its body": (
        [[(190, 95), (290, 35)], [(110, 50), (100, 140), (160, 130), (200, 165), (200, 215), (160, 255), (95, 245)]],
        (340, 300),
        "5",
        "51",
    ),
    "5 whose bar stands apart to the right": (
        [[(195, 75), (300, 45)], [(110, 55), (100, 140), (160, 130), (200, 165), (200, 215), (160, 255), (95, 245)]],
        (340, 300),
        "5",
        None,
    ),
    "7 with a crossbar": ([[(70, 60), (230, 60), (130, 255)], [(120, 165), (215, 150)]], (340, 300), "7", None),
    "7 whose crossbar does not reach the stem": (
        [[(70, 60), (230, 60), (130, 255)], [(185, 160), (250, 160)]],
        (340, 300),
        "7",
        None,
    ),
    "open 4, its stem apart from the crossbar": (
        [[(120, 50), (80, 170), (180, 170)], [(205, 60), (205, 260)]],
        (320, 300),
        "4",
        "61",
    ),
    "open 4, its stem crossing the bar": (
        [[(120, 50), (90, 170), (210, 170)], [(180, 90), (185, 260)]],
        (320, 300),
        "4",
        None,
    ),
    "wide 2 in one stroke": (
        [[(60, 110), (120, 60), (220, 55), (300, 90), (280, 150), (90, 250), (370, 245)]],
        (420, 300),
        "2",
        "52",
    ),
    "2 touching a narrow 1": (
        [[(80, 80), (140, 50), (190, 90), (170, 150), (90, 250), (200, 250)], [(212, 50), (212, 250)]],
        (400, 300),
        "21",
        "8",
    ),
    "1 beside a 2": (
        [[(120, 50), (120, 250)], [(160, 80), (220, 50), (300, 70), (290, 150), (150, 250), (320, 250)]],
        (400, 300),
        "12",
        None,
    ),
}


@pytest.fixture(scope="module")
def readings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("drawn")
    paths = {
        name: drawing(folder / f"case{i}.png", strokes, size)
        for i, (name, (strokes, size, _, _)) in enumerate(CASES.items())
    }
    result = CliRunner().invoke(
        cli, ["predict-image", *map(str, paths.values()), "--model", str(MODEL), "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    by_file = {json.loads(line)["file"]: json.loads(line)["prediction"] for line in result.stdout.splitlines()}
    return {name: by_file[str(path)] for name, path in paths.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_drawn_case_reads_right(readings, name):
    assert readings[name] == CASES[name][2]
