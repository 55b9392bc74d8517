"""Temperature scaling: one number that turns a model's scores into honest probabilities.

A model trained with label smoothing never says more than about 0.92, even for digits it never
gets wrong. Dividing the log-probabilities by a temperature T fitted on the validation set (T < 1
sharpens, T > 1 softens) fixes that without changing any prediction: the order of the ten scores,
and so the argmax, stays the same (Guo et al. 2017, "On Calibration of Modern Neural Networks").
"""

import numpy as np

# log(0) is -inf; anything below float32's smallest normal number is noise anyway.
TINY = 1e-30
ECE_BINS = 15


def apply_temperature(probabilities, temperature):
    """softmax(log p / T), row by row; T = 1 (or None) returns p unchanged."""
    p = np.asarray(probabilities, dtype=np.float32)
    if temperature is None or temperature == 1.0 or len(p) == 0:
        return p
    z = np.log(np.maximum(p.astype(np.float64), TINY)) / float(temperature)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def nll(probabilities, labels):
    """Mean negative log-likelihood of the true labels: the plain cross-entropy, no smoothing."""
    p = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return float("nan")
    return float(-np.mean(np.log(np.maximum(p[np.arange(len(labels)), labels], TINY))))


def fit_temperature(probabilities, labels):
    """The T that minimises the NLL of softmax(log p / T) on (probabilities, labels)."""
    from scipy.optimize import minimize_scalar

    logp = np.log(np.maximum(np.asarray(probabilities, dtype=np.float64), TINY))
    labels = np.asarray(labels, dtype=np.int64)
    rows = np.arange(len(labels))
    if np.all(logp.argmax(axis=1) == labels):
        # With no image misread the NLL only falls as T shrinks: the fit would run to its bound (every
        # confidence 1.0) on any small, easy validation set. No mistakes say nothing on how sure to be.
        return 1.0

    def objective(log_t):
        z = logp / np.exp(log_t)
        top = z.max(axis=1, keepdims=True)
        lse = top[:, 0] + np.log(np.exp(z - top).sum(axis=1))
        return float(np.mean(lse - z[rows, labels]))

    # T between 0.05 and 20 covers any model worth calibrating; bounded Brent needs no gradient.
    found = minimize_scalar(objective, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(found.x))


def expected_calibration_error(probabilities, labels, bins=ECE_BINS):
    """ECE: the mean |accuracy - confidence| over equal-width confidence bins, weighted by the share
    of images in each bin. Confidence is the top probability; a bin is (lo, hi], the first [0, hi]."""
    table = reliability(probabilities, labels, bins)
    n = sum(row["images"] for row in table)
    if n == 0:
        return float("nan")
    return float(sum(row["images"] * abs(row["accuracy"] - row["confidence"]) for row in table if row["images"]) / n)


def reliability(probabilities, labels, bins=ECE_BINS):
    """Per confidence bin: its edges, how many images fell in it, their mean confidence and accuracy."""
    p = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    confidence = p.max(axis=1) if len(p) else np.zeros(0)
    correct = (p.argmax(axis=1) == labels) if len(p) else np.zeros(0, dtype=bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # searchsorted(side="left") puts a confidence equal to an edge in the bin below it: (lo, hi].
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    table = []
    for b in range(bins):
        inside = which == b
        k = int(inside.sum())
        table.append(
            {
                "low": float(edges[b]),
                "high": float(edges[b + 1]),
                "images": k,
                "confidence": float(confidence[inside].mean()) if k else None,
                "accuracy": float(correct[inside].mean()) if k else None,
            }
        )
    return table


def summary(probabilities, labels, temperature=None):
    """What digitcli records about calibrated probabilities on a labelled set."""
    return {
        "nll": nll(probabilities, labels),
        "ece": expected_calibration_error(probabilities, labels),
        "temperature": temperature,
    }
