"""Forward parity of ADD, MAX_POOL_2D, PAD, PADV2, CONCATENATION, QUANTIZE and DEQUANTIZE in the
runtime: real int8 models (tf.keras + TFLiteConverter, representative dataset) converted with
tflm_train.convert, inferred by Trainer.predict and compared byte for byte with the tflite-micro
wheel (TFLM's reference kernels). The schemes train only the last layer's bias, so no gradient
passes through these ops. Also: the runtime's Prepare-time checks reject bad parameters with a
message naming the op, and ops the runtime lacks are named at convert time.

A model is a JSON-able spec (printed on failure): a 3x3 conv stem, then blocks

    {"type": "add", "filters": 4, "gain": 5.0, "activation": "relu", "broadcast": False}
        conv3x3(x) + gain * conv1x1(x) (different scales); with broadcast the second branch is
        averaged to 1x1xC first (ADD broadcasting over H and W)
    {"type": "maxpool", "pool": [2, 3], "stride": [2, 1], "padding": "same"}
    {"type": "pad", "hw": [[1, 0], [2, 1]], "c": [0, 0], "value": None}
        None: ZeroPadding2D / tf.pad (PAD); a float: tf.pad with that constant (PADV2)
    {"type": "concat", "gains": [1.0, 8.0], "axis": -1, "shared": False}
        concatenated 1x1 conv branches; "shared" concatenates one branch with each of two others
        and adds the results, which makes the converter requantise it with a QUANTIZE op

then global average pooling and a dense head (optionally softmax).
"""
from __future__ import annotations

import json
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

import tflm_train
from tflm_train.converter.graph import build_graph
from tflm_train.converter.tflite_io import read_model, write_model

from . import model_factory as mf

HEAD_BIAS_ONLY = tflm_train.SparseUpdate(n_bias=1, weights={})
NEW_OPS = {"ADD", "MAX_POOL_2D", "PAD", "PADV2", "CONCATENATION", "QUANTIZE"}
_CACHE: dict[str, bytes] = {}


# -- models ------------------------------------------------------------------------------------

def _scaled(L, x, gain):
    # A constant multiply after a conv is folded into its weights: the branch just gets a wider
    # range, hence its own scale.
    return x if gain == 1.0 else L.Lambda(lambda t, g=gain: t * g)(x)


def _block(L, tf, x, b):
    kind = b["type"]
    if kind == "add":
        f = b["filters"]
        left = L.Conv2D(f, 3, padding="same", bias_initializer="random_normal")(x)
        right = _scaled(L, L.Conv2D(f, 1, bias_initializer="random_normal")(x), b["gain"])
        if b["broadcast"]:
            right = L.GlobalAveragePooling2D(keepdims=True)(right)
        return mf.keras_activation(L.Add()([left, right]), b["activation"])
    if kind == "maxpool":
        return L.MaxPooling2D(tuple(b["pool"]), strides=tuple(b["stride"]),
                              padding=b["padding"])(x)
    if kind == "pad":
        (t, bo), (le, r) = b["hw"]
        if b["value"] is None and b["c"] == [0, 0]:
            return L.ZeroPadding2D(((t, bo), (le, r)))(x)
        pads = [[0, 0], [t, bo], [le, r], list(b["c"])]
        value = 0.0 if b["value"] is None else b["value"]
        return L.Lambda(lambda z: tf.pad(z, pads, constant_values=value))(x)
    if kind == "concat":
        branches = [_scaled(L, L.Conv2D(b["filters"], 1, bias_initializer="random_normal")(x), g)
                    for g in b["gains"]]
        if b["shared"]:
            first = L.Concatenate(axis=b["axis"])([branches[0], branches[1]])
            second = L.Concatenate(axis=b["axis"])([branches[0], branches[2]])
            return L.Add()([first, second])
        return L.Concatenate(axis=b["axis"])(branches)
    raise ValueError(kind)


def build(spec: dict) -> bytes:
    key = json.dumps(spec, sort_keys=True)
    if key not in _CACHE:
        import tensorflow as tf

        L = tf.keras.layers
        tf.keras.utils.set_random_seed(spec["seed"])
        inputs = tf.keras.Input(shape=tuple(spec["input"]), batch_size=1)
        x = L.Conv2D(spec["stem"], 3, padding="same", activation="relu",
                     bias_initializer="random_normal")(inputs)
        for block in spec["blocks"]:
            x = _block(L, tf, x, block)
        x = L.GlobalAveragePooling2D()(x)
        x = L.Dense(spec["classes"], bias_initializer="random_normal")(x)
        if spec["softmax"]:
            x = L.Softmax()(x)
        _CACHE[key] = mf._convert(tf.keras.Model(inputs, x), spec["input"], seed=spec["seed"])
    return _CACHE[key]


def _out(size, k, s, padding):
    return -(-size // s) if padding == "same" else (size - k) // s + 1


def random_spec(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(5, 12)), int(rng.integers(5, 12))
    spec = {"input": [h, w, int(rng.integers(1, 4))], "seed": seed,
            "stem": int(rng.integers(2, 5)), "blocks": [], "classes": int(rng.integers(2, 7)),
            "softmax": bool(rng.random() < 0.5)}
    for _ in range(int(rng.integers(2, 5))):
        kind = str(rng.choice(["add", "maxpool", "pad", "concat"]))
        if kind == "add":
            block = {"type": kind, "filters": int(rng.integers(2, 6)),
                     "gain": float(rng.choice([0.1, 1.0, 3.0, 20.0])),
                     "activation": str(rng.choice(mf.ACTIVATIONS)),
                     "broadcast": bool(rng.random() < 0.3)}
        elif kind == "maxpool":
            pool = [int(rng.integers(1, 4)), int(rng.integers(1, 4))]
            stride = [int(rng.integers(1, 4)), int(rng.integers(1, 4))]
            padding = str(rng.choice(["same", "valid"]))
            h2, w2 = _out(h, pool[0], stride[0], padding), _out(w, pool[1], stride[1], padding)
            if min(h2, w2) < 2:
                continue
            block = {"type": kind, "pool": pool, "stride": stride, "padding": padding}
            h, w = h2, w2
        elif kind == "pad":
            hw = [[int(rng.integers(0, 3)), int(rng.integers(0, 3))] for _ in range(2)]
            c = [int(rng.integers(0, 2)), int(rng.integers(0, 2))] if rng.random() < 0.3 \
                else [0, 0]
            value = None if rng.random() < 0.5 else float(np.round(rng.uniform(-1, 2), 2))
            block = {"type": kind, "hw": hw, "c": c, "value": value}
            h, w = h + sum(hw[0]), w + sum(hw[1])
        else:
            shared = bool(rng.random() < 0.4)
            n = 3 if shared else int(rng.integers(2, 4))
            block = {"type": kind, "filters": int(rng.integers(1, 5)),
                     "gains": [float(rng.choice([0.1, 1.0, 4.0, 30.0])) for _ in range(n)],
                     "axis": int(rng.choice([-1, -1, 1, 2])), "shared": shared}
            if block["axis"] == 1:
                h *= 2 if shared else n
            elif block["axis"] == 2:
                w *= 2 if shared else n
        spec["blocks"].append(block)
    return spec


def _add(gain, activation, broadcast=False, filters=4):
    return {"type": "add", "filters": filters, "gain": gain, "activation": activation,
            "broadcast": broadcast}


def _spec(blocks, seed, inp=(9, 8, 2), stem=3, classes=4, softmax=False) -> dict:
    return {"input": list(inp), "seed": seed, "stem": stem, "blocks": blocks,
            "classes": classes, "softmax": softmax}


# Hand-picked models; together they cover every op and option (test_fast_specs_cover_the_ops).
FAST_SPECS = {
    "add_relu_maxpool_same": _spec([_add(6.0, "relu"), {"type": "maxpool", "pool": [3, 3],
                                    "stride": [2, 2], "padding": "same"}], 1),
    "add_relu6_broadcast_maxpool_valid": _spec([_add(0.2, "relu6", broadcast=True),
                                                {"type": "maxpool", "pool": [2, 3],
                                                 "stride": [1, 2], "padding": "valid"}],
                                               2, softmax=True),
    "add_n1_to_1_pad_zero": _spec([_add(3.0, "relu_n1_to_1"),
                                   {"type": "pad", "hw": [[1, 0], [2, 1]], "c": [0, 0],
                                    "value": None},
                                   _add(1.0, "none", filters=3)], 3),
    "padv2_channels_concat": _spec([{"type": "pad", "hw": [[0, 2], [1, 1]], "c": [1, 2],
                                     "value": 0.75},
                                    {"type": "concat", "filters": 3, "gains": [1.0, 9.0, 0.2],
                                     "axis": -1, "shared": False}], 4),
    "concat_shared_requantize": _spec([{"type": "concat", "filters": 3,
                                        "gains": [1.0, 10.0, 0.1], "axis": -1,
                                        "shared": True}], 5),
    "concat_spatial_axes": _spec([{"type": "concat", "filters": 2, "gains": [1.0, 5.0],
                                   "axis": 1, "shared": False},
                                  {"type": "maxpool", "pool": [2, 2], "stride": [2, 2],
                                   "padding": "valid"},
                                  {"type": "concat", "filters": 2, "gains": [0.3, 1.0, 3.0],
                                   "axis": 2, "shared": True}], 6, softmax=True),
}


# -- helpers -----------------------------------------------------------------------------------

def _inputs(model: bytes, n: int, seed: int) -> np.ndarray:
    xs = mf.random_inputs(model, n, seed)
    xs[0] = -128  # the extremes drive activations and requantisation into their clamps
    xs[1] = 127
    return xs


def _parity(model: bytes, n: int = 16, seed: int = 0, scheme=HEAD_BIAS_ONLY) -> np.ndarray:
    xq = _inputs(model, n, seed)
    ours = tflm_train.Trainer(tflm_train.convert(model, scheme)).predict(xq)
    ref = mf.wheel_outputs(model, xq)
    bad = np.flatnonzero((ours.reshape(len(xq), -1) != ref).any(axis=1))
    assert bad.size == 0, (f"{bad.size}/{len(xq)} samples differ, first {bad[0]}: ours "
                           f"{ours[bad[0]].tolist()} wheel {ref[bad[0]].tolist()}")
    return ours


def _graph(model: bytes):
    return build_graph(read_model(model))


def _check_spec(spec: dict, n: int = 16):
    model = build(spec)
    try:
        out = _parity(model, n, spec["seed"])
    except AssertionError as e:
        raise AssertionError(f"ops {mf.op_names(model)}, spec {spec}: {e}") from e
    assert np.unique(out).size > 1, f"constant output, the test would prove little: {spec}"


# -- parity ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(FAST_SPECS))
def test_parity(name):
    _check_spec(FAST_SPECS[name])


def test_fast_specs_cover_the_ops():
    """The hand-picked models really contain what they are meant to test (the converter neither
    folded nor fused it away): every new op, ADD with each fused activation and with
    broadcasting, MAX_POOL_2D SAME/VALID with strides, PAD/PADV2, CONCATENATION on the channel
    and both spatial axes, and an int8 -> int8 QUANTIZE feeding a CONCATENATION."""
    kinds, add_acts, pool_paddings, concat_axes, fed_by_quantize = set(), set(), set(), set(), set()
    broadcast_add = False
    for spec in FAST_SPECS.values():
        g = _graph(build(spec))
        for op in g.ops:
            kinds.add(op.kind)
            shapes = [g.tensors[t].shape for t in op.inputs]
            if op.kind == "ADD":
                add_acts.add(op.activation)
                broadcast_add |= shapes[0] != shapes[1]
            elif op.kind == "MAX_POOL_2D":
                pool_paddings.add((op.options["padding"], op.options["stride_h"] > 1))
            elif op.kind == "CONCATENATION":
                concat_axes.add(op.options["axis"] % len(shapes[0]))
                for t in op.inputs:
                    producer = g.producer(t)
                    if producer is not None and producer.kind == "QUANTIZE":
                        src = g.tensors[producer.inputs[0]]
                        assert src.dtype == "int8" and src.scale[0] != g.tensors[t].scale[0]
                        fed_by_quantize.add(op.index)
    assert kinds >= NEW_OPS, kinds
    assert add_acts == {"NONE", "RELU", "RELU6", "RELU_N1_TO_1"}, add_acts
    assert broadcast_add
    assert {p for p, _ in pool_paddings} == {"SAME", "VALID"} and any(s for _, s in pool_paddings)
    assert concat_axes == {1, 2, 3}, concat_axes
    assert fed_by_quantize


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 140))
def test_parity_random_models(seed):
    _check_spec(random_spec(seed), n=24)


def test_parity_with_trained_weights_in_the_arena():
    """Training every layer's bias puts the biases in the arena (not flash) and the plan keeps
    activations alive for the backward pass through ADD and MAX_POOL_2D; inference is
    unchanged."""
    model = build(FAST_SPECS["add_relu_maxpool_same"])
    n = len(_graph(model).trainable_ops())
    ext = tflm_train.convert(model, tflm_train.SparseUpdate(n_bias=n, weights={}))
    xq = _inputs(model, 8, 7)
    assert (tflm_train.Trainer(ext).predict(xq).reshape(8, -1) ==
            mf.wheel_outputs(model, xq)).all()


# -- QUANTIZE from float and DEQUANTIZE --------------------------------------------------------

def _operator_code(model, code: int) -> int:
    for i, c in enumerate(model.operatorCodes):
        if max(c.builtinCode, c.deprecatedBuiltinCode) == code:
            return i
    oc = schema.OperatorCodeT()
    oc.builtinCode = code
    oc.deprecatedBuiltinCode = min(code, 127)
    oc.version = 1
    model.operatorCodes.append(oc)
    return len(model.operatorCodes) - 1


def _new_tensor(model, like, name: str, dtype: int, scale=None, zero_point=None) -> int:
    sg = model.subgraphs[0]
    t = schema.TensorT()
    t.shape = list(like.shape)
    t.type = dtype
    t.name = name
    model.buffers.append(schema.BufferT())
    t.buffer = len(model.buffers) - 1
    if scale is not None:
        q = schema.QuantizationParametersT()
        q.scale = [float(scale)]
        q.zeroPoint = [int(zero_point)]
        t.quantization = q
    sg.tensors.append(t)
    return len(sg.tensors) - 1


def with_float_detour(model_bytes: bytes, scale_factor: float, zp_shift: int) -> bytes:
    """The model with its int8 input taken through DEQUANTIZE -> float32 -> QUANTIZE (to another
    scale and zero point) before the first layer: what a float-input model does at its input,
    inside a model whose own input and output stay int8 (which training requires)."""
    model = read_model(model_bytes)
    sg = model.subgraphs[0]
    src_index = sg.inputs[0]
    src = sg.tensors[src_index]
    f = _new_tensor(model, src, "detour_float", schema.TensorType.FLOAT32)
    q = _new_tensor(model, src, "detour_int8", schema.TensorType.INT8,
                    src.quantization.scale[0] * scale_factor,
                    int(src.quantization.zeroPoint[0]) + zp_shift)
    for op in sg.operators:
        op.inputs = [q if int(i) == src_index else int(i) for i in op.inputs]
    ops = []
    for code, ins, outs in ((schema.BuiltinOperator.DEQUANTIZE, [src_index], [f]),
                            (schema.BuiltinOperator.QUANTIZE, [f], [q])):
        op = schema.OperatorT()
        op.opcodeIndex = _operator_code(model, code)
        op.inputs, op.outputs = ins, outs
        ops.append(op)
    sg.operators = ops + list(sg.operators)
    return write_model(model)


@pytest.mark.parametrize("scale_factor,zp_shift", [(1.0, 0), (1.7, 9), (0.45, 30)])
def test_dequantize_then_quantize_from_float(scale_factor, zp_shift):
    model = with_float_detour(build(FAST_SPECS["add_relu_maxpool_same"]), scale_factor, zp_shift)
    kinds = mf.op_names(model)
    assert kinds[:2] == ["DEQUANTIZE", "QUANTIZE"], kinds
    _parity(model, n=12, seed=int(scale_factor * 10))


def test_float_io_model_converts_for_training():
    """A model converted with float input/output carries QUANTIZE (float -> int8) at its input
    and DEQUANTIZE at its output. Both ops run in the runtime (above), and such a model now
    converts for training too (tests/test_float_io.py trains it)."""
    import tensorflow as tf

    L = tf.keras.layers
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input(shape=(5, 5, 1), batch_size=1)
    x = L.Conv2D(2, 3, bias_initializer="random_normal")(inputs)
    x = L.Dense(3, bias_initializer="random_normal")(L.GlobalAveragePooling2D()(x))
    conv = tf.lite.TFLiteConverter.from_keras_model(tf.keras.Model(inputs, x))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(0)
    conv.representative_dataset = lambda: ([rng.uniform(0, 1, (1, 5, 5, 1)).astype(np.float32)]
                                           for _ in range(16))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "statistics for quantized inputs": float input here
        model = conv.convert()
    kinds = mf.op_names(model)
    assert kinds[0] == "QUANTIZE" and kinds[-1] == "DEQUANTIZE", kinds
    tflm_train.convert(model, HEAD_BIAS_ONLY)


# -- Prepare-time checks ------------------------------------------------------------------------

def _mutate(model_bytes: bytes, kind: str, change) -> tuple[bytes, int]:
    """Applies change(model, subgraph, operator) to the first op of `kind`; returns the model
    and that op's index."""
    model = read_model(model_bytes)
    sg = model.subgraphs[0]
    g = _graph(model_bytes)
    index = next(op.index for op in g.ops if op.kind == kind)
    change(model, sg, sg.operators[index])
    return write_model(model), index


def _quant(sg, tensor: int):
    return sg.tensors[int(tensor)].quantization


def _scale_input(i: int, factor: float):
    def change(model, sg, op):
        q = _quant(sg, op.inputs[i])
        q.scale = [q.scale[0] * factor]
    return change


def _scale_output(factor: float):
    def change(model, sg, op):
        q = _quant(sg, op.outputs[0])
        q.scale = [q.scale[0] * factor]
    return change


def _concat_relu(model, sg, op):
    op.builtinOptions.fusedActivationFunction = schema.ActivationFunctionType.RELU


def _pad_constant_zero_point(model, sg, op):
    q = _quant(sg, op.inputs[2])
    q.zeroPoint = [int(q.zeroPoint[0]) + 1]


def _quantize_per_channel(model, sg, op):
    q = _quant(sg, op.outputs[0])
    q.scale = [q.scale[0]] * 2
    q.zeroPoint = [q.zeroPoint[0]] * 2


def _negative_padding(model, sg, op):
    t = sg.tensors[int(op.inputs[1])]
    pads = np.frombuffer(bytes(bytearray(model.buffers[t.buffer].data)), np.int32).copy()
    pads[2] = -1  # H before; the output extent no longer matches either
    model.buffers[t.buffer].data = np.frombuffer(pads.tobytes(), np.uint8).tolist()


@pytest.mark.parametrize("spec,kind,change,words", [
    ("padv2_channels_concat", "CONCATENATION", _scale_input(1, 1.5),
     r"input 1 has scale .* must share the output's quantisation"),
    ("padv2_channels_concat", "CONCATENATION", _concat_relu, r"fused activation 1"),
    ("add_relu_maxpool_same", "MAX_POOL_2D", _scale_output(2.0),
     r"input and output quantisation must be equal"),
    ("add_relu_maxpool_same", "ADD", _scale_output(1e-7), r"output scale .* too small"),
    ("padv2_channels_concat", "PADV2", _pad_constant_zero_point,
     r"constant value's quantisation differs"),
    ("add_n1_to_1_pad_zero", "PAD", _negative_padding, r"negative padding"),
    ("concat_shared_requantize", "QUANTIZE", _quantize_per_channel,
     r"2 scales; only per-tensor"),
])
def test_prepare_rejects(spec, kind, change, words):
    """Parameters TFLM's Prepare refuses (it aborts the process; the wheel cannot show it) are
    refused when the runtime opens the model, with the op index and kind named; convert() opens
    its output in the runtime, so it refuses them first, with the runtime's own sentence, or
    earlier with the same words where the converter's analysis needs the structure
    (converter/structure.py)."""
    model, index = _mutate(build(FAST_SPECS[spec]), kind, change)
    with pytest.raises(tflm_train.ConversionError,
                       match=rf"op {index} \({kind}\): .*{words}"):
        tflm_train.convert(model, HEAD_BIAS_ONLY)


# -- ops the runtime does not have ---------------------------------------------------------------

# TANH and HARD_SWISH, the examples here once, run since issue 12 (tests/test_ops_elementwise.py).
@pytest.mark.parametrize("name", ["ELU"])
def test_unsupported_op_named_at_convert_time(name):
    model = mf.custom_model(name.lower())
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    m = read_model(model)
    assert name in {names[max(c.builtinCode, c.deprecatedBuiltinCode)] for c in m.operatorCodes}
    with pytest.raises(tflm_train.UnsupportedOpError, match=rf"op \d+: {name}\b") as info:
        tflm_train.convert(model, HEAD_BIAS_ONLY)
    assert "Supported ops" in str(info.value) and "CONCATENATION" in str(info.value)
