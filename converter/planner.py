"""Offline arena planning: place tensors with known lifetimes so live ones never overlap."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Buffer:
    key: object      # caller's identifier
    size: int        # bytes
    first: int       # first step that writes it
    last: int        # last step that reads it
    offset: int = -1


def align(n: int, alignment: int) -> int:
    return (n + alignment - 1) // alignment * alignment


def plan(buffers: list[Buffer], alignment: int = 16) -> int:
    """Assign offsets (greedy: largest first, lowest gap that fits); return the peak bytes.

    Two buffers may share bytes only if their [first, last] step intervals are disjoint.
    """
    placed: list[Buffer] = []
    for buf in sorted(buffers, key=lambda b: (-b.size, b.first, str(b.key))):
        live = sorted((p for p in placed if not (p.last < buf.first or buf.last < p.first)),
                      key=lambda p: p.offset)
        offset = 0
        for other in live:
            if offset + buf.size <= other.offset:
                break
            offset = max(offset, align(other.offset + other.size, alignment))
        buf.offset = offset
        placed.append(buf)
    return align(max((b.offset + b.size for b in buffers), default=0), alignment)


def peak_live_bytes(buffers: list[Buffer]) -> list[int]:
    """Bytes live at each step (a memory-over-time curve for reports)."""
    if not buffers:
        return []
    steps = max(b.last for b in buffers) + 1
    curve = [0] * steps
    for b in buffers:
        for s in range(max(b.first, 0), b.last + 1):
            curve[s] += b.size
    return curve
