"""New-class head experiment (issue 12 item 4): the demo CNN adapted to Fashion-MNIST by
training only its classifier, int8 + QAS, with the old MNIST head (its logits range calibrated
on MNIST) against a fresh head from `convert(num_classes=10)` and variants of its range and
initialisation; fp32 (the TensorFlow twin) on the same fresh head for reference. Same tasks,
splits, seeds, optimizer and lr grid as bench/accuracy; the lr is chosen on the validation
split of seed 0. Prints a table; writes nothing.

    python -m bench.accuracy.new_head [--seeds 3] [--variants old,new,...]
"""
from __future__ import annotations

import argparse
import contextlib
import time

import numpy as np

from tflm_train.converter import new_head
from tflm_train.converter.scheme import SparseUpdate
from tflm_train.converter.tflite_io import read_model, write_model

from .methods import LAST_LAYER, LR_GRID, base_model
from .runs import Method, Optim, run
from .tasks import tasks

# name -> (label, logit margin, init fraction or None for zeros, weight budget factor)
VARIANTS = {
    "new": ("fresh head as built (margin 2, init 1/8 of the budget)", 2.0, 8, 1.0),
    "margin1": ("fresh head, logits range margin 1", 1.0, 8, 1.0),
    "margin4": ("fresh head, logits range margin 4", 4.0, 8, 1.0),
    "zeros": ("fresh head, zero initial weights", 2.0, None, 1.0),
    "budget_x4": ("fresh head, weight budget x4", 2.0, 8, 4.0),
    "budget_div4": ("fresh head, weight budget /4", 2.0, 8, 0.25),
    "budget_div8": ("fresh head, weight budget /8", 2.0, 8, 0.125),
    "budget_div16": ("fresh head, weight budget /16", 2.0, 8, 1 / 16),
    "margin4_div4": ("fresh head, margin 4, weight budget /4", 4.0, 8, 0.25),
    "zeros_div4": ("fresh head, zeros, weight budget /4", 2.0, None, 0.25),
}


@contextlib.contextmanager
def _variant(margin: float, fraction: int | None, budget: float):
    saved = (new_head.LOGIT_MARGIN, new_head.INIT_FRACTION, new_head.WEIGHT_REACH)
    new_head.LOGIT_MARGIN = margin
    new_head.INIT_FRACTION = fraction if fraction else 10 ** 6  # 127 // 1e6 = 0: zeros
    new_head.WEIGHT_REACH = 2.0 * budget
    try:
        yield
    finally:
        new_head.LOGIT_MARGIN, new_head.INIT_FRACTION, new_head.WEIGHT_REACH = saved


def fresh_head_model(base: bytes, k: int, variant: str, seed: int) -> bytes:
    """The base model with a fresh k-way head (a plain model: both arithmetics train it)."""
    _, margin, fraction, budget = VARIANTS[variant]
    model = read_model(base)
    with _variant(margin, fraction, budget):
        new_head.replace(model, k, seed)
    return write_model(model)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--variants", default="old,new,margin1,margin4,zeros,budget_x4,"
                                          "budget_div4,fp32_new")
    args = ap.parse_args(argv)
    task = tasks()["fashion"]
    loaded = task.load()
    base = base_model().read_bytes()
    opt = Optim()
    scheme = SparseUpdate(**LAST_LAYER)
    rows = []
    for name in args.variants.split(","):
        t0 = time.time()
        arithmetic = "fp32" if name.startswith("fp32_") else "int8"
        variant = name.removeprefix("fp32_")
        method = Method(name, name, arithmetic, scheme, LR_GRID)

        def model_for(seed):
            return base if variant == "old" else fresh_head_model(base, 10, variant, seed)

        split0 = task.split(0, loaded)
        val = {lr: run(model_for(0), method, split0, lr, args.epochs, 0, opt).val
               for lr in LR_GRID}
        lr = max(LR_GRID, key=lambda v: (val[v], -v))
        finals = [run(model_for(s), method, task.split(s, loaded), lr, args.epochs, s, opt).final
                  for s in range(args.seeds)]
        rows.append((name, lr, float(np.mean(finals)), float(np.std(finals)), finals))
        print(f"{name:12s} lr {lr:<6g} test {100 * np.mean(finals):5.1f} % "
              f"(+-{100 * np.std(finals):.1f}; seeds {[round(100 * f, 1) for f in finals]}) "
              f"val by lr {({k: round(v, 3) for k, v in val.items()})} "
              f"[{time.time() - t0:.0f} s]", flush=True)


if __name__ == "__main__":
    main()
