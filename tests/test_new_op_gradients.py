"""Gradients through the issue-12 ops (HARD_SWISH, LOGISTIC, LEAKY_RELU, TRANSPOSE, MUL, SUB):
one training step of the runtime against TensorFlow autodiff on the dequantised graph, with
test_gradients.py's method (its reference has each of these ops), on small Keras models whose
trained layers sit below the op, plus squeeze-excite blocks (MUL broadcasting a gate over H and
W) and a SUB whose two operands both come from trained layers."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

import tflm_train
from tflm_train import SparseUpdate
from tflm_train.converter.graph import build_graph
from tflm_train.converter.tflite_io import read_model

from . import model_factory as mf
from .test_gradients import reference_gradients, run_check
from .demo_firmware import train_on_demo_firmware

tf = pytest.importorskip("tensorflow")
L = tf.keras.layers


def _hard_swish(t):
    return t * tf.nn.relu6(t + 3.0) / 6.0


def _hard_sigmoid(t):  # MobileNetV3's gate (Keras applications' hard_sigmoid)
    return tf.nn.relu6(t + 3.0) * (1.0 / 6.0)


def _model(seed: int, body, shape=(8, 8, 3)) -> bytes:
    """conv (trained) -> body -> global average pool -> dense (3 classes)."""
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input(shape, batch_size=1)
    x = L.Conv2D(6, 3, padding="same", bias_initializer="random_normal")(inputs)
    x = body(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(3, bias_initializer="random_normal")(x)
    return mf._convert(tf.keras.Model(inputs, x), shape, seed=seed)


def _transpose_body(x):
    x = L.Lambda(lambda t: tf.transpose(t, (0, 2, 1, 3)))(x)
    return L.Conv2D(5, (1, 3), bias_initializer="random_normal")(x)


def _squeeze_excite(gate):
    def body(x):
        s = L.Lambda(lambda t: tf.reduce_mean(t, axis=[1, 2], keepdims=True))(x)
        s = L.Conv2D(3, 1, activation="relu", bias_initializer="random_normal")(s)
        s = L.Conv2D(6, 1, bias_initializer="random_normal")(s)
        return L.Multiply()([x, L.Lambda(gate)(s)])
    return body


def _sub_both(x):
    a = L.Conv2D(4, 1, bias_initializer="random_normal")(x)
    b = L.Conv2D(4, 3, padding="same", bias_initializer="random_normal")(x)
    return L.Subtract()([a, b])


def _sub_broadcast(x):
    """x - W mean(x) over H and W: the second operand [1,1,1,C] is broadcast. (x - mean(x)
    alone would feed the average pool nothing: its gradient is exactly zero.)"""
    s = L.Lambda(lambda t: tf.reduce_mean(t, axis=[1, 2], keepdims=True))(x)
    s = L.Conv2D(6, 1, bias_initializer="random_normal")(s)
    return L.Subtract()([x, s])


def _swish(x):  # EfficientNet's activation: x * sigmoid(x), MUL of a tensor and its LOGISTIC
    return L.Multiply()([x, L.Lambda(tf.math.sigmoid)(x)])


def _all_ops(x):
    """Every new differentiable op in one chain, for the boards: hard swish, a sigmoid
    squeeze-excite gate, leaky ReLU, a broadcast SUB, a TRANSPOSE."""
    x = L.Lambda(_hard_swish)(x)
    x = _squeeze_excite(tf.math.sigmoid)(x)
    x = L.LeakyReLU(0.2)(x)
    x = _sub_broadcast(x)
    return _transpose_body(x)


BODIES = {
    "all_ops": (_all_ops, {"HARD_SWISH", "LOGISTIC", "MUL", "LEAKY_RELU", "SUB", "TRANSPOSE"}),
    "hard_swish": (L.Lambda(_hard_swish), {"HARD_SWISH"}),
    "logistic": (L.Lambda(tf.math.sigmoid), {"LOGISTIC"}),
    "leaky_relu": (L.LeakyReLU(0.2), {"LEAKY_RELU"}),
    "transpose": (_transpose_body, {"TRANSPOSE"}),
    "se_sigmoid": (_squeeze_excite(tf.math.sigmoid), {"MUL", "LOGISTIC", "MEAN"}),
    "se_hard_sigmoid": (_squeeze_excite(_hard_sigmoid), {"MUL"}),
    "sub_both": (_sub_both, {"SUB"}),
    "sub_broadcast": (_sub_broadcast, {"SUB"}),
    "swish": (_swish, {"MUL", "LOGISTIC"}),
}
_MODELS: dict[tuple[str, int], bytes] = {}


def body_model(name: str, seed: int = 0) -> bytes:
    if (name, seed) not in _MODELS:
        body, _ = BODIES[name]
        shape = (6, 8, 3) if name in ("transpose", "all_ops") else (8, 8, 3)
        _MODELS[name, seed] = _model(seed, body, shape)
    return _MODELS[name, seed]


def _sample(model: bytes, seed: int):
    xq = mf.random_inputs(model, 1, seed)[0]
    return xq, int(np.random.default_rng(seed).integers(0, 3))


@pytest.mark.parametrize("name", sorted(BODIES))
def test_one_step_through_the_op(name):
    """The first conv (below the op) trains weights and bias; everything on its gradient path
    is checked against TF autodiff."""
    model = body_model(name)
    kinds = set(mf.op_names(model))
    assert BODIES[name][1] <= kinds, kinds
    xq, label = _sample(model, 1)
    run_check(model, xq, label, SparseUpdate(n_bias=0, weights={0: 1.0}), {0: 6})


@pytest.mark.parametrize("name", ["se_sigmoid", "se_hard_sigmoid", "sub_both", "swish"])
def test_all_biases_through_the_op(name):
    """Every layer's bias at once: both MUL / SUB operands carry gradient into trained layers
    (the gate's convs above the MEAN and the first conv through both branches)."""
    model = body_model(name)
    graph = build_graph(read_model(model))
    n = len(graph.trainable_ops())
    xq, label = _sample(model, 2)
    _, ref = reference_gradients(model, xq, label)
    # layers whose bias gradient is ~0 for this sample (e.g. a dead ReLU) check nothing
    live = {p: 0 for p, op in enumerate(graph.trainable_ops())
            if ref[op.index][1] is not None and np.abs(ref[op.index][1]).max() > 1e-6}
    assert len(live) >= min(n, 3), live
    run_check(model, xq, label, SparseUpdate(n_bias=n, weights={}), live, which="bias")


def test_sub_both_operands_trained():
    """SUB's two operands come from two trained convs: dA = g and dB = -g."""
    model = body_model("sub_both")
    xq, label = _sample(model, 3)
    for pos, k in ((1, 4), (2, 4)):
        run_check(model, xq, label, SparseUpdate(n_bias=0, weights={pos: 1.0}), {pos: k})


@pytest.mark.parametrize("seed", [1, 2])
def test_squeeze_excite_other_seeds(seed):
    model = body_model("se_sigmoid", seed)
    xq, label = _sample(model, 10 + seed)
    run_check(model, xq, label, SparseUpdate(n_bias=0, weights={0: 1.0}), {0: 6})


@pytest.mark.parametrize("name", ["se_sigmoid", "swish", "transpose", "sub_broadcast",
                                  "all_ops"])
def test_plan_agreement(name):
    """The runtime's arena high water equals the plan, with the saved inputs the new backward
    kernels read kept alive."""
    from .test_plan_agreement import check_plan

    check_plan(body_model(name), 1200)


def test_saved_input_is_planned_until_the_backward_reads_it():
    """HARD_SWISH's input is read again by its backward: the plan keeps it past the forward."""
    from tflm_train.converter import compile_model

    model = body_model("hard_swish")
    _, graph, step = compile_model(model, SparseUpdate(n_bias=0, weights={0: 1.0}))
    hs = next(op for op in graph.ops if op.kind == "HARD_SWISH")
    buf = next(b for b in step.buffers if b.key == hs.inputs[0])
    assert buf.last >= step.program.n_forward, (buf, step.program.n_forward)


@pytest.mark.slow
@pytest.mark.parametrize("board", ["an386", "an500"])
def test_training_through_the_new_ops_on_the_board_equals_the_host(board):
    """The training firmware, unchanged, trains the all-ops model in QEMU (the first conv's
    weights and every bias, so every new backward kernel runs): losses and trained bytes equal
    the host's. Borrows the demo firmware's input files and puts them back."""
    from tflm_train import firmware

    model = body_model("all_ops")
    graph = build_graph(read_model(model))
    ext = tflm_train.convert(model, SparseUpdate(n_bias=len(graph.trainable_ops()),
                                                 weights={0: 1.0}))
    xs = mf.random_inputs(model, 8, 5)
    steps = firmware.StepsFile(xs.reshape(8, -1), np.arange(8) % 3, 0.05, seed=11,
                               rounding="stochastic")
    run = train_on_demo_firmware(board, ext, steps)
    host = firmware.run_host(ext, steps)
    assert len(run.losses) == 8 and run.losses == host.losses
    assert run.tensors and run.tensors == host.tensors
