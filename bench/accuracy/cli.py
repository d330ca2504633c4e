"""Command line of the accuracy bench: tune lr per method on validation, run seeds, report."""
from __future__ import annotations

import argparse
import time

import numpy as np
from tqdm.auto import tqdm

from bench.provenance import provenance
from bench.run_options import add_run_options

from . import report
from .methods import BASES, QUICK_LR, base_model, methods
from .runs import Optim, run
from .tasks import tasks

def _args(argv):
    p = argparse.ArgumentParser(prog="python -m bench.accuracy", description=__doc__)
    add_run_options(p, ["digits", "fashion", "writers"], 5, 2,
                    "smoke run: one small task, one seed, 2 epochs, fixed lr (no tuning)")
    # defaults: the demo's optimizer (momentum 0.9 over mini-batches of 8, warm-up + cosine)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--schedule", choices=("cosine", "constant"), default="cosine")
    p.add_argument("--warmup", type=float, default=0.1, help="warm-up fraction of the updates")
    p.add_argument("--no-tune", action="store_true", help="use the fixed lr of --quick")
    p.add_argument("--base", choices=list(BASES), default="demo",
                   help="base model: demo CNN, or the MobileNet-style CNN with folded BN")
    p.add_argument("--name", help="file name stem of the outputs (default accuracy, "
                   "accuracy_<base> for other bases)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = _args(argv)
    all_tasks = tasks(quick=a.quick)
    task_names = a.tasks or (["digits"] if a.quick else list(all_tasks))
    all_methods = methods(a.base)
    name = a.name or ("accuracy" if a.base == "demo" else f"accuracy_{a.base}")
    method_names = a.methods or list(all_methods)
    seeds = list(range(a.seeds or (1 if a.quick else 3)))
    epochs = a.epochs or (2 if a.quick else 5)
    tune = not (a.quick or a.no_tune)
    opt = Optim(a.batch_size, a.momentum, a.warmup, a.schedule == "cosine")
    model_path = base_model(a.base)
    base = model_path.read_bytes()

    n_runs = sum(len(all_methods[m].lr_grid) if tune else 0 for m in method_names)
    n_runs = len(task_names) * (n_runs + len(method_names) * len(seeds))
    bar = tqdm(total=n_runs, desc="accuracy bench", unit="run")
    t0 = time.time()
    # taken before the runs: the commit and sources that produced the numbers
    header = provenance("accuracy", argv,
                        ["converter", "tflm_train", "kernels", "bench/accuracy"])
    results = {}
    for tname in task_names:
        task = all_tasks[tname]
        data = task.load()
        splits = {s: task.split(s, data) for s in seeds}
        tune_split = splits.get(0) or task.split(0, data)
        tres = {}
        for mname in method_names:
            m = all_methods[mname]
            grid = {}
            if m.lr_from and m.lr_from in tres:
                lr = tres[m.lr_from]["lr"]
            elif tune and m.lr_grid:
                # lr chosen on the validation split of seed 0; the test set is never looked at
                for lr in m.lr_grid:
                    bar.set_postfix_str(f"{tname} {mname} tune lr={lr:g}")
                    grid[lr] = run(base, m, tune_split, lr, epochs, 0, opt).val
                    bar.update()
                lr = max(grid, key=lambda k: (grid[k], -k))
            else:
                lr = QUICK_LR[mname]
            runs = []
            for s in seeds:
                bar.set_postfix_str(f"{tname} {mname} seed {s} lr={lr:g}")
                runs.append(run(base, m, splits[s], lr, epochs, s, opt))
                bar.update()
            finals = np.array([r.final for r in runs])
            tres[mname] = {
                "label": m.label, "arithmetic": m.arithmetic,
                "scheme": {"n_bias": m.scheme.n_bias,
                           "weights": {str(k): v for k, v in m.scheme.weights.items()},
                           "qas": m.scheme.qas, "qas_clamp": m.scheme.qas_clamp},
                "lr": lr, "lr_tuned": tune and bool(grid), "lr_from": m.lr_from,
                "lr_grid_val_accuracy": {f"{k:g}": v for k, v in grid.items()},
                "seeds": seeds, "final": finals.tolist(),
                "mean": float(finals.mean()), "std": float(finals.std()),
                "before": [r.before for r in runs],
                "curves": [r.curve for r in runs],
                "train_loss": [r.train_loss for r in runs],
            }
        s0 = splits[seeds[0]]
        results[tname] = {"title": task.title, "n_train": len(s0.x_train),
                          "n_val": len(s0.x_val), "n_test": len(s0.x_test), "methods": tres}
    bar.close()
    doc = report.document(results, dict(
        quick=a.quick, epochs=epochs, seeds=seeds, optimizer=opt.as_dict(),
        rounding="stochastic", base_model=model_path.name, tuned=tune,
        scheme={k: (str(v) if k == "weights" else v) for k, v in BASES[a.base][1].items()},
        seconds=round(time.time() - t0, 1)), header)
    print(report.table(doc))
    a.out.mkdir(parents=True, exist_ok=True)
    report.write_json(doc, a.out / f"{name}.json")
    report.plot(doc, a.out / f"{name}.png")
    print(f"wrote {a.out / (name + '.json')} and {name}.png")
    return 0
