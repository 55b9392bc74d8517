"""Pixel conventions shared by training and prediction: uint8 0-255 images, ink high, 28 x 28."""

import numpy as np


def model_input(images, input_shape):
    """uint8 (n, 28, 28) → float32 in [0, 1], shaped for a model whose input is `input_shape`
    (without the batch axis): (784,) for dense models, (28, 28, 1) for convolutional ones."""
    x = np.asarray(images, dtype=np.float32) / np.float32(255.0)
    return x.reshape((len(x), *tuple(input_shape)))


def looks_inverted(images):
    """Per image: True when the border is mostly bright, i.e. dark ink drawn on a light background.
    MNIST's border is background (0) almost everywhere, so its mean border value is near 0."""
    images = np.asarray(images)  # only the border is averaged: a float copy of every image is 4-8x the input
    border = np.concatenate([images[:, 0, :], images[:, -1, :], images[:, 1:-1, 0], images[:, 1:-1, -1]], axis=1)
    return border.mean(axis=1, dtype=np.float64) > 127.5
