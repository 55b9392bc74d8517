"""`digitcli plot`: training curves, digits with predictions, and samples."""

from pathlib import Path

import click

from digitcli import settings
from digitcli.cliparams import (
    CONTEXT,
    ManyValues,
    data_option,
    model_option,
    note,
)


@click.command(context_settings=CONTEXT)
@click.argument("sources", nargs=-1, type=click.Path(), metavar="[MODEL_OR_HISTORY]...")
@click.option(
    "-o", "--out", "out_dir", type=click.Path(file_okay=False), default="plots", help="Folder for the pictures."
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
@data_option
@model_option("Model for --digits when no MODEL is given.")
def plot(sources, out_dir, fmt, digits, labels, samples, band, data, model):
    """Draw training curves from saved models or histories, digits with predictions, and samples.

    With several MODEL_OR_HISTORY files (.keras, .json or .history.csv), their curves share one chart.
    Prints the path of each file written."""
    from digitcli.inference.modelfile import locate
    from digitcli.report import plots as drawing
    from digitcli.training.history import read_history

    out_dir = Path(out_dir)
    written = []
    if sources or not (digits or samples):
        runs = [read_history(s) for s in (sources or [locate(model)])]
        name = runs[0][0] if len(runs) == 1 else "compare"
        written.append(drawing.save(drawing.draw_history(runs, band), out_dir / f"{name}-history.{fmt}"))
    if digits:
        keras_source = sources[0] if sources and sources[0].endswith(".keras") else None
        written.append(
            drawing.plot_digit_files(
                digits, labels, locate(model or keras_source), out_dir / f"digits.{fmt}", note=note
            )
        )
    if samples:
        from digitcli.data.datasets import load_raw

        raw = load_raw(data)
        written.append(drawing.save(drawing.draw_samples(raw.x_train, raw.y_train), out_dir / f"samples.{fmt}"))
    for path in written:
        click.echo(str(path))
