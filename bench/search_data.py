"""person_detect's tasks for the search bench: offline data (data.md) at its 96x96x1 input.

The 28x28 images are resized bilinearly to 96x96 and mapped from [0, 1] to [-1, 1], the real
range of person_detect's int8 input (scale 1/127.5, zero point -1).
- fashion96: Fashion-MNIST, 10 classes (a new 10-way head, num_classes=10);
- parity96: MNIST even vs odd digits, on the model's own 2-class (person / no person) head.
The pools are cut to what the tasks use before resizing (a 96x96 float image is 36 KB).
"""
from __future__ import annotations

import numpy as np

from tflm_train.data import load_fashion_mnist, load_mnist, split
from tflm_train.data.loaders import _resize_bilinear

from bench.accuracy.tasks import Split

SIZE = 96


def to_96(x: np.ndarray) -> np.ndarray:
    """[N, 28, 28, 1] in [0, 1] -> [N, 96, 96, 1] float32 in [-1, 1]."""
    out = np.stack([_resize_bilinear(img[..., 0].astype(np.float64), SIZE, SIZE) for img in x])
    return (2.0 * out - 1.0).astype(np.float32)[..., None]


def _parts(name: str):
    """((x, y) train part, (x, y) test part, num_classes) of a task at 28x28."""
    if name == "fashion96":
        return load_fashion_mnist("train"), load_fashion_mnist("test"), 10
    if name == "parity96":
        (xp, yp), (xt, yt) = load_mnist("train"), load_mnist("test")
        return (xp, yp % 2), (xt, yt % 2), None
    raise ValueError(f"unknown task {name!r}: fashion96 or parity96")


def task_split(name: str, n_train: int = 1000, n_val: int = 500, n_test: int = 1000,
               seed: int = 0) -> tuple[Split, int | None]:
    """(split, num_classes for convert: None keeps the model's head)."""
    (xp, yp), (xt, yt), classes = _parts(name)
    xa, ya, _, _ = split(xp, yp, n_train + n_val, seed=seed)
    xtr, ytr, xv, yv = split(xa, ya, n_train, seed=seed)
    xt, yt, _, _ = split(xt, yt, n_test, seed=12345)  # the same test samples for every seed
    return Split(to_96(xtr), ytr, to_96(xv), yv, to_96(xt), yt), classes


TASKS = ("fashion96", "parity96")


def unused_train(name: str, n: int, n_train: int, n_val: int, seed: int = 0,
                 draw_seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(x, y): n samples (stratified, drawn with draw_seed) of the task's train part that
    task_split(name, n_train, n_val, seed=seed) does not use, at 96x96; never the test part.
    More held-out data for a diagnosis than a small validation split gives."""
    (xp, yp), _, _ = _parts(name)
    _, _, xr, yr = split(xp, yp, n_train + n_val, seed=seed)
    x, y, _, _ = split(xr, yr, n, seed=draw_seed)
    return to_96(x), y
