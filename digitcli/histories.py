"""Read a training history from what training saved: a .keras model, its .json, or a history CSV."""

import csv
import json
from pathlib import Path

from digitcli import modelfile
from digitcli.errors import InputFileError


def _from_csv(path):
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputFileError(f"{path}: cannot read a history CSV ({exc})") from None
    if not rows or "epoch" not in rows[0]:
        raise InputFileError(f"{path}: not a history CSV (needs an epoch column and one row per epoch)")
    history = []
    for i, row in enumerate(rows, 2):
        try:
            history.append({k: (int(v) if k == "epoch" else float(v)) for k, v in row.items()
                            if v not in ("", "NA", None)})
        except ValueError:
            raise InputFileError(f"{path}: line {i} has a value that is not a number") from None
    # Keras' own CSVLogger numbers epochs from 0; digitcli's files (and people) from 1.
    if history and history[0]["epoch"] == 0:
        for row in history:
            row["epoch"] += 1
    return history


def read_history(path):
    """(label, history rows) for a .keras file, its .json metadata, or a history CSV."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: file not found; give a .keras model, its .json, or a .history.csv")
    if path.suffix == ".keras":
        meta = modelfile.read_metadata(path)
        if not meta.get("history"):
            raise InputFileError(f"{path}: has no training history (not trained by digitcli)")
        return path.stem, meta["history"]
    if path.suffix == ".json":
        try:
            meta = json.loads(path.read_text())
            return meta.get("name", path.stem), meta["history"]
        except (OSError, json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
            raise InputFileError(f"{path}: not digitcli model metadata (no history inside)") from None
    if path.suffix == ".csv":
        return path.name.removesuffix(".csv").removesuffix(".history"), _from_csv(path)
    raise InputFileError(f"{path}: not a model or history file; give a .keras, .json or .history.csv")
