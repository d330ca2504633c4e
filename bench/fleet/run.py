"""Fleet bench (issue 19): int8 FedAvg on Flower against local-only, centralised int8 and fp32
FedAvg -> bench/results/fleet.json and fleet.png.

    .venv/bin/python -m bench.fleet            # demo CNN on digits, 20 clients, alpha 0.1 / 1.0
    .venv/bin/python -m bench.fleet --quick    # smoke run (4 clients, 2 rounds, 1 seed)

Task: the demo CNN (MNIST-pretrained, int8) adapted to scikit-learn digits, bench/accuracy's
demo scheme (FC + conv4 weights, biases of the last 4 layers, QAS) with momentum 0.9 over
mini-batches of 8 at a constant rate. A fixed stratified test split (597 samples); the other
1200 are shared over the clients with Dirichlet(alpha) label skew, drawn per seed. Methods, all
with the same epochs (rounds x local epochs), rate, batches and per-client shuffles:
- fleet int8: tflm_train.fleet.simulate (Flower simulation, 2 CPUs), every client every round;
- fp32 FedAvg: the float twin (fp32.py) of the same parameters, same clients and samples;
- local-only: each client on its own shard, the mean of their final test accuracies;
- centralised int8: one Trainer on all 1200 samples (same scheme), independent of alpha.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import tflm_train
from tflm_train.data import DEMO_MODEL, load_sklearn_digits, split
from tflm_train.fleet import FleetModel, dirichlet_shards, simulate
from tflm_train.fleet.baselines import centralised

from bench.provenance import provenance

from .fp32 import Fp32Fleet

RESULTS = Path(__file__).resolve().parents[1] / "results"
SCHEME = dict(n_bias=4, weights={-1: 1.0, -2: 1.0})  # bench/accuracy's demo scheme
SOURCES = ["bench/fleet", "tflm_train", "converter", "kernels", "examples/firmware/fleet"]


def _args(argv):
    p = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__)
    p.add_argument("--quick", action="store_true", help="4 clients, 2 rounds, 1 seed, alpha 1")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--local-epochs", type=int, default=1)
    p.add_argument("--alphas", type=float, nargs="+", default=[0.1, 1.0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--lr", type=float, default=0.005)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--name", default="fleet")
    return p.parse_args(argv)


def _stats(values) -> dict:
    v = np.asarray(values, float)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "seeds": [float(a) for a in v]}


def main(argv=None) -> int:
    a = _args(argv)
    if a.quick:
        a.clients, a.rounds, a.seeds, a.alphas = 4, 2, 1, [1.0]
    t0 = time.time()
    base = DEMO_MODEL.read_bytes()
    scheme = tflm_train.SparseUpdate(**SCHEME)
    ext = tflm_train.convert(base, scheme, optimizer=tflm_train.SGD(
        momentum=a.momentum, mini_batch=a.batch_size > 1))
    model = FleetModel(ext)
    x, y = load_sklearn_digits()
    x_tr, y_tr, x_te, y_te = split(x, y, 1200, seed=12345)
    if a.quick:
        x_tr, y_tr, x_te, y_te = x_tr[:200], y_tr[:200], x_te[:200], y_te[:200]
    test = (x_te, y_te)
    fp32 = Fp32Fleet(base, scheme, a.momentum)
    settings = (a.rounds, a.local_epochs, a.lr)
    runs = {}
    central = {}
    for seed in range(a.seeds):
        shards = dirichlet_shards(x_tr, y_tr, a.clients, 1.0, seed=seed)
        central[seed] = centralised(model, shards, *settings, test, seed, a.batch_size)
        print(f"seed {seed}: centralised {100 * central[seed][-1]:.1f}", flush=True)
    for alpha in a.alphas:
        for seed in range(a.seeds):
            t1 = time.time()
            shards = dirichlet_shards(x_tr, y_tr, a.clients, alpha, seed=seed)
            fleet = simulate(ext, shards, *settings, test=test, seed=seed,
                             batch_size=a.batch_size, progress=False)
            chosen = [r.clients for r in fleet.rounds]
            f32 = fp32.run(shards, *settings, a.batch_size, seed, test, chosen)
            local = _local_final(model, shards, a, test, seed)
            runs[(alpha, seed)] = {
                "alpha": alpha, "seed": seed, "fleet_int8": fleet.accuracy, "fp32_fedavg": f32,
                "local_only_final": local, "centralised": central[seed],
                "shard_sizes": [len(s[1]) for s in shards],
                "bytes": fleet.bytes, "total_bytes": fleet.total_bytes,
                "rejected": fleet.rejected, "seconds": round(time.time() - t1, 1)}
            print(f"alpha {alpha} seed {seed}: fleet {100 * fleet.accuracy[-1]:.1f}, fp32 "
                  f"{100 * f32[-1]:.1f}, local-only {100 * local:.1f}, centralised "
                  f"{100 * central[seed][-1]:.1f} ({time.time() - t1:.0f} s)", flush=True)
    report = _report(a, model, runs)
    report["seconds"] = round(time.time() - t0, 1)
    a.out.mkdir(parents=True, exist_ok=True)
    header = provenance("fleet", argv, SOURCES)
    (a.out / f"{a.name}.json").write_text(json.dumps({**header, **report}, indent=1) + "\n")
    _plot(a.out / f"{a.name}.png", a, runs)
    print(json.dumps(report["summary"], indent=1))
    print(json.dumps(report["goals"], indent=1))
    print(f"wrote {a.out / (a.name + '.json')} and .png in {time.time() - t0:.0f} s")
    return 0


def _local_final(model, shards, a, test, seed) -> float:
    """Mean over clients of the test accuracy after training alone for all the epochs."""
    from tflm_train.fleet.model import client_seed
    accs = []
    for i, (xs, ys) in enumerate(shards):
        tr = model.trainer(model.initial, a.lr, client_seed(seed, 0, i))
        tr.fit(xs, ys, epochs=a.rounds * a.local_epochs, batch_size=a.batch_size,
               progress=False)
        accs.append(tr.evaluate(*test)["accuracy"])
    return float(np.mean(accs))


def _report(a, model, runs) -> dict:
    summary, goals = {}, {}
    per_client = model.trained_bytes + model.header_bytes
    for alpha in a.alphas:
        rs = [runs[(alpha, s)] for s in range(a.seeds)]
        s = {"fleet_int8": _stats([r["fleet_int8"][-1] for r in rs]),
             "fp32_fedavg": _stats([r["fp32_fedavg"][-1] for r in rs]),
             "local_only": _stats([r["local_only_final"] for r in rs]),
             "centralised_int8": _stats([r["centralised"][-1] for r in rs]),
             "before": float(rs[0]["fleet_int8"][0])}
        summary[f"alpha_{alpha}"] = s
        gap_c = 100 * (s["fleet_int8"]["mean"] - s["centralised_int8"]["mean"])
        gap_l = 100 * (s["fleet_int8"]["mean"] - s["local_only"]["mean"])
        gap_f = 100 * (s["fleet_int8"]["mean"] - s["fp32_fedavg"]["mean"])
        if alpha == 1.0:
            goals["alpha_1.0_within_1_point_of_centralised"] = {
                "points": round(gap_c, 2), "met": gap_c >= -1.0}
        if alpha == 0.1:
            goals["alpha_0.1_5_points_above_local_only"] = {
                "points": round(gap_l, 2), "met": gap_l >= 5.0}
        goals[f"alpha_{alpha}_int8_within_0.5_points_of_fp32_fedavg"] = {
            "points": round(gap_f, 2), "met": abs(gap_f) <= 0.5}
    sizes = {v for r in runs.values() for b in r["bytes"]
             for v in list(b["up"].values()) + [b["down_per_client"]]}
    goals["bytes_per_client_per_round_equal_trained_plus_header"] = {
        "trained_bytes": model.trained_bytes, "header_bytes": model.header_bytes,
        "seen": sorted(sizes), "met": sizes == {per_client}}
    config = {"model": "demo CNN (mnist_cnn.tflite)", "task": "sklearn digits",
              "train_pool": 200 if a.quick else 1200, "test": 200 if a.quick else 597,
              "scheme": {"n_bias": SCHEME["n_bias"],
                         "weights": {str(k): v for k, v in SCHEME["weights"].items()}},
              "clients": a.clients, "rounds": a.rounds, "local_epochs": a.local_epochs,
              "alphas": a.alphas, "seeds": a.seeds, "learning_rate": a.lr,
              "batch_size": a.batch_size, "momentum": a.momentum, "fraction": 1.0,
              "simulation": "Flower 1.42.0 run_simulation, Ray backend, 2 CPUs, 1 per client",
              "bytes_per_client_per_round": per_client}
    return {"config": config, "summary": summary, "goals": goals,
            "runs": [{**r, "bytes": r["bytes"][:1]} for r in runs.values()]}


def _plot(path, a, runs) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(a.alphas), figsize=(5.5 * len(a.alphas), 4), squeeze=False)
    for ax, alpha in zip(axes[0], a.alphas):
        rs = [runs[(alpha, s)] for s in range(a.seeds)]
        rounds = np.arange(a.rounds + 1)
        for key, label in (("fleet_int8", "fleet int8 FedAvg (Flower)"),
                           ("fp32_fedavg", "fp32 FedAvg (float twin)"),
                           ("centralised", "centralised int8")):
            curves = 100 * np.array([r[key] for r in rs])
            ax.plot(rounds, curves.mean(0), marker="o", ms=3, label=label)
        local = 100 * np.mean([r["local_only_final"] for r in rs])
        ax.axhline(local, ls="--", c="gray", label=f"local-only, final ({local:.1f})")
        ax.set_title(f"{a.clients} clients, Dirichlet alpha {alpha}, mean of {a.seeds} seeds",
                     fontsize=9)
        ax.set_xlabel("round (= epochs for centralised)")
        ax.set_ylabel("test accuracy %")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
