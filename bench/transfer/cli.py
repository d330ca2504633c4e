"""Command line of the transfer bench: per task and method, run every rate setting of the
method's grid on each seed, choose the setting by the seeds' mean validation accuracy, report
the chosen setting's test accuracy as mean and spread over seeds."""
from __future__ import annotations

import argparse
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from tqdm.auto import tqdm

from bench.accuracy import report
from bench.accuracy.runs import Optim
from bench.provenance import provenance
from bench.run_options import add_run_options

from .methods import FIXED_LR, LAST_LAYER, QUICK_LR, SCHEME, Rate, methods
from .runs import run
from .tasks import BACKBONE, backbone, input_quantization, tasks

def _args(argv):
    p = argparse.ArgumentParser(prog="python -m bench.transfer", description=__doc__)
    add_run_options(p, ["fashion10", "parity2"], 3, 1,
                    "smoke run: small splits, one seed, 1 epoch, fixed rates (no tuning)")
    p.add_argument("--jobs", type=int, default=1,
                   help="tasks run in parallel processes (the machine's cores are shared)")
    return p.parse_args(argv)


def choose(grid: list[Rate], val: dict[Rate, list[float]]) -> Rate:
    """The setting with the best validation accuracy averaged over the seeds; ties go to the
    slower head, then the slower backbone. An untuned grid (val empty) has one setting."""
    if not val:
        (only,) = grid
        return only
    return max(grid, key=lambda r: (float(np.mean(val[r])), -r.head_lr, -r.lr))


def run_task(tname: str, quick: bool, method_names: list[str], seeds: list[int],
             epochs: int, position: int = 0) -> dict:
    """Every method of one task: each rate setting of the method's grid is run on every seed
    (validation only), the setting with the best validation accuracy averaged over the seeds is
    chosen (ties to the slower rates), and its runs are repeated with the test set scored (the
    same seeded runs: "val" beside "lr_grid_val_per_seed" in the JSON shows they agree).
    Returns the task's entry of the JSON."""
    task = tasks(quick=quick)[tname]
    all_methods = methods()
    tune = not quick
    opt = Optim()  # bench/accuracy's: momentum 0.9, mini-batches of 8, warm-up + cosine
    base = backbone()
    loaded = task.task.load()
    data = {s: task.data(s, loaded, input_quantization(base)) for s in seeds}
    grids = {}
    for mname in method_names:
        m = all_methods[mname]
        if not tune:
            grids[mname] = [QUICK_LR[mname]]
        elif mname in FIXED_LR:
            grids[mname] = [FIXED_LR[mname][tname]]
        elif m.lr_from:
            grids[mname] = None  # the other method's choice
        else:
            grids[mname] = list(m.lr_grid)
    n_runs = sum(((len(g) if len(g) > 1 else 0) if g else 0) * len(seeds) + len(seeds)
                 for g in grids.values())
    bar = tqdm(total=n_runs, desc=tname, unit="run", position=position)
    tres, chosen = {}, {}
    for mname in method_names:
        m = all_methods[mname]
        grid = grids[mname] or [chosen[m.lr_from]]
        val = {}
        if len(grid) > 1:
            for rate in grid:
                vals = []
                for s in seeds:
                    bar.set_postfix_str(f"{mname} {rate.text()} seed {s}")
                    vals.append(run(base, m, task.classes, data[s], rate, epochs, s, opt,
                                    test="none").val)
                    bar.update()
                val[rate] = vals
        best = choose(grid, val)
        chosen[mname] = best
        runs = []
        for s in seeds:
            bar.set_postfix_str(f"{mname} {best.text()} seed {s} (test)")
            runs.append(run(base, m, task.classes, data[s], best, epochs, s, opt))
            bar.update()
        finals = np.array([r.final for r in runs])
        tres[mname] = {
            "label": m.label, "arithmetic": m.arithmetic,
            "scheme": {"n_bias": m.scheme.n_bias,
                       "weights": {str(k): v for k, v in m.scheme.weights.items()},
                       "qas": m.scheme.qas},
            "lr": best.lr, "head_lr": best.head_lr, "lr_tuned": bool(val),
            "lr_from": m.lr_from if grids[mname] is None else None,
            "lr_fixed": ("session 6's choice on seed 0's validation split"
                         if tune and mname in FIXED_LR else None),
            # mean over the seeds' validation splits (what chose the rates), then per seed
            "lr_grid_val_accuracy": {r.text(): float(np.mean(v)) for r, v in val.items()},
            "lr_grid_val_per_seed": {r.text(): v for r, v in val.items()},
            "seeds": seeds, "final": finals.tolist(),
            "mean": float(finals.mean()), "std": float(finals.std()),
            "spread": float(finals.max() - finals.min()),
            "before": [r.before for r in runs], "curves": [r.curve for r in runs],
            "val": [r.val for r in runs], "train_loss": [r.train_loss for r in runs],
        }
    bar.close()
    s0 = data[seeds[0]].split
    return {"title": task.task.title, "classes": task.classes, "n_train": len(s0.x_train),
            "n_val": len(s0.x_val), "n_test": len(s0.x_test), "methods": tres}


def main(argv=None) -> int:
    a = _args(argv)
    task_names = a.tasks or list(tasks(quick=a.quick))
    method_names = a.methods or list(methods())
    seeds = list(range(a.seeds or (1 if a.quick else 3)))
    epochs = a.epochs or (1 if a.quick else 3)
    quant = input_quantization(backbone())
    header = provenance("transfer", argv, ["converter", "tflm_train", "kernels",
                                           "bench/transfer", "bench/accuracy"])
    t0 = time.time()
    args = [(t, a.quick, method_names, seeds, epochs, i) for i, t in enumerate(task_names)]
    if a.jobs > 1 and len(task_names) > 1:
        # one process per task (spawned: TensorFlow and the runtime are not fork-safe)
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(a.jobs, len(task_names)), mp_context=ctx) as pool:
            done = list(pool.map(run_task, *zip(*args)))
    else:
        done = [run_task(*x) for x in args]
    results = dict(zip(task_names, done))
    opt = Optim()
    doc = report.document(results, dict(
        quick=a.quick, epochs=epochs, seeds=seeds, optimizer=opt.as_dict(),
        rounding="stochastic", base_model=BACKBONE.name, tuned=not a.quick,
        head="convert(num_classes=K, seed=seed): a fresh K-way classifier per seed",
        input="28x28 images resized to 96x96 (bilinear), real 2x-1 quantised at the model's "
              f"input scale {quant[0]:.6g}, zero point {quant[1]}",
        scheme={"n_bias": SCHEME["n_bias"], "weights": str(SCHEME["weights"]),
                "head_lr": "the new classifier steps at head_lr: lr_scale {-1: head_lr / lr}"},
        lr_choice="per method, the grid setting with the best validation accuracy averaged "
                  "over the seeds' validation splits; the test split is not used",
        last_layer_scheme={"n_bias": LAST_LAYER["n_bias"],
                           "weights": str(LAST_LAYER["weights"])},
        jobs=a.jobs, seconds=round(time.time() - t0, 1)), header)
    print(report.table(doc))
    a.out.mkdir(parents=True, exist_ok=True)
    report.write_json(doc, a.out / "transfer.json")
    report.plot(doc, a.out / "transfer.png")
    print(f"wrote {a.out / 'transfer.json'} and transfer.png")
    return 0
