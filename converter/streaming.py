"""Streamed (row-by-row) execution of frozen forward op chains: which chains, their row-window
bytes, and where streaming lowers the planned peak.

A STREAM_CHAIN instruction runs consecutive forward ops row by row (kernels/row_stream.h): the
tensors between them never exist whole, only as windows of the rows the next op reads. It
replaces their FORWARD instructions; the chain's input and output stay whole tensors planned as
usual, and its windows live in one int8 scratch tensor alive during that instruction only.

Window bytes (must equal RowStreamBufferSize in kernels/row_stream.cc; the runtime rejects a
plan that gives less): for every tensor k between two chain ops, read by op k with a row span
span_k (conv/depthwise: (kernel_h - 1) * dilation_h + 1, pooling: filter_h, 1x1 conv / PAD /
ADD: 1):  align4(min(span_k, H_k) * W_k * C_k). The chain's conv / depthwise kernels' own
scratch (kernel_scratch.py; the stages run one at a time) goes after the windows, 8-byte
aligned, where that does not raise the arena (pipeline.compile_step's last stage; the
zoo models: every chain), else on the stack, where the row recursion is the deepest path.

Input source (input_source=True): the model input is never stored whole. When a piece starts at
the model input's only reader, the program gets flag INPUT_SOURCE, the input no arena slot,
and that piece's scratch one more window, of the input rows (k = 0 in the formula,
RowStreamSourceWindowBytes), which the runtime fills from the caller's source
(tt_set_input_source). The stream search weighs it like any other choice: a candidate that
cuts that piece loses the flag and holds the input again.

A tensor can be inside a chain only if no later instruction reads it (no gradient, no saved
activation, not the model input or output) and exactly one op reads it; ADD streams one operand
and reads the other whole, so a residual block's input stays a whole tensor.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .graph import Graph, Op
from .kernel_scratch import op_scratch_bytes
from .planner import peak_live_bytes
from .program import DType, ExtraTensor, Flags, Instruction, Opcode, Program
from .step import CompiledStep

STREAMABLE = ("CONV_2D", "DEPTHWISE_CONV_2D", "PAD", "PADV2", "ADD", "AVERAGE_POOL_2D",
              "MAX_POOL_2D")
# kMaxStreamStages in kernels/row_stream.h (bounds the kernel's recursion depth).
MAX_STAGES = 16


@dataclass(frozen=True)
class Chain:
    """Consecutive ops graph.ops[start : start + count], streamed as one instruction."""
    start: int   # position in graph.ops
    count: int


def row_span(graph: Graph, op: Op) -> int:
    """Input rows one output row of `op` reads (before clipping to the tensor)."""
    if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        kh = graph.tensors[op.inputs[1]].shape[1]
        return (kh - 1) * int(op.options.get("dilation_h", 1)) + 1
    if op.kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return int(op.options["filter_h"])
    return 1


def with_kernel_scratch(graph: Graph, ops: list[Op], window_bytes: int) -> int:
    """A chain's scratch bytes with its kernels' scratch (kernel_scratch.py) planned after its
    row windows, 8-byte aligned (RowStreamScratchBytes); window_bytes if they need none."""
    kernels = max(op_scratch_bytes(graph, op) for op in ops)
    return (window_bytes + 7) // 8 * 8 + kernels if kernels else window_bytes


def full_chain_scratch(graph: Graph, ins: Instruction, input_source: bool,
                       input_tensor: int) -> int:
    """A STREAM_CHAIN's scratch bytes with its kernels' scratch planned (RowStreamScratchBytes):
    a chain planned smaller takes the runtime's stack path for the kernels' scratch.
    input_source: the program reads its input from the input source (Flags.INPUT_SOURCE)."""
    ops = chain_ops(graph, ins)
    fed = input_source and ops[0].inputs[0] == input_tensor
    return with_kernel_scratch(graph, ops, window_bytes(graph, ops, fed))


def chains_with_stack_scratch(graph: Graph, instructions, extra: list, n_model_tensors: int,
                              input_source: bool, input_tensor: int) -> int:
    """Streamed chains of a program whose scratch holds less than full_chain_scratch: their
    kernels' scratch is on the runtime's stack (budget.stack_bound takes that deeper path)."""
    return sum(1 for ins in instructions if ins.opcode == Opcode.STREAM_CHAIN and
               extra[ins.args[2] - n_model_tensors].elements <
               full_chain_scratch(graph, ins, input_source, input_tensor))


def window_bytes(graph: Graph, ops: list[Op], source: bool = False) -> int:
    """Scratch bytes of the row windows when `ops` are streamed as one chain (source: its
    input comes from the input source, one window more)."""
    total = 0
    for t, op in zip([ops[0].inputs[0]] if source else [], ops[:1]):
        _, h, w, c = graph.tensors[t].shape
        total += (min(row_span(graph, op), h) * w * c + 3) // 4 * 4
    for prev, op in zip(ops, ops[1:]):
        _, h, w, c = graph.tensors[prev.outputs[0]].shape
        total += (min(row_span(graph, op), h) * w * c + 3) // 4 * 4
    return total


def source_fed(graph: Graph, program: Program, ops: list[Op]) -> bool:
    """Whether a chain of `ops` can read the model input from the input source: the input is
    int8 NHWC and this chain's first op is its only reader (input 0)."""
    x = program.input_tensor
    readers = [(o.index, i) for o in graph.ops for i, t in enumerate(o.inputs) if t == x]
    return readers == [(ops[0].index, 0)] and _is_4d_int8(graph, x) and ops[0].kind != "ADD"


def _is_4d_int8(graph: Graph, t: int) -> bool:
    tensor = graph.tensors[t]
    return tensor.dtype == "int8" and len(tensor.shape) == 4 and tensor.shape[0] == 1


def _streamable(graph: Graph, op: Op) -> bool:
    """The op is of a kind and shape the row kernel streams (checked again by the runtime)."""
    if op.kind not in STREAMABLE or len(op.outputs) != 1 or not _is_4d_int8(graph, op.outputs[0]):
        return False
    if op.kind == "ADD":
        a, b = op.inputs[:2]
        shape = graph.tensors[op.outputs[0]].shape
        return (len(op.inputs) == 2 and a != b and all(_is_4d_int8(graph, t) for t in (a, b))
                and graph.tensors[a].shape == shape == graph.tensors[b].shape)
    if not _is_4d_int8(graph, op.inputs[0]):
        return False
    if op.kind in ("PAD", "PADV2"):
        pads = graph.tensors[op.inputs[1]].data
        return pads is not None and pads.shape == (4, 2) and not pads[0].any()
    return True


def _links(graph: Graph, keep: set[int], pos: int, excluded: set[int]) -> bool:
    """Whether graph.ops[pos]'s output can stream into graph.ops[pos + 1]."""
    if pos + 1 >= len(graph.ops):
        return False
    op, nxt = graph.ops[pos], graph.ops[pos + 1]
    if not (_streamable(graph, op) and _streamable(graph, nxt)):
        return False
    if op.index in excluded or nxt.index in excluded:
        return False
    t = op.outputs[0]
    if t in keep or t in graph.inputs or t in graph.outputs:
        return False
    readers = [(o.index, i) for o in graph.ops for i in o.inputs if i == t]
    if readers != [(nxt.index, t)]:
        return False
    if any(t in o.outputs for o in graph.ops if o is not op):
        return False
    return nxt.kind == "ADD" or nxt.inputs[0] == t


def find_chains(graph: Graph, keep: set[int], excluded: set[int] = frozenset()) -> list[Chain]:
    """Maximal runs of streamable consecutive ops whose inner tensors nobody else needs.
    `excluded`: op indices that must run whole (ops whose weights the step updates: their
    filter may be split between SRAM and flash, which the row kernel does not take)."""
    chains, pos = [], 0
    while pos < len(graph.ops):
        end = pos
        while _links(graph, keep, end, excluded):
            end += 1
        start = pos
        if graph.ops[start].kind == "ADD":  # the kernel cannot tell which operand a head streams
            start += 1
        if end - start + 1 >= 2:
            chains.append(Chain(start, end - start + 1))
        pos = end + 1
    return chains


def kept_tensors(graph: Graph, program: Program,
                 reads_writes: Callable[[Instruction], tuple[list[int], list[int]]]) -> set[int]:
    """Model tensors the step needs whole: read or written after the forward pass, and the
    model's input and output."""
    keep = {program.input_tensor, program.output_tensor}
    for ins in program.instructions[program.n_forward:]:
        reads, writes = reads_writes(ins)
        keep.update(t for t in reads + writes if t < program.n_model_tensors)
    return keep


def segments(graph: Graph, chain: Chain, cuts: frozenset[int]) -> list[Chain]:
    """The streamed pieces of a chain cut after the given op positions. A piece longer than
    MAX_STAGES is cut too; an ADD at a piece's head and single ops run whole (FORWARD)."""
    pieces, start = [], chain.start
    end = chain.start + chain.count
    for pos in range(chain.start, end):
        if pos == start and graph.ops[pos].kind == "ADD":
            start = pos + 1
            continue
        if pos in cuts or pos == end - 1 or pos - start + 1 == MAX_STAGES:
            if pos - start + 1 >= 2:
                pieces.append(Chain(start, pos - start + 1))
            start = pos + 1
    return pieces


def apply_streams(graph: Graph, program: Program, pieces: list[Chain],
                  input_source: bool = False, kernel_scratch: bool = False) -> Program:
    """A copy of `program` whose forward part runs each piece as one STREAM_CHAIN instruction
    with its own int8 scratch tensor (appended to the extra tensors). Other forward-part
    instructions keep their places; none may sit between the FORWARDs of one piece.
    input_source: a piece that can read the model input from the source does (module doc)."""
    out = program.copy()
    out.flags &= ~Flags.INPUT_SOURCE
    position = {op.index: pos for pos, op in enumerate(graph.ops)}
    piece_of = {pos: p for p in pieces for pos in range(p.start, p.start + p.count)}
    forward: list[Instruction] = []
    inside: Chain | None = None
    inside_next = -1  # position of the next op of the piece being replaced
    for ins in program.instructions[:program.n_forward]:
        if ins.opcode != Opcode.FORWARD:
            if inside is not None:
                raise AssertionError(f"{ins.opcode.name} lies inside a streamed chain")
            forward.append(ins)
            continue
        pos = position[ins.args[0]]
        piece = piece_of.get(pos)
        if piece is None:
            forward.append(ins)
            continue
        if pos != (piece.start if inside is None else inside_next):
            raise AssertionError("a chain's ops must be consecutive FORWARDs in graph order")
        if pos == piece.start:
            ops = graph.ops[piece.start:piece.start + piece.count]
            if [op.index for op in ops] != list(range(ops[0].index, ops[0].index + piece.count)):
                raise AssertionError("a chain's ops must have consecutive indices")
            fed = input_source and source_fed(graph, program, ops)
            if fed:
                out.flags |= Flags.INPUT_SOURCE
            windows = window_bytes(graph, ops, fed)
            out.extra.append(ExtraTensor(DType.INT8, with_kernel_scratch(graph, ops, windows)
                                         if kernel_scratch else windows))
            scratch = program.n_model_tensors + len(out.extra) - 1
            forward.append(Instruction(Opcode.STREAM_CHAIN, [ops[0].index, piece.count, scratch]))
        inside_next = pos + 1
        inside = piece if pos + 1 < piece.start + piece.count else None
    out.instructions = forward + out.instructions[program.n_forward:]
    out.n_forward = len(forward)
    return out


def chain_ops(graph: Graph, ins: Instruction) -> list[Op]:
    start = next(p for p, op in enumerate(graph.ops) if op.index == ins.args[0])
    return graph.ops[start:start + ins.args[1]]


def stream_reads_writes(graph: Graph, ins: Instruction) -> tuple[list[int], list[int]]:
    """Whole tensors a STREAM_CHAIN reads (chain input, ADD operands from outside) and writes
    (chain output, its scratch)."""
    ops = chain_ops(graph, ins)
    reads = [ops[0].inputs[0]]
    inner = {op.outputs[0] for op in ops[:-1]}
    for op in ops[1:]:
        if op.kind == "ADD":
            reads += [t for t in op.inputs[:2] if t not in inner]
    return reads, [ops[-1].outputs[0], ins.args[2]]


def choose_streams(graph: Graph, program: Program,
                   reads_writes: Callable[[Instruction], tuple[list[int], list[int]]],
                   plan_of: Callable[[Program], CompiledStep],
                   input_source: bool = False, kernel_scratch: bool = False) -> Program:
    """Stream where it lowers memory. Score of a plan: (arena bytes, peak live bytes of the
    forward part): the arena first; when the arena's peak lies in the backward pass, a smaller
    forward still counts (headroom that later backward savings expose). Start from every
    maximal chain streamed whole or from none, whichever scores better, then greedily toggle
    single cuts while the score drops. `plan_of` plans a program (it may modify it)."""
    updated = {layer.op_index for layer in program.layers if layer.weight_channels}
    # ops a fused forward instruction runs (MEAN_HEAD_FORWARD) have no FORWARD to stream
    fused = {ins.args[k] for ins in program.instructions[:program.n_forward]
             if ins.opcode == Opcode.MEAN_HEAD_FORWARD for k in (0, 1)}
    chains = find_chains(graph, kept_tensors(graph, program, reads_writes), updated | fused)
    if not chains:
        return program

    def score(p: Program) -> tuple[int, int, int]:
        step = plan_of(p.copy())
        curve = peak_live_bytes(step.buffers)
        # Last, fewer streamed ops: a row-streamed op repeats its kernel's per-call setup on
        # every output row, so streaming that saves no memory only costs instructions.
        streamed = sum(ins.args[1] for ins in p.instructions[:p.n_forward]
                       if ins.opcode == Opcode.STREAM_CHAIN)
        return step.program.arena_bytes, max(curve[:step.program.n_forward], default=0), streamed

    def build(choice):
        pieces = [p for c in chains for p in segments(graph, c, choice[c])]
        return apply_streams(graph, program, pieces, input_source, kernel_scratch)

    cuts = {c: frozenset() for c in chains}
    best = build(cuts)
    best_score = score(best)
    plain_score = score(program)
    if plain_score < best_score:  # nothing streamed is the baseline to beat
        best, best_score = program, plain_score
        cuts = {c: frozenset(range(c.start, c.start + c.count)) for c in chains}
    improved = True
    while improved:
        improved = False
        for c in chains:
            everything = frozenset(range(c.start, c.start + c.count))
            # Moves: stream the whole chain, none of it, or toggle one cut (the peak is a max
            # over steps, so single cuts alone can stall on a plateau).
            for move in [frozenset(), everything] + [cuts[c] ^ {pos} for pos in
                                                     range(c.start, c.start + c.count - 1)]:
                if move == cuts[c]:
                    continue
                trial = dict(cuts)
                trial[c] = move
                candidate = build(trial)
                candidate_score = score(candidate)
                if candidate_score < best_score:
                    best, best_score, cuts, improved = candidate, candidate_score, trial, True
    return best


def row_reach(graph: Graph, op: Op) -> tuple[int, int, int]:
    """(stride, offset, span): output row r of `op` reads input rows [r * stride - offset,
    + span), as StreamStageReach in kernels/row_stream.cc (padding resolved as TFLM does)."""
    span = row_span(graph, op)
    if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D"):
        stride = int(op.options.get("stride_h", 1))
        in_h = graph.tensors[op.inputs[0]].shape[1]
        out_h = graph.tensors[op.outputs[0]].shape[1]
        return stride, max((out_h - 1) * stride + span - in_h, 0) // 2, span
    if op.kind in ("PAD", "PADV2"):
        return 1, int(graph.tensors[op.inputs[1]].data[1][0]), 1
    return 1, 0, 1


def chain_accesses(graph: Graph, ops: list[Op]) -> list[tuple[str, int, int]]:
    """Byte ranges of the chain input read ("r") and of the chain output written ("w"), in the
    order the row kernel performs them (the same recursion and windows as row_stream.cc)."""
    x = ops[0].inputs[0]
    x_row = int(np.prod(graph.tensors[x].shape[2:]))
    heights = [graph.tensors[x].shape[1]] + [graph.tensors[op.outputs[0]].shape[1]
                                             for op in ops[:-1]]
    reach = [row_reach(graph, op) for op in ops]
    windows = [[0, 0] for _ in ops]  # first row held, rows held
    events: list[tuple[str, int, int]] = []

    def input_rows(k: int, lo: int, hi: int) -> None:
        if k == 0:
            events.append(("r", lo * x_row, hi * x_row))
            return
        w = windows[k]
        if lo > w[0]:
            w[1] = max(w[0] + w[1] - lo, 0)
            w[0] = lo
        for q in range(w[0] + w[1], hi):
            produce(k - 1, q)
            w[1] += 1

    def produce(k: int, r: int) -> None:
        stride, offset, span = reach[k]
        start = r * stride - offset
        lo = min(max(start, 0), heights[k])
        hi = max(min(start + span, heights[k]), lo)
        if hi > lo:
            input_rows(k, lo, hi)
        op = ops[k]
        if op.kind == "ADD" and k > 0 and x in op.inputs[:2]:  # reads x whole, row r
            row = int(np.prod(graph.tensors[op.outputs[0]].shape[2:]))
            events.append(("r", r * row, (r + 1) * row))

    y = graph.tensors[ops[-1].outputs[0]]
    y_row = int(np.prod(y.shape[2:]))
    for r in range(y.shape[1]):
        produce(len(ops) - 1, r)
        events.append(("w", r * y_row, (r + 1) * y_row))
    return events


def in_place_safe(graph: Graph, ops: list[Op]) -> bool:
    """Whether the chain output may overwrite its input: no input byte is read after an output
    row covering it is written. The last stage's own read of the row it writes is elementwise
    (ADD reads element i before writing element i), so an identical range is allowed there.
    Depends on the graph and the chain only: remembered per graph (the stream search asks for
    the same chains in hundreds of candidate plans)."""
    key = ("in_place_safe", tuple(op.index for op in ops))
    if key not in graph.derived:
        graph.derived[key] = _in_place_safe(graph, ops)
    return graph.derived[key]


def _in_place_safe(graph: Graph, ops: list[Op]) -> bool:
    events = chain_accesses(graph, ops)
    written: list[tuple[int, int]] = []
    for i, (kind, lo, hi) in enumerate(events):
        if kind == "w":
            written.append((lo, hi))
            continue
        for a, b in written:
            if lo < b and a < hi:
                return False
        nxt = events[i + 1] if i + 1 < len(events) else None
        if nxt and nxt[0] == "w" and lo < nxt[2] and nxt[1] < hi and (lo, hi) != nxt[1:]:
            return False
    return True


def stream_aliases(graph: Graph, program: Program,
                   reads_writes: Callable[[Instruction], tuple[list[int], list[int]]]
                   ) -> dict[int, int]:
    """{chain output: tensor whose buffer it reuses} for STREAM_CHAINs that can write their
    output over their input: the input is read by no later instruction and the row order
    allows it (in_place_safe)."""
    later_use: dict[int, int] = {}
    for step, ins in enumerate(program.instructions):
        reads, writes = reads_writes(ins)
        for t in reads + writes:
            later_use[t] = step
    alias: dict[int, int] = {}
    for step, ins in enumerate(program.instructions[:program.n_forward]):
        if ins.opcode != Opcode.STREAM_CHAIN:
            continue
        ops = chain_ops(graph, ins)
        x, y = ops[0].inputs[0], ops[-1].outputs[0]
        fed = bool(program.flags & Flags.INPUT_SOURCE) and x == program.input_tensor
        if (graph.tensors[x].is_constant or later_use.get(x) != step or fed or
                y == program.input_tensor or not in_place_safe(graph, ops)):
            continue
        alias[y] = alias.get(x, x)
    return alias


def chain_summary(graph: Graph, program: Program) -> list[dict]:
    """One entry per STREAM_CHAIN: its ops, the whole bytes of the tensors it never
    materialises, and its window bytes (for reports and tests)."""
    rows = []
    for ins in program.instructions[:program.n_forward]:
        if ins.opcode != Opcode.STREAM_CHAIN:
            continue
        ops = chain_ops(graph, ins)
        rows.append({"ops": [op.index for op in ops], "kinds": [op.kind for op in ops],
                     "inner_bytes": [graph.tensors[op.outputs[0]].nbytes for op in ops[:-1]],
                     "window_bytes": program.extra[ins.args[2] - program.n_model_tensors].elements})
    return rows


__all__ = ["Chain", "STREAMABLE", "apply_streams", "chain_accesses", "chain_summary",
           "choose_streams", "find_chains", "in_place_safe", "kept_tensors", "row_reach",
           "row_span", "segments", "source_fed", "stream_aliases", "stream_reads_writes",
           "window_bytes"]
