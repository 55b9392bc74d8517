"""`digitcli evaluate`, `calibrate`, `export` and `presets`: commands about a saved model or a recipe."""

import click

from digitcli import settings
from digitcli.cliparams import (
    CONTEXT,
    AliasChoice,
    backend_option,
    data_option,
    many_models,
    model_argument,
    model_paths,
    note,
    one_model,
)


@click.command(context_settings=CONTEXT)
@many_models
@data_option
@click.option("--format", "fmt", type=AliasChoice(settings.FORMATS, {"text": "table"}), default="table")
@backend_option
@click.option(
    "--plots",
    type=click.Path(file_okay=False),
    default=None,
    help="Also draw the confusion matrix and the misclassified digits into this folder.",
)
@click.option("--plot-format", type=click.Choice(settings.PLOT_FORMATS), default="png")
def evaluate(model, model_option, data, fmt, backend, plots, plot_format):
    """Test loss, accuracy, per-class accuracy and confusion matrix of MODEL.

    MODEL defaults to $DIGITCLI_MODEL, else models/robust.keras. Several MODELs are scored as an
    ensemble: their probabilities are averaged."""
    from digitcli.data.datasets import load_raw
    from digitcli.inference.evaluation import evaluate as run_evaluation
    from digitcli.inference.modelfile import ModelFile
    from digitcli.report.tables import evaluation_report

    # Bad files are reported before MNIST is loaded.
    model_files = [ModelFile.open(path) for path in model_paths([*model, *model_option])]
    raw = load_raw(data)
    if raw.held_out:  # labelled digits with no test split: say which part is scored, and why
        note(
            f"note: scoring {raw.held_out} of {data} ({len(raw.y_test):,} of {len(raw.y_train) + len(raw.y_test):,} "
            "images), the part that `train --data` holds out as its test set"
        )
    result, probabilities = run_evaluation(model_files, raw, backend, note=note)
    click.echo(evaluation_report(result, fmt))
    if plots:
        from digitcli.report.plots import evaluation_plots

        # With text output the paths are part of the report; json and csv stay parseable.
        for path in evaluation_plots(
            result, raw, probabilities, plots, plot_format, models=[m.path for m in model_files]
        ):
            click.echo(str(path), err=fmt != "table")


@click.command(context_settings=CONTEXT)
@model_argument
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(settings.EXPORT_SUFFIXES)),
    default="onnx",
    help="onnx: for onnxruntime (what predict-csv uses); litert: a .tflite file for LiteRT, formerly "
    "TensorFlow Lite (phones, small boards); saved_model: a TensorFlow SavedModel folder.",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(),
    default=None,
    help="[default: beside MODEL: NAME.onnx, NAME.tflite, NAME_saved_model/]",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing --out (a SavedModel folder only if it is one).")
def export(model, model_option, fmt, out, overwrite):
    """Export MODEL for inference without Keras (ONNX is what predict-csv uses).

    Every export takes float32 pixels scaled to 0-1 (pixel / 255), 0 = background and 1 = ink, 28 x 28
    after MNIST's recipe; an ONNX export names its input `pixels` and its output `probabilities` and
    says so in its metadata. An existing --out is refused unless --overwrite is given; the model's
    own NAME.onnx twin is always refreshed."""
    from digitcli.inference.export import export as run_export

    click.echo(str(run_export(one_model(model, model_option), fmt, out, overwrite)))


@click.command(context_settings=CONTEXT)
@model_argument
@data_option
@backend_option
@click.option(
    "--validation-size",
    type=click.IntRange(min=1),
    default=None,
    help="Fit on the last N training images of --data.  [default: the model's own validation set]",
)
def calibrate(model, model_option, data, backend, validation_size):
    """Fit MODEL's temperature on its validation set and store it with the model.

    The validation set is the last --validation-size training images (10,000 for MNIST), as `train`
    held them out; `train` does this itself at the end. Only the metadata changes (in the .keras
    file, NAME.json and the ONNX twin); predictions keep their digits, confidences become honest."""
    from digitcli.inference.recalibrate import recalibrate

    path = one_model(model, model_option)
    meta = recalibrate(path, data, backend, validation_size, note=note)
    cal, test = meta["calibration"], meta["test"]
    click.echo(
        f"{path}: temperature {cal['temperature']:.4f}; test accuracy {100 * test['accuracy']:.2f}%, "
        f"NLL {test['nll']:.4f}, ECE {100 * test['ece']:.2f}%"
    )


@click.command(context_settings=CONTEXT)
@click.option("--format", "fmt", type=click.Choice(settings.FORMATS), default="table")
def presets(fmt):
    """List the training presets (`digitcli train --preset NAME`) and what each reproduces."""
    from digitcli.nets.presets import rows
    from digitcli.report.tables import presets_text, render

    click.echo(presets_text(rows()) if fmt == "table" else render(rows(), list(rows()[0]), fmt))
