"""Segmentation guided by the model: which grouping of the ink into digits reads best.

The geometric splitter (segment.py) decides from shapes alone, and shapes mislead both ways: a 5
whose bar is not joined to its body is two marks, a wide 2 is as wide as two digits. Here every way
of reading the row is scored and the best is kept:

- the marks (connected ink), left to right, may be read one digit each, or grouped (2 or 3 marks
  of one digit: a detached bar, the two strokes of a 4 or a crossed 7);
- a mark may hold 2 or 3 touching digits, cut along the path through the least ink (a cut may bend
  round the other digit's stroke, which a straight cut cannot);
- each candidate digit scores the log of the model's confidence in it, plus shape priors from MNIST:
  a digit spans most of the row's height (a bar alone does not), and is rarely much wider than tall;
- a dynamic programme picks the grouping with the best total (or, with a known count, the best with
  exactly that many digits), all candidates being read in one batch.
"""

from dataclasses import dataclass

import numpy as np

from digitcli.photos.imageprep import to_mnist

MAX_GROUP = 3  # marks that may make one digit


@dataclass(frozen=True)
class Weights:
    """How much each prior counts against the model's log-confidence. Fitted by a grid search
    (bench/tune_segmentation.py) on photos of MNIST *training* digits, 700 singles and 350 strips of 4
    made as bench/photo_digits.py makes them, so that the test digits it reports on stay unseen."""

    low: float = 4.0  # per unit of height below 0.55 of the row's (a bar alone is low)
    wide: float = 1.0  # per unit of width / height beyond `wide_above`
    wide_above: float = 0.9
    cut_ink: float = 0.25  # per stroke width of ink a cut crosses, beyond `cut_free`
    cut_free: float = 0.0
    per_digit: float = 0.2  # each digit read: offsets the fewer log terms a merged reading sums


WEIGHTS = Weights()


def _box(mask):
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def _shape(mask, row_height):
    """(height over the row's, width over height) of a candidate digit."""
    top, bottom, left, right = _box(mask)
    h, w = bottom - top, right - left
    return h / row_height, w / max(h, 1)


def _stroke_width(mask):
    """Ink area over its length: about twice the area over the outline's length."""
    edges = mask ^ np.pad(mask, 1)[1:-1, 2:] | mask ^ np.pad(mask, 1)[2:, 1:-1]
    return max(1.0, 2.0 * mask.sum() / max(1, edges.sum()))


def _cut_path(mask, start, band):
    """Columns, one per row, of the path from top to bottom through the least ink that starts within
    `band` of column `start` and moves at most one column a row; None when the mark is too narrow to
    cut (a mark of 1-2 pixels in a tiny image leaves no column strictly inside it)."""
    h, w = mask.shape
    lo, hi = max(1, start - band), min(w - 1, start + band + 1)
    if hi <= lo:
        return None
    cost = mask[:, lo:hi].astype(np.float64) + 0.02
    total = cost[0].copy()
    step = np.zeros((h, hi - lo), dtype=np.int8)
    for r in range(1, h):
        left = np.concatenate(([np.inf], total[:-1]))
        right = np.concatenate((total[1:], [np.inf]))
        choice = np.argmin(np.stack([left, total, right]), axis=0)
        step[r] = choice - 1
        total = np.minimum(np.minimum(left, total), right) + cost[r]
    col = int(np.argmin(total))
    path = np.empty(h, dtype=int)
    for r in range(h - 1, -1, -1):
        path[r] = col + lo
        col += int(step[r, col])
    return path, float(total.min())


def _cuts(mask, parts, stroke):
    """Ways to cut one mark into `parts` digits: [(masks left to right, ink crossed in strokes)]."""
    top, bottom, left, right = _box(mask)
    piece = mask[top:bottom, left:right]
    width = right - left
    found = []
    # Where each cut may start: a narrow 1 beside a wide digit puts it far from the even split. Three
    # digits in one mark get nine pairs of starts: with one pair, at thirds, one more of 250 training
    # strips was misread (91.2% against 91.6%; 96.0% against 96.4% had a right reading among the
    # candidates: bench/tune_segmentation.py --singles 300 --strips 250).
    if parts == 2:
        starts = [(f,) for f in (0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85)]
    else:
        starts = [(a, b) for a in (0.22, 0.33, 0.42) for b in (0.58, 0.67, 0.78)]
    for fractions in starts:
        remaining, pieces, crossed = piece.copy(), [], 0.0
        for k in range(1, parts):
            start = int(round(fractions[k - 1] * width))
            cut = _cut_path(piece, start, max(2, width // 8))
            if cut is None:
                break
            path, ink = cut
            left_of = np.arange(width)[None, :] < path[:, None]
            part = remaining & left_of
            remaining = remaining & ~left_of
            pieces.append(part)
            crossed += ink / stroke
        pieces.append(remaining)
        if len(pieces) == parts and all(p.any() for p in pieces):
            full = []
            for p in pieces:
                canvas = np.zeros_like(mask)
                canvas[top:bottom, left:right] = p
                full.append(canvas)
            found.append((full, crossed))
    return found


def _candidates(marks, row_height, stroke):
    """Transitions of the dynamic programme: (from mark i, to mark j, [digit masks], strokes cut)."""
    moves = []
    for i in range(len(marks)):
        union = np.zeros_like(marks[0])
        for j in range(i + 1, min(len(marks), i + MAX_GROUP) + 1):
            union = union | marks[j - 1]
            moves.append((i, j, [union.copy()], 0.0))
        _, _, left, right = _box(marks[i])
        if right - left > 0.4 * row_height:
            for parts in (2, 3):
                if right - left > 0.4 * (parts - 1) * row_height:
                    for pieces, crossed in _cuts(marks[i], parts, stroke):
                        moves.append((i, i + 1, pieces, crossed))
    return moves


def features(marks, read):
    """Every way to read each stretch of marks, with what the score needs: [(i, j, [digit masks],
    strokes cut, [(log-confidence, height / row height, width / height, digit read) per digit])]."""
    ink = np.zeros_like(marks[0])
    for m in marks:
        ink |= m
    top, bottom, _, _ = _box(ink)
    row_height = bottom - top
    moves = _candidates(marks, row_height, _stroke_width(ink))
    probabilities = read(np.stack([to_mnist(d) for _, _, pieces, _ in moves for d in pieces]))
    found, k = [], 0
    for i, j, pieces, crossed in moves:
        digits = []
        for d in pieces:
            confidence = float(probabilities[k].max())
            digits.append(
                (float(np.log(max(confidence, 1e-6))), *_shape(d, row_height), int(probabilities[k].argmax()))
            )
            k += 1
        found.append((i, j, pieces, crossed, digits))
    return found


def score(move, weights=WEIGHTS):
    _, _, _, crossed, digits = move
    total = -weights.cut_ink * max(0.0, crossed - weights.cut_free)
    for log_confidence, height, aspect, _ in digits:
        total += log_confidence + weights.per_digit
        total -= weights.low * max(0.0, 0.55 - height) / 0.55  # a bar or a stroke alone is low
        total -= weights.wide * max(0.0, aspect - weights.wide_above)  # two digits side by side are wide
    return total


def best_split(marks, read, count=None, weights=WEIGHTS):
    """The digit masks of the best reading of `marks` (ink masks left to right); `read` maps a stack
    of 28 x 28 digits to probabilities. With `count`, the best reading with exactly that many."""
    return choose(len(marks), features(marks, read), count, weights)


def choose(n, moves, count=None, weights=WEIGHTS):
    """The best reading among `moves` (from features()): its digit masks, left to right."""
    return _programme(n, [m[:3] for m in moves], [score(m, weights) for m in moves], count)


def _programme(n, moves, scores, count):
    """Best path from mark 0 to mark n over `moves`; with `count`, using exactly that many digits."""
    limit = count if count else n * 3
    best = {(0, 0): (0.0, None)}  # (marks done, digits made) -> (score, (previous state, move))
    for i in range(n):
        for made in range(limit + 1):
            if (i, made) not in best:
                continue
            for m, (a, b, pieces) in enumerate(moves):
                if a != i or made + len(pieces) > limit:
                    continue
                state = (b, made + len(pieces))
                total = best[(i, made)][0] + scores[m]
                if state not in best or total > best[state][0]:
                    best[state] = (total, ((i, made), m))
    ends = [s for s in best if s[0] == n and (count is None or s[1] == count)]
    if not ends:
        return None
    state = max(ends, key=lambda s: best[s][0])
    chosen = []
    while best[state][1] is not None:
        state, m = best[state][1]
        chosen.append(m)
    return [d for m in reversed(chosen) for d in moves[m][2]]
