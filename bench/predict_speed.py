"""How fast is predict-csv from a shell? Prints wall times of whole commands, as a pipeline sees them.

    python bench/predict_speed.py [--data ../shared/data/mnist] [--repeat 5]

1. One seed-format file, `digitcli predict-csv sample_digits/digit3_1.csv`, through the default
   (ONNX) path and through `--backend keras` (TensorFlow), the reference in the same run.
2. A 10,000-row CSV (one image per row), written to a temporary folder (never committed): from the
   MNIST test set when --data is given, else from the sample digits with noise. Reported as images
   per second of the whole command (start-up and parsing included), and the start-up alone
   (`predict-csv` on one file) so the per-image cost can be seen apart from it.
3. The reference in the same run: a plain onnxruntime loop (default session options, 256-image
   chunks) over the same 10,000 images as a NumPy array, with the same model file, in this process;
   the whole command's images/s is given as a ratio to it.
4. Kaggle's test.csv layout: 28,000 rows under a `pixel0,...,pixel783` header, no label, through
   `--format kaggle` (from the 10,000 test images and the first 18,000 training images with --data).
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "digitcli"]


def wall(args, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(CLI + args, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def big_csv(path, data, rows=10_000, header=False):
    """Write `rows` images, one per row; return (what they are, the images)."""
    if data:
        from digitcli.data.datasets import load_raw

        raw = load_raw(data)
        images = np.concatenate([raw.x_test, raw.x_train])[:rows]
        source = f"first {rows:,} MNIST test images" if rows <= len(raw.x_test) else f"{rows:,} MNIST images"
    else:
        rng = np.random.default_rng(0)
        samples = np.stack([np.loadtxt(p, delimiter=",") for p in sorted((ROOT / "sample_digits").glob("digit*.csv"))])
        images = np.clip(samples[rng.integers(0, len(samples), rows)] + rng.normal(0, 10, (rows, 28, 28)), 0, 255)
        source = f"{rows:,} noisy copies of the sample digits"
    images = images.reshape(len(images), 784).astype(np.uint8)
    names = ",".join(f"pixel{i}" for i in range(784)) if header else ""
    np.savetxt(path, images, fmt="%d", delimiter=",", header=names, comments="")
    return source, images


def plain_onnx(model, images, repeat):
    """The reference: what onnxruntime itself does with these images, timed from session creation."""
    import onnxruntime as ort

    onnx_path = Path(model or ROOT / "models/robust.keras").with_suffix(".onnx")
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        name, shape = session.get_inputs()[0].name, session.get_inputs()[0].shape[1:]
        x = (images.astype(np.float32) / 255).reshape(len(images), *shape)
        np.concatenate([session.run(None, {name: x[i : i + 256]})[0] for i in range(0, len(x), 256)]).argmax(1)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--model", default=None, help="a model other than the default")
    args = parser.parse_args()
    chosen = ["--model", args.model] if args.model else []
    one = ["predict-csv", "sample_digits/digit3_1.csv", *chosen]

    onnx_med, onnx_min = wall(one, args.repeat)
    keras_med, keras_min = wall(one + ["--backend", "keras"], max(1, args.repeat // 2))
    print(f"{'case':46s} {'median s':>9s} {'min s':>7s}")
    print(f"{'one file, default (ONNX)':46s} {onnx_med:9.3f} {onnx_min:7.3f}")
    print(f"{'one file, --backend keras (reference)':46s} {keras_med:9.3f} {keras_min:7.3f}")
    print(f"{'ratio ONNX / Keras':46s} {onnx_med / keras_med:9.3f}")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.csv"
        source, images = big_csv(path, args.data)
        medians = {}
        for fmt in ("csv", "json", "table"):
            med, best = medians[fmt] = wall(["predict-csv", str(path), "--format", fmt, *chosen], args.repeat)
            print(
                f"{f'10,000 rows --format {fmt}, whole command':46s} {med:9.3f} {best:7.3f}"
                f"   {10_000 / med:,.0f} images/s (median)"
            )
        per_image = (med - onnx_med) / 9_999
        print(
            f"{'10,000 rows, beyond one-file start-up':46s} {med - onnx_med:9.3f}"
            f"            {1 / per_image:,.0f} images/s"
        )
        plain = plain_onnx(args.model, images, args.repeat)
        print(
            f"{'plain onnxruntime loop, same 10,000 images':46s} {plain:9.3f}            {10_000 / plain:,.0f} images/s"
        )
        print(f"{'ratio --format csv / plain loop (images/s)':46s} {plain / medians['csv'][0]:9.3f}")
        kaggle = Path(tmp) / "test.csv"
        big_csv(kaggle, args.data, 28_000, header=True)
        med, best = wall(["predict-csv", str(kaggle), "--format", "kaggle", *chosen], args.repeat)
        print(
            f"{'Kaggle test.csv, 28,000 rows, --format kaggle':46s} {med:9.3f} {best:7.3f}"
            f"   {28_000 / med:,.0f} images/s"
        )
        print(f"(10,000-row file: {source}, {path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
