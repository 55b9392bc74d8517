"""The model registry builds the seeds' architectures exactly."""

import pytest

keras = pytest.importorskip("keras")

from digitcli import cli, models  # noqa: E402
from digitcli.errors import UsageProblem  # noqa: E402


def test_registry_matches_the_cli_choices():
    assert tuple(models.BUILDERS) == cli.ARCHITECTURES


def test_dense_is_the_seed_network():
    model = models.build("dense")
    assert model.count_params() == 355_110
    assert model.input_shape == (None, 784)
    kinds = [(type(layer).__name__, getattr(layer, "units", None)) for layer in model.layers]
    assert kinds == [("Dense", 400), ("Dense", 100), ("Dropout", None), ("Dense", 10)]
    assert [layer.activation.__name__ for layer in model.layers if hasattr(layer, "units")] == ["relu", "relu", "softmax"]
    assert model.layers[2].rate == 0.5


def test_cnn_is_the_keras_convnet():
    model = models.build("cnn")
    assert model.input_shape == (None, 28, 28, 1)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense"]
    # keras.io's "simple MNIST convnet" has 34,826 parameters.
    assert model.count_params() == 34_826


def test_options_change_the_network():
    model = models.build("dense", hidden=(30,), activation="sigmoid", dropout=0.0, l2=1e-4)
    assert model.count_params() == 784 * 30 + 30 + 30 * 10 + 10
    assert model.layers[0].activation.__name__ == "sigmoid"
    assert not any(type(layer).__name__ == "Dropout" for layer in model.layers)
    assert model.layers[0].kernel_regularizer.get_config()["l2"] == pytest.approx(1e-4)


def test_unknown_model_name():
    with pytest.raises(UsageProblem, match="unknown model 'lenet'; choose one of dense, cnn"):
        models.build("lenet")
