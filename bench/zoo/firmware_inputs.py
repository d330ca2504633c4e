"""Inputs of the inference firmware (bench/firmware/infer): each zoo model converted with an
inference-only plan, written to bench/firmware/infer/models/<name>.tflite, and the Python
mirror of the firmware's input generator.

    python -m bench.zoo.firmware_inputs
"""
from __future__ import annotations

import sys

import numpy as np

from . import NAMES, ROOT, load

INFER_DIR = ROOT / "bench" / "firmware" / "infer"
INFER_MODELS = INFER_DIR / "models"
# Must equal INFER_SEED / INFER_RUNS in bench/firmware/infer/zoo_infer.bzl.
INFER_SEED = 1
INFER_RUNS = 2


def inference_model(name: str) -> bytes:
    """Zoo model `name` as an extended model whose program is forward only."""
    import tflm_train

    return tflm_train.convert(load(name), tflm_train.SparseUpdate(inference_only=True))


def fill_input(seed: int, index: int, nbytes: int) -> np.ndarray:
    """The firmware's FillInput (infer_driver.cc): xorshift32 bytes, top byte of each state."""
    mask = 0xFFFFFFFF
    x = (seed ^ (0x9E3779B9 * (index + 1))) & mask
    x = x or 1
    out = bytearray(nbytes)
    for i in range(nbytes):
        x ^= (x << 13) & mask
        x ^= x >> 17
        x ^= (x << 5) & mask
        out[i] = x >> 24
    return np.frombuffer(bytes(out), dtype=np.int8)


def main() -> int:
    INFER_MODELS.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        data = inference_model(name)
        (INFER_MODELS / f"{name}.tflite").write_bytes(data)
        print(f"{name}: {len(data)} bytes -> {INFER_MODELS / (name + '.tflite')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
