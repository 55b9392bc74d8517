"""Training recipes: the one-cycle schedule continues across --resume, and --augment affine distorts
only while training."""

import json

import numpy as np
import pytest
from conftest import write_idx_folder

keras = pytest.importorskip("keras")

from digitcli.data.splits import load_dataset  # noqa: E402
from digitcli.settings import TrainSettings  # noqa: E402
from digitcli.training.run import TrainingInterrupted, train  # noqa: E402


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = write_idx_folder(tmp_path_factory.mktemp("recipes") / "mnist", n_train=400, n_test=100)
    return load_dataset(folder, validation_size=80)


@pytest.mark.slow  # trains
def test_onecycle_resumes_where_it_stopped(dataset, tmp_path):
    from digitcli.nets.schedules import OneCycle

    settings = TrainSettings(model="dense", hidden=(16,), epochs=4, batch_size=32, schedule="onecycle", lr=0.01)
    steps = -(-len(dataset.y_train) // 32)

    class StopAfterTwo(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    class Recorder(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.at_start = (int(self.model.optimizer.iterations), float(self.model.optimizer.learning_rate))

    out = tmp_path / "m.keras"
    with pytest.raises(TrainingInterrupted):
        train(settings, dataset, out, verbose=0, export_onnx=False, note=lambda m: None, callbacks=[StopAfterTwo()])
    recorder = Recorder()
    meta = train(
        settings, dataset, out, resume=True, verbose=0, export_onnx=False, note=lambda m: None, callbacks=[recorder]
    )
    iterations, rate = recorder.at_start
    assert iterations == 2 * steps  # the optimizer's step count came back with the weights
    assert rate == pytest.approx(float(OneCycle(0.01, 4 * steps)(2 * steps)), rel=1e-5)
    assert [row["epoch"] for row in meta["history"]] == [1, 2, 3, 4]


@pytest.mark.slow  # trains
def test_affine_augmentation_distorts_each_epoch_afresh_and_only_while_training(dataset, tmp_path):
    from digitcli.nets.augment import training_data

    x = dataset.x_train[:64].astype("float32")[..., None] / 255
    pipeline = training_data(x, dataset.y_train[:64], batch_size=64, seed=3)
    first, second = (next(iter(pipeline))[0].numpy() for _ in range(2))
    assert first.shape == x.shape
    assert not np.allclose(np.sort(first.ravel()), np.sort(second.ravel()))  # new distortions each epoch
    assert not np.allclose(np.sort(first.ravel()), np.sort(x.ravel()))  # and not the originals

    out = tmp_path / "aug.keras"
    meta = train(
        TrainSettings(model="cnn", hidden=(16,), epochs=1, augment="affine", batch_size=64),
        dataset,
        out,
        verbose=0,
        export_onnx=True,
        note=lambda m: None,
    )
    assert meta["settings"]["augment"] == "affine"
    saved = json.loads(out.with_suffix(".json").read_text())
    assert "train_augmented" not in saved["data"]  # nothing was copied: the distortions are made on the fly
    import onnx

    model = keras.saving.load_model(out, compile=False)
    assert not any("random" in type(layer).__name__.lower() for layer in model.layers)
    ops = {node.op_type for node in onnx.load(str(out.with_suffix(".onnx"))).graph.node}
    assert not ops & {"RandomUniform", "RandomNormal", "RandomUniformLike", "ImageProjectiveTransformV3"}


def test_label_smoothing_trains_towards_softened_targets():
    from digitcli.nets.losses import keras_loss

    y = np.eye(10, dtype="float32")[[3, 7]]
    sure = np.clip(y, 1e-7, 1.0)  # a model certain of the right digit
    plain = float(keras.losses.SparseCategoricalCrossentropy()(np.array([3, 7]), sure))
    smoothed = float(keras_loss("crossentropy", 0.1)(y, sure))
    assert plain < 1e-5
    # Against targets 0.91 / 0.01, certainty costs 0.09 x ln(1/1e-7) = 1.45 per image.
    assert smoothed == pytest.approx(0.09 * np.log(1e7), rel=0.01)


def test_label_smoothing_needs_crossentropy(tmp_path):
    from click.testing import CliRunner

    from digitcli.cli import cli

    result = CliRunner().invoke(cli, ["train", "--loss", "mse", "--label-smoothing", "0.1", "--data", str(tmp_path)])
    assert result.exit_code == 2 and "--label-smoothing goes with --loss crossentropy" in result.stderr


@pytest.mark.slow  # trains
def test_tensorboard_logs_hold_the_history(dataset, tmp_path):
    import tensorflow as tf

    logs = tmp_path / "tb"
    meta = train(
        TrainSettings(model="dense", hidden=(8,), epochs=2),
        dataset,
        tmp_path / "m.keras",
        verbose=0,
        export_onnx=False,
        note=lambda m: None,
        tensorboard=logs,
    )
    losses = []
    for event_file in sorted((logs / "train").glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                if value.tag == "epoch_loss":
                    losses.append(float(tf.make_ndarray(value.tensor)))
    assert losses == pytest.approx([row["loss"] for row in meta["history"]], rel=1e-5)
    assert list((logs / "validation").glob("events.out.tfevents.*"))
