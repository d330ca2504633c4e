"""Per-model training firmware for bench/memory (targets in BUILD here): each extended model
trains a few steps on the board it fits (QEMU, the board's real RAM), and the firmware reports
what the planner cannot know: stack high-water, the session structure, the board's other
static RAM, code size. The same steps run on the host; the losses must be equal bit for bit.

Inputs are written to inputs/ only for the build and deleted afterwards (never committed).
"""
from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
INPUTS = HERE / "inputs"
PACKAGE = "//bench/memfw"
# Static arena of the firmware per board (BUILD); boards in the order they are preferred:
# the Nano 33 BLE stand-in first, the STM32F746 stand-in if the plan needs more RAM.
BOARD_ARENA = {"an386": 236 * 1024, "an500": 300 * 1024}
FPU_TAG = {"an386": "VFPv4-D16", "an500": "FPv5"}
STEPS = 2
LEARNING_RATE = 0.01  # == kLearningRate in fw_main.cc


def samples_for(extended: bytes, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """STEPS random int8 samples of the model's input and their labels."""
    from tflm_train.converter.graph import build_graph
    from tflm_train.converter.tflite_io import read_model

    graph = build_graph(read_model(extended))
    size = graph.tensors[graph.inputs[0]].nbytes
    classes = graph.tensors[graph.outputs[0]].shape[-1]
    rng = np.random.default_rng(seed)
    return (rng.integers(-128, 128, size=(STEPS, size), dtype=np.int8),
            rng.integers(0, classes, size=STEPS))


def encode(samples: np.ndarray, labels: np.ndarray) -> bytes:
    """The samples file fw_main.cc reads."""
    n, size = samples.shape
    pad = b"\0" * ((-size) % 4)
    return struct.pack("<2I", n, size) + b"".join(
        struct.pack("<i", int(y)) + x.tobytes() + pad for x, y in zip(samples, labels))


def host_losses(extended: bytes, samples: np.ndarray, labels: np.ndarray) -> list[int]:
    """The same steps through the host build of the runtime (float32 bit patterns)."""
    from tflm_train.binding import NativeSession

    session = NativeSession(extended, seed=1)
    return [struct.unpack("<I", struct.pack("<f", session.train_step(
        x, int(y), LEARNING_RATE, "nearest")))[0] for x, y in zip(samples, labels)]


def _nm_size(elf: Path, symbol: str) -> int | None:
    text = subprocess.run(["arm-none-eabi-nm", "-C", "-S", str(elf)], capture_output=True,
                          text=True).stdout
    m = re.search(rf"^[0-9a-f]+ ([0-9a-f]+) \w .*\b{symbol}$", text, re.M)
    return int(m.group(1), 16) if m else None


def parse(text: str, rc: int, elf: Path, model: bytes, steps: bytes) -> dict:
    """The firmware's report as numbers, or {"error": ...}."""
    from tflm_train.footprint import elf_image_bytes

    opened = re.search(r"\[train\] arena planned (\d+) of (\d+) bytes, session (\d+) bytes", text)
    stack = re.search(r"\[train\] stack high-water (\d+) of (\d+) bytes", text)
    ram = re.search(r"data (\d+), bss (\d+), stack reserve (\d+), heap (\d+)", text)
    if rc != 0 or not (opened and stack and ram):
        error = re.search(r"\[train\] error: (.*)", text)
        return {"error": f"exit {rc}: " + (error.group(1) if error else text[-300:])}
    data, bss, heap = (int(ram.group(i)) for i in (1, 2, 4))
    arena = _nm_size(elf, "g_arena") or int(opened.group(2))
    storage = _nm_size(elf, "g_session") or 0
    image = elf_image_bytes(elf)
    return {"planned_arena_bytes": int(opened.group(1)),
            "firmware_arena_bytes": int(opened.group(2)),
            "session_bytes": int(opened.group(3)),
            # data + bss + heap besides the arena and the session storage buffer
            "board_static_bytes": data + bss + heap - arena - storage,
            "stack_high_water_bytes": int(stack.group(1)),
            "stack_reserve_bytes": int(stack.group(2)),
            "image_bytes": image,
            # the embedded model and steps are data, not code
            "code_bytes": image - len(model) - len(steps)}


def measure(models: dict[str, bytes], workdir: Path, boards=tuple(BOARD_ARENA)) -> dict:
    """{name: firmware numbers} for extended models {name: bytes}; each runs on the first board
    of `boards` whose firmware arena holds its planned arena. Failures are reported per model
    as {"error": ...}."""
    from tflm_train import memory_report

    out: dict = {}
    plan: dict[str, list[str]] = {}
    for name, ext in models.items():
        need = memory_report(ext).arena_bytes
        board = next((b for b in boards if need <= BOARD_ARENA[b]), None)
        if board is None:
            out[name] = {"error": f"planned arena {need} B exceeds every firmware arena "
                                  f"({', '.join(f'{b} {BOARD_ARENA[b]} B' for b in boards)})"}
        else:
            plan.setdefault(board, []).append(name)
    data = {n: samples_for(models[n]) for ns in plan.values() for n in ns}
    steps = {n: encode(*data[n]) for n in data}
    INPUTS.mkdir(exist_ok=True)
    elfs: dict[str, tuple[str, Path]] = {}
    try:
        for n in steps:
            (INPUTS / f"{n}.tflite").write_bytes(models[n])
            (INPUTS / f"{n}.steps").write_bytes(steps[n])
        for board, names in plan.items():
            cmd = ["bazel", "build", f"--config={board}"] + \
                [f"{PACKAGE}:train_{n}.elf" for n in names]
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            if proc.returncode != 0:
                for n in names:
                    out[n] = {"error": f"{' '.join(cmd)} failed: {proc.stderr[-500:]}"}
                continue
            for n in names:  # bazel-bin is shared with every other build: copy, then check
                elf = workdir / f"train_{n}_{board}.elf"
                shutil.copyfile(ROOT / "bazel-bin" / "bench" / "memfw" / f"train_{n}.elf", elf)
                tags = subprocess.run(["arm-none-eabi-readelf", "-A", str(elf)],
                                      capture_output=True, text=True).stdout
                if FPU_TAG[board] not in tags:
                    out[n] = {"error": f"{elf.name} is not an {board} build (bazel-bin "
                                       "replaced meanwhile?); rerun"}
                else:
                    elfs[n] = (board, elf)
    finally:
        shutil.rmtree(INPUTS, ignore_errors=True)
    for n, (board, elf) in elfs.items():
        proc = subprocess.run([str(ROOT / "examples" / "firmware" / "run_qemu.sh"), board,
                               str(elf)], capture_output=True, text=True, timeout=900,
                              env={"QEMU_TIMEOUT": "900", "PATH": "/usr/bin:/bin"})
        text = proc.stdout + proc.stderr
        row = parse(text, proc.returncode, elf, models[n], steps[n])
        row["board"] = board
        if "error" not in row:
            board_losses = [int(v, 16) for v in re.findall(r"^step \d+ loss 0x([0-9a-f]{8})$",
                                                          text, re.M)]
            row["steps"] = len(board_losses)
            try:  # the host library may lag behind the sources the firmware was built from
                row["losses_equal_host"] = board_losses == host_losses(models[n], *data[n])
            except Exception as exc:
                row["losses_equal_host"] = f"not compared: {exc}"
        out[n] = row
    return out
