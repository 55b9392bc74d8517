"""The optimizer and learning-rate schedule a TrainSettings asks for, and the targets its loss trains
towards. Import only where Keras is needed."""


def optimizer(settings, steps_per_epoch):
    """The Keras optimizer of `settings`, with its learning-rate schedule over the whole run."""
    import keras

    from digitcli.nets.schedules import OneCycle

    lr = settings.learning_rate()
    if settings.schedule == "cosine":  # the rate falls from lr to 0 along the whole run
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=steps_per_epoch * settings.epochs)
    elif settings.schedule == "onecycle":  # up to lr over the first 30% of the run, then down to ~0
        lr = OneCycle(lr, total_steps=steps_per_epoch * settings.epochs)
    if settings.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=settings.momentum)
    if settings.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=lr, momentum=settings.momentum)
    if settings.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=lr, beta_1=settings.adam_betas[0], beta_2=settings.adam_betas[1])
    if settings.optimizer == "adagrad":
        return keras.optimizers.Adagrad(learning_rate=lr)
    raise RuntimeError(f"unknown optimizer {settings.optimizer!r}")  # a bug: options and model files are checked


def targets(labels, settings):
    """What the loss compares outputs with: one-hot rows, or the digits themselves."""
    import numpy as np

    from digitcli.nets.losses import one_hot_targets

    if settings.encoding == "bits":
        from digitcli.nets.encoding import codes

        return codes(labels)
    if one_hot_targets(settings.loss, settings.label_smoothing):
        return np.eye(10, dtype="float32")[labels]
    return labels.astype("int32")
