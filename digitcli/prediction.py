"""`predict-csv`: expand inputs, read them, predict in one batch, and build one record per image."""

import glob
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitcli import digit_csv
from digitcli.errors import InputFileError, UsageProblem

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
    found = []
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
        elif path.exists():
            found.append((arg, None))
        elif glob.has_magic(arg):
            matches = sorted(glob.glob(arg))
            found.extend((m, None) for m in matches) if matches else found.append((arg, f"{arg}: no files match"))
        else:
            found.append((arg, f"{arg}: file not found"))
    return found


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
        except InputFileError as exc:
            if strict:
                raise
            batch.errors.append((name, str(exc)))
            batch.order.append(("error", len(batch.errors) - 1))
    return batch


def parse_labels(value, batch):
    """--labels as a list of true digits, one per image in input order (None where unknown).

    `value` is either digits separated by commas ("3,8,9,5,4", in input order) or a CSV file with
    columns file,label (and optionally row, for files holding many images)."""
    sizes = [len(f.images) for f in batch.files]
    total = sum(sizes)
    if value is None:
        labels = [f.labels if f.labels is not None else [None] * len(f.images) for f in batch.files]
        return [None if v is None else int(v) for part in labels for v in part]
    if not Path(value).is_file():
        try:
            digits = [int(v) for v in value.replace(" ", "").split(",") if v != ""]
        except ValueError:
            raise UsageProblem(f"{value!r} is neither a labels file nor digits separated by commas", "--labels") from None
        if any(d < 0 or d > 9 for d in digits):
            raise UsageProblem(f"{value!r}: labels must be digits 0-9", "--labels")
        if len(digits) != total:
            raise UsageProblem(f"{len(digits)} labels given but the inputs hold {total} images", "--labels")
        return digits
    return _labels_from_file(Path(value), batch)


def _labels_from_file(path, batch):
    import pandas as pd

    try:
        table = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except Exception as exc:  # noqa: BLE001 - a bad labels file is a usage problem, whatever pandas says
        raise UsageProblem(f"{path}: not a readable labels CSV ({exc})", "--labels") from None
    table.columns = [c.strip().lower() for c in table.columns]
    if not {"file", "label"} <= set(table.columns):
        raise UsageProblem(f"{path}: needs a header with columns file,label (and optionally row)", "--labels")
    lookup = {}
    for _, rec in table.iterrows():
        try:
            digit = int(rec["label"])
            row = int(rec["row"]) if "row" in table.columns and pd.notna(rec.get("row")) else 1
        except (TypeError, ValueError):
            raise UsageProblem(f"{path}: label {rec['label']!r} for {rec['file']} is not a digit", "--labels") from None
        lookup[(str(rec["file"]).strip(), row)] = digit
    result = []
    for f in batch.files:
        for row in range(1, len(f.images) + 1):
            key = next((k for k in ((f.name, row), (Path(f.name).name, row)) if k in lookup), None)
            result.append(lookup[key] if key else None)
    return result


def predict(batch, predictor, labels=None, top_k=None, min_confidence=0.0):
    """One record per image (and one per rejected input), in input order."""
    images = np.concatenate([f.images for f in batch.files]) if batch.files else np.zeros((0, 28, 28), np.uint8)
    probabilities = predictor.probabilities(images)
    best = probabilities.argmax(axis=1) if len(images) else np.zeros(0, dtype=int)
    confidence = probabilities[np.arange(len(best)), best] if len(images) else np.zeros(0)
    ranked = np.argsort(-probabilities, axis=1, kind="stable")[:, :top_k] if top_k else None
    starts = np.cumsum([0] + [len(f.images) for f in batch.files])

    records = []
    for kind, idx in batch.order:
        if kind == "error":
            name, message = batch.errors[idx]
            records.append({"file": name, "row": None, "prediction": None, "confidence": None, "error": message})
            continue
        for row, i in enumerate(range(starts[idx], starts[idx + 1]), 1):
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


def accuracy(records):
    judged = [r for r in records if "correct" in r]
    right = sum(r["correct"] for r in judged)
    return right, len(judged)
