"""Boards in the loop: QEMU board firmware as fleet clients (examples/firmware/fleet).

The bridge hands a board the round's fleet message and its local steps as semihosting files in
QEMU's working directory, runs one round in the firmware and returns the message the board
wrote. The firmware embeds the demo's extended model (examples/firmware/train/demo/
model.tflite): a fleet of boards shares that model, and only trained bytes cross the link.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .. import firmware
from ..firmware import ROOT, StepsFile, check_buildable
from .clients import RoundSettings
from .model import FleetModel, client_seed
from .payload import Update, UpdateRejected, decode

FLEET_DIR = ROOT / "examples" / "firmware" / "fleet"
TARGET = "//examples/firmware/fleet:fleet_client.elf"
BOARD_MODEL = firmware.DEMO_DIR / "model.tflite"


def build(board: str, out_dir: Path) -> Path:
    """Build the fleet client firmware for `board` and copy the ELF to out_dir (bazel-bin
    follows the last configuration built, so each board's ELF is kept apart)."""
    check_buildable(board)
    proc = subprocess.run(["bazel", "build", f"--config={board}", TARGET], cwd=ROOT,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bazel build --config={board} {TARGET} failed:\n"
                           f"{proc.stderr[-3000:]}")
    out = Path(out_dir) / f"fleet_client_{board}.elf"
    shutil.copyfile(ROOT / "bazel-bin" / "examples" / "firmware" / "fleet" /
                    "fleet_client.elf", out)
    return out


def local_steps(model: FleetModel, x, y, settings: RoundSettings, index: int) -> StepsFile:
    """The steps HostClient's Trainer.fit makes in this round (same seed, shuffles, rate,
    mini-batches), as the firmware's steps file."""
    seed = client_seed(settings.seed, settings.round, index)
    n, b = len(y), settings.batch_size
    if settings.local_epochs > 1 and b > 1 and n % b:
        raise ValueError(f"client {index}: {n} samples do not split into mini-batches of {b}: "
                         "with several epochs the steps file's batches would cross epochs")
    rng = np.random.default_rng(seed)  # Trainer.fit: one permutation per epoch
    order = np.concatenate([rng.permutation(n) for _ in range(settings.local_epochs)])
    xq = model.trainer(model.initial).quantize_input(x)
    # Trainer opens its session with seed + 1 (the stochastic-rounding stream)
    return StepsFile(xq[order].reshape(len(order), -1), np.asarray(y)[order],
                     settings.learning_rate, seed + 1, "stochastic", b)


class BoardClient:
    """A fleet client whose local round runs in QEMU (board an386 or an500)."""

    def __init__(self, model: FleetModel, board: str, index: int, x, y, elf: Path,
                 timeout: int = 600):
        if model.extended != BOARD_MODEL.read_bytes():
            raise ValueError(f"the fleet firmware embeds {BOARD_MODEL.relative_to(ROOT)}; this "
                             "fleet's model is a different one")
        if len(y) == 0:
            raise ValueError(f"client {index} has no samples")
        self.model, self.board, self.index, self.x, self.y = model, board, index, x, y
        self.elf, self.timeout = Path(elf), timeout
        self.last_run: firmware.TrainRun | None = None

    @property
    def samples(self) -> int:
        return len(self.y)

    def train(self, message: bytes, settings: RoundSettings) -> bytes:
        start = decode(message, "server")
        if start.model_id != self.model.id:
            raise UpdateRejected(f"server: model id {start.model_id.hex()} is not the model "
                                 f"flashed on board client {self.index} ({self.model.id.hex()})")
        steps = local_steps(self.model, self.x, self.y, settings, self.index)
        with tempfile.TemporaryDirectory(prefix=f"fleet_{self.board}_") as tmp:
            d = Path(tmp)
            (d / "fleet_global.bin").write_bytes(
                Update(start.model_id, settings.round, self.samples, start.tensors).encode())
            (d / "fleet_steps.bin").write_bytes(steps.encode())
            proc = subprocess.run([str(ROOT / "targets" / "qemu" / "run_qemu.sh"), self.board,
                                   str(self.elf)], cwd=d, capture_output=True, text=True,
                                  timeout=self.timeout)
            self.last_run = firmware.parse_output(proc.stdout + proc.stderr)
            if proc.returncode != 0 or not (d / "fleet_update.bin").exists():
                raise RuntimeError(f"board client {self.index} ({self.board}) failed with exit "
                                   f"{proc.returncode}:\n{self.last_run.output[-2000:]}")
            return (d / "fleet_update.bin").read_bytes()
