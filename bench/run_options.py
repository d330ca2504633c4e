"""The command-line options every training bench shares (which runs, how many seeds and epochs,
where the results go), so that `--seeds 5` means the same in each."""
from __future__ import annotations

import argparse
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def add_run_options(p: argparse.ArgumentParser, task_names: list[str], epochs: int,
                    quick_epochs: int, quick_help: str) -> None:
    p.add_argument("--quick", action="store_true", help=quick_help)
    p.add_argument("--tasks", nargs="+", help="subset of: " + " ".join(task_names))
    p.add_argument("--methods", nargs="+", help="subset of the methods (default: all)")
    p.add_argument("--seeds", type=int, help="number of seeds (default 3, quick 1)")
    p.add_argument("--epochs", type=int,
                   help=f"epochs per run (default {epochs}, quick {quick_epochs})")
    p.add_argument("--out", type=Path, default=RESULTS, help="directory for json and png")
