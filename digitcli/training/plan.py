"""What `train` will do before it does it: the settings, from the defaults, a preset or a model to
fine-tune, and the options typed; then the data those settings ask for."""

import dataclasses
from pathlib import Path

from digitcli import settings as choices
from digitcli.errors import UsageProblem

SMALL_SET = 20_000  # below this many training images, a tenth of them validate by default

# train --from on a set of one's own under SMALL_FINE_TUNE images (the digits a person collects, not
# a data set) takes these settings for whatever was not typed, instead of the saved model's: its
# own recipe (the robust model's 20 epochs peaking at 0.005) would overwrite what it knew. Chosen
# with bench/finetune_bench.py (50 digits of a writer MNIST lacks, README "Teach it your hand"):
# one epoch at a peak of 0.001 with the convolutions frozen read the writer's next 200 digits as
# well as 3 epochs at 0.0005 or 0.001 (100%), and cost MNIST the least (0.01 points against
# 0.05-0.14) in the least training time. The convolutions stay frozen only where there are some.
SMALL_FINE_TUNE = 2_000
FINE_TUNE = {"lr": 0.001, "epochs": 1, "freeze": "convolutions"}


# The options of `train` that steer the run rather than the recipe; the rest are TrainSettings.
STEERING = ("overwrite", "restart", "resume", "onnx", "distribute", "replicas", "tensorboard")


def plan_run(options, typed, preset=None, from_model=None, out=None, **paths):
    """The one place a run's settings are worked out from `train`'s options (the names in `typed` were
    given by the user): (TrainSettings, the output path, the options that steer the run). `paths`
    are the data paths besides --data (test_data, mix, watch), checked here with --from."""
    for name, value in {**paths, "from": from_model}.items():
        if value is not None and not str(value).strip():  # "" would mean Keras' MNIST download to load_raw
            raise UsageProblem("an empty path; give a file or folder", "--" + name.replace("_", "-"))
    options = dict(options)
    run = {k: options.pop(k) for k in STEERING}
    if run["resume"] and run["restart"]:
        raise UsageProblem("--resume continues an interrupted run and --restart discards it: give one", "--restart")
    if run["replicas"] is not None and run["distribute"] != "mirrored":
        raise UsageProblem("--replicas goes with --distribute mirrored", "--replicas")
    chosen = settings_for(options, typed, preset, from_model)
    if chosen.freeze != "none" and not from_model:
        raise UsageProblem(
            f"--freeze {chosen.freeze} keeps the weights of the model given by --from; give --from", "--freeze"
        )
    out = Path(out or f"{choices.RUNS_DIR}/{preset or chosen.model}.keras")
    return chosen, out, run


def settings_for(options, typed, preset=None, from_model=None):
    """TrainSettings: the defaults, then a preset's or a saved model's settings, then what was typed."""
    if preset and from_model:
        raise UsageProblem("--preset and --from both choose the settings; give one", "--from")
    base = None
    if preset:
        from digitcli.nets.presets import resolve

        base = {**resolve(preset, options["augment"]), "preset": preset}
    elif from_model:
        base = _saved_settings(from_model, options, typed)
    return choices.train_settings(options, base, typed)


def _saved_settings(path, options, typed):
    from digitcli.inference.modelfile import ModelFile

    model = ModelFile.open(path)
    saved = model.metadata.get("settings")
    if not isinstance(saved, dict) or saved.get("model") not in choices.ARCHITECTURES:
        raise UsageProblem(
            f"{path}: not a model digitcli trained (no settings inside); --from continues digitcli's own models",
            "--from",
        )
    if "model" in typed and options["model"] != saved["model"]:
        raise UsageProblem(
            f"--model {options['model']}: {path} is a {saved['model']} network, and --from keeps its architecture",
            "--model",
        )
    fields = {f.name for f in dataclasses.fields(choices.TrainSettings)}
    # --freeze was how that model was made from another, not part of its recipe: typed anew each time.
    base = {k: v for k, v in saved.items() if k in fields and k not in ("preset", "freeze")}
    for key in ("hidden", "adam_betas"):
        if base.get(key) is not None:
            base[key] = tuple(base[key])
    return {**base, "init_from": str(path)}


def data_for(settings, typed, data=None, test_data=None, mix=None, mix_size=None):
    """(settings, Dataset). Unless --validation-size was given, a set under 20,000 training images
    validates on a tenth of them rather than the default 10,000; --from on one under 2,000 takes
    FINE_TUNE's settings where none were typed."""
    from digitcli.data.datasets import load_raw
    from digitcli.data.splits import dataset_from

    raw = load_raw(data, hold_out=test_data is None)
    if settings.init_from and len(raw.y_train) < SMALL_FINE_TUNE:
        settings = fine_tuning(settings, typed)
    validation = settings.validation_size
    if "validation_size" not in typed and len(raw.y_train) < SMALL_SET:
        validation = len(raw.y_train) // 10
    dataset = dataset_from(raw, validation, settings.limit, test_data, mix, mix_size)
    return dataclasses.replace(settings, validation_size=validation), dataset


def fine_tuning(settings, typed):
    """`settings` with FINE_TUNE's values for what was not typed (no frozen layers in a dense network)."""
    chosen = {name: value for name, value in FINE_TUNE.items() if name not in typed}
    if settings.model == "dense":
        chosen.pop("freeze", None)
    return dataclasses.replace(settings, **chosen)


def watch_set(path, labels_value=None):
    """train --watch: (images, labels, source) of a labelled set, read as predict-csv reads it."""
    import numpy as np

    from digitcli.errors import DigitcliError
    from digitcli.reading import labels, pipeline

    try:
        batch = pipeline.read_files([path], "digits", strict=True, labels=labels_value)
        truth = labels.for_records(labels_value, batch)
    except DigitcliError as exc:
        raise UsageProblem(str(exc), "--watch") from None
    if not batch.files or any(t is None for t in truth):
        raise UsageProblem(
            f"{path}: every digit watched needs a label; give --watch-labels FILE|D,D,... "
            "(or use files with a label column)",
            "--watch-labels",
        )
    return pipeline.digits_of(batch), np.array(truth, dtype=np.uint8), str(path)
