"""Model builders, keyed by name in BUILDERS. Import this module only where Keras is needed."""

import keras
from keras import layers, regularizers

from digitcli.errors import UsageProblem

DEFAULT_HIDDEN = {"dense": (400, 100), "cnn": ()}


def _reg(l2):
    # Keras' L2(l) adds l * sum(w^2) to the loss; 0 means no regulariser at all.
    return regularizers.L2(l2) if l2 else None


def build_dense(hidden=(400, 100), activation="relu", dropout=0.5, l2=0.0):
    """Input(784) → Dense(h, activation)... → Dropout → Dense(10, softmax)."""
    model = keras.Sequential(name="dense")
    model.add(keras.Input(shape=(784,), name="pixels"))
    for i, units in enumerate(hidden, 1):
        model.add(layers.Dense(units, activation=activation, kernel_regularizer=_reg(l2), name=f"hidden{i}"))
    if dropout:
        model.add(layers.Dropout(dropout, name="dropout"))
    model.add(layers.Dense(10, activation="softmax", kernel_regularizer=_reg(l2), name="digits"))
    return model


def build_cnn(hidden=(), activation="relu", dropout=0.5, l2=0.0):
    """Input(28,28,1) → Conv(32,3) → Pool → Conv(64,3) → Pool → Flatten → [Dense(h)...] → Dropout → Dense(10)."""
    model = keras.Sequential(name="cnn")
    model.add(keras.Input(shape=(28, 28, 1), name="pixels"))
    model.add(layers.Conv2D(32, 3, activation=activation, kernel_regularizer=_reg(l2), name="conv1"))
    model.add(layers.MaxPooling2D(2, name="pool1"))
    model.add(layers.Conv2D(64, 3, activation=activation, kernel_regularizer=_reg(l2), name="conv2"))
    model.add(layers.MaxPooling2D(2, name="pool2"))
    model.add(layers.Flatten(name="flatten"))
    for i, units in enumerate(hidden, 1):
        model.add(layers.Dense(units, activation=activation, kernel_regularizer=_reg(l2), name=f"hidden{i}"))
    if dropout:
        model.add(layers.Dropout(dropout, name="dropout"))
    model.add(layers.Dense(10, activation="softmax", kernel_regularizer=_reg(l2), name="digits"))
    return model


BUILDERS = {"dense": build_dense, "cnn": build_cnn}


def build(name, hidden=None, activation="relu", dropout=0.5, l2=0.0):
    try:
        builder = BUILDERS[name]
    except KeyError:
        raise UsageProblem(f"unknown model {name!r}; choose one of {', '.join(BUILDERS)}", "--model") from None
    if hidden is None:
        hidden = DEFAULT_HIDDEN[name]
    return builder(hidden=tuple(hidden), activation=activation, dropout=dropout, l2=l2)
