"""--labels, the true digits or numbers of the inputs: one parser for predict-csv, predict-image and
plot. Either a list in input order ("3,8,9,5,4") or a CSV file with a `file,label` header (and an
optional `row` column for files holding many images)."""

import csv
import io
from pathlib import Path

from digitcli.errors import UsageProblem

MAX_LABELS_BYTES = 16 << 20


def is_file(value):
    return value is not None and Path(value).is_file()


def _check(label, numbers, where):
    label = label.strip()
    ok = label.isascii() and label.isdigit() and (numbers or len(label) == 1)
    if not ok:
        what = "a number written in digits" if numbers else "a digit 0-9"
        raise UsageProblem(f"{where}: label {label!r} is not {what}", "--labels")
    return label if numbers else int(label)


def positional(value, numbers=False):
    """Labels typed on the command line, in input order."""
    parts = [v.strip() for v in value.split(",") if v.strip() != ""]
    if not parts:
        raise UsageProblem(f"{value!r} is neither a labels file nor labels separated by commas", "--labels")
    if not all(v.lstrip("-").isascii() and v.lstrip("-").isdigit() for v in parts):
        raise UsageProblem(
            f"{value!r} is neither a labels file nor {'numbers' if numbers else 'digits 0-9'} separated by commas",
            "--labels",
        )
    if not all(v.isdigit() and (numbers or len(v) == 1) for v in parts):
        raise UsageProblem(f"{value!r}: labels must be {'whole numbers' if numbers else 'digits 0-9'}", "--labels")
    return [v if numbers else int(v) for v in parts]


def read_file(path, numbers=False):
    """{(file name, row): label} from a labels CSV. Digits 0-9 (ints) unless `numbers` (strings)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_LABELS_BYTES + 1)
    except OSError as exc:
        raise UsageProblem(f"{path}: cannot read ({exc.strerror or exc})", "--labels") from None
    if len(data) > MAX_LABELS_BYTES:
        raise UsageProblem(f"{path}: larger than {MAX_LABELS_BYTES >> 20} MiB; not a labels file", "--labels")
    try:
        text = data.decode("utf-8-sig")  # a BOM from a spreadsheet export is not part of the header
    except UnicodeDecodeError:
        raise UsageProblem(
            f"{path}: not UTF-8 text; save the labels as a UTF-8 CSV with columns file,label", "--labels"
        ) from None
    try:
        # newline="": the csv module's own line handling, so old Mac files (\r alone) read too.
        rows = [r for r in csv.reader(io.StringIO(text, newline="")) if any(cell.strip() for cell in r)]
    except csv.Error as exc:  # a cell over the csv module's 128 KiB limit, say
        raise UsageProblem(f"{path}: not a readable CSV ({exc}); expected columns file,label", "--labels") from None
    header = [c.strip().lower() for c in rows[0]] if rows else []
    if "file" not in header or "label" not in header:
        raise UsageProblem(f"{path}: needs a header line with columns file,label (and optionally row)", "--labels")
    col = {name: header.index(name) for name in ("file", "label", "row") if name in header}
    lookup = {}
    for line, cells in enumerate(rows[1:], 2):
        where = f"{path}: line {line}"
        if len(cells) != len(header):
            raise UsageProblem(f"{where} has {len(cells)} values where the header has {len(header)}", "--labels")
        row = 1
        if "row" in col and cells[col["row"]].strip():
            text_row = cells[col["row"]].strip()
            if not (text_row.isascii() and text_row.isdigit() and int(text_row) >= 1):
                raise UsageProblem(f"{where}: row {text_row!r} is not a row number (1, 2, ...)", "--labels")
            row = int(text_row)
        key, label = (cells[col["file"]].strip(), row), _check(cells[col["label"]], numbers, where)
        if lookup.get(key, label) != label:
            raise UsageProblem(
                f"{where}: {key[0]} row {row} is labelled {lookup[key]} earlier and {label} here; keep one",
                "--labels",
            )
        lookup[key] = label
    return lookup


def look_up(lookup, name, row=1):
    """The label of `name`'s row: by the name as given, else by the file name alone."""
    for key in ((name, row), (Path(name).name, row)):
        if key in lookup:
            return lookup[key]
    return None


def by_position(values, order, sizes, what):
    """Labels typed in input order, mapped onto the images read. `order` is the inputs' ("ok", i) /
    ("error", j) list and `sizes` the image count of each good input. A list with one label per
    input still fits when some inputs were rejected: theirs are skipped. Returns one label per image."""
    total = sum(sizes)
    if len(values) == total:
        return list(values)
    if len(values) == len(order) and all(n == 1 for n in sizes):
        return [v for (kind, _), v in zip(order, values) if kind == "ok"]
    raise UsageProblem(f"{len(values)} labels given but the inputs hold {total} {what}", "--labels")


def for_records(value, batch, numbers=False):
    """--labels as one true label per record of the good inputs in `batch` (None where unknown):
    labels typed in input order ("3,8,9,5,4", or numbers "7,2025" with `numbers`), a labels file
    (looked up by file name and row), or else the inputs' own labels (a CSV's label column)."""
    if value is None:
        return [v for f in batch.files for v in (f.labels if f.labels is not None else [None] * len(f.sizes))]
    if is_file(value):
        lookup = read_file(value, numbers=numbers)
        found = [look_up(lookup, f.name, row) for f in batch.files for row in range(1, len(f.sizes) + 1)]
        if lookup and found and all(label is None for label in found):
            import click

            click.echo(
                f"note: none of the {len(lookup)} labels in {value} matched an input; labels are looked up "
                "by file name as given or by its base name",
                err=True,
            )
        return found
    sizes = [len(f.sizes) for f in batch.files]
    return by_position(positional(value, numbers=numbers), batch.order, sizes, "images")
