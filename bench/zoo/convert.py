"""Random-init Keras model made ready for full-int8 conversion (tflm_train.data.demo_model.
convert_int8: int8 input and output).

With random init the batch-norm moving statistics are (0, 1), activations shrink layer by layer
to ~1e-9 and TFLM's softmax prepare aborts on the degenerate scales. So the statistics are first
set to the batch statistics of the calibration images: one training-mode pass with momentum 0
makes every BN layer store exactly the mean/variance it normalised with, layer after layer."""
from __future__ import annotations

import numpy as np


def calibration_images(n: int, shape, seed: int) -> np.ndarray:
    """Seeded synthetic images in [-1, 1] (MobileNet input range): smooth random blobs plus
    noise, so neighbouring pixels are correlated as in real images."""
    rng = np.random.default_rng(seed)
    h, w, c = shape
    coarse = rng.uniform(-1, 1, size=(n, h // 16, w // 16, c))
    smooth = np.repeat(np.repeat(coarse, 16, axis=1), 16, axis=2)
    images = 0.8 * smooth + 0.2 * rng.uniform(-1, 1, size=(n, h, w, c))
    return np.clip(images, -1, 1).astype(np.float32)


def set_batchnorm_statistics(model, images: np.ndarray) -> int:
    """Store the batch statistics of `images` in every BatchNormalization layer; returns how
    many layers were set."""
    from tensorflow import keras

    bns = [l for l in model.layers if isinstance(l, keras.layers.BatchNormalization)]
    saved = [l.momentum for l in bns]
    for l in bns:
        l.momentum = 0.0
    model(images, training=True)
    for l, m in zip(bns, saved):
        l.momentum = m
    return len(bns)


def set_dense_bias(model, seed: int, std: float = 0.05) -> int:
    """Give every Dense layer a small random bias. Keras initialises it to zeros, and the TFLite
    converter drops an all-zero bias, which would leave the classifier without the bias a
    trained model has (and a sparse-update scheme would have nothing to update there)."""
    from tensorflow import keras

    rng = np.random.default_rng(seed)
    dense = [l for l in model.layers if isinstance(l, keras.layers.Dense)]
    for l in dense:
        l.bias.assign(rng.normal(0, std, size=l.bias.shape).astype(np.float32))
    return len(dense)
