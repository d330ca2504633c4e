"""Scratch bytes the conv and depthwise kernels take (the DSP kernels' widened filter rows,
inputs, channel table, channel group and patch). A streamed chain's scratch holds them after its
row windows (streaming.window_bytes), and the runtime checks it against the same numbers.

The sizes are defined once, by the kernels (ConvInt8RowsGetBufferSize,
DepthwiseConvInt8GetBufferSize): this module asks them through the host library
(tflm_train/host/kernel_scratch_query.cc). They are those of the DSP builds on every target, so
host and board plans agree."""
from __future__ import annotations

import ctypes
import functools

from .graph import Graph, Op

_KINDS = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 1}
_Shape = ctypes.c_int32 * 4


@functools.lru_cache(maxsize=None)
def _query():
    from tflm_train._native import library

    fn = library().tt_host_kernel_scratch_bytes
    fn.argtypes = [ctypes.c_int32, _Shape, _Shape, _Shape]
    fn.restype = ctypes.c_int32
    return fn


@functools.lru_cache(maxsize=None)
def kernel_scratch_bytes(kind: str, input_shape: tuple, filter_shape: tuple,
                         output_shape: tuple) -> int:
    """The kernels' own scratch size for one op of `kind` with these 4-D shapes (0 for kinds
    without scratch)."""
    code = _KINDS.get(kind)
    if code is None:
        return 0
    shapes = [_Shape(*(int(d) for d in s)) for s in (input_shape, filter_shape, output_shape)]
    return int(_query()(code, *shapes))


def op_scratch_bytes(graph: Graph, op: Op) -> int:
    """ConvInt8RowsGetBufferSize of a CONV_2D, DepthwiseConvInt8GetBufferSize of a
    DEPTHWISE_CONV_2D, 0 for other ops."""
    if op.kind not in _KINDS:
        return 0
    shape = lambda t: tuple(graph.tensors[t].shape)  # noqa: E731
    return kernel_scratch_bytes(op.kind, shape(op.inputs[0]), shape(op.inputs[1]),
                                shape(op.outputs[0]))


__all__ = ["op_scratch_bytes", "kernel_scratch_bytes"]
