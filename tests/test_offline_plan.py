"""The extended file carries TFLM's OfflineMemoryAllocation for subgraph 0 (our inference plan),
and stock TFLM (the tflite-micro wheel) really places the tensors there and infers unchanged."""
from __future__ import annotations

import struct

import numpy as np

import tflm_train
from tflm_train.converter import offline_plan
from tflm_train.converter.graph import build_graph
from tflm_train.converter.tflite_io import get_metadata, read_model, set_metadata, write_model

from bench.forward import arena_wheel
from tflm_train.data import DEMO_MODEL

DEMO = DEMO_MODEL.read_bytes()


def _offsets(model_bytes: bytes) -> list[int]:
    blob = get_metadata(read_model(model_bytes), offline_plan.METADATA_NAME)
    version, subgraphs, n = struct.unpack("<3i", blob[:12])
    assert (version, subgraphs) == (0, 1)
    return list(struct.unpack(f"<{n}i", blob[12:12 + 4 * n]))


def test_metadata_covers_every_tensor():
    ext = tflm_train.convert(DEMO)
    graph = build_graph(read_model(DEMO))
    offsets = _offsets(ext)
    assert len(offsets) == len(graph.tensors)
    for t, off in zip(graph.tensors, offsets):
        assert (off == -1) == t.is_constant
        assert off == -1 or off % 16 == 0


def test_wheel_uses_our_plan_and_infers_unchanged(tmp_path):
    from tflite_micro.python.tflite_micro import runtime

    ext = tflm_train.convert(DEMO)
    graph = build_graph(read_model(DEMO))
    _, peak = offline_plan.inference_offsets(graph)
    (tmp_path / "e.tflite").write_bytes(ext)
    assert arena_wheel(tmp_path / "e.tflite")["head_bytes"] == peak
    # a deliberately wasteful plan shows the wheel follows the metadata rather than its own
    offsets, _ = offline_plan.inference_offsets(graph)
    spread, cursor = [], 0
    for t, off in enumerate(offsets):
        spread.append(-1 if off < 0 else cursor)
        cursor += 0 if off < 0 else (graph.tensors[t].nbytes + 15) // 16 * 16
    model = read_model(DEMO)
    set_metadata(model, offline_plan.METADATA_NAME, offline_plan.encode(spread))
    (tmp_path / "s.tflite").write_bytes(write_model(model))
    assert arena_wheel(tmp_path / "s.tflite")["head_bytes"] == cursor > peak
    a, b = runtime.Interpreter.from_bytes(DEMO), runtime.Interpreter.from_bytes(ext)
    x = np.random.default_rng(0).integers(-128, 128, a.get_input_details(0)["shape"],
                                          dtype=np.int8)
    a.set_input(x, 0)
    a.invoke()
    b.set_input(x, 0)
    b.invoke()
    assert np.array_equal(a.get_output(0), b.get_output(0))


def test_a_plan_the_user_made_is_kept():
    model = read_model(DEMO)
    mine = offline_plan.encode([-1] * len(model.subgraphs[0].tensors))
    set_metadata(model, offline_plan.METADATA_NAME, mine)
    ext = tflm_train.convert(write_model(model))
    assert get_metadata(read_model(ext), offline_plan.METADATA_NAME) == mine


def test_export_drops_our_plan():
    """TFLM cannot keep every tensor alive (its debugging mode) with an offline plan, so the
    exported stock model leaves ours out."""
    from tflite_micro.python.tflite_micro import runtime

    tr = tflm_train.Trainer(tflm_train.convert(DEMO))
    stock = tr.export()
    assert get_metadata(read_model(stock), offline_plan.METADATA_NAME) is None
    runtime.Interpreter.from_bytes(
        stock, intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors).invoke()
