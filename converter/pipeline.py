"""compile_step: a graph and its resolved updates -> the planned training step, in stages:
backward program (autodiff.py) -> row-streamed frozen chains where they lower the arena
(streaming.py) -> SAVE_MASKs after the forward ops whose outputs become masks (SAVE_CHANNELS
after those whose outputs the backward reads only in part) -> arena plan
(memory_plan.py) -> smaller channel groups for the fused backward at the peak (fusions.py) ->
the chains' kernel scratch in the arena where that keeps it."""
from __future__ import annotations

import copy

from .autodiff import backward_program
from .emit import FILTER_GRAD_BLOCK
from .fusions import cap_groups, group_channels, regroup
from .graph import Graph
from .memory_plan import (ExtraBuffers, insert_masks, insert_saved_channels, plan_memory,
                          reads_writes)
from .optimizer import SGD
from .planner import peak_live_bytes
from .program import Flags, Opcode, Program
from .scheme import LayerUpdate, SparseUpdate
from .step import CompiledStep
from .streaming import (chain_ops, chains_with_stack_scratch, choose_streams,
                        with_kernel_scratch)


def compile_step(graph: Graph, updates: list[LayerUpdate], scheme: SparseUpdate,
                 loss: str = "cross_entropy", optimizer: SGD | None = None, *,
                 streaming: bool = True, input_source: bool = False,
                 extra_buffers: ExtraBuffers | None = None) -> CompiledStep:
    """streaming=False keeps every tensor whole. input_source=True lets the first streamed
    chain read the model input row by row from the caller's source where that lowers the
    arena (streaming.py; the runtime then needs tt_set_input_source). extra_buffers: buffers added to the
    activation plan (plan-only variants, bench/variants.py); a step planned with them is for
    comparison and must not be written to a model."""
    optimizer = optimizer or SGD()
    program = backward_program(graph, updates, scheme, loss, optimizer)
    if not streaming:
        return _plan_grouped(graph, program, optimizer, extra_buffers)

    def streamed(base: Program, kernel_scratch: bool = False) -> list[CompiledStep]:
        choices = [choose_streams(
            graph, base, lambda ins: reads_writes(graph, base, ins, keep_masked=True),
            lambda p: _plan(graph, p, optimizer, extra_buffers), source, kernel_scratch)
            for source in ((False, True) if input_source else (False,))]
        return [_plan_grouped(graph, p, optimizer, extra_buffers) for p in choices]

    steps = streamed(program)
    # The source only where it lowers the arena: a program that stores its input is simpler
    # to drive (tt_input), so a tie keeps it.
    best = min(steps, key=lambda s: s.program.arena_bytes)
    # The streams were chosen with the emitted groups; with the chosen ones others may win.
    regrouped = _with_groups_of(graph, program, best.program)
    if regrouped is not None:
        best = min([best] + streamed(regrouped), key=lambda s: s.program.arena_bytes)
    best = _kernel_scratch_in_chains(graph, best, optimizer, extra_buffers)
    if _chains_without_kernel_scratch(graph, best.program):
        # Streams chosen with every chain's kernel scratch planned may hold the same arena
        # (MCUNet-like); a tie takes them: the scratch then leaves the stack.
        with_scratch = streamed(_with_groups_of(graph, program, best.program) or program, True)
        best = min([*with_scratch, best], key=lambda s: (
            s.program.arena_bytes, _chains_without_kernel_scratch(graph, s.program)))
    return best


def _chains_without_kernel_scratch(graph: Graph, program: Program) -> int:
    """Streamed chains whose kernels' scratch is not planned (the runtime's stack holds it)."""
    return chains_with_stack_scratch(graph, program.instructions[:program.n_forward],
                                     program.extra, program.n_model_tensors,
                                     bool(program.flags & Flags.INPUT_SOURCE),
                                     program.input_tensor)


def _kernel_scratch_in_chains(graph: Graph, step: CompiledStep, optimizer: SGD,
                              extra_buffers: ExtraBuffers | None) -> CompiledStep:
    """Each streamed chain's kernels' scratch planned after its row windows, chain by chain,
    where the arena stays as it is: there it is held only while the chain runs, instead of on
    the stack at the top of the row recursion (the deepest stack path of a step). Elsewhere
    the runtime keeps it on the stack (a tiny model's windows are smaller than the buffers)."""
    for ins in step.program.instructions[:step.program.n_forward]:
        if ins.opcode != Opcode.STREAM_CHAIN:
            continue
        trial = step.program.copy()
        scratch = trial.extra[ins.args[2] - trial.n_model_tensors]
        enlarged = with_kernel_scratch(graph, chain_ops(graph, ins), scratch.elements)
        if enlarged == scratch.elements:
            continue
        scratch.elements = enlarged
        planned = plan_memory(graph, trial, optimizer, extra_buffers)
        if planned.program.arena_bytes <= step.program.arena_bytes:
            step = planned
    return step


_GROUPED = (Opcode.MEAN_HEAD_BACKWARD, Opcode.BOTTLENECK_BACKWARD)


def _with_groups_of(graph: Graph, program: Program, planned: Program) -> Program | None:
    """A copy of `program` with the channel groups `planned` (the same backward, streamed and
    regrouped) chose, or None if they are the emitted ones."""
    chosen = [group_channels(graph, planned, ins)[0] for ins in planned.instructions
              if ins.opcode in _GROUPED]
    steps = [k for k, ins in enumerate(program.instructions) if ins.opcode in _GROUPED]
    if [group_channels(graph, program, program.instructions[k])[0] for k in steps] == chosen:
        return None
    program = copy.deepcopy(program)
    for k, group in zip(steps, chosen):
        regroup(graph, program, k, group)
    return program


def _plan(graph: Graph, program: Program, optimizer: SGD,
          extra_buffers: ExtraBuffers | None) -> CompiledStep:
    program = insert_saved_channels(graph, insert_masks(graph, program))
    return plan_memory(graph, program, optimizer, extra_buffers)


def _plan_grouped(graph: Graph, program: Program, optimizer: SGD,
                  extra_buffers: ExtraBuffers | None) -> CompiledStep:
    """The plan with the channel groups of the fused backward (MEAN_HEAD_BACKWARD,
    BOTTLENECK_BACKWARD) that lower the arena: the best of a few caps on every group; then,
    while the most bytes are live at a fused instruction, the first halving of its group that
    lowers the arena, or keeps it and lowers the live peak (the next halving may then lower the
    arena); then every group as large again as the arena allows (_regrow). Groups are not made
    smaller than FILTER_GRAD_BLOCK channels: each pass over a group converts the filter rows it
    reads and reloads its partial sums, and the filter gradient slows down per term below it
    (a MobileNetV2 head of 1-channel groups would save ~0.5 KB at ~2x its instructions). The
    group size changes no result bit (fusions.regroup)."""
    def cost(step: CompiledStep) -> tuple[int, int]:
        return step.program.arena_bytes, max(peak_live_bytes(step.buffers), default=0)


    emitted = [group_channels(graph, program, ins)[0] for ins in program.instructions
               if ins.opcode in _GROUPED]
    # Start from the best of the emitted groups and every group capped at a few sizes (the
    # greedy placement's peak is not monotone in any one group).
    steps = [_plan(graph, program, optimizer, extra_buffers)]
    for group_bytes in (4096, 2048, 1024, 512):
        capped = copy.deepcopy(program)
        cap_groups(graph, capped, group_bytes, FILTER_GRAD_BLOCK)
        steps.append(_plan(graph, capped, optimizer, extra_buffers))
    step = min(steps, key=cost)
    best = cost(step)
    while True:
        curve = peak_live_bytes(step.buffers)
        at = max(range(len(curve)), key=curve.__getitem__, default=-1)
        if at < 0 or step.program.instructions[at].opcode not in _GROUPED:
            return _regrow(graph, emitted, step, optimizer, extra_buffers)
        group = group_channels(graph, step.program, step.program.instructions[at])[0]
        smaller = group // 2
        while smaller >= FILTER_GRAD_BLOCK:
            trial = copy.deepcopy(step.program)
            regroup(graph, trial, at, smaller)
            planned = _plan(graph, trial, optimizer, extra_buffers)
            if cost(planned) < best:
                step, best = planned, cost(planned)
                break
            smaller //= 2
        else:
            return _regrow(graph, emitted, step, optimizer, extra_buffers)


def _regrow(graph: Graph, emitted: list[int], step: CompiledStep, optimizer: SGD,
            extra_buffers: ExtraBuffers | None) -> CompiledStep:
    """Each fused instruction's group back at the largest of its emitted size and its halvings
    that keeps the arena: the caps shrink every group, and small groups cost time (each pass
    over a group converts the filter rows it reads and reloads its partial sums)."""
    where = [k for k, ins in enumerate(step.program.instructions) if ins.opcode in _GROUPED]
    for k, full in zip(where, emitted):
        group = group_channels(graph, step.program, step.program.instructions[k])[0]
        larger = full
        while larger > group:
            trial = copy.deepcopy(step.program)
            regroup(graph, trial, k, larger)
            planned = _plan(graph, trial, optimizer, extra_buffers)
            if planned.program.arena_bytes <= step.program.arena_bytes:
                step = planned
                break
            larger //= 2
    return step


__all__ = ["compile_step"]
