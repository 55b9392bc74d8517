"""Keras callbacks that keep a training run's progress on disk so that a kill at any instant, even in
the middle of a write, leaves something --resume can use. Import only where Keras is loaded.

Every file here is written beside its final name and renamed into place. The backup's weights and the
record naming them are two files, so the record is renamed last: whatever instant a SIGKILL lands,
the record on disk names weights that are complete on disk.
"""

import json
import os
import time
from pathlib import Path

import keras

from digitcli import fileio
from digitcli.settings import EVAL_BATCH_SIZE
from digitcli.training import history as histories


class HistoryLog(keras.callbacks.Callback):
    """The per-epoch history as digitcli writes it (epochs from 1), rewritten whole after each epoch.

    Keras' CSVLogger appends, so a kill mid-line leaves half a row that the next run's rows run into.
    An epoch that a resumed run repeats replaces the earlier row: each epoch appears once."""

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)
        self.rows = histories.read_csv(self.path)

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        self.rows = [r for r in self.rows if r["epoch"] < row["epoch"]] + [row]
        fileio.write_text(self.path, histories.csv_text(self.rows))


class AtomicBackup(keras.callbacks.Callback):
    """Keras' BackupAndRestore, made crash-safe.

    BackupAndRestore writes `latest.weights.h5` in place: a kill during the first epoch's write left a
    corrupt file and no earlier one to fall back on, and every later --resume failed. Here each
    epoch's weights go to a new file, `state.json` is then renamed over the record of the last
    complete epoch, and only then is the older weights file removed."""

    def __init__(self, folder):
        super().__init__()
        self.folder = Path(folder)
        self.record = self.folder / "state.json"

    def saved_epoch(self):
        """Epochs completed according to the backup on disk (0 when there is none)."""
        state = self._state()
        return state["epoch"] if state else 0

    def _state(self):
        try:
            state = json.loads(self.record.read_text())
            if (self.folder / state["weights"]).is_file() and int(state["epoch"]) >= 1:
                return {"epoch": int(state["epoch"]), "weights": state["weights"]}
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return None

    def on_train_begin(self, logs=None):
        state = self._state()
        if state is None:
            return
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(str(self.folder / state["weights"]))
        self.model._initial_epoch = state["epoch"]  # what BackupAndRestore sets, read by fit()

    def on_epoch_end(self, epoch, logs=None):
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"epoch{epoch + 1}.weights.h5"
        final = self.folder / name
        _save_weights(self.model, self.folder / f".tmp-{name}", final)
        fileio.write_json(self.record, {"epoch": epoch + 1, "weights": name})
        _remove_all_but(self.folder, "epoch*.weights.h5", name)


def _save_weights(model, tmp, final):
    """Weights written aside and renamed into place; a failed write (a full disk) removes its partial
    file, which would otherwise keep the disk full for the next run."""
    try:
        model.save_weights(str(tmp), overwrite=True)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _remove_all_but(folder, pattern, keep):
    """Older weights files, and the leftovers of writes a kill cut short."""
    for stale in [*folder.glob(pattern), *folder.glob(".tmp-*")]:
        if stale.name != keep:
            stale.unlink(missing_ok=True)


class BestWeights(keras.callbacks.Callback):
    """The weights of the epoch with the best `monitor` so far, kept the same crash-safe way as the
    backup: `best.json` names the epoch, its score and its weights file, and is renamed in last."""

    def __init__(self, folder, monitor):
        super().__init__()
        self.folder = Path(folder)
        self.monitor = monitor
        self.record = self.folder / "best.json"

    def saved(self):
        """{"epoch", "value", "weights"} of the best weights on disk, or None."""
        try:
            best = json.loads(self.record.read_text())
            if (self.folder / best["weights"]).is_file():
                return {"epoch": int(best["epoch"]), "value": float(best["value"]), "weights": best["weights"]}
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        best = self.saved()
        if value is None or value != value or (best is not None and value <= best["value"]):
            return  # NaN never counts as best
        name = f"best{epoch + 1}.weights.h5"
        _save_weights(self.model, self.folder / f".tmp-{name}", self.folder / name)
        fileio.write_json(self.record, {"epoch": epoch + 1, "value": float(value), "weights": name})
        _remove_all_but(self.folder, "best*.weights.h5", name)


class WatchSet(keras.callbacks.Callback):
    """train --watch: scores a labelled set of your own after every epoch, as the seed scored its five
    handwritten digits, into the epoch's logs as watch_loss and watch_accuracy (so the history has
    them). It must run before HistoryLog."""

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        loss, accuracy = self.model.evaluate(self.x, self.y, batch_size=EVAL_BATCH_SIZE, verbose=0)[:2]
        logs["watch_loss"], logs["watch_accuracy"] = float(loss), float(accuracy)


class TrainingTime(keras.callbacks.Callback):
    """Seconds spent training, every session of a resumed run together: the total so far is kept in
    `path` after each epoch, so that a --resume reports the whole run's time, not its own part."""

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)
        try:
            self.before = float(json.loads(self.path.read_text())["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            self.before = 0.0
        self.start = time.perf_counter()  # made just before fit(), whose set-up counts too

    def total(self):
        return self.before + time.perf_counter() - self.start

    def on_epoch_end(self, epoch, logs=None):
        fileio.write_json(self.path, {"seconds": self.total()})
