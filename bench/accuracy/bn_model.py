"""A second MNIST base model with BatchNorm, for the QAS question.

Why: QAS matters when the updated layers' weight scales differ a lot, since without QAS one
lr becomes lr * s_w^2 per layer. In the small demo CNN the per-layer median s_w^2 differ by
only ~5x; MobileNet-style blocks with BatchNorm folded into the convolutions spread them much
more (the zoo models: ~100-250x), like the paper's networks. This model has such blocks but is
still small enough to pre-train on MNIST in a minute on a laptop CPU.

    python -m bench.accuracy.bn_model      # writes bench/accuracy/models/mnist_bn_cnn.tflite
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "models" / "mnist_bn_cnn.tflite"


def build(seed: int = 0):
    import tensorflow as tf

    L = tf.keras.layers
    tf.keras.utils.set_random_seed(seed)

    def block(x, filters, stride, name):
        # depthwise 3x3 + pointwise 1x1, each followed by BN (folded at conversion) and ReLU6
        x = L.DepthwiseConv2D(3, stride, padding="same", use_bias=False, name=f"{name}_dw")(x)
        x = L.ReLU(6.0)(L.BatchNormalization(name=f"{name}_dw_bn")(x))
        x = L.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw")(x)
        return L.ReLU(6.0)(L.BatchNormalization(name=f"{name}_pw_bn")(x))

    inp = tf.keras.Input((28, 28, 1), name="image")
    x = L.Conv2D(16, 3, 2, padding="same", use_bias=False, name="stem")(inp)
    x = L.ReLU(6.0)(L.BatchNormalization(name="stem_bn")(x))
    x = block(x, 24, 1, "b1")
    x = block(x, 32, 2, "b2")
    x = block(x, 48, 1, "b3")
    x = block(x, 64, 2, "b4")
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Dense(10, name="logits")(x)
    return tf.keras.Model(inp, L.Softmax(name="probs")(x), name="mnist_bn_cnn")


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    from tflm_train.data import load_mnist
    from tflm_train.data.demo_model import check_model, convert_int8, tflite_predict

    tf.config.experimental.enable_op_determinism()
    x, y = load_mnist("train")
    model = build()
    model.compile(tf.keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=128, verbose=2)
    rep = x[np.random.default_rng(0).permutation(len(x))[:300]]
    tflite = convert_int8(model, rep)
    print("ops:", check_model(tflite))
    xt, yt = load_mnist("test")
    print(f"MNIST test accuracy int8: {np.mean(tflite_predict(tflite, xt) == yt):.4f}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(tflite)
    print(f"wrote {OUT} ({len(tflite)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
