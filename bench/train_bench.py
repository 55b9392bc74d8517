"""Train presets on real MNIST and compare with the plain Keras script, in one run.

    python bench/train_bench.py --data ../shared/data/mnist --presets seed001 --plain
    python bench/train_bench.py --data ../shared/data/mnist --presets keras-convnet,nielsen-ch1,nielsen-ch3
    python bench/train_bench.py --data ../shared/data/mnist --presets "" --defaults dense,cnn
    python bench/train_bench.py --data ../shared/data/mnist --presets "" --try '{"model": "cnn", "epochs": 3}'

Prints, per preset: epochs, training seconds, seconds per epoch, test accuracy of the kept
checkpoint, the first epoch and second at which test accuracy reached the preset's target (test
accuracy is measured after each epoch for this report only; nothing is selected by it), and the
figure the seed or the book reports. With --plain, bench/plain_seed001.py runs in the same process
tree first and seed001's seconds per epoch are given as a ratio to it. --defaults trains plain
`digitcli train --model NAME` settings and reports the time to 98% (dense) or 99% (cnn) against the
issue's budgets of 20 s and 60 s of training; --try does the same for other settings (JSON fields of
digitcli.settings.TrainSettings).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402

from digitcli.data.splits import load_dataset  # noqa: E402
from digitcli.nets.presets import PRESETS, resolve  # noqa: E402
from digitcli.pixels import model_input  # noqa: E402
from digitcli.settings import TrainSettings  # noqa: E402
from digitcli.training.run import train  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from plain_seed001 import EpochClock  # noqa: E402  (the same clock for both, so the ratio is fair)


def reached(rows, target):
    return next(((e, s) for e, s, a in rows if a >= target), (None, None))


# Time-to-accuracy goals for `digitcli train` with its defaults: (test accuracy, seconds of training).
DEFAULT_GOALS = {"dense": (0.98, 20.0), "cnn": (0.99, 60.0)}


def timed_training(settings, data, out_name):
    """Train with digitcli, timing each epoch and scoring the test set after it; (rows, metadata)."""
    dataset = load_dataset(data, settings.validation_size)
    shape = (784,) if settings.model == "dense" else (28, 28, 1)
    clock = EpochClock(model_input(dataset.x_test, shape), dataset.y_test, echo=False)
    with tempfile.TemporaryDirectory() as tmp:
        meta = train(
            settings,
            dataset,
            Path(tmp) / f"{out_name}.keras",
            verbose=0,
            export_onnx=False,
            note=lambda m: None,
            callbacks=[clock],
        )
    return clock.rows, meta


def row(name, rows, meta, target, reference):
    e, s = reached(rows, target)
    seconds = rows[-1][1]
    print(
        f"{name:24s} {len(rows):6d} {seconds:8.1f} {seconds / len(rows):8.2f} "
        f"{100 * meta['test']['accuracy']:8.2f}% {f'ep {e}, {s:.1f} s' if e else 'not reached':>16s}  {reference}",
        flush=True,
    )
    return seconds / len(rows)


def plain(data, epochs):
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "plain_seed001.py"), "--data", data, "--epochs", str(epochs)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [
        (int(p[1]), float(p[2]), float(p[6].rstrip("%")) / 100) for p in (line.split() for line in out.splitlines())
    ]
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--presets", default="seed001")
    parser.add_argument("--plain", action="store_true")
    parser.add_argument("--epochs", type=int, default=None, help="override every preset's epochs")
    parser.add_argument("--augment", default="none")
    parser.add_argument("--defaults", default="", help="comma-separated models to train with digitcli's defaults")
    parser.add_argument(
        "--try",
        dest="trial",
        action="append",
        default=[],
        metavar="JSON",
        help='other settings against the same goals, e.g. \'{"model": "cnn", "epochs": 3, '
        '"batch_size": 128, "schedule": "cosine", "lr": 0.003}\'; repeatable',
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"Keras {keras.__version__}"
    )
    header = (
        f"{'run':24s} {'epochs':>6s} {'seconds':>8s} {'s/epoch':>8s} {'test acc':>9s} {'target at':>16s}  reference"
    )
    print(header)
    plain_rows = None
    if args.plain:
        plain_rows = plain(args.data, args.epochs or 10)
        e, s = reached(plain_rows, 0.98)
        print(
            f"{'plain seed001 script':24s} {len(plain_rows):6d} {plain_rows[-1][1]:8.1f} "
            f"{plain_rows[-1][1] / len(plain_rows):8.2f} {100 * plain_rows[-1][2]:8.2f}% "
            f"{f'ep {e}, {s:.1f} s' if e else 'not reached':>16s}  (last epoch's weights)",
            flush=True,
        )
    for name in filter(None, args.presets.split(",")):
        preset = PRESETS[name]
        fields = resolve(name, args.augment)
        fields.update({"preset": name, "augment": args.augment})
        if args.epochs:
            fields["epochs"] = args.epochs
        rows, meta = timed_training(TrainSettings(**fields), args.data, name)
        per_epoch = row(
            name + ("+shift" if args.augment == "shift" else ""), rows, meta, preset["target"], preset["reference"]
        )
        if name == "seed001" and plain_rows:
            ratio = per_epoch / (plain_rows[-1][1] / len(plain_rows))
            print(f"{'seed001 / plain s/epoch':24s} {ratio:.3f}", flush=True)
    for model in filter(None, args.defaults.split(",")):
        against_goal(
            f"defaults --model {model}", {"model": model, **({"epochs": args.epochs} if args.epochs else {})}, args.data
        )
    for chosen in args.trial:
        fields = json.loads(chosen)
        against_goal(
            "try " + " ".join(f"{k}={v}" for k, v in fields.items() if k != "model"),
            {"model": "dense", **fields},
            args.data,
        )


def against_goal(label, fields, data):
    """Train with `fields` (TrainSettings; the rest digitcli's defaults) and report the time to the
    model's time-to-accuracy goal."""
    settings = TrainSettings(**fields)
    target, budget = DEFAULT_GOALS[settings.model]
    rows, meta = timed_training(settings, data, settings.model)
    e, s = reached(rows, target)
    verdict = "met" if e and s <= budget else "missed"
    row(label, rows, meta, target, f"goal: {100 * target:.0f}% within {budget:.0f} s of training: {verdict}")


if __name__ == "__main__":
    main()
