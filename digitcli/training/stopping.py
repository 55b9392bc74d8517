"""Stopping a run cleanly: Ctrl-C or SIGTERM ends training at the next batch boundary, where no
checkpoint is half-written, and `--resume` continues from the last completed epoch."""

import signal
import threading


class TrainingInterrupted(Exception):
    """Ctrl-C (or SIGTERM) during training; the progress is saved and `--resume` continues it."""

    def __init__(self, message, signum=signal.SIGINT):
        super().__init__(message)
        self.exit_code = 128 + int(signum or signal.SIGINT)


class StopRequest:
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
