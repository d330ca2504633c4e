"""Table, JSON and plot of the accuracy bench."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

REFERENCE = "fp32"


def document(results: dict, config: dict, header: dict | None = None) -> dict:
    """Results plus a summary: per method the mean over tasks, and its gap to fp32. `header`:
    the provenance fields (command, date, commit, machine) the JSON starts with."""
    names = list(next(iter(results.values()))["methods"])
    summary = {}
    for m in names:
        means = [t["methods"][m]["mean"] for t in results.values()]
        entry = {"mean_over_tasks": float(np.mean(means))}
        if REFERENCE in names and m != REFERENCE:
            gaps = [t["methods"][m]["mean"] - t["methods"][REFERENCE]["mean"]
                    for t in results.values()]
            entry["minus_fp32_points"] = float(100 * np.mean(gaps))
        summary[m] = entry
    before = {}
    for arith in ("int8", "fp32"):
        runs = [m for m in names if results[next(iter(results))]["methods"][m]["arithmetic"] == arith]
        if runs:
            before[arith] = {t: float(np.mean(r["methods"][runs[0]]["before"]))
                             for t, r in results.items()}
    goals = {}
    if {"fp32", "int8_qas"} <= set(names):
        gap = summary["int8_qas"]["minus_fp32_points"]
        goals["int8_qas_within_0.5_points_of_fp32"] = bool(gap >= -0.5)
    # what QAS buys: against plain int8 SGD with its own tuned lr, and with fp32's lr
    for other, key in (("int8_noqas", "qas_minus_noqas_own_lr_points"),
                       ("int8_noqas_fp32lr", "qas_minus_noqas_fp32_lr_points")):
        if {"int8_qas", other} <= set(names):
            goals[key] = float(100 * (summary["int8_qas"]["mean_over_tasks"]
                                      - summary[other]["mean_over_tasks"]))
    return {"bench": "accuracy", **(header or {}), "config": config, "tasks": results,
            "summary": summary, "before_adaptation": before, "goals": goals}


def table(doc: dict) -> str:
    tasks = doc["tasks"]
    names = list(next(iter(tasks.values()))["methods"])
    head = ["method"] + [f"{t} (n={r['n_train']})" for t, r in tasks.items()] + ["mean",
                                                                                 "vs fp32"]
    rows = []
    for arith, per_task in doc["before_adaptation"].items():
        rows.append([f"no adaptation ({arith})"]
                    + [f"{100 * per_task[t]:.1f}" for t in tasks]
                    + [f"{100 * np.mean(list(per_task.values())):.1f}", ""])
    for m in names:
        cells = []
        for t in tasks.values():
            r = t["methods"][m]
            rate = f"lr {r['lr']:g}"
            if r.get("head_lr", r["lr"]) != r["lr"]:  # bench/transfer's two rates
                rate += f", head {r['head_lr']:g}"
            cells.append(f"{100 * r['mean']:.1f} ± {100 * r['std']:.1f} ({rate})")
        s = doc["summary"][m]
        gap = s.get("minus_fp32_points")
        rows.append([tasks[next(iter(tasks))]["methods"][m]["label"]] + cells
                    + [f"{100 * s['mean_over_tasks']:.1f}",
                       "" if gap is None else f"{gap:+.1f}"])
    widths = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    line = lambda r: " | ".join(str(c).ljust(w) for c, w in zip(r, widths))  # noqa: E731
    c = doc["config"]
    o = c["optimizer"]
    out = [f"base {c['base_model']}, updated: {c['scheme']} "
           "(last-layer rows: the classifier's weights + bias)",
           f"held-out accuracy %, mean ± std over seeds {c['seeds']}, {c['epochs']} epochs, "
           f"batch {o['batch_size']}, momentum {o['momentum']:g}, "
           f"{'cosine' if o['cosine'] else 'constant'} lr after {o['warmup']:g} warm-up, "
           "lr per method "
           + ("chosen on a validation split" if c["tuned"] else "fixed (not tuned)"),
           line(head), "-+-".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    for k, v in doc["goals"].items():
        out.append(f"{k}: {v if isinstance(v, bool) else f'{v:+.1f}'}")
    return "\n".join(out)


def write_json(doc: dict, path: Path) -> None:
    path.write_text(json.dumps(doc, indent=1) + "\n")


def plot(doc: dict, path: Path) -> None:
    """Left: accuracy per task and method; middle: difference to fp32 (what a reader wants to
    see first); right: test accuracy after each epoch, one panel per task."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = doc["tasks"]
    names = list(next(iter(tasks.values()))["methods"])
    labels = {m: tasks[next(iter(tasks))]["methods"][m]["label"] for m in names}
    colors = {m: f"C{i}" for i, m in enumerate(names)}
    # per-epoch panels only where the runs scored the test set after every epoch
    curved = [t for t, r in tasks.items() if len(r["methods"][names[0]]["curves"][0]) > 1]
    n = 2 + len(curved)
    fig, axes = plt.subplots(1, n, figsize=(3.9 * n, 4.0))
    width = 0.8 / len(names)
    x = np.arange(len(tasks))
    for i, m in enumerate(names):
        means = np.array([100 * t["methods"][m]["mean"] for t in tasks.values()])
        stds = [100 * t["methods"][m]["std"] for t in tasks.values()]
        axes[0].bar(x + i * width, means, width, yerr=stds, capsize=2, color=colors[m],
                    label=labels[m])
        if REFERENCE in names and m != REFERENCE:
            ref = np.array([100 * t["methods"][REFERENCE]["mean"] for t in tasks.values()])
            axes[1].bar(x + i * width, means - ref, width, yerr=stds, capsize=2,
                        color=colors[m])
    before = doc["before_adaptation"].get("int8", {})
    for j, t in enumerate(tasks):
        if t in before:
            axes[0].hlines(100 * before[t], j - width / 2, j + 0.8 - width / 2, colors="k",
                           linestyles=":", label="no adaptation (int8)" if j == 0 else None)
    for ax in axes[:2]:
        ax.set_xticks(x + 0.4 - width / 2, list(tasks))
    axes[0].set_ylabel("held-out accuracy (%)")
    axes[0].set_title("accuracy (mean ± std over seeds)", fontsize=9)
    axes[1].axhline(0, color="k", lw=0.8)
    axes[1].axhspan(-0.5, 0.5, color="0.85", zorder=0, label="±0.5 points")
    # symlog: the +-0.5 point goal and the tens-of-points failures both stay readable
    axes[1].set_yscale("symlog", linthresh=2.0)
    axes[1].set_title("minus fp32 (points, symlog)", fontsize=9)
    for ax, t in zip(axes[2:], curved):
        r = tasks[t]
        for m in names:
            curves = 100 * np.array(r["methods"][m]["curves"])
            ep = np.arange(1, curves.shape[1] + 1)
            ax.errorbar(ep, curves.mean(0), yerr=curves.std(0), capsize=2, marker="o", ms=3,
                        color=colors[m])
        ax.set_title(f"{t}: test accuracy after each epoch", fontsize=9)
        ax.set_xlabel("epoch")
    handles, texts = axes[0].get_legend_handles_labels()
    fig.legend(handles, texts, loc="lower center", ncol=min(len(texts), 4), fontsize=8)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
