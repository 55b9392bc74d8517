"""`evaluate`: score a saved model on the MNIST test set."""

import numpy as np

from digitcli import metrics, modelfile
from digitcli.predictors import load_predictor


def evaluate(model_path, raw, backend="auto", note=None):
    """Scores of the model at `model_path` on raw.x_test / raw.y_test, plus what was evaluated."""
    meta = modelfile.read_metadata(model_path)
    predictor = load_predictor(model_path, backend, note=note)
    probabilities = predictor.probabilities(raw.x_test)
    loss_kind = meta.get("settings", {}).get("loss", "crossentropy")
    result = metrics.scores(probabilities, raw.y_test, loss_kind)
    result.update({"model": str(model_path), "architecture": meta.get("architecture"),
                   "backend": predictor.backend, "data": raw.source, "loss_kind": loss_kind})
    return result, probabilities


def misclassified(probabilities, labels):
    """Indices of wrong predictions, most confident mistakes first."""
    predictions = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predictions != labels)
    return wrong[np.argsort(-probabilities[wrong, predictions[wrong]], kind="stable")]
