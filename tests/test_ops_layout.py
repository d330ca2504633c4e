"""Layout ops (issue 12): TRANSPOSE, STRIDED_SLICE, SQUEEZE, EXPAND_DIMS, SPLIT, SPLIT_V and
RESIZE_NEAREST_NEIGHBOR run bit-exactly like the tflite-micro wheel, and SHAPE -> STRIDED_SLICE
-> PACK chains that only compute a RESHAPE's static shape (Keras 3's Reshape) are folded out of
the training program while the stock subgraph keeps them.

Models are made with TensorFlow in the test, int8-quantised with seeded representative data
whose range is drawn per case (narrow, wide, one-sided: extreme scales and zero points), then
converted with tflm_train.convert and inferred by Trainer.predict; inputs include the int8
extremes. The TFLite converter writes tf.squeeze / tf.expand_dims as RESHAPE, so those two ops
are made by rewriting that RESHAPE in the flatbuffer (the wheel runs both).
"""
from __future__ import annotations

import os
import random

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import tflm_train  # noqa: E402
from tflm_train.binding import NativeSession  # noqa: E402
from tflm_train.converter.errors import UnsupportedOpError  # noqa: E402
from tflm_train.converter.graph import build_graph  # noqa: E402
from tflm_train.converter.program import Opcode, Program  # noqa: E402
from tflm_train.converter.tflite_io import get_metadata, read_model  # noqa: E402

from . import model_factory as mf  # noqa: E402
from . import tflite_single_op as tso  # noqa: E402

INFERENCE = tflm_train.SparseUpdate(inference_only=True)
RANGES = [(-1.0, 1.0), (-0.01, 0.02), (-100.0, 3.0), (0.0, 6.0), (-8.0, -0.5)]


def _inputs(model: bytes, n: int, seed: int) -> np.ndarray:
    """n int8 samples of the whole input tensor (the single-op models have no batch axis of
    their own), the first two at the int8 extremes."""
    shape, _ = mf.input_details(model)
    xs = np.random.default_rng(seed).integers(-128, 128, size=(n, int(np.prod(shape))),
                                              dtype=np.int8)
    xs[0] = -128
    xs[1] = 127
    return xs


def _wheel(model: bytes, xs: np.ndarray) -> np.ndarray:
    from tflite_micro.python.tflite_micro import runtime

    shape, _ = mf.input_details(model)
    interp = runtime.Interpreter.from_bytes(bytes(model))
    outs = []
    for x in xs:
        interp.set_input(x.reshape(shape), 0)
        interp.invoke()
        outs.append(np.array(interp.get_output(0)).reshape(-1))
    return np.stack(outs)


def _parity(model: bytes, what: str, scheme=INFERENCE, n: int = 6, seed: int = 0):
    xs = _inputs(model, n, seed)
    session = NativeSession(tflm_train.convert(model, scheme))
    ours = np.stack([session.invoke(x) for x in xs])
    ref = _wheel(model, xs)
    assert np.array_equal(np.asarray(ours).reshape(n, -1), ref), (
        f"{what}: ops {mf.op_names(model)} differ from the wheel")


def _case(fn, shape, seed: int, expect: str) -> bytes:
    rng = random.Random(seed)
    model = tso.convert(fn, [shape], [rng.choice(RANGES)], seed=seed)
    assert expect in mf.op_names(model), mf.op_names(model)
    return model


# -- forward parity, one fast test per op plus seeded sweeps -----------------------------------

def _transpose_case(seed: int):
    rng = random.Random(seed)
    rank = rng.choice([2, 3, 4, 5])
    # Dimensions of 2+: a permutation of size-1 dimensions is converted to a RESHAPE.
    shape = tuple(rng.randint(2, 4) for _ in range(rank))
    perm = list(range(rank))
    while perm == list(range(rank)):
        rng.shuffle(perm)
    return _case(lambda x: tf.transpose(x, perm), shape, seed, "TRANSPOSE"), (shape, perm)


def _strided_slice_case(seed: int):
    rng = random.Random(seed)
    rank = rng.choice([1, 2, 3, 4])
    shape = tuple(rng.randint(1, 7) for _ in range(rank))
    begin, end, strides = [], [], []
    for d in shape:
        stride = rng.choice([1, 1, 2, 3, -1, -2])
        begin.append(rng.randint(-d - 1, d + 1))
        end.append(rng.randint(-d - 1, d + 1))
        strides.append(stride)
    masks = {k: rng.getrandbits(rank) for k in ("begin_mask", "end_mask")}
    # Shrink only an axis whose begin lies inside it (TF requires that).
    shrink = 0
    d = rng.randrange(rank)
    if rng.random() < 0.4 and -shape[d] <= begin[d] < shape[d] and not masks["begin_mask"] >> d & 1:
        shrink = 1 << d
        strides[d] = 1  # TF allows only stride 1 on a shrunk axis

    def fn(x):
        return tf.strided_slice(x, begin, end, strides, shrink_axis_mask=shrink, **masks)

    out = tf.strided_slice(tf.zeros(shape), begin, end, strides, shrink_axis_mask=shrink,
                           **masks)
    if 0 in out.shape or out.shape.rank == 0:
        return None, None
    return _case(fn, shape, seed, "STRIDED_SLICE"), (shape, begin, end, strides, masks, shrink)


def _split_case(seed: int):
    rng = random.Random(seed)
    rank = rng.choice([2, 3, 4])
    axis = rng.randrange(rank)
    parts = rng.randint(2, 3)
    shape = [rng.randint(1, 4) for _ in range(rank)]
    shape[axis] = parts * rng.randint(1, 2)
    shape = tuple(shape)
    if rng.random() < 0.5:
        def fn(x):
            return tf.concat(tf.split(x, parts, axis=axis)[::-1], axis=axis)
        return _case(fn, shape, seed, "SPLIT"), (shape, axis, parts)
    sizes = [1] * parts
    for _ in range(shape[axis] - parts):
        sizes[rng.randrange(parts)] += 1

    def fn_v(x):
        return tf.concat(tf.split(x, sizes, axis=axis)[::-1], axis=axis)
    return _case(fn_v, shape, seed, "SPLIT_V"), (shape, axis, sizes)


def _resize_case(seed: int):
    rng = random.Random(seed)
    shape = (rng.randint(1, 2), rng.randint(1, 6), rng.randint(1, 6), rng.randint(1, 3))
    size = (rng.randint(1, 13), rng.randint(1, 13))
    mode = rng.choice(["half_pixel", "align_corners", "none"])
    if mode == "half_pixel":
        def fn(x):
            return tf.image.resize(x, size, method="nearest")
    else:
        def fn(x):
            return tf.compat.v1.image.resize_nearest_neighbor(
                x, size, align_corners=mode == "align_corners")
    return _case(fn, shape, seed, "RESIZE_NEAREST_NEIGHBOR"), (shape, size, mode)


CASES = {"transpose": _transpose_case, "strided_slice": _strided_slice_case,
         "split": _split_case, "resize": _resize_case}


def _check(kind: str, seed: int):
    model, params = CASES[kind](seed)
    if model is None:
        pytest.skip(f"seed {seed} gives an empty slice")
    try:
        _parity(model, kind, seed=seed)
    except AssertionError as e:
        raise AssertionError(f"{kind} seed={seed} {params}: {e}") from e


@pytest.mark.parametrize("kind", sorted(CASES))
def test_parity(kind):
    _check(kind, 1)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2, 14))
@pytest.mark.parametrize("kind", sorted(CASES))
def test_parity_sweep(kind, seed):
    _check(kind, seed)


def test_resize_modes_and_shrinking_slices():
    """The rounding and masks most likely to go wrong, each once in the fast suite."""
    for mode, size in (("align_corners", (7, 5)), ("none", (9, 2)), ("half_pixel", (3, 11))):
        if mode == "half_pixel":
            fn = lambda x, s=size: tf.image.resize(x, s, method="nearest")  # noqa: E731
        else:
            fn = lambda x, s=size, m=mode: tf.compat.v1.image.resize_nearest_neighbor(  # noqa
                x, s, align_corners=m == "align_corners")
        _parity(_case(fn, (1, 5, 4, 3), 0, "RESIZE_NEAREST_NEIGHBOR"), mode)
    _parity(_case(lambda x: x[:, 1, ::-2, -2:], (1, 6, 5, 4), 0, "STRIDED_SLICE"), "shrink")


# -- SQUEEZE / EXPAND_DIMS: inserted into the flatbuffer ---------------------------------------

def _insert(model_bytes: bytes, tensor: int, kind: str, shape, value) -> bytes:
    """A SQUEEZE (value: squeeze dims) or EXPAND_DIMS (value: axis) of `tensor` (new shape
    `shape`, same quantisation) inserted after its producer; its readers read the result."""
    import copy

    from tensorflow.lite.python import schema_py_generated as schema

    model = tso.read_model(model_bytes)
    sg = model.subgraphs[0]
    code = schema.OperatorCodeT()
    code.builtinCode = getattr(schema.BuiltinOperator, kind)
    code.deprecatedBuiltinCode = min(code.builtinCode, 127)
    code.version = 1
    model.operatorCodes.append(code)
    out = copy.deepcopy(sg.tensors[tensor])
    out.shape, out.name = list(shape), b"layout_out"
    sg.tensors.append(out)
    new_t = len(sg.tensors) - 1
    for o in sg.operators:
        o.inputs = [new_t if int(i) == tensor else int(i) for i in o.inputs]
    sg.outputs = [new_t if int(i) == tensor else int(i) for i in sg.outputs]
    op = schema.OperatorT()
    op.opcodeIndex = len(model.operatorCodes) - 1
    op.outputs = [new_t]
    if kind == "SQUEEZE":
        op.inputs = [tensor]
        op.builtinOptionsType = schema.BuiltinOptions.SqueezeOptions
        op.builtinOptions = schema.SqueezeOptionsT()
        op.builtinOptions.squeezeDims = list(value)
    else:
        buf = schema.BufferT()
        buf.data = list(np.asarray([value], np.int32).tobytes())
        model.buffers.append(buf)
        axis = schema.TensorT()
        axis.shape, axis.type, axis.buffer, axis.name = [1], schema.TensorType.INT32, \
            len(model.buffers) - 1, b"axis"
        sg.tensors.append(axis)
        op.inputs = [tensor, len(sg.tensors) - 1]
        op.builtinOptionsType = schema.BuiltinOptions.ExpandDimsOptions
        op.builtinOptions = schema.ExpandDimsOptionsT()
    at = next(k for k, o in enumerate(sg.operators) if tensor in [int(i) for i in o.outputs])
    sg.operators.insert(at + 1, op)
    return tso.write_model(model)


def _head_model(seed: int) -> bytes:
    """conv -> 4x4 average pool to 1x1 -> dense (reading the 4-D pool output as [1, 5])."""
    L = tf.keras.layers
    tf.keras.utils.set_random_seed(seed)
    inp = L.Input((6, 6, 2), batch_size=1)
    x = L.Conv2D(5, 3, activation="relu", bias_initializer="random_normal")(inp)
    x = L.AveragePooling2D(4)(x)
    out = L.Dense(4, bias_initializer="random_normal")(L.Flatten()(x))
    model = mf._convert(tf.keras.Model(inp, out), (6, 6, 2), seed=seed)
    assert mf.op_names(model) == ["CONV_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED"]
    return model


def _squeeze_model(seed: int = 0) -> bytes:
    """The pool's [1, 1, 1, 5] squeezed to [1, 5] before the dense."""
    model = _head_model(seed)
    g = build_graph(read_model(model))
    return _insert(model, g.ops[1].outputs[0], "SQUEEZE", [1, 5], [1, 2])


def _expand_dims_model(seed: int = 0) -> bytes:
    """The dense's [1, 4] logits expanded to [1, 1, 4], the model output."""
    model = _head_model(seed)
    g = build_graph(read_model(model))
    return _insert(model, g.outputs[0], "EXPAND_DIMS", [1, 1, 4], 1)


@pytest.mark.parametrize("make,kind", [(_squeeze_model, "SQUEEZE"),
                                       (_expand_dims_model, "EXPAND_DIMS")])
def test_squeeze_expand_dims_parity(make, kind):
    model = make(0)
    assert kind in mf.op_names(model)
    _parity(model, kind, n=8)


@pytest.mark.parametrize("make", [_squeeze_model, _expand_dims_model])
@pytest.mark.parametrize("pos", [0, 1])
def test_squeeze_expand_dims_gradients(make, pos):
    """One step training the conv (pos 0, its gradient passes the dense and the layout op) or
    the dense (pos 1) against TF autodiff on the dequantised graph (test_gradients.run_check:
    the layout op's backward is the identity there)."""
    from .test_gradients import channel_axis, run_check

    model = make(3)
    graph = build_graph(read_model(model))
    op = graph.trainable_ops()[pos]
    cout = graph.tensors[op.inputs[1]].shape[channel_axis(op.kind)]
    for seed in range(3):
        xq = mf.random_inputs(model, 1, seed)[0]
        run_check(model, xq, seed % 4, tflm_train.SparseUpdate(n_bias=0, weights={pos: 1.0}),
                  {pos: cout})


# -- whole models: folded shape chains, NCHW input, Keras 3 MobileNet ---------------------------

def _keras3_head_model(seed: int = 0) -> bytes:
    """A small CNN whose head is Keras 3's: average (kept 1x1) -> 1x1 conv -> Reshape ->
    softmax, with the batch size left open, so the Reshape computes its shape with SHAPE ->
    STRIDED_SLICE -> PACK."""
    L = tf.keras.layers
    tf.keras.utils.set_random_seed(seed)
    inp = L.Input((10, 10, 2))
    x = L.Conv2D(6, 3, strides=2, activation="relu", bias_initializer="random_normal")(inp)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = L.GlobalAveragePooling2D(keepdims=True)(x)
    x = L.Conv2D(5, 1, bias_initializer="random_normal")(x)
    out = L.Softmax()(L.Reshape((5,))(x))
    return mf._convert(tf.keras.Model(inp, out), (10, 10, 2), seed=seed)


def _nchw_model(seed: int = 0) -> bytes:
    """PyTorch-style: NCHW input, TRANSPOSE to NHWC, then the other layout ops (nearest
    upsampling, a crop, a channel split put back in another order) before a small CNN with
    the Keras 3 head: every layer a scheme can train lies after them."""
    L = tf.keras.layers
    tf.keras.utils.set_random_seed(seed)
    inp = L.Input((3, 6, 6))
    x = L.Permute((2, 3, 1))(inp)
    # (Keras 3's UpSampling2D writes TILE ops.)
    x = L.Lambda(lambda t: tf.image.resize(t, (12, 12), method="nearest"))(x)
    x = L.Cropping2D(((1, 1), (2, 0)))(x)
    a, b = L.Lambda(lambda t: tf.split(t, [1, 2], axis=-1))(x)
    x = L.Concatenate()([b, a])
    x = L.Conv2D(6, 3, padding="same", activation="relu", bias_initializer="random_normal")(x)
    x = L.DepthwiseConv2D(3, strides=2, activation="relu")(x)
    x = L.Conv2D(8, 1, activation="relu", bias_initializer="random_normal")(x)
    x = L.GlobalAveragePooling2D(keepdims=True)(x)
    x = L.Conv2D(5, 1, bias_initializer="random_normal")(x)
    out = L.Softmax()(L.Reshape((5,))(x))
    return mf._convert(tf.keras.Model(inp, out), (3, 6, 6), seed=seed)


def _program(ext: bytes) -> bytes:
    from tflm_train.converter.program import METADATA_NAME

    return get_metadata(read_model(ext), METADATA_NAME)


def _check_trains(model: bytes, steps: int = 4, seed: int = 0):
    """Default scheme: bit-exact with the wheel, then `steps` steps with finite losses that
    change the trained bytes."""
    ext = tflm_train.convert(model)
    tr = tflm_train.Trainer(ext, learning_rate=0.05, seed=seed)
    xs = mf.random_inputs(model, 6, seed)
    assert np.array_equal(tr.predict(xs).reshape(6, -1), mf.wheel_outputs(model, xs)), \
        f"ops {mf.op_names(model)}: differ from the wheel"
    before = tr.trained_tensors()
    losses = [tr.train_step(x, i % 5) for i, x in enumerate(xs[:steps])]
    assert all(np.isfinite(losses)), losses
    after = tr.trained_tensors()
    assert any(before[t] != after[t] for t in before), "training changed no trained byte"
    return ext, tr


def test_keras3_reshape_head_is_folded():
    model = _keras3_head_model()
    names = mf.op_names(model)
    assert {"SHAPE", "STRIDED_SLICE", "PACK", "RESHAPE"} <= set(names), names
    graph = build_graph(read_model(model))
    folded = {op.index for op in graph.ops if op.kind in ("SHAPE", "STRIDED_SLICE", "PACK")}
    assert graph.folded == folded
    ext, tr = _check_trains(model)
    blob = _program(ext)
    from tflm_train.converter.program import decode_ops

    # Folded: no prepared state, no FORWARD instruction, no arena tensor.
    states = [r["state_offset"] for r in decode_ops(blob)]
    assert [i for i, s in enumerate(states) if s < 0] == sorted(folded)
    ran = {ins.args[0] for ins in _instructions(blob) if ins.opcode == Opcode.FORWARD}
    assert not ran & folded and len(ran) == len(graph.ops) - len(folded)
    offsets = _model_offsets(blob, len(graph.tensors))
    for op in graph.ops:
        if op.index in folded:
            assert all(offsets[t] == -1 for t in op.outputs)
    # The stock subgraph keeps them: export() gives the original ops, and runs in the wheel.
    stock = tr.export()
    assert mf.op_names(stock) == names
    xs = mf.random_inputs(model, 3, 1)
    assert np.array_equal(tr.predict(xs).reshape(3, -1), mf.wheel_outputs(stock, xs))


def _instructions(blob: bytes):
    from tflm_train.converter.program import decode_instructions

    return decode_instructions(blob)


def _model_offsets(blob: bytes, n: int) -> list[int]:
    import struct

    from tflm_train.converter.program import decode_header

    h = decode_header(blob)
    return list(struct.unpack_from(f"<{n}i", blob, h["off_model"] * 4))


def test_shape_feeding_other_ops_is_refused():
    """A SHAPE or PACK whose result is more than a RESHAPE's shape cannot be folded, and the
    runtime has no kernel for them: refused at convert time, naming the ops."""
    model = read_model(_keras3_head_model())
    graph = build_graph(model)
    pack = next(op for op in graph.ops if op.kind == "PACK")
    model.subgraphs[0].outputs = list(model.subgraphs[0].outputs) + [pack.outputs[0]]
    from tflm_train.converter.tflite_io import write_model

    with pytest.raises(UnsupportedOpError, match=r"SHAPE is supported only where.*PACK is"):
        tflm_train.convert(write_model(model))


def test_runtime_refuses_a_program_marking_a_real_op_folded():
    """A hostile program cannot skip an op's Prepare by marking it folded: an instruction
    naming it no longer matches the model."""
    from tflm_train.binding import RuntimeFailure
    from tflm_train.converter.program import METADATA_NAME, OP_FIELDS, decode_header
    from tflm_train.converter.tflite_io import set_metadata, write_model

    source = _keras3_head_model()
    reshape = next(op.index for op in build_graph(read_model(source)).ops
                   if op.kind == "RESHAPE")
    model = read_model(tflm_train.convert(source))
    blob = bytearray(get_metadata(model, METADATA_NAME))
    at = (decode_header(bytes(blob))["off_ops"] + len(OP_FIELDS) * reshape) * 4
    blob[at:at + 4] = (-1).to_bytes(4, "little", signed=True)
    set_metadata(model, METADATA_NAME, bytes(blob))
    with pytest.raises(RuntimeFailure, match="does not match the model"):
        NativeSession(write_model(model))
    # An op with per-channel data is never folded: refused when the program is read.
    blob[at - 4 * len(OP_FIELDS) * reshape:at - 4 * len(OP_FIELDS) * reshape + 4] = \
        (-1).to_bytes(4, "little", signed=True)
    set_metadata(model, METADATA_NAME, bytes(blob))
    with pytest.raises(RuntimeFailure, match="op 0 has a bad state"):
        NativeSession(write_model(model))


def test_nchw_model_with_layout_ops_trains():
    model = _nchw_model()
    names = mf.op_names(model)
    assert names[0] == "TRANSPOSE", names
    for kind in ("RESIZE_NEAREST_NEIGHBOR", "STRIDED_SLICE", "SPLIT_V", "SHAPE", "PACK"):
        assert kind in names, (kind, names)
    _check_trains(model)


@pytest.mark.parametrize("seed", range(3))
def test_layout_models_plan_agrees_with_the_runtime(seed):
    from .test_plan_agreement import check_plan

    check_plan(_nchw_model(), seed)
    check_plan(_keras3_head_model(), 10 + seed)


@pytest.mark.slow
def test_keras_mobilenet_alpha_025_default_head():
    """keras.applications.MobileNet(alpha=0.25) with its default head (1000 classes, the
    Keras 3 Reshape), random weights with batch-norm statistics taken from the calibration
    images (untouched random statistics collapse the activations to ~0, which the wheel
    itself cannot run: its softmax rejects the input scale)."""
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    shape = (32, 32, 3)
    net = keras.applications.MobileNet(alpha=0.25, weights=None, input_shape=shape)
    for layer in net.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0
    net(np.random.default_rng(0).uniform(0, 1, (16, *shape)).astype(np.float32), training=True)
    model = mf._convert(net, shape)
    names = mf.op_names(model)
    assert names[-5:] == ["SHAPE", "STRIDED_SLICE", "PACK", "RESHAPE", "SOFTMAX"], names
    _check_trains(model, steps=3)


# -- bad parameters: refused at convert time with the runtime's reason -------------------------

def _with_constant(model_bytes: bytes, input_index: int, values) -> bytes:
    """The single op's constant input `input_index` replaced by int32 `values`."""
    model = tso.read_model(model_bytes)
    sg = model.subgraphs[0]
    t = sg.tensors[int(sg.operators[0].inputs[input_index])]
    model.buffers[t.buffer].data = list(np.asarray(values, np.int32).tobytes())
    return tso.write_model(model)


@pytest.mark.parametrize("case,index,values,message", [
    ("transpose", 1, [0, 0, 1, 2], r"TRANSPOSE\): perm is not a permutation"),
    ("transpose", 1, [0, 2, 1, 3], r"TRANSPOSE\): output dimension 1 is"),
    ("strided_slice", 3, [1, 0, 1, 1], r"STRIDED_SLICE\): stride of dimension 1 is 0"),
    ("strided_slice", 2, [1, 6, 5, 2], r"STRIDED_SLICE\): the output shape does not match"),
    ("resize", 1, [7, 6], r"RESIZE_NEAREST_NEIGHBOR\): output shape differs"),
    ("split", 0, [7], r"SPLIT\): axis is outside"),
])
def test_bad_parameters_are_refused(case, index, values, message):
    fns = {"transpose": (lambda x: tf.transpose(x, [0, 3, 1, 2]), (1, 3, 4, 5)),
           "strided_slice": (lambda x: x[:, 1:5, ::2, :], (1, 6, 5, 4)),
           "resize": (lambda x: tf.image.resize(x, (7, 5), method="nearest"), (1, 3, 4, 2)),
           "split": (lambda x: tf.concat(tf.split(x, 2, axis=2)[::-1], axis=2), (1, 3, 4, 5))}
    fn, shape = fns[case]
    model = tso.convert(fn, [shape], [(-1.0, 1.0)])
    with pytest.raises(tflm_train.ConversionError, match=message):
        tflm_train.convert(_with_constant(model, index, values), INFERENCE)
