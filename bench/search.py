"""Search bench (issue 13): the searched scheme against the baselines at several SRAM budgets,
by real training, and the evolutionary search against random search at the same number of
planned points -> bench/results/search.json and search.png.

    .venv/bin/python -m bench.search                 # demo CNN and person_detect, 2 tasks each
    .venv/bin/python -m bench.search --quick         # small: a smoke run
    .venv/bin/python -m bench.search --model person_detect --time-only
                                                     # item 4: one uncached search, 3 budgets,
                                                     # merged into search.json (search_timing)

Per model, task and budget:
- the search runs on the task's adaptation samples only (its contribution analysis holds out
  30% of them; its joint check scores the finalists by 3-fold cross-validation over all of
  them) and trains each finalist for the epochs every method trains here;
- every method (searched; bias-only of the last k layers, the largest k that fits; the last
  layer's weights and biases; the largest "last n layers fully updated" that fits) gets its
  learning rate tuned on the task's validation split (seed 0, never reported), then trains with
  that rate for --seeds seeds; test accuracy (the task's test split) is reported as mean, sample
  standard deviation and the per-seed values;
- a method whose plan does not fit the budget is reported as such, not run;
- with a new head (num_classes: person_detect on fashion96) its weights train in every method
  (they start random), so bias_only is the head plus the last k biases;
- each searched scheme is converted and its training step run in QEMU on the board's
  stand-in (bench/firmware/train_search); the measured peak SRAM (arena high-water + session
  storage + the firmware's other static RAM + stack high-water, as bench/memory) is recorded.
Every search runs on an empty contribution cache, so its timing is what a first search costs,
unless --cache names one (search_timing.fine_tunes_run then says how many fine-tunes ran).
The baselines are the search's own structured schemes (scheme_search/baselines.py).
Training (every method, lr, seed) runs on 2 processes, each scheme above its first trained
layer only (tflm_train/scheme_search/prefix.py: the same bytes as the whole model).
Budgets count what convert(board=...) counts (tflm_train.budget): the arena, the session storage,
the stack bound and the firmware's static RAM of the named board.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

import tflm_train
from tflm_train.converter.graph import build_graph
from tflm_train.converter.tflite_io import read_model
from tflm_train.data import DEMO_MODEL
from tflm_train.scheme_search import Evolution, search
from tflm_train.scheme_search.baselines import StructuredPoints
from tflm_train.scheme_search.candidates import Candidate
from tflm_train.scheme_search.evolution import LEVELS, fitness
from tflm_train.scheme_search.memory import SchemeMemory
from tflm_train.scheme_search.prefix import FrozenPrefix

from bench.accuracy.tasks import tasks as accuracy_tasks
from bench.provenance import provenance
from bench import search_data

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "search.json"
LR_GRID = (0.001, 0.003, 0.01, 0.03, 0.1)
PERSON_DETECT = ROOT.parent / "shared" / "models" / "tflm-examples" / "person_detect.tflite"
KB = 1024


@dataclass(frozen=True)
class BenchModel:
    path: Path
    tasks: tuple[str, ...]
    budgets: tuple[int, ...]  # bytes, counted whole for the bench's board
    epochs: int               # of every method's training (the search's fine-tunes: 1)
    lr_grid: tuple[float, ...] = LR_GRID
    fine_tune_samples: int | None = None  # the search's per-candidate fine-tunes
    evolution: Evolution | None = None      # None: the search's default


# The demo CNN on two transfer tasks (the old MNIST head adapted); person_detect (96x96x1) on a
# 10-class task with a new head and a binary task on its own 2-class head. person_detect trains
# one epoch of its 1,000 samples per method (3 would triple the bench's ~30 min).
MODELS = {
    "person_detect": BenchModel(PERSON_DETECT, search_data.TASKS,
                                (64 * KB, 128 * KB, 200 * KB), 1, (0.01, 0.03, 0.1), 200),
    # (the search's default evolution for its 28 layers: 12 x 6, Evolution.for_model)
    "demo": BenchModel(DEMO_MODEL, ("digits", "fashion"), (16 * KB, 24 * KB, 40 * KB), 3),
}


def load_task(model: str, task: str, quick: bool):
    """(Split, num_classes or None)."""
    if model == "person_detect":
        k = 5 if quick else 1
        return search_data.task_split(task, 1000 // k, 500 // k, 1000 // k)
    return accuracy_tasks(quick=quick)[task].split(seed=0), None


def baselines(structured: StructuredPoints, budget: int) -> dict:
    """{family: (scheme, SRAM)} of the baseline schemes that fit `budget` (the largest of each
    family): the structured schemes the search's joint check also trains
    (tflm_train/scheme_search/baselines.py), planned by the same SchemeMemory. With a new head
    its weights always train (random start), in bias_only too."""
    memory = structured.memory
    return {family: (memory.scheme(*p), memory.sram(*p))
            for family, p in structured.points(budget).items()}


# ---- training every method (lr grid on validation, then seeds) on 2 processes ------------------

_W: dict = {}


def _train(job) -> tuple:
    """(job, validation accuracy, test accuracy) after plain SGD, batch 1 (no optimizer state:
    the budget has no room for it), on the scheme's suffix model and activations."""
    key, lr, seed = job
    model, scheme, (x_train, x_val, x_test) = _W["runs"][key]
    split, epochs, num_classes = _W["split"], _W["epochs"], _W["num_classes"]
    tr = tflm_train.Trainer(tflm_train.convert(model, scheme, num_classes=num_classes, seed=0),
                            learning_rate=lr, seed=seed)
    tr.fit(x_train, split.y_train, epochs=epochs, progress=False)
    return (job, tr.evaluate(x_val, split.y_val)["accuracy"],
            tr.evaluate(x_test, split.y_test)["accuracy"])


def evaluate_methods(base: bytes, schemes: dict, split, epochs: int, seeds: int,
                     num_classes, lr_grid, workers: int) -> dict:
    """{key: {learning_rate, test_accuracy per seed, mean, std}} for schemes {key: scheme}:
    each scheme's lr is the best on validation at seed 0 (never reported), then seeds 0..n-1
    at that lr (seed 0's run is the tuning run itself: the same bytes)."""
    frozen = FrozenPrefix(base, split.x_train, split.x_val, split.x_test)
    runs = {}
    for key, scheme in schemes.items():
        layer = frozen.layer_of(scheme, num_classes is not None)
        runs[key] = (base, scheme, (split.x_train, split.x_val, split.x_test)) if layer is None \
            else (frozen.suffix(layer), frozen.suffix_scheme(scheme, layer),
                  frozen.features(layer))
    _W.update(runs=runs, split=split, epochs=epochs, num_classes=num_classes)

    def run_all(jobs):
        if workers == 1:
            return list(map(_train, jobs))
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            return list(pool.map(_train, jobs))

    tuned = {job: (v, t) for job, v, t in run_all([(k, lr, 0) for k in schemes
                                                    for lr in lr_grid])}
    best = {k: max(lr_grid, key=lambda r: (tuned[(k, r, 0)][0], -r)) for k in schemes}
    more = {job: t for job, _, t in run_all([(k, best[k], s) for k in schemes
                                              for s in range(1, seeds)])}
    out = {}
    for k in schemes:
        tests = [tuned[(k, best[k], 0)][1]] + [more[(k, best[k], s)] for s in range(1, seeds)]
        out[k] = {"learning_rate": best[k], "test_accuracy": tests,
                  "mean": float(np.mean(tests)),
                  "std": float(np.std(tests, ddof=1)) if len(tests) > 1 else 0.0}
    return out


def scheme_key(scheme) -> str:
    return json.dumps([scheme.n_bias, sorted((int(k), float(v))
                                             for k, v in scheme.weights.items())])


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
        if memory.fits(*point, budget):
            best = max(best, fitness(point, gain))
    return best


def time_search(base: bytes, split, num_classes, budgets, board: str,
                fine_tune_samples=None, workers=None, evolution=None,
                cache_dir=None, train_epochs=None) -> tuple[list, dict]:
    """One search over `budgets` on an empty contribution cache (or on `cache_dir`'s): its
    results and where the time went (item 4). Its joint check trains for `train_epochs`, the
    epochs every method trains in the bench."""
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as empty:
        cache = cache_dir or empty
        start, cpu = time.perf_counter(), os.times()
        results = search(base, split.x_train, split.y_train, sram_budget=list(budgets),
                         board=board, num_classes=num_classes, seed=0, progress=False,
                         cache_dir=cache, fine_tune_samples=fine_tune_samples,
                         workers=workers, evolution=evolution, train_epochs=train_epochs)
        seconds, after = time.perf_counter() - start, os.times()
    own = after.user + after.system - cpu.user - cpu.system
    workers = (after.children_user + after.children_system - cpu.children_user -
               cpu.children_system)
    shared = results[0].report["timing"]["shared"]
    per_budget = [{"budget_bytes": r.report["budget_bytes"],
                   **{k: v for k, v in r.report["timing"].items() if k != "shared"}}
                  for r in results]
    timing = {"wall_seconds": round(seconds, 1),
              # CPU time: the caller's (prefix activations, planning, evolution: serial) and
              # the fine-tune workers'. On a machine shared with other jobs the wall time
              # overstates; own + workers / cores is what 2 idle cores would take (an
              # estimate: it assumes the workers keep both cores busy).
              "cpu_seconds": {"caller": round(own, 1), "workers": round(workers, 1)},
              # per phase, caller and workers together (the search's own count)
              "cpu_seconds_by_phase": shared["cpu_seconds"],
              "idle_machine_estimate_seconds": round(own + workers / (os.cpu_count() or 1), 1),
              "samples": int(len(split.x_train)), "fine_tune_samples": fine_tune_samples,
              "contribution_cache": "reused" if cache_dir else "empty",
              # of the lr-tuning and contribution fine-tunes: how many ran (the rest came
              # from the cache)
              "fine_tunes_run": shared.get("fine_tunes_run"),
              "budgets": len(budgets), "cores": os.cpu_count(),
              "load_average_before": [round(v, 1) for v in load],
              "load_average_after": [round(v, 1) for v in os.getloadavg()],
              "shared": shared, "per_budget": per_budget}
    return results, timing


def print_timing(label: str, t: dict) -> None:
    s = t["shared"]
    print(f"[search] {label}: {t['wall_seconds']:.0f} s wall for {t['budgets']} budgets "
          f"(CPU {t['cpu_seconds']}, idle-machine estimate "
          f"{t['idle_machine_estimate_seconds']:.0f} s), "
          f"{t['samples']} samples, {t['cores']} cores (load {t['load_average_before']}): "
          f"contribution {s['contribution_seconds']:.0f} s ({s['fine_tunes']} fine-tunes; "
          f"prefix activations {s['prefix_seconds']:.0f} s), lr tuning "
          f"{s['learning_rate_seconds']:.0f} s, candidate plans "
          f"{s['candidate_planning_seconds']:.0f} s ({s['candidate_plans']} plans, "
          f"{s['candidate_bound_rejections']} rejected by the bound), structured schemes "
          f"{s['structured_planning_seconds']:.0f} s; joint check "
          f"{s['joint_check_seconds']:.0f} s ({s['joint_check_fine_tunes']} fine-tunes); "
          f"per budget: " + "; ".join(
              f"{b['budget_bytes'] // KB} KB evolution {b['evolution_seconds']:.0f} s "
              f"({b['evolution_plans']} plans, {b['evolution_bound_rejections']} rejected by "
              f"the bound)" for b in t["per_budget"]) +
          f"; CPU by phase {s['cpu_seconds']}", flush=True)


def merge_timing(path: Path, model: str, task: str, timing: dict, header: dict) -> None:
    """Put `timing` (with the provenance of its run) as search_timing of model/task in the
    results at `path`, leaving everything else as it is (the rows keep their own run's)."""
    doc = json.loads(path.read_text()) if path.exists() else {"models": {}}
    entry = doc.setdefault("models", {}).setdefault(model, {"tasks": {}})
    entry.setdefault("provenance", {k: doc.get(k) for k in header})
    t = entry.setdefault("tasks", {}).setdefault(task, {})
    t["search_timing"] = {**timing, "provenance": header}
    write_json(doc, path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small tasks, one seed, one epoch")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--model", choices=list(MODELS), nargs="*", default=list(MODELS),
                   help="models to measure; the --out file's other models are kept")
    p.add_argument("--time-only", action="store_true",
                   help="only time one uncached search per model (its first task or --task's, "
                        "all budgets) and merge its search_timing into --out")
    p.add_argument("--no-qemu", action="store_true", help="skip the QEMU check")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--board", default="nano33ble",
                   help="whose firmware parts (session, stack, static RAM) every budget counts")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--task", nargs="*", default=None, help="only these tasks")
    p.add_argument("--cache", type=Path, default=None,
                   help="reuse this contribution cache (default: an empty one per search)")
    p.add_argument("--keep-from", type=Path, default=None,
                   help="where the other models' rows come from (default: --out)")
    args = p.parse_args(argv)
    seeds = 1 if args.quick else args.seeds
    if args.time_only:
        # The timed run's own provenance goes with its search_timing; rows stay as they are.
        prov = provenance("search", argv, ["converter", "tflm_train", "bench/search.py",
                                           "bench/search_data.py"])
        header = {k: prov[k] for k in ("command", "date_utc", "git_commit",
                                       "uncommitted_source_changes", "machine")}
        header["quick"] = args.quick
        for model in args.model:
            spec = MODELS[model]
            task = (args.task or spec.tasks)[0]
            split, classes = load_task(model, task, args.quick)
            _, timing = time_search(Path(spec.path).read_bytes(), split, classes, spec.budgets,
                                    args.board, spec.fine_tune_samples, args.workers,
                                    spec.evolution, args.cache,
                                    1 if args.quick else spec.epochs)
            print_timing(f"{model}/{task}", timing)
            merge_timing(args.out, model, task, timing, header)
            print(f"[search] merged {model}/{task} search_timing into {args.out}")
        return 0
    doc = {**provenance("search", argv, ["converter", "tflm_train", "bench/search.py",
                                         "bench/search_data.py"]),
           "canonical": "searched scheme vs baselines, test accuracy mean over seeds",
           "seeds": seeds, "board": args.board, "models": {}}
    header = {k: doc[k] for k in ("command", "date_utc", "git_commit",
                                  "uncommitted_source_changes")}
    def write(doc, path):
        # Models this run does not measure keep their rows from --keep-from (read at every
        # write: another run may be making them), each with the provenance of its run.
        # With --task, this run's models keep their other tasks the same way.
        keep = args.keep_from or args.out
        if keep.exists():
            old = json.loads(keep.read_text())
            for name, entry in old.get("models", {}).items():
                entry.setdefault("provenance", {k: old.get(k) for k in header})
                if name not in args.model:
                    doc["models"][name] = entry
                elif name in doc["models"]:
                    ours = doc["models"][name]["tasks"]
                    for task, rows in entry.get("tasks", {}).items():
                        if task not in ours and args.task is not None and task not in args.task:
                            rows.setdefault("provenance", entry["provenance"])
                            ours[task] = rows
        write_json(doc, path)

    doc["complete"] = False  # written after every task, so a cut-off run keeps what it did
    for model in args.model:
        qemu_jobs = []
        spec = MODELS[model]
        base = Path(spec.path).read_bytes()
        epochs = 1 if args.quick else spec.epochs
        doc["models"][model] = {"provenance": header, "epochs": epochs,
                                "lr_grid": spec.lr_grid, "tasks": {}}
        n_layers = len(build_graph(read_model(base)).trainable_ops())
        for task in [t for t in spec.tasks if args.task is None or t in args.task]:
            split, classes = load_task(model, task, args.quick)
            results, timing = time_search(base, split, classes, spec.budgets, args.board,
                                          spec.fine_tune_samples, args.workers, spec.evolution,
                                          args.cache, epochs)
            print_timing(f"{model}/{task}", timing)
            memory = SchemeMemory(base, args.board, True, classes, 0)
            structured = StructuredPoints(memory, n_layers, classes is not None,
                                          max(spec.budgets))
            methods = {}
            for result in results:
                budget = result.report["budget_bytes"]
                methods[budget] = {"searched": (result.scheme,
                                                result.report["chosen"]["sram_bytes"]),
                                   **baselines(structured, budget)}
            unique = {scheme_key(s): s for m in methods.values() for s, _ in m.values()}
            start = time.perf_counter()
            scores = evaluate_methods(base, unique, split, epochs, seeds, classes, spec.lr_grid,
                                      args.workers)
            train_seconds = time.perf_counter() - start
            rows = []
            for result in results:
                budget = result.report["budget_bytes"]
                row = {"budget_bytes": budget,
                       "search": {k: result.report[k] for k in (
                           "chosen", "joint_check", "planner", "learning_rate",
                           "baseline_accuracy", "timing")},
                       "methods": {name: {"scheme": {"n_bias": s.n_bias, "weights": {
                           str(k): v for k, v in s.weights.items()}}, "sram_bytes": need,
                           **scores[scheme_key(s)]} for name, (s, need) in
                           methods[budget].items()}}
                # Evolution vs random search, on the same gains and the same number of plans.
                gain = {c: e["gain"] for c, e in _gains(result)}
                evaluated = len(result.report["trace"])
                row["search_vs_random"] = {
                    "evaluated_points": evaluated,
                    "evolution_predicted_gain": max(p["predicted_gain"]
                                                    for p in result.report["trace"]),
                    "random_predicted_gain": random_search(
                        gain, n_layers, memory, budget, evaluated, 0)}
                row["goal"] = goal(row["methods"])
                rows.append(row)
                qemu_jobs.append((model, task, row, base, result.scheme, classes))
                print(f"[search] {model}/{task} {budget // KB} KB: " + ", ".join(
                    f"{k} {100 * v['mean']:.1f}" for k, v in row["methods"].items()), flush=True)
            doc["models"][model]["tasks"][task] = {
                "num_classes": classes, "samples": {"train": int(len(split.x_train)),
                                                    "validation": int(len(split.x_val)),
                                                    "test": int(len(split.x_test))},
                "search_timing": timing, "training_seconds": round(train_seconds, 1),
                "rows": rows}
            write(doc, args.out)
        if not args.no_qemu:
            from bench.search_qemu import check_in_qemu
            check_in_qemu(qemu_jobs, args.board)
            write(doc, args.out)
    doc["complete"] = True
    write(doc, args.out)
    plot(doc, args.out.with_suffix(".png"))
    print(f"[search] wrote {args.out} and {args.out.with_suffix('.png')}")
    return 0


def write_json(doc: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n")


def goal(methods: dict) -> dict:
    """Met if the searched scheme's mean >= every baseline's; `beyond_spread` if it beats the
    best baseline by more than the larger of their seed standard deviations."""
    ours = methods["searched"]
    others = {k: v for k, v in methods.items() if k != "searched"}
    if not others:
        return {"met": True, "margin": None, "beyond_spread": False}
    best = max(others, key=lambda k: others[k]["mean"])
    margin = ours["mean"] - others[best]["mean"]
    return {"met": margin >= 0, "best_baseline": best, "margin": margin,
            "beyond_spread": margin > max(ours["std"], others[best]["std"])}


def _gains(result):
    for c in result.report["candidates"]:
        if c["measured"]:
            yield Candidate(c["kind"], c["layer"], c["ratio"]), c


def plot(doc: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(m, t, v["rows"]) for m, d in doc["models"].items() for t, v in d["tasks"].items()]
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
