"""fleet.png from the JSON's task entries: one row per task, one panel per alpha, the mean over
seeds of each method's test accuracy against round."""
from __future__ import annotations

import numpy as np


def plot(path, entries: dict, last: int) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cols = max(len(e["config"]["alphas"]) for e in entries.values())
    fig, axes = plt.subplots(len(entries), cols, figsize=(5.5 * cols, 4 * len(entries)),
                             squeeze=False)
    for row, (name, e) in zip(axes, entries.items()):
        c = e["config"]
        for ax, alpha in zip(row, c["alphas"]):
            rs = [r for r in e["runs"] if r["alpha"] == alpha]
            rounds = np.arange(c["rounds"] + 1)
            mu = c.get("server_momentum", 0.0)
            avg = f"FedAvgM, server momentum {mu:g}" if mu else "FedAvg"
            # one colour per method in every panel, whichever curves an entry has
            for colour, (key, label) in enumerate((
                    ("fleet_int8", f"fleet int8 {avg} (Flower)"),
                    ("fp32_fedavg", f"fp32 {avg} (float twin)"),
                    ("fp32_fedavg_deployed_int8", f"fp32 {avg}, run as int8"),
                    ("centralised", "centralised int8"))):
                if key not in rs[0]:  # entries from before session 11 lack the deployed twin
                    continue
                curves = 100 * np.array([r[key] for r in rs])
                ax.plot(rounds, curves.mean(0), marker="o", ms=3, label=label, c=f"C{colour}")
            local = 100 * np.mean([r["local_only_final"] for r in rs])
            ax.axhline(local, ls="--", c="gray", label=f"local-only, final ({local:.1f})")
            ax.axvspan(c["rounds"] - last + 0.5, c["rounds"] + 0.2, color="k", alpha=0.06,
                       label=f"headline: mean of the last {last} rounds")
            ax.set_title(f"{name}\n{c['clients']} clients, {c['local_epochs']} local "
                         f"epoch(s), Dirichlet alpha {alpha}, mean of {len(rs)} seeds",
                         fontsize=9)
            ax.set_xlabel("round (centralised: the same epochs)")
            ax.set_ylabel("test accuracy %")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        for ax in row[len(c["alphas"]):]:
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
