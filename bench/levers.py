"""What each speed lever gives the seed001 recipe (dense 400-100, Adam, batch 64) on this machine.

    python bench/levers.py --data ../shared/data/mnist [--epochs 3]

Each variant trains the same model from the same initial weights for --epochs epochs on the same
50,000 images; the table shows seconds per epoch after the first (the first includes tracing), and
the ratio to the plain `model.fit(numpy arrays)` in the same run."""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from digitcli.data.datasets import load_raw  # noqa: E402


def model():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(400, activation="relu"),
            keras.layers.Dense(100, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


class Clock(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def run(x, y, epochs, steps_per_execution=1, jit_compile=False, pipeline=False):
    m = model()
    m.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
        jit_compile=jit_compile,
    )
    clock = Clock()
    if pipeline:
        data = (
            tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(len(x), seed=0, reshuffle_each_iteration=True)
            .batch(64)
            .prefetch(tf.data.AUTOTUNE)
        )
        m.fit(data, epochs=epochs, verbose=0, callbacks=[clock])
    else:
        m.fit(x, y, batch_size=64, epochs=epochs, verbose=0, callbacks=[clock])
    return clock.times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--only", type=int, default=None, help="run only the first N variants (a smoke test)")
    args = parser.parse_args()
    raw = load_raw(args.data)
    x = raw.x_train[:50_000].reshape(-1, 784).astype("float32") / 255
    y = raw.y_train[:50_000].astype("int32")
    variants = [
        ("plain fit(numpy), jit auto", {}),
        ("jit_compile=True", {"jit_compile": True}),
        ("tf.data in memory", {"pipeline": True}),
        ("steps_per_execution=8", {"steps_per_execution": 8}),
        ("steps_per_execution=32", {"steps_per_execution": 32}),
        ("steps_per_execution=128", {"steps_per_execution": 128}),
        ("spe=32 + tf.data", {"steps_per_execution": 32, "pipeline": True}),
        ("spe=32 + jit", {"steps_per_execution": 32, "jit_compile": True}),
        ("spe=128 + tf.data + jit", {"steps_per_execution": 128, "pipeline": True, "jit_compile": True}),
    ]
    print(f"{'variant':34s} {'first s':>8s} {'s/epoch':>8s} {'ratio':>6s}")
    reference = None
    for name, kw in variants[: args.only]:
        times = run(x, y, args.epochs, **kw)
        steady = float(np.mean(times[1:])) if len(times) > 1 else times[0]
        reference = reference or steady
        print(f"{name:34s} {times[0]:8.2f} {steady:8.2f} {steady / reference:6.2f}", flush=True)


if __name__ == "__main__":
    main()
