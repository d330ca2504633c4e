"""The SRAM of a scheme, from the converter's real planner (never a separate model that could
drift from it), remembered per scheme: the search asks for the same points many times.

Planning is most of a search's time on a large model (person_detect: ~0.15-0.35 s of CPU per
plan, most of it the converter's stream search), so three things keep plans down:
- the model is parsed once and every plan reuses its graph (compile_model parses it again);
- a lower bound that needs no plan (the trained tensors, which stay in SRAM for the whole step,
  plus the frozen forward pass's activation peak, plus the firmware parts at their least)
  rejects points that cannot fit before they are planned;
- map() runs work that plans (the evolution's repairs) on forked workers and keeps their plans.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from ..converter import ConversionError
from ..converter import float_io, new_head, streaming
from ..converter.graph import build_graph
from ..converter.pipeline import compile_step
from ..converter.program import Flags, Opcode
from ..converter.scheme import SparseUpdate, resolve
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
        self._plans: dict[tuple, tuple[int, int, bool] | None] = {}
        self.plans = 0
        self.plan_seconds = 0.0
        self.bound_rejections = 0  # points the lower bound kept from the planner
        self.refusals: dict[tuple, str] = {}
        self._graph = None
        self._forward_peak = None

    def scheme(self, n_bias: int, ratios: tuple[float, ...]):
        return scheme_of(n_bias, ratios, self.qas, new_head=self.num_classes is not None)

    @property
    def graph(self):
        """The model's graph (with the new head), built once: as compile_model builds it."""
        if self._graph is None:
            model = read_model(self.tflite)
            if self.num_classes is not None:
                new_head.replace(model, self.num_classes, self.seed)
            graph = build_graph(model)
            float_io.check_io(graph)
            self._graph = graph
        return self._graph

    def _updates(self, n_bias: int, ratios: tuple[float, ...]):
        return resolve(self.graph, self.scheme(n_bias, ratios))

    def identity(self, n_bias: int, ratios: tuple[float, ...]) -> tuple | None:
        """What the point trains, as the converter resolves it: (layer, weight channels, bias)
        per updated layer; None if it trains nothing. Points that differ only in ways the
        converter ignores ((0, r) and (1, r) once a weight trains; a bias depth covered by
        trained weights; two ratios giving one channel count) have one identity."""
        try:
            updates = self._updates(n_bias, ratios)
        except ConversionError:
            return None  # the scheme selects nothing to train
        index = {op.index: i for i, op in enumerate(self.graph.trainable_ops())}
        return tuple((index[u.op.index], u.weight_channels, u.update_bias) for u in updates)

    def _plan(self, n_bias: int, ratios: tuple[float, ...]) -> tuple[int, int, bool] | None:
        """(arena bytes, stages of the longest streamed chain, whether a chain keeps its
        kernels' scratch on the stack), or None if the converter refuses the scheme (for
        example a gradient through an op without a backward)."""
        key = (n_bias, tuple(ratios))
        if key not in self._plans:
            start = time.perf_counter()
            try:
                scheme = self.scheme(n_bias, ratios)
                updates = resolve(self.graph, scheme)
                if self.num_classes is not None:
                    new_head.check_trained(self.graph, updates)
                program = compile_step(self.graph, updates, scheme).program
                stages = max((i.args[1] for i in program.instructions
                              if i.opcode == Opcode.STREAM_CHAIN), default=0)
                on_stack = streaming.chains_with_stack_scratch(
                    self.graph, program.instructions[:program.n_forward], program.extra,
                    program.n_model_tensors,
                    bool(program.flags & Flags.INPUT_SOURCE), program.input_tensor) > 0
                self._plans[key] = (program.arena_bytes, stages, on_stack)
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
        return None if plan is None else plan[0] + overhead_bytes(plan[1], self.board, plan[2])

    def lower_bound(self, n_bias: int, ratios: tuple[float, ...]) -> int:
        """SRAM no plan of the point can go below, without planning it: its trained tensors
        (int8 weight rows as the runtime keeps them, int32 biases; held for the whole step) +
        the activation peak of the frozen forward pass (the training step runs that forward
        too, beside the trained tensors) + the firmware parts with no streamed chain (the
        least stack bound). 0 if the scheme trains nothing. tests/test_search.py checks it
        against real plans."""
        from ..budget import overhead_bytes

        if self._forward_peak is None:
            frozen = SparseUpdate(inference_only=True)
            program = compile_step(self.graph, resolve(self.graph, frozen), frozen).program
            self._forward_peak = program.arena_bytes - program.persistent_bytes
        try:
            updates = self._updates(n_bias, ratios)
        except ConversionError:
            return 0
        trained = 0
        for u in updates:
            weight, bias = u.op.inputs[1], u.op.inputs[2] if len(u.op.inputs) > 2 else -1
            if u.weight_channels:
                whole = self.graph.tensors[weight].nbytes
                # a partial depthwise filter keeps its channels rounded up to 4: at least these
                partial = u.op.kind in ("CONV_2D", "FULLY_CONNECTED", "DEPTHWISE_CONV_2D") and \
                    u.weight_channels < u.out_channels
                trained += whole // u.out_channels * u.weight_channels if partial else whole
            if u.update_bias and bias >= 0:
                trained += self.graph.tensors[bias].nbytes
        return trained + self._forward_peak + overhead_bytes(0, self.board)

    def fits(self, n_bias: int, ratios: tuple[float, ...], budget: int) -> bool:
        """Whether the point's plan fits `budget`; planned only if the lower bound allows."""
        key = (n_bias, tuple(ratios))
        if key not in self._plans and self.lower_bound(n_bias, ratios) > budget:
            self.bound_rejections += 1
            return False
        sram = self.sram(n_bias, ratios)
        return sram is not None and sram <= budget

    def map(self, fn, items: list, workers: int | None = None) -> list:
        """[fn(item) for item in items], on `workers` forked processes (default: all cores)
        when there is more than one item; the plans the workers make are kept here, so the
        result and every later answer are what the serial loop would give."""
        workers = min(workers or os.cpu_count() or 1, len(items))
        if workers <= 1:
            return [fn(item) for item in items]
        _FORKED.update(fn=fn, memory=self, items=items)
        try:
            # fork: the workers inherit this object with its plans (and fn, a closure that
            # could not be pickled). Each sends back what it planned.
            with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
                answers = list(pool.map(_run_forked, range(len(items))))
        finally:
            _FORKED.clear()
        out = []
        for result, plans, refusals, count, seconds, rejections in answers:
            for key, plan in plans.items():
                if key not in self._plans:
                    self._plans[key] = plan
                    self.plans += 1
            self.refusals.update(refusals)
            self.plan_seconds += seconds
            self.bound_rejections += rejections
            out.append(result)
        return out


_FORKED: dict = {}


def _run_forked(i: int):
    memory: SchemeMemory = _FORKED["memory"]
    known = set(memory._plans)
    seconds, rejections = memory.plan_seconds, memory.bound_rejections
    result = _FORKED["fn"](_FORKED["items"][i])
    # A worker runs several items and keeps its plans for the next; each item sends back
    # only what it planned itself.
    new = {k: v for k, v in memory._plans.items() if k not in known}
    return (result, new, {k: memory.refusals[k] for k in new if k in memory.refusals},
            len(new), memory.plan_seconds - seconds, memory.bound_rejections - rejections)
