"""One adaptation run of person_detect with a fresh K-way head: int8 (our runtime, the model
from `convert(num_classes=K, seed)`) or fp32 (the TensorFlow twin of that same converted model,
so both start from the same head and the same dequantised backbone, and see the same
dequantised input samples). Training loops, schedule and momentum are bench/accuracy's."""
from __future__ import annotations

import dataclasses

import tflm_train
from tflm_train.converter import SGD

from bench.accuracy.runs import Method, Optim, RunResult, run_fp32, train_int8

from .methods import Rate
from .tasks import Data

_models: dict[tuple, bytes] = {}


def extended(base: bytes, method: Method, classes: int, seed: int, opt: Optim) -> bytes:
    """The model the runs of (scheme, seed) train (converted once per process): the head's
    initial weights depend on the seed only, not on the method
    (tests/test_bench_transfer.py checks it)."""
    key = (hash(base), repr(method.scheme), classes, seed, opt)
    if key not in _models:
        sgd = SGD(momentum=opt.momentum, mini_batch=opt.batch_size > 1)
        _models[key] = tflm_train.convert(base, method.scheme, optimizer=sgd,
                                          num_classes=classes, seed=seed)
    return _models[key]


def run(base: bytes, method: Method, classes: int, data: Data, rate: Rate, epochs: int,
        seed: int, opt: Optim, test: str = "end") -> RunResult:
    """rate: the backbone's and the head's lr (the head's through the scheme's lr_scale);
    test: "end" (test accuracy before and after training), "none" (validation only, the test
    set is not touched) or "epochs" (after every epoch too)."""
    method = dataclasses.replace(method, scheme=rate.scheme(method.scheme))
    model = extended(base, method, classes, seed, opt)
    if method.arithmetic == "fp32":
        return run_fp32(model, method, data.real_split, rate.lr, epochs, seed, opt, test)
    return train_int8(model, data.split, rate.lr, epochs, seed, opt, test)
