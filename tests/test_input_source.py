"""The input source (issue 18): a program converted with input_source=True never stores the
input frame; its first STREAM_CHAIN asks the caller's source (tt_set_input_source, ctypes
callback here as on the board) for the rows it needs. Bytes equal the stored-input program's,
the plan equals what the runtime writes, and a failing, short or out-of-order source stops the
run with status 6 and a message naming the rows."""
from __future__ import annotations

import re

import numpy as np
import pytest

import tflm_train
from tflm_train.binding import NativeSession, RuntimeFailure
from tflm_train.converter import compile_step
from tflm_train.converter.graph import build_graph
from tflm_train.converter.program import ALIGNMENT, METADATA_NAME, Flags, Opcode
from tflm_train.converter.scheme import SparseUpdate, resolve
from tflm_train.converter.streaming import chain_ops, row_span, window_bytes
from tflm_train.converter.tflite_io import read_model, set_metadata, write_model

from . import model_factory as mf
from . import test_streaming as streaming_tests

# A 64x48x3 frame read once by a stride-2 inverted bottleneck: the frame dominates the arena,
# so the converter takes the source (the frame is 9 KB, its rows 144 B).
SPEC = {"seed": 2, "input": [64, 48, 3], "classes": 4, "blocks": [
    {"expand": 4, "kernel": 3, "stride": 2, "pad": "same", "out": 4, "residual": False},
    {"expand": 2, "kernel": 3, "stride": 2, "pad": "same", "out": 6, "residual": False}]}
SCHEME = SparseUpdate(n_bias=2, weights={-1: 1.0})
FILLS = (0x00, 0xA5)


def _model() -> bytes:
    return streaming_tests.block_model(SPEC)


def _pair(scheme=SCHEME) -> tuple[bytes, bytes]:
    model = _model()
    return (tflm_train.convert(model, scheme),
            tflm_train.convert(model, scheme, input_source=True))


def _samples(n: int, seed: int = 0) -> np.ndarray:
    return mf.random_inputs(_model(), n, seed)


def test_source_program_never_stores_the_input():
    model = _model()
    graph = build_graph(read_model(model))
    step = compile_step(graph, resolve(graph, SCHEME), SCHEME, input_source=True)
    p = step.program
    assert p.flags & Flags.INPUT_SOURCE
    assert p.model_offsets[p.input_tensor] == -1
    first = p.instructions[0]
    assert first.opcode == Opcode.STREAM_CHAIN
    ops = chain_ops(graph, first)
    assert ops[0].inputs[0] == p.input_tensor
    # the scratch holds the input's window: span rows of the frame, beside the chain's own
    _, h, w, c = graph.tensors[p.input_tensor].shape
    own = window_bytes(graph, ops)
    window = p.extra[first.args[2] - p.n_model_tensors].elements
    assert window == own + (min(row_span(graph, ops[0]), h) * w * c + 3) // 4 * 4
    plain = compile_step(graph, resolve(graph, SCHEME), SCHEME)
    assert not plain.program.flags & Flags.INPUT_SOURCE
    frame = graph.tensors[p.input_tensor].nbytes
    assert p.arena_bytes < plain.program.arena_bytes
    assert plain.program.arena_bytes - p.arena_bytes <= frame


def test_source_is_taken_only_where_it_saves_memory():
    """A tie keeps the stored input (simpler to drive): mnist's peak is in the backward pass."""
    from bench import zoo
    model = zoo.load("mnist_cnn")
    plain = tflm_train.convert(model)
    source = tflm_train.convert(model, input_source=True)
    assert plain == source
    assert not NativeSession(source).input_streamed


@pytest.mark.parametrize("rounding", ["nearest", "stochastic"])
def test_streamed_and_stored_input_give_identical_bytes(rounding):
    stored, streamed = _pair()
    a, b = NativeSession(stored, seed=5), NativeSession(streamed, seed=5)
    assert not a.input_streamed and b.input_streamed
    before = [a.tensor_bytes(t) for t in a.trained_tensors()]
    xs = _samples(5)
    for i, x in enumerate(xs):
        assert a.train_step(x, i % 4, 0.1, rounding) == b.train_step(x, i % 4, 0.1, rounding)
        assert a.output().tobytes() == b.output().tobytes()
    after = [a.tensor_bytes(t) for t in a.trained_tensors()]
    assert after == [b.tensor_bytes(t) for t in b.trained_tensors()]
    assert after != before  # the steps trained something
    for x in xs[:2]:
        assert np.array_equal(a.invoke(x), b.invoke(x))


def test_streamed_inference_equals_the_wheel():
    _, streamed = _pair(SparseUpdate(inference_only=True))
    s = NativeSession(streamed)
    assert s.input_streamed
    xs = _samples(3, seed=1)
    assert np.array_equal(np.stack([s.invoke(x) for x in xs]), mf.wheel_outputs(_model(), xs))


def test_plan_agrees_with_the_high_water():
    _, streamed = _pair()
    planned = tflm_train.memory_report(streamed).arena_bytes
    results = []
    for fill in FILLS:
        s = NativeSession(streamed, arena_bytes=planned + 256, seed=2, arena_fill=fill)
        s.train_step(_samples(1)[0], 1, 0.05)
        results.append((s.arena_high_water(), [s.tensor_bytes(t) for t in s.trained_tensors()]))
    used = max(r[0] for r in results)
    assert planned - ALIGNMENT < used <= planned
    assert results[0][1] == results[1][1]  # nothing unwritten is read


def test_rows_are_asked_for_once_in_increasing_order():
    _, streamed = _pair()
    s = NativeSession(streamed)
    x = _samples(1)[0].reshape(-1)
    asked = []

    def source(first, count, dest):
        asked.extend(range(first, first + count))
        lo = first * s.input_row_bytes
        dest[:] = x[lo:lo + count * s.input_row_bytes]
        return 0

    s.set_input_source(source)
    out = s.invoke(np.zeros_like(x))  # a custom source replaces the one set_input feeds
    assert asked == sorted(set(asked)) and asked[0] == 0 and asked[-1] < s.input_rows
    assert np.array_equal(out, NativeSession(streamed).invoke(x))


def _run_with(source, streamed: bytes):
    s = NativeSession(streamed)
    s.set_input_source(source)
    with pytest.raises(RuntimeFailure) as e:
        s.train_step(_samples(1)[0], 0, 0.05)
    return e.value


def test_source_failure_is_reported_with_its_code():
    _, streamed = _pair()
    e = _run_with(lambda first, count, dest: 7 if first > 10 else 0, streamed)
    assert e.status == 6 and "failed with code 7" in str(e)
    rows = re.search(r"input rows (\d+)\.\.(\d+)", str(e))
    assert rows and 10 < int(rows[1]) <= int(rows[2])


def test_short_read_is_reported():
    _, streamed = _pair()
    e = _run_with(lambda first, count, dest: (0, first, dest.size - 1), streamed)
    got = re.search(r"delivered (\d+) of the (\d+) bytes of input rows 0\.\.", str(e))
    assert e.status == 6 and "short read" in str(e)
    assert got and int(got[1]) == int(got[2]) - 1


def test_wrong_row_is_reported():
    _, streamed = _pair()
    e = _run_with(lambda first, count, dest: (0, first + 1, dest.size) if first else 0, streamed)
    got = re.search(r"delivered row (\d+) when row (\d+) was requested", str(e))
    assert e.status == 6 and got and int(got[1]) == int(got[2]) + 1 > 1


def test_source_exception_and_missing_source():
    _, streamed = _pair()
    e = _run_with(lambda first, count, dest: 1 / 0, streamed)
    assert e.status == 6 and "failed with code -1" in str(e)
    s = NativeSession(streamed)
    s.set_input_source(None)
    with pytest.raises(RuntimeFailure) as e:
        s.train_step(_samples(1)[0], 0, 0.05)
    assert e.value.status == 4 and "tt_set_input_source" in str(e.value)
    with pytest.raises(RuntimeFailure, match="stores no input tensor"):
        s.input_view()


def test_source_fills_a_stored_input():
    """One driver for both kinds of program: a source set on a program that stores its input
    fills the whole frame (one request) before the run; its errors are the same."""
    stored, _ = _pair()
    x = _samples(1)[0].reshape(-1)
    a, b = NativeSession(stored, seed=3), NativeSession(stored, seed=3)
    asked = []

    def source(first, count, dest):
        asked.append((first, count))
        dest[:] = x[first * b.input_row_bytes:(first + count) * b.input_row_bytes]
        return 0

    b.set_input_source(source)
    assert a.train_step(x, 2, 0.05) == b.train_step(np.zeros_like(x), 2, 0.05)
    assert asked == [(0, SPEC["input"][0])]
    assert [a.tensor_bytes(t) for t in a.trained_tensors()] == \
        [b.tensor_bytes(t) for t in b.trained_tensors()]
    e = _run_with(lambda first, count, dest: (0, first, 5), stored)
    assert e.status == 6 and "5 of the 9216 bytes of input rows 0..63" in str(e)


def _reencode(model: bytes, program) -> bytes:
    tree = read_model(model)
    set_metadata(tree, METADATA_NAME, program.encode())
    return write_model(tree)


def test_runtime_rejects_a_bad_source_plan():
    model = _model()
    graph = build_graph(read_model(model))
    # the flag on a program whose input is planned in the arena
    plain = compile_step(graph, resolve(graph, SCHEME), SCHEME).program
    plain.flags |= Flags.INPUT_SOURCE
    with pytest.raises(RuntimeFailure, match="INPUT_SOURCE needs input tensor"):
        NativeSession(_reencode(model, plain))
    # the input's window one byte short
    p = compile_step(graph, resolve(graph, SCHEME), SCHEME, input_source=True).program
    p.extra[p.instructions[0].args[2] - p.n_model_tensors].elements -= 1
    with pytest.raises(RuntimeFailure, match="bytes of int8 row windows, the plan gives"):
        NativeSession(_reencode(model, p))
    # without the flag the same plan leaves the input without storage
    p = compile_step(graph, resolve(graph, SCHEME), SCHEME, input_source=True).program
    p.flags &= ~Flags.INPUT_SOURCE
    with pytest.raises(RuntimeFailure, match="neither planned in the arena nor constant"):
        NativeSession(_reencode(model, p))


@pytest.mark.slow
def test_zoo_model_identical_bytes_with_and_without_the_source():
    from bench import zoo
    name = "mobilenetv2_w035"
    model, scheme = zoo.load(name), zoo.scheme(name)
    stored = tflm_train.convert(model, scheme)
    streamed = tflm_train.convert(model, scheme, input_source=True)
    frame = 128 * 128 * 3
    saved = (tflm_train.memory_report(stored).arena_bytes -
             tflm_train.memory_report(streamed).arena_bytes)
    assert 0 < saved <= frame
    a, b = NativeSession(stored, seed=9), NativeSession(streamed, seed=9)
    assert b.input_streamed
    x = np.random.default_rng(0).integers(-128, 128, size=frame, dtype=np.int8)
    assert a.train_step(x, 3, 0.05) == b.train_step(x, 3, 0.05)
    assert [a.tensor_bytes(t) for t in a.trained_tensors()] == \
        [b.tensor_bytes(t) for t in b.trained_tensors()]


def test_trainer_and_cli_take_the_source(tmp_path):
    """Trainer drives a source program through the callback: fit, predict and evaluate give
    the stored-input program's numbers; the CLI's --input-source writes the same model as
    convert(..., input_source=True)."""
    from click.testing import CliRunner

    from tflm_train.cli import main

    stored, streamed = _pair()
    xs = _samples(6, seed=4)
    ys = np.arange(6) % 4
    a, b = tflm_train.Trainer(stored, seed=1), tflm_train.Trainer(streamed, seed=1)
    a.fit(xs, ys, epochs=1, shuffle=False)
    b.fit(xs, ys, epochs=1, shuffle=False)
    assert np.array_equal(a.predict(xs), b.predict(xs))
    assert a.evaluate(xs, ys) == b.evaluate(xs, ys)
    src = tmp_path / "model.tflite"
    src.write_bytes(_model())
    out = tmp_path / "ext.tflite"
    r = CliRunner().invoke(main, ["convert", str(src), "-o", str(out), "--n-bias", "2",
                                  "--weights", "-1:1", "--input-source"])
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == streamed
