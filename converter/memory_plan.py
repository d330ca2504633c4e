"""Liveness and the arena plan of a compiled program: which arena tensors each instruction reads
and writes, SAVE_MASKs (and SAVE_CHANNELS) placed where masked (partly read) tensors are
produced, and the offline layout of the persistent region (op state, trained tensors, optimizer
state) and of the activation region (buffers with lifetimes over instruction steps, placed by
planner.plan)."""
from __future__ import annotations

from typing import Callable

from . import channel_data
from .emit import (SAVED_FOR_INPUT_GRAD, activation_mask_bounds, scratch_elements, split_rows,
                   trained_bytes)
from .graph import Graph, Op
from .optimizer import SGD
from .planner import Buffer, align, plan
from .program import (ALIGNMENT, OP_STATE_BYTES, OP_STATE_KIND_BYTES, DType, ExtraTensor, Flags,
                      Instruction, Opcode, Program)
from .step import CompiledStep
from .streaming import stream_aliases, stream_reads_writes

#: Buffers a caller adds to the activation plan, from the final program (bench/variants.py:
#: the gradients a framework without operator reordering would hold to the end).
ExtraBuffers = Callable[[Graph, Program], list[Buffer]]


def op_pos(graph: Graph, op_index: int) -> int:
    for pos, op in enumerate(graph.ops):
        if op.index == op_index:
            return pos
    raise AssertionError(op_index)


def reads_writes(graph: Graph, program: Program | None, ins: Instruction,
                 keep_masked: bool = False):
    """Arena tensors an instruction reads and writes (constants are not in the arena).
    keep_masked: count a MASK_GRAD's int8 output as read (it must be produced whole, for
    SAVE_MASK, so streaming may not hide it inside a chain)."""
    a = ins.args
    if ins.opcode in (Opcode.SAVE_MASK, Opcode.SAVE_CHANNELS):
        return [a[0]], [a[1]]
    if ins.opcode == Opcode.MASK_GRAD:
        return ([a[0], a[1], a[2]] if keep_masked else [a[0], a[1]]), [a[0]]
    if ins.opcode == Opcode.BOTTLENECK_BACKWARD:
        d = graph.ops[op_pos(graph, a[1])]
        x = graph.ops[op_pos(graph, a[2])]
        x_weights = a[12] >= 0 and (program is None or program.layers[a[12]].weight_channels > 0)
        d_weights = a[11] >= 0 and (program is None or program.layers[a[11]].weight_channels > 0)
        # D's filter gradient reads its input, or the channels SAVE_CHANNELS kept of it
        e1 = saved_channels(program, d.inputs[0]) if program is not None else None
        saved = ([x.inputs[0]] if x_weights else []) + \
            ([d.inputs[0] if e1 is None else e1] if d_weights else [])
        if keep_masked:  # SAVE_MASK needs the masked tensors whole
            saved += [op.outputs[0] for op, m in ((d, a[9]), (x, a[10])) if m >= 0]
        buffers = [t for t in (a[4], a[5], a[6], a[7], a[9], a[10]) if t >= 0]
        return [a[3], *buffers, *saved], [t for t in (a[4], a[5], a[6], a[7]) if t >= 0]
    if ins.opcode == Opcode.MEAN_HEAD_BACKWARD:
        op = graph.ops[op_pos(graph, a[0])]
        weights = a[6] >= 0 and (program is None or program.layers[a[6]].weight_channels > 0)
        split = keep_masked and program is not None and a[6] >= 0 and \
            split_rows(op, program.layers[a[6]]) is not None
        saved = ([op.inputs[0]] if weights else []) + \
            ([op.outputs[0]] if keep_masked and (a[3] >= 0 or split) else [])
        buffers = [t for t in (a[2], a[3], a[4], a[5]) if t >= 0]
        return [a[1], *buffers, *saved], [t for t in (a[2], a[4], a[5]) if t >= 0]
    if ins.opcode == Opcode.MEAN_HEAD_FORWARD:  # the conv output is never stored
        conv, mean = graph.ops[op_pos(graph, a[0])], graph.ops[op_pos(graph, a[1])]
        return [t for t in conv.inputs if t >= 0], \
            [mean.outputs[0], a[2], *([a[3]] if a[3] >= 0 else [])]
    if ins.opcode == Opcode.FORWARD:
        op = graph.ops[op_pos(graph, a[0])]
        # RESHAPE takes its shape from its output tensor, never from the shape input's values
        # (which a folded chain does not compute: shape_fold.py).
        inputs = op.inputs[:1] if op.kind == "RESHAPE" else op.inputs
        return [t for t in inputs if t >= 0], list(op.outputs)
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
        op = graph.ops[op_pos(graph, a[0])]
        # MUL's gradient of one operand reads the other one's forward values.
        saved = [op.inputs[1 - a[3]]] if op.kind == "MUL" else []
        return [a[1], *saved], [a[2]]
    if ins.opcode == Opcode.INPUT_GRAD:
        op = graph.ops[op_pos(graph, a[0])]
        saved = [op.inputs[0]] if op.kind in SAVED_FOR_INPUT_GRAD else []
        return [a[1], *saved], [a[2]]
    if ins.opcode == Opcode.BIAS_UPDATE:
        return [a[1]], []
    if ins.opcode == Opcode.WEIGHT_UPDATE:
        op = graph.ops[op_pos(graph, a[0])]
        # A filter split between SRAM and flash is never streamed: keeping its output whole
        # (and its input, read anyway) isolates the op from every chain.
        split = keep_masked and program is not None and \
            split_rows(op, program.layers[a[2]]) is not None
        return [a[1], op.inputs[0], a[3], *([op.outputs[0]] if split else [])], [a[3]]
    if ins.opcode == Opcode.STREAM_CHAIN:
        reads, writes = stream_reads_writes(graph, ins)
        if program is not None and program.flags & Flags.INPUT_SOURCE:  # rows from the source
            reads = [t for t in reads if t != program.input_tensor]
        return reads, writes
    raise AssertionError(ins.opcode)


def read_backward(graph: Graph, instructions: list[Instruction], t: int) -> bool:
    """Whether any of `instructions` reads arena tensor t."""
    return any(t in reads_writes(graph, None, ins)[0] for ins in instructions)


def saved_channels(program: Program, t: int) -> int | None:
    """The extra tensor a SAVE_CHANNELS of the forward part fills from tensor t, or None."""
    return next((ins.args[1] for ins in program.instructions[:program.n_forward]
                 if ins.opcode == Opcode.SAVE_CHANNELS and ins.args[0] == t), None)


def insert_saved_channels(graph: Graph, program: Program) -> Program:
    """Put a SAVE_CHANNELS after the forward instruction that writes the input of each depthwise
    conv a fused block backward trains at a partial ratio: its filter gradient reads only the
    trained channels of that input, so the whole int8 tensor can die after the forward pass."""
    pending = {}  # int8 tensor -> channels to keep
    for ins in program.instructions[program.n_forward:]:
        if ins.opcode == Opcode.BOTTLENECK_BACKWARD and ins.args[11] >= 0:
            layer = program.layers[ins.args[11]]
            if 0 < layer.weight_channels < layer.out_channels:
                pending[graph.ops[op_pos(graph, ins.args[1])].inputs[0]] = layer.weight_channels
    pending = {t: k for t, k in pending.items() if saved_channels(program, t) is None}
    if not pending:
        return program

    def save(t: int) -> list[Instruction]:
        if t not in pending:
            return []
        positions = graph.tensors[t].nbytes // graph.tensors[t].shape[-1]
        dst = program.n_model_tensors + len(program.extra)
        program.extra.append(ExtraTensor(DType.INT8, positions * pending[t]))
        return [Instruction(Opcode.SAVE_CHANNELS, [t, dst, pending.pop(t)])]

    _after_forward_writes(graph, program, save)
    if pending:
        raise AssertionError(f"tensors {sorted(pending)} are not produced whole by any forward "
                             "instruction")
    return program


def insert_masks(graph: Graph, program: Program) -> Program:
    """Put a SAVE_MASK right after the forward instruction that writes each masked tensor (a
    FORWARD, or a STREAM_CHAIN ending in it), so the int8 tensor can die there."""
    pending = {}  # int8 tensor -> (mask, lo, hi)
    for ins in program.instructions[program.n_forward:]:
        if ins.opcode == Opcode.MASK_GRAD:
            pending[ins.args[2]] = (ins.args[1], ins.args[3], ins.args[4])
        elif ins.opcode == Opcode.BOTTLENECK_BACKWARD:
            d = graph.ops[op_pos(graph, ins.args[1])]
            x = graph.ops[op_pos(graph, ins.args[2])]
            for op, mask in ((d, ins.args[9]), (x, ins.args[10])):
                if mask >= 0:
                    pending[op.outputs[0]] = (mask, *activation_mask_bounds(op, graph))
        elif ins.opcode == Opcode.MEAN_HEAD_BACKWARD and ins.args[3] >= 0:
            conv = graph.ops[op_pos(graph, ins.args[0])]
            pending[conv.outputs[0]] = (ins.args[3], *activation_mask_bounds(conv, graph))
    done = {ins.args[0] for ins in program.instructions[:program.n_forward]
            if ins.opcode == Opcode.SAVE_MASK}
    # MEAN_HEAD_FORWARD saves its conv output's mask itself
    done |= {graph.ops[op_pos(graph, ins.args[0])].outputs[0]
             for ins in program.instructions[:program.n_forward]
             if ins.opcode == Opcode.MEAN_HEAD_FORWARD and ins.args[3] >= 0}
    if not set(pending) - done:
        return program

    def save(t: int) -> list[Instruction]:
        if t not in pending or t in done:
            return []
        done.add(t)
        return [Instruction(Opcode.SAVE_MASK, [t, *pending[t]])]

    _after_forward_writes(graph, program, save)
    if set(pending) - done:
        raise AssertionError(f"masked tensors {sorted(set(pending) - done)} are not produced "
                             "whole by any forward instruction")
    return program


def _forward_writes(ops: dict[int, Op], ins: Instruction) -> list[int]:
    if ins.opcode == Opcode.FORWARD:
        return list(ops[ins.args[0]].outputs)
    return list(ops[ins.args[0] + ins.args[1] - 1].outputs)  # a chain's last op


def _after_forward_writes(graph: Graph, program: Program,
                          emit: Callable[[int], list[Instruction]]) -> None:
    """Rebuild the forward pass with emit(t)'s instructions right after the FORWARD or
    STREAM_CHAIN that writes tensor t whole (SAVE_MASK, SAVE_CHANNELS: the tensor can then die
    there)."""
    ops = {op.index: op for op in graph.ops}
    forward = []
    for ins in program.instructions[:program.n_forward]:
        forward.append(ins)
        if ins.opcode in (Opcode.FORWARD, Opcode.STREAM_CHAIN):
            for t in _forward_writes(ops, ins):
                forward.extend(emit(t))
    program.instructions = forward + program.instructions[program.n_forward:]
    program.n_forward = len(forward)


def plan_memory(graph: Graph, program: Program, optimizer: SGD,
                extra_buffers: ExtraBuffers | None = None) -> CompiledStep:
    """Lay out the arena of a finished program (streams chosen, masks inserted): fills in its
    offsets and sizes and returns the compiled step."""
    n_model = program.n_model_tensors
    # Persistent region: prepared op state, updated tensors (per-channel requantisation data is
    # in the program, in flash: channel_data.py).
    offset = 0
    op_state = []
    for op in graph.ops:
        if op.index in graph.folded:  # never prepared
            op_state.append(-1)
            continue
        op_state.append(offset)
        offset += OP_STATE_KIND_BYTES.get(op.kind, OP_STATE_BYTES)
    offset = align(offset, ALIGNMENT)
    op_data_bytes = offset
    model_offsets = [-1] * n_model
    for layer in program.layers:
        # A bias-only layer reads its weights from flash; a partial layer keeps its channels.
        op = graph.ops[op_pos(graph, layer.op_index)]
        for t in (layer.weight_tensor if layer.weight_channels else -1, layer.bias_tensor):
            if t >= 0:
                model_offsets[t] = offset
                offset = align(offset + trained_bytes(graph, op, layer, t), ALIGNMENT)
    updated_bytes = offset - op_data_bytes
    if optimizer.has_state:
        for layer in program.layers:
            op = graph.ops[op_pos(graph, layer.op_index)]
            if layer.weight_channels:
                layer.weight_state = offset
                offset = align(offset + 4 * layer.weight_channels * scratch_elements(graph, op),
                               ALIGNMENT)
            if layer.update_bias:
                layer.bias_state = offset
                offset = align(offset + 4 * layer.out_channels, ALIGNMENT)
    optimizer_bytes = offset - op_data_bytes - updated_bytes
    persistent = offset

    # Activation region: lifetimes over instruction steps. A streamed chain that writes its
    # output over its input (streaming.stream_aliases) makes the two one buffer.
    alias = stream_aliases(graph, program, lambda ins: reads_writes(graph, program, ins))
    # The input is written before step 0, unless the input source delivers it row by row.
    stored_input = not program.flags & Flags.INPUT_SOURCE
    first: dict[int, int] = {program.input_tensor: 0} if stored_input else {}
    last: dict[int, int] = {program.input_tensor: 0} if stored_input else {}
    for step, ins in enumerate(program.instructions):
        reads, writes = reads_writes(graph, program, ins)
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
    held = extra_buffers(graph, program) if extra_buffers else []
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


__all__ = ["ExtraBuffers", "insert_masks", "insert_saved_channels", "op_pos", "plan_memory",
           "read_backward", "reads_writes", "saved_channels"]
