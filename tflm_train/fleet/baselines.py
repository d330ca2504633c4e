"""What a fleet round is compared with, on the same model, scheme and settings: each client
alone on its own shard (local-only), and one trainer on every shard's data (centralised), both
for the same epochs as the fleet (rounds x local epochs), scored after each round's worth."""
from __future__ import annotations

import numpy as np

from .model import FleetModel, client_seed


def local_only(model: FleetModel, shards, rounds: int, local_epochs: int,
               learning_rate: float, test, seed: int = 0, batch_size: int = 1) -> list[float]:
    """Mean over clients of their test accuracy, before training and after each round."""
    curves = []
    for i, (x, y) in enumerate(shards):
        tr = model.trainer(model.initial, learning_rate, client_seed(seed, 0, i))
        curve = [tr.evaluate(*test)["accuracy"]]
        for _ in range(rounds):
            tr.fit(x, y, epochs=local_epochs, batch_size=batch_size, progress=False)
            curve.append(tr.evaluate(*test)["accuracy"])
        curves.append(curve)
    return [float(v) for v in np.mean(curves, axis=0)]


def centralised(model: FleetModel, shards, rounds: int, local_epochs: int,
                learning_rate: float, test, seed: int = 0, batch_size: int = 1) -> list[float]:
    """Test accuracy of one trainer on all shards' samples, before and after each round's
    worth of epochs."""
    x = np.concatenate([s[0] for s in shards])
    y = np.concatenate([s[1] for s in shards])
    tr = model.trainer(model.initial, learning_rate, seed)
    curve = [tr.evaluate(*test)["accuracy"]]
    for _ in range(rounds):
        tr.fit(x, y, epochs=local_epochs, batch_size=batch_size, progress=False)
        curve.append(tr.evaluate(*test)["accuracy"])
    return curve


def plot(path, curves: dict[str, list[float]], title: str) -> None:
    """Accuracy against round, one line per method (PNG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, curve in curves.items():
        ax.plot(range(len(curve)), [100 * v for v in curve], marker="o", ms=3, label=label)
    ax.set_xlabel("round (local-only / centralised: the same epochs)")
    ax.set_ylabel("test accuracy %")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
