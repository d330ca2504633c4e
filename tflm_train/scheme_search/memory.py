"""The SRAM of a scheme, from the converter's real planner (never a separate model that could
drift from it), remembered per scheme: the search asks for the same points many times."""
from __future__ import annotations

import time

from ..converter import ConversionError, compile_model
from ..converter import new_head
from ..converter.graph import build_graph
from ..converter.program import Opcode
from ..converter.scheme import resolve
from ..converter.tflite_io import read_model
from .candidates import scheme_of


class SchemeMemory:
    """SRAM of each (n_bias, ratios) point as tflm_train.budget counts it: the planned arena +
    the session storage, the stack bound (for the plan's longest streamed chain) and the
    firmware's static RAM of `board` (None: the largest over the known boards)."""

    def __init__(self, tflite: bytes, board=None, qas: bool = True,
                 num_classes: int | None = None, seed: int = 0):
        self.tflite, self.board, self.qas = tflite, board, qas
        self.num_classes, self.seed = num_classes, seed
        self._plans: dict[tuple, tuple[int, int] | None] = {}
        self.plans = 0
        self.plan_seconds = 0.0
        self.refusals: dict[tuple, str] = {}
        self._graph = None

    def scheme(self, n_bias: int, ratios: tuple[float, ...]):
        return scheme_of(n_bias, ratios, self.qas, new_head=self.num_classes is not None)

    def identity(self, n_bias: int, ratios: tuple[float, ...]) -> tuple | None:
        """What the point trains, as the converter resolves it: (layer, weight channels, bias)
        per updated layer; None if it trains nothing. Points that differ only in ways the
        converter ignores ((0, r) and (1, r) once a weight trains; a bias depth covered by
        trained weights; two ratios giving one channel count) have one identity."""
        if self._graph is None:
            model = read_model(self.tflite)
            if self.num_classes is not None:
                new_head.replace(model, self.num_classes, self.seed)
            self._graph = build_graph(model)
        try:
            updates = resolve(self._graph, self.scheme(n_bias, ratios))
        except ConversionError:
            return None  # the scheme selects nothing to train
        layers = self._graph.trainable_ops()
        index = {id(op): i for i, op in enumerate(layers)}
        return tuple((index[id(u.op)], u.weight_channels, u.update_bias) for u in updates)

    def _plan(self, n_bias: int, ratios: tuple[float, ...]) -> tuple[int, int] | None:
        """(arena bytes, stages of the longest streamed chain), or None if the converter refuses
        the scheme (for example a gradient through an op without a backward)."""
        key = (n_bias, tuple(ratios))
        if key not in self._plans:
            start = time.perf_counter()
            try:
                program = compile_model(self.tflite, self.scheme(n_bias, ratios),
                                        num_classes=self.num_classes, seed=self.seed)[2].program
                stages = max((i.args[1] for i in program.instructions
                              if i.opcode == Opcode.STREAM_CHAIN), default=0)
                self._plans[key] = (program.arena_bytes, stages)
            except ConversionError as e:
                self._plans[key] = None
                self.refusals[key] = str(e)
            self.plans += 1
            self.plan_seconds += time.perf_counter() - start
        return self._plans[key]

    def arena(self, n_bias: int, ratios: tuple[float, ...]) -> int | None:
        plan = self._plan(n_bias, ratios)
        return None if plan is None else plan[0]

    def sram(self, n_bias: int, ratios: tuple[float, ...]) -> int | None:
        from ..budget import overhead_bytes  # tflm_train.budget imports the converter package
        plan = self._plan(n_bias, ratios)
        return None if plan is None else plan[0] + overhead_bytes(plan[1], self.board)
