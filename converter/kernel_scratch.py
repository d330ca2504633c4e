"""Scratch bytes the forward kernels take from the arena (the DSP kernels' widened filter rows,
inputs and channel tables: kernels/conv_dsp.h, kernels/conv_pointwise_dsp.h). The converter plans
one region, as large as the largest need of any op the forward part runs; the runtime checks
each op against the kernels' own *_get_buffer_size(). The sizes are those of the DSP builds on
every target, so host and board plans agree."""
from __future__ import annotations

from .graph import Graph, Op

# kernels/conv_pointwise_dsp.h
_POINTWISE_SLICE_GROUPS = 32
_POINTWISE_CHUNK = 32
_POINTWISE_CHANNEL_BYTES = 48
# kernels/conv_dsp.h
_SMALL_DEPTH_MAX_WINDOW = 64
_SMALL_DEPTH_MAX_WEIGHT_WORDS = 256
_SMALL_DEPTH_MAX_CHUNK = 16


def _pointwise(in_c: int, kh: int, kw: int, f_c: int, out_c: int) -> int:
    if kh != 1 or kw != 1 or f_c != in_c or in_c < 4 or out_c <= 0:
        return 0
    slice_groups = min(in_c // 4, _POINTWISE_SLICE_GROUPS)
    return 32 * slice_groups + _POINTWISE_CHANNEL_BYTES * (min(out_c, _POINTWISE_CHUNK) + 1)


def _small_depth(in_c: int, kh: int, kw: int, f_c: int, out_c: int) -> int:
    window = kh * kw * in_c
    if f_c != in_c or not 0 < in_c < 8 or kh * kw < 2 or window > _SMALL_DEPTH_MAX_WINDOW \
            or out_c <= 0:
        return 0
    words = 2 * ((window + 3) // 4)
    chunk = min((_SMALL_DEPTH_MAX_WEIGHT_WORDS // words) & ~3, _SMALL_DEPTH_MAX_CHUNK)
    return 4 * words * min(out_c, chunk)


def op_scratch_bytes(graph: Graph, op: Op) -> int:
    """ConvInt8RowsGetBufferSize of a CONV_2D (0 for other ops)."""
    if op.kind != "CONV_2D":
        return 0
    in_c = graph.tensors[op.inputs[0]].shape[3]
    out_c, kh, kw, f_c = graph.tensors[op.inputs[1]].shape
    return max(_pointwise(in_c, kh, kw, f_c, out_c), _small_depth(in_c, kh, kw, f_c, out_c))


def scratch_bytes(graph: Graph) -> int:
    """The region every op run by the program needs (ops folded at convert time never run)."""
    return max((op_scratch_bytes(graph, op) for op in graph.ops
                if op.index not in graph.folded), default=0)


__all__ = ["op_scratch_bytes", "scratch_bytes"]
