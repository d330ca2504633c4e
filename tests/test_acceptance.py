"""One acceptance rule (issue 12, design contract 7): for the ops tflm-train supports, a model
the tflite-micro wheel runs converts, trains and infers bit-exactly like the wheel; a model the
wheel refuses is refused by the converter AND by the runtime, with the same error class and a
message naming the op or tensor.

The corpus: variants of the demo CNN (tflm_train/data/mnist_cnn.tflite), made by editing its
flatbuffer object tree, as other tools or older converters write them (stale
quantized_dimension, missing or partial quantisation, extra subgraphs, signatures, foreign
metadata, buffers not 16-byte aligned, empty buffers...), and the TFLM example models as
shipped (../shared/models/tflm-examples). Each variant states whether the wheel runs it, and
the test checks the wheel still agrees, so the table below is also the record of what TFLM
accepts.

The runtime side of a refusal: the runtime only opens extended models, so the same edit is
applied to the converted base model (its training program unchanged) and the runtime must
refuse to open it."""
from __future__ import annotations

import copy
import re
from ctypes import POINTER, byref, c_uint8, c_void_p
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

import tflm_train
from tflm_train.binding import NativeSession, RuntimeFailure, _declare, library
from tflm_train.converter.tflite_io import read_model, set_metadata, write_model

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT.parent / "shared" / "models" / "tflm-examples"
DEMO = ROOT / "tflm_train" / "data" / "mnist_cnn.tflite"
STATUS_CLASS = {1: tflm_train.InvalidModelError, 2: tflm_train.UnsupportedOpError}
NAMES_OP_OR_TENSOR = re.compile(r"\b(op|tensor) \d+")


def example(name: str) -> bytes:
    path = EXAMPLES / f"{name}.tflite"
    assert path.exists(), f"{path} is missing: the TFLM example models live in ../shared/models"
    return path.read_bytes()


def edited(model: bytes, edit) -> bytes:
    m = read_model(model)
    edit(m)
    return write_model(m)


def wheel_run(model: bytes, xs: np.ndarray) -> np.ndarray:
    """The wheel's outputs (raises RuntimeError if it refuses the model)."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(bytes(model))
    outs = []
    for x in xs:
        interp.set_input(x[None], 0)
        interp.invoke()
        outs.append(np.array(interp.get_output(0)).reshape(-1).copy())
    return np.stack(outs)


def inputs(model: bytes, n: int, seed: int) -> np.ndarray:
    sg = read_model(model).subgraphs[0]
    t = sg.tensors[sg.inputs[0]]
    shape = tuple(int(d) for d in t.shape[1:])
    rng = np.random.default_rng(seed)
    if t.type == schema.TensorType.FLOAT32:
        return rng.uniform(-1.0, 1.0, size=(n, *shape)).astype(np.float32)
    return rng.integers(-128, 128, size=(n, *shape), dtype=np.int8)


# -- edits of the demo CNN (CONV_2D, DEPTHWISE_CONV_2D, CONV_2D, CONV_2D, MEAN, FC, SOFTMAX) ---

def operand(m: schema.ModelT, op: int, k: int) -> schema.TensorT:
    """Input k of op (0 input, 1 weights, 2 bias), or with k = -1 its output."""
    o = m.subgraphs[0].operators[op]
    t = o.outputs[0] if k == -1 else o.inputs[k]
    return m.subgraphs[0].tensors[t]


def quant(m, op, k) -> schema.QuantizationParametersT:
    return operand(m, op, k).quantization


def set_q(m, op, k, **fields):
    for name, value in fields.items():
        setattr(quant(m, op, k), name, value)


def per_tensor(m, op, k):
    q = quant(m, op, k)
    q.scale, q.zeroPoint = q.scale[:1], q.zeroPoint[:1]


def extra_subgraph(m):
    """A second subgraph holding one SOFTMAX on its own tensors (as IF/WHILE bodies do)."""
    sg = schema.SubGraphT()
    sg.tensors = [copy.deepcopy(operand(m, 6, 0)), copy.deepcopy(operand(m, 6, -1))]
    for t in sg.tensors:
        m.buffers.append(schema.BufferT())
        t.buffer = len(m.buffers) - 1
    op = copy.deepcopy(m.subgraphs[0].operators[6])
    op.inputs, op.outputs = [0], [1]
    sg.operators, sg.inputs, sg.outputs = [op], [0], [1]
    m.subgraphs.append(sg)


def empty_subgraph(m):
    sg = schema.SubGraphT()
    sg.tensors, sg.operators, sg.inputs, sg.outputs = [], [], [], []
    m.subgraphs.append(sg)


def signature(m):
    sig = schema.SignatureDefT()
    sig.signatureKey, sig.subgraphIndex = b"serving_default", 0
    for side, t in (("inputs", m.subgraphs[0].inputs[0]), ("outputs", m.subgraphs[0].outputs[0])):
        tm = schema.TensorMapT()
        tm.name, tm.tensorIndex = f"{side}_0".encode(), int(t)
        setattr(sig, side, [tm])
    m.signatureDefs = [sig]


def foreign_metadata(m):
    set_metadata(m, "min_runtime_version", b"1.14.0" + bytes(10))
    set_metadata(m, "CONVERSION_METADATA", bytes(range(48)))
    set_metadata(m, "empty_entry", b"")


def names_and_descriptions(m):
    m.description = b"written by another tool"
    m.subgraphs[0].name = b"main"
    for t in m.subgraphs[0].tensors:
        t.name = None


def empty_activation_buffer(m):
    """An activation pointing at its own buffer with an empty data vector (not buffer 0)."""
    buf = schema.BufferT()
    buf.data = []
    m.buffers.append(buf)
    operand(m, 0, -1).buffer = len(m.buffers) - 1


def dynamic_batch_signature(m):
    t = operand(m, 0, 0)
    t.shapeSignature = [-1, *[int(d) for d in t.shape[1:]]]


def unused_svdf_code(m):
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.SVDF
    code.version = 1
    m.operatorCodes.append(code)


def deprecated_codes_only(m):
    for code in m.operatorCodes:
        code.builtinCode = 0  # readers take max(builtin_code, deprecated_builtin_code)


def mean_becomes_svdf(m):
    unused_svdf_code(m)
    m.subgraphs[0].operators[4].opcodeIndex = len(m.operatorCodes) - 1


def shared_bias_buffer(m):
    """Two trained biases on one buffer, as the TFLite converter stores equal constants (e.g.
    zero-initialised biases) once: export() must give them their own buffers once trained."""
    operand(m, 2, 2).buffer = operand(m, 3, 2).buffer


def without_bias(m, op, tail):
    o = m.subgraphs[0].operators[op]
    o.inputs = list(o.inputs[:2]) + tail


def activation_unquantised(m):
    operand(m, 0, -1).quantization = None


# name: (edit, does the wheel run it)
VARIANTS = {
    # quantisation TFLM never reads, or reads only the first entry of
    "bias_stale_quantized_dimension": (lambda m: set_q(m, 0, 2, quantizedDimension=3), True),
    "bias_without_quantization": (lambda m: setattr(operand(m, 0, 2), "quantization", None),
                                  True),
    "bias_empty_quantization": (lambda m: set_q(m, 0, 2, scale=None, zeroPoint=None), True),
    "bias_scales_without_zero_points": (lambda m: set_q(m, 1, 2, zeroPoint=None), True),
    "bias_3_of_8_scales": (lambda m: set_q(m, 0, 2, scale=quant(m, 0, 2).scale[:3]), True),
    "bias_8_scales_3_zero_points": (
        lambda m: set_q(m, 0, 2, zeroPoint=quant(m, 0, 2).zeroPoint[:3]), True),
    "per_tensor_weights_stale_dimension": (
        lambda m: (per_tensor(m, 0, 1), set_q(m, 0, 1, quantizedDimension=3)), True),
    "per_tensor_weights_dimension_past_rank": (
        lambda m: (per_tensor(m, 0, 1), set_q(m, 0, 1, quantizedDimension=9)), True),
    "weights_8_scales_1_zero_point": (
        lambda m: set_q(m, 0, 1, zeroPoint=quant(m, 0, 1).zeroPoint[:1]), True),
    "weights_1_scale_8_zero_points": (
        lambda m: set_q(m, 0, 1, scale=quant(m, 0, 1).scale[:1]), True),
    "fc_weights_10_scales_1_zero_point": (
        lambda m: set_q(m, 5, 1, zeroPoint=quant(m, 5, 1).zeroPoint[:1]), True),
    "activation_stale_quantized_dimension": (
        lambda m: set_q(m, 0, -1, quantizedDimension=2), True),
    "activation_dimension_past_rank": (lambda m: set_q(m, 0, -1, quantizedDimension=9), True),
    "activation_2_scales_1_zero_point": (
        lambda m: set_q(m, 0, -1, scale=[quant(m, 0, -1).scale[0], 1.0]), True),
    "activation_min_max_recorded": (lambda m: set_q(m, 0, -1, min=[-1.0], max=[1.0]), True),
    "input_stale_quantized_dimension": (lambda m: set_q(m, 0, 0, quantizedDimension=5), True),
    "mean_axis_empty_quantization": (
        lambda m: setattr(operand(m, 4, 1), "quantization", schema.QuantizationParametersT()),
        True),
    # structure other tools write
    "extra_subgraph": (extra_subgraph, True),
    "empty_extra_subgraph": (empty_subgraph, True),
    "signature_def": (signature, True),
    "foreign_metadata": (foreign_metadata, True),
    "names_and_descriptions": (names_and_descriptions, True),
    "empty_activation_buffer": (empty_activation_buffer, True),
    "dynamic_batch_shape_signature": (dynamic_batch_signature, True),
    "unused_unsupported_operator_code": (unused_svdf_code, True),
    "deprecated_builtin_codes_only": (deprecated_codes_only, True),
    "biases_sharing_a_buffer": (shared_bias_buffer, True),
    "fc_bias_omitted": (lambda m: without_bias(m, 5, [-1]), True),
    "fc_without_bias_input": (lambda m: without_bias(m, 5, []), True),
    "conv_bias_omitted": (lambda m: without_bias(m, 3, [-1]), True),
    # conv 3's weights are [16, 3, 3, 16]: axis 3 has one entry per scale too, which is all
    # TFLM checks (its kernels take the scales per output channel regardless)
    "conv_per_channel_along_an_axis_of_equal_size": (
        lambda m: set_q(m, 3, 1, quantizedDimension=3), True),
    # what TFLM's Prepare refuses
    "conv_per_channel_along_wrong_axis": (lambda m: set_q(m, 0, 1, quantizedDimension=3), False),
    "depthwise_per_channel_along_wrong_axis": (
        lambda m: set_q(m, 1, 1, quantizedDimension=0), False),
    "fc_per_channel_along_wrong_axis": (lambda m: set_q(m, 5, 1, quantizedDimension=1), False),
    "conv_weights_without_zero_points": (lambda m: set_q(m, 0, 1, zeroPoint=None), False),
    "conv_weights_unquantised": (lambda m: setattr(operand(m, 0, 1), "quantization", None),
                                 False),
    "activation_unquantised": (activation_unquantised, False),
    "activation_without_zero_points": (lambda m: set_q(m, 0, -1, zeroPoint=None), False),
    "model_input_unquantised": (lambda m: setattr(operand(m, 0, 0), "quantization", None),
                                False),
    "softmax_output_not_1_over_256": (lambda m: set_q(m, 6, -1, scale=[1 / 128]), False),
    "op_the_runtime_lacks": (mean_becomes_svdf, False),
}


@pytest.fixture(scope="module")
def demo_extended() -> bytes:
    return tflm_train.convert(DEMO.read_bytes())


def check_runs_like_the_wheel(model: bytes, scheme=None, loss: str = "cross_entropy",
                              seed: int = 0) -> None:
    """Converts, infers bit-exactly like the wheel, trains, and the export still runs in the
    wheel exactly as the trained session infers."""
    xs = inputs(model, 3, seed)
    expected = wheel_run(model, xs)
    tr = tflm_train.Trainer(tflm_train.convert(model, scheme, loss=loss), seed=seed)
    assert np.array_equal(tr.predict(xs).reshape(expected.shape), expected)
    n_out = expected.shape[-1]
    for i, x in enumerate(xs):
        target = np.linspace(-1, 1, n_out, dtype=np.float32) if loss == "mse" else i % n_out
        assert np.isfinite(tr.train_step(x, target))
    exported = tr.export()
    after = wheel_run(exported, xs)
    assert np.array_equal(tr.predict(xs).reshape(after.shape), after)


def check_refused_like_the_wheel(model: bytes, runtime_model: bytes) -> None:
    """The converter refuses `model` and the runtime `runtime_model` (the same edit on an
    extended model), with matching classes and messages naming an op or tensor."""
    with pytest.raises(tflm_train.ConversionError) as conv:
        tflm_train.convert(model)
    assert type(conv.value) in STATUS_CLASS.values(), repr(conv.value)
    assert NAMES_OP_OR_TENSOR.search(str(conv.value)), str(conv.value)
    with pytest.raises(RuntimeFailure) as run:
        NativeSession(runtime_model)
    assert STATUS_CLASS.get(run.value.status) is type(conv.value), (str(run.value),
                                                                     str(conv.value))
    assert NAMES_OP_OR_TENSOR.search(str(run.value)), str(run.value)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variant_is_accepted_or_refused_like_the_wheel(name, demo_extended):
    edit, wheel_runs = VARIANTS[name]
    model = edited(DEMO.read_bytes(), edit)
    try:
        wheel_run(model, inputs(model, 1, 0))
        ran = True
    except RuntimeError:
        ran = False
    assert ran == wheel_runs, f"the wheel {'runs' if ran else 'refuses'} {name} now"
    if wheel_runs:
        check_runs_like_the_wheel(model)
    else:
        check_refused_like_the_wheel(model, edited(demo_extended, edit))


def test_per_channel_weights_along_an_axis_past_the_rank_are_refused(demo_extended):
    """TFLM reads dims[quantized_dimension] past the shape here (undefined; the wheel refuses
    when the value it reads differs from the channel count); both of ours refuse by name."""
    edit = lambda m: set_q(m, 0, 1, quantizedDimension=9)  # noqa: E731
    check_refused_like_the_wheel(edited(DEMO.read_bytes(), edit), edited(demo_extended, edit))


def test_fc_weights_without_zero_points_are_refused_though_the_wheel_runs_them(demo_extended):
    """The one deliberate difference: TFLM takes weights without zero points as unquantised;
    its CONV_2D refuses them, but its FULLY_CONNECTED runs them with a zero multiplier, so
    every output is the same whatever the input. We refuse the model by name instead."""
    edit = lambda m: set_q(m, 5, 1, zeroPoint=None)  # noqa: E731
    model = edited(DEMO.read_bytes(), edit)
    outs = wheel_run(model, inputs(model, 3, 0))
    assert (outs == outs[0]).all()
    check_refused_like_the_wheel(model, edited(demo_extended, edit))


def test_int64_bias_on_int8_conv_is_refused_though_the_wheel_runs_it(demo_extended):
    """int64 biases belong to int16 activations; TFLM's int8 CONV_2D does not check the bias
    type and reads the int64 values as int32 pairs (the outputs change). We refuse by name."""
    def edit(m):
        t = operand(m, 0, 2)
        buf = m.buffers[t.buffer]
        wide = np.frombuffer(bytes(bytearray(buf.data)), np.int32).astype(np.int64)
        buf.data, t.type = np.frombuffer(wide.tobytes(), np.uint8), schema.TensorType.INT64
    model = edited(DEMO.read_bytes(), edit)
    xs = inputs(model, 4, 0)
    assert not np.array_equal(wheel_run(model, xs), wheel_run(DEMO.read_bytes(), xs))
    with pytest.raises(tflm_train.UnsupportedOpError, match=r"op 0 \(CONV_2D\): tensor \d+ .* "
                                                            r"is int64"):
        tflm_train.convert(model)
    with pytest.raises(RuntimeFailure, match=r"op 0"):
        NativeSession(edited(demo_extended, edit))


def unaligned_pack(model: bytes) -> bytes:
    """The model packed by the stock flatbuffers object API, which aligns buffer data only as
    a vector of bytes (4, the length prefix's alignment), not 16 as the TFLite converter."""
    builder = flatbuffers.Builder(1024)
    builder.Finish(read_model(model).Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def buffer_data_offsets(data: bytes) -> list[int]:
    m = schema.Model.GetRootAs(data, 0)
    base = np.frombuffer(data, np.uint8).ctypes.data
    return [int(m.Buffers(i).DataAsNumpy().ctypes.data - base) for i in range(m.BuffersLength())
            if m.Buffers(i).DataLength()]


@pytest.mark.parametrize("name", ["mnist_cnn", "person_detect"])
def test_buffers_not_16_byte_aligned_convert_and_run(name):
    """Buffer data inside a valid flatbuffer is always 4-byte aligned (a [ubyte] vector's
    uint32 length prefix is), and TFLM reads int32 biases in place with that. The converter
    rewrites every buffer 16-byte aligned (the DSP kernels and the training program want it),
    so such files convert and run bit-exactly; the runtime itself refuses a model *buffer*
    that is not 16-byte aligned (a caller's error, named)."""
    model = unaligned_pack(DEMO.read_bytes() if name == "mnist_cnn" else example(name))
    offsets = buffer_data_offsets(model)
    assert all(o % 4 == 0 for o in offsets) and any(o % 16 for o in offsets)
    check_runs_like_the_wheel(model)
    ext = tflm_train.convert(model)
    assert all(o % 16 == 0 for o in buffer_data_offsets(ext))


def test_runtime_refuses_a_misaligned_model_buffer(demo_extended):
    """The one alignment the runtime demands is the model buffer's own (the binding and the
    firmware give 16): refused as the caller's error, named."""
    lib = _declare(library())
    storage = np.zeros(lib.tt_session_size() + 16, np.uint8)
    model = np.zeros(len(demo_extended) + 32, np.uint8)
    arena = np.zeros((1 << 16) + 16, np.uint8)
    start = [(-a.ctypes.data) % 16 for a in (storage, model, arena)]
    start[1] += 4
    model[start[1]:start[1] + len(demo_extended)] = np.frombuffer(demo_extended, np.uint8)
    at = lambda a, k: a[start[k]:].ctypes.data_as(POINTER(c_uint8))  # noqa: E731
    handle = c_void_p()
    rc = lib.tt_open(storage[start[0]:].ctypes.data, lib.tt_session_size(), at(model, 1),
                     len(demo_extended), at(arena, 2), 1 << 16, 1, byref(handle))
    assert rc == 4  # invalid argument
    assert b"16-byte aligned" in lib.tt_error(handle)


# -- the TFLM example models as shipped --------------------------------------------------------

@pytest.mark.parametrize("scheme", [None, tflm_train.SparseUpdate(
    n_bias=4, weights={-1: 1.0, -2: 0.5, -4: 0.25})], ids=["default", "sparse"])
def test_person_detect_as_shipped_trains_and_runs_like_the_wheel(scheme):
    """MobileNetV1-0.25 (Visual Wake Words): its rank-1 biases carry quantized_dimension 3,
    which TFLM ignores and so do we now."""
    check_runs_like_the_wheel(example("person_detect"), scheme)


@pytest.mark.parametrize("name,loss", [("hello_world_int8", "mse"),
                                       ("micro_speech_quantized", "cross_entropy")])
def test_small_tflm_examples_train_and_run_like_the_wheel(name, loss):
    check_runs_like_the_wheel(example(name), loss=loss)


def test_keyword_model_is_refused_naming_svdf():
    """keyword_scrambled_8bit (int16 input; FULLY_CONNECTED, SVDF, QUANTIZE, DEQUANTIZE,
    SOFTMAX) holds SVDF, which tflm-train does not run: refused naming every SVDF op. The wheel
    runs it; the rule covers the ops we support."""
    model = example("keyword_scrambled_8bit")
    wheel_run(model, np.zeros((1, 96), np.int16))  # runs
    with pytest.raises(tflm_train.UnsupportedOpError,
                       match=r"op 1: SVDF; op 3: SVDF; op 5: SVDF; op 7: SVDF"):
        tflm_train.convert(model)
