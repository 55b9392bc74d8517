"""One record per thing read, in input order: what predict-csv, predict-image, plot --digits and the
API print. A digit CSV's row is a record of one digit (`prediction` a digit); a photo is a record of
the number its k digits make (`prediction` a string, with each digit's confidence). Inputs that could
not be read, and blank images, become records with an `error`."""

import numpy as np

from digitcli.reading.digit_csv import blank

BASE_COLUMNS = {
    "digits": ("file", "row", "prediction", "confidence"),
    "number": ("file", "prediction", "confidence", "digits"),
}


def build(batch, probabilities, kind, truth=None, top_k=None, min_confidence=0.0, refused=None):
    """The records of `batch` (sources.Batch of formats.Input) from the probabilities of all its
    digits in order; `truth` holds one label (or None) per record of the good inputs; `refused`, per
    digit, why it is no digit (None to read it), as reading/nondigit.py says."""
    per_record = [n for f in batch.files for n in f.sizes]
    first = np.cumsum([0, *per_record])  # each record's first digit
    first_record = np.cumsum([0, *(len(f.sizes) for f in batch.files)])  # each input's first record
    empty = blank(np.concatenate([f.digits for f in batch.files])) if per_record else np.zeros(0, bool)
    truth = truth if truth is not None else [None] * len(per_record)
    refused = refused if refused is not None else [None] * int(first[-1])
    # Per-digit NumPy calls cost more than the model on 10,000 rows: one call over all digits instead.
    ranked = _all_ranked(probabilities, top_k) if kind == "digits" else None
    best = probabilities.max(axis=1).tolist() if kind == "digits" else None  # unrounded, for min_confidence
    out = []
    for state, idx in batch.order:
        if state == "error":
            name, message = batch.errors[idx]
            out.append({"file": name, **({"row": None} if kind == "digits" else {}), "prediction": None,
                        "confidence": None, "error": message})  # fmt: skip
            continue
        source = batch.files[idx]
        start = first[first_record[idx]]  # the input's first digit
        boxes = source.page.boxes() if kind == "number" and source.page is not None else None
        for row, r in enumerate(range(first_record[idx], first_record[idx + 1]), 1):
            probs, why = probabilities[first[r] : first[r + 1]], refused[first[r] : first[r + 1]]
            if kind == "digits":
                at = first[r]
                out.append(
                    _digit(source, row, ranked[at], best[at], empty[at], truth[r], top_k, min_confidence, why[0])
                )
            else:
                place = (row, boxes[first[r] - start : first[r + 1] - start]) if boxes else None
                out.append(_number(source, probs, truth[r], top_k, min_confidence, why, place))
    return out


def _ranked(p, top_k):
    return [[int(d), round(float(p[d]), 6)] for d in np.argsort(-p, kind="stable")[:top_k]]


def _all_ranked(probabilities, top_k):
    """Per digit: [[digit, probability], ...] most likely first, at least the best one, as _ranked does."""
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, : max(1, top_k or 0)]
    digits, values = order.tolist(), np.take_along_axis(probabilities, order, axis=1).tolist()
    return [[[d, round(v, 6)] for d, v in zip(ds, vs)] for ds, vs in zip(digits, values)]


def _digit(source, row, ranked, confidence, empty, label, top_k, min_confidence, why):
    if empty:
        where = source.name + (f", row {row}" if len(source.sizes) > 1 else "")
        return {"file": source.name, "row": row, "prediction": None, "confidence": None,
                "error": f"{where}: blank image (no ink); nothing to read"}  # fmt: skip
    best, conf = ranked[0]
    rec = {"file": source.name, "row": row, "prediction": "-" if why else best if confidence >= min_confidence else "?",
           "confidence": conf}  # fmt: skip
    if why:
        rec["reason"] = f"not a digit: {why}"
    if top_k:
        rec["top_k"] = ranked
    if label is not None:
        rec["label"] = label
        rec["correct"] = rec["prediction"] == label
    return rec


def _number(source, probs, label, top_k, min_confidence, why, place=None):
    """A photo's line of digits; `place` is (line number, each digit's (x, y, width, height))."""
    best, conf = probs.argmax(axis=1), probs.max(axis=1)
    text = "".join("-" if w else str(d) if c >= min_confidence else "?" for d, c, w in zip(best, conf, why))
    rec = {"file": source.name}
    if place:
        rec["line"] = place[0]
    rec |= {
        "prediction": text,
        "confidence": round(float(conf.min()), 6),
        "digits": [[int(d), round(float(c), 6)] for d, c in zip(best, conf)],
    }
    if place:
        rec["box"] = _box(_union(place[1]))
        rec["boxes"] = [
            _box(b) | {"digit": int(d), "confidence": round(float(c), 6)} for b, d, c in zip(place[1], best, conf)
        ]
    if any(why):
        many = len(why) > 1
        rec["reason"] = "not a digit: " + "; ".join(
            (f"digit {k}: " if many else "") + w for k, w in enumerate(why, 1) if w
        )
    if top_k:
        rec["top_k"] = [_ranked(p, top_k) for p in probs]
    if label is not None:
        rec["label"] = label
        rec["correct"] = text == label
    return rec


def _box(box):
    return dict(zip(("x", "y", "width", "height"), box))


def _union(boxes):
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    return x0, y0, max(b[0] + b[2] for b in boxes) - x0, max(b[1] + b[3] for b in boxes) - y0


def columns(records, top_k, kind):
    """The output columns: the kind's own, then whichever optional fields the records carry. A
    photo's line number is a column when some photo holds several lines; its boxes are in JSON."""
    cols = list(BASE_COLUMNS[kind])
    if any(r.get("line", 1) > 1 for r in records):
        cols.insert(1, "line")
    if top_k:
        cols.append("top_k")
    if any("label" in r for r in records):
        cols += ["label", "correct"]
    if any("reason" in r for r in records):
        cols.append("reason")
    if any("error" in r for r in records):
        cols.append("error")
    return cols


def rejected(records):
    """The records of inputs that could not be read (files, or blank images inside them)."""
    return [r for r in records if r.get("error")]


def accuracy(records):
    """(right, judged) over the records that carry a label."""
    judged = [r for r in records if "correct" in r]
    right = sum(r["correct"] for r in judged)
    return right, len(judged)
