"""`digitcli train`: parse its options, train (training.runs), print where the model went."""

import sys
from pathlib import Path

import click

from digitcli import settings
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
    from digitcli.training.plan import data_for, settings_for, watch_set
    from digitcli.training.run import TrainingInterrupted
    from digitcli.training.run import train as run_training

    for name, value in (("--test-data", test_data), ("--mix", mix), ("--watch", watch), ("--from", from_model)):
        if value is not None and not str(value).strip():  # "" would mean Keras' MNIST download to load_raw
            raise click.BadParameter("an empty path; give a file or folder", param_hint=name)
    # The options that steer the run rather than the recipe; the rest are the recipe's settings.
    steering = ("overwrite", "restart", "resume", "onnx", "distribute", "replicas", "tensorboard")
    run = {k: options.pop(k) for k in steering}
    options["model"] = options.pop("architecture")
    typed = typed_options(ctx, options)
    chosen = settings_for(options, typed, preset, from_model)
    out = Path(out or f"{settings.RUNS_DIR}/{preset or chosen.model}.keras")
    if run["resume"] and run["restart"]:
        raise click.UsageError("--resume continues an interrupted run and --restart discards it: give one")
    if run["replicas"] is not None and run["distribute"] != "mirrored":
        raise click.BadParameter("--replicas goes with --distribute mirrored", param_hint="--replicas")
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
