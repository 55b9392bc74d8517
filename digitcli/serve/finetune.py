"""Fine-tuning from the page: one job at a time, run by `digitcli train` and `digitcli evaluate` in
worker processes, never in the server's. A thread of the server starts them one after the other and
reads their output; the event loop only reads the job's state.

The job trains on a copy of the collected samples, and the new model is published to its own --out
by train's usual rules (an earlier one kept as NAME.N.keras); the served model changes only when
POST /api/model/activate says so. So a fine-tune that fails, or is killed, leaves the served model
and the samples as they were."""

import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from digitcli.training.plan import FINE_TUNE

MIN_SAMPLES = 20  # a tenth held out to compare on, a tenth of the rest to pick the best epoch
MAX_EPOCHS = 20
DEFAULT_EPOCHS = FINE_TUNE["epochs"]  # train --from's own choice for a small set (training/plan.py)
NEEDS_MIX = (
    "fine-tuning mixes MNIST's training images in so that the model does not forget them, and no MNIST "
    "is at hand: start the server with --mix DIR (a folder holding MNIST's four IDX files, "
    "train-images-idx3-ubyte.gz and the others) or set DIGITCLI_DATA to one"
)
EPOCH_STARTED = re.compile(r"^Epoch (\d+)/(\d+)")
VAL_ACCURACY = re.compile(r"\bval_accuracy: ([0-9.]+)")
KEPT = re.compile(r"^kept the earlier (.+) as (.+\.keras)$")


class Refused(Exception):
    """A fine-tune that cannot start: `status` 409 (one is running) or 422 (not ready)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class FineTune:
    """The one fine-tune job of a server. `launcher` is the command that runs digitcli."""

    def __init__(self, store, served, mix, out, launcher=None):
        self.store, self.served, self.mix, self.out = store, served, mix, Path(out)
        self.launcher = list(launcher or [sys.executable, "-m", "digitcli"])
        self._lock = threading.Lock()
        self._state = {"state": "idle"}
        self._proc = None

    def status(self):
        with self._lock:
            state = json.loads(json.dumps(self._state))
        state["mix"] = str(self.mix) if self.mix else None
        if not self.mix:
            state["mix_needed"] = NEEDS_MIX
        return state

    def _update(self, **changes):
        with self._lock:
            self._state.update(changes)

    def start(self, epochs=DEFAULT_EPOCHS):
        """Start the job in a thread of its own; Refused when it cannot."""
        with self._lock:  # checked and marked running at once: two starts at once cannot both pass
            if self._state["state"] == "running":
                raise Refused(409, "a fine-tune is running already; wait for it (GET /api/finetune)")
            if not self.mix:
                raise Refused(422, NEEDS_MIX)
            kept = self.store.listing()["count"]
            if kept < MIN_SAMPLES:
                raise Refused(422, f"keep at least {MIN_SAMPLES} labelled digits first ({kept} kept so far)")
            start_model = self.served.current.path
            self._state = {
                "state": "running",
                "step": "copying the samples",
                "epochs": epochs,
                "epoch": 0,
                "progress": [],
                "from": str(start_model),
                "started": time.time(),
            }
        threading.Thread(target=self._run, args=(epochs, start_model), daemon=True).start()
        return self.status()

    def _run(self, epochs, start_model):
        work = Path(tempfile.mkdtemp(prefix="digitcli-finetune-"))
        try:
            data = work / "digits"
            self.store.snapshot(data)
            before = self._scores(start_model, data, "scoring the model before")
            self._train(start_model, data, epochs)
            if self.status().get("kept"):
                self.served.renamed(self.out, self.status()["kept"])
            self.served.allow(self.out)
            after = self._scores(self.out, data, "scoring the new model")
            self._update(state="done", step="done", model=str(self.out), before=before, after=after)
        except JobFailed as exc:
            self._update(state="failed", step="failed", error=str(exc))
        except Exception as exc:  # noqa: BLE001 - the page must hear of it; the server keeps serving
            self._update(state="failed", step="failed", error=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self._update(finished=time.time())
            shutil.rmtree(work, ignore_errors=True)

    def _scores(self, model, data, step):
        """Accuracy on the held-out tenth of the samples (train's test set) and on MNIST's test set."""
        self._update(step=step)
        found = {}
        for key, source in (("own", data), ("mnist", self.mix)):
            lines = self._worker(["evaluate", "--model", str(model), "--data", str(source), "--format", "json"])
            result = json.loads("\n".join(lines))
            found[key] = {"accuracy": result["accuracy"], "images": result["images"]}
        return found

    def _train(self, start_model, data, epochs):
        self._update(step="training")
        command = ["train", "--from", str(start_model), "--data", str(data), "--mix", str(self.mix)]
        # The rate and the frozen convolutions are --from's defaults for small sets, measured to keep MNIST.
        command += ["--epochs", str(epochs), "--out", str(self.out), "--restart"]  # an earlier model is kept
        self._worker(command, self._progress)

    def _progress(self, line):
        """Follow train's stderr: Keras' "Epoch k/N" (printed only when N > 1), and a line of metrics
        when each epoch ends."""
        started = EPOCH_STARTED.match(line)
        accuracy = VAL_ACCURACY.search(line)
        kept = KEPT.match(line)
        with self._lock:
            if started:
                self._state["epoch"] = int(started.group(1))
            if accuracy:
                done = len(self._state["progress"]) + 1
                self._state["progress"].append({"epoch": done, "val_accuracy": float(accuracy[1])})
                self._state["epoch"] = max(self._state["epoch"], done)
            if kept:
                self._state["kept"] = kept.group(2)

    def _worker(self, args, on_line=None):
        """Run digitcli with `args` in a worker process; its stdout lines. Its stderr goes to
        `on_line` as it comes; a failure raises JobFailed with its last lines."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        proc = subprocess.Popen(
            [*self.launcher, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            errors="replace",
        )
        self._proc = proc
        out = []
        reader = threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True)
        reader.start()
        tail = collections.deque(maxlen=8)
        for line in proc.stderr:
            line = line.rstrip("\n").split("\r")[-1]
            tail.append(line)
            if on_line:
                on_line(line)
        code = proc.wait()
        reader.join()
        if code != 0:
            said = " / ".join(t for t in tail if t.strip())
            raise JobFailed(f"`digitcli {args[0]}` ended with exit status {code}: {said or 'no message'}")
        return [line.rstrip("\n") for line in out]

    def kill(self):
        """Kill the worker under way, if any (tests and shutdown); the job then fails."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()


class JobFailed(Exception):
    pass
