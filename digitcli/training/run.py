"""Train a model from the registry on a Dataset and publish its checkpoint, metadata and history.

The story, in order: prepare the run folder, build and compile the network, fit it, take the best
epoch's weights, evaluate on the test set, and publish. The run folder's bookkeeping (staging,
resume, keeping earlier models) is in `rundir`; stop signals in `stopping`.
"""

import contextlib
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

from digitcli import fileio
from digitcli import settings as choices
from digitcli.errors import OutputError, to_stderr
from digitcli.inference import modelfile
from digitcli.pixels import model_input
from digitcli.training import fitting, rundir
from digitcli.training import history as histories
from digitcli.training.stopping import StopRequest, TrainingInterrupted

__all__ = ["train", "TrainingInterrupted"]


def train(
    settings,
    dataset,
    out,
    *,
    resume=False,
    restart=False,
    overwrite=False,
    verbose=1,
    export_onnx=True,
    note=to_stderr,
    callbacks=(),
    distribute="none",
    replicas=None,
    tensorboard=None,
    watch=None,
):
    """Train, save the best checkpoint to `out` and return the metadata written beside it.
    `callbacks` run after digitcli's own (benchmarks use this to time epochs). `watch` is a labelled
    set of one's own, (images, labels, source), scored after every epoch. Under multi-worker
    distribution only the chief writes `out`; other workers return the metadata with "saved": False.

    A run that fails before its first epoch is complete removes the staging folder it made, so the
    next run is never blocked by it; a later failure leaves progress that --resume continues."""
    from digitcli.training import distribute as dist

    out = Path(out)
    role = dist.role(distribute)
    wanted = {**settings.as_dict(), "data_source": dataset.source, "data_fingerprint": dataset.fingerprint()}
    with contextlib.ExitStack() as stack:
        staging = rundir.staging_for(role, out, resume, stack)
        created = False
        if role.chief:
            rundir.check_out(out)
            stack.enter_context(fileio.exclusive_lock(out))
            created = rundir.prepare(out, staging, wanted, resume, restart or overwrite, note)
            if created == "finished":
                return modelfile.read_metadata(out)
        try:
            if tensorboard and role.chief:  # the chief alone writes logs, as it alone writes the model
                callbacks = [*callbacks, fitting.tensorboard(tensorboard)]
            run = _Run(settings, dataset, out, staging, role, note, not created, watch, keep_earlier=not overwrite)
            run.log_dir = tensorboard if role.chief else None
            return run.execute(verbose, export_onnx, callbacks, replicas)
        except TrainingInterrupted:
            raise
        except BaseException:
            if created and role.chief and not rundir.has_progress(staging):
                shutil.rmtree(staging, ignore_errors=True)
            raise


class _Run:
    """One training run inside its staging folder."""

    def __init__(self, settings, dataset, out, staging, role, note, resumed, watch=None, keep_earlier=True):
        self.settings, self.dataset, self.out, self.staging = settings, dataset, out, staging
        self.role, self.note, self.resumed, self.watch = role, note, resumed, watch
        self.keep_earlier = keep_earlier  # False with --overwrite: the model at `out` is replaced

    def execute(self, verbose, export_onnx, callbacks, replicas):
        from digitcli.quiet import import_tensorflow
        from digitcli.training import distribute as dist

        import_tensorflow()
        import keras
        import tensorflow as tf

        strategy = dist.make_strategy(self.role, replicas)  # before anything else runs TensorFlow ops
        keras.utils.set_random_seed(self.settings.seed)
        tf.config.experimental.enable_op_determinism()
        images, labels = self._training_images()
        model = self._compile(strategy, len(labels))
        self._say_where(strategy)
        with dist.patched_keras(model, strategy, self.role):
            seconds, best = self._fit(model, images, labels, verbose, callbacks)
            history = histories.read_csv(self.staging / "history.csv")
            best_epoch = self._restore_best(model, best, history)
            metadata = self._metadata(model, history, best_epoch, seconds, strategy, len(labels))
        if not self.role.chief:
            return {**metadata, "saved": False, "task": self.role.task}
        staged = rundir.stage_outputs(model, self.staging, self.out, metadata, history, export_onnx, self.note)
        kept_as = rundir.publish(staged, self.out, keep=self.keep_earlier)
        if kept_as:
            self.note(f"kept the earlier {self.out} as {kept_as}")
        shutil.rmtree(self.staging, ignore_errors=True)
        return metadata

    def _training_images(self):
        images, labels = self.dataset.x_train, self.dataset.y_train
        if self.settings.augment == "shift":
            from digitcli.data.splits import with_shifts

            images, labels = with_shifts(images, labels)
        return images, labels

    def _compile(self, strategy, n_images):
        import tensorflow as tf

        from digitcli.nets.builders import build
        from digitcli.nets.losses import BitsAccuracy, keras_loss
        from digitcli.nets.optimizers import optimizer
        from digitcli.training import distribute as dist

        s = self.settings
        steps = -(-n_images // s.batch_size)
        try:
            with strategy.scope():
                bits = s.encoding == "bits"
                model = build(
                    s.model, s.hidden, s.activation, s.dropout, s.l2, s.output, s.init, outputs=4 if bits else 10
                )
                if s.init_from:
                    fitting.start_from(model, s.init_from)
                fitting.freeze(model, s.freeze)
                model.compile(
                    optimizer=optimizer(s, steps),
                    loss=keras_loss(s.loss, s.label_smoothing, s.encoding),
                    metrics=[BitsAccuracy() if bits else "accuracy"],
                    steps_per_execution=dist.steps_per_execution(
                        self.role, strategy, min(choices.STEPS_PER_EXECUTION, steps)
                    ),
                )
        except (tf.errors.ResourceExhaustedError, MemoryError, ValueError) as exc:
            raise OutputError(
                f"cannot build the {s.model} network ({type(exc).__name__}); make --hidden smaller"
            ) from None
        return model

    def _say_where(self, strategy):
        from digitcli.training import distribute as dist

        self.device = dist.devices()
        replicas = strategy.num_replicas_in_sync
        if self.role.strategy != "none" or not self.device.startswith("CPU"):
            self.note(
                f"training on {self.device}"
                + (
                    f"; {replicas} replicas of {self.settings.batch_size // replicas}-image batches "
                    f"({self.role.workers} workers)"
                    if replicas > 1
                    else ""
                )
            )

    def _fit(self, model, images, labels, verbose, callbacks):
        """model.fit with digitcli's callbacks; returns the seconds it took and the best-weights keeper."""
        import keras
        import tensorflow as tf

        from digitcli.nets.optimizers import targets
        from digitcli.training import distribute as dist
        from digitcli.training.callbacks import AtomicBackup, BestWeights, HistoryLog, TrainingTime, WatchSet

        shape = model.input_shape[1:]
        x_train, y_train = model_input(images, shape), targets(labels, self.settings)
        has_val = len(self.dataset.y_val) > 0
        validation = (
            (model_input(self.dataset.x_val, shape), targets(self.dataset.y_val, self.settings)) if has_val else None
        )
        self.monitor = "val_accuracy" if has_val else "accuracy"
        # Order matters for a kill between callbacks: the history row is written before the backup,
        # so a resumed run may repeat an epoch (its row is replaced) but never loses one.
        watching = (
            [WatchSet(model_input(self.watch[0], shape), targets(self.watch[1], self.settings))] if self.watch else []
        )
        log = HistoryLog(self.staging / "history.csv")
        best = BestWeights(self.staging, self.monitor)
        backup = AtomicBackup(self.staging / "backup")
        clock = TrainingTime(self.staging / "seconds.json")
        stop = StopRequest()
        try:
            # Keras writes its progress bar to stdout; stdout is for results, so send it to stderr.
            with stop, contextlib.redirect_stdout(sys.stderr):
                # Validation batches only change speed, not results: use large ones.
                model.fit(
                    **fitting.fit_inputs(x_train, y_train, self.settings),
                    epochs=self.settings.epochs,
                    validation_data=validation,
                    validation_batch_size=choices.EVAL_BATCH_SIZE,
                    callbacks=[*watching, log, best, backup, clock, stop.callback(keras), *callbacks],
                    verbose=verbose,
                )
        except OSError as exc:  # writing the backup, best weights or log: full disk and the like
            raise fileio.explain_os_error(self.staging, exc) from None
        except (tf.errors.ResourceExhaustedError, MemoryError) as exc:
            if "no space left" in str(exc).lower():  # TensorFlow reports a full disk (ENOSPC) so too
                raise OutputError(
                    f"{self.log_dir or self.staging}: no space left on the device; free some space"
                ) from None
            raise OutputError(
                f"out of memory while training {self.settings.model}; make --batch-size or --hidden smaller"
            ) from None
        except tf.errors.OpError as exc:
            if self.role.workers > 1:  # a peer died or the cluster broke: say so, never a traceback
                raise dist.failure(exc, self.role, self.staging) from None
            raise
        except KeyboardInterrupt:
            raise TrainingInterrupted(
                f"interrupted after {backup.saved_epoch()} of {self.settings.epochs} epochs; progress is saved "
                f"in {self.staging}. Run the same command with --resume to continue.",
                stop.signum,
            ) from None
        return clock.total(), best

    def _restore_best(self, model, best, history):
        kept = best.saved()
        if kept is None:  # no epoch was ever saved (the monitored value was NaN throughout): keep the last
            return len(history)
        model.load_weights(str(self.staging / kept["weights"]))
        return kept["epoch"]

    def _metadata(self, model, history, best_epoch, seconds, strategy, n_trained):
        from digitcli.inference.predictors import digits_from_outputs
        from digitcli.inference.recalibrate import measured

        shape = model.input_shape[1:]
        data = self.dataset

        def predict(images):
            with contextlib.redirect_stdout(sys.stderr):
                return digits_from_outputs(
                    model.predict(model_input(images, shape), batch_size=choices.EVAL_BATCH_SIZE, verbose=0)
                )

        # The test scores are those of the calibrated probabilities, as `evaluate` reports them.
        parent = modelfile.ModelFile.open(self.settings.init_from).temperature if self.settings.init_from else None
        scores = measured(predict, data, (parent, self.settings.init_from) if parent else None)
        return {
            "format": "digitcli-model/1",
            "name": self.out.stem,
            "architecture": self.settings.model,
            "input_shape": list(shape),
            "settings": self.settings.as_dict(),
            "data": {
                "source": data.source,
                **data.sizes(),
                "fingerprint": data.fingerprint(),
                **({"train_augmented": n_trained} if self.settings.augment == "shift" else {}),
            },
            "history": history,
            "best_epoch": best_epoch,
            "selected_by": self.monitor,
            **scores,
            "train_seconds": round(seconds, 3),
            "resumed": self.resumed,
            "device": self.device,
            "distribution": {
                "strategy": self.role.strategy,
                "replicas": strategy.num_replicas_in_sync,
                "workers": self.role.workers,
            },
            "versions": fitting.versions(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "run": rundir.run_id(self.staging),
            **({"watch": {"source": self.watch[2], "images": len(self.watch[1])}} if self.watch else {}),
        }
