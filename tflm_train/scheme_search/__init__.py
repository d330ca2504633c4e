"""tflm_train.search: sparse-update search under a memory budget: contribution analysis, then an evolutionary
search over bias depth and per-layer weight ratios, every point planned by the real planner.

    result = tflm_train.search(tflite_bytes, x, y, sram_budget=200 * 1024, seed=0)
    result.scheme                       # a SparseUpdate for tflm_train.convert
    result.report                       # gains and costs of every candidate, the chosen set
    result.plot("search.png")           # accuracy against SRAM
"""
from __future__ import annotations

import numpy as np

from ..converter import BudgetError, ConversionError
from ..converter.graph import build_graph
from ..converter.tflite_io import read_model
from ..data.splits import split_indices
from .candidates import Candidate, candidates, scheme_of
from .contribution import ContributionCache, FineTune, default_cache_dir, gains, measure
from .evolution import Evolution, search as evolve
from .memory import SchemeMemory
from .report import SearchResult

LEARNING_RATES = (0.003, 0.01, 0.03, 0.1)


def search(tflite_bytes: bytes, x, y, *, sram_budget: int, overhead_bytes: int = 0,
           board: str | None = None, seed: int = 0, learning_rate: float | None = None,
           epochs: int = 1, val_fraction: float = 0.3, qas: bool = True,
           cache_dir=None, cache: bool = True, workers: int | None = None, progress: bool = True,
           evolution: Evolution | None = None) -> SearchResult:
    """Find the scheme with the largest summed accuracy gain whose training step fits.

    sram_budget: bytes the step may use in total; overhead_bytes: what it needs besides the
        arena (runtime structures, stack, the firmware's static RAM), added to every plan.
    x, y: the user's data (float or int8 inputs shaped like the model's, class indices);
        `val_fraction` of it is held out to measure each candidate's gain.
    learning_rate: of the fine-tunes; None tunes it on the held-out split over
        LEARNING_RATES with the last layer trained.
    cache_dir: contribution results are kept there (default: $XDG_CACHE_HOME or ~/.cache,
        under tflm-train/search; cache=False keeps nothing), so a rerun with another budget or
        board only searches again.
    """
    if not isinstance(sram_budget, (int, np.integer)) or sram_budget <= 0:
        raise ValueError(f"sram_budget={sram_budget!r}: give a positive number of bytes")
    graph = build_graph(read_model(tflite_bytes))
    n_layers = len(graph.trainable_ops())
    if n_layers == 0:
        raise ConversionError("the model has no trainable layers to search over")
    memory = SchemeMemory(tflite_bytes, overhead_bytes, qas)
    smallest = memory.sram(1, (0.0,) * n_layers)
    if smallest is None or smallest > sram_budget:
        raise BudgetError(
            f"no scheme fits {sram_budget} B ({sram_budget / 1024:.1f} KB): the smallest, the "
            f"last layer's bias alone, needs {smallest} B ({memory.arena(1, (0.0,) * n_layers)} B"
            f" arena + {overhead_bytes} B runtime, stack and static RAM)")

    y = np.asarray(y).reshape(-1)
    train, val = split_indices(y, 1.0 - val_fraction, seed)
    x = np.asarray(x)
    data = (x[train], y[train], x[val], y[val])
    store = ContributionCache((cache_dir or default_cache_dir()) if cache else None)

    # Candidates that do not fit on their own cannot be part of any scheme: not measured.
    every = candidates(n_layers)
    alone = {c: memory.sram(*_point(c, n_layers)) for c in every}
    fitting = [c for c in every if alone[c] is not None and alone[c] <= sram_budget]

    if learning_rate is None:
        last = Candidate("weight", n_layers - 1, 1.0).scheme(qas)
        rates = measure(tflite_bytes, data, {f"lr={lr:g}": (last, FineTune(lr, epochs, seed, qas))
                                             for lr in LEARNING_RATES}, store, workers, progress,
                        desc="learning rate")
        learning_rate = max(LEARNING_RATES, key=lambda lr: (rates[f"lr={lr:g}"], -lr))
    tune = FineTune(float(learning_rate), epochs, seed, qas)
    jobs = {"none": (None, tune), **{c.key: (c.scheme(qas), tune) for c in fitting}}
    bias1 = Candidate("bias", 1)
    jobs.setdefault(bias1.key, (bias1.scheme(qas), tune))
    acc = measure(tflite_bytes, data, jobs, store, workers, progress)
    gain = gains(acc, fitting)

    settings = evolution or Evolution(seed=seed)
    best, trace = evolve(gain, n_layers, memory, sram_budget, settings)
    scheme = scheme_of(best[0], best[1], qas)
    report = {
        "model": graph.tensors[graph.outputs[0]].name or "model",
        "board": board, "budget_bytes": int(sram_budget), "overhead_bytes": int(overhead_bytes),
        "seed": seed, "learning_rate": tune.learning_rate, "epochs": epochs,
        "samples": {"train": int(len(train)), "held_out": int(len(val))},
        "baseline_accuracy": acc["none"],
        "candidates": [{"candidate": c.key, "kind": c.kind, "layer": c.layer, "ratio": c.ratio,
                        "sram_bytes": alone[c],
                        "accuracy": acc.get(c.key), "gain": gain.get(c),
                        "measured": c in gain} for c in every],
        "chosen": {"n_bias": scheme.n_bias, "weights": {str(k): v for k, v in
                                                        scheme.weights.items()},
                   "sram_bytes": memory.sram(*best),
                   "predicted_gain": trace_gain(trace, best),
                   # Gains are summed as if independent: an estimate, capped at 100%.
                   "predicted_accuracy": min(1.0, acc["none"] + trace_gain(trace, best))},
        "planner": {"plans": memory.plans, "seconds": round(memory.plan_seconds, 2)},
        "trace": trace.points,
    }
    return SearchResult(scheme, report)


def _point(c: Candidate, n_layers: int) -> tuple:
    """The search point that trains candidate c alone (as it is measured)."""
    if c.kind == "bias":
        return c.layer, (0.0,) * n_layers
    ratios = [0.0] * n_layers
    ratios[c.layer] = c.ratio
    return 1, tuple(ratios)


def trace_gain(trace, point) -> float:
    for p in trace.points:
        if p["n_bias"] == point[0] and tuple(p["ratios"]) == tuple(point[1]):
            return p["predicted_gain"]
    raise AssertionError("the chosen point was never evaluated")


__all__ = ["search", "SearchResult", "Evolution", "Candidate", "candidates"]
