"""Command-line interface: parse options, make one library call per command, print the results.

Nothing heavy is imported at module level: `digitcli --help` must not load TensorFlow, Keras or
matplotlib. Results go to stdout; notes, progress and errors go to stderr.
"""

import os
import sys
from pathlib import Path

import click

from digitcli import __version__, settings
from digitcli.cliparams import (CONTEXT, AliasChoice, DigitcliGroup, FiniteRange, ManyValues, backend_option,
                                count_option, data_option, digit_count, echo_accuracy, many_models, model_argument,
                                model_option, model_paths, models_option, note, one_model, terminal_progress,
                                typed_options)
from digitcli.train_options import train_options

# TensorFlow's C++ start-up chatter is noise on the stderr of a command-line tool.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@click.group(cls=DigitcliGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="digitcli")
def cli():
    """Train, evaluate and use neural networks that read handwritten digits (MNIST)."""


@cli.command(context_settings=CONTEXT)
@train_options
@click.pass_context
def train(ctx, preset, data, test_data, from_model, mix, mix_size, runs, watch, watch_labels, out, overwrite, resume,
          onnx, distribute, replicas, tensorboard, quiet, **options):
    """Train a model on MNIST, or on your own labelled digits, and save its best checkpoint, metadata
    and history. --from fine-tunes a saved model."""
    from digitcli.training import distribute as dist
    from digitcli.training import runs as several
    from digitcli.training.plan import data_for, settings_for, watch_set
    from digitcli.training.run import TrainingInterrupted
    from digitcli.training.run import train as run_training
    from digitcli.training.rundir import written

    options["model"] = options.pop("architecture")
    typed = typed_options(ctx, options)
    chosen = settings_for(options, typed, preset, from_model)
    out = Path(out or f"{settings.MODEL_DIR}/{preset or chosen.model}.keras")
    if replicas is not None and distribute != "mirrored":
        raise click.BadParameter("--replicas goes with --distribute mirrored", param_hint="--replicas")
    dist.role(distribute)  # a broken TF_CONFIG is reported before MNIST is loaded
    if not quiet:
        note(f"loading {data or 'MNIST from the Keras download'}")
    chosen, dataset = data_for(chosen, typed, data, test_data, mix, mix_size if mix else None)
    if not quiet:
        sizes = dataset.sizes()
        what = f"preset {preset} ({chosen.model})" if preset else chosen.model + (f" from {from_model}" if from_model else "")
        note(f"training {what} on {sizes['train']:,} images, validating on {sizes['validation']:,}")
    verbose = 0 if quiet else (1 if sys.stderr.isatty() else 2)
    try:
        metas = several.train_runs(run_training, chosen, dataset, out, runs, resume=resume, overwrite=overwrite,
                                   verbose=verbose, export_onnx=onnx, note=note, distribute=distribute,
                                   replicas=replicas, tensorboard=tensorboard,
                                   watch=watch_set(watch, watch_labels) if watch else None)
    except TrainingInterrupted as exc:
        note(str(exc))
        sys.exit(exc.exit_code)  # 130 for Ctrl-C, 143 for SIGTERM, as shells expect
    if runs > 1:
        click.echo("\n".join(several.summary(metas, several.outputs(out, runs))))
        return
    meta = metas[0]
    acc, epochs = meta["test"]["accuracy"], len(meta["history"])
    done = (f"test accuracy {100 * acc:.2f}% after {epochs} epoch{'s' if epochs != 1 else ''} "
            f"(best: epoch {meta['best_epoch']}) in {meta['train_seconds']:.1f} s")
    if meta.get("saved", True):
        click.echo(f"{done}; wrote {', '.join(str(p) for p in written(out))}")
    else:
        click.echo(f"{done}; {meta['task']} wrote nothing, the chief saves {out}")


@cli.command(context_settings=CONTEXT)
@many_models
@data_option
@click.option("--format", "fmt", type=AliasChoice(settings.FORMATS, {"text": "table"}), default="table")
@backend_option
@click.option("--plots", type=click.Path(file_okay=False), default=None,
              help="Also draw the confusion matrix and the misclassified digits into this folder.")
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
    result, probabilities = run_evaluation(model_files, raw, backend, note=note)
    click.echo(evaluation_report(result, fmt))
    if plots:
        from digitcli.report.plots import evaluation_plots

        # With text output the paths are part of the report; json and csv stay parseable.
        for path in evaluation_plots(result, raw, probabilities, plots, plot_format):
            click.echo(str(path), err=fmt != "table")


@cli.command(context_settings=CONTEXT)
@model_argument
@click.option("--format", "fmt", type=click.Choice(list(settings.EXPORT_SUFFIXES)), default="onnx")
@click.option("-o", "--out", type=click.Path(), default=None, help="[default: beside MODEL: NAME.onnx, NAME.tflite, NAME_saved_model/]")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out (a SavedModel folder only if it is one).")
def export(model, model_option, fmt, out, overwrite):
    """Export MODEL for inference without Keras (ONNX is what predict-csv uses).

    An existing --out is refused unless --overwrite is given; the model's own NAME.onnx twin is
    always refreshed."""
    from digitcli.inference.export import export as run_export

    click.echo(str(run_export(one_model(model, model_option), fmt, out, overwrite)))


@cli.command("predict-csv", context_settings=CONTEXT)
@click.argument("inputs", nargs=-1, required=True, metavar="FILE|DIR|GLOB|-...")
@models_option()
@click.option("--format", "fmt", type=click.Choice((*settings.FORMATS, "kaggle")), default="table",
              help="table for people; csv; json (JSON Lines, one record per image); kaggle (the Digit "
                   "Recognizer's submission file: ImageId,Label).")
@click.option("--top-k", type=click.IntRange(1, 10), default=None, help="Also list the K most likely digits.")
@click.option("--labels", default=None, metavar="FILE|D,D,...",
              help="True digits: a CSV of file,label or digits in input order; adds correct and accuracy.")
@click.option("--min-confidence", type=FiniteRange(0, 1), default=0.0,
              help="Report predictions less confident than this as '?'.")
@click.option("--invert/--no-invert", default=True, help="Invert images drawn dark on light.")
@click.option("--strict", is_flag=True, help="Stop at the first input that cannot be read.")
@backend_option
def predict_csv(inputs, models, fmt, top_k, labels, min_confidence, invert, strict, backend):
    """Classify 28x28 digits stored as CSV (0 = background, 255 = ink).

    Reads files, folders (every *.csv inside), globs and - (standard input). Exit status: 0 when every
    input was read, 1 when some were rejected (they are listed with an error field), 2 for bad usage."""
    from digitcli.data.inputs import rejected
    from digitcli.inference.digit_files import predict_files
    from digitcli.report.tables import render

    if fmt == "kaggle" and min_confidence:
        raise click.BadParameter("a Kaggle submission needs a digit for every image; drop --min-confidence",
                                 param_hint="--min-confidence")
    records, columns = predict_files(inputs, model_paths(models), backend, invert=invert, strict=strict, labels_value=labels,
                                     top_k=top_k, min_confidence=min_confidence, note=note, progress=terminal_progress)
    bad = rejected(records)
    for record in bad:
        note(f"error: {record['error']}")
    if fmt == "kaggle" and bad:  # a submission needs a digit for every ImageId
        raise click.ClickException(f"{len(bad)} input(s) could not be read, so no Kaggle submission was written "
                                   f"(the first: {bad[0]['error']})")
    click.echo(render(records, columns, fmt))
    echo_accuracy(records, fmt)
    if bad:
        note(f"{len(bad)} input(s) rejected")
        sys.exit(1)


@cli.command(context_settings=CONTEXT)
@click.argument("sources", nargs=-1, type=click.Path(), metavar="[MODEL_OR_HISTORY]...")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), default="plots", help="Folder for the pictures.")
@click.option("--format", "fmt", type=click.Choice(settings.PLOT_FORMATS), default="png")
@click.option("--digits", cls=ManyValues, metavar="FILE|DIR|GLOB...",
              help="Draw these digit CSVs with the model's predictions (as many as follow; give MODEL_OR_HISTORY "
                   "files before --digits).")
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
        written.append(drawing.plot_digit_files(digits, labels, locate(model or keras_source),
                                                out_dir / f"digits.{fmt}", note=note))
    if samples:
        from digitcli.data.datasets import load_raw

        raw = load_raw(data)
        written.append(drawing.save(drawing.draw_samples(raw.x_train, raw.y_train), out_dir / f"samples.{fmt}"))
    for path in written:
        click.echo(str(path))


@cli.command(context_settings=CONTEXT)
@click.option("--format", "fmt", type=click.Choice(settings.FORMATS), default="table")
def presets(fmt):
    """List the training presets (`digitcli train --preset NAME`) and what each reproduces."""
    from digitcli.nets.presets import rows
    from digitcli.report.tables import presets_text, render

    click.echo(presets_text(rows()) if fmt == "table" else render(rows(), list(rows()[0]), fmt))


@cli.command(context_settings=CONTEXT)
@click.argument("images", nargs=-1, required=True, metavar="IMAGE|DIR|GLOB...")
@click.option("-o", "--out", default="prepared", type=click.Path(),
              help="A folder (one 28x28 CSV per digit) or a FILE.csv (one row of 784 per digit).")
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
    from digitcli.photos.prepare import prepare_files

    written, rejected = prepare_files(images, out, count=digit_count(count, old_count), show=show, strict=strict,
                                      overwrite=overwrite, note=note, model=locate(model), progress=terminal_progress)
    for path in written:
        click.echo(str(path))
    if rejected:
        note(f"{rejected} image(s) rejected")
        sys.exit(1)


@cli.command("predict-image", context_settings=CONTEXT)
@click.argument("images", nargs=-1, required=True, metavar="IMAGE|DIR|GLOB...")
@models_option()
@click.option("--format", "fmt", type=click.Choice(settings.FORMATS), default="table")
@click.option("--top-k", type=click.IntRange(1, 10), default=None, help="Also list each digit's K most likely readings.")
@click.option("--labels", default=None, metavar="FILE|N,N,...",
              help="True numbers: a CSV of file,label or numbers in input order; adds correct and accuracy.")
@click.option("--min-confidence", type=FiniteRange(0, 1), default=0.0,
              help="Digits read less confidently than this show as '?'.")
@count_option
@click.option("--strict", is_flag=True, help="Stop at the first image that cannot be read.")
@backend_option
def predict_image(images, models, fmt, top_k, labels, min_confidence, count, old_count, strict, backend):
    """Read handwritten digits, or whole numbers, from photos and scans (PNG, JPEG, BMP, TIFF).

    `prediction` is the digits read, left to right; `confidence` the lowest of their confidences."""
    from digitcli.photos.prepare import read_numbers
    from digitcli.report.tables import render

    records, columns, rejected = read_numbers(images, model_paths(models), backend, count=digit_count(count, old_count),
                                              strict=strict, labels_value=labels, top_k=top_k,
                                              min_confidence=min_confidence, note=note, progress=terminal_progress)
    click.echo(render(records, columns, fmt))
    echo_accuracy(records, fmt)
    if rejected:
        note(f"{rejected} image(s) rejected")
        sys.exit(1)


@cli.command(context_settings=CONTEXT)
@model_option()
@click.option("--host", default="127.0.0.1", help="Address to listen on; 0.0.0.0 lets other machines in.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, help="0 picks a free port.")
@backend_option
def serve(model, host, port, backend):
    """Serve a page to draw digits on, and an HTTP API (POST /api/predict) for pipelines.

    Stops cleanly on Ctrl-C or SIGTERM. With a fresh ONNX twin it starts without TensorFlow."""
    from digitcli.inference.modelfile import locate
    from digitcli.serve.server import serve as run_server

    run_server(locate(model), host, port, backend, note=note)
