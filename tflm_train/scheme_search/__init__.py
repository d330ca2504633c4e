"""tflm_train.search: sparse-update search under a memory budget: contribution analysis, then an evolutionary
search over bias depth and per-layer weight ratios, every point planned by the real planner.

    result = tflm_train.search(tflite_bytes, x, y, board="nano33ble", seed=0)
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
from .candidates import Candidate, candidates
from .contribution import ContributionCache, FineTune, default_cache_dir, gains, measure
from .evolution import Evolution, search as evolve
from .memory import SchemeMemory
from .report import SearchResult

LEARNING_RATES = (0.003, 0.01, 0.03, 0.1)


def search(tflite_bytes: bytes, x, y, *, board: str | None = None,
           sram_budget: int | None = None, num_classes: int | None = None, seed: int = 0,
           learning_rate: float | None = None, epochs: int = 1, val_fraction: float = 0.3,
           qas: bool = True, cache_dir=None, cache: bool = True, workers: int | None = None,
           progress: bool = True, evolution: Evolution | None = None) -> SearchResult:
    """Find the scheme with the largest summed accuracy gain whose training step fits.

    board: a board of tflm_train.boards (e.g. "nano33ble"): its SRAM is the budget, and its
        firmware's session storage, stack bound and static RAM are counted with every plan.
    sram_budget: the budget in bytes instead (or below the board's); without a board the
        firmware parts are the largest over the known boards.
    num_classes: train a new K-way head (convert(num_classes=K)); it is trained in every
        scheme, and `seed` seeds its initial weights.
    x, y: the user's data (float or int8 inputs shaped like the model's, class indices);
        `val_fraction` of it is held out to measure each candidate's gain.
    learning_rate: of the fine-tunes; None tunes it on the held-out split over
        LEARNING_RATES with the last layer trained.
    cache_dir: contribution results are kept there (default: $XDG_CACHE_HOME or ~/.cache,
        under tflm-train/search; cache=False keeps nothing), so a rerun with another budget or
        board only searches again.
    """
    from ..boards import board as find_board

    found = find_board(board) if board is not None else None
    if sram_budget is None:
        if found is None:
            raise ValueError("give board= (its SRAM is the budget) or sram_budget= in bytes")
        sram_budget = found.sram_bytes
    if isinstance(sram_budget, bool) or not isinstance(sram_budget, (int, np.integer)) \
            or sram_budget <= 0:
        raise ValueError(f"sram_budget={sram_budget!r}: give a positive number of bytes")
    graph = build_graph(read_model(tflite_bytes))
    n_layers = len(graph.trainable_ops())
    if n_layers == 0:
        raise ConversionError("the model has no trainable layers to search over")
    head = num_classes is not None
    memory = SchemeMemory(tflite_bytes, found, qas, num_classes, seed)
    zeros = (0.0,) * n_layers
    smallest = memory.sram(1, zeros)
    if smallest is None or smallest > sram_budget:
        what = "the new head with its bias" if head else "the last layer's bias alone"
        detail = "refused by the converter: " + memory.refusals.get((1, zeros), "") \
            if smallest is None else \
            f"{smallest} B ({memory.arena(1, zeros)} B arena + {smallest - memory.arena(1, zeros)}" \
            " B session storage, stack bound and firmware static RAM)"
        raise BudgetError(f"no scheme fits {sram_budget} B ({sram_budget / 1024:.1f} KB): the "
                          f"smallest, {what}, needs {detail}")

    y = np.asarray(y).reshape(-1)
    train, val = split_indices(y, 1.0 - val_fraction, seed)
    x = np.asarray(x)
    data = (x[train], y[train], x[val], y[val])
    store = ContributionCache((cache_dir or default_cache_dir()) if cache else None)

    # Candidates that do not fit on their own cannot be part of any scheme: not measured.
    every = candidates(n_layers, head)
    alone = {c: memory.sram(*c.point(n_layers)) for c in every}
    fitting = [c for c in every if alone[c] is not None and alone[c] <= sram_budget]

    def tune_of(lr: float) -> FineTune:
        return FineTune(float(lr), epochs, seed, qas, num_classes)

    if learning_rate is None:
        last = memory.scheme(1, tuple(1.0 if i == n_layers - 1 else 0.0
                                      for i in range(n_layers)))
        rates = measure(tflite_bytes, data, {f"lr={lr:g}": (last, tune_of(lr))
                                             for lr in LEARNING_RATES}, store, workers, progress,
                        desc="learning rate")
        learning_rate = max(LEARNING_RATES, key=lambda lr: (rates[f"lr={lr:g}"], -lr))
    tune = tune_of(learning_rate)
    # "none": the model as it is, or with a new head, that head trained alone.
    jobs = {"none": (memory.scheme(0, zeros) if head else None, tune),
            **{c.key: (memory.scheme(*c.point(n_layers)), tune) for c in fitting}}
    bias1 = Candidate("bias", 1)
    jobs.setdefault(bias1.key, (memory.scheme(*bias1.point(n_layers)), tune))
    acc = measure(tflite_bytes, data, jobs, store, workers, progress)
    gain = gains(acc, fitting)

    settings = evolution or Evolution(seed=seed)
    best, trace = evolve(gain, n_layers, memory, sram_budget, settings)
    scheme = memory.scheme(*best)
    report = {
        "model": graph.tensors[graph.outputs[0]].name or "model",
        "board": found.name if found else None, "budget_bytes": int(sram_budget),
        "num_classes": num_classes, "seed": seed, "learning_rate": tune.learning_rate,
        "epochs": epochs, "samples": {"train": int(len(train)), "held_out": int(len(val))},
        "baseline_accuracy": acc["none"],
        "candidates": [{"candidate": c.key, "kind": c.kind, "layer": c.layer, "ratio": c.ratio,
                        "sram_bytes": alone[c],
                        "accuracy": acc.get(c.key), "gain": gain.get(c),
                        "measured": c in gain} for c in every],
        "chosen": {"n_bias": scheme.n_bias, "weights": {str(k): v for k, v in
                                                        scheme.weights.items()},
                   "sram_bytes": memory.sram(*best),
                   "arena_bytes": memory.arena(*best),
                   "predicted_gain": trace_gain(trace, best),
                   # Gains are summed as if independent: an estimate, capped at 100%.
                   "predicted_accuracy": min(1.0, acc["none"] + trace_gain(trace, best))},
        "planner": {"plans": memory.plans, "seconds": round(memory.plan_seconds, 2)},
        "trace": trace.points,
    }
    return SearchResult(scheme, report)


def trace_gain(trace, point) -> float:
    for p in trace.points:
        if p["n_bias"] == point[0] and tuple(p["ratios"]) == tuple(point[1]):
            return p["predicted_gain"]
    raise AssertionError("the chosen point was never evaluated")


__all__ = ["search", "SearchResult", "Evolution", "Candidate", "candidates"]
