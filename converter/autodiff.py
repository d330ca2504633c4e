"""Compile-time autodiff: derive the pruned, reordered training step and plan its memory.

The step is: forward ops -> loss gradient -> for each op in reverse, only what an update needs
(backward-graph pruning), and each layer's update applied right after its gradient exists, so
no two layers' weight gradients are ever alive together (operator reordering, in-place update).
Weight gradients are produced one output channel at a time into a scratch of one channel, or,
in the fused block / head backward, a few channels per call (FILTER_GRAD_BLOCK) applied one by one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import channel_data, qas
from .errors import ConversionError, UnsupportedOpError
from .graph import Graph, Op
from .ops import OPS
from .planner import Buffer, align, plan, peak_live_bytes
from .program import (ALIGNMENT, OP_STATE_BYTES, DType, ExtraTensor, Flags, Instruction, Layer,
                      Opcode, Program)
from .optimizer import LOSSES, SGD
from .scheme import LayerUpdate, SparseUpdate

# Single-input ops whose runtime registration has an input-gradient kernel.
_POOL_LIKE = ("MEAN", "AVERAGE_POOL_2D", "MAX_POOL_2D", "PAD", "PADV2")
# Ops whose input gradient re-reads their forward input (max pooling finds the argmax again).
_SAVED_FOR_INPUT_GRAD = ("MAX_POOL_2D",)
_ACT_REAL_BOUNDS = {"RELU": (0.0, None), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}


@dataclass
class CompiledStep:
    program: Program
    buffers: list[Buffer]          # activation-region buffers with lifetimes (for reports)
    updated_weight_bytes: int
    op_data_bytes: int
    instruction_names: list[str]
    optimizer_state_bytes: int = 0


def _quantize_bound(value: float, scale: float, zero_point: int) -> int:
    # Same rounding as the forward kernels' activation clamp: round half away from zero of a
    # float32 division.
    # A denormal output scale makes q infinite: any bound past the int8 range clamps alike.
    with np.errstate(over="ignore"):
        q = np.float32(value) / np.float32(scale)
    q = np.clip(q, np.float32(-2**24), np.float32(2**24))
    return int(zero_point + int(np.sign(q) * np.floor(np.abs(q) + np.float32(0.5))))


def activation_mask_bounds(op: Op, graph: Graph) -> tuple[int, int] | None:
    """Exclusive int8 bounds (lo, hi) within which a fused activation passes the gradient."""
    if op.activation == "NONE":
        return None
    out = graph.tensors[op.outputs[0]]
    scale, zp = float(out.scale[0]), int(out.zero_point[0])
    low, high = _ACT_REAL_BOUNDS[op.activation]
    lo = max(-128, _quantize_bound(low, scale, zp))
    hi = 128 if high is None else min(127, _quantize_bound(high, scale, zp))
    return lo, hi


# Conv filter-gradient channels per call of the fused backward instructions (the runtime's
# kConvFilterGradBlock, kernels/training/conv_grad.h): one int8 -> float conversion of the input
# serves them all. The runtime uses as many as the scratch holds.
FILTER_GRAD_BLOCK = 8


def _pointwise(graph: Graph, op: Op) -> bool:
    """A CONV_2D whose input gradient the runtime can add into an existing gradient (1x1 filter,
    stride 1: conv_grad.h ConvInputGradAdds); others sum later groups through a temporary."""
    w = graph.tensors[op.inputs[1]]
    return (tuple(w.shape[1:3]) == (1, 1) and op.options.get("stride_h", 1) == 1
            and op.options.get("stride_w", 1) == 1
            and graph.tensors[op.inputs[0]].shape[1:3] == graph.tensors[op.outputs[0]].shape[1:3])


def _scratch_elements(graph: Graph, op: Op) -> int:
    """Floats needed for one output channel's weight gradient."""
    w = graph.tensors[op.inputs[1]]
    if op.kind == "CONV_2D":
        return w.shape[1] * w.shape[2] * w.shape[3]
    if op.kind == "DEPTHWISE_CONV_2D":
        return w.shape[1] * w.shape[2]
    return w.shape[1]


def compile_step(graph: Graph, updates: list[LayerUpdate], scheme: SparseUpdate,
                 loss: str = "cross_entropy", optimizer: SGD | None = None, *,
                 streaming: bool = True, reorder: bool = True) -> CompiledStep:
    # reorder=False: plan-only variant without operator reordering (converter/variants.py).
    optimizer = optimizer or SGD()
    if loss not in LOSSES:
        raise ConversionError(f"loss={loss!r}: use one of {', '.join(LOSSES)}")
    n_model = len(graph.tensors)
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ConversionError(f"training needs a model with one input and one output; this one "
                              f"has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs")
    out_t = graph.outputs[0]
    extra: list[ExtraTensor] = []

    def new_tensor(dtype: DType, elements: int) -> int:
        extra.append(ExtraTensor(dtype, int(elements)))
        return n_model + len(extra) - 1

    def elements(t: int) -> int:
        return int(np.prod(graph.tensors[t].shape, dtype=np.int64))

    instructions = [Instruction(Opcode.FORWARD, [op.index]) for op in graph.ops]
    n_forward = len(instructions)

    # Tensors whose gradient some update needs: everything downstream of an updated layer.
    updated = {u.op.index: (i, u) for i, u in enumerate(updates)}
    downstream: set[int] = set()
    for op in graph.ops:
        if op.index in updated or any(t in downstream for t in op.inputs):
            downstream.update(op.outputs)

    grad: dict[int, int] = {}
    flags = Flags.QAS if scheme.qas else Flags(0)
    if optimizer.has_state and updates:
        flags |= Flags.OPTIMIZER_STATE
    last = graph.producer(out_t)
    skip = set()
    if not updates:  # inference-only plan: no loss, no backward
        pass
    elif loss == "mse":
        if last is not None and last.kind == "SOFTMAX":
            raise ConversionError("loss='mse' needs a regression head; this model ends in "
                                  "SOFTMAX (use loss='cross_entropy')")
        grad[out_t] = new_tensor(DType.FLOAT32, elements(out_t))
        instructions.append(Instruction(Opcode.LOSS_MSE, [out_t, grad[out_t]]))
        flags |= Flags.LOSS_MSE
    elif last is not None and last.kind == "SOFTMAX":
        logits = last.inputs[0]
        grad[logits] = new_tensor(DType.FLOAT32, elements(logits))
        instructions.append(Instruction(Opcode.LOSS_SOFTMAX_CE, [out_t, grad[logits]]))
        flags |= Flags.LOSS_FROM_SOFTMAX
        skip.add(last.index)
    else:
        grad[out_t] = new_tensor(DType.FLOAT32, elements(out_t))
        instructions.append(Instruction(Opcode.LOSS_LOGITS_CE, [out_t, grad[out_t]]))

    def give(t: int, src: int, owned: bool) -> None:
        """Deliver a gradient contribution `src` for tensor t. Contributions of several consumers
        are summed; an owned buffer (nobody else will read it) becomes t's gradient as is."""
        if t not in downstream:
            return
        if t in grad:
            instructions.append(Instruction(Opcode.GRAD_ACCUMULATE, [src, grad[t]]))
        elif owned:
            grad[t] = src
        else:
            grad[t] = new_tensor(DType.FLOAT32, elements(t))
            instructions.append(Instruction(Opcode.GRAD_COPY, [src, grad[t]]))

    def input_grad_target(t: int) -> tuple[int, bool]:
        """Buffer an INPUT_GRAD writes for t: t's gradient, or a temporary to sum into it."""
        if t in grad:
            return new_tensor(DType.FLOAT32, elements(t)), True
        grad[t] = new_tensor(DType.FLOAT32, elements(t))
        return grad[t], False

    layers: list[Layer] = []
    floats: list[float] = []
    head: dict[int, int] = {}  # MEAN input -> gradient of the MEAN output (broadcast, fused)
    block: dict[int, tuple] = {}  # depthwise output -> (its project conv, that conv's g_out)
    done: set[int] = set()        # expand convs whose backward a block instruction ran

    def emit_updates(op: Op, g_out: int) -> None:
        if op.index not in updated:
            return
        layer_index = len(layers)
        u = updated[op.index][1]
        layers.append(_layer(graph, u, scheme, floats))
        if u.update_bias:
            instructions.append(Instruction(Opcode.BIAS_UPDATE, [op.index, g_out, layer_index]))
        if u.weight_channels:
            scratch = new_tensor(DType.FLOAT32, _scratch_elements(graph, op))
            instructions.append(Instruction(Opcode.WEIGHT_UPDATE,
                                            [op.index, g_out, layer_index, scratch]))

    for op in reversed(graph.ops):
        if op.index in skip or op.index in done or op.outputs[0] not in downstream:
            continue
        out = op.outputs[0]
        if out in head:
            _emit_mean_head(graph, op, head[out], updated, scheme, downstream, layers, floats,
                            instructions, new_tensor, input_grad_target, grad)
            continue
        if out in block:  # op is the depthwise of a block whose project conv deferred to it
            project, g_project = block.pop(out)
            expand = graph.producer(op.inputs[0])
            _emit_bottleneck(graph, project, op, expand, g_project, updated, scheme, downstream,
                             layers, floats, instructions, new_tensor, input_grad_target, grad)
            emit_updates(project, g_project)  # after: the block reads P's filter unchanged
            done.add(expand.index)
            continue
        if out not in grad:
            raise ConversionError(f"op {op.index} ({op.kind}): its output does not reach the "
                                  "loss, so its update would have no gradient")
        g_out = grad[out]
        data_in = op.inputs[0]
        if not OPS[op.kind].differentiable or op.kind == "SOFTMAX":
            raise UnsupportedOpError(f"op {op.index} ({op.kind}) lies on the gradient path but "
                                     "has no backward kernel yet")
        bounds = activation_mask_bounds(op, graph)
        if bounds is not None:
            if out == out_t or _read_backward(graph, instructions[n_forward:], out):
                instructions.append(Instruction(Opcode.ACTIVATION_GRAD, [g_out, out, *bounds]))
            else:  # nothing else reads the int8 output again: keep 1 bit per element instead
                mask = new_tensor(DType.INT8, (elements(out) + 7) // 8)
                instructions.append(Instruction(Opcode.MASK_GRAD, [g_out, mask, out, *bounds]))
        if _in_place_depthwise(graph, op, data_in, downstream, grad, updated):
            # bias update first: it reads the output gradient the in-place pass overwrites
            if op.index in updated:
                u = updated[op.index][1]
                layers.append(_layer(graph, u, scheme, floats))
                instructions.append(Instruction(Opcode.BIAS_UPDATE,
                                                [op.index, g_out, len(layers) - 1]))
            w = graph.tensors[op.inputs[1]]
            channels = graph.tensors[out].shape[-1]
            scales_at = len(floats)
            floats.extend(np.broadcast_to(w.scale.astype(np.float32), (channels,)).tolist())
            positions = int(np.prod(graph.tensors[out].shape[:-1]))
            taps = int(np.prod(w.shape[1:3]))
            group = max(1, min(channels, _INPLACE_GROUP_BYTES // (8 * positions + taps)))
            scratch = new_tensor(DType.FLOAT32, 2 * positions * group)
            instructions.append(Instruction(Opcode.DEPTHWISE_GRAD_IN_PLACE,
                                            [op.index, g_out, scratch, scales_at, group]))
            grad[data_in] = g_out
        elif _bottleneck_below(graph, op, downstream, grad, updated):
            block[data_in] = (op, g_out)  # the whole block's backward runs at its depthwise
        elif op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            if data_in in downstream:
                target, temporary = input_grad_target(data_in)
                w = graph.tensors[op.inputs[1]]
                channels = graph.tensors[out].shape[-1]
                scales_at = len(floats)
                floats.extend(np.broadcast_to(w.scale.astype(np.float32), (channels,)).tolist())
                instructions.append(Instruction(Opcode.INPUT_GRAD,
                                                [op.index, g_out, target, scales_at]))
                if temporary:
                    instructions.append(Instruction(Opcode.GRAD_ACCUMULATE, [target, grad[data_in]]))
            emit_updates(op, g_out)
        elif _fusable_mean(graph, op, downstream):
            head[data_in] = g_out  # the producer's backward reads it group by group
        elif op.kind in _POOL_LIKE:
            if data_in in downstream:
                target, temporary = input_grad_target(data_in)
                instructions.append(Instruction(Opcode.INPUT_GRAD,
                                                [op.index, g_out, target, -1]))
                if temporary:
                    instructions.append(Instruction(Opcode.GRAD_ACCUMULATE, [target, grad[data_in]]))
        elif op.kind in ("RESHAPE", "QUANTIZE"):
            # Identity on real values (QUANTIZE here is int8 -> int8 requantisation).
            give(data_in, g_out, owned=True)
        elif op.kind == "ADD":
            a, b = op.inputs[0], op.inputs[1]
            for t in (a, b):
                if graph.tensors[t].shape != graph.tensors[out].shape and t in downstream:
                    raise UnsupportedOpError(
                        f"op {op.index} (ADD): broadcasting input {t} "
                        f"{graph.tensors[t].shape} -> {graph.tensors[out].shape} on the "
                        "gradient path is not supported")
            give(a, g_out, owned=True)
            give(b, g_out, owned=grad.get(a) != g_out)
        elif op.kind == "CONCATENATION":
            for k, t in enumerate(op.inputs):
                if t not in downstream:
                    continue
                target, temporary = input_grad_target(t)
                instructions.append(Instruction(Opcode.INPUT_GRAD_AT,
                                                [op.index, g_out, target, k]))
                if temporary:
                    instructions.append(Instruction(Opcode.GRAD_ACCUMULATE, [target, grad[t]]))

    program = Program(n_model_tensors=n_model, n_ops=len(graph.ops),
                      input_tensor=graph.inputs[0], output_tensor=out_t,
                      num_classes=int(graph.tensors[out_t].shape[-1]), flags=flags,
                      extra=extra, layers=layers, instructions=instructions,
                      n_forward=n_forward, floats=floats,
                      momentum=float(optimizer.momentum) if updates else 0.0)
    return _plan_memory(graph, program, updates, optimizer, streaming, reorder)


def _layer(graph: Graph, u: LayerUpdate, scheme: SparseUpdate, floats: list[float]) -> Layer:
    op = u.op
    w = graph.tensors[op.inputs[1]]
    bias_t = op.inputs[2] if len(op.inputs) > 2 else -1
    layer = Layer(op.index, op.inputs[1], bias_t, u.out_channels, u.weight_channels,
                  u.update_bias)
    if w.scale is None:
        raise ConversionError(f"op {op.index} ({op.kind}): weights {w.name!r} are not quantised")
    layer.weight_factors = len(floats)
    floats.extend(qas.factors(w.scale, u.out_channels, scheme.qas, scheme.qas_clamp).tolist())
    if bias_t >= 0:
        b = graph.tensors[bias_t]
        if b.scale is None:
            raise ConversionError(f"op {op.index} ({op.kind}): bias {b.name!r} is not quantised")
        layer.bias_factors = len(floats)
        floats.extend(qas.factors(b.scale, u.out_channels, scheme.qas, scheme.qas_clamp).tolist())
    return layer


# Expanded-channel group of BOTTLENECK_BACKWARD: its two gradient groups stay <= 8 KB.
_BLOCK_GROUP_BYTES = 8192


def _bottleneck_below(graph: Graph, p: Op, downstream: set[int], grad: dict,
                      updated: dict) -> bool:
    """p is a 1x1 stride-1 project conv reading a depthwise (multiplier 1) that reads a conv,
    each tensor read by nothing else: an inverted-bottleneck block whose expanded gradients
    BOTTLENECK_BACKWARD produces group by group."""
    if p.kind != "CONV_2D" or p.inputs[0] not in downstream:
        return False
    e2 = p.inputs[0]
    w = graph.tensors[p.inputs[1]]
    if w.shape[1:3] != [1, 1] and tuple(w.shape[1:3]) != (1, 1):
        return False
    if p.options.get("stride_h", 1) != 1 or p.options.get("stride_w", 1) != 1:
        return False
    d = graph.producer(e2)
    if d is None or d.kind != "DEPTHWISE_CONV_2D" or e2 in grad or e2 in graph.outputs:
        return False
    if [c.index for c in graph.consumers(e2)] != [p.index]:
        return False
    e1 = d.inputs[0]
    if graph.tensors[d.inputs[1]].shape[-1] != graph.tensors[e1].shape[-1]:
        return False  # depth multiplier 1 only
    x = graph.producer(e1)
    return (x is not None and x.kind == "CONV_2D" and e1 in downstream and e1 not in grad
            and e1 not in graph.outputs and [c.index for c in graph.consumers(e1)] == [d.index]
            and len(graph.tensors[e1].shape) == 4)


def _emit_bottleneck(graph, p, d, x, g_out, updated, scheme, downstream, layers, floats,
                     instructions, new_tensor, input_grad_target, grad) -> None:
    """BOTTLENECK_BACKWARD for project conv p <- depthwise d <- expand conv x (see
    tflm_train/runtime/block_backward.cc)."""
    e2, e1 = d.outputs[0], d.inputs[0]
    channels = graph.tensors[e2].shape[-1]
    pos2 = int(np.prod(graph.tensors[e2].shape[:-1]))
    pos1 = int(np.prod(graph.tensors[e1].shape[:-1]))
    taps = int(np.prod(graph.tensors[d.inputs[1]].shape[1:3]))
    group = max(1, min(channels, _BLOCK_GROUP_BYTES // (4 * (pos2 + pos1) + taps)))
    grad_e2 = new_tensor(DType.FLOAT32, pos2 * group)
    grad_e1 = new_tensor(DType.FLOAT32, pos1 * group)
    masks = []
    for op, t, positions in ((d, e2, pos2), (x, e1, pos1)):
        bounds = activation_mask_bounds(op, graph)
        masks.append(-1 if bounds is None
                     else new_tensor(DType.INT8, (positions * channels + 7) // 8))
    layer_ids = []
    for op in (d, x):
        if op.index in updated:
            layers.append(_layer(graph, updated[op.index][1], scheme, floats))
            layer_ids.append(len(layers) - 1)
        else:
            layer_ids.append(-1)
    x_in = x.inputs[0]
    g_x, temporary = (-1, False)
    if x_in in downstream:
        g_x, temporary = input_grad_target(x_in)
    x_weights = x.index in updated and updated[x.index][1].weight_channels > 0
    d_weights = d.index in updated and updated[d.index][1].weight_channels > 0
    x_block = min(FILTER_GRAD_BLOCK, group, updated[x.index][1].weight_channels) \
        if x_weights else 0
    temp_elements = max(int(np.prod(graph.tensors[x_in].shape))
                        if g_x >= 0 and group < channels and not _pointwise(graph, x) else 0,
                        x_block * _scratch_elements(graph, x),
                        (pos1 * group + 3) // 4 + taps if d_weights else 0)
    temp = new_tensor(DType.FLOAT32, temp_elements) if temp_elements else -1
    scales = []
    for op, needed in ((p, True), (d, True), (x, g_x >= 0)):
        if not needed:
            scales.append(-1)
            continue
        n = graph.tensors[op.outputs[0]].shape[-1]
        scales.append(len(floats))
        floats.extend(np.broadcast_to(graph.tensors[op.inputs[1]].scale.astype(np.float32),
                                      (n,)).tolist())
    instructions.append(Instruction(Opcode.BOTTLENECK_BACKWARD,
                                    [p.index, d.index, x.index, g_out, g_x, grad_e2, grad_e1,
                                     temp, group, *masks, *layer_ids, *scales]))
    if temporary:
        instructions.append(Instruction(Opcode.GRAD_ACCUMULATE, [g_x, grad[x_in]]))


# Channel group of DEPTHWISE_GRAD_IN_PLACE: its gathered scratch stays <= 8 KB.
_INPLACE_GROUP_BYTES = 8192


def _in_place_depthwise(graph: Graph, op: Op, data_in: int, downstream: set[int], grad: dict,
                        updated: dict) -> bool:
    """A depthwise conv (multiplier 1, output shaped like its input) whose input gradient can
    overwrite its output gradient: nothing else contributes to the input's gradient and its
    weights are not updated (their update would need the output gradient afterwards)."""
    if op.kind != "DEPTHWISE_CONV_2D" or data_in not in downstream or data_in in grad:
        return False
    if len(graph.consumers(data_in)) != 1:
        return False
    x, y = graph.tensors[data_in], graph.tensors[op.outputs[0]]
    if x.shape != y.shape or len(y.shape) != 4:
        return False
    return not (op.index in updated and updated[op.index][1].weight_channels)


def _fusable_mean(graph: Graph, op: Op, downstream: set[int]) -> bool:
    """A spatial MEAN whose input only it reads, produced by a CONV_2D on the gradient path:
    MEAN_HEAD_BACKWARD then replaces the MEAN's broadcast input gradient."""
    if op.kind != "MEAN" or op.inputs[0] not in downstream:
        return False
    x = graph.tensors[op.inputs[0]]
    axes = graph.tensors[op.inputs[1]].data
    producer = graph.producer(op.inputs[0])
    return (len(x.shape) == 4 and axes is not None
            and sorted(int(a) % 4 for a in np.asarray(axes).reshape(-1)) == [1, 2]
            and [c.index for c in graph.consumers(op.inputs[0])] == [op.index]
            and producer is not None and producer.kind == "CONV_2D"
            and op.inputs[0] not in graph.outputs)


# Output-channel group of MEAN_HEAD_BACKWARD: its [positions, G] float buffer stays <= 8 KB.
_HEAD_GROUP_BYTES = 8192


def _emit_mean_head(graph, op, g_mean, updated, scheme, downstream, layers, floats,
                    instructions, new_tensor, input_grad_target, grad) -> None:
    """The backward of CONV_2D `op` whose output only a spatial MEAN reads (see
    tflm_train/runtime/session.cc MeanHeadBackward)."""
    out_shape = graph.tensors[op.outputs[0]].shape
    positions = int(np.prod(out_shape[:-1]))
    channels = out_shape[-1]
    group_channels = max(1, min(channels, _HEAD_GROUP_BYTES // (4 * positions)))
    group = new_tensor(DType.FLOAT32, positions * group_channels)
    bounds = activation_mask_bounds(op, graph)
    mask = -1 if bounds is None else new_tensor(DType.INT8, (positions * channels + 7) // 8)
    layer_index, weights = -1, False
    if op.index in updated:
        layer_index = len(layers)
        u = updated[op.index][1]
        layers.append(_layer(graph, u, scheme, floats))
        weights = u.weight_channels > 0
    data_in = op.inputs[0]
    g_in, temporary, scales_at = -1, False, -1
    in_elements = int(np.prod(graph.tensors[data_in].shape))
    if data_in in downstream:
        g_in, temporary = input_grad_target(data_in)
        w = graph.tensors[op.inputs[1]]
        scales_at = len(floats)
        floats.extend(np.broadcast_to(w.scale.astype(np.float32), (channels,)).tolist())
    # later groups add their input-gradient share to g_in (through temp unless 1x1)
    block = min(FILTER_GRAD_BLOCK, group_channels, u.weight_channels) if weights else 0
    temp_elements = max(in_elements if g_in >= 0 and group_channels < channels
                        and not _pointwise(graph, op) else 0,
                        block * _scratch_elements(graph, op))
    temp = new_tensor(DType.FLOAT32, temp_elements) if temp_elements else -1
    instructions.append(Instruction(Opcode.MEAN_HEAD_BACKWARD,
                                    [op.index, g_mean, group, mask, g_in, temp, layer_index,
                                     scales_at]))
    if temporary:
        instructions.append(Instruction(Opcode.GRAD_ACCUMULATE, [g_in, grad[data_in]]))


def split_rows(op: Op, layer: Layer) -> int | None:
    """Leading output-channel rows a partially trained conv/FC keeps in SRAM (its other rows
    stay in flash), or None when the weight tensor is held whole (or not at all)."""
    if op.kind in ("CONV_2D", "FULLY_CONNECTED") and 0 < layer.weight_channels < layer.out_channels:
        return layer.weight_channels
    return None


def trained_bytes(graph: Graph, op: Op, layer: Layer, t: int) -> int:
    """SRAM bytes of trained tensor t of `layer` (tflm_train/runtime Session::trained_bytes)."""
    rows = split_rows(op, layer) if t == layer.weight_tensor else None
    whole = graph.tensors[t].nbytes
    return whole if rows is None else whole // layer.out_channels * rows


def _read_backward(graph: Graph, instructions: list[Instruction], t: int) -> bool:
    return any(t in _reads_writes(graph, None, ins)[0] for ins in instructions)


def _insert_masks(graph: Graph, program: Program) -> Program:
    """Put a SAVE_MASK right after the forward instruction that writes each masked tensor (a
    FORWARD, or a STREAM_CHAIN ending in it), so the int8 tensor can die there."""
    pending = {}  # int8 tensor -> (mask, lo, hi)
    for ins in program.instructions[program.n_forward:]:
        if ins.opcode == Opcode.MASK_GRAD:
            pending[ins.args[2]] = (ins.args[1], ins.args[3], ins.args[4])
        elif ins.opcode == Opcode.BOTTLENECK_BACKWARD:
            d = graph.ops[_op_pos(graph, ins.args[1])]
            x = graph.ops[_op_pos(graph, ins.args[2])]
            for op, mask in ((d, ins.args[9]), (x, ins.args[10])):
                if mask >= 0:
                    pending[op.outputs[0]] = (mask, *activation_mask_bounds(op, graph))
        elif ins.opcode == Opcode.MEAN_HEAD_BACKWARD and ins.args[3] >= 0:
            conv = graph.ops[_op_pos(graph, ins.args[0])]
            pending[conv.outputs[0]] = (ins.args[3], *activation_mask_bounds(conv, graph))
    done = {ins.args[0] for ins in program.instructions[:program.n_forward]
            if ins.opcode == Opcode.SAVE_MASK}
    if not set(pending) - done:
        return program
    ops = {op.index: op for op in graph.ops}
    forward = []
    for ins in program.instructions[:program.n_forward]:
        forward.append(ins)
        if ins.opcode in (Opcode.FORWARD, Opcode.STREAM_CHAIN):
            for t in _forward_writes(ops, ins):
                if t in pending and t not in done:
                    mask, lo, hi = pending[t]
                    forward.append(Instruction(Opcode.SAVE_MASK, [t, mask, lo, hi]))
                    done.add(t)
    if set(pending) - done:
        raise AssertionError(f"masked tensors {sorted(set(pending) - done)} are not produced "
                             "whole by any forward instruction")
    program.instructions = forward + program.instructions[program.n_forward:]
    program.n_forward = len(forward)
    return program


def _forward_writes(ops: dict[int, Op], ins: Instruction) -> list[int]:
    if ins.opcode == Opcode.FORWARD:
        return list(ops[ins.args[0]].outputs)
    return list(ops[ins.args[0] + ins.args[1] - 1].outputs)  # a chain's last op


def _reads_writes(graph: Graph, program: Program | None, ins: Instruction,
                  keep_masked: bool = False):
    """Arena tensors an instruction reads and writes (constants are not in the arena).
    keep_masked: count a MASK_GRAD's int8 output as read (it must be produced whole, for
    SAVE_MASK, so streaming may not hide it inside a chain)."""
    a = ins.args
    if ins.opcode == Opcode.SAVE_MASK:
        return [a[0]], [a[1]]
    if ins.opcode == Opcode.MASK_GRAD:
        return ([a[0], a[1], a[2]] if keep_masked else [a[0], a[1]]), [a[0]]
    if ins.opcode == Opcode.BOTTLENECK_BACKWARD:
        d = graph.ops[_op_pos(graph, a[1])]
        x = graph.ops[_op_pos(graph, a[2])]
        x_weights = a[12] >= 0 and (program is None or program.layers[a[12]].weight_channels > 0)
        d_weights = a[11] >= 0 and (program is None or program.layers[a[11]].weight_channels > 0)
        saved = ([x.inputs[0]] if x_weights else []) + ([d.inputs[0]] if d_weights else [])
        if keep_masked:  # SAVE_MASK needs the masked tensors whole
            saved += [op.outputs[0] for op, m in ((d, a[9]), (x, a[10])) if m >= 0]
        buffers = [t for t in (a[4], a[5], a[6], a[7], a[9], a[10]) if t >= 0]
        return [a[3], *buffers, *saved], [t for t in (a[4], a[5], a[6], a[7]) if t >= 0]
    if ins.opcode == Opcode.MEAN_HEAD_BACKWARD:
        op = graph.ops[_op_pos(graph, a[0])]
        weights = a[6] >= 0 and (program is None or program.layers[a[6]].weight_channels > 0)
        split = keep_masked and program is not None and a[6] >= 0 and \
            split_rows(op, program.layers[a[6]]) is not None
        saved = ([op.inputs[0]] if weights else []) + \
            ([op.outputs[0]] if keep_masked and (a[3] >= 0 or split) else [])
        buffers = [t for t in (a[2], a[3], a[4], a[5]) if t >= 0]
        return [a[1], *buffers, *saved], [t for t in (a[2], a[4], a[5]) if t >= 0]
    if ins.opcode == Opcode.FORWARD:
        op = graph.ops[_op_pos(graph, a[0])]
        return [t for t in op.inputs if t >= 0], list(op.outputs)
    if ins.opcode in (Opcode.LOSS_SOFTMAX_CE, Opcode.LOSS_LOGITS_CE, Opcode.LOSS_MSE,
                      Opcode.GRAD_COPY):
        return [a[0]], [a[1]]
    if ins.opcode == Opcode.GRAD_ACCUMULATE:
        return [a[0], a[1]], [a[1]]
    if ins.opcode == Opcode.ACTIVATION_GRAD:
        return [a[0], a[1]], [a[0]]
    if ins.opcode == Opcode.DEPTHWISE_GRAD_IN_PLACE:
        return [a[1], a[2]], [a[1], a[2]]
    if ins.opcode == Opcode.INPUT_GRAD_AT:
        return [a[1]], [a[2]]
    if ins.opcode == Opcode.INPUT_GRAD:
        op = graph.ops[_op_pos(graph, a[0])]
        saved = [op.inputs[0]] if op.kind in _SAVED_FOR_INPUT_GRAD else []
        return [a[1], *saved], [a[2]]
    if ins.opcode == Opcode.BIAS_UPDATE:
        return [a[1]], []
    if ins.opcode == Opcode.WEIGHT_UPDATE:
        op = graph.ops[_op_pos(graph, a[0])]
        # A filter split between SRAM and flash is never streamed: keeping its output whole
        # (and its input, read anyway) isolates the op from every chain.
        split = keep_masked and program is not None and \
            split_rows(op, program.layers[a[2]]) is not None
        return [a[1], op.inputs[0], a[3], *([op.outputs[0]] if split else [])], [a[3]]
    if ins.opcode == Opcode.STREAM_CHAIN:
        from .streaming import stream_reads_writes
        return stream_reads_writes(graph, ins)
    raise AssertionError(ins.opcode)


def _op_pos(graph: Graph, op_index: int) -> int:
    for pos, op in enumerate(graph.ops):
        if op.index == op_index:
            return pos
    raise AssertionError(op_index)


def _plan_memory(graph: Graph, program: Program, updates: list[LayerUpdate],
                 optimizer: SGD, streaming: bool = False, reorder: bool = True) -> CompiledStep:
    if streaming:  # row-stream frozen op chains where that lowers the arena (streaming.py)
        from .streaming import choose_streams
        program = choose_streams(
            graph, program, lambda ins: _reads_writes(graph, program, ins, keep_masked=True),
            lambda p: _plan_memory(graph, p, updates, optimizer, reorder=reorder))
    program = _insert_masks(graph, program)
    n_model = program.n_model_tensors
    # Persistent region: prepared op state, updated tensors (per-channel requantisation data is
    # in the program, in flash: channel_data.py).
    offset = 0
    op_state = []
    for op in graph.ops:
        op_state.append(offset)
        offset += OP_STATE_BYTES
    offset = align(offset, ALIGNMENT)
    op_data_bytes = offset
    model_offsets = [-1] * n_model
    for layer in program.layers:
        # A bias-only layer reads its weights from flash; a partial conv/FC keeps its rows.
        op = graph.ops[_op_pos(graph, layer.op_index)]
        for t in (layer.weight_tensor if layer.weight_channels else -1, layer.bias_tensor):
            if t >= 0:
                model_offsets[t] = offset
                offset = align(offset + trained_bytes(graph, op, layer, t), ALIGNMENT)
    updated_bytes = offset - op_data_bytes
    if optimizer.has_state:
        for layer in program.layers:
            op = graph.ops[_op_pos(graph, layer.op_index)]
            if layer.weight_channels:
                layer.weight_state = offset
                offset = align(offset + 4 * layer.weight_channels * _scratch_elements(graph, op),
                               ALIGNMENT)
            if layer.update_bias:
                layer.bias_state = offset
                offset = align(offset + 4 * layer.out_channels, ALIGNMENT)
    optimizer_bytes = offset - op_data_bytes - updated_bytes
    persistent = offset

    # Activation region: lifetimes over instruction steps. A streamed chain that writes its
    # output over its input (streaming.stream_aliases) makes the two one buffer.
    from .streaming import stream_aliases
    alias = stream_aliases(graph, program, lambda ins: _reads_writes(graph, program, ins))
    first: dict[int, int] = {program.input_tensor: 0}
    last: dict[int, int] = {program.input_tensor: 0}
    for step, ins in enumerate(program.instructions):
        reads, writes = _reads_writes(graph, program, ins)
        for t in reads + writes:
            if t < n_model and graph.tensors[t].is_constant:
                continue
            t = alias.get(t, t)
            first.setdefault(t, step)
            last[t] = max(last.get(t, step), step)
    # The output must survive the forward pass so predict() can read it.
    out_key = alias.get(program.output_tensor, program.output_tensor)
    last[out_key] = max(last[out_key], program.n_forward - 1)
    buffers = []
    for t in first:
        size = graph.tensors[t].nbytes if t < n_model else program.extra[t - n_model].nbytes
        size = max([size] + [graph.tensors[y].nbytes for y, x in alias.items() if x == t])
        buffers.append(Buffer(t, size, first[t], last[t]))
    from .variants import held_gradient_buffers
    held = [] if reorder else held_gradient_buffers(graph, program)
    peak = plan(buffers + held, ALIGNMENT)
    for b in buffers:
        b.offset += persistent
        if b.key < n_model:
            model_offsets[b.key] = b.offset
        else:
            program.extra[b.key - n_model].offset = b.offset
    for y, x in alias.items():
        model_offsets[y] = model_offsets[x]
    for i, t in enumerate(program.extra):
        if t.offset < 0:
            raise AssertionError(f"extra tensor {i} was never used")
    program.model_offsets = model_offsets
    program.op_state = op_state
    program.op_channel_data, program.channel_words = channel_data.build(graph)
    program.persistent_bytes = persistent
    program.arena_bytes = persistent + peak
    names = [ins.opcode.name for ins in program.instructions]
    return CompiledStep(program, buffers + held, updated_bytes, op_data_bytes, names,
                        optimizer_bytes)


__all__ = ["compile_step", "CompiledStep", "activation_mask_bounds", "peak_live_bytes"]
