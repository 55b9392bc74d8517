"""Non-digits drawn by code, as a person would draw them on the page's pad or on paper: dots,
dashes, scribbles, letters, crossed-out digits and empty lined paper. Each is a greyscale page
(uint8, dark ink on white paper, 280 x 280 like the pad) that goes through the same reading as a
photo. Nothing here comes from MNIST."""

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SIZE = 280
PEN = SIZE // 16  # the page's pen (static/app.js): about a tenth of a digit's height
# Letters that do not look like a digit in any hand (O, I, l, S, Z, B, G, g, q, b are left out).
LETTERS = "ACEFHKMNRTUVWXYaehkmnrwxy"
KINDS = ("dot", "dash", "scribble", "letter", "crossed-out", "lined-paper")


def _page():
    image = Image.new("L", (SIZE, SIZE), 255)
    return image, ImageDraw.Draw(image)


def _pen(rng):
    return int(rng.integers(PEN - 6, PEN + 6))


def dot(rng):
    image, draw = _page()
    r = rng.integers(4, 14)
    cx, cy = rng.integers(40, SIZE - 40, 2)
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=0)
    return image


def dash(rng):
    image, draw = _page()
    length = rng.integers(60, 200)
    angle = rng.uniform(-0.35, 0.35)  # roughly horizontal, as a minus sign or a hyphen
    cx, cy = rng.integers(100, SIZE - 100, 2)
    dx, dy = length / 2 * np.cos(angle), length / 2 * np.sin(angle)
    draw.line([cx - dx, cy - dy, cx + dx, cy + dy], fill=0, width=_pen(rng))
    return image


def scribble(rng):
    image, draw = _page()
    points = [tuple(rng.integers(50, SIZE - 50, 2))]
    for _ in range(rng.integers(12, 30)):  # a random zigzag over the same place, as one scratches out
        points.append(tuple(np.clip(np.array(points[-1]) + rng.integers(-120, 121, 2), 30, SIZE - 30)))
    draw.line([tuple(map(int, p)) for p in points], fill=0, width=_pen(rng), joint="curve")
    return image


def _glyph(draw, text, rng):
    size = int(rng.integers(150, 220))
    font = ImageFont.load_default(size=size)
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font, stroke_width=3)
    x = (SIZE - (x1 - x0)) // 2 - x0 + int(rng.integers(-15, 16))
    y = (SIZE - (y1 - y0)) // 2 - y0 + int(rng.integers(-15, 16))
    draw.text((x, y), text, fill=0, font=font, stroke_width=int(rng.integers(2, 6)), stroke_fill=0)


def letter(rng):
    image, draw = _page()
    _glyph(draw, LETTERS[int(rng.integers(len(LETTERS)))], rng)
    return image


def crossed_out(rng):
    image, draw = _page()
    _glyph(draw, str(int(rng.integers(10))), rng)
    if rng.random() < 0.5:  # a big X over it
        draw.line([40, 40, SIZE - 40, SIZE - 40], fill=0, width=_pen(rng))
        draw.line([SIZE - 40, 40, 40, SIZE - 40], fill=0, width=_pen(rng))
    else:  # scratched out
        y = rng.integers(80, 110)
        for k in range(int(rng.integers(4, 8))):
            draw.line([40, y + 25 * k, SIZE - 40, y + 25 * k - rng.integers(-20, 21)], fill=0, width=_pen(rng))
    return image


def lined_paper(rng):
    image, draw = _page()
    gap = int(rng.integers(30, 60))
    for y in range(int(rng.integers(5, gap)), SIZE, gap):
        draw.line([0, y, SIZE, y + int(rng.integers(-3, 4))], fill=int(rng.integers(90, 170)), width=2)
    if rng.random() < 0.5:  # a margin line
        x = int(rng.integers(30, 60))
        draw.line([x, 0, x, SIZE], fill=int(rng.integers(90, 170)), width=2)
    return image


DRAW = dict(zip(KINDS, (dot, dash, scribble, letter, crossed_out, lined_paper)))


def pages(per_kind=40, seed=0):
    """{kind: [greyscale page (uint8, SIZE x SIZE)]}, the same every time for a seed."""
    rng = np.random.default_rng(seed)
    return {kind: [np.asarray(DRAW[kind](rng), dtype=np.uint8) for _ in range(per_kind)] for kind in KINDS}
