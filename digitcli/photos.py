"""`prepare` and `predict-image`: photos and scans of handwritten digits, one digit or a row of them."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitcli.errors import InputFileError, UsageProblem
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
    from digitcli.prediction import expand

    done, errors, order = [], [], []
    for name, problem in expand(arguments, suffixes=IMAGE_SUFFIXES):
        try:
            if problem:
                raise InputFileError(problem)
            done.append(prepare(name, count))
            order.append(("ok", len(done) - 1))
        except InputFileError as exc:
            if strict:
                raise
            errors.append((name, str(exc)))
            order.append(("error", len(errors) - 1))
    return done, errors, order


def parse_labels(value, images):
    """True numbers per image: "7,2025" in input order, or a CSV file of file,label."""
    if value is None:
        return [None] * len(images)
    if Path(value).is_file():
        import csv

        with open(value, newline="") as fh:
            rows = {r["file"].strip(): r["label"].strip() for r in csv.DictReader(fh)
                    if r.get("file") and r.get("label")}
        return [rows.get(p.name, rows.get(Path(p.name).name)) for p in images]
    labels = [v.strip() for v in value.split(",")]
    if not all(v.isdigit() for v in labels):
        raise UsageProblem(f"{value!r} is neither a labels file nor numbers separated by commas", "--labels")
    if len(labels) != len(images):
        raise UsageProblem(f"{len(labels)} labels given but {len(images)} images were read", "--labels")
    return labels


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
