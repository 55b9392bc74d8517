"""`prepare`'s outputs: each photo's digits as the seed's 28 x 28 CSVs (or rows of 784), and with
--show a picture of the page and the digits found."""

from pathlib import Path

import numpy as np

from digitcli.errors import to_stderr
from digitcli.reading import pipeline, sources


def _unique_stems(prepared):
    """A file stem per image. Two photos of one name from different folders get `name` and
    `name-2`: they would otherwise write the same CSV."""
    used, stems = set(), []
    for p in prepared:
        stem, n = Path(p.name).stem, 1
        while (stem if n == 1 else f"{stem}-{n}") in used:
            n += 1
        stems.append(stem if n == 1 else f"{stem}-{n}")
        used.add(stems[-1])
    return stems


def _csv_text(rows):
    return "\n".join(",".join(map(str, r)) for r in np.asarray(rows, dtype=int)) + "\n"


def _digit_files(stem, lines):
    """NAME.csv for a photo of one digit, NAME_3.csv for a row's third, NAME_line2_3.csv on a page of
    several lines."""
    if len(lines) > 1:
        return [f"{stem}_line{k}_{i}.csv" for k, n in enumerate(lines, 1) for i in range(1, n + 1)]
    return [f"{stem}_{i}.csv" for i in range(1, lines[0] + 1)] if lines[0] > 1 else [f"{stem}.csv"]


def output_plan(prepared, out, show):
    """[(path, write)] for `prepare`: a folder gets one 28 x 28 CSV per digit, a FILE.csv one row of
    784 per digit (line by line, left to right); --show adds NAME-prepared.png beside them."""
    out = Path(out)
    plan = []
    stems = _unique_stems(prepared)
    if out.suffix.lower() == ".csv":
        rows = [d.reshape(784) for p in prepared for d in p.digits]
        if rows:
            plan.append((out, _csv_text(rows)))
        folder = out.parent
    else:
        folder = out
        for p, stem in zip(prepared, stems):
            for name, digit in zip(_digit_files(stem, p.lines), p.digits):
                plan.append((out / name, _csv_text(digit)))
    if show:
        plan += [(folder / f"{stem}-prepared.png", p) for p, stem in zip(prepared, stems)]
    return plan


def write_prepared(prepared, out, show=False, overwrite=False):
    """Write what `prepare` makes; refuses, before writing anything, to replace an existing file
    unless `overwrite`. Returns the paths written."""
    from digitcli import fileio
    from digitcli.errors import OutputError

    plan = output_plan(prepared, out, show)
    taken = [path for path, _ in plan if path.exists() or path.is_symlink()]
    if taken and not overwrite:
        more = f" (and {len(taken) - 1} more)" if len(taken) > 1 else ""
        raise OutputError(f"{taken[0]}: already exists{more}; choose another -o, or add --overwrite to replace")
    for path, content in plan:
        if isinstance(content, str):
            fileio.write_text(path, content)
        else:
            from digitcli.report import plots

            plots.save(plots.draw_prepared(content), path)
    return [path for path, _ in plan]


def prepare_files(
    arguments,
    out,
    *,
    count=None,
    show=False,
    strict=False,
    overwrite=False,
    note=to_stderr,
    model=None,
    progress=sources.no_progress,
):
    """`prepare` from end to end: (paths written, number of images rejected). With `model` (a path),
    the model decides how touching or broken digits are split, as in predict-image."""
    read = None
    if model is not None:
        from digitcli.errors import ModelFileError
        from digitcli.inference.predictors import load_predictor

        try:
            # the network's own probabilities: the segmentation's weights were fitted on them
            read = load_predictor(model, note=lambda message: None, calibrated=False).probabilities
        except ModelFileError as exc:
            note(f"note: splitting digits by their shapes alone ({exc})")
    batch = pipeline.read_files(arguments, "number", strict=strict, progress=progress, count=count, read=read)
    for _, message in batch.errors:
        note(f"error: {message}")
    return write_prepared([f.page for f in batch.files], out, show, overwrite), len(batch.errors)
