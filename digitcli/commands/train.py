"""`digitcli train`: parse its options, train (training.runs), print where the model went."""

import sys

import click

from digitcli.cliparams import (
    CONTEXT,
    note,
    typed_options,
)
from digitcli.train_options import train_options


@click.command(context_settings=CONTEXT)
@train_options
@click.pass_context
def train(ctx, preset, data, test_data, from_model, mix, mix_size, runs, watch, watch_labels, out, quiet, **options):
    """Train a model on MNIST, or on your own labelled digits, and save its best checkpoint, metadata
    and history. --from fine-tunes a saved model."""
    from digitcli.training import distribute as dist
    from digitcli.training import runs as several
    from digitcli.training.plan import data_for, plan_run, watch_set
    from digitcli.training.run import TrainingInterrupted
    from digitcli.training.run import train as run_training

    typed = typed_options(ctx, options)
    chosen, out, run = plan_run(options, typed, preset, from_model, out, test_data=test_data, mix=mix, watch=watch)
    dist.role(run["distribute"])  # a broken TF_CONFIG is reported before MNIST is loaded
    if not quiet:
        note(f"loading {data or 'MNIST from the Keras download'}")
    chosen, dataset = data_for(chosen, typed, data, test_data, mix, mix_size if mix else None)
    if not quiet:
        note(several.training_line(chosen, dataset, preset, from_model))
    verbose = 0 if quiet else (1 if sys.stderr.isatty() else 2)
    try:
        metas = several.train_runs(
            run_training,
            chosen,
            dataset,
            out,
            runs,
            verbose=verbose,
            export_onnx=run.pop("onnx"),
            note=note,
            **run,
            watch=watch_set(watch, watch_labels) if watch else None,
        )
    except TrainingInterrupted as exc:
        note(str(exc))
        sys.exit(exc.exit_code)  # 130 for Ctrl-C, 143 for SIGTERM, as shells expect
    click.echo("\n".join(several.result_lines(metas, out, runs)))
