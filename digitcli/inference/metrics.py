"""Scores computed from predicted probabilities, in NumPy, so evaluation works on either backend."""

import numpy as np

# Keras clips probabilities to [eps, 1 - eps] before taking logs; do the same so losses agree.
EPSILON = 1e-7


def loss(probabilities, labels, kind="crossentropy"):
    p = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if kind in ("mse", "quadratic", "binary-crossentropy"):
        y = np.eye(10)[labels]
        if kind == "mse":
            return float(np.mean((y - p) ** 2))
        if kind == "quadratic":
            return float(np.mean(0.5 * np.sum((y - p) ** 2, axis=1)))
        q = np.clip(p, EPSILON, 1 - EPSILON)
        return float(np.mean(-np.sum(y * np.log(q) + (1 - y) * np.log(1 - q), axis=1)))
    picked = np.clip(p[np.arange(len(labels)), labels], EPSILON, 1 - EPSILON)
    return float(-np.mean(np.log(picked)))


def confusion_matrix(labels, predictions):
    """Rows are true digits, columns predicted digits."""
    matrix = np.zeros((10, 10), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels, dtype=np.int64), np.asarray(predictions, dtype=np.int64)), 1)
    return matrix


def scores(probabilities, labels):
    """Accuracy, the plain cross-entropy (NLL) and the expected calibration error of `probabilities`:
    the same three figures, under the same names, that `train` stores under the model's "test"."""
    from digitcli.inference.calibration import expected_calibration_error, nll

    predictions = np.asarray(probabilities).argmax(axis=1)
    matrix = confusion_matrix(labels, predictions)
    per_class_total = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(per_class_total > 0, np.diag(matrix) / per_class_total, np.nan)
    return {
        "images": int(len(labels)),
        "correct": int(np.trace(matrix)),
        "accuracy": float(np.trace(matrix) / max(len(labels), 1)),
        "nll": nll(probabilities, labels),
        "ece": expected_calibration_error(probabilities, labels),
        "per_class_accuracy": [None if np.isnan(a) else float(a) for a in per_class],
        "confusion_matrix": matrix.tolist(),
    }
