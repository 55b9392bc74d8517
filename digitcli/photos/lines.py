"""Split a page's ink into lines of digits, top to bottom: a list of numbers, a meter-reading card.

A line is the marks whose heights overlap, chained (SciPy's labelling finds the marks), so a gently
tilted row stays one line and a row's ink is never cut through. A band much shorter than the page's
lines (the detached cap of a 5, a dash) joins its nearest neighbour, and two bands of one column range
each, stacked less than a quarter of their height apart, are one digit broken across its middle, as a
faint pencil 8 is: a single digit stays one digit. A page found to hold one line is returned as it came, so that
everything that reads a single row reads it exactly as before."""

import numpy as np
from scipy import ndimage

from digitcli.errors import InputFileError

MAX_MARKS = 400  # a page of several numbers; the thousands of a page of text are refused
SPECK = 0.03  # marks smaller than this fraction of the largest are noise, not a line of their own
CLOSE = 0.25  # parts of one digit are nearer than this times the shorter part's height
TOUCH = 0.1  # marks of a band less than this times its height apart cover one column range
SHORT = 0.4  # a band shorter than this times the tallest band joins its nearest neighbour


def _bands(tops, bottoms):
    """[[top, bottom, [mark indices]]] of marks whose row ranges overlap, chained, top to bottom."""
    bands = []
    for i in np.argsort(tops, kind="stable"):
        if bands and tops[i] < bands[-1][1]:
            bands[-1][1] = max(bands[-1][1], bottoms[i])
            bands[-1][2].append(i)
        else:
            bands.append([tops[i], bottoms[i], [i]])
    return bands


def _nearest(bands, i):
    """The index of the band next to band i with the smaller gap to it."""
    above = bands[i][0] - bands[i - 1][1] if i > 0 else np.inf
    below = bands[i + 1][0] - bands[i][1] if i + 1 < len(bands) else np.inf
    return i - 1 if above <= below else i + 1


def _columns(band, lefts, rights):
    """The column ranges a band's marks cover, overlapping or touching ones joined: one for a single
    digit (or a part of one), several for a line of digits."""
    spans, near = [], max(2, TOUCH * (band[1] - band[0]))
    for left, right in sorted((lefts[i], rights[i]) for i in band[2]):
        if spans and left < spans[-1][1] + near:
            spans[-1][1] = max(spans[-1][1], right)
        else:
            spans.append([left, right])
    return spans


def _one_digit(a, b, lefts, rights):
    """Whether two bands may be the parts of one digit broken across its middle: each a single
    column range, the two overlapping. Two lines of several digits each never are, however close."""
    ca, cb = _columns(a, lefts, rights), _columns(b, lefts, rights)
    return len(ca) == 1 and len(cb) == 1 and min(ca[0][1], cb[0][1]) > max(ca[0][0], cb[0][0])


def _join_close(bands, lefts, rights):
    while len(bands) > 1:
        heights = [b[1] - b[0] for b in bands]
        tallest = max(heights)
        short = [i for i, h in enumerate(heights) if h < SHORT * tallest]
        gaps = [
            (bands[i + 1][0] - bands[i][1]) / min(heights[i], heights[i + 1])
            if _one_digit(bands[i], bands[i + 1], lefts, rights)
            else np.inf
            for i in range(len(bands) - 1)
        ]
        if short:
            i = min(short, key=lambda k: heights[k])
            j = _nearest(bands, i)
        elif min(gaps) < CLOSE:
            i = int(np.argmin(gaps))
            j = i + 1
        else:
            break
        lo, hi = min(i, j), max(i, j)
        bands[lo : hi + 1] = [[bands[lo][0], max(bands[lo][1], bands[hi][1]), bands[lo][2] + bands[hi][2]]]
    return bands


def split_lines(mask, name="image"):
    """The ink masks of the lines of digits in `mask`, top to bottom (`[mask]` itself for one line)."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n > MAX_MARKS:
        raise InputFileError(f"{name}: {n} separate marks; too many to be lines of digits (a photo of a page of text?)")
    if n < 2:
        return [mask]
    sizes = ndimage.sum(mask, labels, index=np.arange(1, n + 1))
    boxes = ndimage.find_objects(labels)
    keep = [i for i in range(n) if sizes[i] >= SPECK * sizes.max()]
    tops = np.array([boxes[i][0].start for i in keep])
    bottoms = np.array([boxes[i][0].stop for i in keep])
    lefts = np.array([boxes[i][1].start for i in keep])
    rights = np.array([boxes[i][1].stop for i in keep])
    bands = _join_close(_bands(tops, bottoms), lefts, rights)
    if len(bands) == 1:
        return [mask]
    # A speck joins the line whose rows it lies in, or the nearest line; noise stays with its line
    # for the row splitter to drop, as it would on a one-line page.
    centres = np.array([(b[0] + b[1]) / 2 for b in bands])
    owner = np.empty(n + 1, dtype=int)
    owner[0] = -1
    for k, band in enumerate(bands):
        owner[[keep[i] + 1 for i in band[2]]] = k
    for i in range(n):
        if sizes[i] < SPECK * sizes.max():
            middle = (boxes[i][0].start + boxes[i][0].stop) / 2
            owner[i + 1] = int(np.argmin(np.abs(centres - middle)))
    line_of = owner[labels]
    return [line_of == k for k in range(len(bands))]
