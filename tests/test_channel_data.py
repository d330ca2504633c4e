"""Per-channel requantisation data computed by the converter (converter/channel_data.py) equals
the C++ kernels' Prepare arithmetic (kernels/quant_math.cc), and lives in flash: the runtime
refuses a file whose stored values differ (tests/test_bad_input.py), so any disagreement here
would make every converted model unloadable."""
from __future__ import annotations

import math
import struct

import numpy as np
from hypothesis import given, settings, strategies as st

import tflm_train
from converter import channel_data
from converter.planner import align
from converter.program import (ALIGNMENT, OP_STATE_BYTES, OP_STATE_KIND_BYTES, decode_header,
                               decode_ops)
from tests.kernels import forward_shim
from tflm_train.converter.tflite_io import get_metadata, read_model

from .test_bad_input import ALL, DEMO


def _shim():
    return forward_shim.load()


def _cpp(shim, real: float) -> tuple[int, int]:
    q = shim.quantize_multiplier(real=real)
    return q.multiplier, q.shift


_EDGES = [0.0, 1.0, 0.5, 0.75, 1.0 - 2.0 ** -40, -0.5, 2.0 ** -40, 2.0 ** -31, 2.0 ** -32,
          2.0 ** 40, 2.0 ** 31, 0.5 + 2.0 ** -32, 0.5 + 2.0 ** -33, -(0.5 + 2.0 ** -32),
          math.ulp(0.0), 1e-300, 1e300]


def test_quantize_multiplier_edges_equal_cpp():
    lib = _shim()
    for x in _EDGES:
        assert channel_data.quantize_multiplier(x) == _cpp(lib, x), x


@settings(max_examples=400, deadline=None)
@given(st.floats(2.0 ** -20, 1.0, width=32), st.floats(2.0 ** -20, 1.0, width=32),
       st.floats(2.0 ** -20, 1.0, width=32))
def test_effective_scale_equals_cpp(s_in, s_w, s_out):
    """The per-channel formula (float32 scales widened to double, in * w / out) as the kernels."""
    lib = _shim()
    mult, shift = channel_data.per_channel_multipliers(s_in, [s_w], s_out, 1)
    real = float(np.float32(s_in)) * float(np.float32(s_w)) / float(np.float32(s_out))
    assert (mult[0], shift[0]) == _cpp(lib, real)


def test_channel_data_is_in_flash_not_sram():
    """The persistent region holds op states and trained tensors only; the program carries
    2 words per output channel of every CONV_2D / DEPTHWISE_CONV_2D."""
    ext = tflm_train.convert(DEMO.read_bytes(), ALL)
    h = decode_header(get_metadata(read_model(ext), "tflm_train"))
    report = tflm_train.memory_report(ext)
    from tflm_train.converter.graph import build_graph
    graph = build_graph(read_model(DEMO.read_bytes()))
    # op states sized per kind (smaller than OP_STATE_BYTES for the conv / FC / pool kinds)
    states = sum(OP_STATE_KIND_BYTES.get(op.kind, OP_STATE_BYTES) for op in graph.ops)
    assert report.op_data_bytes == align(states, ALIGNMENT) < OP_STATE_BYTES * h["n_ops"]
    assert h["channel_data_words"] == 2 * sum(channel_data.out_channels(graph, op)
                                              for op in graph.ops)
    blob = get_metadata(read_model(ext), "tflm_train")
    words = struct.unpack(f"<{h['total_words']}i", blob)
    for record, op in zip(decode_ops(blob), graph.ops):
        off = record["channel_data"]
        expect = channel_data.op_words(graph, op)
        assert (off >= 0) == bool(expect)
        if expect:
            start = h["off_channel_data"] + off
            assert list(words[start:start + len(expect)]) == expect
