"""The plain Keras script a student would copy for the seed's recipe: in-memory NumPy arrays into
model.fit, nothing else. The reference that bench/train_bench.py times digitcli against.

    python bench/plain_seed001.py --data ../shared/data/mnist [--epochs 10]

Prints one line per epoch: epoch, cumulative training seconds, test accuracy (measured after each
epoch for the benchmark only; nothing is selected by it)."""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from digitcli.data.datasets import load_raw  # noqa: E402  (only to read the IDX files)


class EpochClock(keras.callbacks.Callback):
    """Training seconds up to the end of each epoch, and test accuracy then (outside the clock)."""

    def __init__(self, x_test, y_test, echo=True):
        super().__init__()
        self.x_test, self.y_test, self.rows, self.elapsed, self.echo = x_test, y_test, [], 0.0, echo

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.elapsed += time.perf_counter() - self.start
        acc = float(np.mean(self.model.predict(self.x_test, batch_size=1024, verbose=0).argmax(1) == self.y_test))
        self.rows.append((epoch + 1, self.elapsed, acc))
        if self.echo:
            print(f"epoch {epoch + 1:2d}  {self.elapsed:7.2f} s  test accuracy {100 * acc:.2f}%", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    raw = load_raw(args.data)
    keras.utils.set_random_seed(0)
    x_train = raw.x_train.reshape(-1, 784).astype("float32") / 255  # all 60,000, as the seed does
    y_train = keras.utils.to_categorical(raw.y_train, 10)
    x_test = raw.x_test.reshape(-1, 784).astype("float32") / 255

    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(400, activation="relu"),
            keras.layers.Dense(100, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    clock = EpochClock(x_test, raw.y_test)
    model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, verbose=0, callbacks=[clock])


if __name__ == "__main__":
    main()
