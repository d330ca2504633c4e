"""What a training step needs on a board, counted whole, and the budget check convert() makes.

SRAM = the planned arena + the session storage the firmware reserves (TT_SESSION_BYTES, as the
target builds it) + a stack bound + the firmware's own static RAM (.data + .bss besides arena
and session). Flash = the extended model + the firmware's code.

The firmware numbers come from tflm_train/data/board_build.json, written by
targets/tools/board_data.py from a cross build of the training demo firmware
(examples/firmware/train) per board: no cross compiler is needed here. The stack bound is
computed from GCC's stack and call-graph data (targets/tools/stack_bound.py) over every kernel
linked into the firmware, with one per-model part: the row-streamed chains' recursion is counted
at this model's longest chain instead of kMaxStreamStages.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from .boards import BOARDS, Board, board as find_board
from .converter import BudgetError, memory_report
from .converter.program import METADATA_NAME, Opcode, decode_instructions
from .converter.tflite_io import get_metadata, read_model

BUILD_DATA = Path(__file__).with_name("data") / "board_build.json"
FIRMWARE = "demo"  # the firmware users copy, examples/firmware/train


@lru_cache(maxsize=None)
def build_data() -> dict:
    """board_build.json: per Bazel config (a board's stand-in), per firmware, its build data."""
    return json.loads(BUILD_DATA.read_text())


def firmware_data(board: Board, firmware: str = FIRMWARE) -> dict:
    """One firmware's build data for a board ("demo", or "train_zoo": the bench firmware whose
    stack high-water marks bench/mcu measures)."""
    data = build_data()["boards"].get(board.standin)
    if data is None:
        raise ValueError(f"{BUILD_DATA.name} has no build of {board.standin} ({board.name}): "
                         "run python targets/tools/board_data.py")
    return data[firmware]


def longest_stream_chain(extended: bytes) -> int:
    """Stages of the model's longest row-streamed chain (0: none)."""
    blob = get_metadata(read_model(extended), METADATA_NAME)
    return max((i.args[1] for i in decode_instructions(blob)
                if i.opcode == Opcode.STREAM_CHAIN), default=0)


def chains_with_stack_scratch(extended: bytes) -> int:
    """Streamed chains whose kernels' scratch the plan leaves to the runtime's stack (the
    converter plans it in the arena where that keeps the arena)."""
    from .converter import streaming
    from .converter.graph import build_graph
    from .converter.program import Flags, decode_extra, decode_header

    model = read_model(extended)
    blob = get_metadata(model, METADATA_NAME)
    h = decode_header(blob)
    return streaming.chains_with_stack_scratch(
        build_graph(model), decode_instructions(blob)[:h["n_forward"]], decode_extra(blob),
        h["n_model_tensors"], bool(h["flags"] & Flags.INPUT_SOURCE), h["input_tensor"])


def stack_bound(extended: bytes, board: Board, firmware: str = FIRMWARE) -> int:
    """Bytes of stack the firmware can need running this model: the deepest call path from
    reset plus the tick interrupt with its exception frame (board_build.json), with the
    row-stream recursion counted at this model's longest chain, and the chains' stack path for
    their kernels' scratch only if one of its chains takes it."""
    return stack_bound_for_chain(longest_stream_chain(extended), board, firmware,
                                 chains_with_stack_scratch(extended) > 0)


def stack_bound_for_chain(stages: int, board: Board, firmware: str = FIRMWARE,
                          stack_scratch: bool = True) -> int:
    """stack_bound of a model whose longest row-streamed chain has `stages` stages (0: none);
    stack_scratch: some chain holds its kernels' scratch on the stack (the safe default for a
    plan not yet made)."""
    fw = firmware_data(board, firmware)
    key = "" if stack_scratch else "_arena_scratch"
    thread = fw["stack_thread_without_stream" + key + "_bytes"]
    if stages:
        unused = fw["stream_max_levels"] - stages
        thread = max(thread, fw["stack_thread" + key + "_bytes"]
                     - unused * fw["stream_level_bytes"])
    return thread + fw["stack_handler_bytes"]


def _resolve(board: str | Board | None) -> list[Board]:
    if board is None:
        return list(BOARDS.values())
    return [board if isinstance(board, Board) else find_board(board)]


def sram_needed(extended: bytes, board: str | Board | None = None) -> dict:
    """SRAM parts in bytes and their total. board: a name of tflm_train.boards (or a Board); None
    takes each firmware part at its largest over the known boards."""
    boards = _resolve(board)
    arena = memory_report(extended).arena_bytes
    parts = {"arena": arena,
             "session_storage": max(firmware_data(b)["session_bytes"] for b in boards),
             "stack_bound": max(stack_bound(extended, b) for b in boards),
             "firmware_static": max(firmware_data(b)["static_ram_bytes"] for b in boards)}
    return {**parts, "total": sum(parts.values()),
            "board": boards[0].name if board is not None else None}


def flash_needed(extended: bytes, board: str | Board | None = None) -> dict:
    """Flash parts in bytes: the extended model file and the firmware's code (the demo
    firmware's image less its embedded model and steps), and their total."""
    boards = _resolve(board)
    parts = {"model_file": len(extended),
             "firmware_code": max(firmware_data(b)["code_bytes"] for b in boards)}
    return {**parts, "total": sum(parts.values()),
            "board": boards[0].name if board is not None else None}


def overhead_bytes(stages: int, board: str | Board | None = None,
                   stack_scratch: bool = True) -> int:
    """What a step needs besides its arena (session storage + stack bound + the firmware's
    static RAM) for a plan whose longest streamed chain has `stages` stages (stack_scratch: some
    chain keeps its kernels' scratch on the stack): sram_needed's total less the arena, without
    writing the model (the scheme search plans many)."""
    boards = _resolve(board)
    return (max(firmware_data(b)["session_bytes"] for b in boards)
            + max(stack_bound_for_chain(stages, b, stack_scratch=stack_scratch) for b in boards)
            + max(firmware_data(b)["static_ram_bytes"] for b in boards))


def _describe(kind: str, need: dict, budget: int, source: str) -> str:
    parts = " + ".join(f"{k.replace('_', ' ')} {v:,} B" for k, v in need.items()
                       if k not in ("total", "board"))
    return (f"the training step needs {need['total']:,} B of {kind} ({parts}), over the "
            f"{budget:,} B budget{source} by {need['total'] - budget:,} B")


def check_budget(extended: bytes, sram_budget: int | None = None,
                 flash_budget: int | None = None, board: str | None = None) -> None:
    """BudgetError naming each part and the total if the step does not fit. board sets both
    budgets to the board's SRAM and application flash unless they are given."""
    found = find_board(board) if board is not None else None
    for name, value in (("sram_budget", sram_budget), ("flash_budget", flash_budget)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value <= 0):
            raise ValueError(f"{name} must be a positive number of bytes, got {value!r}")
    problems = []
    for kind, budget, need_fn, size in (
            ("SRAM", sram_budget, sram_needed, "sram_bytes"),
            ("flash", flash_budget, flash_needed, "flash_bytes")):
        source = ""
        if budget is None and found is not None:
            budget, source = getattr(found, size), f" of {found.name}"
        elif budget is not None and found is not None:
            source = f" (given; {found.name} has {getattr(found, size):,} B)"
        if budget is None:
            continue
        need = need_fn(extended, found)
        if need["total"] > budget:
            problems.append(_describe(kind, need, budget, source))
    if problems:
        raise BudgetError("; ".join(problems) + ". Update fewer layers or smaller channel "
                          "ratios" + ("" if found else ", or name the board (board=...)"))


__all__ = ["sram_needed", "flash_needed", "check_budget", "stack_bound", "longest_stream_chain",
           "build_data", "overhead_bytes", "stack_bound_for_chain"]
