"""`digitcli predict-csv`, `predict-image` and `prepare`: commands that read a user's digits."""

import sys

import click

from digitcli import settings
from digitcli.cliparams import (
    CONTEXT,
    FiniteRange,
    allow_nondigits_option,
    backend_option,
    count_option,
    digit_count,
    echo_accuracy,
    model_option,
    model_paths,
    models_option,
    note,
    terminal_progress,
)


@click.command("predict-csv", context_settings=CONTEXT)
@click.argument("inputs", nargs=-1, required=True, metavar="FILE|DIR|GLOB|-...")
@models_option()
@click.option(
    "--format",
    "fmt",
    type=click.Choice((*settings.FORMATS, "kaggle")),
    default="table",
    help="table for people; csv; json (JSON Lines, one record per image); kaggle (the Digit "
    "Recognizer's submission file: ImageId,Label).",
)
@click.option("--top-k", type=click.IntRange(1, 10), default=None, help="Also list the K most likely digits.")
@click.option(
    "--labels",
    default=None,
    metavar="FILE|D,D,...",
    help="True digits: a CSV of file,label or digits in input order; adds correct and accuracy.",
)
@click.option(
    "--min-confidence", type=FiniteRange(0, 1), default=0.0, help="Report predictions less confident than this as '?'."
)
@allow_nondigits_option
@click.option("--invert/--no-invert", default=True, help="Invert images drawn dark on light.")
@click.option("--strict", is_flag=True, help="Stop at the first input that cannot be read.")
@backend_option
def predict_csv(inputs, models, fmt, top_k, labels, min_confidence, invert, strict, backend, allow_nondigits):
    """Classify 28x28 digits stored as CSV (0 = background, 255 = ink).

    Reads files, folders (every *.csv inside), globs and - (standard input). Exit status: 0 when every
    input was read, 1 when some were rejected (they are listed with an error field), 2 for bad usage."""
    from digitcli.inference.predict import predict_files
    from digitcli.reading.records import rejected
    from digitcli.report.tables import render

    if fmt == "kaggle" and min_confidence:
        raise click.BadParameter(
            "a Kaggle submission needs a digit for every image; drop --min-confidence", param_hint="--min-confidence"
        )
    records, columns = predict_files(
        inputs,
        model_paths(models),
        backend,
        invert=invert,
        strict=strict,
        labels_value=labels,
        top_k=top_k,
        min_confidence=min_confidence,
        allow_nondigits=allow_nondigits or fmt == "kaggle",  # a submission needs a digit for every image
        note=note,
        progress=terminal_progress,
    )
    bad = rejected(records)
    for record in bad:
        note(f"error: {record['error']}")
    if fmt == "kaggle" and bad:  # a submission needs a digit for every ImageId
        raise click.ClickException(
            f"{len(bad)} input(s) could not be read, so no Kaggle submission was written (the first: {bad[0]['error']})"
        )
    if fmt == "kaggle":
        _one_copy_each(records)
    click.echo(render(records, columns, fmt))
    echo_accuracy(records, fmt)
    if bad:
        note(f"{len(bad)} input(s) rejected")
        sys.exit(1)


def _one_copy_each(records):
    """A Kaggle submission numbers each test image once: refuse a file given twice (as one name, or
    two names of one file), whose images would be numbered again as further ImageIds."""
    import os

    seen = {}
    for record in records:
        name = str(record.get("file"))
        key = (os.path.realpath(name) if os.path.exists(name) else name, record.get("row"))
        if key in seen:
            raise click.BadParameter(
                f"{name} is given more than once{f' (also as {seen[key]})' if seen[key] != name else ''}; "
                "a Kaggle submission numbers each test image once, so give each file once",
                param_hint="INPUTS",
            )
        seen[key] = name


@click.command(context_settings=CONTEXT)
@click.argument("images", nargs=-1, required=True, metavar="IMAGE|DIR|GLOB...")
@click.option(
    "-o",
    "--out",
    default=settings.PREPARED_DIR,
    type=click.Path(),
    help="A folder (one 28x28 CSV per digit) or a FILE.csv (one row of 784 per digit).",
)
@count_option
@click.option("--show", is_flag=True, help="Also write NAME-prepared.png: the photo and the digits found.")
@click.option("--strict", is_flag=True, help="Stop at the first image that cannot be read.")
@click.option("--overwrite", is_flag=True, help="Replace files that already exist (else nothing is written).")
@model_option("Model that decides how touching or broken digits are split (none found: by shape alone).")
def prepare(images, out, count, old_count, show, strict, overwrite, model):
    """Turn photos or scans of handwritten digits into MNIST-style 28x28 CSVs (the seed's format).

    Each image is cleaned of uneven light, split into digits left to right, and each digit is
    cropped, scaled to 20 pixels and centred by its centre of mass, as MNIST was made. Prints the
    path of each file written."""
    from digitcli.inference.modelfile import locate
    from digitcli.report.prepared import prepare_files

    written, rejected = prepare_files(
        images,
        out,
        count=digit_count(count, old_count),
        show=show,
        strict=strict,
        overwrite=overwrite,
        note=note,
        model=locate(model),
        progress=terminal_progress,
    )
    for path in written:
        click.echo(str(path))
    if rejected:
        note(f"{rejected} image(s) rejected")
        sys.exit(1)


@click.command("predict-image", context_settings=CONTEXT)
@click.argument("images", nargs=-1, required=True, metavar="IMAGE|DIR|GLOB...")
@models_option()
@click.option("--format", "fmt", type=click.Choice(settings.FORMATS), default="table")
@click.option(
    "--top-k", type=click.IntRange(1, 10), default=None, help="Also list each digit's K most likely readings."
)
@click.option(
    "--labels",
    default=None,
    metavar="FILE|N,N,...",
    help="True numbers: a CSV of file,label or numbers in input order; adds correct and accuracy.",
)
@click.option(
    "--min-confidence", type=FiniteRange(0, 1), default=0.0, help="Digits read less confidently than this show as '?'."
)
@allow_nondigits_option
@count_option
@click.option("--strict", is_flag=True, help="Stop at the first image that cannot be read.")
@backend_option
def predict_image(
    images, models, fmt, top_k, labels, min_confidence, count, old_count, strict, backend, allow_nondigits
):
    """Read handwritten digits, or whole numbers, from photos and scans (PNG, JPEG, BMP, TIFF).

    `prediction` is the digits read, left to right; `confidence` the lowest of their confidences."""
    from digitcli.inference.predict import read_numbers
    from digitcli.report.tables import render

    records, columns, rejected = read_numbers(
        images,
        model_paths(models),
        backend,
        count=digit_count(count, old_count),
        strict=strict,
        labels_value=labels,
        top_k=top_k,
        min_confidence=min_confidence,
        allow_nondigits=allow_nondigits,
        note=note,
        progress=terminal_progress,
    )
    click.echo(render(records, columns, fmt))
    echo_accuracy(records, fmt)
    if rejected:
        note(f"{rejected} image(s) rejected")
        sys.exit(1)
