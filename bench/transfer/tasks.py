"""The two downstream tasks, from offline data (see /work/shared/notes/data.md), as person_detect
sees them: 28x28 images resized to 96x96 and quantised with the backbone's input scale and
zero point (real values in [-1, 1], as Visual Wake Words images are fed).

- fashion10: Fashion-MNIST, 10 classes the backbone never saw (a new head, K = 10).
- parity2: MNIST digits, even against odd (binary, K = 2): the classes are unions of shapes,
  not one object, so the two-way head has something to learn.

A seed draws the adaptation samples and the validation split (lr choice only) from the
training pool; the test samples are a fixed stratified draw from the data set's own test
split, the same for every seed and method.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.accuracy.tasks import Split, Task
from tflm_train.converter.graph import build_graph
from tflm_train.converter.tflite_io import read_model
from tflm_train.data import load_fashion_mnist, load_mnist
from tests.shared_models import tflm_examples_dir

BACKBONE: Path = tflm_examples_dir() / "person_detect.tflite"
SIDE = 96  # person_detect's input is 96x96x1


def backbone() -> bytes:
    if not BACKBONE.is_file():
        raise SystemExit(f"{BACKBONE}: person_detect.tflite not found (the TFLM example "
                         "models are kept in ../shared/models/tflm-examples beside the checkout)")
    return BACKBONE.read_bytes()


def input_quantization(model: bytes) -> tuple[float, int]:
    g = build_graph(read_model(model))
    inp = g.tensors[g.inputs[0]]
    return float(inp.scale[0]), int(inp.zero_point[0])


def resize(x: np.ndarray, side: int = SIDE) -> np.ndarray:
    """[N, h, w, 1] in [0, 1] -> [N, side, side, 1], bilinear with half-pixel centres (edge
    samples clamped), in float64 so that the result does not depend on SIMD summation order."""
    n, h, w = x.shape[:3]

    def taps(n_out, n_in):
        src = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0, n_in - 1)
        lo = np.floor(src).astype(np.int64)
        return lo, np.minimum(lo + 1, n_in - 1), src - lo

    y0, y1, fy = taps(side, h)
    x0, x1, fx = taps(side, w)
    img = x.reshape(n, h, w).astype(np.float64)
    rows = img[:, y0] * (1 - fy)[None, :, None] + img[:, y1] * fy[None, :, None]
    out = rows[:, :, x0] * (1 - fx) + rows[:, :, x1] * fx
    return out[..., None]


def quantize(x01: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """[0, 1] pixels -> the backbone's int8 input (real value 2x - 1)."""
    q = np.round((2.0 * resize(x01) - 1.0) / scale) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


@dataclass(frozen=True)
class Data:
    """One seed's samples as the int8 runtime takes them; `real` gives the same samples
    dequantised for the fp32 twin (both arithmetics see identical inputs)."""
    split: Split            # x_* int8 [N, 96, 96, 1]
    scale: float
    zero_point: int

    @functools.cached_property
    def real_split(self) -> Split:
        s = self.split

        def real(x):
            return (x.astype(np.float32) - self.zero_point) * np.float32(self.scale)
        return Split(real(s.x_train), s.y_train, real(s.x_val), s.y_val, real(s.x_test),
                     s.y_test)


def _fashion():
    return load_fashion_mnist("train"), load_fashion_mnist("test")


def _parity():
    (x, y), (xt, yt) = load_mnist("train"), load_mnist("test")
    return (x, y % 2), (xt, yt % 2)


@dataclass(frozen=True)
class TransferTask:
    task: Task
    classes: int

    def data(self, seed: int, loaded, quant: tuple[float, int]) -> Data:
        s = self.task.split(seed, loaded)
        q = [quantize(a, *quant) for a in (s.x_train, s.x_val, s.x_test)]
        return Data(Split(q[0], s.y_train, q[1], s.y_val, q[2], s.y_test), *quant)


def tasks(quick: bool = False) -> dict[str, TransferTask]:
    """Sizes for a ~40 min budget on a 2-core machine shared by several engineers: the host
    runtime trains or infers person_detect at ~190 samples per CPU second, and a process got
    6-15 % of a core there while this was written (measured); quick: a smoke run."""
    n_train, n_val, n_test = (24, 16, 40) if quick else (200, 100, 400)
    return {
        "fashion10": TransferTask(Task("fashion10", "Fashion-MNIST, 10 new classes (K = 10)",
                                       _fashion, n_train, n_val, n_test), 10),
        "parity2": TransferTask(Task("parity2", "MNIST even vs odd (K = 2)", _parity,
                                     n_train, n_val, n_test), 2),
    }
