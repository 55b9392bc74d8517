"""A stand-in for `python -m digitcli` in the fine-tune API tests: `evaluate` prints a JSON score,
`train` prints Keras' per-epoch lines and publishes a copy of --from at --out (the ONNX twin too),
so the tests exercise the job's processes, progress and switching without TensorFlow.

FAKE_TRAIN_SLEEP: seconds per epoch; FAKE_TRAIN_FAIL: exit 3 instead of publishing;
FAKE_LOG: append each command line (JSON) to this file."""

import json
import os
import sys
import time
from pathlib import Path


def option(args, name):
    return args[args.index(name) + 1]


def main(args):
    if os.environ.get("FAKE_LOG"):
        with open(os.environ["FAKE_LOG"], "a") as fh:
            data = Path(option(args, "--data"))
            labels = (data / "labels.csv").read_text() if (data / "labels.csv").exists() else None
            fh.write(json.dumps({"args": args, "labels": labels}) + "\n")
    if args[0] == "evaluate":
        model, data = option(args, "--model"), option(args, "--data")
        own = (Path(data) / "labels.csv").exists()
        accuracy = (0.9 if "tuned" in model else 0.5) if own else (0.99 if "tuned" in model else 0.995)
        print(json.dumps({"accuracy": accuracy, "images": 2 if own else 100}))
        return 0
    epochs = int(option(args, "--epochs"))
    for epoch in range(1, epochs + 1):
        if epochs > 1:  # as Keras: no "Epoch 1/1"
            print(f"Epoch {epoch}/{epochs}", file=sys.stderr, flush=True)
        time.sleep(float(os.environ.get("FAKE_TRAIN_SLEEP", "0")))
        print(f"2/2 - 0s - accuracy: 0.9 - loss: 0.3 - val_accuracy: 0.{epoch} - val_loss: 0.5", file=sys.stderr)
    if os.environ.get("FAKE_TRAIN_FAIL"):
        print("error: the fake training failed", file=sys.stderr)
        return 3
    source, out = Path(option(args, "--from")), Path(option(args, "--out"))
    out.parent.mkdir(parents=True, exist_ok=True)
    trained = {suffix: source.with_suffix(suffix).read_bytes() for suffix in (".keras", ".onnx")}  # read at the start
    if out.exists():  # train's rule: the earlier model is kept as NAME.N.keras
        n = 1
        while out.with_name(f"{out.stem}.{n}.keras").exists():
            n += 1
        for suffix in (".keras", ".onnx"):
            os.replace(out.with_suffix(suffix), out.with_name(f"{out.stem}.{n}{suffix}"))
        print(f"kept the earlier {out} as {out.with_name(f'{out.stem}.{n}.keras')}", file=sys.stderr)
    for suffix, content in trained.items():
        out.with_suffix(suffix).write_bytes(content)
    print(f"test accuracy 90.00% after {epochs} epochs; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
