"""Split a row of handwritten digits (a photographed "2025", a price, a house number) into one ink
mask per digit, left to right.

Connected components of the ink are the starting point (SciPy's labelling). Pieces that overlap
horizontally are one digit (a broken stroke, the cap of a 5), and slivers join their nearest
neighbour. A piece much wider than the typical digit of its row, or than its height, is touching
digits, cut at the columns with the least ink. `count`, when known, overrides the guesses.

This geometry is what `prepare` uses when no model is at hand. With a model, predict-image lets it
choose among the groupings and cuts instead, with shape priors that keep it from trusting its
confidence in merged or halved digits (reading.py).
"""

import numpy as np
from scipy import ndimage

from digitcli.errors import InputFileError

MAX_PIECES = 40
WIDE = 1.15  # a piece wider than this times its height holds more than one digit (a "0" is ~0.8)


def _pieces(mask, name):
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    # Checked before a mask is made for each piece: a photo of a page of text has thousands.
    if n > MAX_PIECES:
        raise InputFileError(f"{name}: {n} separate marks; too many to be a row of digits (a photo of a page of text?)")
    boxes = ndimage.find_objects(labels)
    return [(labels == i + 1, box[1].start, box[1].stop, box[0].start, box[0].stop) for i, box in enumerate(boxes)]


def _join(a, b):
    return (a[0] | b[0], min(a[1], b[1]), max(a[2], b[2]), min(a[3], b[3]), max(a[4], b[4]))


def _merge_overlapping(pieces):
    """Pieces whose column ranges overlap by more than a third of the narrower are one digit."""
    merged = []
    for piece in sorted(pieces, key=lambda p: p[1]):
        if merged:
            last = merged[-1]
            overlap = min(last[2], piece[2]) - max(last[1], piece[1])
            if overlap > min(last[2] - last[1], piece[2] - piece[1]) / 3:
                merged[-1] = _join(last, piece)
                continue
        merged.append(piece)
    return merged


def _absorb_slivers(pieces, height):
    """A piece far smaller than a digit (a stroke end broken off, a dot of a join) joins the
    neighbour it is closest to, rather than counting as a digit; a speck of noise is dropped."""
    typical = float(np.median([p[0].sum() for p in pieces]))
    pieces = [p for p in pieces if p[0].sum() >= 0.03 * typical] or pieces
    while len(pieces) > 1:
        areas = [p[0].sum() for p in pieces]
        typical = float(np.median(areas))
        small = [i for i, p in enumerate(pieces) if areas[i] < 0.2 * typical or p[4] - p[3] < 0.3 * height]
        if not small:
            break
        i = min(small, key=lambda k: areas[k])
        left = pieces[i][1] - pieces[i - 1][2] if i > 0 else np.inf
        right = pieces[i + 1][1] - pieces[i][2] if i + 1 < len(pieces) else np.inf
        j = i - 1 if left <= right else i + 1
        lo, hi = min(i, j), max(i, j)
        pieces[lo : hi + 1] = [_join(pieces[lo], pieces[hi])]
    return pieces


def _parts(piece, typical, height):
    """How many digits a piece holds: its width against the typical digit's in the row, or against
    its height when the row has too few pieces to say what is typical."""
    width = piece[2] - piece[1]
    if typical and width > 1.5 * typical and width > 0.9 * height:
        return max(1, round(width / typical))
    if width > WIDE * height:
        return max(1, round(width / (0.75 * height)))
    return 1


def _slice(mask, left, right):
    part = np.zeros_like(mask)
    part[:, left:right] = mask[:, left:right]
    rows = np.flatnonzero(part.any(axis=1))
    return (part, left, right, rows[0], rows[-1] + 1) if len(rows) else None


def _cut(piece, parts):
    """Split a piece into `parts` at the lowest-ink columns near the even cut points."""
    mask, x0, x1, _, _ = piece
    profile = mask[:, x0:x1].sum(axis=0).astype(float)
    width = x1 - x0
    cuts = []
    for k in range(1, parts):
        centre = round(k * width / parts)
        lo, hi = max(1, centre - width // (3 * parts)), min(width - 1, centre + width // (3 * parts) + 1)
        cuts.append(x0 + lo + int(np.argmin(profile[lo:hi])) if hi > lo else x0 + centre)
    edges = [x0] + cuts + [x1]
    return [part for part in (_slice(mask, left, right) for left, right in zip(edges, edges[1:])) if part]


MAX_MARKS = 12  # beyond this many marks, slivers are joined by geometry before the model decides


def marks(mask, name="image"):
    """The ink masks, left to right, among which the model chooses (reading.py): pieces overlapping
    in width joined, specks of noise dropped."""
    digits = _merge_overlapping(_pieces(mask, name))
    return _marks(digits, max(p[4] for p in digits) - min(p[3] for p in digits))


def _marks(digits, height):
    largest = max(p[0].sum() for p in digits)
    found = [p for p in digits if p[0].sum() >= 0.03 * largest]  # specks of noise
    if len(found) > MAX_MARKS:
        found = _absorb_slivers(found, height)
    return [p[0] for p in found]


def split_digits(mask, count=None, name="image", read=None):
    """Ink masks of the digits in `mask`, left to right. With `read` (images to probabilities), the
    model chooses among the ways to group and cut the marks (reading.py); else geometry decides."""
    digits = _merge_overlapping(_pieces(mask, name))
    height = max(p[4] for p in digits) - min(p[3] for p in digits)
    if read is not None:
        from digitcli.photos.reading import best_split

        found = best_split(_marks(digits, height), read, count)
        if found is not None:
            return found
    digits = _absorb_slivers(digits, height)
    if count is None:
        widths = [p[2] - p[1] for p in digits]
        typical = float(np.median(widths)) if len(digits) >= 3 else None
        split = []
        for piece in digits:
            parts = _parts(piece, typical, height)
            split.extend(_cut(piece, parts) if parts > 1 else [piece])
        return [piece[0] for piece in split]
    while len(digits) < count:  # touching digits: cut the widest piece in two
        widest = max(range(len(digits)), key=lambda i: digits[i][2] - digits[i][1])
        halves = _cut(digits[widest], 2)
        if len(halves) < 2:
            break
        digits[widest : widest + 1] = halves
    while len(digits) > count:  # broken strokes: join the two pieces with the smallest gap
        gaps = [digits[i + 1][1] - digits[i][2] for i in range(len(digits) - 1)]
        i = int(np.argmin(gaps))
        digits[i : i + 2] = [_join(digits[i], digits[i + 1])]
    if len(digits) != count:
        raise InputFileError(f"{name}: found {len(digits)} digits, cannot make the {count} asked for")
    return [piece[0] for piece in digits]
