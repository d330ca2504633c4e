"""The SRAM of a scheme, from the converter's real planner (never a separate model that could
drift from it), remembered per scheme: the search asks for the same points many times."""
from __future__ import annotations

import time

from ..converter import ConversionError, compile_model
from .candidates import scheme_of


class SchemeMemory:
    """arena bytes of each (n_bias, ratios) point, plus `overhead_bytes` (what the step needs
    besides the arena: runtime structures, stack, the firmware's static RAM)."""

    def __init__(self, tflite: bytes, overhead_bytes: int = 0, qas: bool = True):
        self.tflite = tflite
        self.overhead_bytes = int(overhead_bytes)
        self.qas = qas
        self._arena: dict[tuple, int | None] = {}
        self.plans = 0
        self.plan_seconds = 0.0
        self.refusals: dict[tuple, str] = {}

    def arena(self, n_bias: int, ratios: tuple[float, ...]) -> int | None:
        """Planned arena bytes, or None if the converter refuses the scheme (for example a
        gradient that would pass through an op without a backward)."""
        key = (n_bias, tuple(ratios))
        if key not in self._arena:
            start = time.perf_counter()
            try:
                _, _, step = compile_model(self.tflite, scheme_of(n_bias, ratios, self.qas))
                self._arena[key] = step.program.arena_bytes
            except ConversionError as e:
                self._arena[key] = None
                self.refusals[key] = str(e)
            self.plans += 1
            self.plan_seconds += time.perf_counter() - start
        return self._arena[key]

    def sram(self, n_bias: int, ratios: tuple[float, ...]) -> int | None:
        arena = self.arena(n_bias, ratios)
        return None if arena is None else arena + self.overhead_bytes
