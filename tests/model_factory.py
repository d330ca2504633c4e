"""Small random full-int8 .tflite models over the ops tflm-train supports, for property tests.

A model is described by a plain, JSON-able *spec* (so it can be printed in a failure message
and used as a cache key):

    {"input": [H, W, C], "seed": s, "layers": [
        {"type": "conv", "filters": 6, "kernel": 3, "stride": 1, "padding": "same",
         "dilation": 1, "activation": "relu"},
        {"type": "dw", "kernel": 3, "stride": 2, "padding": "valid", "multiplier": 2,
         "dilation": 1, "activation": "relu6"},
        {"type": "avgpool", "pool": 2, "stride": 2, "padding": "valid"},
        {"type": "gap"},                     # GlobalAveragePooling2D -> MEAN over H, W
        {"type": "flatten"},                 # -> RESHAPE
        {"type": "dense", "units": 8, "activation": "relu"},
     ], "classes": 5, "softmax": True}

`random_spec(seed)` draws one from a seeded RNG; `build(spec)` converts it with tf.keras +
TFLiteConverter (int8 weights/activations, int8 input and output, representative dataset of
uniform [0, 1] images) and caches the bytes for the test session (conversion costs ~1 s).
Activations: none, relu, relu6 and relu_n1_to_1 (a clip to [-1, 1], which the converter fuses
into the preceding op as RELU_N1_TO_1).
"""
from __future__ import annotations

import json
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

_CACHE: dict[str, bytes] = {}
ACTIVATIONS = ("none", "relu", "relu6", "relu_n1_to_1")


def _out_size(size: int, kernel: int, stride: int, padding: str, dilation: int = 1) -> int:
    eff = (kernel - 1) * dilation + 1
    if padding == "same":
        return -(-size // stride)
    return (size - eff) // stride + 1


def random_spec(seed: int, *, softmax: bool | None = None, head: str | None = None) -> dict:
    """A random architecture over the supported ops. head: "gap", "flatten", "conv" (a 1x1 conv,
    average pooling and a 1x1-conv classifier, as in person_detect) or None (gap or flatten)."""
    rng = np.random.default_rng(seed)
    h = int(rng.integers(6, 13))
    w = int(rng.integers(6, 13))
    c = int(rng.integers(1, 4))
    spec = {"input": [h, w, c], "seed": int(seed), "layers": []}
    n_blocks = int(rng.integers(1, 4))
    for _ in range(n_blocks):
        kind = str(rng.choice(["conv", "conv", "dw", "avgpool"]))
        if kind == "avgpool" and min(h, w) < 4:
            kind = "conv"
        if kind == "avgpool":
            pool = int(rng.integers(2, 4))
            stride = int(rng.integers(1, 3))
            padding = str(rng.choice(["same", "valid"]))
            layer = {"type": "avgpool", "pool": pool, "stride": stride, "padding": padding}
            h2 = _out_size(h, pool, stride, padding)
            w2 = _out_size(w, pool, stride, padding)
        else:
            kernel = int(rng.integers(1, 4))
            stride = int(rng.integers(1, 3))
            dilation = 1 if stride > 1 or kernel == 1 else int(rng.integers(1, 3))
            padding = str(rng.choice(["same", "valid"]))
            layer = {"type": kind, "kernel": kernel, "stride": stride, "padding": padding,
                     "dilation": dilation, "activation": str(rng.choice(ACTIVATIONS))}
            if kind == "conv":
                layer["filters"] = int(rng.integers(2, 9))
            else:
                layer["multiplier"] = int(rng.integers(1, 3))
            h2 = _out_size(h, kernel, stride, padding, dilation)
            w2 = _out_size(w, kernel, stride, padding, dilation)
        if h2 < 2 or w2 < 2:
            continue
        spec["layers"].append(layer)
        h, w = h2, w2
    head = head or str(rng.choice(["gap", "flatten"]))
    if head == "conv":  # person_detect's head: 1x1 conv, average pool, 1x1-conv classifier
        spec["layers"].append({"type": "conv", "filters": int(rng.integers(8, 33)), "kernel": 1,
                               "stride": 1, "padding": "same", "dilation": 1,
                               "activation": "relu6"})
        spec["classifier"] = "conv"
    else:
        spec["layers"].append({"type": head})
    if rng.random() < 0.4:
        spec["layers"].append({"type": "dense", "units": int(rng.integers(4, 13)),
                               "activation": str(rng.choice(ACTIVATIONS))})
    spec["classes"] = int(rng.integers(2, 8))
    spec["softmax"] = bool(rng.random() < 0.6) if softmax is None else bool(softmax)
    return spec


def keras_activation(x, name: str | None):
    """x through the Keras layer of a fused activation name of the specs (None/"none": x), the
    forms the TFLite converter fuses into the preceding op."""
    import tensorflow as tf

    L = tf.keras.layers
    if name in (None, "none"):
        return x
    if name == "relu":
        return L.ReLU()(x)
    if name == "relu6":
        return L.ReLU(max_value=6.0)(x)
    if name == "relu_n1_to_1":
        return L.Lambda(lambda t: tf.clip_by_value(t, -1.0, 1.0))(x)
    raise ValueError(name)


def keras_model(spec: dict):
    """The (untrained, seeded) Keras model of a spec."""
    import tensorflow as tf

    L = tf.keras.layers
    tf.keras.utils.set_random_seed(int(spec.get("seed", 0)))

    inputs = tf.keras.Input(shape=tuple(spec["input"]), batch_size=1)
    x = inputs
    for layer in spec["layers"]:
        t = layer["type"]
        if t == "conv":
            x = L.Conv2D(layer["filters"], layer["kernel"], strides=layer["stride"],
                         padding=layer["padding"], dilation_rate=layer.get("dilation", 1),
                         bias_initializer="random_normal")(x)
            x = keras_activation(x, layer.get("activation"))
        elif t == "dw":
            x = L.DepthwiseConv2D(layer["kernel"], strides=layer["stride"],
                                  padding=layer["padding"],
                                  depth_multiplier=layer.get("multiplier", 1),
                                  dilation_rate=layer.get("dilation", 1),
                                  bias_initializer="random_normal")(x)
            x = keras_activation(x, layer.get("activation"))
        elif t == "avgpool":
            x = L.AveragePooling2D(layer["pool"], strides=layer["stride"],
                                   padding=layer["padding"])(x)
        elif t == "gap":
            x = L.GlobalAveragePooling2D()(x)
        elif t == "flatten":
            x = L.Flatten()(x)
        elif t == "dense":
            x = L.Dense(layer["units"], bias_initializer="random_normal")(x)
            x = keras_activation(x, layer.get("activation"))
        else:
            raise ValueError(f"unknown layer type {t!r}")
    if spec.get("classifier") == "conv":
        x = L.AveragePooling2D(pool_size=tuple(x.shape[1:3]))(x)
        x = L.Conv2D(spec["classes"], 1, bias_initializer="random_normal")(x)
        x = L.Reshape((spec["classes"],))(x)
    else:
        x = L.Dense(spec["classes"], bias_initializer="random_normal")(x)
    if spec.get("softmax", True):
        x = L.Softmax()(x)
    return tf.keras.Model(inputs, x)


def _convert(model, input_shape, samples: int = 64, seed: int = 0,
             int8: bool = True, float_io: bool = False) -> bytes:
    import tensorflow as tf

    rng = np.random.default_rng(seed + 12345)

    def representative():
        for _ in range(samples):
            yield [rng.uniform(0.0, 1.0, size=(1, *input_shape)).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if not float_io:  # float_io: the converter's default float32 I/O (QUANTIZE, DEQUANTIZE)
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return conv.convert()


def build(spec: dict) -> bytes:
    """The int8 .tflite of a spec (cached for the session)."""
    key = json.dumps(spec, sort_keys=True)
    if key not in _CACHE:
        _CACHE[key] = _convert(keras_model(spec), spec["input"], seed=int(spec.get("seed", 0)))
    return _CACHE[key]


def random_model(seed: int, **kwargs) -> tuple[dict, bytes]:
    spec = random_spec(seed, **kwargs)
    return spec, build(spec)


def custom_model(name: str) -> bytes:
    """Models with something tflm-train once did not support or does not support (cached):
    "tanh" (TANH op), "elu" (ELU op, not supported), "add" (a residual ADD), "concat"
    (CONCATENATION), "float" (a float32 model)."""
    key = "custom:" + name
    if key in _CACHE:
        return _CACHE[key]
    import tensorflow as tf

    L = tf.keras.layers
    tf.keras.utils.set_random_seed(0)
    shape = (8, 8, 1)
    inputs = tf.keras.Input(shape=shape, batch_size=1)
    x = L.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    if name == "tanh":
        x = L.Activation("tanh")(L.Conv2D(4, 3, padding="same")(x))
    elif name == "elu":
        x = L.Activation("elu")(L.Conv2D(4, 3, padding="same")(x))
    elif name == "add":
        x = L.Add()([x, L.Conv2D(4, 3, padding="same", activation="relu")(x)])
    elif name == "concat":
        x = L.Concatenate()([x, L.Conv2D(4, 3, padding="same", activation="relu")(x)])
    elif name != "float":
        raise ValueError(name)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Softmax()(L.Dense(3)(x))
    model = tf.keras.Model(inputs, x)
    _CACHE[key] = _convert(model, shape, int8=(name != "float"))
    return _CACHE[key]


def float_io_model(softmax: bool = True) -> bytes:
    """A small CNN quantised to int8 the TFLite converter's default way: float32 input and
    output, a QUANTIZE first and a DEQUANTIZE last (cached)."""
    key = f"float_io:{softmax}"
    if key not in _CACHE:
        import tensorflow as tf

        tf.keras.utils.set_random_seed(7)
        L = tf.keras.layers
        inp = L.Input((10, 10, 1), batch_size=1)
        x = L.Conv2D(6, 3, strides=2, activation="relu")(inp)
        x = L.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
        x = L.GlobalAveragePooling2D()(x)
        x = L.Dense(4, bias_initializer="random_normal")(x)
        if softmax:
            x = L.Softmax()(x)
        _CACHE[key] = _convert(tf.keras.Model(inp, x), (10, 10, 1), float_io=True)
    return _CACHE[key]


def regression_model() -> bytes:
    """A small int8 regression network (conv, average, 3 real outputs, no softmax) for the MSE
    loss (cached)."""
    if "regression" not in _CACHE:
        import tensorflow as tf

        tf.keras.utils.set_random_seed(4)
        L = tf.keras.layers
        inp = L.Input((8, 8, 1))
        x = L.Conv2D(6, 3, activation="relu")(inp)
        x = L.GlobalAveragePooling2D()(x)
        out = L.Dense(3)(x)
        _CACHE["regression"] = _convert(tf.keras.Model(inp, out), (8, 8, 1))
    return _CACHE["regression"]


def random_inputs(model: bytes, n: int, seed: int) -> np.ndarray:
    """n random int8 input samples, shaped like the model input."""
    shape, _ = input_details(model)
    return np.random.default_rng(seed).integers(-128, 128, size=(n, *shape[1:]), dtype=np.int8)


def input_details(model: bytes):
    """(input shape, (scale, zero_point)) read from the flatbuffer."""
    from tflm_train.converter.graph import build_graph
    from tflm_train.converter.tflite_io import read_model

    g = build_graph(read_model(model))
    t = g.tensors[g.inputs[0]]
    return tuple(t.shape), (float(t.scale[0]), int(t.zero_point[0]))


def op_names(model: bytes) -> list[str]:
    from tflm_train.converter.graph import build_graph
    from tflm_train.converter.tflite_io import read_model

    return [op.kind for op in build_graph(read_model(model)).ops]


# -- oracles ----------------------------------------------------------------------------------

def wheel_outputs(model: bytes, xs: np.ndarray, dtype=np.int8) -> np.ndarray:
    """Outputs of the tflite-micro wheel (TFLM reference kernels) for samples of the model's
    input type (int8, or float32 for a float-I/O model)."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(bytes(model))
    outs = []
    for x in xs:
        interp.set_input(np.asarray(x, dtype)[None], 0)
        interp.invoke()
        outs.append(np.array(interp.get_output(0)).reshape(-1))
    return np.stack(outs)


def tflite_ref_outputs(model: bytes, xs: np.ndarray) -> np.ndarray:
    """Outputs of tf.lite.Interpreter with the reference op resolver (bit-exact with TFLM)."""
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interp = tf.lite.Interpreter(
            model_content=bytes(model),
            experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    outs = []
    for x in xs:
        interp.set_tensor(inp["index"], np.asarray(x, np.int8).reshape(inp["shape"]))
        interp.invoke()
        outs.append(interp.get_tensor(out["index"]).reshape(-1).copy())
    return np.stack(outs)
