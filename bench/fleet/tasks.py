"""The fleet bench's two model/task pairs, from offline data only (/work/shared/notes/data.md).

- digits: the demo CNN (MNIST-pretrained, int8) adapted to scikit-learn digits with
  bench/accuracy's demo scheme (FC + conv4 weights, biases of the last 4 layers, QAS); a fixed
  stratified test split of 597 samples, the other 1200 shared over the clients.
- person_detect: TFLM's person_detect (MobileNetV1-0.25, 96x96x1, Visual Wake Words) with a
  fresh 10-way head (`convert(num_classes=10, seed=seed)`) on Fashion-MNIST at 96x96
  (bench/search_data's fashion96), bench/transfer's scheme (new head, 1/4 of the last 1x1
  conv's channels, 1/8 of the one before, biases of the last 6 layers). Sized for the shared 2
  cores (the host runtime trains person_detect at ~80 samples per wall second there, each
  Flower simulation needs ~2-3 min to start, and 30 rounds with a 3-rate grid take ~1.5 h): PERSON_POOL training samples
  over the clients and PERSON_TEST test samples, both drawn once (seed 0).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import tflm_train
from tflm_train.data import DEMO_MODEL, load_sklearn_digits, split


@dataclass(frozen=True)
class FleetTask:
    name: str
    model: str                      # what the JSON calls the model
    data: str                       # ... and the data
    scheme: dict                    # SparseUpdate(**scheme)
    base: Callable[[], bytes]
    num_classes: int | None         # a fresh head of this many classes (seeded per run)
    load: Callable[[bool], tuple]   # quick -> (x_pool, y_pool, x_test, y_test)

    def extended(self, seed: int, momentum: float, mini_batch: bool) -> bytes:
        sgd = tflm_train.SGD(momentum=momentum, mini_batch=mini_batch)
        extra = {} if self.num_classes is None else {"num_classes": self.num_classes,
                                                     "seed": seed}
        return tflm_train.convert(self.base(), tflm_train.SparseUpdate(**self.scheme),
                                  optimizer=sgd, **extra)


def _digits(quick: bool):
    x, y = load_sklearn_digits()
    x_tr, y_tr, x_te, y_te = split(x, y, 1200, seed=12345)
    if quick:
        return x_tr[:200], y_tr[:200], x_te[:200], y_te[:200]
    return x_tr, y_tr, x_te, y_te


PERSON_POOL, PERSON_TEST = 300, 200
# the pool is the task's train part; its validation part is unused here (the fleet bench
# carves its own from the pool, tune.py), so it is kept at the minimum of 10 classes
_PERSON_SPLIT_VAL = 10


def _fashion96(quick: bool):
    from bench.search_data import task_split
    pool, test = (64, 40) if quick else (PERSON_POOL, PERSON_TEST)
    s, _ = task_split("fashion96", n_train=pool, n_val=_PERSON_SPLIT_VAL, n_test=test, seed=0)
    return s.x_train, s.y_train, s.x_test, s.y_test


def person_heldout(n: int):
    """(x, y): n Fashion-MNIST train samples outside the person_detect task's pool and never
    its test split: held-out data for a diagnosis, where the 60 validation samples tune.py
    carves from the pool are too few (one sample is 1.7 points)."""
    from bench.search_data import unused_train
    return unused_train("fashion96", n, PERSON_POOL, _PERSON_SPLIT_VAL, seed=0)


def _person_detect() -> bytes:
    from bench.transfer.tasks import backbone
    return backbone()


def tasks() -> dict[str, FleetTask]:
    from bench.transfer.methods import SCHEME as TRANSFER_SCHEME
    return {
        "digits": FleetTask("digits", "demo CNN (mnist_cnn.tflite)", "sklearn digits",
                            dict(n_bias=4, weights={-1: 1.0, -2: 1.0}),
                            DEMO_MODEL.read_bytes, None, _digits),
        "person_detect": FleetTask(
            "person_detect", "person_detect.tflite, fresh 10-way head",
            "Fashion-MNIST at 96x96 (bench/search_data fashion96)", dict(TRANSFER_SCHEME),
            _person_detect, 10, _fashion96),
    }


def validation_split(x, y, n_val: int, seed: int = 0):
    """(x_fit, y_fit, x_val, y_val): a stratified part of the training pool that only the lr
    choice sees; the test split is never used to choose anything."""
    x_fit, y_fit, x_val, y_val = split(x, y, len(y) - n_val, seed=seed)
    return x_fit, y_fit, x_val, y_val

