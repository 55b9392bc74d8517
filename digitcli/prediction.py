"""`predict-csv`: expand inputs, read them, predict in one batch, and build one record per image."""

import glob
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitcli import digit_csv
from digitcli.errors import InputFileError

STDIN = "-"


@dataclass
class Batch:
    """Everything read from the inputs: the good files' images and the rejected inputs' errors."""

    files: list = field(default_factory=list)  # DigitImages, in input order
    errors: list = field(default_factory=list)  # (position, name, message)
    order: list = field(default_factory=list)  # ("ok", index into files) or ("error", index into errors)


def _is_labels_file(path):
    """A `file,label` CSV kept beside the digits it labels."""
    try:
        with open(path, "rb") as fh:
            return fh.readline(256).strip().lower().replace(b" ", b"").startswith(b"file,label")
    except OSError:
        return False


def expand(arguments, suffixes=(".csv",), skip=()):
    """Each argument as (name, problem): files as given, folders as their sorted *.csv (less labels
    files such as the one given to --labels, kept beside the digits), globs expanded."""
    skip = {Path(p).resolve() for p in skip}
    found, labels_only = [], []
    for arg in arguments:
        path = Path(arg)
        if arg == STDIN:
            found.append((arg, None))
        elif path.is_dir():
            inside = sorted(p for p in path.iterdir()
                            if p.suffix.lower() in suffixes and p.is_file() and p.resolve() not in skip
                            and not _is_labels_file(p))
            if not inside:
                found.append((arg, f"{arg}: folder has no {' or '.join(suffixes)} files"))
            found.extend((str(p), None) for p in inside)
        elif path.is_file() and path.suffix.lower() == ".csv" and _is_labels_file(path):
            labels_only.append(arg)  # met through a shell glob as in a folder: labels, not digits
        elif path.exists():
            found.append((arg, None))
        elif path.is_symlink():
            found.append((arg, f"{arg}: {_broken_link(path)}"))
        elif glob.has_magic(arg):
            matches = [m for m in sorted(glob.glob(arg))
                       if not (m.lower().endswith(".csv") and _is_labels_file(m))]
            found.extend((m, None) for m in matches) if matches else found.append((arg, f"{arg}: no files match"))
        else:
            found.append((arg, f"{arg}: file not found"))
    if not found and labels_only:
        found.append((labels_only[0], f"{labels_only[0]}: a labels file (file,label), not digits; give it to --labels"))
    return found


def _broken_link(path):
    import errno
    import os

    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop (the link leads back to itself); point it at a real file"
    return f"a symbolic link to {os.readlink(path)}, which does not exist"


def unreadable(name, exc):
    """An InputFileError for an input that failed in a way no reader foresaw, so that one strange file
    is reported on its own line and the good inputs beside it are still read."""
    return InputFileError(f"{name}: cannot be read ({type(exc).__name__}: {str(exc)[:200]})")


def read_inputs(arguments, invert=True, strict=False, stdin=None, labels=None):
    """Read every input; `labels` is the --labels value, a file of which is never read as digits."""
    skip = [labels] if labels and Path(labels).is_file() else []
    batch = Batch()
    for name, problem in expand(arguments, skip=skip):
        try:
            if problem:
                raise InputFileError(problem)
            stream = (stdin or sys.stdin.buffer) if name == STDIN else None
            batch.files.append(digit_csv.read(name, invert=invert, stream=stream))
            batch.order.append(("ok", len(batch.files) - 1))
        except Exception as exc:  # noqa: BLE001 - see unreadable()
            if not isinstance(exc, InputFileError):
                exc = unreadable(name, exc)
            if strict:
                raise exc from None
            batch.errors.append((name, str(exc)))
            batch.order.append(("error", len(batch.errors) - 1))
    return batch


def parse_labels(value, batch):
    """--labels as a list of true digits, one per image in input order (None where unknown): digits
    typed in input order ("3,8,9,5,4"), a labels file (labels.py), or else the files' own label
    column."""
    from digitcli import labels

    if value is None:
        found = [f.labels if f.labels is not None else [None] * len(f.images) for f in batch.files]
        return [None if v is None else int(v) for part in found for v in part]
    if labels.is_file(value):
        lookup = labels.read_file(value)
        return [labels.look_up(lookup, f.name, row) for f in batch.files for row in range(1, len(f.images) + 1)]
    return labels.by_position(labels.positional(value), batch.order, [len(f.images) for f in batch.files], "images")


def predict(batch, predictor, labels=None, top_k=None, min_confidence=0.0):
    """One record per image (and one per rejected input), in input order."""
    images = np.concatenate([f.images for f in batch.files]) if batch.files else np.zeros((0, 28, 28), np.uint8)
    probabilities = predictor.probabilities(images)
    best = probabilities.argmax(axis=1) if len(images) else np.zeros(0, dtype=int)
    confidence = probabilities[np.arange(len(best)), best] if len(images) else np.zeros(0)
    ranked = np.argsort(-probabilities, axis=1, kind="stable")[:, :top_k] if top_k else None
    starts = np.cumsum([0] + [len(f.images) for f in batch.files])
    empty = digit_csv.blank(images) if len(images) else np.zeros(0, dtype=bool)

    records = []
    for kind, idx in batch.order:
        if kind == "error":
            name, message = batch.errors[idx]
            records.append({"file": name, "row": None, "prediction": None, "confidence": None, "error": message})
            continue
        for row, i in enumerate(range(starts[idx], starts[idx + 1]), 1):
            if empty[i]:
                where = batch.files[idx].name + (f", row {row}" if starts[idx + 1] - starts[idx] > 1 else "")
                records.append({"file": batch.files[idx].name, "row": row, "prediction": None, "confidence": None,
                                "error": f"{where}: blank image (no ink); nothing to read"})
                continue
            conf = float(confidence[i])
            rec = {"file": batch.files[idx].name, "row": row,
                   "prediction": int(best[i]) if conf >= min_confidence else "?",
                   "confidence": round(conf, 6)}
            if ranked is not None:
                rec["top_k"] = [[int(d), round(float(probabilities[i, d]), 6)] for d in ranked[i]]
            if labels is not None and labels[i] is not None:
                rec["label"] = labels[i]
                rec["correct"] = rec["prediction"] == labels[i]
            records.append(rec)
    return records, probabilities


def columns(records, top_k, base=("file", "row", "prediction", "confidence")):
    """The output columns: `base`, then whichever optional fields the records carry."""
    cols = list(base)
    if top_k:
        cols.append("top_k")
    if any("label" in r for r in records):
        cols += ["label", "correct"]
    if any("error" in r for r in records):
        cols.append("error")
    return cols


def rejected(records):
    """The records of inputs that could not be read (files, or blank images inside them)."""
    return [r for r in records if r.get("error")]


def accuracy(records):
    judged = [r for r in records if "correct" in r]
    right = sum(r["correct"] for r in judged)
    return right, len(judged)
