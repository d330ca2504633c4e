"""compile_step: a graph and its resolved updates -> the planned training step, in stages:
backward program (autodiff.py) -> row-streamed frozen chains where they lower the arena
(streaming.py) -> SAVE_MASKs after the forward ops whose outputs become masks -> arena plan
(memory_plan.py) -> smaller channel groups for the fused backward at the peak (fusions.py)."""
from __future__ import annotations

import copy

from .autodiff import backward_program
from .emit import FILTER_GRAD_BLOCK
from .fusions import cap_groups, group_channels, regroup
from .graph import Graph
from .memory_plan import ExtraBuffers, insert_masks, plan_memory, reads_writes
from .optimizer import SGD
from .planner import peak_live_bytes
from .program import Opcode, Program
from .scheme import LayerUpdate, SparseUpdate
from .step import CompiledStep
from .streaming import choose_streams


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
    base = program
    choices = [choose_streams(
        graph, base, lambda ins: reads_writes(graph, base, ins, keep_masked=True),
        lambda p: _plan(graph, p, optimizer, extra_buffers), source)
        for source in ((False, True) if input_source else (False,))]
    steps = [_plan_grouped(graph, p, optimizer, extra_buffers) for p in choices]
    # The source only where it lowers the arena: a program that stores its input is simpler
    # to drive (tt_input), so a tie keeps it.
    return min(steps, key=lambda s: s.program.arena_bytes)


def _plan(graph: Graph, program: Program, optimizer: SGD,
          extra_buffers: ExtraBuffers | None) -> CompiledStep:
    return plan_memory(graph, insert_masks(graph, program), optimizer, extra_buffers)


def _plan_grouped(graph: Graph, program: Program, optimizer: SGD,
                  extra_buffers: ExtraBuffers | None) -> CompiledStep:
    """The plan, then, while the most bytes are live at a fused channel-group backward
    (MEAN_HEAD_BACKWARD, BOTTLENECK_BACKWARD), the first halving of its group that lowers the
    arena, or, for groups of at least FILTER_GRAD_BLOCK channels (below it the filter gradient
    slows down per term), keeps it and lowers the live peak (the next halving may then lower
    the arena). The group size changes no result bit (fusions.regroup)."""
    def cost(step: CompiledStep) -> tuple[int, int]:
        return step.program.arena_bytes, max(peak_live_bytes(step.buffers), default=0)

    def better(planned: CompiledStep, group: int) -> bool:
        new = cost(planned)
        return new[0] < best[0] or (group >= FILTER_GRAD_BLOCK and new < best)

    # Start from the best of the emitted groups and every group capped at a few sizes (the
    # greedy placement's peak is not monotone in any one group).
    steps = [_plan(graph, program, optimizer, extra_buffers)]
    for group_bytes in (4096, 2048, 1024, 512):
        capped = copy.deepcopy(program)
        cap_groups(graph, capped, group_bytes)
        steps.append(_plan(graph, capped, optimizer, extra_buffers))
    step = min(steps, key=cost)
    best = cost(step)
    while True:
        curve = peak_live_bytes(step.buffers)
        at = max(range(len(curve)), key=curve.__getitem__, default=-1)
        if at < 0 or step.program.instructions[at].opcode not in (
                Opcode.MEAN_HEAD_BACKWARD, Opcode.BOTTLENECK_BACKWARD):
            return step
        group, channels = group_channels(graph, step.program, step.program.instructions[at])
        smaller = group // 2
        while smaller >= 1:
            trial = copy.deepcopy(step.program)
            regroup(graph, trial, at, smaller)
            planned = _plan(graph, trial, optimizer, extra_buffers)
            if better(planned, smaller):
                step, best = planned, cost(planned)
                break
            smaller //= 2
        else:
            return step


__all__ = ["compile_step"]
