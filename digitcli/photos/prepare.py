"""`prepare` and `predict-image`: photos and scans of handwritten digits, one digit or a row of them."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitcli.data import inputs, labels
from digitcli.errors import to_stderr
from digitcli.photos.imageprep import IMAGE_SUFFIXES, page_mask, read_gray, to_mnist, working_copy
from digitcli.photos.segment import split_digits


@dataclass
class Prepared:
    name: str
    gray: np.ndarray  # the page as read
    masks: list  # one ink mask per digit, left to right
    digits: np.ndarray  # uint8 (k, 28, 28), MNIST style


def prepare(path, count=None, data=None, read=None):
    """Read an image (the file at `path`, or the bytes `data` named `path`) and return its digits in
    MNIST style; `count` forces how many there are; `read` (a predictor's probabilities) lets the
    model choose how the ink is split into digits."""
    name = str(path)
    gray = working_copy(read_gray(path, data))
    mask = page_mask(gray, name)
    masks = [mask] if count == 1 else split_digits(mask, count, name, read)
    return Prepared(name, gray, masks, np.stack([to_mnist(m) for m in masks]))


def read_images(arguments, count=None, strict=False, read=None, progress=inputs.no_progress):
    """A Batch of Prepared images for files, folders of images and globs."""
    return inputs.read_all(
        arguments,
        lambda name: prepare(name, count, read=read),
        suffixes=IMAGE_SUFFIXES,
        strict=strict,
        progress=progress,
        label="reading images",
    )


def parse_labels(value, batch):
    """True numbers per image read: "7,2025" in input order, or a labels file of file,label."""
    images = batch.files
    if value is None:
        return [None] * len(images)
    if labels.is_file(value):
        lookup = labels.read_file(value, numbers=True)
        return [labels.look_up(lookup, p.name) for p in images]
    return labels.by_position(labels.positional(value, numbers=True), batch.order, [1] * len(images), "images")


def records(batch, predictor, truth, top_k=None, min_confidence=0.0):
    """One record per image: the digits read as a string, the lowest digit confidence, each digit's."""
    images, errors, order = batch.files, batch.errors, batch.order
    stacked = np.concatenate([im.digits for im in images]) if images else np.zeros((0, 28, 28), np.uint8)
    probabilities = predictor.probabilities(stacked)
    starts = np.cumsum([0] + [len(im.digits) for im in images])
    out = []
    for kind, idx in order:
        if kind == "error":
            name, message = errors[idx]
            out.append({"file": name, "prediction": None, "confidence": None, "error": message})
            continue
        probs = probabilities[starts[idx] : starts[idx + 1]]
        best, conf = probs.argmax(axis=1), probs.max(axis=1)
        text = "".join(str(d) if c >= min_confidence else "?" for d, c in zip(best, conf))
        rec = {
            "file": images[idx].name,
            "prediction": text,
            "confidence": round(float(conf.min()), 6),
            "digits": [[int(d), round(float(c), 6)] for d, c in zip(best, conf)],
        }
        if top_k:
            ranked = np.argsort(-probs, axis=1, kind="stable")[:, :top_k]
            rec["top_k"] = [[[int(d), round(float(p[d]), 6)] for d in r] for p, r in zip(probs, ranked)]
        if truth[idx] is not None:
            rec["label"] = truth[idx]
            rec["correct"] = text == truth[idx]
        out.append(rec)
    return out


def columns(recs, top_k):
    return inputs.columns(recs, top_k, base=("file", "prediction", "confidence", "digits"))


def read_numbers(
    arguments,
    models,
    backend="auto",
    *,
    count=None,
    strict=False,
    labels_value=None,
    top_k=None,
    min_confidence=0.0,
    note=to_stderr,
    progress=inputs.no_progress,
):
    """predict-image from end to end: (records, columns, number of images rejected)."""
    from digitcli.inference.predictors import load_predictors

    predictor = load_predictors(models, backend, note=note)
    batch = read_images(arguments, count, strict, read=predictor.probabilities, progress=progress)
    for _, message in batch.errors:
        note(f"error: {message}")
    truth = parse_labels(labels_value, batch)
    recs = records(batch, predictor, truth, top_k, min_confidence)
    return recs, columns(recs, top_k), len(batch.errors)


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


def output_plan(prepared, out, show):
    """[(path, write)] for `prepare`: a folder gets one 28 x 28 CSV per digit, a FILE.csv one row of
    784 per digit; --show adds NAME-prepared.png beside them."""
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
            many = len(p.digits) > 1
            for i, digit in enumerate(p.digits, 1):
                plan.append((out / (f"{stem}_{i}.csv" if many else f"{stem}.csv"), _csv_text(digit)))
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
    progress=inputs.no_progress,
):
    """`prepare` from end to end: (paths written, number of images rejected). With `model` (a path),
    the model decides how touching or broken digits are split, as in predict-image."""
    read = None
    if model is not None:
        from digitcli.errors import ModelFileError
        from digitcli.inference.predictors import load_predictor

        try:
            read = load_predictor(model, note=lambda message: None).probabilities
        except ModelFileError as exc:
            note(f"note: splitting digits by their shapes alone ({exc})")
    batch = read_images(arguments, count, strict, read=read, progress=progress)
    for _, message in batch.errors:
        note(f"error: {message}")
    return write_prepared(batch.files, out, show, overwrite), len(batch.errors)
