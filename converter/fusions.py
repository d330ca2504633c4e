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
from .program import DType, Instruction, Opcode

# Expanded-channel group of BOTTLENECK_BACKWARD: its two gradient groups stay <= 8 KB.
BLOCK_GROUP_BYTES = 8192
# Channel group of DEPTHWISE_GRAD_IN_PLACE: its gathered scratch stays <= 8 KB.
INPLACE_GROUP_BYTES = 8192
# Output-channel group of MEAN_HEAD_BACKWARD: its [positions, G] float buffer stays <= 8 KB.
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
    taps = int(np.prod(graph.tensors[d.inputs[1]].shape[1:3]))
    group = max(1, min(channels, BLOCK_GROUP_BYTES // (4 * (pos2 + pos1) + taps)))
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
    x_block = min(FILTER_GRAD_BLOCK, group, em.updated[x.index].weight_channels) \
        if em.weights_trained(x) else 0
    temp_elements = max(x_block * scratch_elements(graph, x),
                        (pos1 * group + 3) // 4 + taps if em.weights_trained(d) else 0)
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
    group_channels = max(1, min(channels, HEAD_GROUP_BYTES // (4 * positions)))
    group = em.new_tensor(DType.FLOAT32, positions * group_channels)
    bounds = activation_mask_bounds(op, graph)
    mask = -1 if bounds is None else em.new_tensor(DType.INT8, (positions * channels + 7) // 8)
    layer_index = em.add_layer(op) if op.index in em.updated else -1
    data_in = op.inputs[0]
    g_in, temporary, scales_at = -1, False, -1
    if data_in in em.downstream:
        g_in, temporary = em.input_grad_target(data_in)
        scales_at = em.weight_scales(op)
    block = min(FILTER_GRAD_BLOCK, group_channels, em.updated[op.index].weight_channels) \
        if em.weights_trained(op) else 0
    temp_elements = block * scratch_elements(graph, op)
    temp = em.new_tensor(DType.FLOAT32, temp_elements) if temp_elements else -1
    em.emit(Opcode.MEAN_HEAD_BACKWARD, [op.index, g_mean, group, mask, g_in, temp, layer_index,
                                        scales_at])
    em.sum_temporary(g_in, temporary, data_in)
    _head_forward(em, op, mask)


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
           "emit_bottleneck", "emit_in_place_depthwise", "emit_mean_head", "fusable_mean",
           "in_place_depthwise", "residual_alias"]
