"""keras.io's "Simple MNIST convnet" (examples/vision/mnist_convnet.py) as a student copies it: the
reference for `digitcli train --model cnn`'s time to accuracy. Same network, batch 128, Adam,
validation_split 0.1; all data as in-memory NumPy arrays.

    python bench/plain_keras_convnet.py --data ../shared/data/mnist [--epochs 1]

Prints one line per epoch: epoch, cumulative training seconds, test accuracy (measured after each
epoch, outside the clock, for the benchmark only)."""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402
from plain_seed001 import EpochClock  # noqa: E402

from digitcli.data.datasets import load_raw  # noqa: E402  (only to read the IDX files)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    raw = load_raw(args.data)
    keras.utils.set_random_seed(args.seed)
    x_train = np.expand_dims(raw.x_train.astype("float32") / 255, -1)
    x_test = np.expand_dims(raw.x_test.astype("float32") / 255, -1)
    y_train = keras.utils.to_categorical(raw.y_train, 10)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    clock = EpochClock(x_test, raw.y_test)
    model.fit(x_train, y_train, batch_size=128, epochs=args.epochs, validation_split=0.1, verbose=0, callbacks=[clock])


if __name__ == "__main__":
    main()
