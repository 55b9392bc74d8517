"""Time to accuracy of `digitcli train --model cnn` against the keras.io convnet, in one run.

    python bench/cnn_speed.py --data ../shared/data/mnist [--seeds 0,1,2] [--also '{"epochs": 3, "lr": 0.005}']

For each seed: the plain keras.io convnet script's first epoch (bench/plain_keras_convnet.py, its
own process), then digitcli's cnn with its defaults and with each --also setting (JSON fields of
TrainSettings; the one-cycle schedule spans the whole run, so each is its own run). Test accuracy is measured after
each epoch outside the clock, for this report only. Prints per run the training seconds and the
test accuracy after each epoch, then the medians over the seeds and the ratio of digitcli's time to
99.0% (and 99.3%) to the keras.io script's first epoch."""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from train_bench import reached, timed_training  # noqa: E402

from digitcli.settings import TrainSettings  # noqa: E402


def keras_io_first_epoch(data, seed):
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "plain_keras_convnet.py"),
            "--data",
            data,
            "--epochs",
            "1",
            "--seed",
            str(seed),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    parts = out.split()
    return float(parts[2]), float(parts[6].rstrip("%")) / 100


def _label(variant):
    fields = json.loads(variant)
    return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in fields.items()) or "(defaults)"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument(
        "--also",
        action="append",
        default=None,
        metavar="JSON",
        help='other cnn settings to time, e.g. \'{"epochs": 3, "lr": 0.005}\'; repeatable',
    )
    args = parser.parse_args()
    variants = ["{}", *(args.also if args.also is not None else ['{"epochs": 3, "lr": 0.005}'])]
    results = {v: [] for v in variants}
    reference = []
    for seed in (int(s) for s in args.seeds.split(",")):
        seconds, acc = keras_io_first_epoch(args.data, seed)
        reference.append(seconds)
        print(f"seed {seed}: keras.io convnet epoch 1: {seconds:.1f} s, test {100 * acc:.2f}%", flush=True)
        for variant in variants:
            rows, meta = timed_training(TrainSettings(model="cnn", seed=seed, **json.loads(variant)), args.data, "cnn")
            results[variant].append(rows)
            trail = ", ".join(f"ep {e}: {s:.1f} s {100 * a:.2f}%" for e, s, a in rows)
            print(
                f"seed {seed}: digitcli cnn {_label(variant)}: {trail}; kept checkpoint "
                f"{100 * meta['test']['accuracy']:.2f}%",
                flush=True,
            )
    ref = statistics.median(reference)
    print(f"\nkeras.io convnet first epoch, median: {ref:.1f} s")
    for variant, runs in results.items():
        final = statistics.median(r[-1][2] for r in runs)
        seconds = statistics.median(r[-1][1] for r in runs)
        print(
            f"digitcli cnn {_label(variant)}: median test accuracy {100 * final:.2f}% after {seconds:.1f} s "
            f"= {seconds / ref:.2f} keras.io epochs"
        )
        for target in (0.99, 0.993):
            times = [reached(r, target)[1] for r in runs]
            if all(t is not None for t in times):
                t = statistics.median(times)
                print(f"    time to {100 * target:.1f}%: median {t:.1f} s = {t / ref:.2f} keras.io epochs")
            else:
                print(
                    f"    time to {100 * target:.1f}%: not reached in "
                    f"{sum(t is None for t in times)} of {len(times)} runs"
                )


if __name__ == "__main__":
    main()
