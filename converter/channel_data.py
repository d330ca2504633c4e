"""Per-channel requantisation data, computed at convert time and stored in flash.

CONV_2D, DEPTHWISE_CONV_2D and per-channel FULLY_CONNECTED requantise each output channel with
its own fixed-point multiplier and shift. They depend only on the model's scales, which training
never changes, so the converter stores them in the training program and the runtime reads them
in place instead of spending 8 bytes of SRAM per output channel. The runtime recomputes each
channel at Open and rejects a file whose stored values differ, so the arithmetic here must give
the very same integers as kernels/quant_math.cc (QuantizeMultiplier, PerChannelMultipliers).
"""
from __future__ import annotations

import math

import numpy as np

from .graph import Graph, Op


def _round_half_away(x: float) -> float:
    # std::round: halves go away from zero whatever the FP rounding mode.
    r = math.floor(abs(x))
    if abs(x) - r >= 0.5:
        r += 1
    return math.copysign(r, x)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """(multiplier, shift) with real = multiplier * 2^(shift - 31), as QuantizeMultiplier."""
    if real == 0.0:
        return 0, 0
    q, exponent = math.frexp(real)
    q_fixed = int(_round_half_away(q * float(1 << 31)))
    # Rounding can carry q up to exactly 1.0; renormalise so the multiplier fits in int32.
    if q_fixed == 1 << 31:
        q_fixed //= 2
        exponent += 1
    if exponent < -31:
        return 0, 0
    if exponent > 30:
        return (1 << 31) - 1, 30
    return q_fixed, exponent


def per_channel_multipliers(input_scale: float, filter_scales, output_scale: float,
                            channels: int) -> tuple[list[int], list[int]]:
    """PerChannelMultipliers: in * filter[c] / out in double, each float32 widened first; one
    filter scale is broadcast to every channel."""
    fs = np.asarray(filter_scales, dtype=np.float32).reshape(-1)
    s_in = float(np.float32(input_scale))
    s_out = float(np.float32(output_scale))
    mult, shift = [], []
    for c in range(channels):
        scale = float(fs[c] if fs.size > 1 else fs[0])
        m, s = quantize_multiplier(s_in * scale / s_out)
        mult.append(m)
        shift.append(s)
    return mult, shift


def out_channels(graph: Graph, op: Op) -> int:
    """Output channels of an op that has per-channel data, else 0."""
    if op.kind not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
        return 0
    w = graph.tensors[op.inputs[1]]
    if op.kind == "FULLY_CONNECTED":
        # Per-tensor FULLY_CONNECTED keeps its one multiplier in the op state.
        return w.shape[0] if w.scale is not None and len(w.scale) > 1 else 0
    return w.shape[-1] if op.kind == "DEPTHWISE_CONV_2D" else w.shape[0]


def op_words(graph: Graph, op: Op) -> list[int]:
    """The op's stored words: out_channels multipliers then as many shifts (empty if none)."""
    channels = out_channels(graph, op)
    if not channels:
        return []
    t_in, w, t_out = (graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]],
                      graph.tensors[op.outputs[0]])
    mult, shift = per_channel_multipliers(t_in.scale[0], w.scale, t_out.scale[0], channels)
    return mult + shift


def build(graph: Graph) -> tuple[list[int], list[int]]:
    """(per-op word offset into the channel-data section or -1, the section's words), in
    graph.ops order (the program's op table order). They depend on the graph only, and the
    stream search plans hundreds of candidates per model: computed once per graph."""
    if "channel_data" not in graph.derived:
        graph.derived["channel_data"] = _build(graph)
    offsets, words = graph.derived["channel_data"]
    return list(offsets), list(words)


def _build(graph: Graph) -> tuple[list[int], list[int]]:
    offsets: list[int] = []
    words: list[int] = []
    for op in graph.ops:
        data = op_words(graph, op)
        offsets.append(len(words) if data else -1)
        words.extend(data)
    return offsets, words
