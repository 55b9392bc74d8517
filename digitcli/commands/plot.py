"""`digitcli plot`: training curves, digits with predictions, and samples."""

from pathlib import Path

import click

from digitcli import settings
from digitcli.cliparams import (
    CONTEXT,
    DATA_KINDS,
    ManyValues,
    data_option_with,
    model_option,
    note,
)
from digitcli.errors import OutputError


@click.command(context_settings=CONTEXT)
@click.argument("sources", nargs=-1, type=click.Path(), metavar="[MODEL_OR_HISTORY]...")
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=settings.PLOTS_DIR,
    help="Folder for the pictures.",
)
@click.option("--format", "fmt", type=click.Choice(settings.PLOT_FORMATS), default="png")
@click.option(
    "--digits",
    cls=ManyValues,
    metavar="FILE|DIR|GLOB...",
    help="Draw these digit CSVs with the model's predictions (as many as follow; give MODEL_OR_HISTORY "
    "files before --digits).",
)
@click.option("--labels", default=None, metavar="FILE|D,D,...", help="True digits for --digits, as predict-csv.")
@click.option("--samples", is_flag=True, help="Draw training images of each class (needs --data).")
@click.option("--band", is_flag=True, help="With several runs: their mean, and a band of one standard deviation.")
@click.option("--overwrite", is_flag=True, help="Replace pictures that already exist (else nothing is drawn).")
@data_option_with(f"Where --samples finds its training images: {DATA_KINDS}. Unset: Keras' download.")
@model_option("Model for --digits when no MODEL is given.")
def plot(sources, out_dir, fmt, digits, labels, samples, band, overwrite, data, model):
    """Draw training curves from saved models or histories, digits with predictions, and samples.

    With several MODEL_OR_HISTORY files (.keras, .json or .history.csv), their curves share one chart.
    Prints the path of each file written. A picture that already exists is refused unless --overwrite
    is given, as prepare and export refuse."""
    from digitcli.inference.modelfile import locate
    from digitcli.report import plots as drawing
    from digitcli.training.history import read_history

    out_dir = Path(out_dir)
    runs = None
    targets = {}  # what each picture will be called, all checked before anything is drawn
    if sources or not (digits or samples):
        runs = [read_history(s) for s in (sources or [locate(model)])]
        targets["history"] = out_dir / f"{runs[0][0] if len(runs) == 1 else 'compare'}-history.{fmt}"
    if digits:
        targets["digits"] = out_dir / f"digits.{fmt}"
    if samples:
        targets["samples"] = out_dir / f"samples.{fmt}"
    existing = [str(path) for path in targets.values() if path.exists()]
    if existing and not overwrite:
        raise OutputError(
            f"{', '.join(existing)}: already exists; choose another --out, or add --overwrite to replace it"
        )
    written = []
    if runs:
        written.append(drawing.save(drawing.draw_history(runs, band), targets["history"]))
    if digits:
        keras_source = sources[0] if sources and sources[0].endswith(".keras") else None
        written.append(
            drawing.plot_digit_files(digits, labels, locate(model or keras_source), targets["digits"], note=note)
        )
    if samples:
        from digitcli.data.datasets import load_raw

        raw = load_raw(data)
        written.append(drawing.save(drawing.draw_samples(raw.x_train, raw.y_train), targets["samples"]))
    for path in written:
        click.echo(str(path))
