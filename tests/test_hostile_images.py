"""Hostile and unusual images (issue 26): every damaged file is a message naming it, sizes are bounded
from the header before anything is decoded, odd modes read as what they show, and the splitter
survives marks of a pixel or two."""

import io
import struct
import subprocess
import sys
import warnings
import zlib

import numpy as np
import pytest
from conftest import ROOT, SAMPLES, NearestSample
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from digitcli.errors import InputFileError
from digitcli.photos import imageprep
from digitcli.photos import prepare as photos

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width, height, depth=8, colour=0, row=None):
    """A PNG of `width` x `height` whose pixels compress to almost nothing."""
    row = bytes(width * (depth // 8) * {0: 1, 2: 3, 6: 4}[colour]) if row is None else row
    raw = zlib.compress(b"".join(b"\0" + row for _ in range(height)), 9)
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def png_header(width, height):
    """Only a PNG's header, declaring `width` x `height` (69 bytes, as a stranger sent the server)."""
    return SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")


def gif_declaring(width, height):
    out = io.BytesIO()
    Image.new("P", (1, 1)).save(out, "GIF")
    data = bytearray(out.getvalue())
    data[6:10] = struct.pack("<HH", width, height)  # the logical screen: what Pillow allocates
    return bytes(data)


def encoded(image, fmt):
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def sample_page(scale=4):
    """A sample digit as dark ink on white paper, `scale` times MNIST's size."""
    digit = np.loadtxt(SAMPLES / "digit3_1.csv", delimiter=",").astype(np.uint8)
    page = np.pad(255 - digit, 6, constant_values=255)
    return np.kron(page, np.ones((scale, scale), np.uint8))


DAMAGED = {
    # Pillow's decoders raise ValueError, NotImplementedError and others, not OSError alone.
    "truncated-ihdr.png": SIGNATURE + chunk(b"IHDR", b"\0\0\0\x08\0") + chunk(b"IEND", b""),
    "unknown-format.dds": b"DDS "
    + struct.pack("<7I", 124, 0x1007, 4, 4, 0, 0, 0)
    + bytes(44)
    + struct.pack("<2I4s5I", 32, 4, b"XXXX", 0, 0, 0, 0, 0)
    + bytes(84),
}


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_a_damaged_image_is_a_message_naming_it(name):
    with pytest.raises(InputFileError) as caught:
        imageprep.read_gray(name, DAMAGED[name])
    message = str(caught.value)
    assert message.startswith(f"{name}: damaged, truncated or unsupported image")
    assert "Error" not in message and "save it again as PNG or JPEG" in message


@pytest.mark.parametrize(
    "data, size",
    [(gif_declaring(12000, 12000), "12000 x 12000"), (png_declaring(9000, 9000, depth=16), "9000 x 9000")],
    ids=["37-byte-gif", "16-bit-png"],
)
def test_an_image_declaring_too_many_pixels_is_refused_before_decoding(data, size, monkeypatch):
    def no_decoding(self):
        raise AssertionError("decoded an image it should have refused from its header")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(InputFileError, match=f"hostile: {size} pixels .* the limit is 16 megapixels for"):
        imageprep.read_gray("hostile", data)


@pytest.mark.parametrize(
    "data, said",
    [
        (png_header(1, 50_000_000), "1 x 50000000 pixels; no side may exceed 12,000 pixels"),
        (png_header(4100, 4000), "4100 x 4000 pixels (16 megapixels); the limit is 16 megapixels for PNG"),
    ],
    ids=["69-byte-strip", "16.4-megapixel-png"],
)
def test_extreme_sides_and_large_lossless_images_are_refused_before_decoding(data, said, monkeypatch):
    """A PNG is decoded whole (a 7000 x 7000 one took the server to 830 MB) and a 1 x 50,000,000 one
    to 572 MB: both are refused from the header, so a decode stays near 220 MB at most."""

    def no_decoding(self):
        raise AssertionError("decoded an image it should have refused from its header")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(InputFileError, match=said.replace("(", r"\(").replace(")", r"\)")):
        imageprep.read_gray("hostile", data)


def test_a_large_jpeg_is_decoded_at_reduced_scale(monkeypatch):
    decoded = []
    load = ImageFile.ImageFile.load

    def spy(self):
        decoded.append(self.size)
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    page = Image.fromarray(sample_page(scale=4)).resize((3200, 3200))
    gray = imageprep.read_gray("big.jpg", encoded(page, "JPEG"))
    assert decoded and max(decoded[0]) <= 1600  # decoded at the DCT's reduced scale, not 3200 x 3200
    assert gray.shape == (imageprep.MAX_SIDE, imageprep.MAX_SIDE) == (1000, 1000)


def test_a_wide_16_bit_scan_is_shrunk_and_read():
    page = np.full((200, 6400), 60000, np.uint16)
    page[40:160, 3000:3100] = 1000  # a dark stroke
    gray = imageprep.read_gray("scan.png", encoded(Image.fromarray(page), "PNG"))
    assert gray.shape == (31, imageprep.MAX_SIDE) == (31, 1000) and gray.min() < 20 and gray.max() > 230


def test_a_photo_turned_by_its_exif_orientation_is_read_upright():
    page = Image.fromarray(sample_page())
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: the picture is stored on its side
    out = io.BytesIO()
    page.transpose(Image.Transpose.ROTATE_90).save(out, "PNG", exif=exif)
    upright = imageprep.read_gray("turned.png", out.getvalue())
    assert np.array_equal(upright, np.asarray(page))


def test_a_lab_tiff_reads_as_its_lightness():
    page = Image.fromarray(sample_page())
    lab = imageprep.read_gray("lab.tif", encoded(page.convert("RGB").convert("LAB"), "TIFF"))
    gray = imageprep.read_gray("gray.tif", encoded(page, "TIFF"))
    # L* is not the luma convert("L") computes, but the same page in the same places.
    assert lab.shape == gray.shape and np.corrcoef(lab.ravel(), gray.ravel())[0, 1] > 0.99
    assert photos.prepare("lab.tif", data=encoded(page.convert("RGB").convert("LAB"), "TIFF")).digits.max() == 255


def test_a_float_tiff_with_a_few_inf_pixels_reads_as_without_them():
    values = sample_page().astype(np.float32) / 255.0
    clean = imageprep.read_gray("clean.tif", encoded(Image.fromarray(values), "TIFF"))
    values[0, :3] = np.inf  # a scanner's saturated pixels, on the paper
    values[-1, -1] = np.nan
    spoiled = imageprep.read_gray("inf.tif", encoded(Image.fromarray(values), "TIFF"))
    assert np.array_equal(spoiled[1:-1], clean[1:-1]) and spoiled.min() == 0 and spoiled.max() == 255


def small_png(array):
    return encoded(Image.fromarray(array), "PNG")


def test_a_two_pixel_speck_in_a_small_image_is_read_not_a_crash():
    page = np.full((28, 28), 255, np.uint8)
    page[13:15, 13:15] = 0
    prepared = photos.prepare("speck.png", data=small_png(page), read=NearestSample().probabilities)
    assert prepared.digits.shape == (1, 28, 28) and prepared.digits.max() == 255


@st.composite
def small_pages(draw):
    """2-60 px pages of a few marks 1-3 px wide, or of random noise."""
    height, width = draw(st.integers(2, 60)), draw(st.integers(2, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        return ((rng.random((height, width)) < rng.random()) * 255).astype(np.uint8)
    page = np.full((height, width), 255, np.uint8)
    for _ in range(draw(st.integers(1, 6))):
        y, x = rng.integers(0, height), rng.integers(0, width)
        page[y : y + rng.integers(1, 4), x : x + rng.integers(1, 4)] = 0
    return page


PREDICTOR = NearestSample()


def split_or_refuse(page):
    """The only acceptable failure is a message; anything else fails the test."""
    for read in (PREDICTOR.probabilities, None):
        try:
            prepared = photos.prepare("small.png", data=small_png(page), read=read)
        except InputFileError:
            continue
        assert prepared.digits.ndim == 3 and prepared.digits.shape[1:] == (28, 28)


QUICK = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@QUICK
@given(page=small_pages())
def test_the_splitter_survives_any_small_image(page):
    split_or_refuse(page)


@pytest.mark.slow
@settings(max_examples=600, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(page=small_pages())
def test_the_splitter_survives_any_small_image_long(page):
    split_or_refuse(page)


# The peak of this process alone: VmHWM starts afresh at exec, where getrusage's ru_maxrss keeps the
# peak of the forking parent (a test process that has loaded TensorFlow).
PEAK = """
import re, sys
from digitcli.cli import cli
try:
    cli.main(sys.argv[1:], standalone_mode=False)
except BaseException:
    pass
print(int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) // 1024)
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, data",
    [
        ("screen.gif", gif_declaring(12000, 12000)),
        ("deep.png", png_declaring(9000, 9000, depth=16)),
        ("gray16.png", png_declaring(7000, 7000, depth=16)),  # 49 MP: under the limit, read
        ("rgba.png", png_declaring(7000, 7000, colour=6)),
        ("screen49.gif", gif_declaring(7000, 7000)),  # 49 MP of palette, read as RGBA
    ],
    ids=["screen-gif", "deep-png", "gray16-png", "rgba-png", "gif-49mp"],
)
def test_no_image_makes_predict_image_use_500_mb(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    command = [sys.executable, "-c", PEAK, "predict-image", str(path), "--model", str(ROOT / "models" / "dense.keras")]
    # The child measures itself: the parent's figure would include pytest's own.
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    peak_mb = int(done.stdout.split()[-1])
    assert peak_mb < 500, (name, peak_mb, done.stderr[-500:])
    assert "pixels" in done.stderr or "no ink found" in done.stderr, done.stderr[-500:]  # refused, or read


def test_pillows_warnings_about_a_damaged_tiff_stay_off_stderr():
    """A byte flipped in a TIFF's tag table makes Pillow warn "Tag data larger than file" with its own
    source line on stderr; the image is reported in words, or read, and the warning is not shown."""
    buffer = io.BytesIO()
    Image.new("L", (8, 8), 255).save(buffer, "TIFF")
    data = bytearray(buffer.getvalue())
    data[14] ^= 0xFF  # the first tag's type: its data now claims more bytes than the file holds
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")  # every warning that would reach a user's stderr is recorded
        try:
            imageprep.read_gray("flipped.tif", bytes(data))
        except InputFileError as exc:
            assert str(exc).startswith("flipped.tif: ")
    assert [str(w.message) for w in shown] == []
