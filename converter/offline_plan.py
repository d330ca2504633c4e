"""TFLM's `OfflineMemoryAllocation` metadata for the inference subgraph, from our planner.

Stock TFLM reads this metadata entry (int32 words: format version, number of subgraphs, number
of offsets n, then the byte offset of each subgraph-0 tensor in the arena's non-persistent
section, or -1 for "plan it at run time") and places those tensors exactly there. We write the
plan of subgraph 0 as TFLM runs it: every op whole, a tensor live from the op that writes it to
the last op that reads it (the model's outputs to the end), constants in flash (-1). So a
stock TFLM interpreter of the extended file uses our plan instead of its own.
"""
from __future__ import annotations

import struct

from .errors import ConversionError
from .graph import Graph
from .planner import Buffer, plan

METADATA_NAME = "OfflineMemoryAllocation"
FORMAT_VERSION = 0
ALIGNMENT = 16  # TFLM aligns arena buffers to 16 bytes


def inference_offsets(graph: Graph) -> tuple[list[int], int]:
    """(offset per subgraph-0 tensor or -1, bytes the planned tensors need)."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for t in graph.inputs:
        first[t] = last[t] = 0
    for step, op in enumerate(graph.ops):
        for t in op.outputs:
            first.setdefault(t, step)
            last[t] = max(last.get(t, step), step)
        for t in op.inputs:
            if t < 0 or graph.tensors[t].is_constant:
                continue
            first.setdefault(t, step)
            last[t] = max(last.get(t, step), step)
    end = max(len(graph.ops) - 1, 0)
    for t in graph.outputs:
        last[t] = end
    buffers = [Buffer(t, graph.tensors[t].nbytes, first[t], last[t]) for t in first]
    peak = plan(buffers, ALIGNMENT)
    offsets = [-1] * len(graph.tensors)
    for b in buffers:
        offsets[b.key] = b.offset
    return offsets, peak


def encode(offsets: list[int]) -> bytes:
    """The metadata words; ConversionError if an offset does not fit TFLM's int32 words (a
    tensor outside the training program, e.g. an unused op output, can be that large)."""
    too_far = [t for t, off in enumerate(offsets) if off > 2**31 - 1]
    if too_far:
        raise ConversionError(
            f"the inference plan places tensor {too_far[0]} at byte {offsets[too_far[0]]}, "
            "beyond TFLM's 32-bit offline-plan words: the model's tensors are too large for a "
            "microcontroller")
    return struct.pack(f"<3i{len(offsets)}i", FORMAT_VERSION, 1, len(offsets), *offsets)
