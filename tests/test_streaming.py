"""Row-streamed execution of frozen op chains (kernels/row_stream.h, converter/streaming.py,
STREAM_CHAIN in the runtime): on random int8 inverted-bottleneck blocks built with tf.keras and
TFLiteConverter, the streamed runtime output equals the tflite-micro wheel's bit for bit, the
expanded tensor is never planned, and the planned arena is below the whole-tensor plan. The
window bytes the converter plans equal exactly what the runtime requires (one byte less is
rejected)."""
from __future__ import annotations

import numpy as np
import pytest

from tflm_train.binding import NativeSession, RuntimeFailure
from tflm_train.converter import compile_step
from tflm_train.converter.graph import build_graph
from tflm_train.converter.kernel_scratch import op_scratch_bytes
from tflm_train.converter.program import METADATA_NAME, Opcode
from tflm_train.converter.scheme import SparseUpdate, resolve
from tflm_train.converter.streaming import (MAX_STAGES, Chain, chain_accesses, chain_summary,
                                            find_chains, in_place_safe, segments,
                                            window_bytes)
from tflm_train.converter.tflite_io import read_model, set_metadata, write_model

from . import model_factory as mf

_CACHE: dict[str, bytes] = {}


def block_spec(seed: int) -> dict:
    """A random inverted-bottleneck block: 1x1 expand + ReLU6, depthwise k x k (3/5/7) stride
    1 or 2 with SAME or explicit ZeroPadding2D + VALID, ReLU6, 1x1 project, residual ADD when
    the shapes allow it; sometimes a second block after it."""
    rng = np.random.default_rng(seed)
    spec = {"seed": seed, "input": [int(rng.integers(5, 17)), int(rng.integers(5, 17)),
                                    int(rng.integers(2, 9))], "blocks": []}
    channels = spec["input"][2]
    for _ in range(int(rng.integers(1, 3))):
        stride = int(rng.choice([1, 2]))
        out = channels if stride == 1 and rng.random() < 0.7 else int(rng.integers(2, 9))
        spec["blocks"].append({"expand": int(rng.integers(2, 7)),
                               "kernel": int(rng.choice([3, 5, 7])), "stride": stride,
                               "pad": str(rng.choice(["same", "zeropad"])), "out": out,
                               "residual": stride == 1 and out == channels})
        channels = out
    return spec


def _built_model(spec: dict, body) -> bytes:
    """spec's int8 model, converted once per spec: body(layers, x) returns the graph's output
    for the input x (seeded by spec["seed"], so the weights are the same every run)."""
    key = repr(spec)
    if key not in _CACHE:
        import tensorflow as tf

        tf.keras.utils.set_random_seed(spec["seed"])
        inputs = tf.keras.Input(shape=tuple(spec["input"]), batch_size=1)
        x = body(tf.keras.layers, inputs)
        _CACHE[key] = mf._convert(tf.keras.Model(inputs, x), spec["input"], seed=spec["seed"])
    return _CACHE[key]


def block_model(spec: dict) -> bytes:
    return _built_model(spec, lambda L, x: _blocks(L, x, spec))


def _blocks(L, x, spec: dict):
    for b in spec["blocks"]:
        c = x.shape[-1]
        y = L.Conv2D(c * b["expand"], 1, bias_initializer="random_normal")(x)
        y = L.ReLU(max_value=6.0)(y)
        if b["pad"] == "zeropad":
            k = b["kernel"]
            top = k // 2 - (1 if b["stride"] == 2 else 0)  # as Keras' MobileNetV2 pads
            y = L.ZeroPadding2D(((top, k // 2), (top, k // 2)))(y)
            padding = "valid"
        else:
            padding = "same"
        y = L.DepthwiseConv2D(b["kernel"], strides=b["stride"], padding=padding,
                              bias_initializer="random_normal")(y)
        y = L.ReLU(max_value=6.0)(y)
        y = L.Conv2D(b["out"], 1, bias_initializer="random_normal")(y)
        x = L.Add()([x, y]) if b["residual"] else y
    if spec.get("classes"):  # a classifier head to train: GAP -> Dense -> softmax
        x = L.Softmax()(L.Dense(spec["classes"], bias_initializer="random_normal")(
            L.GlobalAveragePooling2D()(x)))
    return x


def extended(model: bytes, scheme: SparseUpdate, streaming: bool):
    """The extended model and its compiled step, with or without streaming."""
    tree = read_model(model)
    graph = build_graph(tree)
    step = compile_step(graph, resolve(graph, scheme), scheme, streaming=streaming)
    set_metadata(tree, METADATA_NAME, step.program.encode())
    return write_model(tree), step, graph


def _reencode(model: bytes, program) -> bytes:
    tree = read_model(model)
    set_metadata(tree, METADATA_NAME, program.encode())
    return write_model(tree)


def _inputs(model: bytes, n: int, seed: int) -> np.ndarray:
    return mf.random_inputs(model, n, seed)


def _check_block(seed: int, n: int = 4):
    spec = block_spec(seed)
    model = block_model(spec)
    scheme = SparseUpdate(inference_only=True)
    ext, step, graph = extended(model, scheme, streaming=True)
    plain_ext, plain, _ = extended(model, scheme, streaming=False)
    chains = chain_summary(graph, step.program)
    xs = _inputs(model, n, seed)
    ref = mf.wheel_outputs(model, xs)
    streamed = NativeSession(ext)
    whole = NativeSession(plain_ext)
    for x, r in zip(xs, ref):
        out = streamed.invoke(x)
        assert np.array_equal(out, r), f"spec {spec}: streamed output differs from the wheel"
        assert np.array_equal(whole.invoke(x), r), f"spec {spec}: whole-tensor output differs"
    print(f"seed {seed} {[op.kind for op in graph.ops]}: arena streamed "
          f"{step.program.arena_bytes} B, whole {plain.program.arena_bytes} B, chains {chains}")
    # Streaming is chosen only where it lowers the arena (a 7x7 depthwise on a 6-row tensor
    # needs all rows in its window: nothing to gain, nothing streamed).
    if chains:
        assert step.program.arena_bytes < plain.program.arena_bytes, spec
    else:
        assert step.program.arena_bytes == plain.program.arena_bytes, spec
    # The expanded tensors are planned nowhere: the runtime never sees them whole.
    for c in chains:
        for op_index in c["ops"][:-1]:
            op = next(o for o in graph.ops if o.index == op_index)
            assert step.program.model_offsets[op.outputs[0]] == -1
    return step, graph


@pytest.mark.parametrize("seed", range(8))
def test_random_blocks_bit_exact_and_smaller(seed):
    step, graph = _check_block(seed)
    assert chain_summary(graph, step.program), "the fast seeds all gain from streaming"


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 140))
def test_random_blocks_slow(seed):
    _check_block(seed, n=8)


def test_block_kinds_covered():
    """The fast seeds cover both strides, all kernel sizes, ZeroPadding2D (PAD) and ADD."""
    blocks = [b for s in range(8) for b in block_spec(s)["blocks"]]
    assert {b["stride"] for b in blocks} == {1, 2}
    assert {b["kernel"] for b in blocks} == {3, 5, 7}
    assert {b["pad"] for b in blocks} == {"same", "zeropad"}
    assert any(b["residual"] for b in blocks)


def test_planned_windows_are_exactly_what_the_runtime_needs():
    """One byte less than the planned row windows is rejected by the runtime; the plan opens. A
    chain's kernels' scratch (converter/kernel_scratch.py, the kernels' *_get_buffer_size()) is
    planned after the windows, or not at all (the runtime then keeps it on the stack)."""
    model = block_model(block_spec(0))
    scheme = SparseUpdate(inference_only=True)
    ext, step, graph = extended(model, scheme, streaming=True)
    NativeSession(ext)
    program = step.program
    ins = next(i for i in program.instructions if i.opcode == Opcode.STREAM_CHAIN)
    scratch = program.extra[ins.args[2] - program.n_model_tensors]
    start = next(p for p, op in enumerate(graph.ops) if op.index == ins.args[0])
    ops = graph.ops[start:start + ins.args[1]]
    windows = window_bytes(graph, ops)
    kernels = max(op_scratch_bytes(graph, op) for op in ops)
    assert kernels > 0
    assert scratch.elements in (windows, (windows + 7) // 8 * 8 + kernels)
    scratch.elements = windows - 1
    tree = read_model(model)
    set_metadata(tree, METADATA_NAME, program.encode())
    with pytest.raises(RuntimeFailure, match="row windows"):
        NativeSession(write_model(tree))


def test_kernel_scratch_in_the_arena_or_on_the_stack_gives_the_same_bytes():
    """The same chains with their kernels' scratch planned after the windows and without it
    (the runtime's stack buffer): identical outputs; the arena plan is the converter's."""
    model = block_model(block_spec(1))
    scheme = SparseUpdate(inference_only=True)
    ext, step, graph = extended(model, scheme, streaming=True)
    program = step.program
    chains = [i for i in program.instructions if i.opcode == Opcode.STREAM_CHAIN]
    assert chains
    for ins in chains:
        scratch = program.extra[ins.args[2] - program.n_model_tensors]
        start = next(p for p, op in enumerate(graph.ops) if op.index == ins.args[0])
        scratch.elements = window_bytes(graph, graph.ops[start:start + ins.args[1]])
    tree = read_model(model)
    set_metadata(tree, METADATA_NAME, program.encode())
    a, b = NativeSession(ext), NativeSession(write_model(tree))
    x = np.random.default_rng(3).integers(-128, 128, a.input_view().shape, dtype=np.int8)
    assert np.array_equal(a.invoke(x), b.invoke(x))


def test_a_plan_that_leaves_the_kernels_scratch_to_the_stack_is_bounded_by_that_path():
    """budget.chains_with_stack_scratch counts the chains whose scratch holds only their row
    windows, and the stack bound then takes the runtime's stack-buffer path
    (RowStreamWithStackScratch), deeper than the planned-scratch path. A small model's plan
    takes the stack path (planning would grow its arena); the same program with every chain's
    scratch planned in a grown arena: both open, give the same bytes, and are counted and
    bounded each by its own path."""
    from tflm_train import boards
    from tflm_train.budget import chains_with_stack_scratch, stack_bound

    model = block_model(block_spec(1))
    ext, step, graph = extended(model, SparseUpdate(inference_only=True), streaming=True)
    program = step.program
    chains = [i for i in program.instructions if i.opcode == Opcode.STREAM_CHAIN]
    assert chains and all(max(op_scratch_bytes(graph, op) for op in _chain_ops(graph, i)) > 0
                          for i in chains)
    variants = {}
    for where in ("stack", "arena"):
        for ins in chains:
            ops = _chain_ops(graph, ins)
            windows = window_bytes(graph, ops)
            scratch = _scratch(program, ins)
            if where == "stack":
                scratch.elements = windows
            else:  # grown: moved to the arena's end, which grows with it
                scratch.elements = (windows + 7) // 8 * 8 + max(op_scratch_bytes(graph, op)
                                                                for op in ops)
                scratch.offset = (program.arena_bytes + 15) // 16 * 16
                program.arena_bytes = scratch.offset + scratch.elements
        variants[where] = _reencode(model, program)
    assert chains_with_stack_scratch(variants["stack"]) == len(chains)
    assert chains_with_stack_scratch(variants["arena"]) == 0
    assert chains_with_stack_scratch(ext) == len(chains)  # a small model: windows < buffers
    board = boards.board("nano33ble")
    assert stack_bound(variants["stack"], board) > stack_bound(variants["arena"], board)
    a, b = NativeSession(variants["stack"]), NativeSession(variants["arena"])
    x = np.random.default_rng(5).integers(-128, 128, a.input_view().shape, dtype=np.int8)
    assert np.array_equal(a.invoke(x), b.invoke(x))


def _chain_ops(graph, ins):
    start = next(p for p, op in enumerate(graph.ops) if op.index == ins.args[0])
    return graph.ops[start:start + ins.args[1]]


def _scratch(program, ins):
    return program.extra[ins.args[2] - program.n_model_tensors]


def chain_spec(seed: int) -> dict:
    """A random plain chain of spatial ops (no residual): conv k x k with stride/dilation,
    depthwise with multipliers, ZeroPadding2D, average and max pooling, SAME or VALID."""
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(7, 19)), int(rng.integers(7, 19))
    spec = {"seed": seed, "input": [h, w, int(rng.integers(1, 5))], "layers": []}
    while len(spec["layers"]) < int(rng.integers(2, 6)):
        kind = str(rng.choice(["conv", "dw", "avgpool", "maxpool", "zeropad"]))
        k = int(rng.integers(1, 5))
        stride = int(rng.integers(1, 3))
        dilation = 1 if stride > 1 or kind.endswith("pool") else int(rng.integers(1, 3))
        padding = str(rng.choice(["same", "valid"]))
        eff = (k - 1) * dilation + 1
        if kind == "zeropad":
            layer = {"type": kind, "pad": [int(v) for v in rng.integers(0, 3, 4)]}
            h2 = h + layer["pad"][0] + layer["pad"][1]
            w2 = w + layer["pad"][2] + layer["pad"][3]
        else:
            layer = {"type": kind, "kernel": max(k, 2) if kind.endswith("pool") else k,
                     "stride": stride, "dilation": dilation, "padding": padding,
                     "filters": int(rng.integers(2, 9)), "multiplier": int(rng.integers(1, 3))}
            eff = max(eff, layer["kernel"]) if kind.endswith("pool") else eff
            h2 = -(-h // stride) if padding == "same" else (h - eff) // stride + 1
            w2 = -(-w // stride) if padding == "same" else (w - eff) // stride + 1
        if h2 < 2 or w2 < 2:
            continue
        spec["layers"].append(layer)
        h, w = h2, w2
    return spec


def chain_model(spec: dict) -> bytes:
    return _built_model(spec, lambda L, x: _chain(L, x, spec))


def _chain(L, x, spec: dict):
    for l in spec["layers"]:
        t = l["type"]
        if t == "conv":
            x = L.Conv2D(l["filters"], l["kernel"], strides=l["stride"], padding=l["padding"],
                         dilation_rate=l["dilation"], activation="relu",
                         bias_initializer="random_normal")(x)
        elif t == "dw":
            x = L.DepthwiseConv2D(l["kernel"], strides=l["stride"], padding=l["padding"],
                                  depth_multiplier=l["multiplier"], dilation_rate=l["dilation"],
                                  bias_initializer="random_normal")(x)
        elif t == "avgpool":
            x = L.AveragePooling2D(l["kernel"], strides=l["stride"], padding=l["padding"])(x)
        elif t == "maxpool":
            x = L.MaxPooling2D(l["kernel"], strides=l["stride"], padding=l["padding"])(x)
        else:
            p = l["pad"]
            x = L.ZeroPadding2D(((p[0], p[1]), (p[2], p[3])))(x)
    return x


def _check_chain(seed: int, n: int = 4):
    spec = chain_spec(seed)
    model = chain_model(spec)
    ext, step, graph = extended(model, SparseUpdate(inference_only=True), streaming=True)
    xs = _inputs(model, n, seed)
    ref = mf.wheel_outputs(model, xs)
    session = NativeSession(ext)
    for x, r in zip(xs, ref):
        assert np.array_equal(session.invoke(x), r), f"spec {spec}: streamed output differs"
    return [op.kind for op in graph.ops], chain_summary(graph, step.program)


@pytest.mark.parametrize("seed", range(12))
def test_random_chains_bit_exact(seed):
    _check_chain(seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(200, 260))
def test_random_chains_slow(seed):
    _check_chain(seed, n=8)


def test_random_chains_stream_every_kind():
    """The fast chain seeds stream each streamable op kind at least once."""
    streamed = set()
    for seed in range(12):
        _, chains = _check_chain(seed, n=1)
        streamed.update(k for c in chains for k in c["kinds"])
    assert streamed >= {"CONV_2D", "DEPTHWISE_CONV_2D", "PAD", "AVERAGE_POOL_2D",
                        "MAX_POOL_2D"}, streamed


def test_segments_of_every_cut_set_are_streamable():
    """Whatever cuts the search tries, pieces have 2..MAX_STAGES ops, never start with ADD
    (the runtime rejects that) and cover only the chain."""
    import itertools

    for seed in (1, 5):
        graph = build_graph(read_model(block_model(block_spec(seed))))
        for chain in find_chains(graph, set(graph.inputs + graph.outputs)):
            positions = range(chain.start, chain.start + chain.count - 1)
            for n in range(len(positions) + 1):
                for cuts in itertools.combinations(positions, n):
                    for piece in segments(graph, chain, frozenset(cuts)):
                        assert 2 <= piece.count <= MAX_STAGES
                        assert graph.ops[piece.start].kind != "ADD"
                        assert chain.start <= piece.start
                        assert piece.start + piece.count <= chain.start + chain.count
    from types import SimpleNamespace

    convs = SimpleNamespace(ops=[SimpleNamespace(kind="CONV_2D")] * 40)
    assert [p.count for p in segments(convs, Chain(0, 40), frozenset())] == [16, 16, 8]


def _spec(h, w, c, blocks):
    return {"seed": 7, "input": [h, w, c], "blocks": blocks}


def test_residual_block_writes_its_output_over_its_input():
    """A stride-1 residual block whose input nobody reads afterwards runs in place: output and
    input share one arena slot, and the output still equals the wheel's."""
    spec = _spec(12, 10, 4, [{"expand": 4, "kernel": 3, "stride": 1, "pad": "same", "out": 4,
                              "residual": True}])
    model = block_model(spec)
    ext, step, graph = extended(model, SparseUpdate(inference_only=True), streaming=True)
    (chain,) = chain_summary(graph, step.program)
    head = next(o for o in graph.ops if o.index == chain["ops"][0])
    tail = next(o for o in graph.ops if o.index == chain["ops"][-1])
    offsets = step.program.model_offsets
    assert offsets[tail.outputs[0]] == offsets[head.inputs[0]] >= 0
    xs = _inputs(model, 6, 1)
    session = NativeSession(ext)
    for x, r in zip(xs, mf.wheel_outputs(model, xs)):
        assert np.array_equal(session.invoke(x), r)


def test_in_place_refused_when_output_rows_outgrow_input_rows():
    """Projecting to more channels than the input has: output row r covers input rows the
    depthwise window still has to read, so the chain must not run in place."""
    grow = _spec(12, 10, 3, [{"expand": 2, "kernel": 3, "stride": 1, "pad": "same", "out": 8,
                              "residual": False}])
    same = _spec(12, 10, 3, [{"expand": 2, "kernel": 3, "stride": 1, "pad": "same", "out": 3,
                              "residual": True}])
    for spec, safe in ((grow, False), (same, True)):
        graph = build_graph(read_model(block_model(spec)))
        (chain,) = find_chains(graph, set(graph.inputs + graph.outputs))
        ops = graph.ops[chain.start:chain.start + chain.count]
        assert in_place_safe(graph, ops) is safe, spec
        writes = [e for e in chain_accesses(graph, ops) if e[0] == "w"]
        assert len(writes) == 12  # one per output row, in order
        assert [w[1] for w in writes] == sorted(w[1] for w in writes)
    ext, step, graph = extended(block_model(grow), SparseUpdate(inference_only=True), True)
    (chain,) = chain_summary(graph, step.program)
    head = next(o for o in graph.ops if o.index == chain["ops"][0])
    tail = next(o for o in graph.ops if o.index == chain["ops"][-1])
    assert step.program.model_offsets[tail.outputs[0]] != step.program.model_offsets[head.inputs[0]]


@pytest.mark.parametrize("spec", [
    _spec(15, 9, 3, [{"expand": 5, "kernel": 5, "stride": 2, "pad": "zeropad", "out": 6,
                      "residual": False}]),
    _spec(11, 8, 4, [{"expand": 3, "kernel": 7, "stride": 1, "pad": "same", "out": 4,
                      "residual": True}]),
])
def test_stream_writes_stay_inside_the_planned_windows(spec):
    """The row kernel never touches scratch bytes beyond the planned window bytes: a block
    streamed as the program's only instruction gets its scratch moved to the arena top with 64
    guard bytes behind it; after every run the guard is intact and the output is the wheel's."""
    model = block_model(spec)
    _, step, graph = extended(model, SparseUpdate(inference_only=True), streaming=True)
    program = step.program
    assert [i.opcode for i in program.instructions] == [Opcode.STREAM_CHAIN]
    scratch = program.extra[program.instructions[0].args[2] - program.n_model_tensors]
    needed = scratch.elements
    scratch.offset = (program.arena_bytes + 15) // 16 * 16
    scratch.elements = needed + 64
    program.arena_bytes = scratch.offset + scratch.elements
    session = NativeSession(_reencode(model, program))
    arena = session._arena
    xs = _inputs(model, 3, 5)
    for x, r in zip(xs, mf.wheel_outputs(model, xs)):
        arena[scratch.offset:] = 0x5A
        assert np.array_equal(session.invoke(x), r)
        assert (arena[scratch.offset + needed:] == 0x5A).all(), "wrote past the planned windows"
        assert (arena[scratch.offset:scratch.offset + needed] != 0x5A).any()


@pytest.mark.parametrize("seed", [0, 4])
def test_training_steps_identical_with_and_without_streaming(seed):
    """Streaming changes only how the frozen forward runs: a training step of the head on top
    of streamed blocks gives the same losses and trained bytes as whole-tensor execution."""
    spec = dict(block_spec(seed), classes=4)
    model = block_model(spec)
    scheme = SparseUpdate(n_bias=2, weights={-1: 1.0})
    runs = []
    for streaming in (True, False):
        ext, step, graph = extended(model, scheme, streaming)
        session = NativeSession(ext, seed=3)
        before = [session.tensor_bytes(t) for t in session.trained_tensors()]
        xs = _inputs(model, 6, seed)
        losses = [session.train_step(x, i % 4, 0.05) for i, x in enumerate(xs)]
        runs.append((losses, [session.tensor_bytes(t) for t in session.trained_tensors()],
                     bool(chain_summary(graph, step.program))))
    assert runs[0][2] and not runs[1][2]  # the first plan streams, the second does not
    assert runs[0][0] == runs[1][0] and runs[0][1] == runs[1][1]
    assert runs[0][1] != before  # the steps really trained something


def test_ops_with_updated_weights_run_whole():
    """A layer whose weights the step updates (here half of the project conv's output channels)
    is never inside a chain; the frozen ops before it still stream."""
    spec = dict(_spec(12, 10, 4, [{"expand": 3, "kernel": 3, "stride": 1, "pad": "same",
                                   "out": 6, "residual": False},
                                  {"expand": 2, "kernel": 3, "stride": 1, "pad": "same",
                                   "out": 5, "residual": False}]), classes=3)
    model = block_model(spec)
    _, step, graph = extended(model, SparseUpdate(n_bias=1, weights={2: 0.5}), streaming=True)
    project = graph.trainable_ops()[2]
    chains = chain_summary(graph, step.program)
    assert all(project.index not in c["ops"] for c in chains)
    # the candidates the planner chooses among: the frozen ops before it still form a chain
    # (whether it streams depends on memory: ties run whole, which costs fewer instructions)
    from tflm_train.converter.streaming import find_chains
    candidates = find_chains(graph, set(), {project.index})
    positions = {op.index: p for p, op in enumerate(graph.ops)}
    assert candidates and all(not (c.start <= positions[project.index] < c.start + c.count)
                              for c in candidates)


# -- hostile plans: the runtime rejects chains that are not what the kernel streams ----------

def _streamed(seed: int = 0):
    model = block_model(block_spec(seed))
    _, step, graph = extended(model, SparseUpdate(inference_only=True), streaming=True)
    index = next(i for i, ins in enumerate(step.program.instructions)
                 if ins.opcode == Opcode.STREAM_CHAIN)
    return model, step.program, graph, index


def test_forward_of_a_streamed_op_is_rejected():
    """A whole-tensor FORWARD of an op whose output exists only as row windows would write
    through a tensor without storage."""
    model, program, graph, i = _streamed()
    first = program.instructions[i].args[0]
    program.instructions.insert(i + 1, type(program.instructions[i])(Opcode.FORWARD, [first]))
    program.n_forward += 1
    with pytest.raises(RuntimeFailure, match="does not match the model"):
        NativeSession(_reencode(model, program))


@pytest.mark.parametrize("args", [
    lambda a: [a[0], 1, a[2]],            # a single op is no chain
    lambda a: [a[0], 17, a[2]],           # longer than the kernel streams
    lambda a: [a[0], 10_000, a[2]],       # past the last op
    lambda a: [-1, a[1], a[2]],
    lambda a: [a[0], a[1], 0],            # scratch is a model tensor
    lambda a: [a[0], a[1]],               # missing argument
])
def test_malformed_stream_chain_is_rejected(args):
    model, program, graph, i = _streamed()
    program.instructions[i].args = args(program.instructions[i].args)
    with pytest.raises(RuntimeFailure):
        NativeSession(_reencode(model, program))


def test_shortened_chain_is_rejected():
    """Dropping the chain's last op leaves its output (never planned) as the chain output: no
    storage to write to, rejected."""
    model, program, graph, i = _streamed()
    ins = program.instructions[i]
    ins.args = [ins.args[0], ins.args[1] - 1, ins.args[2]]
    with pytest.raises(RuntimeFailure, match="no arena storage"):
        NativeSession(_reencode(model, program))


def test_chain_through_a_tensor_read_twice_is_rejected():
    """A residual block's output feeds the next block's expand and its ADD: a hostile chain that
    streams through it would leave the second reader without the tensor."""
    spec = _spec(10, 10, 4, [{"expand": 2, "kernel": 3, "stride": 1, "pad": "same", "out": 4,
                              "residual": True}] * 2)
    model = block_model(spec)
    _, step, graph = extended(model, SparseUpdate(inference_only=True), streaming=True)
    program = step.program
    assert [op.kind for op in graph.ops] == ["CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "ADD"] * 2
    first = program.instructions[0]
    assert first.opcode == Opcode.STREAM_CHAIN and first.args[:2] == [0, 4]
    first.args = [0, 6, first.args[2]]
    with pytest.raises(RuntimeFailure, match="used outside it"):
        NativeSession(_reencode(model, program))


def test_max_pool_gradient_needs_its_stored_input():
    """Max pooling's input gradient re-reads its forward input: a hostile plan that streams
    conv -> max pool (leaving the pool input without storage) and keeps the pool's INPUT_GRAD
    is rejected instead of reading through a tensor that does not exist."""
    import tensorflow as tf

    from tflm_train.converter.program import DType, ExtraTensor, Instruction

    L = tf.keras.layers
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input(shape=(10, 10, 2), batch_size=1)
    x = L.MaxPooling2D(2)(L.Conv2D(4, 3, padding="same", bias_initializer="random_normal")(inputs))
    x = L.Conv2D(4, 3, padding="same", activation="relu", bias_initializer="random_normal")(x)
    x = L.Softmax()(L.Dense(3)(L.GlobalAveragePooling2D()(x)))
    model = mf._convert(tf.keras.Model(inputs, x), (10, 10, 2))
    _, step, graph = extended(model, SparseUpdate(n_bias=3), streaming=False)
    program = step.program
    conv, pool = graph.ops[0], graph.ops[1]
    assert (conv.kind, pool.kind) == ("CONV_2D", "MAX_POOL_2D")
    assert any(i.opcode == Opcode.INPUT_GRAD and i.args[0] == pool.index
               for i in program.instructions)
    NativeSession(_reencode(model, program))  # the whole-tensor plan opens
    pooled_in = conv.outputs[0]
    program.extra.append(ExtraTensor(DType.INT8, window_bytes(graph, [conv, pool]),
                                     program.model_offsets[pooled_in]))
    program.model_offsets[pooled_in] = -1
    stream = Instruction(Opcode.STREAM_CHAIN, [conv.index, 2,
                                               program.n_model_tensors + len(program.extra) - 1])
    forward = [i for i in program.instructions[:program.n_forward]
               if not (i.opcode == Opcode.FORWARD and i.args[0] in (conv.index, pool.index))]
    program.instructions = [stream] + forward + program.instructions[program.n_forward:]
    program.n_forward = len(forward) + 1
    with pytest.raises(RuntimeFailure, match=r"\(opcode 5\) does not match the model"):
        NativeSession(_reencode(model, program))
