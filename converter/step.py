"""The compiled training step: the program to store plus what the reports read from its plan."""
from __future__ import annotations

from dataclasses import dataclass

from .planner import Buffer
from .program import Program


@dataclass
class CompiledStep:
    program: Program
    buffers: list[Buffer]          # activation-region buffers with lifetimes (for reports)
    updated_weight_bytes: int
    op_data_bytes: int
    instruction_names: list[str]
    optimizer_state_bytes: int = 0


__all__ = ["CompiledStep"]
