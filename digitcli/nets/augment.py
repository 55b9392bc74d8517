"""--augment affine: random rotations, shifts and zooms of each training image, made afresh every
epoch in the tf.data input pipeline by Keras' preprocessing layers. They run only while training,
outside the model, so the saved model, its exports and its ONNX twin never contain them, and memory
stays that of the data set (no augmented copies are stored). Import only where TensorFlow is loaded.

The ranges are those that gave 96% on other writers' digits with the cnn (against 86-90% without).
"""

import keras
import tensorflow as tf
from keras import layers

ROTATION_DEGREES = 15
SHIFT = 0.08  # of the image side: about 2 pixels
ZOOM = 0.10


def affine_layers(seed):
    return keras.Sequential(
        [
            layers.RandomRotation(ROTATION_DEGREES / 360, fill_mode="constant", seed=seed),
            layers.RandomTranslation(SHIFT, SHIFT, fill_mode="constant", seed=seed + 1),
            layers.RandomZoom(ZOOM, ZOOM, fill_mode="constant", seed=seed + 2),
        ],
        name="augment",
    )


def training_data(x, y, batch_size, seed):
    """Shuffled batches of (distorted images, targets), with a new distortion of each image every epoch.
    `x` is shaped for the model: (n, 784) for dense models, (n, 28, 28, 1) for convolutional ones."""
    distort = affine_layers(seed)
    shape = tuple(x.shape[1:])

    def apply(images, targets):
        images = distort(tf.reshape(images, (-1, 28, 28, 1)), training=True)
        return tf.reshape(images, (-1, *shape)), targets

    return (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .map(apply, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
