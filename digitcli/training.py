"""Train a model from the registry on a Dataset and write its checkpoint, metadata and history.

Progress lives in a staging folder beside the output (`.NAME.keras.train/`) until training ends:
Keras' BackupAndRestore keeps the last completed epoch there for --resume, ModelCheckpoint the best
weights by validation accuracy, CSVLogger the per-epoch history. Final files are written by atomic
rename, so a reader never sees a half-written model.
"""

import contextlib
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from digitcli import __version__, defaults, fileio, histories, modelfile
from digitcli.errors import DigitcliError, OutputError, UsageProblem
from digitcli.pixels import model_input



@dataclass(frozen=True)
class TrainSettings:
    model: str = defaults.ARCHITECTURE
    hidden: tuple | None = None
    activation: str = defaults.ACTIVATION
    dropout: float | None = None  # None: the architecture's default (defaults.MODEL_DEFAULTS), as below
    l2: float = defaults.L2
    optimizer: str = defaults.OPTIMIZER
    lr: float | None = None
    momentum: float = defaults.MOMENTUM
    epochs: int | None = None
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
    adam_betas: tuple | None = None
    label_smoothing: float = 0.0

    def __post_init__(self):
        if self.label_smoothing and self.loss != "crossentropy":
            raise UsageProblem("--label-smoothing goes with --loss crossentropy", "--label-smoothing")
        self._architecture_defaults()

    def _architecture_defaults(self):
        chosen = defaults.MODEL_DEFAULTS.get(self.model, defaults.MODEL_DEFAULTS[defaults.ARCHITECTURE])
        for name in ("epochs", "batch_size", "schedule", "dropout", "adam_betas"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, chosen[name])
        object.__setattr__(self, "adam_betas", tuple(self.adam_betas))

    def learning_rate(self):
        if self.lr is not None:
            return self.lr
        if self.optimizer == "adam":
            return defaults.MODEL_DEFAULTS.get(self.model, defaults.MODEL_DEFAULTS[defaults.ARCHITECTURE])["adam_lr"]
        return defaults.LEARNING_RATES[self.optimizer]

    def as_dict(self):
        d = asdict(self)
        d["hidden"] = list(self.hidden) if self.hidden is not None else None
        d["adam_betas"] = list(self.adam_betas)
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

    from digitcli.schedules import OneCycle

    lr = settings.learning_rate()
    if settings.schedule == "cosine":  # the rate falls from lr to 0 along the whole run
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=steps_per_epoch * settings.epochs)
    elif settings.schedule == "onecycle":  # up to lr over the first 30% of the run, then down to ~0
        lr = OneCycle(lr, total_steps=steps_per_epoch * settings.epochs)
    if settings.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=settings.momentum)
    if settings.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=lr, momentum=settings.momentum)
    if settings.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=lr, beta_1=settings.adam_betas[0], beta_2=settings.adam_betas[1])
    return keras.optimizers.Adagrad(learning_rate=lr)


def _targets(labels, settings):
    import numpy as np

    from digitcli.losses import one_hot_targets

    if one_hot_targets(settings.loss, settings.label_smoothing):
        return np.eye(10, dtype="float32")[labels]
    return labels.astype("int32")


def _tensorboard(log_dir):
    """Keras' TensorBoard callback: per-epoch loss, accuracy and learning rate under log_dir/train
    and log_dir/validation, for `tensorboard --logdir DIR`."""
    from digitcli.quiet import import_tensorflow

    import_tensorflow()
    import keras

    try:
        import tensorboard  # noqa: F401 - Keras' callback needs it only once it writes
    except ImportError:
        raise UsageProblem("--tensorboard needs TensorBoard: pip install 'digitcli[tensorboard]'",
                           "--tensorboard") from None
    return keras.callbacks.TensorBoard(log_dir=str(log_dir), histogram_freq=0, write_graph=False)


def _fit_inputs(x_train, y_train, settings):
    """model.fit's data arguments: the arrays, or with --augment affine a tf.data pipeline that
    distorts each batch afresh."""
    if settings.augment == "affine":
        from digitcli.augment import training_data

        return {"x": training_data(x_train, y_train, settings.batch_size, settings.seed), "shuffle": False}
    return {"x": x_train, "y": y_train, "batch_size": settings.batch_size, "shuffle": True}


def _versions():
    import keras
    import numpy
    import tensorflow as tf

    return {"digitcli": __version__, "python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": numpy.__version__}


def _has_progress(staging):
    """Whether an interrupted run left a completed epoch behind (else its folder holds nothing)."""
    return bool(histories.read_csv(staging / "history.csv")) or (staging / "backup" / "state.json").exists()


def _prepare_output(out, staging, wanted, resume, overwrite, note):
    """Make or reuse the staging folder: True when this run created it, False when it resumes one,
    "finished" when the run to resume had already saved its model."""
    if out.suffix != ".keras":
        raise UsageProblem(f"--out {out}: model files must end in .keras", "--out")
    if staging.exists() and _published(out, staging):
        # Killed after its model was moved into place: finish moving its files, and it is done.
        for path in sorted((staging / "final").glob("*")):
            fileio.replace(path, out.with_name(path.name))
        shutil.rmtree(staging)
        if resume:
            note(f"the interrupted run of {out} had finished; nothing left to resume")
            return "finished"
    if staging.exists() and resume:
        try:
            saved = json.loads((staging / "settings.json").read_text())
        except (OSError, ValueError):
            saved = None
        if isinstance(saved, dict) and saved.get("data_fingerprint") != wanted["data_fingerprint"]:
            raise UsageProblem(f"cannot resume {out}: the interrupted run trained on other data "
                               f"({saved.get('data_source')}); give it the same --data, --limit and "
                               "--validation-size", "--resume")
        if isinstance(saved, dict) and saved != wanted:
            diff = ", ".join(f"{k}: {saved.get(k)!r} -> {v!r}" for k, v in wanted.items()
                             if saved.get(k) != v and k != "data_source")
            raise UsageProblem(f"cannot resume {out}: the interrupted run used other settings ({diff}); "
                               "repeat its exact command with --resume", "--resume")
        note(f"resuming the interrupted run saved in {staging}")
        return False
    if staging.exists():
        if _has_progress(staging) and not overwrite:
            raise OutputError(f"an interrupted run of {out} left its progress in {staging}; add --resume to "
                              "continue it, or --overwrite to discard it and start over")
        # Either the user said to discard it, or it holds no completed epoch: nothing to lose.
        shutil.rmtree(staging)
    elif resume:
        note(f"nothing to resume for {out}; starting from epoch 1")
    try:
        staging.mkdir(parents=True)
    except OSError as exc:
        raise OutputError(f"{staging}: cannot create the training folder ({exc.strerror}); choose a writable --out") from None
    fileio.write_json(staging / "settings.json", wanted)
    fileio.write_json(staging / "run.json", {"run": uuid.uuid4().hex})
    return True


def _run_id(staging):
    try:
        return json.loads((staging / "run.json").read_text())["run"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _published(out, staging):
    """Whether `out` is the model that the run in `staging` saved."""
    run = _run_id(staging)
    if run is None or not out.exists():
        return False
    try:
        return modelfile.read_metadata(out).get("run") == run
    except DigitcliError:
        return False


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
          callbacks=(), distribute="none", replicas=None, tensorboard=None):
    """Train, save the best checkpoint to `out` and return the metadata written beside it.
    `callbacks` run after digitcli's own (benchmarks use this to time epochs). Under multi-worker
    distribution only the chief writes `out`; other workers return the metadata with "saved": False.

    A run that fails before its first epoch is complete removes the staging folder it made, so the
    next run is never blocked by it; a later failure leaves progress that --resume continues."""
    from digitcli import distribute as dist

    note = note or (lambda msg: print(msg, file=sys.stderr))
    out = Path(out)
    role = dist.role(distribute)
    wanted = {**settings.as_dict(), "data_source": dataset.source, "data_fingerprint": dataset.fingerprint()}
    with contextlib.ExitStack() as stack:
        staging = _staging_for(role, out, resume, stack)
        created = False
        if role.chief:
            stack.enter_context(fileio.exclusive_lock(out))
            created = _prepare_output(out, staging, wanted, resume, overwrite, note)
            if created == "finished":
                return modelfile.read_metadata(out)
        try:
            if tensorboard and role.chief:  # the chief alone writes logs, as it alone writes the model
                callbacks = [*callbacks, _tensorboard(tensorboard)]
            return _train_in(staging, settings, dataset, out, role, verbose, export_onnx, note, callbacks,
                             replicas, resumed=not created)
        except TrainingInterrupted:
            raise
        except BaseException:
            if created and role.chief and not _has_progress(staging):
                shutil.rmtree(staging, ignore_errors=True)
            raise


def _train_in(staging, settings, dataset, out, role, verbose, export_onnx, note, callbacks, replicas, resumed):
    from digitcli import distribute as dist
    from digitcli.quiet import import_tensorflow

    import_tensorflow()
    import keras
    import tensorflow as tf

    from digitcli.callbacks import AtomicBackup, BestWeights, HistoryLog
    from digitcli.losses import keras_loss
    from digitcli.models import build

    strategy = dist.make_strategy(role, replicas)  # before anything else runs TensorFlow ops
    keras.utils.set_random_seed(settings.seed)
    tf.config.experimental.enable_op_determinism()
    images, labels = dataset.x_train, dataset.y_train
    if settings.augment == "shift":
        from digitcli.data import with_shifts

        images, labels = with_shifts(images, labels)
    steps = -(-len(labels) // settings.batch_size)
    try:
        with strategy.scope():
            model = build(settings.model, settings.hidden, settings.activation, settings.dropout, settings.l2,
                          settings.output, settings.init)
            model.compile(optimizer=_optimizer(settings, steps), loss=keras_loss(settings.loss, settings.label_smoothing),
                          metrics=["accuracy"], steps_per_execution=dist.steps_per_execution(
                              role, strategy, min(defaults.STEPS_PER_EXECUTION, steps)))
    except (tf.errors.ResourceExhaustedError, MemoryError, ValueError) as exc:
        raise OutputError(f"cannot build the {settings.model} network ({type(exc).__name__}); "
                          "make --hidden smaller") from None
    dist.patch_keras(model, strategy, role)
    device = dist.devices()
    replicas_used = strategy.num_replicas_in_sync
    if role.strategy != "none" or not device.startswith("CPU"):
        note(f"training on {device}" + (f"; {replicas_used} replicas of {settings.batch_size // replicas_used}"
                                        f"-image batches ({role.workers} workers)" if replicas_used > 1 else ""))

    shape = model.input_shape[1:]
    x_train = model_input(images, shape)
    y_train = _targets(labels, settings)
    has_val = len(dataset.y_val) > 0
    validation = (model_input(dataset.x_val, shape), _targets(dataset.y_val, settings)) if has_val else None
    monitor = "val_accuracy" if has_val else "accuracy"

    # Order matters for a kill between callbacks: the history row is written before the backup,
    # so a resumed run may repeat an epoch (its row is replaced) but never loses one.
    log = HistoryLog(staging / "history.csv")
    best = BestWeights(staging, monitor)
    backup = AtomicBackup(staging / "backup")
    start = time.perf_counter()
    stop = _StopRequest()
    try:
        # Keras writes its progress bar to stdout; stdout is for results, so send it to stderr.
        with stop, contextlib.redirect_stdout(sys.stderr):
            # Validation batches only change speed, not results: use large ones.
            inputs = _fit_inputs(x_train, y_train, settings)
            model.fit(**inputs, epochs=settings.epochs, validation_data=validation, validation_batch_size=1024,
                      callbacks=[log, best, backup, stop.callback(keras), *callbacks], verbose=verbose)
    except OSError as exc:  # writing the backup, best weights or log: full disk and the like
        raise fileio.explain_os_error(staging, exc) from None
    except (tf.errors.ResourceExhaustedError, MemoryError):
        raise OutputError(f"out of memory while training {settings.model}; make --batch-size or --hidden "
                          "smaller") from None
    except tf.errors.OpError as exc:
        if role.workers > 1:  # a peer died or the cluster broke: say so, never a traceback
            raise dist.failure(exc, role, staging) from None
        raise
    except KeyboardInterrupt:
        raise TrainingInterrupted(
            f"interrupted after {backup.saved_epoch()} of {settings.epochs} epochs; progress is saved in "
            f"{staging}. Run the same command with --resume to continue.", stop.signum or signal.SIGINT
        ) from None
    seconds = time.perf_counter() - start
    history = histories.read_csv(staging / "history.csv")
    kept = best.saved()
    if kept is not None:
        model.load_weights(str(staging / kept["weights"]))
        best_epoch = kept["epoch"]
    else:  # no epoch was ever saved (the monitored value was NaN throughout): keep the last one
        best_epoch = len(history)

    with contextlib.redirect_stdout(sys.stderr):
        test_loss, test_acc = model.evaluate(model_input(dataset.x_test, shape), _targets(dataset.y_test, settings),
                                             batch_size=1024, verbose=0)
    metadata = {
        "format": "digitcli-model/1",
        "name": out.stem,
        "architecture": settings.model,
        "input_shape": list(shape),
        "settings": settings.as_dict(),
        "data": {"source": dataset.source, **dataset.sizes(), "fingerprint": dataset.fingerprint(),
                 **({"train_augmented": len(labels)} if settings.augment == "shift" else {})},
        "history": history,
        "best_epoch": best_epoch,
        "selected_by": monitor,
        "test": {"loss": float(test_loss), "accuracy": float(test_acc)},
        "train_seconds": round(seconds, 3),
        "resumed": resumed,
        "device": device,
        "distribution": {"strategy": role.strategy, "replicas": replicas_used, "workers": role.workers},
        "versions": _versions(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run": _run_id(staging),
    }
    if not role.chief:
        return {**metadata, "saved": False, "task": role.task}
    staged = _stage_outputs(model, staging, out, metadata, history, export_onnx, note)
    kept_as = publish(staged, out)
    if kept_as:
        note(f"kept the earlier {out} as {kept_as}")
    shutil.rmtree(staging, ignore_errors=True)
    return metadata


SIDECARS = (".json", ".history.csv", ".onnx")


def _stage_outputs(model, staging, out, metadata, history, export_onnx, note):
    """Write the final files inside the staging folder, under their final names: {suffix: path}."""
    final = staging / "final"
    shutil.rmtree(final, ignore_errors=True)  # a killed earlier attempt's, never published
    final.mkdir()
    staged = {".keras": final / out.name}
    inference = save_model(model, staged[".keras"], metadata)
    staged[".json"] = modelfile.sidecar(staged[".keras"], ".json")
    fileio.write_json(staged[".json"], metadata)
    staged[".history.csv"] = modelfile.sidecar(staged[".keras"], ".history.csv")
    fileio.write_text(staged[".history.csv"], histories.csv_text(history))
    if export_onnx:
        from digitcli.export import export_onnx as _export_onnx

        try:
            staged[".onnx"] = _export_onnx(inference, staged[".keras"])
        except Exception as exc:  # noqa: BLE001 - ONNX is an accelerator; the model is already saved
            note(f"note: ONNX export skipped ({type(exc).__name__}: {exc}); predictions will use Keras")
    return staged


def _free_number(out):
    n = 1
    while any(modelfile.sidecar(out, f".{n}{suffix}").exists() for suffix in (".keras", *SIDECARS)):
        n += 1
    return n


def publish(staged, out):
    """Move the staged files into place. An existing model and its sidecars are kept as NAME.N.*
    (never replaced: hard links keep them while the new files are renamed over the old names), and a
    failure puts everything back as it was. Returns the kept model's path, or None."""
    n = _free_number(out)
    kept = {}
    try:
        for suffix in (".keras", *SIDECARS):
            old = modelfile.sidecar(out, suffix)
            if old.exists():
                kept[suffix] = modelfile.sidecar(out, f".{n}{suffix}")
                os.link(old, kept[suffix])
    except OSError as exc:
        for path in kept.values():
            path.unlink(missing_ok=True)
        raise fileio.explain_os_error(out, exc) from None
    changed = []
    try:
        for suffix in (".keras", *SIDECARS):  # the model first: if it fails, nothing has changed
            target = modelfile.sidecar(out, suffix)
            if suffix in staged:
                fileio.replace(staged[suffix], target)
                changed.append(suffix)
            elif suffix in kept:  # an old sidecar with no new one (an ONNX twin): it belongs to the kept model
                target.unlink()
                changed.append(suffix)
    except OSError as exc:
        for suffix in changed:  # put the old files back under their names
            if suffix in kept:
                fileio.replace(kept.pop(suffix), modelfile.sidecar(out, suffix))
            else:
                modelfile.sidecar(out, suffix).unlink(missing_ok=True)
        for path in kept.values():  # the rest never moved: drop their second names
            path.unlink(missing_ok=True)
        raise fileio.explain_os_error(out, exc) from None
    return kept.get(".keras")


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
