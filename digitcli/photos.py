"""`prepare` and `predict-image`: photos and scans of handwritten digits, one digit or a row of them."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitcli.errors import InputFileError
from digitcli.imageprep import IMAGE_SUFFIXES, page_mask, read_gray, to_mnist
from digitcli.segment import split_digits


@dataclass
class Prepared:
    name: str
    gray: np.ndarray  # the page as read
    masks: list  # one ink mask per digit, left to right
    digits: np.ndarray  # uint8 (k, 28, 28), MNIST style


def prepare(path, count=None):
    """Read an image and return its digits in MNIST style; `count` forces how many there are."""
    name = str(path)
    gray = read_gray(path)
    mask = page_mask(gray, name)
    masks = [mask] if count == 1 else split_digits(mask, count, name)
    return Prepared(name, gray, masks, np.stack([to_mnist(m) for m in masks]))


def read_images(arguments, count=None, strict=False):
    """(prepared images, [(name, error)], order) for files, folders of images and globs."""
    from digitcli.prediction import expand, unreadable

    done, errors, order = [], [], []
    for name, problem in expand(arguments, suffixes=IMAGE_SUFFIXES):
        try:
            if problem:
                raise InputFileError(problem)
            done.append(prepare(name, count))
            order.append(("ok", len(done) - 1))
        except Exception as exc:  # noqa: BLE001 - one strange image must not stop the rest
            if not isinstance(exc, InputFileError):
                exc = unreadable(name, exc)
            if strict:
                raise exc from None
            errors.append((name, str(exc)))
            order.append(("error", len(errors) - 1))
    return done, errors, order


def parse_labels(value, images, order):
    """True numbers per image read: "7,2025" in input order, or a labels file of file,label."""
    from digitcli import labels

    if value is None:
        return [None] * len(images)
    if labels.is_file(value):
        lookup = labels.read_file(value, numbers=True)
        return [labels.look_up(lookup, p.name) for p in images]
    return labels.by_position(labels.positional(value, numbers=True), order, [1] * len(images), "images")


def records(images, errors, order, predictor, labels, top_k=None, min_confidence=0.0):
    """One record per image: the digits read as a string, the lowest digit confidence, each digit's."""
    stacked = np.concatenate([im.digits for im in images]) if images else np.zeros((0, 28, 28), np.uint8)
    probabilities = predictor.probabilities(stacked)
    starts = np.cumsum([0] + [len(im.digits) for im in images])
    out = []
    for kind, idx in order:
        if kind == "error":
            name, message = errors[idx]
            out.append({"file": name, "prediction": None, "confidence": None, "error": message})
            continue
        probs = probabilities[starts[idx]:starts[idx + 1]]
        best, conf = probs.argmax(axis=1), probs.max(axis=1)
        text = "".join(str(d) if c >= min_confidence else "?" for d, c in zip(best, conf))
        rec = {"file": images[idx].name, "prediction": text, "confidence": round(float(conf.min()), 6),
               "digits": [[int(d), round(float(c), 6)] for d, c in zip(best, conf)]}
        if top_k:
            ranked = np.argsort(-probs, axis=1, kind="stable")[:, :top_k]
            rec["top_k"] = [[[int(d), round(float(p[d]), 6)] for d in r] for p, r in zip(probs, ranked)]
        if labels[idx] is not None:
            rec["label"] = labels[idx]
            rec["correct"] = text == labels[idx]
        out.append(rec)
    return out


def columns(recs, top_k):
    from digitcli.prediction import columns as predict_columns

    return predict_columns(recs, top_k, base=("file", "prediction", "confidence", "digits"))


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
            from digitcli import plots

            plots.save(plots.draw_prepared(content), path)
    return [path for path, _ in plan]
