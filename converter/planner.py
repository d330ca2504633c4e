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


# Orders in which the greedy placement may take the buffers. Largest-first is the classic
# choice; the others win when big short-lived buffers would otherwise fragment the arena. The
# planner keeps whichever order gives the smallest peak (ties: the first).
_ORDERS = (
    lambda b: (-b.size, b.first, str(b.key)),
    lambda b: (-(b.size * (b.last - b.first + 1)), b.first, str(b.key)),
    lambda b: (b.first, -b.size, str(b.key)),
    lambda b: (-(b.last - b.first), -b.size, str(b.key)),
)


def _place(buffers: list[Buffer], order, alignment: int) -> list[int]:
    """Greedy placement in `order`: each buffer at the lowest gap among the already placed
    buffers whose lifetimes overlap its own. Returns the offsets (buffers' order)."""
    placed: list[tuple[int, int, int, int]] = []  # (offset, size, first, last)
    offsets = [0] * len(buffers)
    for i in sorted(range(len(buffers)), key=lambda i: order(buffers[i])):
        buf = buffers[i]
        live = sorted(p for p in placed if not (p[3] < buf.first or buf.last < p[2]))
        offset = 0
        for other_offset, other_size, _, _ in live:
            if offset + buf.size <= other_offset:
                break
            offset = max(offset, align(other_offset + other_size, alignment))
        offsets[i] = offset
        placed.append((offset, buf.size, buf.first, buf.last))
    return offsets


def plan(buffers: list[Buffer], alignment: int = 16) -> int:
    """Assign offsets (greedy, lowest gap that fits, best of a few placement orders); return
    the peak bytes. Two buffers may share bytes only if their [first, last] step intervals are
    disjoint."""
    best, best_peak = None, None
    for order in _ORDERS:
        offsets = _place(buffers, order, alignment)
        peak = align(max((o + b.size for o, b in zip(offsets, buffers)), default=0), alignment)
        if best_peak is None or peak < best_peak:
            best, best_peak = offsets, peak
    for buf, offset in zip(buffers, best or []):
        buf.offset = offset
    return best_peak or 0


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
