"""Every searched scheme really fits (issue 13): convert it for the board, run its training
steps in QEMU on the board's stand-in with the zoo training firmware's source
(bench/firmware/train_search, built and read through bench/zoo/train_firmware.py), and measure
its peak SRAM as bench/memory does: arena high-water + session storage + the firmware's other
static RAM (data + bss + heap besides arena and session) + training stack high-water.

The firmware's arena is a fixed 236 KB (an386) / 300 KB (an500) array; the arena high-water
mark is what the step wrote of it, so the sum is what the step needs, not what the image
reserves.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import tflm_train
from tflm_train.boards import board as find_board

from bench.zoo import train_firmware as fw

PACKAGE = "//bench/firmware/train_search"
MODELS_DIR = fw.ROOT / "bench" / "firmware" / "train_search" / "models"


def firmware_name(model: str, task: str, budget: int) -> str:
    return f"{model}_{task}_{budget // 1024}k"


def write_inputs(name: str, base: bytes, scheme, board: str, budget: int, num_classes) -> bytes:
    """models/<name>.tflite (converted with the board's whole-count budget check) and .steps
    (a few random samples: the memory does not depend on them)."""
    ext = tflm_train.convert(base, scheme, num_classes=num_classes, seed=0, board=board,
                             sram_budget=budget)
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    (MODELS_DIR / f"{name}.tflite").write_bytes(ext)
    (MODELS_DIR / f"{name}.steps").write_bytes(fw.generator().steps_for(name, ext).encode())
    return ext


def measure(names: dict[str, int], board: str) -> dict[str, dict]:
    """{name: the qemu block} for models already written, budgets {name: bytes}."""
    standin = find_board(board).standin
    with tempfile.TemporaryDirectory() as tmp:
        try:
            built = fw.build(standin, list(names), Path(tmp), profile=False, package=PACKAGE)
        except RuntimeError as exc:
            return {n: {"board": standin, "error": str(exc)[-500:]} for n in names}
        out = {}
        for name, (elf, host) in built.items():
            text, rc = fw.run(standin, elf)
            run = fw.parse(text, rc)
            static = fw.other_static_bytes(text, elf)
            keys = ("arena_high_water_bytes", "session_bytes", "stack_high_water_bytes")
            if "error" in run or static is None or any(run[k] is None for k in keys):
                out[name] = {"board": standin,
                             "error": run.get("error") or f"incomplete report: {text[-300:]}"}
                continue
            parts = {"arena_high_water": run["arena_high_water_bytes"],
                     "session": run["session_bytes"], "firmware_static": static,
                     "stack_high_water": run["stack_high_water_bytes"]}
            total = sum(parts.values())
            out[name] = {"board": standin, "budget_bytes": names[name],
                         "planned_arena_bytes": run["planned_arena_bytes"],
                         "measured_parts": parts, "measured_bytes": total,
                         "within_budget": total <= names[name],
                         "losses_equal_host": fw.host_equals_board(text, host),
                         "steps": len(run["step_instructions"])}
    return out


def check_in_qemu(jobs, board: str) -> None:
    """jobs: (model, task, bench row, base model, scheme, num_classes); adds row["qemu"]."""
    for stale in MODELS_DIR.glob("*.tflite"):
        stale.unlink()
    for stale in MODELS_DIR.glob("*.steps"):
        stale.unlink()
    names = {}
    for model, task, row, base, scheme, classes in jobs:
        name = firmware_name(model, task, row["budget_bytes"])
        write_inputs(name, base, scheme, board, row["budget_bytes"], classes)
        names[name] = row["budget_bytes"]
    results = measure(names, board)
    for model, task, row, *_ in jobs:
        row["qemu"] = results[firmware_name(model, task, row["budget_bytes"])]
        q = row["qemu"]
        print(f"[search] QEMU {model}/{task} {row['budget_bytes'] // 1024} KB: " +
              (f"measured {q['measured_bytes']} B, within budget {q['within_budget']}, "
               f"host = board {q['losses_equal_host']}" if "error" not in q else q["error"]),
              flush=True)


def main(argv=None) -> int:
    """Add the QEMU check to the rows of an existing search.json that lack it (a bench run cut
    short before its QEMU step, or rows kept from another run)."""
    import argparse
    import json

    from bench.search import MODELS, RESULTS

    p = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    p.add_argument("--file", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    doc = json.loads(args.file.read_text())
    jobs = []
    for model, entry in doc["models"].items():
        base = Path(MODELS[model].path).read_bytes()
        for task, t in entry.get("tasks", {}).items():
            for row in t["rows"]:
                if "qemu" in row:
                    continue
                chosen = row["search"]["chosen"]
                scheme = tflm_train.SparseUpdate(n_bias=chosen["n_bias"], weights={
                    int(k): v for k, v in chosen["weights"].items()})
                jobs.append((model, task, row, base, scheme, t["num_classes"]))
    if jobs:
        check_in_qemu(jobs, doc["board"])
        args.file.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"[search_qemu] {len(jobs)} rows checked in {args.file}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
