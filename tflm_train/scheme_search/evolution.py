"""Evolutionary search of a sparse-update scheme: maximise the summed contribution gains of
the chosen bias depth and per-layer weight ratios, subject to the SRAM budget, with every
point's memory from the real planner (SchemeMemory).

A point is (n_bias, ratio per trainable layer, 0 = frozen). Infeasible points are repaired
(the update with the least gain is cut one ratio step at a time until the plan fits), so the
population stays within the budget. Everything is drawn from one seeded generator: the same
inputs give the same scheme.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .candidates import WEIGHT_RATIOS, Candidate
from .memory import SchemeMemory

LEVELS = (0.0, *WEIGHT_RATIOS)
LARGE_MODEL = 16  # trainable layers


@dataclass
class Evolution:
    population: int = 24
    generations: int = 16
    parents: int = 8
    mutation: float = 0.15
    seed: int = 0

    @classmethod
    def for_model(cls, n_layers: int, seed: int = 0) -> "Evolution":
        """The default size: 24 x 16 for a small model; 12 x 6 (4 parents) above LARGE_MODEL
        trainable layers, where a plan costs ~0.1-0.3 s of CPU (person_detect, 28 layers:
        24 x 16 planned ~1,000 points per budget; 12 x 6 still beat random search at equal
        plans in the bench, NOTES issue 13). By layer count, so it is deterministic."""
        if n_layers > LARGE_MODEL:
            return cls(population=12, generations=6, parents=4, seed=seed)
        return cls(seed=seed)


@dataclass
class SearchTrace:
    points: list[dict] = field(default_factory=list)  # every evaluated feasible point

    def add(self, generation: int, point: tuple, sram: int, fitness: float) -> None:
        self.points.append({"generation": generation, "n_bias": point[0],
                            "ratios": list(point[1]), "sram_bytes": sram,
                            "predicted_gain": fitness})


def fitness(point: tuple, gain: dict[Candidate, float]) -> float:
    n_bias, ratios = point
    total = gain.get(Candidate("bias", n_bias), 0.0) if n_bias else 0.0
    for i, r in enumerate(ratios):
        if r > 0:
            total += gain[Candidate("weight", i, r)]
    return total


def search(gain: dict[Candidate, float], n_layers: int, memory: SchemeMemory, budget: int,
           settings: Evolution = Evolution(), workers: int | None = 1
           ) -> tuple[tuple, SearchTrace]:
    """The best feasible point found, and the trace of every feasible point evaluated.
    Candidates missing from `gain` (not measured: they alone exceed the budget) are never
    chosen. Each generation's points are drawn first, then repaired (planned) on `workers`
    processes (None: all cores): repairs draw no random numbers, so the result is the serial
    loop's."""
    rng = np.random.default_rng(settings.seed)
    allowed = [[r for r in LEVELS if r == 0 or Candidate("weight", i, r) in gain]
               for i in range(n_layers)]
    max_bias = max([c.layer for c in gain if c.kind == "bias"], default=0)
    trace = SearchTrace()
    scored: dict[tuple, float] = {}

    def fits(point) -> bool:
        return memory.fits(*point, budget)

    def repair(point):
        n_bias, ratios = point[0], list(point[1])
        while not fits((n_bias, tuple(ratios))):
            # Cut the active choice whose gain is least per step: a weight ratio down one level,
            # or the bias depth down by one.
            options = []
            for i, r in enumerate(ratios):
                if r > 0:
                    lower = allowed[i][allowed[i].index(r) - 1]
                    loss = gain[Candidate("weight", i, r)] - (
                        gain[Candidate("weight", i, lower)] if lower else 0.0)
                    options.append((loss, 1, i, lower))
            if n_bias > 0:
                loss = gain.get(Candidate("bias", n_bias), 0.0) - (
                    gain.get(Candidate("bias", n_bias - 1), 0.0) if n_bias > 1 else 0.0)
                options.append((loss, 0, -1, n_bias - 1))
            if not options:
                return None
            _, kind, i, value = min(options)
            if kind:
                ratios[i] = value
            else:
                n_bias = value
        return n_bias, tuple(ratios)

    def evaluate(points, generation):
        """The repaired points (None: repaired down to nothing), scored and traced in order."""
        repaired = memory.map(repair, points, workers)
        for point in repaired:
            if point is not None and point not in scored:
                scored[point] = fitness(point, gain)
                trace.add(generation, point, memory.sram(*point), scored[point])
        return repaired

    def random_point():
        density = rng.uniform(0.0, 0.5)
        ratios = tuple(allowed[i][rng.integers(1, len(allowed[i]))]
                       if len(allowed[i]) > 1 and rng.random() < density else 0.0
                       for i in range(n_layers))
        return int(rng.integers(0, max_bias + 1)), ratios

    def mutate(point):
        n_bias, ratios = point[0], list(point[1])
        if rng.random() < settings.mutation * 2:
            n_bias = int(np.clip(n_bias + rng.integers(-2, 3), 0, max_bias))
        for i in range(n_layers):
            if rng.random() < settings.mutation:
                ratios[i] = allowed[i][rng.integers(0, len(allowed[i]))]
        return n_bias, tuple(ratios)

    def crossover(a, b):
        mask = rng.random(n_layers) < 0.5
        ratios = tuple(x if m else y for x, y, m in zip(a[1], b[1], mask))
        return (a[0] if rng.random() < 0.5 else b[0]), ratios

    # The seeds of the first generation: nothing but biases (always cheap), and random points,
    # drawn in batches of what is still missing (up to 4 x population draws, as one by one).
    population = [p for p in evaluate([(max_bias, (0.0,) * n_layers)], 0) if p is not None]
    draws = 0
    while len(population) < settings.population and draws < 4 * settings.population:
        batch = [random_point() for _ in range(min(settings.population - len(population),
                                                   4 * settings.population - draws))]
        draws += len(batch)
        population += [p for p in evaluate(batch, 0) if p is not None]
    if not population:
        return None, trace
    for generation in range(1, settings.generations + 1):
        ranked = sorted(set(population), key=lambda p: (-scored[p], p))
        parents = ranked[:settings.parents]
        pairs, drawn = [], []
        for _ in range(settings.population - len(parents)):
            a = parents[rng.integers(0, len(parents))]
            b = parents[rng.integers(0, len(parents))]
            pairs.append((a, b))
            drawn.append(mutate(crossover(a, b)))
        # A child repaired down to nothing is replaced by its first parent.
        children = evaluate(drawn, generation)
        population = list(parents) + [c if c is not None else a
                                      for c, (a, _) in zip(children, pairs)]
    best = max(scored, key=lambda p: (scored[p], -memory.sram(*p), p))
    return best, trace


def finalists(trace: SearchTrace, k: int, identity=None) -> list[tuple]:
    """The points the joint check trains: the best predicted one, then up to k - 1 others
    spread evenly (by position) over the front of the trace, the points with more predicted
    gain than every cheaper point. Summed single gains overrate large schemes, so smaller
    points of the front are worth a real training too. `identity(point)` says what a point
    trains (None: nothing): points with one identity take one slot (the one with the most
    predicted gain, then the least SRAM) and a point that trains nothing takes none.
    Deterministic: the trace is."""
    identity = identity or (lambda p: p)
    scored = {(p["n_bias"], tuple(p["ratios"])): (p["predicted_gain"], p["sram_bytes"])
              for p in trace.points}
    if not scored or k <= 0:
        return []
    points, seen = {}, set()
    for p in sorted(scored, key=lambda p: (-scored[p][0], scored[p][1], p)):
        ident = identity(p)
        if ident is not None and ident not in seen:
            seen.add(ident)
            points[p] = scored[p]
    if not points:
        return []
    best = max(points, key=lambda p: (points[p][0], -points[p][1], p))
    front, top = [], float("-inf")
    for p in sorted(points, key=lambda p: (points[p][1], -points[p][0], p)):
        if points[p][0] > top:
            front.append(p)
            top = points[p][0]
    others = [p for p in front if p != best]
    if len(others) > k - 1:
        picks = np.linspace(len(others) - 1, 0, k - 1).round().astype(int) if k > 1 else []
        others = [others[i] for i in sorted(set(int(i) for i in picks), reverse=True)]
    return [best] + others
