"""New-class head experiment (issue 12 item 4): the demo CNN adapted to Fashion-MNIST by
training only its classifier, int8 + QAS, with the old MNIST head (its logits range calibrated
on MNIST) against a fresh head from `convert(num_classes=10)` and variants of its range and
initialisation; fp32 (the TensorFlow twin) on the same fresh head for reference. Same tasks,
splits, seeds, optimizer and lr grid as bench/accuracy; the lr is chosen on the validation
split of seed 0. Prints a table; writes nothing.

    python -m bench.accuracy.new_head [--seeds 3] [--variants old,built,fp32_built,m4_r0.5]
        [--scheme last|bench]
"""
from __future__ import annotations

import argparse
import contextlib
import time

import numpy as np
from tflm_train.converter import new_head
from tflm_train.converter.scheme import SparseUpdate
from tflm_train.converter.tflite_io import read_model, write_model

from .methods import BASES, LAST_LAYER, LR_GRID, base_model
from .runs import Method, Optim, run
from .tasks import tasks


def variant(name: str) -> tuple[float, float, int]:
    """'m4_r0.5' -> (logit margin 4, weight reach 0.5, the module's init fraction); a '_zeros'
    suffix starts from zero weights; 'built' is the module as it is."""
    name = name.removesuffix("_oldrange")
    if name == "built":
        return new_head.LOGIT_MARGIN, new_head.WEIGHT_REACH, new_head.INIT_FRACTION
    parts = name.split("_")
    if len(parts) not in (2, 3) or parts[0][0] != "m" or parts[1][0] != "r" \
            or parts[2:] not in ([], ["zeros"]):
        raise SystemExit(f"variant {name!r}: write old, built or mMARGIN_rREACH[_zeros]"
                         "[_oldrange]")
    return float(parts[0][1:]), float(parts[1][1:]), 10 ** 6 if parts[2:] else \
        new_head.INIT_FRACTION  # 127 // 10**6 = 0: zeros


@contextlib.contextmanager
def _constants(margin: float, reach: float, fraction: int):
    saved = (new_head.LOGIT_MARGIN, new_head.WEIGHT_REACH, new_head.INIT_FRACTION)
    new_head.LOGIT_MARGIN, new_head.WEIGHT_REACH, new_head.INIT_FRACTION = \
        margin, reach, fraction
    try:
        yield
    finally:
        new_head.LOGIT_MARGIN, new_head.WEIGHT_REACH, new_head.INIT_FRACTION = saved


def fresh_head_model(base: bytes, k: int, name: str, seed: int) -> bytes:
    """The base model with a fresh k-way head (a plain model: both arithmetics train it)."""
    model = read_model(base)
    logits = model.subgraphs[0].operators[-1].inputs[0]  # the demo CNN: ... FC -> SOFTMAX
    old_range = model.subgraphs[0].tensors[logits].quantization
    with _constants(*variant(name)):
        new_head.replace(model, k, seed)
    if name.endswith("_oldrange"):  # ablation: the old head's logits range kept
        model.subgraphs[0].tensors[logits].quantization = old_range
    return write_model(model)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--variants", default="old,built,fp32_built",
                    help="comma-separated: old (the MNIST head), built (convert(num_classes=10)) "
                         "or mMARGIN_rREACH[_zeros][_oldrange]; an fp32_ prefix trains the "
                         "TensorFlow twin")
    ap.add_argument("--scheme", choices=["last", "bench"], default="last",
                    help="last: the classifier only; bench: bench/accuracy's demo scheme")
    args = ap.parse_args(argv)
    task = tasks()["fashion"]
    loaded = task.load()
    base = base_model().read_bytes()
    opt = Optim()
    scheme = SparseUpdate(**(LAST_LAYER if args.scheme == "last" else BASES["demo"][1]))
    for name in args.variants.split(","):
        t0 = time.time()
        arithmetic = "fp32" if name.startswith("fp32_") else "int8"
        head = name.removeprefix("fp32_")
        method = Method(name, name, arithmetic, scheme, LR_GRID)

        def model_for(seed, head=head):
            return base if head == "old" else fresh_head_model(base, 10, head, seed)

        split0 = task.split(0, loaded)
        val = {lr: run(model_for(0), method, split0, lr, args.epochs, 0, opt).val
               for lr in LR_GRID}
        lr = max(LR_GRID, key=lambda v: (val[v], -v))
        finals = [run(model_for(s), method, task.split(s, loaded), lr, args.epochs, s, opt).final
                  for s in range(args.seeds)]
        print(f"{name:12s} lr {lr:<6g} test {100 * np.mean(finals):5.1f} % "
              f"(+-{100 * np.std(finals):.1f}; seeds {[round(100 * f, 1) for f in finals]}) "
              f"val by lr {({k: round(v, 3) for k, v in val.items()})} "
              f"[{time.time() - t0:.0f} s]", flush=True)


if __name__ == "__main__":
    main()
