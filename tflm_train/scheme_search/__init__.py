"""tflm_train.search: sparse-update search under a memory budget: contribution analysis, then an evolutionary
search over bias depth and per-layer weight ratios, every point planned by the real planner,
then a joint check: the best few points, and the structured schemes that fit (bias-only of the
last k layers, last layer, last n layers fully updated), are trained as the user's training
would train them (its epochs, a small learning-rate grid each), scored by 3-fold cross-validation
over the user's samples (each fold trained on the other two), and the best cross-validated
accuracy wins, with its learning rate.

    result = tflm_train.search(tflite_bytes, x, y, board="nano33ble", seed=0)
    result.scheme                       # a SparseUpdate for tflm_train.convert
    result.report                       # gains and costs of every candidate, the chosen set
    result.plot("search.png")           # accuracy against SRAM
"""
from __future__ import annotations

import os
import time

import numpy as np

from ..converter import BudgetError, ConversionError
from ..converter.graph import build_graph
from ..converter.tflite_io import read_model
from ..data.splits import fold_splits, split_indices
from .candidates import Candidate, candidates
from .contribution import ContributionCache, FineTune, default_cache_dir, gains, measure
from .baselines import StructuredPoints
from .evolution import Evolution, finalists, fitness, search as evolve
from .memory import SchemeMemory
from .report import SearchResult

LEARNING_RATES = (0.003, 0.01, 0.03, 0.1)


def search(tflite_bytes: bytes, x, y, *, board: str | None = None,
           sram_budget=None, num_classes: int | None = None, seed: int = 0,
           learning_rate: float | None = None, epochs: int = 1, val_fraction: float = 0.3,
           qas: bool = True, cache_dir=None, cache: bool = True, workers: int | None = None,
           progress: bool = True, evolution: Evolution | None = None, joint_check: int = 4,
           prefix: bool = True, fine_tune_samples: int | None = None,
           train_epochs: int | None = None, joint_learning_rates=None, joint_seeds: int = 1,
           joint_folds: int = 3):
    """Find the scheme with the best held-out accuracy whose training step fits.

    board: a board of tflm_train.boards (e.g. "nano33ble"): its SRAM is the budget, and its
        firmware's session storage, stack bound and static RAM are counted with every plan.
    sram_budget: the budget in bytes instead (or below the board's); without a board the
        firmware parts are the largest over the known boards. A list of budgets returns a list
        of results: they share the contribution analysis and the plans, only the evolution and
        the joint check run per budget.
    num_classes: train a new K-way head (convert(num_classes=K)); it is trained in every
        scheme, and `seed` seeds its initial weights.
    x, y: the user's data (float or int8 inputs shaped like the model's, class indices);
        `val_fraction` of it is held out to measure each candidate's gain.
    learning_rate: of the fine-tunes; None tunes it on the held-out split over
        LEARNING_RATES with the last layer trained.
    cache_dir: contribution and joint-check results are kept there (default: $XDG_CACHE_HOME
        or ~/.cache, under tflm-train/search; cache=False keeps nothing), so a rerun with
        another budget or board only searches again.
    joint_check: how many of the evolution's distinct schemes (the best, then others spread
        over its accuracy-SRAM front; never one that trains nothing) are trained together,
        with the structured schemes that fit (baselines.py) beside them; the one with the best
        held-out accuracy is returned (report["chosen"]["source"] says which), with the
        learning rate it trained best at (report["chosen"]["learning_rate"]). 0 returns the
        best predicted point unchecked. The finalists of all budgets are trained in one batch.
    train_epochs: the epochs the user's training will run (None: `epochs`): the joint check
        trains each finalist that long (fine_tune_samples does not apply), so it ranks them
        as that training would.
    joint_folds: the joint check scores each (finalist, rate) by cross-validation: the user's
        samples are split into this many stratified folds (seeded by `seed`), each fold is
        held out once while the others train, and the score is the accuracy over every
        held-out sample. 1: train on the search's training split, score on its held-out split
        (`val_fraction`; the rule before session 12). Why folds: on a small task the held-out
        split is a few hundred samples whose standard error (~3 points at 150) is larger
        than the finalists' differences; the folds score on all of them.
    joint_learning_rates: the grid each finalist is trained at (None: three rates around the
        fine-tunes' learning rate, joint_rates(), and a finalist that trains best at the
        lowest of them is also trained at the rate below, lower_rate()).
    joint_seeds: each (finalist, rate, fold) trains this many times, with the Trainer seeded
        `seed`, `seed` + 1, ... (the sample order and the stochastic rounding; a new head
        starts from the same weights), and is scored by the mean: with one split (joint_folds
        1), one seed ranks a scheme that trains well only on a lucky sample order above a
        stable one; the folds already train each finalist on different samples and orders.
    evolution: the evolution's size (default Evolution.for_model: smaller above 16 trainable
        layers, where plans are slow); workers: processes for the fine-tunes and the planning
        (default: all cores).
    prefix: fine-tune above each scheme's first trained layer only, on activations computed
        once (prefix.py; the same bytes as training the whole model).
    fine_tune_samples: fine-tune every candidate (and tune the learning rate) on only this
        many of the training split's samples (fewer steps: faster, noisier gains); None: all
        of them. The joint check always trains on the whole training split.
    """
    from ..boards import board as find_board

    started, cpu_at_start = time.perf_counter(), cpu_seconds()
    found = find_board(board) if board is not None else None
    many = isinstance(sram_budget, (list, tuple))
    budgets = list(sram_budget) if many else [sram_budget]
    if not budgets:
        raise ValueError("sram_budget=[]: give at least one budget")
    if budgets == [None]:
        if found is None:
            raise ValueError("give board= (its SRAM is the budget) or sram_budget= in bytes")
        budgets = [found.sram_bytes]
    for b in budgets:
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b <= 0:
            raise ValueError(f"sram_budget={b!r}: give a positive number of bytes")
    if isinstance(joint_seeds, bool) or not isinstance(joint_seeds, (int, np.integer)) or \
            joint_seeds < 1:
        raise ValueError(f"joint_seeds={joint_seeds!r}: give a positive number of seeds")
    if isinstance(joint_folds, bool) or not isinstance(joint_folds, (int, np.integer)) or \
            joint_folds < 1:
        raise ValueError(f"joint_folds={joint_folds!r}: give a positive number of folds "
                         "(1: the search's own held-out split)")
    graph = build_graph(read_model(tflite_bytes))
    n_layers = len(graph.trainable_ops())
    if n_layers == 0:
        raise ConversionError("the model has no trainable layers to search over")
    head = num_classes is not None
    memory = SchemeMemory(tflite_bytes, found, qas, num_classes, seed)
    zeros = (0.0,) * n_layers
    smallest = memory.sram(1, zeros)
    if smallest is None or smallest > min(budgets):
        low = min(budgets)
        what = "the new head with its bias" if head else "the last layer's bias alone"
        detail = "refused by the converter: " + memory.refusals.get((1, zeros), "") \
            if smallest is None else \
            f"{smallest} B ({memory.arena(1, zeros)} B arena + {smallest - memory.arena(1, zeros)}" \
            " B session storage, stack bound and firmware static RAM)"
        raise BudgetError(f"no scheme fits {low} B ({low / 1024:.1f} KB): the "
                          f"smallest, {what}, needs {detail}")

    y = np.asarray(y).reshape(-1)
    train, val = split_indices(y, 1.0 - val_fraction, seed)
    x = np.asarray(x)
    if joint_folds == 1:  # the joint check's data: (train, held out) per fold
        folds = [(x[train], y[train], x[val], y[val])]
    else:
        if joint_folds > min(np.unique(y, return_counts=True)[1]):
            raise ValueError(f"joint_folds={joint_folds}: more folds than the samples of the "
                             "rarest class; give fewer folds")
        folds = [(x[rest], y[rest], x[part], y[part])
                 for rest, part in fold_splits(y, joint_folds, seed)]
    held_out_samples = sum(len(f[3]) for f in folds)
    if fine_tune_samples is not None:
        if fine_tune_samples < 1:
            raise ValueError(f"fine_tune_samples={fine_tune_samples!r}: give a positive count")
        train = train[:fine_tune_samples]  # split_indices shuffled it: a random stratum
    data = (x[train], y[train], x[val], y[val])
    store = ContributionCache((cache_dir or default_cache_dir()) if cache else None)
    timing: dict = {}

    def run(jobs, desc="contribution analysis", on=data):
        return measure(tflite_bytes, on, jobs, store, workers, progress, desc=desc,
                       prefix=prefix, timing=timing)

    cpu = {}  # CPU seconds per phase: this process and its (joined) workers

    def phase(name, since):
        cpu[name] = round(cpu_seconds() - since, 2)
        return cpu_seconds()

    # Candidates that do not fit on their own cannot be part of any scheme: not measured.
    every = candidates(n_layers, head)
    largest = max(budgets)

    def planned_alone(c):  # None: refused, or over the largest budget by the lower bound
        point = c.point(n_layers)
        return None if memory.lower_bound(*point) > largest else memory.sram(*point)

    candidates_start, cpu_mark = time.perf_counter(), cpu_seconds()
    cpu["setup"] = round(cpu_mark - cpu_at_start, 2)
    alone = dict(zip(every, memory.map(planned_alone, every, workers)))
    fitting = [c for c in every if alone[c] is not None and alone[c] <= largest]
    candidate_plans = (memory.plans, memory.plan_seconds, memory.bound_rejections,
                       time.perf_counter() - candidates_start)
    cpu_mark = phase("candidate_plans", cpu_mark)

    def tune_of(lr: float) -> FineTune:
        return FineTune(float(lr), epochs, seed, qas, num_classes)

    lr_start = time.perf_counter()
    if learning_rate is None:
        last = memory.scheme(1, tuple(1.0 if i == n_layers - 1 else 0.0
                                      for i in range(n_layers)))
        rates = run({f"lr={lr:g}": (last, tune_of(lr)) for lr in LEARNING_RATES},
                    desc="learning rate")
        learning_rate = max(LEARNING_RATES, key=lambda lr: (rates[f"lr={lr:g}"], -lr))
    cpu_mark = phase("learning_rate", cpu_mark)
    tune = tune_of(learning_rate)
    contribution_start = time.perf_counter()
    # "none": the model as it is, or with a new head, that head trained alone.
    jobs = {"none": (memory.scheme(0, zeros) if head else None, tune),
            **{c.key: (memory.scheme(*c.point(n_layers)), tune) for c in fitting}}
    bias1 = Candidate("bias", 1)
    jobs.setdefault(bias1.key, (memory.scheme(*bias1.point(n_layers)), tune))
    acc = run(jobs)
    cpu_mark = phase("contribution", cpu_mark)
    gain = gains(acc, fitting)
    # *_planning_seconds: wall time; plan_cpu_seconds: the plans' own time summed over the
    # processes that made them (they run on `workers` cores at once).
    shared = {"candidate_plans": candidate_plans[0],
              "candidate_bound_rejections": candidate_plans[2],
              "candidate_planning_seconds": round(candidate_plans[3], 2),
              "candidate_plan_cpu_seconds": round(candidate_plans[1], 2),
              "learning_rate_seconds": round(contribution_start - lr_start, 2),
              "contribution_seconds": round(time.perf_counter() - contribution_start, 2),
              "prefix_seconds": round(timing.get("prefix_seconds", 0.0), 2),
              "fine_tunes": len(jobs), "setup_seconds": 0.0}
    shared["fine_tunes_run"] = timing.get("fine_tunes_run", 0)  # before the joint checks
    shared["setup_seconds"] = round(time.perf_counter() - started - sum(
        shared[k] for k in ("candidate_planning_seconds", "learning_rate_seconds",
                            "contribution_seconds")), 2)

    structured_start, plans0 = time.perf_counter(), memory.plans
    structured = StructuredPoints(memory, n_layers, head, largest)
    shared.update(structured_plans=memory.plans - plans0,
                  structured_planning_seconds=round(time.perf_counter() - structured_start, 2))
    cpu_mark = phase("structured_plans", cpu_mark)
    searched = []  # per budget: (usable gains, best point, trace, predicted, timing)
    for budget in budgets:
        t0, plans0, plan_s0 = time.perf_counter(), memory.plans, memory.plan_seconds
        rejections0 = memory.bound_rejections
        settings = evolution or Evolution.for_model(n_layers, seed)
        usable = {c: g for c, g in gain.items() if alone[c] <= budget}
        best, trace = evolve(usable, n_layers, memory, budget, settings, workers)
        predicted = {tuple((p["n_bias"], tuple(p["ratios"]))): p["predicted_gain"]
                     for p in trace.points}
        before = cpu_mark
        cpu_mark = cpu_seconds()
        searched.append((budget, usable, best, trace, predicted, {
            # wall, planning included; the plans' own time summed over workers
            "evolution_seconds": round(time.perf_counter() - t0, 2),
            "evolution_cpu_seconds": round(cpu_mark - before, 2),
            "evolution_plan_cpu_seconds": round(memory.plan_seconds - plan_s0, 2),
            "evolution_plans": memory.plans - plans0,
            "evolution_bound_rejections": memory.bound_rejections - rejections0}))
    cpu["evolution"] = round(sum(t["evolution_cpu_seconds"] for *_, t in searched), 2)

    # The joint check: each budget's finalists (the evolution's distinct schemes, then the
    # structured schemes that fit and train something else), trained as the user's training
    # would (the whole training split, train_epochs, each rate of the grid) in one batch over
    # all budgets; a scheme that two budgets share is trained once.
    t1, run0 = time.perf_counter(), timing.get("fine_tunes_run", 0)
    rates = tuple(joint_learning_rates) if joint_learning_rates is not None else \
        joint_rates(learning_rate)
    # seed index 0 trains with the Trainer seeded `seed` (trainer_seed None: the cache keys of
    # the one-seed joint checks before), index k with seed + k
    # A finalist that trains best at the grid's lowest rate is trained one rate lower too
    # (not when the grid is given): deeper schemes often want a lower rate than the one tuned
    # with the last layer alone (demo digits, session 12: 0.001 was the best rate in half of
    # the finalists' folds, below the grid's 0.003).
    lower = None if joint_learning_rates is not None else lower_rate(rates[0])

    def final_tune(lr, k):
        return FineTune(float(lr), train_epochs or epochs, seed, qas, num_classes,
                        None if k == 0 else seed + k)
    canonical: dict = {}  # identity -> the point trained for it
    per_budget = []
    for budget, usable, best, trace, predicted, _ in searched:
        sources = {best: "evolution"}
        points = []
        if joint_check > 0 and best is not None:
            points = finalists(trace, joint_check, lambda p: memory.identity(*p))
            sources = {p: "evolution" for p in points}
            known = {memory.identity(*p): p for p in points}
            for family, p in structured.points(budget).items():
                ident = memory.identity(*p)
                if ident in known:
                    sources[known[ident]] += "=" + family
                else:
                    known[ident] = p
                    points.append(p)
                    sources[p] = family
                    predicted[p] = predicted_gain(p, usable)
            for p in points:
                canonical.setdefault(memory.identity(*p), p)
        per_budget.append((points, sources))
    trained = {canonical[memory.identity(*p)] for points, _ in per_budget for p in points}
    held = {}

    def train_finalists(which, label=""):  # which: [(point, rate)], each on every fold and seed
        for f, fold in enumerate(folds if which else []):
            held.update(run({joint_key(p, lr, k, f, joint_folds): (memory.scheme(*p),
                                                                    final_tune(lr, k))
                             for p, lr in which for k in range(joint_seeds)},
                            desc="joint check" + label + (f" (fold {f + 1}/{joint_folds})"
                                                          if joint_folds > 1 else ""), on=fold))

    def by_seed(q, lr):  # [accuracy over every held-out sample of the folds, per seed]
        return [sum(held[joint_key(q, lr, k, f, joint_folds)] * len(fold[3])
                    for f, fold in enumerate(folds)) / held_out_samples
                for k in range(joint_seeds)]

    def by_fold(q, lr):  # [held-out accuracy per fold, the mean over seeds]
        return [sum(held[joint_key(q, lr, k, f, joint_folds)]
                    for k in range(joint_seeds)) / joint_seeds
                for f in range(len(folds))]

    def score(q, lr):  # the mean over the seeds
        a = by_seed(q, lr)
        return sum(a) / len(a)

    def best_rate(q):  # ties: the smaller rate
        return max(rates_of[q], key=lambda lr: (score(q, lr), -lr))

    rates_of = {q: rates for q in trained}
    train_finalists([(q, lr) for q in sorted(trained) for lr in rates])
    if lower is not None:
        edge = sorted(q for q in trained if best_rate(q) == rates[0])
        train_finalists([(q, lower) for q in edge], f" at {lower:g}")
        rates_of.update({q: (lower,) + rates for q in edge})
    shared.update(joint_check_seconds=round(time.perf_counter() - t1, 2),
                  joint_check_fine_tunes=sum(map(len, rates_of.values())) * joint_seeds *
                  len(folds), joint_seeds=joint_seeds, joint_folds=joint_folds,
                  joint_check_fine_tunes_run=timing.get("fine_tunes_run", 0) - run0,
                  joint_learning_rates=list(rates), joint_lower_rate=lower,
                  joint_lower_rate_finalists=sum(len(r) > len(rates) for r in rates_of.values()),
                  joint_epochs=train_epochs or epochs)
    cpu_mark = phase("joint_check", cpu_mark)
    cpu["total"] = round(cpu_mark - cpu_at_start, 2)
    shared["cpu_seconds"] = cpu

    results = []
    for (budget, usable, best, trace, predicted, budget_timing), (points, sources) in zip(
            searched, per_budget):
        checked = []
        chosen_lr = None
        if points:
            def trained_as(p):
                return canonical[memory.identity(*p)]

            def entry(p):
                q = trained_as(p)
                return {"n_bias": p[0], "ratios": list(p[1]), "source": sources[p],
                        "sram_bytes": memory.sram(*p), "predicted_gain": predicted[p],
                        "learning_rate": best_rate(q),
                        "held_out_accuracy": score(q, best_rate(q)),
                        "held_out_by_learning_rate": {f"{lr:g}": score(q, lr)
                                                      for lr in rates_of[q]},
                        "held_out_by_seed": {f"{lr:g}": by_seed(q, lr) for lr in rates_of[q]},
                        "held_out_by_fold": {f"{lr:g}": by_fold(q, lr) for lr in rates_of[q]}}

            checked = [entry(p) for p in points]
            # The best measured; ties: the larger predicted gain, then the smaller SRAM.
            best = max(points, key=lambda p: (
                score(trained_as(p), best_rate(trained_as(p))),
                float("-inf") if predicted[p] is None else predicted[p], -memory.sram(*p)))
            chosen_lr = best_rate(trained_as(best))
        scheme = memory.scheme(*best)
        report = {
            "model": graph.tensors[graph.outputs[0]].name or "model",
            "board": found.name if found else None, "budget_bytes": int(budget),
            "num_classes": num_classes, "seed": seed, "learning_rate": tune.learning_rate,
            "epochs": epochs, "train_epochs": train_epochs or epochs,
            "joint_seeds": joint_seeds, "joint_folds": joint_folds,
            "samples": {"train": int(len(train)), "held_out": int(len(val)),
                        # per fold: trained on, scored on
                        "joint_check_train": [int(len(f[0])) for f in folds],
                        "joint_check_held_out": [int(len(f[3])) for f in folds]},
            "baseline_accuracy": acc["none"],
            "candidates": [{"candidate": c.key, "kind": c.kind, "layer": c.layer,
                            "ratio": c.ratio, "sram_bytes": alone[c],
                            "accuracy": acc.get(c.key), "gain": gain.get(c),
                            "measured": c in usable} for c in every],
            "chosen": {"n_bias": scheme.n_bias, "weights": {str(k): v for k, v in
                                                            scheme.weights.items()},
                       "sram_bytes": memory.sram(*best),
                       "arena_bytes": memory.arena(*best),
                       "source": sources[best],
                       # the rate the joint check trained it best at (None: unchecked)
                       "learning_rate": chosen_lr,
                       "predicted_gain": predicted[best],
                       # Gains are summed as if independent: an estimate, capped at 100%.
                       "predicted_accuracy": None if predicted[best] is None else
                       min(1.0, acc["none"] + predicted[best]),
                       "held_out_accuracy": next((c["held_out_accuracy"] for c in checked
                                                  if (c["n_bias"], tuple(c["ratios"])) == best),
                                                 None)},
            "joint_check": checked,
            "planner": {"plans": memory.plans, "seconds": round(memory.plan_seconds, 2)},
            # Where the time went. The shared part (planning each candidate alone, tuning the
            # rate, the contribution analysis) is paid once for all budgets of one call.
            "timing": {"shared": shared, **budget_timing},
            "trace": trace.points,
        }
        results.append(SearchResult(scheme, report))
    return results if many else results[0]


def predicted_gain(point, gain) -> float | None:
    """The summed gains of a point, None if one of its updates was not measured."""
    try:
        return fitness(point, gain)
    except KeyError:
        return None


def point_key(point) -> str:
    return f"b{point[0]}:" + ",".join(f"{r:g}" for r in point[1])


def joint_key(point, lr: float, seed_index: int = 0, fold: int = 0, folds: int = 1) -> str:
    # (the cache also keys on the data, the learning rate, epochs and seeds: the name is for
    # reading and tells the seeds and folds apart; seed index 0 of one fold keeps the name of
    # the one-seed joint checks before)
    name = f"joint {point_key(point)} lr={lr:g}"
    if seed_index:
        name += f" seed+{seed_index}"
    return name if folds == 1 else f"{name} fold {fold + 1}/{folds}"


def joint_rates(lr: float) -> tuple[float, ...]:
    """The joint check's learning rates: `lr` and its neighbours in LEARNING_RATES (the three
    at that end when it is the first or last), or lr / 3, lr, 3 lr for a rate off that grid."""
    if lr in LEARNING_RATES:
        i = min(max(LEARNING_RATES.index(lr), 1), len(LEARNING_RATES) - 2)
        return LEARNING_RATES[i - 1:i + 2]
    return (lr / 3, lr, lr * 3)


def lower_rate(lr: float) -> float:
    """The rate below `lr`: the next lower in LEARNING_RATES, else lr / 3 (0.003 -> 0.001)."""
    return max((r for r in LEARNING_RATES if r < lr), default=lr / 3)


def cpu_seconds() -> float:
    """CPU time of this process and of its workers that have been joined (every phase joins
    its pool before it ends, so differences between phases count their workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


__all__ = ["search", "SearchResult", "Evolution", "Candidate", "candidates"]
