"""prepare and predict-image on photos made on the fly by bench/photomaker.py from the project's
own sample digits (the benchmark makes the same kind from MNIST, which is never committed)."""

import json

import numpy as np
import photomaker
import pytest
from conftest import ROOT, SAMPLES, SHIPPED_DENSE, cli_run, sample_labels
from PIL import Image

from digitcli.photos.imageprep import prepare_array

pytestmark = pytest.mark.skipif(not SHIPPED_DENSE.exists(), reason="shipped model missing")
CNN = ROOT / "models" / "cnn.keras"
LABELS = sample_labels()


def digit(name):
    return np.loadtxt(SAMPLES / name, delimiter=",").astype(np.uint8)


def run(*args, code=0):
    return cli_run(*args, code=code)


def records(*args, **kw):
    """predict-image's JSON records (the default model unless --model is among args)."""
    model = [] if "--model" in args else ["--model", SHIPPED_DENSE]
    return [
        json.loads(line) for line in run("predict-image", *model, *args, "--format", "json", **kw).stdout.splitlines()
    ]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Ten single-digit photos (one per class, both polarities, PNG and JPEG) and their labels."""
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(7)
    names = [f"digit{d}_{1 + d % 4}.csv" for d in range(10)]
    paths = []
    for i, name in enumerate(names):
        img = photomaker.single(digit(name), rng)
        path = folder / f"p{i}{'.png' if i % 2 else '.jpg'}"
        img.save(path)
        paths.append(path)
    return paths, [LABELS[n] for n in names]


@pytest.mark.real_model
def test_predict_image_reads_single_digit_photos(photos):
    paths, labels = photos
    recs = records(*paths, "--labels", ",".join(map(str, labels)))
    assert [r["prediction"] for r in recs] == [str(d) for d in labels]
    assert all(r["correct"] for r in recs) and all(len(r["digits"]) == 1 for r in recs)


@pytest.mark.real_model
def test_prepare_writes_the_seeds_format_that_predict_csv_reads_the_same(photos, tmp_path):
    paths, labels = photos
    written = run("prepare", *paths[:3], "-o", tmp_path / "out").stdout.split()
    assert written == [str(tmp_path / "out" / f"{p.stem}.csv") for p in paths[:3]]
    grid = np.loadtxt(written[0], delimiter=",")
    assert grid.shape == (28, 28) and grid.min() == 0 and grid.max() == 255
    as_csv = [
        json.loads(x)["prediction"]
        for x in run("predict-csv", *written, "--model", SHIPPED_DENSE, "--format", "json").stdout.splitlines()
    ]
    assert [str(p) for p in as_csv] == [r["prediction"] for r in records(*paths[:3])]


def test_prepare_one_csv_file_and_show(photos, tmp_path):
    paths, _ = photos
    out = tmp_path / "all.csv"
    written = run("prepare", *paths[:4], "-o", out, "--show").stdout.split()
    assert written[0] == str(out) and written[1:] == [str(tmp_path / f"{p.stem}-prepared.png") for p in paths[:4]]
    assert np.loadtxt(out, delimiter=",").shape == (4, 784)
    assert Image.open(written[1]).format == "PNG"


def test_the_mnist_recipe(photos):
    """Ink high on zero, longer side 20 pixels, centre of mass at MNIST's centre."""
    from scipy import ndimage

    from digitcli.photos.imageprep import CENTRE

    paths, _ = photos
    for path in paths[:5]:
        grid = prepare_array(np.asarray(Image.open(path).convert("L")))
        rows, cols = np.flatnonzero(grid.max(axis=1) > 40), np.flatnonzero(grid.max(axis=0) > 40)
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in range(18, 23)
        assert np.allclose(ndimage.center_of_mass(grid.astype(float)), CENTRE, atol=0.6)
        assert grid[0].max() == grid[-1].max() == grid[:, 0].max() == grid[:, -1].max() == 0


def test_grey_edges_come_from_shrinking_the_binary_digit():
    """MNIST's grey levels are anti-aliasing of binary digits: a hard-edged ring (a 0) shrunk to
    20 pixels gets full-strength strokes and grey edges right beside them, never a halo."""
    from PIL import ImageDraw
    from scipy import ndimage

    from digitcli.photos.imageprep import to_mnist

    img = Image.new("1", (240, 300), 0)
    ImageDraw.Draw(img).ellipse((10, 10, 230, 290), outline=1, width=36)
    grid = to_mnist(np.asarray(img, dtype=bool))
    rows = np.flatnonzero(grid.max(axis=1))
    assert rows[-1] - rows[0] + 1 in (20, 21)  # the longer side, plus at most a pixel of edge
    assert (grid == 255).sum() >= 40
    grey = (grid > 0) & (grid < 255)
    assert grey.sum() >= 20
    near_stroke = ndimage.binary_dilation(grid >= 128, structure=np.ones((3, 3)))
    assert not (grey & ~near_stroke).any()


def bold_eight(height=300, width=260, paper=200, ink=30):
    """A heavy marker "8" that fills most of a tightly cropped photo (dark on light), and its ink."""
    from PIL import ImageDraw

    img = Image.new("L", (width, height), paper)
    draw = ImageDraw.Draw(img)
    draw.ellipse((60, 20, 200, 150), outline=ink, width=38)
    draw.ellipse((50, 135, 210, 285), outline=ink, width=38)
    gray = np.asarray(img)
    return gray, gray < (paper + ink) / 2


def test_a_bold_digit_filling_the_photo_keeps_its_strokes():
    """The paper is found by a grey opening: a wide median took the heavy strokes of a digit that
    fills the frame for paper, and cut the middle out of this 8."""
    from digitcli.photos.imageprep import page_mask

    gray, drawn = bold_eight()
    mask = page_mask(gray)
    assert (mask & drawn).sum() >= 0.95 * drawn.sum()
    assert (mask & ~drawn).sum() <= 0.05 * drawn.sum()


def test_a_hard_shadow_edge_is_not_ink():
    """Half the page in shadow: the edge between the halves must not read as a stroke."""
    from digitcli.photos.imageprep import page_mask

    gray, drawn = bold_eight(height=300, width=600)
    page = gray.astype(float)
    page[:, 330:] -= 70  # the right half is darker paper
    mask = page_mask(np.clip(page, 0, 255).astype(np.uint8))
    assert (mask & drawn).sum() >= 0.95 * drawn.sum()
    assert not mask[:, 280:].any()


@pytest.mark.real_model
def test_polarity_does_not_matter(tmp_path):
    rng = np.random.default_rng(3)
    img = np.asarray(photomaker.single(digit("digit4_1.csv"), rng))
    Image.fromarray(img).save(tmp_path / "a.png")
    Image.fromarray(255 - img).save(tmp_path / "b.png")
    a, b = records(tmp_path / "a.png", tmp_path / "b.png")
    assert a["prediction"] == b["prediction"] == "4"


def strip_photo(path, names, rng, touching):
    photomaker.strip(np.stack([digit(n) for n in names]), rng, touching=touching).save(path)
    return "".join(str(LABELS[n]) for n in names)


@pytest.mark.real_model
def test_a_number_is_read_left_to_right(tmp_path):
    rng = np.random.default_rng(11)
    truth = strip_photo(tmp_path / "n.png", ["digit2_1.csv", "digit0_2.csv", "digit2_3.csv", "digit5_1.csv"], rng, 0)
    rec = records(tmp_path / "n.png", "--model", CNN)[0]
    assert truth == "2025" and rec["prediction"] == "2025"
    assert [d for d, _ in rec["digits"]] == [2, 0, 2, 5]
    assert rec["confidence"] == min(c for _, c in rec["digits"])
    assert records(tmp_path / "n.png", "--model", CNN, "--count", "4")[0]["prediction"] == "2025"


def blob(mask, top, left, h, w):
    mask[top : top + h, left : left + w] = True
    return mask


def test_segmentation_pieces_slivers_touching_and_counts():
    from digitcli.photos.segment import split_digits

    def spans(masks):
        return [(int(np.flatnonzero(m.any(0))[0]), int(np.flatnonzero(m.any(0))[-1])) for m in masks]

    row = np.zeros((60, 200), bool)
    for left in (10, 70, 130):  # three separate digits
        blob(row, 10, left, 40, 25)
    assert spans(split_digits(row)) == [(10, 34), (70, 94), (130, 154)]

    broken = blob(blob(np.zeros((60, 100), bool), 10, 20, 18, 25), 32, 22, 18, 22)  # a stroke in two pieces
    assert len(split_digits(broken)) == 1

    sliver = blob(blob(row.copy(), 30, 157, 3, 3), 10, 180, 1, 1)  # a dot beside the last digit
    assert len(split_digits(sliver)) == 3

    # Two digits joined by a bridge that is thinnest at column 45: they are cut at that neck.
    touching = blob(blob(blob(np.zeros((60, 120), bool), 10, 10, 40, 30), 10, 50, 40, 30), 26, 40, 8, 10)
    touching[:, 45] = False
    touching[29:31, 45] = True
    assert spans(split_digits(touching)) == [(10, 44), (45, 79)]
    assert len(split_digits(touching, count=2)) == 2
    assert len(split_digits(row, count=2)) == 2  # told there are two: the closest pieces join


@pytest.mark.real_model
def test_bad_images(tmp_path):
    (tmp_path / "text.png").write_text("not an image")
    Image.fromarray(np.full((120, 160), 200, np.uint8)).save(tmp_path / "blank.png")
    noise = np.random.default_rng(0).normal(200, 3, (120, 160)).clip(0, 255).astype(np.uint8)
    Image.fromarray(noise).save(tmp_path / "paper.png")
    dots = np.full((200, 400), 230, np.uint8)
    for top in range(10, 190, 20):
        for left in range(10, 390, 20):
            dots[top : top + 8, left : left + 8] = 0
    Image.fromarray(dots).save(tmp_path / "dots.png")
    result = run(
        "predict-image",
        "--model",
        SHIPPED_DENSE,
        *(tmp_path / n for n in ("text.png", "blank.png", "paper.png", "dots.png", "nope.png")),
        "--format",
        "csv",
        code=1,
    )
    err = result.stderr
    assert f"error: {tmp_path / 'text.png'}: not an image Pillow can read" in err
    assert f"error: {tmp_path / 'blank.png'}: no ink found" in err
    assert f"error: {tmp_path / 'paper.png'}: no ink found" in err
    assert f"error: {tmp_path / 'nope.png'}: file not found" in err
    assert "4 image(s) rejected" in err
    # A grid of dots is 9 lines of 19 marks, none of them a digit.
    dots = [line.split(",") for line in result.stdout.splitlines() if line.startswith(str(tmp_path / "dots.png"))]
    assert [(d[1], d[2]) for d in dots] == [(str(k), "-" * 19) for k in range(1, 10)]
    result = run("prepare", tmp_path / "blank.png", "--strict", "-o", tmp_path / "out", code=1)
    assert result.stderr.strip().startswith(f"Error: {tmp_path / 'blank.png'}: no ink found")
    assert not (tmp_path / "out").exists()


def test_a_progress_bar_goes_to_a_terminal_and_never_into_a_pipe(tmp_path):
    """prepare over many photos shows Click's progress bar on stderr when stderr is a terminal, and
    nothing extra when it is a pipe or a file."""
    import os
    import pty
    import shutil
    import subprocess
    import sys

    for i in range(3):
        shutil.copy(SAMPLES / "photo_7.png", tmp_path / f"seven{i}.png")
    cmd = [sys.executable, "-m", "digitcli", "prepare", str(tmp_path), "-o", str(tmp_path / "out"), "--overwrite"]
    leader, follower = pty.openpty()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        shown += chunk
    out = proc.communicate(timeout=120)[0].decode()
    assert proc.returncode == 0
    assert b"reading images" in shown and b"3/3" in shown
    assert len(out.split()) == 3  # stdout: the three files written, and nothing else
    piped = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0 and piped.stderr == "" and piped.stdout == out
