"""What a search returns: the scheme, the report behind it, and a plot of accuracy against SRAM."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..converter.scheme import SparseUpdate
from ..converter.scheme_json import scheme_to_json


@dataclass
class SearchResult:
    scheme: SparseUpdate
    report: dict

    def to_json(self) -> str:
        """The scheme file `tflm-train convert --scheme` reads (the report's summary in notes)."""
        r = self.report
        return scheme_to_json(self.scheme, notes={
            "budget_bytes": r["budget_bytes"], "board": r["board"],
            "sram_bytes": r["chosen"]["sram_bytes"],
            "predicted_accuracy": r["chosen"]["predicted_accuracy"],
            "held_out_accuracy": r["chosen"].get("held_out_accuracy"),
            # the rate it trained best at in the joint check: where a user's tuning can start
            "learning_rate": r["chosen"].get("learning_rate")})

    def plot(self, path) -> Path:
        """Every scheme the search evaluated: predicted held-out accuracy (the untrained model's
        plus the summed candidate gains) against SRAM, the budget, the single candidates as
        measured, and the chosen scheme."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        r = self.report
        base = r["baseline_accuracy"]
        fig, ax = plt.subplots(figsize=(7, 4.5))
        pts = r["trace"]
        ax.scatter([p["sram_bytes"] / 1024 for p in pts],
                   [100 * (base + p["predicted_gain"]) for p in pts], s=10, alpha=0.4,
                   label=f"schemes evaluated ({len(pts)})")
        single = [c for c in r["candidates"] if c.get("sram_bytes") is not None]
        ax.scatter([c["sram_bytes"] / 1024 for c in single],
                   [100 * c["accuracy"] for c in single], marker="x", color="gray",
                   label="single candidates (measured)")
        chosen = r["chosen"]
        ax.scatter([chosen["sram_bytes"] / 1024], [100 * chosen["predicted_accuracy"]],
                   marker="*", s=200, color="red", label="chosen (predicted)", zorder=3)
        checked = r.get("joint_check") or []
        if checked:
            ax.scatter([c["sram_bytes"] / 1024 for c in checked],
                       [100 * c["held_out_accuracy"] for c in checked], marker="D",
                       color="green", label="trained jointly (held-out, measured)", zorder=3)
        ax.axvline(r["budget_bytes"] / 1024, color="red", linestyle="--",
                   label=f"budget {r['budget_bytes'] / 1024:.0f} KB")
        ax.axhline(100 * base, color="black", linewidth=0.8, linestyle=":",
                   label="no training")
        ax.set_xlabel("SRAM, KB (arena + session storage, stack bound, firmware static RAM)")
        ax.set_ylabel("held-out accuracy, %")
        ax.set_title(f"sparse-update search ({r['model']})")
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, dpi=120)
        plt.close(fig)
        return path
