"""The model the server answers with, switchable while it runs.

The (model file, predictor) pair lives in one frozen object, and switching models is one assignment
of `Served.current`. A request reads `current` once and keeps that pair to its end, so requests under
way finish on the model they started with, and none waits or is refused while a switch happens: the
new model is opened and loaded (off the event loop) before the assignment."""

import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path


def describe(model_file, predictor):
    """What GET /api/model answers: the stored metadata less the history, whose length is `epochs`."""
    info = {k: v for k, v in model_file.metadata.items() if k != "history"}
    info.update(
        {
            "file": model_file.path.name,
            "backend": predictor.backend,
            "epochs": len(model_file.metadata.get("history", [])),
        }
    )
    return info


@dataclass(frozen=True)
class Pair:
    model_file: object
    predictor: object
    info: dict = field(compare=False)

    @classmethod
    def of(cls, model_file, predictor):
        return cls(model_file, predictor, describe(model_file, predictor))

    @property
    def path(self):
        return Path(self.model_file.path)


class NotAllowed(Exception):
    """A path the server may not switch to (HTTP 400)."""


class Served:
    """The current pair, the one before it, and the model files the server may switch to: the one it
    started with and those its fine-tunes published. A request never names an arbitrary file."""

    def __init__(self, model_file, predictor, backend="auto"):
        self.current = Pair.of(model_file, predictor)
        self.previous = None
        self.backend = backend
        self.allowed = {self.current.path.resolve()}
        self._switching = threading.Lock()  # one switch at a time; readers never take it

    def allow(self, path):
        self.allowed.add(Path(path).resolve())

    def activate(self, path):
        """Load `path` and make it current (blocking: call it from a worker thread). Returns the pair."""
        from digitcli.inference.modelfile import ModelFile
        from digitcli.inference.predictors import load_predictor

        if Path(path).resolve() not in self.allowed:
            raise NotAllowed(
                f'{path}: not a model this server may switch to; give the path a fine-tune published, or "previous"'
            )
        model_file = ModelFile.open(path)
        pair = Pair.of(model_file, load_predictor(model_file, self.backend, note=lambda message: None))
        return self._switch(pair)

    def switch_back(self):
        """Make the model served before the last switch current again; None when there was none."""
        with self._switching:
            if self.previous is None:
                return None
            self.previous, self.current = self.current, self.previous
            return self.current

    def renamed(self, old, new):
        """A fine-tune kept the model file at `old` as `new` before publishing over `old`: the pairs
        loaded from it now name `new`, so that a switch back, and the next fine-tune's --from, find
        the model that was actually served."""
        old = Path(old).resolve()
        with self._switching:
            for name in ("previous", "current"):
                pair = getattr(self, name)
                if pair is not None and pair.path.resolve() == old:
                    moved = dataclasses.replace(pair.model_file, path=Path(new))
                    setattr(self, name, Pair.of(moved, pair.predictor))
            self.allow(new)

    def _switch(self, pair):
        with self._switching:
            self.previous, self.current = self.current, pair
            return pair
