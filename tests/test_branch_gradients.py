"""Gradients through branches (residual ADD, a tensor read by two ops), MAX_POOL_2D, PAD and
requantising QUANTIZE, checked against TensorFlow autodiff on the dequantised graph with the
same one-step method as test_gradients.py (its reference sums the gradients of all consumers)."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

import tflm_train
from tflm_train.converter.graph import build_graph
from tflm_train.converter.tflite_io import read_model

from . import model_factory as mf
from .test_gradients import reference_gradients, run_check


def _residual_model(seed: int, add_relu: bool):
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    L = tf.keras.layers
    x = inp = L.Input((12, 12, 3))
    x = L.Conv2D(8, 3, padding="same", activation="relu6")(x)
    # inverted residual block: expand, depthwise, project, + skip
    y = L.Conv2D(16, 1, activation="relu6")(x)
    y = L.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
    y = L.Conv2D(8, 1)(y)
    x = L.Add()([x, y])
    if add_relu:
        x = L.ReLU()(x)
    x = L.MaxPooling2D(2)(x)
    x = L.ZeroPadding2D(1)(x)
    x = L.Conv2D(12, 3, strides=2, activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(5)(x)
    return mf._convert(tf.keras.Model(inp, out), (12, 12, 3), seed=seed)


@pytest.fixture(scope="module", params=[False, True], ids=["add", "add_relu"])
def residual(request):
    return _residual_model(3, request.param)


def _case(model, seed=0):
    xq = mf.random_inputs(model, 1, seed)[0]
    return xq, int(np.random.default_rng(seed).integers(0, 5))


def test_ops_on_the_gradient_path(residual):
    kinds = {op.kind for op in build_graph(read_model(residual)).ops}
    assert {"ADD", "MAX_POOL_2D", "PAD", "MEAN", "DEPTHWISE_CONV_2D"} <= kinds, kinds


@pytest.mark.parametrize("pos", [0, 1, 2, 3, 4])
def test_every_layer_through_branches(residual, pos):
    """Layer 0 (below the block) gets the sum of the skip and the branch gradients; layers in
    the branch get the gradient passed through ADD, max pooling and padding."""
    graph = build_graph(read_model(residual))
    op = graph.trainable_ops()[pos]
    wt = graph.tensors[op.inputs[1]]
    cout = wt.shape[3 if op.kind == "DEPTHWISE_CONV_2D" else 0]
    for seed in range(4):  # an input for which the layer is alive (ReLU masks can kill it)
        xq, label = _case(residual, seed)
        _, ref = reference_gradients(residual, xq, label)
        if np.abs(ref[op.index][0]).max() > 0:
            break
    run_check(residual, xq, label, tflm_train.SparseUpdate(n_bias=0, weights={pos: 1.0}),
              {pos: cout})


def test_whole_step_all_layers(residual):
    """Every layer's bias at once: branch sums happen before any update is applied."""
    xq, label = _case(residual, 1)
    run_check(residual, xq, label, tflm_train.SparseUpdate(n_bias=6),
              {p: 0 for p in range(5)}, which="bias")  # the FC has no bias


def test_branch_plan_sums_and_frees(residual):
    """The compiled step sums the two gradients of the block input (one GRAD_ACCUMULATE or
    GRAD_COPY) and plans every buffer inside the arena."""
    _, _, step = tflm_train.converter.compile_model(
        residual, tflm_train.SparseUpdate(n_bias=0, weights={0: 1.0}))
    names = step.instruction_names
    assert "GRAD_ACCUMULATE" in names
    assert all(b.offset + b.size <= step.program.arena_bytes for b in step.buffers)


@pytest.fixture(scope="module")
def concat_model():
    """Two conv branches concatenated (the TFLite converter requantises them with QUANTIZE so
    they share the output's scale); the input conv feeds both branches."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(5)
    L = tf.keras.layers
    inp = L.Input((8, 8, 2))
    x = L.Conv2D(4, 3, padding="same", activation="relu")(inp)
    a = L.Conv2D(4, 3, padding="same")(x)
    b = L.Conv2D(6, 1, activation="relu")(x)
    x = L.Concatenate()([a, b])
    x = L.GlobalAveragePooling2D()(x)
    return mf._convert(tf.keras.Model(inp, L.Dense(3)(x)), (8, 8, 2), seed=5)


@pytest.mark.parametrize("pos", [0, 1, 2])
def test_concatenation_branches(concat_model, pos):
    graph = build_graph(read_model(concat_model))
    assert "CONCATENATION" in {op.kind for op in graph.ops}
    op = graph.trainable_ops()[pos]
    cout = graph.tensors[op.inputs[1]].shape[0]
    xq = mf.random_inputs(concat_model, 1, 0)[0]
    run_check(concat_model, xq, 1, tflm_train.SparseUpdate(n_bias=0, weights={pos: 1.0}),
              {pos: cout})


def test_softmax_inside_the_graph_is_named():
    import tensorflow as tf

    L = tf.keras.layers
    inp = L.Input((4,))
    x = L.Softmax()(L.Dense(4)(inp))
    model = mf._convert(tf.keras.Model(inp, L.Dense(3)(x)), (4,))
    with pytest.raises(tflm_train.UnsupportedOpError, match="SOFTMAX"):
        tflm_train.convert(model, tflm_train.SparseUpdate(n_bias=0, weights={0: 1.0}))
