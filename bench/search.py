"""Search bench (issue 13): the searched scheme against the baselines at several SRAM budgets,
by real training, and the evolutionary search against random search at the same number of
planned points -> bench/results/search.json and search.png.

    .venv/bin/python -m bench.search                 # demo CNN, two tasks, three budgets
    .venv/bin/python -m bench.search --quick         # small: a smoke run

Per model, task and budget:
- the search runs on the task's adaptation samples only (it holds out 30% of them itself);
- every method (searched; bias-only of the last k layers, the largest k that fits; the last
  layer's weights and biases; the largest "last n layers fully updated" that fits) gets its
  learning rate tuned on the task's validation split (seed 0, never reported), then trains with
  that rate for --seeds seeds; test accuracy (the task's test split) is reported as mean, sample
  standard deviation and the per-seed values;
- a method whose plan does not fit the budget is reported as such, not run.
Budgets count what convert(board=...) counts (tflm_train.budget): the arena, the session storage,
the stack bound and the firmware's static RAM of the named board.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import tflm_train
from tflm_train.budget import sram_needed
from tflm_train.converter import ConversionError
from tflm_train.converter.graph import build_graph
from tflm_train.converter.tflite_io import read_model
from tflm_train.data import DEMO_MODEL
from tflm_train.scheme_search import Evolution, search
from tflm_train.scheme_search.candidates import Candidate
from tflm_train.scheme_search.evolution import LEVELS, fitness
from tflm_train.scheme_search.memory import SchemeMemory

from bench.accuracy.tasks import tasks as accuracy_tasks
from bench.provenance import provenance

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "search.json"
LR_GRID = (0.001, 0.003, 0.01, 0.03, 0.1)
# The canonical comparison: the demo CNN on two transfer tasks, three budgets in bytes.
MODELS = {"demo": (DEMO_MODEL, ("digits", "fashion"), (16 * 1024, 24 * 1024, 40 * 1024))}


def sram(base: bytes, scheme, board: str) -> int | None:
    try:
        return sram_needed(tflm_train.convert(base, scheme), board)["total"]
    except ConversionError:
        return None


def baselines(base: bytes, budget: int, board: str) -> dict:
    """The baseline schemes that fit `budget` (the largest of each family)."""
    n = len(build_graph(read_model(base)).trainable_ops())
    out = {}
    for k in range(n, 0, -1):
        s = tflm_train.SparseUpdate(n_bias=k)
        if (m := sram(base, s, board)) is not None and m <= budget:
            out["bias_only"] = (s, m)
            break
    s = tflm_train.SparseUpdate(n_bias=1, weights={-1: 1.0})
    if (m := sram(base, s, board)) is not None and m <= budget:
        out["last_layer"] = (s, m)
    for k in range(n, 0, -1):
        s = tflm_train.SparseUpdate(n_bias=k, weights={-i: 1.0 for i in range(1, k + 1)})
        if (m := sram(base, s, board)) is not None and m <= budget:
            out["last_n_full"] = (s, m)  # n = s.n_bias
            break
    return out


def train(base: bytes, scheme, split, lr: float, epochs: int, seed: int) -> tuple[float, float]:
    """(validation accuracy, test accuracy) after plain SGD, batch 1 (no optimizer state: the
    budget has no room for it)."""
    tr = tflm_train.Trainer(tflm_train.convert(base, scheme), learning_rate=lr, seed=seed)
    tr.fit(split.x_train, split.y_train, epochs=epochs, progress=False)
    return (tr.evaluate(split.x_val, split.y_val)["accuracy"],
            tr.evaluate(split.x_test, split.y_test)["accuracy"])


def evaluate_method(base: bytes, scheme, split, epochs: int, seeds: int) -> dict:
    val = {lr: train(base, scheme, split, lr, epochs, 0)[0] for lr in LR_GRID}
    lr = max(LR_GRID, key=lambda r: (val[r], -r))
    tests = [train(base, scheme, split, lr, epochs, s)[1] for s in range(seeds)]
    return {"learning_rate": lr, "test_accuracy": tests, "mean": float(np.mean(tests)),
            "std": float(np.std(tests, ddof=1)) if len(tests) > 1 else 0.0}


def random_search(gain: dict, n_layers: int, memory, budget: int, evaluations: int,
                  seed: int) -> float:
    """Best predicted gain of `evaluations` uniformly random feasible-or-not points (each
    planned), the baseline the evolutionary search must beat at equal planning cost."""
    rng = np.random.default_rng(seed)
    best = 0.0
    max_bias = max(c.layer for c in gain if c.kind == "bias")
    for _ in range(evaluations):
        ratios = tuple(LEVELS[rng.integers(0, len(LEVELS))] if rng.random() < 0.3 else 0.0
                       for _ in range(n_layers))
        ratios = tuple(r if r == 0 or any(c.kind == "weight" and c.layer == i and c.ratio == r
                                          for c in gain) else 0.0 for i, r in enumerate(ratios))
        point = (int(rng.integers(0, max_bias + 1)), ratios)
        m = memory.sram(*point)
        if m is not None and m <= budget:
            best = max(best, fitness(point, gain))
    return best


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small tasks, one seed, one epoch")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--board", default="nano33ble",
                   help="whose firmware parts (session, stack, static RAM) every budget counts")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    seeds, epochs = (1, 1) if args.quick else (args.seeds, args.epochs)
    all_tasks = accuracy_tasks(quick=args.quick)
    doc = {**provenance("search", argv, ["converter", "tflm_train", "bench/search.py"]),
           "canonical": "searched scheme vs baselines, test accuracy mean over seeds",
           "seeds": seeds, "epochs": epochs, "lr_grid": LR_GRID, "board": args.board,
           "models": {}}
    for model, (path, task_names, budgets) in MODELS.items():
        base = Path(path).read_bytes()
        doc["models"][model] = {}
        for task_name in task_names:
            split = all_tasks[task_name].split(seed=0)
            rows = []
            for budget in budgets:
                start = time.perf_counter()
                result = search(base, split.x_train, split.y_train, sram_budget=budget,
                                board=args.board, seed=0, progress=False)
                seconds = time.perf_counter() - start
                methods = {"searched": (result.scheme, result.report["chosen"]["sram_bytes"]),
                           **baselines(base, budget, args.board)}
                row = {"budget_bytes": budget, "search_seconds": round(seconds, 1),
                       "search": {k: result.report[k] for k in ("chosen", "planner",
                                                                "learning_rate",
                                                                "baseline_accuracy")},
                       "methods": {}}
                for name, (scheme, need) in methods.items():
                    row["methods"][name] = {
                        "scheme": {"n_bias": scheme.n_bias,
                                   "weights": {str(k): v for k, v in scheme.weights.items()}},
                        "sram_bytes": need,
                        **evaluate_method(base, scheme, split, epochs, seeds)}
                # Evolution vs random search, on the same gains and the same number of plans.
                gain = {c: e["gain"] for c, e in _gains(result)}
                n_layers = len(build_graph(read_model(base)).trainable_ops())
                evaluated = len(result.report["trace"])
                row["search_vs_random"] = {
                    "evaluated_points": evaluated,
                    "evolution_predicted_gain": result.report["chosen"]["predicted_gain"],
                    "random_predicted_gain": random_search(
                        gain, n_layers, SchemeMemory(base, args.board), budget, evaluated, 0)}
                rows.append(row)
                print(f"[search] {model}/{task_name} {budget / 1024:.0f} KB: " + ", ".join(
                    f"{k} {100 * v['mean']:.1f}" for k, v in row["methods"].items()), flush=True)
            doc["models"][model][task_name] = rows
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    plot(doc, args.out.with_suffix(".png"))
    print(f"[search] wrote {args.out} and {args.out.with_suffix('.png')}")
    return 0


def _gains(result):
    for c in result.report["candidates"]:
        if c["measured"]:
            yield Candidate(c["kind"], c["layer"], c["ratio"]), c


def plot(doc: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(m, t, rows) for m, ts in doc["models"].items() for t, rows in ts.items()]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (model, task, rows) in zip(axes[0], panels):
        names = sorted({n for r in rows for n in r["methods"]}, key=lambda n: n != "searched")
        for name in names:
            pts = [(r["budget_bytes"] / 1024, r["methods"][name]) for r in rows
                   if name in r["methods"]]
            ax.errorbar([b for b, _ in pts], [100 * m["mean"] for _, m in pts],
                        yerr=[100 * m["std"] for _, m in pts], marker="o", capsize=3,
                        label=name)
        ax.set_xlabel("SRAM budget, KB")
        ax.set_ylabel("test accuracy, %")
        ax.set_title(f"{model} / {task}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
