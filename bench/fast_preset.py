"""Time to 99.5% for short versions of the robust recipe, against the keras.io convnet's epoch, in one run.

    python bench/fast_preset.py --data ../shared/data/mnist --profile
    python bench/fast_preset.py --data ../shared/data/mnist --seeds 0,1,2 --preset fast
    python bench/fast_preset.py --data ../shared/data/mnist --seeds 0 --try '{"epochs": 8, "validation_size": 0}'

The keras.io convnet's first epoch (bench/plain_keras_convnet.py, its own process) is timed before
and after the trainings; every time is also given as a ratio to the mean of the two, since seconds on a
shared machine say little. --try gives TrainSettings fields over the `robust` preset's (--preset NAME
starts from that preset instead). Test accuracy is measured after each epoch outside the clock, for
this report only: the kept model is the schedule's last epoch (or the best on validation images), never
one chosen by the test set.

--profile splits an epoch's time: one pass over the --augment affine pipeline alone (the distortion's
cost), one cnn training epoch without augmentation, and 30 training steps in float32 against Keras'
mixed_bfloat16 policy (on CPUs with AVX-512 bf16 or AMX, bfloat16 matmuls may be faster)."""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cnn_speed import keras_io_first_epoch  # noqa: E402
from train_bench import reached, timed_training  # noqa: E402

from digitcli.nets.presets import resolve  # noqa: E402
from digitcli.settings import TrainSettings  # noqa: E402

TARGET = 0.995


def augment_pass(data, batch_size=256):
    """Seconds for one pass over the distorted training batches, with no model: the augmentation's share."""
    import numpy as np

    from digitcli.data.splits import load_dataset
    from digitcli.nets.augment import training_data
    from digitcli.pixels import model_input

    dataset = load_dataset(data, 10_000)
    x = model_input(dataset.x_train, (28, 28, 1))
    y = np.asarray(dataset.y_train)
    for _ in training_data(x[:512], y[:512], batch_size, 0):  # trace the graph outside the clock
        pass
    start = time.perf_counter()
    for _ in training_data(x, y, batch_size, 0):
        pass
    return time.perf_counter() - start


def step_seconds(policy, steps=30, batch_size=256):
    """Seconds per cnn training step (Adam, batch 256) under a Keras dtype policy, after 5 warm-up steps."""
    import keras
    import numpy as np

    from digitcli.nets.builders import build

    keras.mixed_precision.set_global_policy(policy)
    try:
        model = build("cnn", (512,), "relu", 0.0, 0.0, "softmax", "glorot", outputs=10)
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        rng = np.random.default_rng(0)
        x = rng.random((batch_size, 28, 28, 1), dtype=np.float32)
        y = keras.utils.to_categorical(rng.integers(0, 10, batch_size), 10)
        for _ in range(5):
            model.train_on_batch(x, y)
        start = time.perf_counter()
        for _ in range(steps):
            model.train_on_batch(x, y)
        return (time.perf_counter() - start) / steps
    finally:
        keras.mixed_precision.set_global_policy("float32")


def profile(data, ref):
    aug = augment_pass(data)
    print(f"augment pipeline alone, 50,000 images: {aug:.1f} s = {aug / ref:.2f} keras.io epochs", flush=True)
    rows, _ = timed_training(TrainSettings(**{**resolve("robust"), "epochs": 1, "augment": "none"}), data, "p")
    plain = rows[0][1]
    print(f"robust recipe, 1 epoch without augment: {plain:.1f} s = {plain / ref:.2f}", flush=True)
    rows, _ = timed_training(TrainSettings(**{**resolve("robust"), "epochs": 1}), data, "p")
    print(f"robust recipe, 1 epoch with affine: {rows[0][1]:.1f} s = {rows[0][1] / ref:.2f}", flush=True)
    f32, bf16 = step_seconds("float32"), step_seconds("mixed_bfloat16")
    print(f"cnn train step, batch 256: float32 {1000 * f32:.0f} ms, mixed_bfloat16 {1000 * bf16:.0f} ms", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--preset", default="robust")
    parser.add_argument("--try", dest="trial", action="append", default=[], metavar="JSON")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    reference = [keras_io_first_epoch(args.data, 0)[0]]
    print(f"keras.io convnet epoch 1 (before): {reference[0]:.1f} s", flush=True)
    if args.profile:
        profile(args.data, reference[0])
    results = {}
    for chosen in args.trial or ["{}"]:
        for seed in (int(s) for s in args.seeds.split(",")):
            fields = {**resolve(args.preset), "seed": seed, **json.loads(chosen)}
            rows, meta = timed_training(TrainSettings(**fields), args.data, "fast")
            results.setdefault(chosen, []).append((rows, meta["test"]["accuracy"]))
            trail = ", ".join(f"{e}: {s:.0f} s {100 * a:.2f}%" for e, s, a in rows)
            print(
                f"{args.preset} {chosen} seed {seed}: kept {100 * meta['test']['accuracy']:.2f}%; {trail}", flush=True
            )
    if args.trial or not args.profile:
        reference.append(keras_io_first_epoch(args.data, 0)[0])
        print(f"keras.io convnet epoch 1 (after): {reference[1]:.1f} s", flush=True)
    ref = statistics.mean(reference)
    for chosen, runs in results.items():
        kept = [a for _, a in runs]
        total = [r[-1][1] / ref for r, _ in runs]
        hit = [reached(r, TARGET)[1] for r, _ in runs]
        print(
            f"{args.preset} {chosen}: kept model's test accuracy per seed "
            f"{', '.join(f'{100 * a:.2f}%' for a in kept)} (median {100 * statistics.median(kept):.2f}%); "
            f"training {', '.join(f'{t:.1f}' for t in total)} keras.io epochs; first epoch at {100 * TARGET}%: "
            f"{', '.join('never' if h is None else f'{h / ref:.1f}' for h in hit)} keras.io epochs"
        )


if __name__ == "__main__":
    main()
