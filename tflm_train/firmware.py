"""Run training steps in the QEMU firmware (examples/firmware/train) and on the host, and compare.

The firmware embeds an extended model and a steps file at build time. `write_inputs` writes
them (default: the committed demo inputs that the Bazel test uses), `build` builds the ELF for a
board with Bazel, `run_board` runs it in QEMU and parses what it printed, and `run_host` performs
the same steps through the Python binding of the same C++ runtime.
"""
from __future__ import annotations

import re
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .binding import ROUNDING, NativeSession, learning_rate as scheduled_rate
from .boards import STANDINS, standin_label

ROOT = Path(__file__).resolve().parent.parent
TRAIN_DIR = ROOT / "examples" / "firmware" / "train"
DEMO_DIR = TRAIN_DIR / "demo"
BOARDS = {name: standin_label(name) for name in STANDINS}  # firmware builds per stand-in
STEPS_MAGIC = 0x44535454


class FirmwareUnavailable(RuntimeError):
    """The firmware cannot be built here: no source tree or no Bazel."""


def check_buildable(board: str) -> None:
    """Raise FirmwareUnavailable (saying why) unless this package runs from the tflm-train
    source tree, which holds the firmware's sources, with bazel on PATH; an installed wheel
    carries neither."""
    if board not in BOARDS:
        raise ValueError(f"unknown board {board!r}; use one of {', '.join(BOARDS)}")
    if not ((ROOT / "WORKSPACE").is_file() and TRAIN_DIR.is_dir()):
        raise FirmwareUnavailable(
            f"the {board} training firmware is built from the tflm-train source tree with Bazel, "
            f"and this installed package ({Path(__file__).parent}) has no source tree; run the "
            "demo from a source checkout (scripts/install.sh, then .venv/bin/tflm-train demo) "
            "or without a board (--board none)")
    if shutil.which("bazel") is None:
        raise FirmwareUnavailable(f"the {board} training firmware is built with Bazel and "
                                  "`bazel` is not on PATH (scripts/install.sh installs it); or "
                                  "run the demo without a board (--board none)")


@dataclass
class StepsFile:
    """Samples in training order; mini-batches of batch_size consecutive samples (the last one
    may be shorter), one update each, at the warm-up + cosine rate of the update's index."""
    samples: np.ndarray  # [n, elements]: int8, or float32 for a float-input model
    labels: np.ndarray   # int [n]
    learning_rate: float
    seed: int
    rounding: str
    batch_size: int = 1
    warmup_steps: int = 0
    total_steps: int = 0
    final_fraction: float = 0.0

    def batches(self):
        """(sample index, batch length, index in batch, update index) in order."""
        n = len(self.labels)
        for start in range(0, n, self.batch_size):
            length = min(self.batch_size, n - start)
            for j in range(length):
                yield start + j, length, j, start // self.batch_size

    def rate(self, update: int) -> float:
        return scheduled_rate(self.learning_rate, update, self.warmup_steps, self.total_steps,
                              self.final_fraction)

    def encode(self) -> bytes:
        # The firmware copies each sample's bytes into tt_input as they are (int8 values, or
        # float32 ones that the model's QUANTIZE reads).
        samples = self.samples if self.samples.dtype == np.float32 else \
            self.samples.astype(np.int8)
        n, size = len(samples), int(np.prod(samples.shape[1:])) * samples.itemsize
        out = [struct.pack("<4IfIi3If", STEPS_MAGIC, 2, n, size, self.learning_rate, self.seed,
                           ROUNDING[self.rounding], self.batch_size, self.warmup_steps,
                           self.total_steps, self.final_fraction)]
        pad = b"\0" * ((-size) % 4)
        for s, label in zip(samples, self.labels):
            out.append(struct.pack("<i", int(label)) + s.tobytes() + pad)
        return b"".join(out)


@dataclass
class TrainRun:
    losses: list[int] = field(default_factory=list)  # float32 bit patterns
    tensors: dict[int, bytes] = field(default_factory=dict)
    output: str = ""


def write_inputs(model: bytes, steps: StepsFile, directory: Path = DEMO_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.tflite").write_bytes(model)
    (directory / "steps.bin").write_bytes(steps.encode())


def build(board: str) -> Path:
    """Build the training firmware for `board` (an386 or an500); returns the ELF path."""
    check_buildable(board)
    target = "//examples/firmware/train:train_demo.elf"
    proc = subprocess.run(["bazel", "build", f"--config={board}", target], cwd=ROOT,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bazel build --config={board} {target} failed:\n{proc.stderr[-3000:]}")
    return ROOT / "bazel-bin" / "examples" / "firmware" / "train" / "train_demo.elf"


def run_board(board: str, elf: Path, timeout: int = 600) -> TrainRun:
    """Run the firmware in QEMU with the board's memory limits; parse its report."""
    proc = subprocess.run([str(ROOT / "targets" / "qemu" / "run_qemu.sh"), board, str(elf)],
                          capture_output=True, text=True, timeout=timeout)
    run = parse_output(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"firmware on {board} exited with {proc.returncode}:\n"
                           f"{run.output[-3000:]}")
    return run


def parse_output(text: str) -> TrainRun:
    run = TrainRun(output=text)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"step \d+ label -?\d+ loss 0x([0-9a-f]{8})$", line)
        if m:
            run.losses.append(int(m.group(1), 16))
        m = re.match(r"tensor (\d+) (\d+)$", line)
        if m and i + 1 < len(lines):
            run.tensors[int(m.group(1))] = bytes.fromhex(lines[i + 1].strip())
    return run


def run_host(model: bytes, steps: StepsFile) -> TrainRun:
    """The same steps through the host build of the runtime."""
    session = NativeSession(model, seed=steps.seed)
    run = TrainRun()
    for i, length, j, update in steps.batches():
        loss = session.train_step(steps.samples[i], int(steps.labels[i]), steps.rate(update),
                                  steps.rounding, length, j)
        run.losses.append(struct.unpack("<I", struct.pack("<f", loss))[0])
    run.tensors = {t: session.tensor_bytes(t) for t in session.trained_tensors()}
    return run


def memory_lines(run: TrainRun) -> list[str]:
    """The firmware's own report of arena, stack and RAM use."""
    return [l for l in run.output.splitlines() if l.startswith(("[train]", "[board]"))]
