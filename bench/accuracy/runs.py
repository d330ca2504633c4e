"""One adaptation run: fp32 (TensorFlow float twin) or int8 (our runtime), same samples in the
same order, same per-step learning-rate schedule, same epochs; test accuracy after each epoch."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

import tflm_train
from tflm_train.converter.scheme import SparseUpdate

from .tasks import Split


@dataclass(frozen=True)
class Schedule:
    """Per-step lr multiplier: linear warm-up over `warmup` of the steps, then constant or
    cosine decay to 0. Applied identically to fp32 and int8."""
    kind: str = "cosine"
    warmup: float = 0.1

    def __call__(self, step: int, total: int) -> float:
        w = int(self.warmup * total)
        if step < w:
            return (step + 1) / w
        if self.kind == "constant":
            return 1.0
        t = (step - w) / max(1, total - w)
        return 0.5 * (1.0 + math.cos(math.pi * t))

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Method:
    name: str
    label: str
    arithmetic: str          # "fp32" or "int8"
    scheme: SparseUpdate
    lr_grid: tuple[float, ...]
    lr_from: str | None = None   # reuse another method's chosen lr instead of tuning


@dataclass
class RunResult:
    before: float            # test accuracy of the un-adapted model (same arithmetic)
    curve: list[float]       # test accuracy after each epoch
    val: float               # validation accuracy at the end (used for lr selection only)
    train_loss: list[float]  # mean training loss per epoch

    @property
    def final(self) -> float:
        return self.curve[-1]


def _orders(n: int, epochs: int, seed: int):
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) for _ in range(epochs)]


def run_int8(base: bytes, method: Method, data: Split, lr: float, epochs: int, seed: int,
             schedule: Schedule, extended: bytes | None = None) -> RunResult:
    ext = extended or tflm_train.convert(base, method.scheme)
    tr = tflm_train.Trainer(ext, learning_rate=lr, seed=seed)
    xq = tr.quantize_input(data.x_train)
    before = tr.evaluate(data.x_test, data.y_test)["accuracy"]
    total, step, curve, losses = epochs * len(xq), 0, [], []
    for order in _orders(len(xq), epochs, seed):
        ep = []
        for i in order:
            # per-step schedule through the public lr attribute (the runtime takes lr per step)
            tr.learning_rate = lr * schedule(step, total)
            ep.append(tr.train_step(xq[i:i + 1], int(data.y_train[i])))
            step += 1
        losses.append(float(np.mean(ep)))
        curve.append(tr.evaluate(data.x_test, data.y_test)["accuracy"])
    val = tr.evaluate(data.x_val, data.y_val)["accuracy"]
    return RunResult(before, curve, val, losses)


def run_fp32(base: bytes, method: Method, data: Split, lr: float, epochs: int, seed: int,
             schedule: Schedule) -> RunResult:
    from .twin import FloatTwin  # imports TensorFlow: only when an fp32 run is asked for

    tw = FloatTwin(base, method.scheme)
    before = tw.evaluate(data.x_test, data.y_test)
    total, step, curve, losses = epochs * len(data.x_train), 0, [], []
    for order in _orders(len(data.x_train), epochs, seed):
        ep = []
        for i in order:
            ep.append(tw.train_step(data.x_train[i:i + 1], data.y_train[i:i + 1],
                                    lr * schedule(step, total)))
            step += 1
        losses.append(float(np.mean(ep)))
        curve.append(tw.evaluate(data.x_test, data.y_test))
    val = tw.evaluate(data.x_val, data.y_val)
    return RunResult(before, curve, val, losses)


def run(base: bytes, method: Method, data: Split, lr: float, epochs: int, seed: int,
        schedule: Schedule) -> RunResult:
    fn = run_fp32 if method.arithmetic == "fp32" else run_int8
    return fn(base, method, data, lr, epochs, seed, schedule)
