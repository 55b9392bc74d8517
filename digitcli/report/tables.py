"""Render results for stdout: aligned tables for people, CSV and JSON Lines for programs."""

import csv
import io
import json


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (list, tuple)) and v and isinstance(v[0], (list, tuple)) for v in value):
            return " | ".join(_cell(v) for v in value)  # one top-k list per digit of a number
        # [[digit, probability], ...] reads best as "3:0.9120 8:0.0510"
        return " ".join(f"{v[0]}:{v[1]:.4f}" if isinstance(v, (list, tuple)) else _cell(v) for v in value)
    return str(value)


def table(rows, columns):
    """A plain aligned text table; numbers right-aligned, text left-aligned."""
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [all(isinstance(row.get(c), (int, float)) or row.get(c) is None for row in rows) for c in columns]

    def line(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(columns)] + [line(r) for r in cells])


def csv_text(rows, columns):
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(cells)
    return buf.getvalue().rstrip("\n")


def json_lines(rows):
    return "\n".join(json.dumps(row, separators=(",", ":")) for row in rows)


def kaggle(rows):
    """Kaggle's Digit Recognizer submission: `ImageId,Label`, images numbered from 1 in input order."""
    return "\n".join(["ImageId,Label"] + [f"{i},{row['prediction']}" for i, row in enumerate(rows, 1)])


def render(rows, columns, fmt):
    if fmt == "kaggle":
        return kaggle(rows)
    if fmt == "json":
        return json_lines(rows)
    if fmt == "csv":
        return csv_text(rows, columns)
    return table(rows, columns)


def percent(x):
    return "n/a" if x is None else f"{100 * x:.2f}%"


def evaluation_text(result):
    lines = [
        f"model       {result['model']} ({result.get('architecture') or 'unknown'}, {result['backend']} backend)",
        f"data        {result['data']} ({result['images']:,} test images)",
        f"accuracy    {percent(result['accuracy'])} ({result['correct']:,} of {result['images']:,})",
        f"NLL         {result['nll']:.4f} (cross-entropy of the {_calibrated(result)} probabilities)",
        f"ECE         {percent(result['ece'])} (expected calibration error, 15 confidence bins)",
        "",
        "per-class accuracy",
        "  " + "  ".join(f"{d}: {percent(a)}" for d, a in enumerate(result["per_class_accuracy"][:5])),
        "  " + "  ".join(f"{d}: {percent(a)}" for d, a in enumerate(result["per_class_accuracy"][5:], 5)),
        "",
        "confusion matrix (rows: true digit, columns: predicted digit)",
    ]
    matrix = result["confusion_matrix"]
    width = max(4, max(len(str(v)) for row in matrix for v in row) + 1)
    lines.append("    " + "".join(str(d).rjust(width) for d in range(10)))
    for d, row in enumerate(matrix):
        lines.append(f"  {d} " + "".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def _calibrated(result):
    t = result.get("temperature")
    if isinstance(t, list):
        return "calibrated" if all(t) else "partly calibrated"
    return f"calibrated (T = {t:.3f})" if t else "uncalibrated"


def evaluation_rows(result):
    """For --format csv: a first row `all` with the overall accuracy, NLL and ECE, then one row per true
    digit with its accuracy and its row of the confusion matrix."""
    rows = [
        {
            "digit": "all",
            "images": result["images"],
            "accuracy": result["accuracy"],
            "nll": result["nll"],
            "ece": result["ece"],
        }
    ]
    for d, row in enumerate(result["confusion_matrix"]):
        rows.append(
            {
                "digit": d,
                "images": sum(row),
                "accuracy": result["per_class_accuracy"][d],
                **{f"pred_{p}": v for p, v in enumerate(row)},
            }
        )
    return rows, ["digit", "images", "accuracy", "nll", "ece"] + [f"pred_{p}" for p in range(10)]


def presets_text(rows, width=None):
    """`digitcli presets` for people: each recipe, what it reproduces, and the target, wrapped to the
    terminal's width (at most 100 characters: longer lines are hard to read)."""
    import shutil
    import textwrap

    width = width or max(60, min(100, shutil.get_terminal_size((100, 24)).columns))
    indent = " " * 15
    return "\n".join(
        textwrap.fill(f"{row['preset']:14s} {row['recipe']}", width, subsequent_indent=indent)
        + "\n"
        + textwrap.fill(
            f"expect {row['reproduces']}; this project's target {100 * row['target']:.1f}%",
            width,
            initial_indent=indent,
            subsequent_indent=indent,
        )
        for row in rows
    )


def evaluation_report(result, fmt):
    """`evaluate`'s output: a table for people, csv rows, or the whole result as JSON."""
    if fmt == "json":
        return json.dumps(result, indent=2)
    if fmt == "csv":
        return render(*evaluation_rows(result), "csv")
    return evaluation_text(result)
