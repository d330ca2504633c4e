"""The structure every supported op must have before the converter analyses it: operand counts,
ranks, matching shapes and options, as the runtime's Prepare (tflm_train/runtime/op_*.cc)
requires them.

The runtime stays the authority: convert() opens what it writes in the host runtime and refuses
the model with the runtime's reason. These checks exist because the converter's own analysis
(autodiff, streaming, planning) reads the same shapes and options first, and a malformed file
must stop here with a message naming the op, not deep in the planner with an IndexError. The
error classes follow the runtime's: InvalidModelError for a file that contradicts itself,
UnsupportedOpError for a valid model the runtime does not run.
"""
from __future__ import annotations

import math
from typing import Callable

from .errors import InvalidModelError, UnsupportedOpError

# Ops whose Prepare reads options that must be present (the runtime's GetOptions check).
_NEEDS_OPTIONS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D",
                  "MAX_POOL_2D", "ADD", "CONCATENATION", "SOFTMAX"}


def check_structure(graph) -> None:
    """Raise InvalidModelError / UnsupportedOpError naming the first op whose structure the
    runtime's Prepare would refuse in a way the converter's analysis depends on."""
    for op in graph.ops:
        where = f"op {op.index} ({op.kind})"
        _check_int8_operands(graph, op, where)
        if op.kind in _NEEDS_OPTIONS and not op.has_options:
            raise InvalidModelError(f"{where}: its builtin options are missing or belong to "
                                    "another op type")
        check = _CHECKS.get(op.kind)
        if check is not None:
            check(graph, op, where)


def _check_int8_operands(graph, op, where: str) -> None:
    """The runtime's CheckInt8Quantized: the first scale of an int8 operand is positive and
    finite and its zero point fits int8 (the requantisation multipliers are built from them)."""
    for t in op.inputs + op.outputs:
        tensor = graph.tensors[t] if t >= 0 else None
        # build_graph leaves a tensor with scales but no zero points unquantised (TFLM's rule),
        # so a quantised tensor here has both.
        if tensor is None or tensor.dtype != "int8" or tensor.scale is None:
            continue
        scale, zp = float(tensor.scale[0]), int(tensor.zero_point[0])
        if not (math.isfinite(scale) and scale > 0) or not -128 <= zp <= 127:
            raise InvalidModelError(f"{where}: int8 tensor {t} ({tensor.name}) has scale {scale:g}"
                                    f" / zero point {zp}, outside int8 rules (a positive finite "
                                    "scale, a zero point in [-128, 127])")


def _shape(graph, tensor: int) -> tuple[int, ...]:
    return graph.tensors[tensor].shape


def _elements(shape) -> int:
    return math.prod(shape) if shape else 1


def _rank(graph, op, where: str, role: str, tensor: int, rank: int,
          error=UnsupportedOpError) -> tuple[int, ...]:
    shape = _shape(graph, tensor)
    if len(shape) != rank:
        raise error(f"{where}: {role} (tensor {tensor}) has shape {list(shape)}; "
                    f"{rank}-D is needed")
    return shape


def _window_output(padding: str, size: int, filt: int, stride: int, dilation: int) -> int:
    """TFLM's output size for one spatial axis (SAME: ceil(in / stride); VALID: ceil((in -
    effective filter + 1) / stride))."""
    effective = (filt - 1) * dilation + 1
    if padding == "SAME":
        return (size + stride - 1) // stride
    return (size - effective + stride) // stride


def _check_window(graph, op, where: str, in_shape, out_shape, filt_h: int, filt_w: int) -> None:
    o = op.options
    stride_h, stride_w = int(o.get("stride_h", 0)), int(o.get("stride_w", 0))
    dil_h, dil_w = int(o.get("dilation_h", 1)), int(o.get("dilation_w", 1))
    if min(stride_h, stride_w, dil_h, dil_w, filt_h, filt_w) <= 0:
        raise InvalidModelError(f"{where}: window {filt_h}x{filt_w}, stride {stride_h}x{stride_w} "
                                f"and dilation {dil_h}x{dil_w} must be positive")
    if o.get("padding") not in ("SAME", "VALID"):
        raise InvalidModelError(f"{where}: padding is neither SAME nor VALID")
    want = (_window_output(o["padding"], in_shape[1], filt_h, stride_h, dil_h),
            _window_output(o["padding"], in_shape[2], filt_w, stride_w, dil_w))
    if tuple(out_shape[1:3]) != want:
        raise InvalidModelError(f"{where}: output {out_shape[1]}x{out_shape[2]} does not match "
                                f"the computed {want[0]}x{want[1]}")


def _check_bias(graph, op, where: str, channels: int) -> None:
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        n = _elements(_shape(graph, op.inputs[2]))
        if n != channels:
            raise InvalidModelError(f"{where}: bias (tensor {op.inputs[2]}) has {n} elements; "
                                    f"the op has {channels} output channels")


def _conv(graph, op, where: str) -> None:
    _windowed_with_weights(graph, op, where, depthwise=False)


def _depthwise(graph, op, where: str) -> None:
    _windowed_with_weights(graph, op, where, depthwise=True)


def _windowed_with_weights(graph, op, where: str, depthwise: bool) -> None:
    i = _rank(graph, op, where, "input", op.inputs[0], 4)
    f = _rank(graph, op, where, "filter", op.inputs[1], 4)
    o = _rank(graph, op, where, "output", op.outputs[0], 4)
    if depthwise:  # filter [1, h, w, in x multiplier]
        mult = int(op.options.get("depth_multiplier", 0))
        if f[0] != 1 or i[3] <= 0 or mult <= 0 or f[3] != i[3] * mult or f[3] != o[3] \
                or i[0] != o[0]:
            raise InvalidModelError(f"{where}: filter {list(f)}, depth multiplier {mult}, input "
                                    f"{list(i)} and output {list(o)} do not agree")
    elif f[3] != i[3] or f[0] != o[3] or i[0] != o[0]:  # filter [out, h, w, in]
        raise UnsupportedOpError(f"{where}: filter {list(f)} does not match input {list(i)} and "
                                 f"output {list(o)} (grouped convolution is not supported)")
    _check_window(graph, op, where, i, o, f[1], f[2])
    _check_bias(graph, op, where, o[3])


def _fully_connected(graph, op, where: str) -> None:
    f = _rank(graph, op, where, "weights", op.inputs[1], 2)
    if op.options.get("weights_format", 0) != 0:
        raise UnsupportedOpError(f"{where}: shuffled weights format is not supported")
    units, depth = f
    n_in = _elements(_shape(graph, op.inputs[0]))
    n_out = _elements(_shape(graph, op.outputs[0]))
    out_shape = _shape(graph, op.outputs[0])
    if depth <= 0 or units <= 0 or n_in % depth or n_out != (n_in // depth) * units \
            or not out_shape or out_shape[-1] != units:
        raise InvalidModelError(f"{where}: weights {list(f)} do not match input "
                                f"{list(_shape(graph, op.inputs[0]))} and output {list(out_shape)}")
    _check_bias(graph, op, where, units)


def _pool(graph, op, where: str) -> None:
    if len(op.inputs) != 1:
        raise InvalidModelError(f"{where}: needs 1 input, has {len(op.inputs)}")
    i = _rank(graph, op, where, "input", op.inputs[0], 4)
    o = _rank(graph, op, where, "output", op.outputs[0], 4)
    if i[0] != o[0] or i[3] != o[3]:
        raise InvalidModelError(f"{where}: input {list(i)} and output {list(o)} differ in batch "
                                "or channels")
    _check_window(graph, op, where, i, o, int(op.options.get("filter_h", 0)),
                  int(op.options.get("filter_w", 0)))


def _mean(graph, op, where: str) -> None:
    i = _rank(graph, op, where, "input", op.inputs[0], 4)
    axis = graph.tensors[op.inputs[1]]
    if axis.data is None or axis.dtype != "int32" or axis.data.size != 2 \
            or sorted(int(a) for a in axis.data.reshape(-1)) != [1, 2]:
        raise UnsupportedOpError(f"{where}: only the mean over the spatial axes (1, 2) of a 4-D "
                                 "tensor, given as constant int32 data, is supported")
    if _elements(_shape(graph, op.outputs[0])) != i[0] * i[3]:
        raise InvalidModelError(f"{where}: output {list(_shape(graph, op.outputs[0]))} does not "
                                f"match input {list(i)} averaged over axes 1 and 2")


def _same_elements(graph, op, where: str) -> None:
    n_in = _elements(_shape(graph, op.inputs[0]))
    n_out = _elements(_shape(graph, op.outputs[0]))
    if n_in != n_out:
        raise InvalidModelError(f"{where}: input has {n_in} elements, output {n_out}")


def _softmax(graph, op, where: str) -> None:
    if not _shape(graph, op.inputs[0]):
        raise InvalidModelError(f"{where}: the input has no dimensions")
    _same_elements(graph, op, where)


def _add(graph, op, where: str) -> None:
    shapes = [_shape(graph, t) for t in op.inputs[:2]]
    out = _shape(graph, op.outputs[0])
    if any(len(s) > 4 for s in (*shapes, out)):
        raise UnsupportedOpError(f"{where}: tensors of more than 4 dimensions")
    rank = max(len(s) for s in shapes)
    a, b = ((1,) * (rank - len(s)) + tuple(s) for s in shapes)
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b)) or len(out) != rank \
            or tuple(out) != tuple(max(x, y) if 1 in (x, y) else x for x, y in zip(a, b)):
        raise InvalidModelError(f"{where}: input shapes {list(shapes[0])} and {list(shapes[1])} "
                                f"do not broadcast to the output {list(out)}")


def _pad(graph, op, where: str) -> None:
    i, o = _shape(graph, op.inputs[0]), _shape(graph, op.outputs[0])
    if len(i) != len(o) or len(o) > 4:
        raise UnsupportedOpError(f"{where}: input {list(i)} and output {list(o)} must have the "
                                 "same rank, at most 4")
    pads = graph.tensors[op.inputs[1]]
    if pads.data is None or pads.dtype != "int32" or pads.data.size != 2 * len(o):
        raise UnsupportedOpError(f"{where}: paddings must be constant int32 data of "
                                 f"{2 * len(o)} values")
    p = pads.data.reshape(-1, 2)
    if (p < 0).any():
        raise InvalidModelError(f"{where}: negative padding in {p.tolist()}")
    if any(int(i[d]) + int(p[d, 0]) + int(p[d, 1]) != o[d]
                            for d in range(len(o))):
        raise InvalidModelError(f"{where}: paddings {p.tolist()} do not take input {list(i)} to "
                                f"output {list(o)}")


def _concatenation(graph, op, where: str) -> None:
    out = _shape(graph, op.outputs[0])
    axis = int(op.options.get("axis", 0))
    axis = axis + len(out) if axis < 0 else axis
    if not 0 <= axis < len(out) or any(t < 0 for t in op.inputs):
        raise InvalidModelError(f"{where}: axis {op.options.get('axis')} is outside the "
                                f"output's {len(out)} dimensions, or an input is missing")
    total = 0
    for t in op.inputs:
        s = _shape(graph, t)
        if len(s) != len(out) or any(s[d] != out[d] for d in range(len(out)) if d != axis):
            raise InvalidModelError(f"{where}: input tensor {t} {list(s)} does not fit the "
                                    f"output {list(out)} along axis {axis}")
        total += s[axis]
    if total != out[axis]:
        raise InvalidModelError(f"{where}: inputs add up to {total} along axis {axis}, the "
                                f"output has {out[axis]}")


_CHECKS: dict[str, Callable] = {
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _depthwise,
    "FULLY_CONNECTED": _fully_connected,
    "AVERAGE_POOL_2D": _pool,
    "MAX_POOL_2D": _pool,
    "MEAN": _mean,
    "RESHAPE": _same_elements,
    "SOFTMAX": _softmax,
    "ADD": _add,
    "PAD": _pad,
    "PADV2": _pad,
    "CONCATENATION": _concatenation,
    "QUANTIZE": _same_elements,
    "DEQUANTIZE": _same_elements,
}
