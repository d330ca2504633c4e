"""One adaptation run: fp32 (TensorFlow float twin) or int8 (our runtime). Both see the same
samples in the same order and mini-batches, use the same momentum and the same per-update
learning rates (computed by the runtime's own warm-up + cosine schedule), for the same epochs;
test accuracy is measured after each epoch."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

import tflm_train
from tflm_train.binding import learning_rate as scheduled_rate
from tflm_train.converter import SGD
from tflm_train.converter.scheme import SparseUpdate

from .tasks import Split


@dataclass(frozen=True)
class Optim:
    """Optimizer settings shared by every method of a bench run."""
    batch_size: int = 8
    momentum: float = 0.9
    warmup: float = 0.1       # fraction of the updates spent in linear warm-up
    cosine: bool = True       # cosine decay to 0 after warm-up (else constant)

    def updates(self, n: int, epochs: int) -> int:
        return epochs * -(-n // self.batch_size)

    def schedule(self, n: int, epochs: int) -> tflm_train.LRSchedule:
        total = self.updates(n, epochs)
        return tflm_train.LRSchedule(warmup_steps=int(self.warmup * total), cosine=self.cosine,
                                     total_steps=total)

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


def run_int8(base: bytes, method: Method, data: Split, lr: float, epochs: int, seed: int,
             opt: Optim) -> RunResult:
    sgd = SGD(momentum=opt.momentum, mini_batch=opt.batch_size > 1)
    return train_int8(tflm_train.convert(base, method.scheme, optimizer=sgd), data, lr, epochs,
                      seed, opt)


# When a run evaluates its test set: "epochs" (before training and after every epoch: the
# curves), "end" (before and after training only) or "none" (lr tuning: validation only).
TEST_WHEN = ("epochs", "end", "none")


def _tested(test: str, epoch: int, epochs: int) -> bool:
    if test not in TEST_WHEN:
        raise ValueError(f"test={test!r}: use one of {TEST_WHEN}")
    return test == "epochs" or (test == "end" and epoch == epochs - 1)


def train_int8(ext: bytes, data: Split, lr: float, epochs: int, seed: int, opt: Optim,
               test: str = "epochs") -> RunResult:
    """Train an extended model; `test`: when the test set is evaluated (TEST_WHEN)."""
    tr = tflm_train.Trainer(ext, learning_rate=lr, seed=seed,
                            schedule=opt.schedule(len(data.x_train), epochs))
    before = tr.evaluate(data.x_test, data.y_test)["accuracy"] if test != "none" \
        else float("nan")
    curve, losses = [], []
    for epoch in range(epochs):  # one fit() per epoch: same shuffles and schedule as one fit
        h = tr.fit(data.x_train, data.y_train, epochs=1, batch_size=opt.batch_size,
                   progress=False)
        losses.append(h.loss[0])
        if _tested(test, epoch, epochs):
            curve.append(tr.evaluate(data.x_test, data.y_test)["accuracy"])
    val = tr.evaluate(data.x_val, data.y_val)["accuracy"]
    return RunResult(before, curve, val, losses)


def run_fp32(base: bytes, method: Method, data: Split, lr: float, epochs: int, seed: int,
             opt: Optim, test: str = "epochs") -> RunResult:
    """base: the model the twin copies (int8 .tflite, extended or not); test as train_int8."""
    from .twin import FloatTwin  # imports TensorFlow: only when an fp32 run is asked for

    tw = FloatTwin(base, method.scheme, momentum=opt.momentum)
    n = len(data.x_train)
    s = opt.schedule(n, epochs)
    before = tw.evaluate(data.x_test, data.y_test) if test != "none" else float("nan")
    rng = np.random.default_rng(seed)  # the Trainer's shuffle: one permutation per epoch
    step, curve, losses = 0, [], []
    for epoch in range(epochs):
        order = rng.permutation(n)
        ep = []
        for start in range(0, n, opt.batch_size):
            i = order[start:start + opt.batch_size]
            rate = scheduled_rate(lr, step, s.warmup_steps, s.total_steps if s.cosine else 0)
            ep += [tw.train_step(data.x_train[i], data.y_train[i], rate)] * len(i)
            step += 1
        losses.append(float(np.mean(ep)))
        if _tested(test, epoch, epochs):
            curve.append(tw.evaluate(data.x_test, data.y_test))
    val = tw.evaluate(data.x_val, data.y_val)
    return RunResult(before, curve, val, losses)


def run(base: bytes, method: Method, data: Split, lr: float, epochs: int, seed: int,
        opt: Optim) -> RunResult:
    fn = run_fp32 if method.arithmetic == "fp32" else run_int8
    return fn(base, method, data, lr, epochs, seed, opt)
