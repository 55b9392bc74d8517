"""The book's chapter 1 network trained by the book's algorithm in plain NumPy, float64, beside
digitcli's `--preset nielsen-ch1`: is the gap to the book's 95.42% digitcli's, or the recipe's?

    python bench/nielsen_ch1_numpy.py --data ../shared/data/mnist [--seeds 0 1 2] [--epochs 30]

The algorithm of Nielsen's network.py (written here afresh, vectorised over each mini-batch): a
784-30-10 sigmoid network, weights and biases drawn from N(0, 1), the quadratic cost, plain SGD with
eta 3.0 on mini-batches of 10 averaged, the 50,000 training images shuffled every epoch, the test set
scored after every epoch. Printed per seed: the test accuracy after the last epoch and at its peak
(the book quotes the peak of one run: 95.42%, at epoch 28), and the mean over the seeds.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def train(seed, x, y, x_test, y_test, epochs, hidden=30, batch=10, eta=3.0):
    rng = np.random.default_rng(seed)
    w1, b1 = rng.standard_normal((784, hidden)), rng.standard_normal(hidden)
    w2, b2 = rng.standard_normal((hidden, 10)), rng.standard_normal(10)
    targets = np.eye(10)[y]
    scores = []
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch):
            pick = order[start : start + batch]
            a0, t = x[pick], targets[pick]
            a1 = sigmoid(a0 @ w1 + b1)
            a2 = sigmoid(a1 @ w2 + b2)
            d2 = (a2 - t) * a2 * (1 - a2)  # the quadratic cost's gradient through the sigmoid
            d1 = (d2 @ w2.T) * a1 * (1 - a1)
            step = eta / len(pick)
            w2 -= step * a1.T @ d2
            b2 -= step * d2.sum(axis=0)
            w1 -= step * a0.T @ d1
            b1 -= step * d1.sum(axis=0)
        predicted = sigmoid(sigmoid(x_test @ w1 + b1) @ w2 + b2).argmax(axis=1)
        scores.append(float((predicted == y_test).mean()))
    return scores


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()

    from digitcli.data.datasets import load_raw

    raw = load_raw(args.data)
    x = raw.x_train[:50_000].reshape(-1, 784) / 255.0
    x_test = raw.x_test.reshape(-1, 784) / 255.0
    last, peak = [], []
    for seed in args.seeds:
        scores = train(seed, x, raw.y_train[:50_000], x_test, raw.y_test, args.epochs)
        best = int(np.argmax(scores))
        last.append(scores[-1])
        peak.append(scores[best])
        print(
            f"seed {seed}: test accuracy {100 * scores[-1]:.2f}% after epoch {args.epochs}, "
            f"peak {100 * scores[best]:.2f}% at epoch {best + 1}"
        )
    print(f"mean over {len(args.seeds)} seeds: last {100 * np.mean(last):.2f}%, peak {100 * np.mean(peak):.2f}%")


if __name__ == "__main__":
    main()
