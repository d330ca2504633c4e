"""Fused backward patterns: an op group whose gradients the runtime computes in one instruction,
channel group by channel group, so the group's large float gradients never exist whole.

- BOTTLENECK_BACKWARD: 1x1 project conv <- depthwise <- expand conv (an inverted-bottleneck
  block; tflm_train/runtime/block_backward.cc).
- MEAN_HEAD_BACKWARD: a conv whose output only a spatial MEAN reads (the classifier head;
  session.cc MeanHeadBackward) replaces the MEAN's broadcast input gradient; its forward half,
  MEAN_HEAD_FORWARD, runs the conv and the MEAN by channel groups (head_forward.cc).
- A residual ADD around a BOTTLENECK_BACKWARD block gives both inputs its output gradient
  (residual_alias) instead of a copy.
- DEPTHWISE_GRAD_IN_PLACE: a depthwise input gradient written over its output gradient.
"""
from __future__ import annotations

import numpy as np

from .emit import FILTER_GRAD_BLOCK, Emission, activation_mask_bounds, scratch_elements
from .graph import Graph, Op
from .program import DType, Instruction, Opcode, Program

# Expanded-channel group of BOTTLENECK_BACKWARD as emitted: its two gradient groups stay <= 8 KB
# (compile_step then picks smaller groups where they lower the arena: regroup).
BLOCK_GROUP_BYTES = 8192
# Channel group of DEPTHWISE_GRAD_IN_PLACE: its gathered scratch stays <= 8 KB.
INPLACE_GROUP_BYTES = 8192
# Output-channel group of MEAN_HEAD_BACKWARD as emitted: its [positions, G] float buffer stays
# <= 8 KB (smaller where that lowers the arena, as for the block groups).
HEAD_GROUP_BYTES = 8192
# Output-channel group of MEAN_HEAD_FORWARD: its [positions, G] int8 buffer stays <= 2 KB.
HEAD_FORWARD_GROUP_BYTES = 2048


def bottleneck_below(em: Emission, p: Op) -> bool:
    """p is a 1x1 stride-1 project conv reading a depthwise (multiplier 1) that reads a conv,
    each tensor read by nothing else: an inverted-bottleneck block whose expanded gradients
    BOTTLENECK_BACKWARD produces group by group."""
    graph = em.graph
    if p.kind != "CONV_2D" or p.inputs[0] not in em.downstream:
        return False
    e2 = p.inputs[0]
    w = graph.tensors[p.inputs[1]]
    if w.shape[1:3] != [1, 1] and tuple(w.shape[1:3]) != (1, 1):
        return False
    if p.options.get("stride_h", 1) != 1 or p.options.get("stride_w", 1) != 1:
        return False
    d = graph.producer(e2)
    if d is None or d.kind != "DEPTHWISE_CONV_2D" or e2 in em.grad or e2 in graph.outputs:
        return False
    if [c.index for c in graph.consumers(e2)] != [p.index]:
        return False
    e1 = d.inputs[0]
    if graph.tensors[d.inputs[1]].shape[-1] != graph.tensors[e1].shape[-1]:
        return False  # depth multiplier 1 only
    x = graph.producer(e1)
    return (x is not None and x.kind == "CONV_2D" and e1 in em.downstream and e1 not in em.grad
            and e1 not in graph.outputs and [c.index for c in graph.consumers(e1)] == [d.index]
            and len(graph.tensors[e1].shape) == 4)


def emit_bottleneck(em: Emission, p: Op, d: Op, x: Op, g_out: int) -> None:
    """BOTTLENECK_BACKWARD for project conv p <- depthwise d <- expand conv x, g_out being p's
    output gradient, then p's own updates (after: the block reads p's filter unchanged), then
    the block input's gradient summed (last: g_out may be that gradient, residual_alias)."""
    graph = em.graph
    e2, e1 = d.outputs[0], d.inputs[0]
    channels = graph.tensors[e2].shape[-1]
    pos2 = int(np.prod(graph.tensors[e2].shape[:-1]))
    pos1 = int(np.prod(graph.tensors[e1].shape[:-1]))
    group = _block_group(graph, d, BLOCK_GROUP_BYTES)
    grad_e2 = em.new_tensor(DType.FLOAT32, pos2 * group)
    grad_e1 = em.new_tensor(DType.FLOAT32, pos1 * group)
    masks = []
    for op, positions in ((d, pos2), (x, pos1)):
        bounds = activation_mask_bounds(op, graph)
        masks.append(-1 if bounds is None
                     else em.new_tensor(DType.INT8, (positions * channels + 7) // 8))
    layer_ids = [em.add_layer(op) if op.index in em.updated else -1 for op in (d, x)]
    x_in = x.inputs[0]
    g_x, temporary = (-1, False)
    if x_in in em.downstream:
        g_x, temporary = em.input_grad_target(x_in)
    x_channels = em.updated[x.index].weight_channels if em.weights_trained(x) else 0
    temp_elements = _block_temp(graph, d, x, group, x_channels, em.weights_trained(d))
    temp = em.new_tensor(DType.FLOAT32, temp_elements) if temp_elements else -1
    scales = [em.weight_scales(op) if needed else -1
              for op, needed in ((p, True), (d, True), (x, g_x >= 0))]
    em.emit(Opcode.BOTTLENECK_BACKWARD, [p.index, d.index, x.index, g_out, g_x, grad_e2,
                                         grad_e1, temp, group, *masks, *layer_ids, *scales])
    em.emit_updates(p, g_out)
    em.sum_temporary(g_x, temporary, x_in)


def residual_alias(em: Emission, add: Op) -> bool:
    """The two inputs of ADD may share its output gradient instead of one taking a copy: one
    is the output of an inverted-bottleneck block (bottleneck_below) whose input is the other,
    nothing runs between the block's depthwise and the ADD, and the project conv has no
    activation. Then only BOTTLENECK_BACKWARD and the project conv's updates read the block
    output's gradient, all before the block input's gradient (the same buffer) is summed
    (emit_bottleneck)."""
    graph = em.graph
    if len(add.inputs) != 2 or add.inputs[0] == add.inputs[1]:
        return False
    positions = {op.index: pos for pos, op in enumerate(graph.ops)}
    for t, other in (add.inputs, add.inputs[::-1]):
        p = graph.producer(t)
        if p is None or activation_mask_bounds(p, graph) is not None \
                or not bottleneck_below(em, p):
            continue
        d = graph.producer(p.inputs[0])
        x = graph.producer(d.inputs[0])
        between = [op.index for op in graph.ops[positions[d.index] + 1:positions[add.index]]
                   if op.index not in graph.folded]
        if (x.inputs[0] == other and between == [p.index]
                and [c.index for c in graph.consumers(t)] == [add.index]):
            return True
    return False


def in_place_depthwise(em: Emission, op: Op) -> bool:
    """A depthwise conv (multiplier 1, output shaped like its input) whose input gradient can
    overwrite its output gradient: nothing else contributes to the input's gradient and its
    weights are not updated (their update would need the output gradient afterwards)."""
    graph, data_in = em.graph, op.inputs[0]
    if op.kind != "DEPTHWISE_CONV_2D" or data_in not in em.downstream or data_in in em.grad:
        return False
    if len(graph.consumers(data_in)) != 1:
        return False
    x, y = graph.tensors[data_in], graph.tensors[op.outputs[0]]
    if x.shape != y.shape or len(y.shape) != 4:
        return False
    return not em.weights_trained(op)


def emit_in_place_depthwise(em: Emission, op: Op, g_out: int) -> None:
    """DEPTHWISE_GRAD_IN_PLACE: g_out becomes the gradient of op's input."""
    graph, out = em.graph, op.outputs[0]
    # bias update first: it reads the output gradient the in-place pass overwrites
    if op.index in em.updated:
        em.emit(Opcode.BIAS_UPDATE, [op.index, g_out, em.add_layer(op)])
    scales_at = em.weight_scales(op)
    channels = graph.tensors[out].shape[-1]
    positions = int(np.prod(graph.tensors[out].shape[:-1]))
    taps = int(np.prod(graph.tensors[op.inputs[1]].shape[1:3]))
    group = max(1, min(channels, INPLACE_GROUP_BYTES // (8 * positions + taps)))
    scratch = em.new_tensor(DType.FLOAT32, 2 * positions * group)
    em.emit(Opcode.DEPTHWISE_GRAD_IN_PLACE, [op.index, g_out, scratch, scales_at, group])
    em.grad[op.inputs[0]] = g_out


def fusable_mean(graph: Graph, op: Op, downstream: set[int]) -> bool:
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


def emit_mean_head(em: Emission, op: Op, g_mean: int) -> None:
    """The backward of CONV_2D `op` whose output only a spatial MEAN reads, g_mean being the
    MEAN output's gradient."""
    graph = em.graph
    out_shape = graph.tensors[op.outputs[0]].shape
    positions = int(np.prod(out_shape[:-1]))
    channels = out_shape[-1]
    group_size = _head_group(graph, op, HEAD_GROUP_BYTES)
    group = em.new_tensor(DType.FLOAT32, positions * group_size)
    bounds = activation_mask_bounds(op, graph)
    mask = -1 if bounds is None else em.new_tensor(DType.INT8, (positions * channels + 7) // 8)
    layer_index = em.add_layer(op) if op.index in em.updated else -1
    data_in = op.inputs[0]
    g_in, temporary, scales_at = -1, False, -1
    if data_in in em.downstream:
        g_in, temporary = em.input_grad_target(data_in)
        scales_at = em.weight_scales(op)
    weight_channels = em.updated[op.index].weight_channels if em.weights_trained(op) else 0
    temp_elements = _head_temp(graph, op, group_size, weight_channels)
    temp = em.new_tensor(DType.FLOAT32, temp_elements) if temp_elements else -1
    em.emit(Opcode.MEAN_HEAD_BACKWARD, [op.index, g_mean, group, mask, g_in, temp, layer_index,
                                        scales_at])
    em.sum_temporary(g_in, temporary, data_in)
    _head_forward(em, op, mask)


def _block_group(graph: Graph, d: Op, group_bytes: int) -> int:
    """Expanded channels per BOTTLENECK_BACKWARD group whose two gradient groups (and D's
    filter taps) stay within group_bytes."""
    e2, e1 = graph.tensors[d.outputs[0]].shape, graph.tensors[d.inputs[0]].shape
    pos2, pos1 = int(np.prod(e2[:-1])), int(np.prod(e1[:-1]))
    taps = int(np.prod(graph.tensors[d.inputs[1]].shape[1:3]))
    return max(1, min(e2[-1], group_bytes // (4 * (pos2 + pos1) + taps)))


def _head_group(graph: Graph, conv: Op, group_bytes: int) -> int:
    """Output channels per MEAN_HEAD_BACKWARD group whose float buffer stays within
    group_bytes."""
    out = graph.tensors[conv.outputs[0]].shape
    return max(1, min(out[-1], group_bytes // (4 * int(np.prod(out[:-1])))))


def cap_groups(graph: Graph, program: Program, group_bytes: int, floor: int) -> None:
    """Every fused channel-group backward's groups at most group_bytes, but not below `floor`
    channels unless they already are (regroup)."""
    ops = {op.index: op for op in graph.ops}
    for step, ins in enumerate(program.instructions):
        if ins.opcode == Opcode.BOTTLENECK_BACKWARD:
            group = _block_group(graph, ops[ins.args[1]], group_bytes)
        elif ins.opcode == Opcode.MEAN_HEAD_BACKWARD:
            group = _head_group(graph, ops[ins.args[0]], group_bytes)
        else:
            continue
        current = group_channels(graph, program, ins)[0]
        group = max(group, min(floor, current))
        if group < current:
            regroup(graph, program, step, group)


def _block_temp(graph: Graph, d: Op, x: Op, group: int, x_channels: int,
                d_trained: bool) -> int:
    """BOTTLENECK_BACKWARD's float scratch for `group` expanded channels: X's filter gradient
    in blocks of channels, and D's gathered input group with its filter-gradient scratch."""
    pos1 = int(np.prod(graph.tensors[d.inputs[0]].shape[:-1]))
    taps = int(np.prod(graph.tensors[d.inputs[1]].shape[1:3]))
    return max(min(FILTER_GRAD_BLOCK, group, x_channels) * scratch_elements(graph, x),
               (pos1 * group + 3) // 4 + taps if d_trained else 0)


def _head_temp(graph: Graph, op: Op, group: int, weight_channels: int) -> int:
    """MEAN_HEAD_BACKWARD's float scratch: the head conv's filter gradient in blocks."""
    return min(FILTER_GRAD_BLOCK, group, weight_channels) * scratch_elements(graph, op)


def group_channels(graph: Graph, program: Program, ins: Instruction) -> tuple[int, int]:
    """(channels per group, channels) of a MEAN_HEAD_BACKWARD or BOTTLENECK_BACKWARD."""
    ops = {op.index: op for op in graph.ops}
    if ins.opcode == Opcode.BOTTLENECK_BACKWARD:
        return ins.args[8], graph.tensors[ops[ins.args[1]].outputs[0]].shape[-1]
    out = graph.tensors[ops[ins.args[0]].outputs[0]].shape
    positions = int(np.prod(out[:-1]))
    return program.extra[ins.args[2] - program.n_model_tensors].elements // positions, out[-1]


def regroup(graph: Graph, program: Program, step: int, group: int) -> None:
    """Give the MEAN_HEAD_BACKWARD or BOTTLENECK_BACKWARD at `step` groups of `group` channels:
    its group buffers and scratch resized as emit_mean_head / emit_bottleneck size them. The
    group size changes no result bit (the input gradient accumulates in channel order:
    conv_grad.h ConvInputGradAccumulate), only the buffers and the per-group work."""
    ops = {op.index: op for op in graph.ops}
    ins = program.instructions[step]
    a, n_model = ins.args, program.n_model_tensors

    def weight_channels(layer: int) -> int:
        return program.layers[layer].weight_channels if layer >= 0 else 0

    def resize(t: int, elements: int) -> None:
        if t >= 0:
            program.extra[t - n_model].elements = elements

    if ins.opcode == Opcode.BOTTLENECK_BACKWARD:
        d, x = ops[a[1]], ops[a[2]]
        a[8] = group
        resize(a[5], int(np.prod(graph.tensors[d.outputs[0]].shape[:-1])) * group)
        resize(a[6], int(np.prod(graph.tensors[d.inputs[0]].shape[:-1])) * group)
        resize(a[7], _block_temp(graph, d, x, group, weight_channels(a[12]),
                                 weight_channels(a[11]) > 0))
    elif ins.opcode == Opcode.MEAN_HEAD_BACKWARD:
        conv = ops[a[0]]
        resize(a[2], int(np.prod(graph.tensors[conv.outputs[0]].shape[:-1])) * group)
        resize(a[5], _head_temp(graph, conv, group, weight_channels(a[6])))
    else:
        raise AssertionError(ins.opcode)


def _head_forward(em: Emission, conv: Op, mask: int) -> None:
    """Replace the FORWARDs of the head conv and its MEAN by one MEAN_HEAD_FORWARD, which saves
    the conv's mask bits group by group, so its int8 output never exists whole (streaming.py
    then leaves both ops out of its chains). Only where a group is smaller than the output."""
    graph = em.graph
    out = graph.tensors[conv.outputs[0]]
    positions = int(np.prod(out.shape[:-1]))
    group = max(1, min(out.shape[-1], HEAD_FORWARD_GROUP_BYTES // positions))
    mean = graph.consumers(conv.outputs[0])[0]
    forwards = {ins.args[0] for ins in em.instructions if ins.opcode == Opcode.FORWARD}
    if (group >= out.shape[-1] or out.shape[0] != 1 or conv.index not in forwards
            or mean.index not in forwards):
        return
    bounds = activation_mask_bounds(conv, graph) if mask >= 0 else (-128, 127)
    buffer = em.new_tensor(DType.INT8, positions * group)
    em.fused_forwards[conv.index] = Instruction(
        Opcode.MEAN_HEAD_FORWARD, [conv.index, mean.index, buffer, mask, *bounds])
    em.fused_forwards[mean.index] = None


def apply_fused_forwards(em: Emission, n_forward: int) -> int:
    """Put the forward instructions the backward walk fused (_head_forward) in place of the
    FORWARDs they replace (after the walk, which reads the forward part by position); returns
    the new forward length."""
    forward = []
    for ins in em.instructions[:n_forward]:
        if ins.opcode == Opcode.FORWARD and ins.args[0] in em.fused_forwards:
            ins = em.fused_forwards[ins.args[0]]
        if ins is not None:
            forward.append(ins)
    em.instructions[:n_forward] = forward
    return len(forward)


__all__ = ["BLOCK_GROUP_BYTES", "HEAD_FORWARD_GROUP_BYTES", "HEAD_GROUP_BYTES",
           "INPLACE_GROUP_BYTES", "apply_fused_forwards", "bottleneck_below",
           "cap_groups", "emit_bottleneck", "emit_in_place_depthwise", "emit_mean_head",
           "fusable_mean", "group_channels", "in_place_depthwise", "regroup", "residual_alias"]
