"""Fleet bench (issue 19): int8 FedAvg on Flower against local-only, centralised int8 and fp32
FedAvg -> bench/results/fleet.json and fleet.png.

    .venv/bin/python -m bench.fleet                         # both tasks (tasks.py)
    .venv/bin/python -m bench.fleet --tasks person_detect   # one task; the JSON keeps the other
    .venv/bin/python -m bench.fleet --quick                 # smoke run (4 clients, 1 seed)

Every method trains the same scheme with the same epochs (rounds x local epochs), momentum,
mini-batches and per-client shuffles, each at its own constant rate chosen on a validation
split (tune.py; the test split chooses nothing):
- fleet int8: tflm_train.fleet.simulate (Flower simulation, 2 CPUs), every client every round,
  FedAvg or FedAvgM (`--server-momentum`);
- fp32 FedAvg: the float twin (fp32.py) of the same parameters, clients, samples and server,
  at the int8 fleet's chosen rate, so that the difference is what quantisation costs (decided
  before the session 10 runs); the twin at its own validation-chosen rate is reported beside
  (`fp32_fedavg_own_rate`) when the two rates differ, and its weights deployed as int8
  (`fp32_fedavg_deployed_int8`: re-quantised into the int8 model, scored by the runtime);
- local-only: each client on its own shard for all the epochs, the mean of their final test
  accuracies;
- centralised int8: one Trainer on all the clients' samples, the same total epochs.

Headline basis, fixed before any run: per seed, the mean test accuracy over the last 5 rounds
(centralised: the last 5 round-equivalents of epochs; local-only: its final round, the only
one scored), then mean and std over seeds; goals are judged on it. The final round alone is
reported beside it.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tflm_train.fleet import FleetModel, dirichlet_shards, simulate
from tflm_train.fleet.baselines import centralised
from tflm_train.fleet.model import client_seed

from bench.provenance import provenance

from .fp32 import Fp32Fleet
from .plot import plot
from .tasks import tasks, validation_split
from .tune import tune_alpha, tune_centralised

RESULTS = Path(__file__).resolve().parents[1] / "results"
SOURCES = ["bench/fleet", "bench/search_data.py", "bench/transfer/tasks.py", "tflm_train",
           "converter", "kernels", "examples/firmware/fleet"]
LAST = 5  # the headline's rounds (module docstring)

# Per task: the settings chosen on the validation split (NOTES, issue 19, lists the
# exploration); a command-line value replaces one.
DEFAULTS = {
    # 3 local epochs per round; every method's grid reaches down to 0.001 (chosen while the
    # loss read the int8 softmax output and 60 constant-rate epochs at 0.0025 and above
    # collapsed, NOTES issue 19; kept so that runs before and after the fix compare).
    # FedAvgM, server momentum 0.7 (session 10, validation, 3 shard seeds): +0.9 points over
    # FedAvg at alpha 1.0 (92.9 against 91.9; centralised 94.7) and +1.6 at alpha 0.1 (seed
    # 0); a server rate above 1 without momentum overshoots (54 % at 2, 91.6 at 1.25).
    # Session 11: the FedAvgM server steps a float64 master copy (aggregate.ServerMomentum);
    # on validation (3 shard seeds, the same rates) it was neutral within noise (int8 - fp32
    # -0.58 against -0.81 at alpha 1.0, -0.58 against -0.20 at alpha 0.1; one sample is 0.42
    # points), kept because it loses no update below half a quantum. 60 x 1 and 30 x 2
    # rounds x local epochs were no better than 20 x 3 (seed 0: 93.9 / 94.2 against 94.2)
    "digits": dict(clients=20, rounds=20, local_epochs=3, seeds=3, val=240,
                   lr_grid=[0.001, 0.002, 0.005, 0.01, 0.02], batch_size=8, momentum=0.9,
                   server_momentum=0.7, server_lr=1.0, fixed_rates={}),
    # 30 rounds: on validation (NOTES issue 19, session 8) FedAvg's curve flattens only
    # after ~25-30 rounds (a client's 15 samples are 2 mini-batches a round). FedAvgM 0.7
    # (session 10, validation): 65.7 / 62.7 at 0.1 / 0.2 against FedAvg's best 56.3 and
    # centralised 60.3; flat from round ~15. Every rate was chosen on validation before the
    # run (the grid's scores are in NOTES: centralised 0.1 and local-only 0.1 in session 9,
    # whose settings they do not depend on; the fleet 0.1 at both skews in session 10), and
    # the fp32 twin takes the fleet's: no grid in the run, which saves ~1 h on the shared
    # machine (one person_detect test pass of 200 samples costs as much as training 200)
    "person_detect": dict(clients=20, rounds=30, local_epochs=1, seeds=3, val=60,
                          lr_grid=[0.05, 0.1, 0.2], batch_size=8, momentum=0.9,
                          server_momentum=0.7, server_lr=1.0,
                          fixed_rates={"centralised_int8": 0.1, "local_only": 0.1,
                                       "fleet_int8": 0.1, "fp32_fedavg": None}),
}
QUICK = dict(clients=4, rounds=2, seeds=1, alphas=[1.0], val=40)


def headline(curve) -> float:
    """Mean of the last LAST rounds (never the score before round 1)."""
    return float(np.mean(curve[max(1, len(curve) - LAST):]))


def _args(argv):
    p = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", nargs="+", choices=sorted(tasks()),
                   default=["digits", "person_detect"])
    p.add_argument("--quick", action="store_true", help="4 clients, 2 rounds, 1 seed, alpha 1")
    p.add_argument("--alphas", type=float, nargs="+", default=[0.1, 1.0])
    for name, kind in (("clients", int), ("rounds", int), ("local-epochs", int),
                       ("seeds", int), ("val", int), ("batch-size", int), ("momentum", float),
                       ("server-momentum", float), ("server-lr", float)):
        p.add_argument(f"--{name}", type=kind, default=None, help="default: per task")
    p.add_argument("--lr-grid", type=float, nargs="+", default=None,
                   help="rates tried per method on the validation split (one: no choice)")
    p.add_argument("--tune-only", action="store_true",
                   help="print the validation scores and stop (nothing is written)")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--name", default="fleet")
    return p.parse_args(argv)


def _settings(a, task: str):
    s = argparse.Namespace(**DEFAULTS[task])
    s.alphas = a.alphas
    for k in vars(s):
        v = getattr(a, k, None)
        if v is not None:
            setattr(s, k, v)
    if a.quick:
        for k, v in QUICK.items():
            setattr(s, k, v)
        s.lr_grid = s.lr_grid[:1]
    return s


def _stats(values) -> dict:
    v = np.asarray(values, float)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "seeds": [float(a) for a in v]}


@dataclass
class Context:
    """One seed's model of a task (person_detect's fresh head depends on the seed)."""
    args: argparse.Namespace
    ext: bytes
    model: FleetModel
    fp32: Fp32Fleet

    def local_final(self, shards, lr, test, seed) -> float:
        """Mean over clients of the test accuracy after training alone for all the epochs."""
        a = self.args
        accs = []
        for i, (xs, ys) in enumerate(shards):
            tr = self.model.trainer(self.model.initial, lr, client_seed(seed, 0, i))
            tr.fit(xs, ys, epochs=a.rounds * a.local_epochs, batch_size=a.batch_size,
                   progress=False)
            accs.append(tr.evaluate(*test)["accuracy"])
        return float(np.mean(accs))


def _context(task, s, seed) -> Context:
    ext = task.extended(seed, s.momentum, s.batch_size > 1)
    from tflm_train.converter.scheme import SparseUpdate
    return Context(s, ext, FleetModel(ext), Fp32Fleet(ext, SparseUpdate(**task.scheme),
                                                      s.momentum))


def run_task(task, s, quick: bool, tune_only: bool, log) -> dict | None:
    t0 = time.time()
    x_pool, y_pool, x_te, y_te = task.load(quick)
    test = (x_te, y_te)
    ctx0 = _context(task, s, 0)
    val = validation_split(x_pool, y_pool, s.val, seed=0)
    log(f"{task.name}: choosing rates over {s.lr_grid} on {s.val} validation samples")
    lrs = {"centralised_int8": tune_centralised(ctx0, val, headline, log)}
    for alpha in s.alphas:
        lrs[f"alpha_{alpha}"] = tune_alpha(ctx0, alpha, val, headline, log)
    if tune_only:
        return None
    runs, central = {}, {}
    ctxs = {seed: (ctx0 if seed == 0 else _context(task, s, seed)) for seed in range(s.seeds)}
    c_lr = lrs["centralised_int8"]["lr"]
    for seed, ctx in ctxs.items():
        shards = dirichlet_shards(x_pool, y_pool, s.clients, 1.0, seed=seed)
        central[seed] = centralised(ctx.model, shards, s.rounds, s.local_epochs, c_lr, test,
                                    seed, s.batch_size)
        log(f"{task.name} seed {seed}: centralised {100 * headline(central[seed]):.1f}")
    for alpha in s.alphas:
        lr = {m: v["lr"] for m, v in lrs[f"alpha_{alpha}"].items()}
        for seed, ctx in ctxs.items():
            t1 = time.time()
            shards = dirichlet_shards(x_pool, y_pool, s.clients, alpha, seed=seed)
            fleet = simulate(ctx.ext, shards, s.rounds, s.local_epochs, lr["fleet_int8"],
                             test=test, seed=seed, batch_size=s.batch_size,
                             server_momentum=s.server_momentum,
                             server_learning_rate=s.server_lr, progress=False)
            chosen = [r.clients for r in fleet.rounds]
            deployed: list[float] = []
            f32 = ctx.fp32.run(shards, s.rounds, s.local_epochs, lr["fleet_int8"],
                               s.batch_size, seed, test, chosen, s.server_momentum, s.server_lr,
                               deployed=(ctx.model, deployed))
            f32_own = f32 if lr["fp32_fedavg"] == lr["fleet_int8"] else ctx.fp32.run(
                shards, s.rounds, s.local_epochs, lr["fp32_fedavg"], s.batch_size, seed, test,
                chosen, s.server_momentum, s.server_lr)
            local = ctx.local_final(shards, lr["local_only"], test, seed)
            runs[(alpha, seed)] = {
                "alpha": alpha, "seed": seed, "fleet_int8": fleet.accuracy, "fp32_fedavg": f32,
                "fp32_fedavg_own_rate": f32_own, "fp32_fedavg_deployed_int8": deployed,
                "local_only_final": local, "centralised": central[seed],
                "shard_sizes": [len(sh[1]) for sh in shards],
                "bytes": fleet.bytes, "total_bytes": fleet.total_bytes,
                "rejected": fleet.rejected, "seconds": round(time.time() - t1, 1)}
            log(f"{task.name} alpha {alpha} seed {seed}: fleet {100 * headline(fleet.accuracy):.1f}"
                f", fp32 {100 * headline(f32):.1f}, local-only {100 * local:.1f}, centralised "
                f"{100 * headline(central[seed]):.1f} (last-{LAST} means; "
                f"{time.time() - t1:.0f} s)")
    report = _report(task, s, quick, ctx0.model, lrs, runs, len(y_pool), len(y_te))
    report["seconds"] = round(time.time() - t0, 1)
    return report


def _summary(rs, key, basis) -> dict:
    return _stats([basis(r[key]) for r in rs])


def _report(task, s, quick, model, lrs, runs, pool, n_test) -> dict:
    summary, goals = {}, {}
    per_client = model.trained_bytes + model.header_bytes
    for alpha in s.alphas:
        rs = [runs[(alpha, seed)] for seed in range(s.seeds)]
        out = {"local_only": _stats([r["local_only_final"] for r in rs]),
               "before": float(rs[0]["fleet_int8"][0])}
        for name, basis in ((f"last_{LAST}_rounds", headline), ("final_round", lambda c: c[-1])):
            out[name] = {m: _summary(rs, k, basis) for m, k in (
                ("fleet_int8", "fleet_int8"), ("fp32_fedavg", "fp32_fedavg"),
                ("fp32_fedavg_own_rate", "fp32_fedavg_own_rate"),
                ("fp32_fedavg_deployed_int8", "fp32_fedavg_deployed_int8"),
                ("centralised_int8", "centralised"))}
        # the int8 - fp32 difference per seed (same shards, samples and clients), and its spread
        for name, basis in ((f"last_{LAST}_rounds", headline), ("final_round", lambda c: c[-1])):
            out[name]["fleet_minus_fp32_points"] = _stats(
                [100 * (basis(r["fleet_int8"]) - basis(r["fp32_fedavg"])) for r in rs])
            out[name]["fleet_minus_fp32_own_rate_points"] = _stats(
                [100 * (basis(r["fleet_int8"]) - basis(r["fp32_fedavg_own_rate"])) for r in rs])
            out[name]["fleet_minus_fp32_deployed_int8_points"] = _stats(
                [100 * (basis(r["fleet_int8"]) - basis(r["fp32_fedavg_deployed_int8"]))
                 for r in rs])
        summary[f"alpha_{alpha}"] = out
        h = out[f"last_{LAST}_rounds"]
        fleet = h["fleet_int8"]["mean"]
        gap_c = 100 * (fleet - h["centralised_int8"]["mean"])
        gap_l = 100 * (fleet - out["local_only"]["mean"])
        gap_f = h["fleet_minus_fp32_points"]["mean"]
        if alpha == 1.0:
            goals["alpha_1.0_within_1_point_of_centralised"] = {
                "points": round(gap_c, 2), "met": gap_c >= -1.0}
        if alpha == 0.1:
            goals["alpha_0.1_5_points_above_local_only"] = {
                "points": round(gap_l, 2), "met": gap_l >= 5.0}
        goals[f"alpha_{alpha}_int8_within_0.5_points_of_fp32_fedavg"] = {
            "points": round(gap_f, 2), "seed_std": round(h["fleet_minus_fp32_points"]["std"], 2),
            "met": abs(gap_f) <= 0.5,
            # not the goal's measure (the twin scored in float): the twin's weights run as
            # int8, i.e. what int8 training costs beside int8 inference (fp32.py)
            "points_vs_fp32_deployed_int8": round(
                h["fleet_minus_fp32_deployed_int8_points"]["mean"], 2)}
    sizes = {v for r in runs.values() for b in r["bytes"]
             for v in list(b["up"].values()) + [b["down_per_client"]]}
    goals["bytes_per_client_per_round_equal_trained_plus_header"] = {
        "trained_bytes": model.trained_bytes, "header_bytes": model.header_bytes,
        "seen": sorted(sizes), "met": sizes == {per_client}}
    config = {"model": task.model, "task": task.data, "quick": quick,
              "train_pool": pool, "test": n_test, "validation_from_pool": s.val,
              "scheme": {"n_bias": task.scheme["n_bias"],
                         "weights": {str(k): v for k, v in task.scheme["weights"].items()}},
              "fresh_head_classes": task.num_classes,
              "clients": s.clients, "rounds": s.rounds, "local_epochs": s.local_epochs,
              "total_epochs": s.rounds * s.local_epochs, "alphas": s.alphas,
              "seeds": s.seeds, "lr_grid": s.lr_grid, "learning_rates": lrs,
              "fp32_fedavg_rate": "the int8 fleet's chosen rate (the difference isolates "
                                  "quantisation); fp32_fedavg_own_rate: the twin's own choice",
              "fp32_fedavg_deployed_int8": "the fp32 twin's weights after each round "
                                           "re-quantised (nearest) into the int8 model and "
                                           "scored by the runtime",
              "server_master_copy": "FedAvgM steps a float64 master copy of the trained "
                                    "tensors; clients get its re-quantisation",
              "batch_size": s.batch_size, "momentum": s.momentum,
              "server_momentum": s.server_momentum, "server_learning_rate": s.server_lr,
              "fraction": 1.0,
              "headline": f"mean test accuracy of the last {LAST} rounds per seed (local-only: "
                          "final), mean and std over seeds; goals judged on it",
              "simulation": "Flower 1.42.0 run_simulation, Ray backend, 2 CPUs, 1 per client",
              "bytes_per_client_per_round": per_client}
    return {"config": config, "summary": summary, "goals": goals,
            "runs": [{**r, "bytes": r["bytes"][:1]} for r in runs.values()]}


def main(argv=None) -> int:
    a = _args(argv)
    t0 = time.time()

    def log(msg):
        print(f"[{time.time() - t0:6.0f} s] {msg}", flush=True)

    path = a.out / f"{a.name}.json"
    stored = json.loads(path.read_text()).get("tasks", {}) if path.is_file() else {}
    all_tasks = tasks()
    for name in a.tasks:
        s = _settings(a, name)
        report = run_task(all_tasks[name], s, a.quick, a.tune_only, log)
        if report is None:
            continue
        stored[name] = {**provenance("fleet", argv, SOURCES), **report}
        a.out.mkdir(parents=True, exist_ok=True)
        # one task's rerun keeps the other's entry, with that entry's own provenance
        path.write_text(json.dumps({"bench": "fleet", "tasks": stored}, indent=1) + "\n")
        plot(a.out / f"{a.name}.png", stored, LAST)
        print(json.dumps(report["summary"], indent=1))
        print(json.dumps(report["goals"], indent=1))
        log(f"wrote {path} and .png ({name})")
    return 0
