"""The model registry builds the seeds' architectures exactly."""

import pytest

keras = pytest.importorskip("keras")

from digitcli import settings  # noqa: E402
from digitcli.errors import UsageProblem  # noqa: E402
from digitcli.nets import builders as models  # noqa: E402


def test_every_architecture_the_cli_offers_builds_a_digit_reader():
    for name in settings.ARCHITECTURES:
        model = models.build(name)
        assert model.output_shape == (None, 10), name
        assert model.input_shape[1:] in ((784,), (28, 28, 1)), name
    assert set(models.BUILDERS) == set(settings.ARCHITECTURES)  # no builder the CLI cannot reach


def test_dense_is_the_seed_network():
    model = models.build("dense")
    assert model.count_params() == 355_110
    assert model.input_shape == (None, 784)
    kinds = [(type(layer).__name__, getattr(layer, "units", None)) for layer in model.layers]
    assert kinds == [("Dense", 400), ("Dense", 100), ("Dropout", None), ("Dense", 10)]
    assert [layer.activation.__name__ for layer in model.layers if hasattr(layer, "units")] == [
        "relu",
        "relu",
        "softmax",
    ]
    assert model.layers[2].rate == 0.5


def test_keras_convnet_is_the_keras_io_convnet():
    model = models.build("keras-convnet")
    assert model.input_shape == (None, 28, 28, 1)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dropout",
        "Dense",
    ]
    # keras.io's "simple MNIST convnet" has 34,826 parameters.
    assert model.count_params() == 34_826


def test_cnn_is_the_small_fast_convnet():
    import numpy as np

    model = models.build("cnn", dropout=0.0)
    assert [
        (type(layer).__name__, getattr(layer, "filters", getattr(layer, "units", None))) for layer in model.layers
    ] == [
        ("Rescaling", None),
        ("Conv2D", 24),
        ("MaxPooling2D", None),
        ("Conv2D", 32),
        ("MaxPooling2D", None),
        ("Flatten", None),
        ("Dense", 512),
        ("Dense", 10),
    ]
    assert model.layers[1].kernel_size == (5, 5) and model.layers[3].kernel_size == (3, 3)
    assert model.count_params() == 624 + 6_944 + 800 * 512 + 512 + 5_130
    # The normalisation is in the model: [0, 1] pixels become MNIST's zero-mean, unit-std inputs.
    normalise = keras.Sequential([keras.Input((28, 28, 1)), model.layers[0]])
    out = np.asarray(
        normalise(
            np.array([0.1307, 0.1307 + 0.3081], "float32").reshape(1, 2, 1, 1)
            * np.ones((1, 28, 28, 1), "float32")[:, :2, :1]
        )
    )
    np.testing.assert_allclose(out.ravel(), [0.0, 1.0], atol=1e-6)


def test_bn_cnn_normalises_each_layer_and_drops_out_before_the_output():
    import numpy as np

    model = models.build("bn-cnn")
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == [
        "Rescaling",
        "Conv2D",
        "BatchNormalization",
        "Activation",
        "MaxPooling2D",
        "Conv2D",
        "BatchNormalization",
        "Activation",
        "MaxPooling2D",
        "Flatten",
        "Dense",
        "BatchNormalization",
        "Activation",
        "Dropout",
        "Dense",
    ]
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert [(c.filters, c.kernel_size) for c in convs] == [(32, (5, 5)), (64, (3, 3))]
    # No bias before batch norm (its shift is the bias): conv 5*5*32, conv 3*3*32*64, dense 1600*256,
    # then each norm's 4 vectors, and the output layer's weights and biases.
    assert model.count_params() == 800 + 18_432 + 1_600 * 256 + 4 * (32 + 64 + 256) + 2_570
    assert model.layers[13].rate == 0.3
    # In inference, batch norm uses its moving statistics: a batch of one reads as in a batch of many.
    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype="float32")
    np.testing.assert_allclose(model.predict(x[:1], verbose=0), model.predict(x, verbose=0)[:1], atol=1e-6)


def test_onecycle_rises_to_its_peak_then_anneals():
    import numpy as np

    from digitcli.nets.schedules import OneCycle

    schedule = OneCycle(0.01, total_steps=1000)
    rates = np.array([float(schedule(step)) for step in (0, 150, 300, 475, 650, 1000)])
    # Half-way up and half-way down a half cosine are the midpoints; a quarter of the way down,
    # cos(pi / 4) puts it 85.4% of the way from the floor to the peak.
    floor = 0.01 / 25e4
    down_quarter = floor + (0.01 - floor) * (1 + np.cos(np.pi / 4)) / 2
    expected = [0.01 / 25, (0.01 + 0.01 / 25) / 2, 0.01, down_quarter, (0.01 + floor) / 2, floor]
    np.testing.assert_allclose(rates, expected, rtol=1e-4)
    assert rates[3] == pytest.approx(0.0085355, rel=1e-4)
    again = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    assert float(again(650)) == pytest.approx(0.00500002, rel=1e-4)


def test_options_change_the_network():
    model = models.build("dense", hidden=(30,), activation="sigmoid", dropout=0.0, l2=1e-4)
    assert model.count_params() == 784 * 30 + 30 + 30 * 10 + 10
    assert model.layers[0].activation.__name__ == "sigmoid"
    assert not any(type(layer).__name__ == "Dropout" for layer in model.layers)
    assert model.layers[0].kernel_regularizer.get_config()["l2"] == pytest.approx(1e-4)


def test_unknown_model_name():
    with pytest.raises(UsageProblem, match="unknown model 'lenet'; choose one of dense, cnn"):
        models.build("lenet")


def test_book_cnn_is_nielsens_chapter_6_network():
    model = models.build("book-cnn", dropout=0.0)  # as the nielsen-ch6 preset builds it
    assert [
        (type(layer).__name__, getattr(layer, "filters", getattr(layer, "units", None))) for layer in model.layers
    ] == [
        ("Conv2D", 20),
        ("MaxPooling2D", None),
        ("Conv2D", 40),
        ("MaxPooling2D", None),
        ("Flatten", None),
        ("Dense", 100),
        ("Dense", 10),
    ]
    assert model.layers[0].kernel_size == (5, 5)
    assert model.count_params() == 520 + 20_040 + 64_100 + 1_010


def test_book_initialisations():
    import numpy as np

    keras.utils.set_random_seed(1)
    model = models.build("dense", hidden=(400,), dropout=0, init="fan-in", output="sigmoid")
    kernel, bias = (np.asarray(w) for w in model.layers[0].weights)
    assert abs(kernel.std() - 1 / np.sqrt(784)) < 0.002 and abs(kernel.mean()) < 0.002
    assert abs(bias.std() - 1.0) < 0.1
    assert model.layers[-1].activation.__name__ == "sigmoid"
    model = models.build("dense", hidden=(400,), dropout=0, init="normal")
    assert abs(np.asarray(model.layers[0].weights[0]).std() - 1.0) < 0.01


def test_book_losses_match_numpy_and_the_book_formulas():
    import numpy as np

    from digitcli.inference import metrics
    from digitcli.nets import losses

    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(10), 32).astype("float32")
    labels = rng.integers(0, 10, 32)
    y = np.eye(10, dtype="float32")[labels]
    quad = float(np.mean(keras.ops.convert_to_numpy(losses.quadratic(y, p))))
    assert quad == pytest.approx(np.mean(0.5 * ((y - p) ** 2).sum(axis=1)), rel=1e-5)
    assert quad == pytest.approx(metrics.loss(p, labels, "quadratic"), rel=1e-5)
    bce = float(np.mean(keras.ops.convert_to_numpy(losses.binary_crossentropy_sum(y, p))))
    assert bce == pytest.approx(metrics.loss(p, labels, "binary-crossentropy"), rel=1e-4)
    # Keras' own MSE averages over the 10 outputs: the book's quadratic cost is 5 times it.
    mse = float(keras.losses.MeanSquaredError()(y, p))
    assert quad == pytest.approx(5 * mse, rel=1e-5)
