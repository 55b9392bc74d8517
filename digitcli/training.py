"""Train a model from the registry on a Dataset and write its checkpoint, metadata and history.

Progress lives in a staging folder beside the output (`.NAME.keras.train/`) until training ends:
Keras' BackupAndRestore keeps the last completed epoch there for --resume, ModelCheckpoint the best
weights by validation accuracy, CSVLogger the per-epoch history. Final files are written by atomic
rename, so a reader never sees a half-written model.
"""

import contextlib
import csv
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from digitcli import __version__, defaults, fileio, modelfile
from digitcli.errors import OutputError, UsageProblem
from digitcli.pixels import model_input

LOSSES = ("crossentropy", "mse", "quadratic", "binary-crossentropy")
OPTIMIZERS = ("adam", "sgd", "rmsprop", "adagrad")
OUTPUTS = ("softmax", "sigmoid")
AUGMENTS = ("none", "shift")
SCHEDULES = ("cosine", "constant")


@dataclass(frozen=True)
class TrainSettings:
    model: str = defaults.ARCHITECTURE
    hidden: tuple | None = None
    activation: str = defaults.ACTIVATION
    dropout: float = defaults.DROPOUT
    l2: float = defaults.L2
    optimizer: str = defaults.OPTIMIZER
    lr: float | None = None
    momentum: float = defaults.MOMENTUM
    epochs: int = defaults.EPOCHS
    batch_size: int | None = None  # None: the architecture's default (defaults.MODEL_DEFAULTS)
    loss: str = defaults.LOSS
    seed: int = defaults.SEED
    validation_size: int = defaults.VALIDATION_SIZE
    limit: int | None = None
    output: str = "softmax"
    init: str = "glorot"
    augment: str = "none"
    schedule: str | None = None  # None: the architecture's default
    preset: str | None = None

    def __post_init__(self):
        chosen = defaults.MODEL_DEFAULTS.get(self.model, defaults.MODEL_DEFAULTS[defaults.ARCHITECTURE])
        for name in ("batch_size", "schedule"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, chosen[name])

    def learning_rate(self):
        if self.lr is not None:
            return self.lr
        if self.optimizer == "adam":
            return defaults.MODEL_DEFAULTS.get(self.model, defaults.MODEL_DEFAULTS[defaults.ARCHITECTURE])["adam_lr"]
        return defaults.LEARNING_RATES[self.optimizer]

    def as_dict(self):
        d = asdict(self)
        d["hidden"] = list(self.hidden) if self.hidden is not None else None
        d["lr"] = self.learning_rate()
        return d


class TrainingInterrupted(Exception):
    """Ctrl-C (or SIGTERM) during training; the progress is saved and `--resume` continues it."""

    def __init__(self, message, signum=signal.SIGINT):
        super().__init__(message)
        self.exit_code = 128 + int(signum)


class _StopRequest:
    """While active, the first SIGINT or SIGTERM only records a request to stop; training honours it
    at the next batch boundary, where no checkpoint is half-written. A second signal stops at once."""

    def __init__(self):
        self.signum = None
        self._previous = {}

    def _handle(self, signum, frame):
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc):
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    def callback(self, keras):
        request = self

        class StopAtBatchBoundary(keras.callbacks.Callback):
            def _check(self, *args, **kwargs):
                if request.signum is not None:
                    raise KeyboardInterrupt

            on_train_batch_end = on_test_batch_end = on_epoch_begin = _check

        return StopAtBatchBoundary()


def staging_dir(out):
    out = Path(out)
    return out.with_name(f".{out.name}.train")


def _optimizer(settings, steps_per_epoch):
    import keras

    lr = settings.learning_rate()
    if settings.schedule == "cosine":  # the rate falls from lr to 0 along the whole run
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=steps_per_epoch * settings.epochs)
    if settings.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=settings.momentum)
    if settings.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=lr, momentum=settings.momentum)
    return {"adam": keras.optimizers.Adam, "adagrad": keras.optimizers.Adagrad}[settings.optimizer](learning_rate=lr)


def _targets(labels, loss):
    import numpy as np

    from digitcli.losses import ONE_HOT

    if loss in ONE_HOT:
        return np.eye(10, dtype="float32")[labels]
    return labels.astype("int32")


def read_history(csv_path):
    """Per-epoch rows from Keras' CSVLogger, numbered from 1, each epoch once (the last write wins,
    which matters when a killed run is resumed and repeats an epoch)."""
    if not Path(csv_path).exists():
        return []
    rows = {}
    with open(csv_path, newline="") as fh:
        for row in csv.DictReader(fh):
            if not row.get("epoch"):
                continue
            epoch = int(row.pop("epoch")) + 1
            # CSVLogger writes NA for a metric an epoch did not produce.
            rows[epoch] = {"epoch": epoch, **{k: float(v) for k, v in row.items() if v not in ("", "NA", None)}}
    return [rows[e] for e in sorted(rows)]


def history_csv_text(history):
    keys = ["epoch"] + sorted({k for row in history for k in row} - {"epoch"})
    lines = [",".join(keys)]
    for row in history:
        lines.append(",".join(str(row.get(k, "")) for k in keys))
    return "\n".join(lines) + "\n"


def _versions():
    import keras
    import numpy
    import tensorflow as tf

    return {"digitcli": __version__, "python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": numpy.__version__}


def _atomic_checkpoint(keras):
    """ModelCheckpoint writes its file in place; a kill mid-write would leave a corrupt best-weights
    file for --resume to trip over. This one writes beside it, renames, and then records which
    epoch it holds in `best.json`, so a resumed run knows the best it really has on disk."""

    class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
        def on_epoch_end(self, epoch, logs=None):
            final = Path(self.filepath)
            tmp = final.with_name(".tmp-" + final.name)
            tmp.unlink(missing_ok=True)  # a leftover from a killed save is never renamed into place
            self.filepath = str(tmp)
            try:
                super().on_epoch_end(epoch, logs)
            finally:
                self.filepath = str(final)
            if tmp.exists():
                os.replace(tmp, final)
                fileio.write_json(final.with_name("best.json"), {"epoch": epoch + 1, "value": float(self.best)})

    return AtomicModelCheckpoint


def _saved_best(staging):
    """(epoch, value) of the best weights on disk, or (None, None) when there are none yet."""
    try:
        if (staging / "best.weights.h5").exists():
            record = json.loads((staging / "best.json").read_text())
            return int(record["epoch"]), float(record["value"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None, None


def _prepare_output(out, staging, settings, resume, overwrite, note):
    if out.suffix != ".keras":
        raise UsageProblem(f"--out {out}: model files must end in .keras", "--out")
    wanted = settings.as_dict()
    if staging.exists() and resume:
        try:
            saved = json.loads((staging / "settings.json").read_text())
        except (OSError, json.JSONDecodeError):
            saved = None
        if saved is not None and saved != wanted:
            diff = ", ".join(f"{k}: {saved.get(k)!r} -> {v!r}" for k, v in wanted.items() if saved.get(k) != v)
            raise UsageProblem(f"cannot resume {out}: the interrupted run used other settings ({diff}); "
                               "repeat its exact command with --resume", "--resume")
        note(f"resuming the interrupted run saved in {staging}")
        return
    if staging.exists():
        if not overwrite:
            raise OutputError(f"an interrupted run of {out} left its progress in {staging}; "
                              "add --resume to continue it, or --overwrite to start over")
        shutil.rmtree(staging)
    elif resume:
        note(f"nothing to resume for {out}; starting from epoch 1")
    try:
        staging.mkdir(parents=True)
    except OSError as exc:
        raise OutputError(f"{staging}: cannot create the training folder ({exc.strerror}); choose a writable --out") from None
    fileio.write_json(staging / "settings.json", wanted)


def _staging_for(role, out, resume, stack):
    """The chief trains in the staging folder beside `out`; another worker in a temporary folder of
    its own, seeded on --resume with a copy of the chief's progress so all resume the same epoch."""
    if role.chief:
        return staging_dir(out)
    staging = Path(tempfile.mkdtemp(prefix="digitcli-worker-"))
    stack.callback(shutil.rmtree, staging, ignore_errors=True)
    if resume and (staging_dir(out) / "backup").exists():
        shutil.copytree(staging_dir(out), staging, dirs_exist_ok=True)
    return staging


def train(settings, dataset, out, *, resume=False, overwrite=False, verbose=1, export_onnx=True, note=None,
          callbacks=(), distribute="none", replicas=None):
    """Train, save the best checkpoint to `out` and return the metadata written beside it.
    `callbacks` run after digitcli's own (benchmarks use this to time epochs). Under multi-worker
    distribution only the chief writes `out`; other workers return the metadata with "saved": False."""
    from digitcli import distribute as dist

    note = note or (lambda msg: print(msg, file=sys.stderr))
    out = Path(out)
    role = dist.role(distribute)
    if settings.optimizer not in OPTIMIZERS:
        raise UsageProblem(f"unknown optimizer {settings.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}", "--optimizer")
    if settings.loss not in LOSSES:
        raise UsageProblem(f"unknown loss {settings.loss!r}; choose one of {', '.join(LOSSES)}", "--loss")
    if settings.schedule not in SCHEDULES:
        raise UsageProblem(f"unknown schedule {settings.schedule!r}; choose one of {', '.join(SCHEDULES)}", "--schedule")
    with contextlib.ExitStack() as stack:
        staging = _staging_for(role, out, resume, stack)
        if role.chief:
            stack.enter_context(fileio.exclusive_lock(out))
            _prepare_output(out, staging, settings, resume, overwrite, note)
        import keras
        import tensorflow as tf

        from digitcli.losses import KERAS_LOSSES
        from digitcli.models import build

        strategy = dist.make_strategy(role, replicas)  # before anything else runs TensorFlow ops
        keras.utils.set_random_seed(settings.seed)
        tf.config.experimental.enable_op_determinism()
        images, labels = dataset.x_train, dataset.y_train
        if settings.augment == "shift":
            from digitcli.data import with_shifts

            images, labels = with_shifts(images, labels)
        steps = -(-len(labels) // settings.batch_size)
        with strategy.scope():
            model = build(settings.model, settings.hidden, settings.activation, settings.dropout, settings.l2,
                          settings.output, settings.init)
            model.compile(optimizer=_optimizer(settings, steps), loss=KERAS_LOSSES[settings.loss], metrics=["accuracy"],
                          steps_per_execution=dist.steps_per_execution(role, strategy, min(defaults.STEPS_PER_EXECUTION, steps)))
        dist.patch_keras(model, strategy, role)
        device = dist.devices()
        replicas_used = strategy.num_replicas_in_sync
        if role.strategy != "none" or not device.startswith("CPU"):
            note(f"training on {device}" + (f"; {replicas_used} replicas of {settings.batch_size // replicas_used}"
                                            f"-image batches ({role.workers} workers)" if replicas_used > 1 else ""))

        shape = model.input_shape[1:]
        x_train = model_input(images, shape)
        y_train = _targets(labels, settings.loss)
        has_val = len(dataset.y_val) > 0
        validation = (model_input(dataset.x_val, shape), _targets(dataset.y_val, settings.loss)) if has_val else None
        monitor = "val_accuracy" if has_val else "accuracy"

        log_csv = staging / "history.csv"
        done = read_history(log_csv)
        _, best_so_far = _saved_best(staging)
        best_weights = staging / "best.weights.h5"
        # Order matters for a kill between callbacks: the history row is written before the backup,
        # so a resumed run may repeat an epoch (read_history keeps its last row) but never loses one.
        # double_checkpoint keeps the previous backup usable if the kill lands during a backup write.
        own = [
            keras.callbacks.CSVLogger(str(log_csv), append=True),
            _atomic_checkpoint(keras)(str(best_weights), monitor=monitor, mode="max", save_best_only=True,
                                      save_weights_only=True, initial_value_threshold=best_so_far),
            keras.callbacks.BackupAndRestore(str(staging / "backup"), double_checkpoint=True),
        ]
        start = time.perf_counter()
        stop = _StopRequest()
        try:
            # Keras writes its progress bar to stdout; stdout is for results, so send it to stderr.
            with stop, contextlib.redirect_stdout(sys.stderr):
                # Validation batches only change speed, not results: use large ones.
                model.fit(x_train, y_train, batch_size=settings.batch_size, epochs=settings.epochs,
                          validation_data=validation, validation_batch_size=1024, callbacks=[*own, stop.callback(keras), *callbacks],
                          verbose=verbose, shuffle=True)
        except OSError as exc:  # Keras writing its backup, best weights or log: full disk and the like
            raise fileio.explain_os_error(staging, exc) from None
        except tf.errors.OpError as exc:
            if role.workers > 1:  # a peer died or the cluster broke: say so, never a traceback
                raise dist.failure(exc, role, staging) from None
            raise
        except KeyboardInterrupt:
            completed = len(read_history(log_csv))
            raise TrainingInterrupted(
                f"interrupted after {completed} of {settings.epochs} epochs; progress is saved in {staging}. "
                "Run the same command with --resume to continue.", stop.signum or signal.SIGINT
            ) from None
        seconds = time.perf_counter() - start
        history = read_history(log_csv)
        best_epoch, _ = _saved_best(staging)
        if best_epoch is not None:
            model.load_weights(str(best_weights))
        else:  # no epoch was ever saved (the monitored value was NaN throughout): keep the last one
            best_epoch = len(history)

        with contextlib.redirect_stdout(sys.stderr):
            test_loss, test_acc = model.evaluate(model_input(dataset.x_test, shape),
                                                 _targets(dataset.y_test, settings.loss),
                                                 batch_size=1024, verbose=0)
        metadata = {
            "format": "digitcli-model/1",
            "name": out.stem,
            "architecture": settings.model,
            "input_shape": list(shape),
            "settings": settings.as_dict(),
            "data": {"source": dataset.source, **dataset.sizes(),
                     **({"train_augmented": len(labels)} if settings.augment != "none" else {})},
            "history": history,
            "best_epoch": best_epoch,
            "selected_by": monitor,
            "test": {"loss": float(test_loss), "accuracy": float(test_acc)},
            "train_seconds": round(seconds, 3),
            "resumed": bool(done),
            "device": device,
            "distribution": {"strategy": role.strategy, "replicas": replicas_used, "workers": role.workers},
            "versions": _versions(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        if not role.chief:
            return {**metadata, "saved": False, "task": role.task}
        if out.exists() and not overwrite:
            kept = keep_previous(out)
            note(f"kept the earlier {out} as {kept} (--overwrite replaces it instead)")
        inference = save_model(model, out, metadata)
        fileio.write_json(modelfile.sidecar(out, ".json"), metadata)
        fileio.write_text(modelfile.sidecar(out, ".history.csv"), history_csv_text(history))
        if export_onnx:
            from digitcli.export import export_onnx as _export_onnx

            try:
                _export_onnx(inference, out)
            except Exception as exc:  # noqa: BLE001 - ONNX is an accelerator; the model is already saved
                note(f"note: ONNX export skipped ({type(exc).__name__}: {exc}); predictions will use Keras")
        shutil.rmtree(staging, ignore_errors=True)
    return metadata


SIDECARS = (".json", ".history.csv", ".onnx")


def keep_previous(out):
    """Move an existing model and its sidecars to the first free NAME.N.keras, so training to a
    taken name never destroys the earlier model. Returns the new path of the .keras file."""
    n = 1
    while any(modelfile.sidecar(out, f".{n}{suffix}").exists() for suffix in (".keras", *SIDECARS)):
        n += 1
    kept = modelfile.sidecar(out, f".{n}.keras")
    for suffix in SIDECARS:
        old = modelfile.sidecar(out, suffix)
        if old.exists():
            os.replace(old, modelfile.sidecar(out, f".{n}{suffix}"))
    os.replace(out, kept)
    return kept


def save_model(model, out, metadata):
    """Save weights and architecture without optimizer state (smaller, and all that inference
    needs), with digitcli.json inside, by atomic rename. Returns that inference copy, made outside
    any distribution strategy."""
    import keras

    inference = keras.models.clone_model(model)
    inference.set_weights(model.get_weights())
    inference.compile(loss=model.loss, metrics=["accuracy"])
    with fileio.atomic_path(out) as tmp:
        inference.save(tmp)
        modelfile.add_metadata(tmp, metadata)
    return inference
