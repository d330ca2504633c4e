"""Runs a model's training steps in the demo training firmware on a QEMU board.

The firmware embeds `examples/firmware/train/demo/{model.tflite,steps.bin}`, so a test that
trains another model there writes those two files, builds, runs, and puts the committed files
back, whatever happens. (A run killed from outside leaves them changed: `git checkout
examples/firmware/train/demo` restores them.)"""
from __future__ import annotations

from tflm_train import firmware


def train_on_demo_firmware(board: str, model: bytes, steps: firmware.StepsFile,
                           timeout: int = 600) -> firmware.TrainRun:
    files = {p: p.read_bytes() for p in (firmware.DEMO_DIR / "model.tflite",
                                         firmware.DEMO_DIR / "steps.bin")}
    try:
        firmware.write_inputs(model, steps)
        return firmware.run_board(board, firmware.build(board), timeout=timeout)
    finally:
        for path, data in files.items():
            path.write_bytes(data)
