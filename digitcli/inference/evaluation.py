"""`evaluate`: score a saved model on the MNIST test set."""

import numpy as np

from digitcli.errors import UsageProblem, to_stderr
from digitcli.inference import metrics, modelfile
from digitcli.inference.predictors import load_predictors


def evaluate(models, raw, backend="auto", note=to_stderr):
    """Scores of a model (a path or an opened ModelFile), or of an ensemble of several (their
    probabilities averaged), on raw.x_test / raw.y_test, plus what was evaluated."""
    models = [modelfile.as_model_file(m) for m in (models if isinstance(models, (list, tuple)) else [models])]
    kinds = {m.loss_kind for m in models}
    if len(kinds) > 1:
        raise UsageProblem(
            f"an ensemble needs models trained with one loss; these used {', '.join(sorted(kinds))}", "MODEL"
        )
    predictor = load_predictors(models, backend, note=note)
    probabilities = predictor.probabilities(raw.x_test)
    loss_kind = kinds.pop()
    result = metrics.scores(probabilities, raw.y_test)
    architectures = [m.metadata.get("architecture") for m in models]
    result.update(
        {
            "model": " + ".join(str(m.path) for m in models),
            "architecture": architectures[0]
            if len(models) == 1
            else f"ensemble of {len(models)}: " + ", ".join(map(str, architectures)),
            "backend": predictor.backend,
            "data": raw.source,
            "loss_kind": loss_kind,
            "temperature": [m.temperature for m in models] if len(models) > 1 else models[0].temperature,
        }
    )
    return result, probabilities


def misclassified(probabilities, labels):
    """Indices of wrong predictions, most confident mistakes first."""
    predictions = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predictions != labels)
    return wrong[np.argsort(-probabilities[wrong, predictions[wrong]], kind="stable")]
