"""Issue 18's activation savings on a small MobileNet-like model (a residual inverted bottleneck,
a 1x1 head conv, global mean, classifier): the residual ADD's two inputs share its output
gradient (no GRAD_COPY) and the head conv runs with its MEAN by channel groups
(MEAN_HEAD_FORWARD). Each saving is checked against the program without it: the same losses,
trained bytes and predictions (the wheel's), a smaller arena."""
from __future__ import annotations

import numpy as np
import pytest

import tflm_train
from tflm_train import SparseUpdate
from tflm_train.binding import NativeSession, RuntimeFailure
from tflm_train.converter import autodiff, compile_model, fusions
from tflm_train.converter.program import METADATA_NAME, Opcode
from tflm_train.converter.tflite_io import read_model, set_metadata, write_model

from . import model_factory as mf

SCHEME = SparseUpdate(n_bias=6, weights={i: 1.0 for i in range(6)})


@pytest.fixture(scope="module")
def model() -> bytes:
    import tensorflow as tf

    L = tf.keras.layers
    tf.keras.utils.set_random_seed(4)
    inputs = tf.keras.Input(shape=(8, 8, 8), batch_size=1)
    x = L.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    y = L.ReLU(max_value=6.0)(L.Conv2D(24, 1, bias_initializer="random_normal")(x))
    y = L.ReLU(max_value=6.0)(L.DepthwiseConv2D(3, padding="same",
                                                bias_initializer="random_normal")(y))
    x = L.Add()([x, L.Conv2D(8, 1, bias_initializer="random_normal")(y)])
    x = L.ReLU(max_value=6.0)(L.Conv2D(96, 1, bias_initializer="random_normal")(x))  # 6 KB out
    x = L.Softmax()(L.Dense(4, bias_initializer="random_normal")(
        L.GlobalAveragePooling2D()(x)))
    return mf._convert(tf.keras.Model(inputs, x), (8, 8, 8), seed=4)


def _train(ext: bytes, xs: np.ndarray, rounding: str) -> tuple[list[float], dict]:
    trainer = tflm_train.Trainer(ext, learning_rate=0.1, rounding=rounding)
    losses = [trainer._sample(x, i % 4) for i, x in enumerate(xs)]
    return losses, trainer.trained_tensors()


def _same_training(a: bytes, b: bytes, model: bytes, rounding: str = "stochastic") -> None:
    xs = mf.random_inputs(model, 4, 9)
    la, ta = _train(a, xs, rounding)
    lb, tb = _train(b, xs, rounding)
    assert la == lb
    assert ta.keys() == tb.keys() and all(ta[k] == tb[k] for k in ta)
    want = mf.wheel_outputs(model, xs)
    for ext in (a, b):
        session = NativeSession(ext)
        assert all(np.array_equal(session.invoke(x), w) for x, w in zip(xs, want))


def _opcodes(ext: bytes) -> list[str]:
    from tflm_train.converter.program import decode_instructions
    from tflm_train.converter.tflite_io import get_metadata

    blob = get_metadata(read_model(ext), METADATA_NAME)
    return [Opcode(i.opcode).name for i in decode_instructions(blob)]


def test_residual_block_shares_the_add_gradient(model, monkeypatch):
    shared = tflm_train.convert(model, SCHEME)
    monkeypatch.setattr(autodiff, "residual_alias", lambda em, op: False)
    copied = tflm_train.convert(model, SCHEME)
    assert "BOTTLENECK_BACKWARD" in _opcodes(shared)
    assert "GRAD_COPY" in _opcodes(copied) and "GRAD_COPY" not in _opcodes(shared)
    assert tflm_train.memory_report(shared).arena_bytes < \
        tflm_train.memory_report(copied).arena_bytes
    _same_training(shared, copied, model)


def test_head_conv_runs_by_channel_groups(model, monkeypatch):
    from tflm_train.converter import pipeline

    # The backward's emitted channel groups: with the smaller ones the converter picks, this
    # small model's peak is no longer the head output's.
    monkeypatch.setattr(pipeline, "_plan_grouped", pipeline._plan)
    grouped = tflm_train.convert(model, SCHEME)
    _, graph, step = compile_model(model, SCHEME)
    ins = next(i for i in step.program.instructions if i.opcode == Opcode.MEAN_HEAD_FORWARD)
    conv = next(op for op in graph.ops if op.index == ins.args[0])
    assert step.program.model_offsets[conv.outputs[0]] == -1  # never stored whole
    assert step.program.extra[ins.args[2] - step.program.n_model_tensors].elements == \
        fusions.HEAD_FORWARD_GROUP_BYTES  # 64 positions x 32 of 96 channels
    monkeypatch.setattr(fusions, "HEAD_FORWARD_GROUP_BYTES", 1 << 30)  # one group: not fused
    whole = tflm_train.convert(model, SCHEME)
    assert "MEAN_HEAD_FORWARD" in _opcodes(grouped) and "MEAN_HEAD_FORWARD" not in \
        _opcodes(whole)
    assert tflm_train.memory_report(grouped).arena_bytes < \
        tflm_train.memory_report(whole).arena_bytes
    _same_training(grouped, whole, model)


@pytest.mark.parametrize("arg,value", [("mean", lambda p, a: a[0]),
                                       ("group", lambda p, a: -1),
                                       ("mask", lambda p, a: p.output_tensor)])
def test_mismatched_head_forward_is_refused_by_name(model, arg, value):
    from tflm_train.converter.program_format import OPCODES

    names = next(op for op in OPCODES if op.name == "MEAN_HEAD_FORWARD").arg_names
    _, _, step = compile_model(model, SCHEME)
    index = next(k for k, i in enumerate(step.program.instructions)
                 if i.opcode == Opcode.MEAN_HEAD_FORWARD)
    args = step.program.instructions[index].args
    args[names.index(arg)] = value(step.program, args)
    tree = read_model(model)
    set_metadata(tree, METADATA_NAME, step.program.encode())
    with pytest.raises(RuntimeFailure,
                       match=rf"instruction {index} \(MEAN_HEAD_FORWARD\) does not match"):
        NativeSession(write_model(tree))


def _regrouped(model: bytes, groups: dict[str, int]) -> tuple[bytes, object]:
    """The model's program with its MEAN_HEAD_BACKWARD / BOTTLENECK_BACKWARD groups set to
    `groups` channels (fusions.regroup) and replanned, written as convert() writes it."""
    from tflm_train.converter import pipeline

    tree, graph, step = compile_model(model, SCHEME)
    program = step.program
    for k, ins in enumerate(program.instructions):
        if ins.opcode.name in groups:
            fusions.regroup(graph, program, k, groups[ins.opcode.name])
    step = pipeline._plan(graph, program, tflm_train.converter.SGD(), None)
    set_metadata(tree, METADATA_NAME, step.program.encode())
    return write_model(tree), step.program


def _input_gradients(ext: bytes, program, xs, rounding: str) -> list[bytes]:
    """Every step's input gradients of the two fused instructions, read from the arena when the
    next instruction starts (tt_set_instruction_hook)."""
    import ctypes

    hook_type = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32,
                                 ctypes.c_int32)
    n_model = program.n_model_tensors
    wanted = {}  # instruction index after the fused one -> (offset, bytes)
    for k, ins in enumerate(program.instructions):
        g_in = {"MEAN_HEAD_BACKWARD": 4, "BOTTLENECK_BACKWARD": 4}.get(ins.opcode.name)
        if g_in is not None and ins.args[g_in] >= 0:
            t = program.extra[ins.args[g_in] - n_model]
            wanted[k + 1] = (t.offset, t.nbytes)
    assert len(wanted) == 2
    session, seen = NativeSession(ext), []

    def read(_user, index, _opcode, _arg):
        if index in wanted:
            offset, size = wanted[index]
            seen.append(session._arena[offset:offset + size].tobytes())

    hook = hook_type(read)
    session._lib.tt_set_instruction_hook.argtypes = [ctypes.c_void_p, hook_type, ctypes.c_void_p]
    session._lib.tt_set_instruction_hook(session._handle, hook, None)
    for i, x in enumerate(xs):
        session.train_step(x, i % 4, 0.1, rounding)
    return seen


@pytest.mark.parametrize("rounding", ["nearest", "stochastic"])
def test_group_sizes_give_the_same_bits(model, rounding):
    """The head's and the block's input gradients accumulate in output-channel order
    (ConvInputGradAccumulate), and their updates take the random draws of stochastic rounding
    as one group would (fused_backward.h), so groups of any size give the same bytes: input
    gradients, losses, trained tensors."""
    one, p_one = _regrouped(model, {"MEAN_HEAD_BACKWARD": 96, "BOTTLENECK_BACKWARD": 24})
    xs = mf.random_inputs(model, 4, 9)
    want = _input_gradients(one, p_one, xs, rounding)
    assert len(want) == 8 and all(any(b) for b in want)
    for head, block in ((5, 7), (32, 1), (1, 16)):
        ext, program = _regrouped(model, {"MEAN_HEAD_BACKWARD": head, "BOTTLENECK_BACKWARD": block})
        assert ext != one
        assert _input_gradients(ext, program, xs, rounding) == want
        _same_training(one, ext, model, rounding)


def test_converter_picks_smaller_groups_at_the_peak(model):
    """compile_step halves the fused groups while that lowers the arena: never above the
    emitted groups' plan."""
    from tflm_train.converter import pipeline

    emitted = []
    real = pipeline._plan_grouped
    try:
        pipeline._plan_grouped = lambda g, p, o, e: emitted.append(pipeline._plan(g, p, o, e)) \
            or emitted[-1]
        tflm_train.convert(model, SCHEME)
    finally:
        pipeline._plan_grouped = real
    chosen = tflm_train.memory_report(tflm_train.convert(model, SCHEME)).arena_bytes
    assert chosen <= min(s.program.arena_bytes for s in emitted)
