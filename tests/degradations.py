"""Pages of handwritten digits degraded the ways real scans and phone photos are, one axis at a time,
at four levels from mild to severe. The tests draw the digits with pen strokes (pen_ink);
bench/degrade.py draws MNIST test digits (mnist_ink). Nothing made here is committed.

    image = degrade(ink, "blur", 2, rng)   # a PIL image of the page; encode() gives its file bytes

`ink` is a float array in [0, 1], ink high, holding one digit (or a row of them) about HEIGHT pixels
tall with a margin round it; each family turns it into a photo of paper and ink.
"""

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

LEVELS = ("mild", "moderate", "strong", "severe")
HEIGHT = 120  # digit height in pixels on the undegraded page
WHITE, BLACK = (0.93, 0.93, 0.91), (0.1, 0.1, 0.12)


def mnist_ink(digit, height=HEIGHT, margin=0.45):
    """A 28 x 28 MNIST digit as a crisp pen stroke about `height` pixels tall: enlarged, then its
    anti-aliased grey edges sharpened back into the edge of a stroke."""
    scale = height / 20.0
    size = round(28 * scale)
    big = np.asarray(Image.fromarray(digit).resize((size, size), Image.BICUBIC), dtype=np.float32) / 255
    ink = np.clip((big - 0.3) / 0.3, 0, 1)
    return np.pad(ink, round(margin * height))


def pen_ink(digit, rng, height=HEIGHT, margin=0.45, width=(0.08, 0.13)):
    """`digit` drawn with a pen along the sample digits' stroke skeletons (sample_digits/generate.py)."""
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    from sample_digits.generate import SKELETONS, catmull_rom

    slant, aspect = rng.uniform(-0.3, 0.1), rng.uniform(0.55, 0.8)
    pen = max(2, int(height * rng.uniform(*width)))
    pad = round(margin * height)
    side = height + 2 * pad
    img = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(img)
    for stroke in SKELETONS[digit]:
        path = catmull_rom(np.asarray(stroke) + rng.normal(0, 0.02, (len(stroke), 2))) - 0.5
        path[:, 0] = (path[:, 0] + slant * -path[:, 1]) * aspect
        xy = [tuple(map(float, q)) for q in path * height + side / 2]
        draw.line(xy, fill=255, width=pen, joint="curve")
        for x, y in (xy[0], xy[-1]):
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)
    return np.asarray(img, dtype=np.float32) / 255


def render(ink, paper=WHITE, colour=BLACK):
    """RGB floats in [0, 1]: `colour` ink laid on `paper` in proportion to `ink`."""
    a = ink[..., None]
    return np.asarray(paper, np.float32) * (1 - a) + np.asarray(colour, np.float32) * a


def to_image(rgb):
    return Image.fromarray(np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8))


def _blur(ink, level, rng):
    sigma = HEIGHT * (0.015, 0.03, 0.05, 0.075)[level]
    return to_image(render(ndimage.gaussian_filter(ink, sigma)))


def _low_resolution(ink, level, rng):
    """The page drawn with the digit 16, 12, 10 or 8 pixels tall, then enlarged as a scanner's or a
    zoomed phone's software would."""
    h, w = ink.shape
    factor = (16, 12, 10, 8)[level] / HEIGHT
    small = to_image(render(ink)).resize((max(1, round(w * factor)), max(1, round(h * factor))), Image.BOX)
    return small.resize((w, h), Image.BICUBIC)


def _noise(ink, level, rng):
    sigma = (0.06, 0.12, 0.2, 0.3)[level]
    rgb = render(ndimage.gaussian_filter(ink, 0.7))
    return to_image(rgb + rng.normal(0, sigma, ink.shape)[..., None])


def _light(ink, level, rng):
    """Light falling off across the page, and a hard shadow edge (a hand or a phone) through the digit."""
    h, w = ink.shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    angle = rng.uniform(0, 2 * np.pi)
    across = np.cos(angle) * (xx - 0.5 * w / max(h, w)) + np.sin(angle) * (yy - 0.5 * h / max(h, w))
    depth = (0.3, 0.45, 0.6, 0.72)[level]
    light = 1.0 - 0.5 * depth * (across + 0.5)
    light = np.where(across > rng.uniform(-0.1, 0.1), light * (1 - depth), light)
    return to_image(render(ndimage.gaussian_filter(ink, 0.7)) * light[..., None])


def _tilt(ink, level, rng):
    """A page photographed at an angle: the far edge shrinks and the page turns a little."""
    h, w = ink.shape
    k = (0.15, 0.3, 0.45, 0.6)[level] / 2
    img = to_image(render(ink))
    far = rng.choice(("top", "bottom", "left", "right"))
    if far in ("top", "bottom"):
        quad = [(-k * w, 0), (0, h), (w, h), (w + k * w, 0)]
    else:
        quad = [(0, -k * h), (0, h + k * h), (w, h), (w, 0)]
    if far in ("bottom", "right"):
        quad = [(w - x, h - y) for x, y in quad]
        quad = quad[2:] + quad[:2]
    flat = [c for p in quad for c in p]
    img = img.transform((w, h), Image.QUAD, flat, Image.BILINEAR, fillcolor=(237, 237, 232))
    return img.rotate(rng.uniform(-1, 1) * 8 * (level + 1) / 4, Image.BILINEAR, fillcolor=(237, 237, 232))


def _paper(ink, level, rng, squared):
    """Ruled (or squared) paper: printed lines a third of the digit's height apart, darker each level."""
    h, w = ink.shape
    gap = HEIGHT * rng.uniform(0.28, 0.4)
    darkness = (0.15, 0.3, 0.45, 0.6)[level]
    lines = np.zeros((h, w), np.float32)
    thick = 1 + level // 2
    offset = rng.uniform(0, gap)
    for y in np.arange(offset, h, gap):
        lines[int(y) : int(y) + thick] = darkness
    if squared:
        for x in np.arange(rng.uniform(0, gap), w, gap):
            lines[:, int(x) : int(x) + thick] = darkness
    paper = render(lines, WHITE, (0.35, 0.5, 0.75))
    return to_image(paper * (1 - ink[..., None]) + np.asarray(BLACK) * ink[..., None])


def _blue_biro(ink, level, rng):
    colour = ((0.08, 0.15, 0.6), (0.15, 0.28, 0.75), (0.3, 0.45, 0.88), (0.45, 0.6, 0.95))[level]
    return to_image(render(ndimage.gaussian_filter(ink, 0.7), WHITE, colour))


def _yellow(ink, level, rng):
    paper = ((1.0, 0.95, 0.6), (1.0, 0.9, 0.4), (0.95, 0.8, 0.2), (0.9, 0.7, 0.1))[level]
    colour = ((0.1, 0.1, 0.1), (0.2, 0.2, 0.18), (0.3, 0.28, 0.2), (0.4, 0.35, 0.2))[level]
    return to_image(render(ndimage.gaussian_filter(ink, 0.7), paper, colour))


def _pencil(ink, level, rng):
    """Light grey graphite, thinner than a pen, grainy."""
    thin = ndimage.grey_erosion(ink, size=(1 + level, 1 + level)) if level else ink
    grain = np.clip(rng.normal(0.8, 0.25, ink.shape), 0, 1)
    strength = (0.55, 0.42, 0.32, 0.22)[level]
    return to_image(render(ndimage.gaussian_filter(thin * grain, 0.8) * strength, WHITE, (0.15, 0.15, 0.17)))


def _marker(ink, level, rng):
    radius = round(HEIGHT * (0.03, 0.05, 0.07, 0.09)[level])
    disk = np.hypot(*np.mgrid[-radius : radius + 1, -radius : radius + 1]) <= radius
    return to_image(render(ndimage.gaussian_filter(ndimage.grey_dilation(ink, footprint=disk), 0.8)))


def _jpeg(ink, level, rng):
    return to_image(render(ndimage.gaussian_filter(ink, 0.7)))


JPEG_QUALITY = (40, 20, 10, 5)
FAMILIES = {
    "blur": _blur,
    "low-res": _low_resolution,
    "jpeg": _jpeg,
    "noise": _noise,
    "light+shadow": _light,
    "tilt": _tilt,
    "lined": lambda ink, level, rng: _paper(ink, level, rng, squared=False),
    "squared": lambda ink, level, rng: _paper(ink, level, rng, squared=True),
    "blue-biro": _blue_biro,
    "black-on-yellow": _yellow,
    "pencil": _pencil,
    "marker": _marker,
}


def degrade(ink, family, level, rng):
    """The page of `ink` degraded along `family` at `level` (0 mild .. 3 severe): a PIL RGB image."""
    return FAMILIES[family](ink, level, rng)


def encode(image, family="", level=0):
    """The file bytes of `image`: JPEG at the family's quality for "jpeg", else PNG."""
    buffer = io.BytesIO()
    if family == "jpeg":
        image.save(buffer, "JPEG", quality=JPEG_QUALITY[level])
    else:
        image.save(buffer, "PNG")
    return buffer.getvalue()
