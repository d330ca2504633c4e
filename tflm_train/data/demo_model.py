"""Small MNIST CNN, trained deterministically and converted to a full-int8 ``.tflite``.

Usage::

    python -m tflm_train.data.demo_model --out tflm_train/data/mnist_cnn.tflite

Architecture (input 28x28x1, 'same' padding)::

    Conv2D 8 3x3 /2 ReLU -> DepthwiseConv2D 3x3 ReLU -> Conv2D 16 1x1 ReLU
    -> Conv2D 16 3x3 /2 ReLU -> GlobalAveragePooling2D -> Dense 10 -> softmax

No BatchNorm (not needed at this size). The converted model has int8 input and output
and contains only CONV_2D, DEPTHWISE_CONV_2D, MEAN, FULLY_CONNECTED, SOFTMAX.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

#: Builtin ops the converted model may contain.
ALLOWED_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "MEAN", "AVERAGE_POOL_2D",
                         "FULLY_CONNECTED", "SOFTMAX", "RESHAPE"})


def build_demo_model(seed: int = 0, input_shape=(28, 28, 1), num_classes: int = 10):
    """Return the (uncompiled) Keras demo CNN; weights initialised from ``seed``."""
    import tensorflow as tf

    layers = tf.keras.layers
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv1")(inputs)
    x = layers.DepthwiseConv2D(3, padding="same", activation="relu", name="dw2")(x)
    x = layers.Conv2D(16, 1, activation="relu", name="pw3")(x)
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="conv4")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Softmax(name="probs")(x)
    return tf.keras.Model(inputs, outputs, name="mnist_cnn")


def convert_int8(model, representative_images) -> bytes:
    """Full-integer conversion with int8 input/output."""
    import tensorflow as tf

    rep = np.asarray(representative_images, dtype=np.float32)

    def representative_dataset():
        for i in range(rep.shape[0]):
            yield [rep[i:i + 1]]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def _interpreter(model):
    import tensorflow as tf

    kwargs = dict(experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    if isinstance(model, (bytes, bytearray)):
        kwargs["model_content"] = bytes(model)
    else:
        kwargs["model_path"] = str(model)
    with warnings.catch_warnings():  # "tf.lite.Interpreter is deprecated" (still works in 2.21)
        warnings.simplefilter("ignore", UserWarning)
        return tf.lite.Interpreter(**kwargs)


def tflite_op_names(model) -> list[str]:
    """Op names (in execution order) of a .tflite given as path or bytes."""
    interp = _interpreter(model)
    return [d["op_name"] for d in interp._get_ops_details()]  # noqa: SLF001


def tflite_io_details(model):
    """(input_details, output_details) of a .tflite given as path or bytes."""
    interp = _interpreter(model)
    return interp.get_input_details(), interp.get_output_details()


def tflite_predict(model, x, batch_size: int = 500) -> np.ndarray:
    """Class predictions of an int8 .tflite (path or bytes) on float images ``x`` in [0,1].

    Uses ``tf.lite.Interpreter`` with the reference kernels (BUILTIN_REF). Inputs are
    quantised with the model's input scale / zero point.
    """
    x = np.asarray(x, dtype=np.float32)
    interp = _interpreter(model)
    inp = interp.get_input_details()[0]
    out_idx = interp.get_output_details()[0]["index"]
    scale, zp = inp["quantization"]
    if inp["dtype"] == np.int8:
        xq = np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)
    else:
        xq = x.astype(inp["dtype"])
    preds = []
    current = None
    for start in range(0, xq.shape[0], batch_size):
        chunk = xq[start:start + batch_size]
        if current != chunk.shape[0]:
            interp.resize_tensor_input(inp["index"], list(chunk.shape))
            interp.allocate_tensors()
            current = chunk.shape[0]
        interp.set_tensor(inp["index"], chunk)
        interp.invoke()
        preds.append(np.argmax(interp.get_tensor(out_idx), axis=-1))
    return np.concatenate(preds).astype(np.int64)


def check_model(model) -> list[str]:
    """Assert op set and int8 I/O of the converted model; returns the op list."""
    ops = tflite_op_names(model)
    bad = sorted(set(ops) - ALLOWED_OPS)
    assert not bad, f"unexpected ops in model: {bad} (all ops: {ops})"
    ins, outs = tflite_io_details(model)
    assert len(ins) == 1 and len(outs) == 1, (ins, outs)
    assert ins[0]["dtype"] == np.int8 and outs[0]["dtype"] == np.int8, (ins[0], outs[0])
    assert list(ins[0]["shape"]) == [1, 28, 28, 1], ins[0]["shape"]
    assert list(outs[0]["shape"]) == [1, 10], outs[0]["shape"]
    return ops


def train(seed: int = 0, epochs: int = 20, batch_size: int = 128, lr: float = 5e-3,
          verbose: int = 2):
    """Train the demo model on MNIST train; returns the Keras model."""
    import tensorflow as tf

    from tflm_train.data import load_mnist

    tf.config.experimental.enable_op_determinism()
    x, y = load_mnist("train")
    model = build_demo_model(seed)
    steps = epochs * int(np.ceil(x.shape[0] / batch_size))
    schedule = tf.keras.optimizers.schedules.CosineDecay(lr, decay_steps=steps, alpha=0.05)
    model.compile(optimizer=tf.keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    tf.keras.utils.set_random_seed(seed)
    model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=verbose)
    return model


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="tflm_train/data/mnist_cnn.tflite")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--rep-samples", type=int, default=300,
                   help="MNIST train images used as representative dataset")
    p.add_argument("--metrics", default=None, help="optional JSON file for the accuracies")
    args = p.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    from tflm_train.data import load_mnist, load_optdigits_writers, load_sklearn_digits, split

    t0 = time.time()
    model = train(args.seed, args.epochs, args.batch_size, args.lr)
    t_train = time.time() - t0

    x_test, y_test = load_mnist("test")
    float_acc = float(np.mean(np.argmax(model.predict(x_test, batch_size=1000, verbose=0), -1)
                              == y_test))

    x_train, _ = load_mnist("train")
    rep_idx = np.random.default_rng(args.seed).permutation(x_train.shape[0])[:args.rep_samples]
    tflite = convert_int8(model, x_train[rep_idx])
    ops = check_model(tflite)
    print("op list:", ops)
    ins, outs = tflite_io_details(tflite)
    print("input :", ins[0]["dtype"].__name__, list(ins[0]["shape"]), ins[0]["quantization"])
    print("output:", outs[0]["dtype"].__name__, list(outs[0]["shape"]), outs[0]["quantization"])

    int8_acc = float(np.mean(tflite_predict(tflite, x_test) == y_test))
    xd, yd = load_sklearn_digits()
    digits_all = float(np.mean(tflite_predict(tflite, xd) == yd))
    _, _, xh, yh = split(xd, yd, xd.shape[0] // 2, seed=0)
    digits_held = float(np.mean(tflite_predict(tflite, xh) == yh))
    xo, yo = load_optdigits_writers()["train"]
    optdigits_tra = float(np.mean(tflite_predict(tflite, xo) == yo))
    float_digits = float(np.mean(np.argmax(model.predict(xd, verbose=0), -1) == yd))

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(tflite)
    metrics = {
        "tensorflow": tf.__version__,
        "seed": args.seed,
        "epochs": args.epochs,
        "train_seconds": round(t_train, 1),
        "params": int(model.count_params()),
        "tflite_bytes": len(tflite),
        "ops": ops,
        "mnist_test_float": float_acc,
        "mnist_test_int8": int8_acc,
        "sklearn_digits_float_all": float_digits,
        "sklearn_digits_int8_all": digits_all,
        "sklearn_digits_int8_heldout_half": digits_held,
        "optdigits_tra_int8": optdigits_tra,
    }
    print(json.dumps(metrics, indent=2))
    if args.metrics:
        Path(args.metrics).write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"wrote {out} ({len(tflite)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
