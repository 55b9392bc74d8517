"""`evaluate`: score a saved model on the MNIST test set."""

import numpy as np

from digitcli.errors import to_stderr
from digitcli.inference import modelfile
from digitcli.inference.predictors import load_predictor
from digitcli.report import metrics


def evaluate(model, raw, backend="auto", note=to_stderr):
    """Scores of `model` (a path or an opened ModelFile) on raw.x_test / raw.y_test, plus what was
    evaluated."""
    model = modelfile.as_model_file(model)
    predictor = load_predictor(model, backend, note=note)
    probabilities = predictor.probabilities(raw.x_test)
    result = metrics.scores(probabilities, raw.y_test, model.loss_kind)
    result.update({"model": str(model.path), "architecture": model.metadata.get("architecture"),
                   "backend": predictor.backend, "data": raw.source, "loss_kind": model.loss_kind})
    return result, probabilities


def misclassified(probabilities, labels):
    """Indices of wrong predictions, most confident mistakes first."""
    predictions = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predictions != labels)
    return wrong[np.argsort(-probabilities[wrong, predictions[wrong]], kind="stable")]
