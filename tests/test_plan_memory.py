"""What the planner does to save SRAM, checked on real plans: activation masks kept as bits,
the classifier head's backward by channel groups (no broadcast MEAN gradient), bias-only layers
reading weights from flash. Gradient values of these paths are checked against TF in
test_gradients.py / test_branch_gradients.py (the demo model's conv4 -> MEAN head uses them)."""
from __future__ import annotations


import pytest

import tflm_train
from tflm_train import SparseUpdate
from tflm_train.converter import compile_model
from tflm_train.converter.graph import build_graph
from tflm_train.converter.program import Opcode
from tflm_train.converter.tflite_io import read_model

from . import model_factory as mf
from .test_gradients import run_check
from tflm_train.data import DEMO_MODEL

DEMO = DEMO_MODEL.read_bytes()


def _step(scheme):
    _, graph, step = compile_model(DEMO, scheme)
    return graph, step


@pytest.fixture(scope="module")
def wide_head():
    """A 256-channel 1x1 conv at 8x8 before global average pooling: its broadcast MEAN gradient
    would be 64 KB of floats; the head backward works in groups of 32 channels (8 KB)."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(6)
    L = tf.keras.layers
    inp = L.Input((8, 8, 4))
    x = L.Conv2D(16, 3, padding="same", activation="relu")(inp)
    x = L.Conv2D(256, 1, activation="relu6")(x)
    x = L.GlobalAveragePooling2D()(x)
    return mf._convert(tf.keras.Model(inp, L.Dense(5)(x)), (8, 8, 4), seed=6)


def test_head_backward_groups_instead_of_broadcast(wide_head):
    _, graph, step = compile_model(wide_head, SparseUpdate(n_bias=0, weights={0: 1.0}))
    assert "MEAN_HEAD_BACKWARD" in step.instruction_names
    mean = next(op for op in graph.ops if op.kind == "MEAN")
    broadcast = 4 * graph.tensors[mean.inputs[0]].nbytes
    assert broadcast == 65536
    assert max(t.nbytes for t in step.program.extra) <= 8192


@pytest.mark.parametrize("pos", [0, 1])
def test_head_backward_gradients_against_tf(wide_head, pos):
    """Layer 1 (the head conv): bias and weights from eight channel groups; layer 0: the input
    gradient summed over the groups."""
    graph = build_graph(read_model(wide_head))
    cout = graph.tensors[graph.trainable_ops()[pos].inputs[1]].shape[0]
    xq = mf.random_inputs(wide_head, 1, 2)[0]
    run_check(wide_head, xq, 3, SparseUpdate(n_bias=0, weights={pos: 1.0}), {pos: cout})


def test_masks_replace_int8_outputs_nobody_else_reads():
    graph, step = _step(SparseUpdate(n_bias=5))
    program = step.program
    saved = [ins for ins in program.instructions[:program.n_forward]
             if ins.opcode == Opcode.SAVE_MASK]
    assert saved
    for ins in saved:
        out = ins.args[0]
        lifetime = next(b for b in step.buffers if b.key == out)
        assert lifetime.last < program.n_forward  # the int8 tensor dies in the forward pass
        mask = program.extra[ins.args[1] - program.n_model_tensors]
        assert mask.elements == (graph.tensors[out].nbytes + 7) // 8


def test_bias_only_layers_leave_weights_in_flash():
    graph, step = _step(SparseUpdate(n_bias=5))
    for layer in step.program.layers:
        assert layer.weight_channels == 0
        assert step.program.model_offsets[layer.weight_tensor] == -1
    assert step.updated_weight_bytes < 1024  # biases only


def test_planned_arena_is_what_the_runtime_uses():
    ext = tflm_train.convert(DEMO, SparseUpdate(n_bias=4, weights={-1: 1.0, -2: 0.5}))
    tr = tflm_train.Trainer(ext)
    assert tr.memory_report().arena_bytes == tr._session.arena_bytes


def test_block_backward_and_in_place_depthwise():
    """The demo's conv1 -> depthwise -> 1x1 conv is an inverted-bottleneck block: with conv1
    trained, one BOTTLENECK_BACKWARD produces its gradients by channel groups. A depthwise
    outside such a block (here: before global pooling) passes its gradient in place."""
    import tensorflow as tf

    _, step = _step(SparseUpdate(n_bias=0, weights={0: 1.0}))
    assert "BOTTLENECK_BACKWARD" in step.instruction_names
    tf.keras.utils.set_random_seed(7)
    L = tf.keras.layers
    inp = L.Input((8, 8, 2))
    x = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = L.GlobalAveragePooling2D()(x)
    model = mf._convert(tf.keras.Model(inp, L.Dense(3)(x)), (8, 8, 2), seed=7)
    _, _, step = compile_model(model, SparseUpdate(n_bias=0, weights={0: 1.0}))
    assert "DEPTHWISE_GRAD_IN_PLACE" in step.instruction_names
    xq = mf.random_inputs(model, 1, 0)[0]
    run_check(model, xq, 1, SparseUpdate(n_bias=0, weights={0: 1.0}), {0: 8})


def test_partial_channel_layers_keep_only_their_rows():
    """conv4 (16 output channels) trains its first 8: only those 8 rows are copied to SRAM;
    export() still writes the whole tensor (trained rows + untouched flash rows)."""
    import numpy as np

    scheme = SparseUpdate(n_bias=0, weights={3: 0.5})
    graph, step = _step(scheme)
    w = graph.tensors[graph.trainable_ops()[3].inputs[1]]
    assert step.updated_weight_bytes < w.nbytes  # 8 of 16 rows (+ bias)
    tr = tflm_train.Trainer(tflm_train.convert(DEMO, scheme), learning_rate=0.5)
    x = np.random.default_rng(0).integers(-128, 128, tr.input_shape, dtype=np.int8)
    tr.train_step(x, 3)
    whole = np.frombuffer(tr.trained_tensors()[w.index], np.int8).reshape(w.shape)
    assert np.array_equal(whole[8:], w.data[8:]) and not np.array_equal(whole[:8], w.data[:8])
    exported = build_graph(read_model(tr.export())).tensors[w.index].data
    assert np.array_equal(exported, whole)


def test_partial_depthwise_keeps_its_channels_and_saves_its_input(monkeypatch):
    """The demo block's depthwise (8 channels, 3x3) trains its first 2: SRAM holds 4 channels of
    its taps (the kernels take four channels from one place; the other 4 are read from flash),
    and SAVE_CHANNELS keeps the 2 trained channels of its input for the filter gradient instead
    of the whole input. Losses, trained bytes and predictions equal those of the same program
    keeping the whole input; frozen channels stay the model's, also after export."""
    import numpy as np

    from tflm_train.converter import memory_report, pipeline

    scheme = SparseUpdate(n_bias=3, weights={0: 1.0, 1: 0.25, 2: 1.0})
    graph, step = _step(scheme)
    assert {"BOTTLENECK_BACKWARD", "SAVE_CHANNELS"} <= set(step.instruction_names)
    w = graph.tensors[graph.trainable_ops()[1].inputs[1]]
    ext = tflm_train.convert(DEMO, scheme)
    with monkeypatch.context() as m:
        m.setattr(pipeline, "insert_saved_channels", lambda graph, program: program)
        _, _, whole_step = compile_model(DEMO, scheme)
        ext_whole = tflm_train.convert(DEMO, scheme)
    assert "SAVE_CHANNELS" not in whole_step.instruction_names
    assert memory_report(ext).arena_bytes <= memory_report(ext_whole).arena_bytes
    trainers = [tflm_train.Trainer(e, learning_rate=0.5) for e in (ext, ext_whole)]
    assert len(trainers[0]._session.tensor_bytes(w.index)) == 9 * 4  # 4 of 8 channels
    x = np.random.default_rng(0).integers(-128, 128, (3, *trainers[0].input_shape[1:]),
                                          dtype=np.int8)
    losses = [[tr.train_step(x[i:i + 1], i) for i in range(3)] for tr in trainers]
    assert losses[0] == losses[1]
    assert trainers[0].trained_tensors() == trainers[1].trained_tensors()
    assert np.array_equal(trainers[0].predict(x), trainers[1].predict(x))
    whole = np.frombuffer(trainers[0].trained_tensors()[w.index], np.int8).reshape(w.shape)
    assert np.array_equal(whole[..., 2:], w.data[..., 2:])
    assert not np.array_equal(whole[..., :2], w.data[..., :2])
    exported = build_graph(read_model(trainers[0].export())).tensors[w.index].data
    assert np.array_equal(exported, whole)
    # whole tensors load back; frozen channels that differ from the model's are refused
    trainers[1].load_trained_tensors({w.index: whole.tobytes()})
    assert trainers[1].trained_tensors()[w.index] == whole.tobytes()
    spoilt = whole.copy()
    spoilt[..., 5] += 1
    with pytest.raises(ValueError, match="channels past the first 4 differ"):
        trainers[1].load_trained_tensors({w.index: spoilt.tobytes()})
