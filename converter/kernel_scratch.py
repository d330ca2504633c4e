"""Scratch bytes the conv and depthwise kernels take (the DSP kernels' widened filter rows, inputs,
channel table, channel group and patch: kernels/conv_dsp.h, kernels/conv_pointwise_dsp.h,
kernels/depthwise_conv_dsp.h; ConvInt8RowsGetBufferSize, DepthwiseConvInt8GetBufferSize). A streamed
chain's scratch holds them after its row windows (streaming.window_bytes), and the runtime checks
it against the kernels' own *_get_buffer_size(). The sizes are those of the DSP builds on every
target, so host and board plans agree."""
from __future__ import annotations

from .graph import Graph, Op

# kernels/conv_pointwise_dsp.h
_POINTWISE_SLICE_GROUPS = 32
_POINTWISE_CHUNK = 32
_POINTWISE_CHANNEL_BYTES = 48
# kernels/depthwise_conv_dsp.h
_DEPTHWISE_MAX_PADDED_TAPS = 120
_DEPTHWISE_BYTES = 8 * _DEPTHWISE_MAX_PADDED_TAPS + 128 + 1024  # channel group + patch
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


def _depthwise(in_c: int, kh: int, kw: int, out_c: int) -> int:
    if in_c != out_c or out_c < 4 or kh <= 0 or kw <= 0 \
            or kh * (kw + 2 * (kw // 2)) > _DEPTHWISE_MAX_PADDED_TAPS:
        return 0
    return _DEPTHWISE_BYTES


def op_scratch_bytes(graph: Graph, op: Op) -> int:
    """ConvInt8RowsGetBufferSize of a CONV_2D, DepthwiseConvInt8GetBufferSize of a
    DEPTHWISE_CONV_2D, 0 for other ops."""
    if op.kind == "DEPTHWISE_CONV_2D":
        in_c = graph.tensors[op.inputs[0]].shape[3]
        _, kh, kw, out_c = graph.tensors[op.inputs[1]].shape
        return _depthwise(in_c, kh, kw, out_c)
    if op.kind != "CONV_2D":
        return 0
    in_c = graph.tensors[op.inputs[0]].shape[3]
    out_c, kh, kw, f_c = graph.tensors[op.inputs[1]].shape
    return max(_pointwise(in_c, kh, kw, f_c, out_c), _small_depth(in_c, kh, kw, f_c, out_c))


__all__ = ["op_scratch_bytes"]
