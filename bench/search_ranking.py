"""How noisy is the search's joint check? (issue 13, session 12) The finalists of a demo search
are scored again under several partitions of the user's samples (partition seeds 0..n-1), by
each rule: "split" (train on 70 %, score on the 30 % held out, 2 training seeds: the rule of
session 11) and "3-fold" (each third held out once, the rest trained, 1 training seed: the
rule of session 12), each at the joint check's rate grid and at that grid plus the next lower
rate. Only the task's adaptation samples (the user's data) are used; the bench's validation
and test splits are never read.

    .venv/bin/python -m bench.search_ranking --out /tmp/ranking.json

Per budget and rule: how often the pick changes with the partition (agreement = the share of
partitions that pick the most frequent pick), the standard deviation of a finalist's score
across partitions (the noise the pick sees), and the regret against a reference ranking (each
finalist's mean score over every partition of both rules).
"""
from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np

from tflm_train.data import DEMO_MODEL
from tflm_train.data.splits import fold_splits, split_indices
from tflm_train.scheme_search import lower_rate, point_key, search
from tflm_train.scheme_search.contribution import ContributionCache, FineTune, measure
from tflm_train.scheme_search.memory import SchemeMemory

from bench.search import MODELS, load_task

RULES = {"split": (1, 2), "3-fold": (3, 1)}  # rule: (folds, training seeds)


def partitions(y, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(train, held out)]: the search's own 70/30 split for one fold, else the folds."""
    return [split_indices(y, 0.7, seed)] if folds == 1 else fold_splits(y, folds, seed)


def score(base, x, y, schemes, rates, epochs, folds, seeds, partition_seed, cache, workers):
    """{(point, lr): accuracy over every held-out sample of the partition, mean over seeds}."""
    parts = partitions(y, folds, partition_seed)
    held_out = sum(len(held) for _, held in parts)
    total = {(p, lr): 0.0 for p in schemes for lr in rates}
    for f, (train, held) in enumerate(parts):
        jobs = {f"{point_key(p)} lr={lr:g} seed{k}": (scheme, FineTune(
            lr, epochs, 0, True, None, None if k == 0 else k))
            for p, scheme in schemes.items() for lr in rates for k in range(seeds)}
        acc = measure(base, (x[train], y[train], x[held], y[held]), jobs, cache, workers,
                      progress=True, desc=f"{folds}-fold p{partition_seed} f{f}")
        for p in schemes:
            for lr in rates:
                mean = np.mean([acc[f"{point_key(p)} lr={lr:g} seed{k}"] for k in range(seeds)])
                total[(p, lr)] += mean * len(held) / held_out
    return total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", nargs="*", default=["digits", "fashion"])
    ap.add_argument("--partitions", type=int, default=5)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/search_ranking_cache"))
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    spec, base = MODELS["demo"], DEMO_MODEL.read_bytes()
    cache = ContributionCache(args.cache)
    doc = {"partitions": args.partitions, "rules": RULES, "tasks": {}}
    for task in args.task:
        split, _ = load_task("demo", task, False)
        x, y = split.x_train, split.y_train  # the user's samples only
        results = search(base, x, y, sram_budget=list(spec.budgets), board="nano33ble",
                         seed=0, train_epochs=spec.epochs, progress=False,
                         cache_dir=args.cache, workers=args.workers)
        grid = tuple(results[0].report["timing"]["shared"]["joint_learning_rates"])
        lower = (lower_rate(grid[0]),) + grid
        grids = {"grid": grid, "grid+lower": lower, "grid, lower if best at its lowest": grid}
        memory = SchemeMemory(base, "nano33ble", True, None, 0)
        finalists = {r.report["budget_bytes"]: [(c["n_bias"], tuple(c["ratios"]), c["source"])
                                                for c in r.report["joint_check"]]
                     for r in results}
        points = {(n, ratios) for f in finalists.values() for n, ratios, _ in f}
        schemes = {p: memory.scheme(*p) for p in sorted(points)}
        rates = grids["grid+lower"]
        scores = {rule: [score(base, x, y, schemes, rates, spec.epochs, folds, seeds, s, cache,
                               args.workers) for s in range(args.partitions)]
                  for rule, (folds, seeds) in RULES.items()}
        out = {"grids": grids, "budgets": {}}
        for budget, fin in finalists.items():
            rows = {}
            # one reference for every rule and grid: each finalist's best mean score over the
            # widest grid, over every partition of both rules
            ref = {(n, r): np.mean([max(sc[((n, r), lr)] for lr in lower) for rule in RULES
                                    for sc in scores[rule]]) for n, r, _ in fin}
            top = max(ref.values())
            for gname, g in grids.items():
                def best(sc, p, g=g, gname=gname):
                    if gname.startswith("grid, lower") and \
                            max(g, key=lambda lr: (sc[(p, lr)], -lr)) == g[0]:
                        g = lower
                    return max(sc[(p, lr)] for lr in g)

                for rule in RULES:
                    picks = [max(fin, key=lambda c: best(sc, c[:2]))
                             for sc in scores[rule]]
                    names = [f"{c[2]} {point_key(c[:2])}" for c in picks]
                    sd = [np.std([best(sc, (n, r)) for sc in scores[rule]], ddof=1)
                          for n, r, _ in fin]
                    rows[f"{rule} {gname}"] = {
                        "picks": names,
                        "agreement": Counter(names).most_common(1)[0][1] / len(names),
                        "score_sd_points": round(100 * float(np.mean(sd)), 2),
                        "regret_points": round(100 * float(np.mean(
                            [top - ref[c[:2]] for c in picks])), 2),
                        "best_rate_counts": dict(Counter(
                            f"{max(g, key=lambda lr: (sc[(c[:2], lr)], -lr)):g}"
                            for sc in scores[rule] for c in fin))}
            out["budgets"][budget] = {
                "finalists": [f"{s} {point_key((n, r))}" for n, r, s in fin],
                "reference": {f"{s} {point_key((n, r))}": round(float(ref[(n, r)]), 4)
                              for n, r, s in fin},
                "rules": rows}
            for name, row in rows.items():
                print(f"[ranking] {task} {budget // 1024} KB {name}: agreement "
                      f"{row['agreement']:.1f}, score sd {row['score_sd_points']:.2f} points, "
                      f"regret {row['regret_points']:.2f} points; picks {row['picks']}",
                      flush=True)
        doc["tasks"][task] = out
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
