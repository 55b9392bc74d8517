"""How often does digitcli say "not a digit"? On non-digits drawn by code (tests/bench/nondigit_set.py:
dots, dashes, scribbles, letters, crossed-out digits, empty lined paper), read as the page and
predict-image read a drawing; and on MNIST digits, read as predict-csv reads them (MNIST has no page,
so only the 28 x 28 checks apply). The target: at least 95% of non-digits refused, at most 0.5% of
MNIST's test digits.

    python bench/nondigits.py --data ../shared/data/mnist [--model models/robust.keras] [--per-kind 40]
        [--set test|validation]

A drawing counts as refused when any digit found in it reads as "-" (or when no ink is found at all).
Prints one row per kind, then the MNIST row and the reasons given for its refusals.
"""

import argparse
import collections
import io
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "bench"))

import nondigit_set  # noqa: E402

from digitcli.data.datasets import load_raw  # noqa: E402
from digitcli.errors import InputFileError  # noqa: E402
from digitcli.inference.predictors import load_predictor  # noqa: E402
from digitcli.reading import nondigit, pipeline  # noqa: E402


def read_page(page, name, predictor):
    """The record predict-image makes of a drawn page, or None when it finds no ink."""
    data = io.BytesIO()
    Image.fromarray(page).save(data, "PNG")
    predictor = pipeline.Remembered(predictor)
    try:
        kind, batch = pipeline.read_body(data.getvalue(), "image/png", read=predictor.network_probabilities)
    except InputFileError:
        return None
    return pipeline.predict(batch, predictor, kind)[0][0]


def drawn_rows(predictor, per_kind, seed):
    rows = []
    for kind, pages in nondigit_set.pages(per_kind, seed).items():
        records = [read_page(page, f"{kind}{i}", predictor) for i, page in enumerate(pages)]
        refused = sum(r is None or "reason" in r for r in records)
        rows.append((kind, len(pages), refused))
    return rows


def mnist_row(predictor, data, which):
    raw = load_raw(data)
    images = raw.x_train[-10_000:] if which == "validation" else raw.x_test
    reasons = nondigit.reasons(images, predictor.probabilities(images))
    kinds = collections.Counter(r.split(" (")[0] for r in reasons if r)
    return len(images), sum(r is not None for r in reasons), kinds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="MNIST folder (four IDX files)")
    parser.add_argument("--model", default=str(ROOT / "models" / "robust.keras"))
    parser.add_argument("--per-kind", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", choices=("test", "validation"), default="test")
    args = parser.parse_args(argv)
    predictor = load_predictor(args.model)
    print(f"{'kind':12s} {'images':>7s} {'refused':>8s} {'rate':>7s}")
    rows = drawn_rows(predictor, args.per_kind, args.seed)
    for kind, n, refused in rows:
        print(f"{kind:12s} {n:7d} {refused:8d} {100 * refused / n:6.1f}%")
    n_all, refused_all = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"{'non-digits':12s} {n_all:7d} {refused_all:8d} {100 * refused_all / n_all:6.1f}%")
    n, refused, kinds = mnist_row(predictor, args.data, args.set)
    print(f"{'MNIST ' + args.set:12s} {n:7d} {refused:8d} {100 * refused / n:6.2f}%")
    for why, count in kinds.most_common():
        print(f"  {count:5d}  {why}")


if __name__ == "__main__":
    main()
