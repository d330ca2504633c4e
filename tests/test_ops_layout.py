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
