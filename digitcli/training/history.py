"""Training histories: one row per epoch, numbered from 1. Read from what training saved (a .keras
model, its .json, or a history CSV) and written as CSV."""

import csv
import json
from pathlib import Path

from digitcli.errors import InputFileError
from digitcli.inference import modelfile


def csv_text(history):
    keys = ["epoch"] + sorted({k for row in history for k in row} - {"epoch"})
    lines = [",".join(keys)]
    for row in history:
        lines.append(",".join(str(row.get(k, "")) for k in keys))
    return "\n".join(lines) + "\n"


def read_csv(path):
    """The rows of a history CSV that digitcli itself is writing, or [] when there is none yet."""
    try:
        return _from_csv(path)
    except (FileNotFoundError, InputFileError):
        return []


def _from_csv(path):
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            rows = list(reader)
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputFileError(f"{path}: cannot read a history CSV ({exc})") from None
    header = [h.strip() for h in header or []]
    if not rows or "epoch" not in header:
        raise InputFileError(f"{path}: not a history CSV (needs an epoch column and one row per epoch)")
    history = []
    for line, values in enumerate(rows, 2):
        if not values:
            continue
        if len(values) != len(header):
            raise InputFileError(
                f"{path}: line {line} has {len(values)} values where the header has "
                f"{len(header)}; every row needs one value per column"
            )
        history.append(_row(dict(zip(header, values)), f"{path}: line {line}"))
    return _numbered_from_1(history)


def _row(row, where):
    """One epoch's row with numbers for values; CSVLogger writes NA for a metric an epoch lacked."""
    try:
        out = {k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if v not in ("", "NA", None)}
    except (TypeError, ValueError):
        raise InputFileError(f"{where} has a value that is not a number") from None
    if "epoch" not in out:
        raise InputFileError(f"{where} has no epoch number")
    return out


def _numbered_from_1(history):
    # Keras' own CSVLogger numbers epochs from 0; digitcli's files (and people) from 1.
    if history and history[0]["epoch"] == 0:
        for row in history:
            row["epoch"] += 1
    return history


def _from_metadata(history, where):
    if not isinstance(history, list) or not history or not all(isinstance(r, dict) for r in history):
        raise InputFileError(f"{where}: its history is not a list of per-epoch rows")
    return _numbered_from_1(
        [_row({str(k): v for k, v in r.items()}, f"{where}: epoch row {i}") for i, r in enumerate(history, 1)]
    )


def read_history(path):
    """(label, history rows) for a .keras file, its .json metadata, or a history CSV."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: file not found; give a .keras model, its .json, or a .history.csv")
    if path.suffix == ".keras":
        meta = modelfile.read_metadata(path)
        if not meta.get("history"):
            raise InputFileError(f"{path}: has no training history (not trained by digitcli)")
        return path.stem, _from_metadata(meta["history"], path)
    if path.suffix == ".json":
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            history = meta["history"]
        except (OSError, json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
            raise InputFileError(f"{path}: not digitcli model metadata (no history inside)") from None
        return str(meta.get("name") or path.stem), _from_metadata(history, path)
    if path.suffix == ".csv":
        return path.name.removesuffix(".csv").removesuffix(".history"), _from_csv(path)
    raise InputFileError(f"{path}: not a model or history file; give a .keras, .json or .history.csv")
