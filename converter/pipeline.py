"""compile_step: a graph and its resolved updates -> the planned training step, in stages:
backward program (autodiff.py) -> row-streamed frozen chains where they lower the arena
(streaming.py) -> SAVE_MASKs after the forward ops whose outputs become masks -> arena plan
(memory_plan.py)."""
from __future__ import annotations

from .autodiff import backward_program
from .graph import Graph
from .memory_plan import ExtraBuffers, insert_masks, plan_memory, reads_writes
from .optimizer import SGD
from .program import Program
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
        return _plan(graph, program, optimizer, extra_buffers)
    base = program
    choices = [choose_streams(
        graph, base, lambda ins: reads_writes(graph, base, ins, keep_masked=True),
        lambda p: _plan(graph, p, optimizer, extra_buffers), source)
        for source in ((False, True) if input_source else (False,))]
    steps = [_plan(graph, p, optimizer, extra_buffers) for p in choices]
    # The source only where it lowers the arena: a program that stores its input is simpler
    # to drive (tt_input), so a tie keeps it.
    return min(steps, key=lambda s: s.program.arena_bytes)


def _plan(graph: Graph, program: Program, optimizer: SGD,
          extra_buffers: ExtraBuffers | None) -> CompiledStep:
    return plan_memory(graph, insert_masks(graph, program), optimizer, extra_buffers)


__all__ = ["compile_step"]
