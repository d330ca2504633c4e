"""Transfer tasks for the accuracy bench, built from the offline data sets (data.md).

Each task adapts the MNIST-pretrained base model to a shifted target. A seed picks the
adaptation samples (train), a validation split used only to choose learning rates, and the
held-out test samples that every reported accuracy is measured on.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from tflm_train.data import (load_fashion_mnist, load_optdigits_writers, load_sklearn_digits,
                             split)


@dataclass(frozen=True)
class Split:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True)
class Task:
    name: str
    title: str
    # () -> (adaptation pool (x, y), separate test set (x, y) or None = rest of the pool)
    load: Callable[[], tuple]
    n_train: int
    n_val: int
    n_test: int

    def split(self, seed: int, data=None) -> Split:
        (xp, yp), test = data if data is not None else self.load()
        if test is None:
            # test = whatever the pool does not use for train/val (same writers, new samples)
            xa, ya, xt, yt = split(xp, yp, self.n_train + self.n_val, seed=seed)
        else:
            take = min(len(xp), self.n_train + self.n_val)
            xa, ya, _, _ = split(xp, yp, take, seed=seed) if take < len(xp) else (xp, yp, 0, 0)
            xt, yt = test
        xtr, ytr, xv, yv = split(xa, ya, self.n_train, seed=seed)
        if self.n_test < len(xt):
            # stratified subset, fixed across seeds so every seed is scored on the same samples
            xt, yt, _, _ = split(xt, yt, self.n_test, seed=12345)
        return Split(xtr, ytr, xv, yv, xt, yt)


def _digits():
    return load_sklearn_digits(), None


def _fashion():
    return load_fashion_mnist("train"), load_fashion_mnist("test")


def _writers():
    d = load_optdigits_writers()
    return d["train"], d["test"]


def tasks(quick: bool = False) -> dict[str, Task]:
    """The three tasks; quick=True shrinks them for a CI smoke run."""
    k = 5 if quick else 1
    return {
        "digits": Task("digits", "sklearn digits (same 13 writers, 8x8 upscaled)",
                       _digits, 500 // k, 300 // k, 997 // k),
        "fashion": Task("fashion", "Fashion-MNIST (new classes, same layout)",
                        _fashion, 1000 // k, 500 // k, 2000 // k),
        "writers": Task("writers", "optdigits: adapt on 30 writers, test on 13 others",
                        _writers, 500 // k, 300 // k, 1797 // k),
    }
