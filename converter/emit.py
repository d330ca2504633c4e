"""What every part of the backward emission shares: the program being written (`Emission`) and
the per-op facts its instructions and the memory plan both need (activation bounds, scratch
and trained sizes)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import qas
from .errors import ConversionError
from .graph import Graph, Op
from .program import DType, ExtraTensor, Instruction, Layer, Opcode
from .scheme import LayerUpdate, SparseUpdate

# Single-input ops whose runtime registration has an input-gradient kernel.
POOL_LIKE = ("MEAN", "AVERAGE_POOL_2D", "MAX_POOL_2D", "PAD", "PADV2")
# Single-input activation and layout ops with an input-gradient kernel (INPUT_GRAD, no scales).
UNARY_GRAD = ("HARD_SWISH", "LOGISTIC", "LEAKY_RELU", "TRANSPOSE")
# Ops whose input gradient re-reads their forward input (max pooling finds the argmax again; the
# activations' derivatives are functions of their dequantised input).
SAVED_FOR_INPUT_GRAD = ("MAX_POOL_2D", "HARD_SWISH", "LOGISTIC", "LEAKY_RELU")
ACT_REAL_BOUNDS = {"RELU": (0.0, None), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}

# Conv filter-gradient channels per call of the fused backward instructions (the runtime's
# kConvFilterGradBlock, kernels/training/conv_grad.h): one int8 -> float conversion of the input
# serves them all. The runtime uses as many as the scratch holds.
FILTER_GRAD_BLOCK = 8


def quantize_bound(value: float, scale: float, zero_point: int) -> int:
    # Same rounding as the forward kernels' activation clamp: round half away from zero of a
    # float32 division.
    # A denormal output scale makes q infinite: any bound past the int8 range clamps alike.
    with np.errstate(over="ignore"):
        q = np.float32(value) / np.float32(scale)
    q = np.clip(q, np.float32(-2**24), np.float32(2**24))
    return int(zero_point + int(np.sign(q) * np.floor(np.abs(q) + np.float32(0.5))))


def activation_mask_bounds(op: Op, graph: Graph) -> tuple[int, int] | None:
    """Exclusive int8 bounds (lo, hi) within which a fused activation passes the gradient. A
    standalone RELU requantises and clamps like a fused one, so it gates the same way."""
    activation = "RELU" if op.kind == "RELU" else op.activation
    if activation == "NONE":
        return None
    out = graph.tensors[op.outputs[0]]
    scale, zp = float(out.scale[0]), int(out.zero_point[0])
    low, high = ACT_REAL_BOUNDS[activation]
    lo = max(-128, quantize_bound(low, scale, zp))
    hi = 128 if high is None else min(127, quantize_bound(high, scale, zp))
    return lo, hi


def scratch_elements(graph: Graph, op: Op) -> int:
    """Floats needed for one output channel's weight gradient."""
    w = graph.tensors[op.inputs[1]]
    if op.kind == "CONV_2D":
        return w.shape[1] * w.shape[2] * w.shape[3]
    if op.kind == "DEPTHWISE_CONV_2D":
        return w.shape[1] * w.shape[2]
    return w.shape[1]


def split_rows(op: Op, layer: Layer) -> int | None:
    """Leading output-channel rows a partially trained conv/FC keeps in SRAM (its other rows
    stay in flash), or None when the weight tensor is held whole (or not at all)."""
    if op.kind in ("CONV_2D", "FULLY_CONNECTED") and 0 < layer.weight_channels < layer.out_channels:
        return layer.weight_channels
    return None


def split_channels(op: Op, layer: Layer) -> int | None:
    """Leading channels a partially trained depthwise filter keeps in SRAM, laid out
    [1, kh, kw, that many] (its other channels stay in flash): the trained ones rounded up to a
    multiple of 4, since the kernels take four adjacent channels from one place (runtime
    Session::head_channels); None when the filter is held whole (or not at all)."""
    if op.kind != "DEPTHWISE_CONV_2D" or not 0 < layer.weight_channels < layer.out_channels:
        return None
    four = -(-layer.weight_channels // 4) * 4
    return four if four < layer.out_channels else None


def trained_bytes(graph: Graph, op: Op, layer: Layer, t: int) -> int:
    """SRAM bytes of trained tensor t of `layer` (tflm_train/runtime Session::trained_bytes)."""
    whole = graph.tensors[t].nbytes
    if t != layer.weight_tensor:
        return whole
    rows = split_rows(op, layer)
    if rows is None:
        rows = split_channels(op, layer)
    return whole if rows is None else whole // layer.out_channels * rows


@dataclass
class Emission:
    """The program the backward walk writes: instructions, extra tensors (gradients, scratch),
    layer records and the float table (QAS factors, weight scales), plus the gradient buffer
    of every tensor that has one so far. Tensor ids past the model's are extra tensors."""
    graph: Graph
    scheme: SparseUpdate
    updated: dict[int, LayerUpdate]  # op index -> its update
    downstream: set[int]             # tensors whose gradient some update needs
    instructions: list[Instruction]
    extra: list[ExtraTensor] = field(default_factory=list)
    layers: list[Layer] = field(default_factory=list)
    floats: list[float] = field(default_factory=list)
    grad: dict[int, int] = field(default_factory=dict)
    # op index -> the fused forward instruction replacing its FORWARD (None: dropped), applied
    # after the backward walk (fusions.apply_fused_forwards)
    fused_forwards: dict[int, Instruction | None] = field(default_factory=dict)

    def new_tensor(self, dtype: DType, elements: int) -> int:
        self.extra.append(ExtraTensor(dtype, int(elements)))
        return len(self.graph.tensors) + len(self.extra) - 1

    def elements(self, t: int) -> int:
        return int(np.prod(self.graph.tensors[t].shape, dtype=np.int64))

    def emit(self, opcode: Opcode, args: list[int]) -> None:
        self.instructions.append(Instruction(opcode, args))

    def give(self, t: int, src: int, owned: bool) -> None:
        """Deliver a gradient contribution `src` for tensor t. Contributions of several
        consumers are summed; an owned buffer (nobody else will read it) becomes t's gradient
        as is."""
        if t not in self.downstream:
            return
        if t in self.grad:
            self.emit(Opcode.GRAD_ACCUMULATE, [src, self.grad[t]])
        elif owned:
            self.grad[t] = src
        else:
            self.grad[t] = self.new_tensor(DType.FLOAT32, self.elements(t))
            self.emit(Opcode.GRAD_COPY, [src, self.grad[t]])

    def input_grad_target(self, t: int) -> tuple[int, bool]:
        """Buffer an input gradient is written to for t: t's gradient, or (second item True) a
        temporary that `sum_temporary` then adds into it."""
        if t in self.grad:
            return self.new_tensor(DType.FLOAT32, self.elements(t)), True
        self.grad[t] = self.new_tensor(DType.FLOAT32, self.elements(t))
        return self.grad[t], False

    def sum_temporary(self, target: int, temporary: bool, t: int) -> None:
        if temporary:
            self.emit(Opcode.GRAD_ACCUMULATE, [target, self.grad[t]])

    def add_layer(self, op: Op) -> int:
        """Record op's update (with its QAS factors); returns its layer index."""
        self.layers.append(layer_record(self.graph, self.updated[op.index], self.scheme,
                                        self.floats))
        return len(self.layers) - 1

    def weight_scales(self, op: Op) -> int:
        """Store op's per-output-channel weight scales in the float table; returns where."""
        at = len(self.floats)
        channels = self.graph.tensors[op.outputs[0]].shape[-1]
        scale = self.graph.tensors[op.inputs[1]].scale.astype(np.float32)
        self.floats.extend(np.broadcast_to(scale, (channels,)).tolist())
        return at

    def emit_updates(self, op: Op, g_out: int) -> None:
        """op's bias and weight updates from its output gradient, if the scheme trains it."""
        if op.index not in self.updated:
            return
        u = self.updated[op.index]
        layer_index = self.add_layer(op)
        if u.update_bias:
            self.emit(Opcode.BIAS_UPDATE, [op.index, g_out, layer_index])
        if u.weight_channels:
            scratch = self.new_tensor(DType.FLOAT32, scratch_elements(self.graph, op))
            self.emit(Opcode.WEIGHT_UPDATE, [op.index, g_out, layer_index, scratch])

    def weights_trained(self, op: Op) -> bool:
        return op.index in self.updated and self.updated[op.index].weight_channels > 0


def bias_scales(graph: Graph, op: Op) -> np.ndarray:
    """The real-value scale of each int32 bias entry: the bias's own scales when it has one
    per output channel or one for all, else what TFLM's kernels assume (input scale x weight
    scale), which is all TFLM reads: it accepts a bias with no or stale quantisation."""
    b, w = graph.tensors[op.inputs[2]], graph.tensors[op.inputs[1]]
    channels = graph.tensors[op.outputs[0]].shape[-1]
    if b.scale is not None and len(b.scale) in (1, channels):
        return b.scale
    s_in = graph.tensors[op.inputs[0]].scale[0]
    return (np.float64(s_in) * w.scale.astype(np.float64)).astype(np.float32)


def layer_record(graph: Graph, u: LayerUpdate, scheme: SparseUpdate,
                 floats: list[float]) -> Layer:
    """The program's Layer of update u; its QAS factors are appended to `floats`."""
    op = u.op
    w = graph.tensors[op.inputs[1]]
    bias_t = op.inputs[2] if len(op.inputs) > 2 else -1
    layer = Layer(op.index, op.inputs[1], bias_t, u.out_channels, u.weight_channels,
                  u.update_bias)
    if w.scale is None:
        raise ConversionError(f"op {op.index} ({op.kind}): weights {w.name!r} are not quantised")
    layer.weight_factors = len(floats)
    floats.extend(qas.factors(w.scale, u.out_channels, scheme.qas, scheme.qas_clamp,
                              u.lr_scale).tolist())
    if bias_t >= 0:
        layer.bias_factors = len(floats)
        floats.extend(qas.factors(bias_scales(graph, op), u.out_channels, scheme.qas,
                                  scheme.qas_clamp, u.lr_scale).tolist())
    return layer


__all__ = ["ACT_REAL_BOUNDS", "Emission", "FILTER_GRAD_BLOCK", "POOL_LIKE",
           "SAVED_FOR_INPUT_GRAD", "UNARY_GRAD", "activation_mask_bounds", "layer_record",
           "quantize_bound", "scratch_elements", "split_channels", "split_rows", "trained_bytes"]
