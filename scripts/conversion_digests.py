"""Digests of what the converter writes, to show a refactor changes no byte: run it on the old
and the new commit and diff the two outputs (nothing is compared against stored bytes).

One line per (model, convert options): sha256 of the extended .tflite, or the error raised;
and per plan-only variant (bench/variants.py): sha256 of the program, the arena bytes and a
digest of the planned buffers. Models: the zoo (bench/zoo, with the demo CNN) and any int8
.tflite given on the command line.

    .venv/bin/python scripts/conversion_digests.py [--skip-zoo-128] [MODEL.tflite ...] > a.txt
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ from the source tree

import tflm_train  # noqa: E402
from bench import zoo  # noqa: E402
from bench.variants import plan_variant  # noqa: E402
from tflm_train import SGD, SparseUpdate  # noqa: E402

OPTIONS = {
    "default": {},
    "b2_w1_w2q": {"scheme": SparseUpdate(n_bias=2, weights={-1: 1.0, -2: 0.25})},
    "b2_w1_w2q_noqas": {"scheme": SparseUpdate(n_bias=2, weights={-1: 1.0, -2: 0.25},
                                               qas=False)},
    "b4_w3": {"scheme": SparseUpdate(n_bias=4, weights={-1: 1.0, -2: 1.0, -3: 0.5})},
    "inference_only": {"scheme": SparseUpdate(inference_only=True)},
    "momentum_minibatch": {"optimizer": SGD(momentum=0.9, mini_batch=True)},
    "minibatch_b3_w1_eighth": {"scheme": SparseUpdate(n_bias=3, weights={-1: 0.125}),
                               "optimizer": SGD(mini_batch=True)},
    "mse": {"loss": "mse"},
}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _options(name: str) -> dict:
    paper = zoo.scheme(name) if name in zoo.NAMES else None
    if paper is None:
        return OPTIONS
    return {"paper": {"scheme": paper}, "default": {}, "inference_only":
            OPTIONS["inference_only"], "paper_momentum_minibatch":
            {"scheme": paper, "optimizer": SGD(momentum=0.9, mini_batch=True)}}


def _variant_line(model: bytes, scheme, variant: str) -> str:
    step = plan_variant(model, scheme, variant)
    buffers = repr([(b.key, b.size, b.first, b.last, b.offset) for b in step.buffers])
    return (f"{_digest(step.program.encode())} arena={step.program.arena_bytes} "
            f"buffers={_digest(buffers.encode())} updated={step.updated_weight_bytes} "
            f"op_data={step.op_data_bytes} state={step.optimizer_state_bytes}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="*", type=Path, help="more int8 .tflite files")
    p.add_argument("--skip-zoo-128", action="store_true",
                   help="only the demo CNN from the zoo (the 128x128 models take minutes)")
    args = p.parse_args(argv)
    names = ["mnist_cnn"] if args.skip_zoo_128 else list(zoo.NAMES)
    models = {n: zoo.load(n) for n in names}
    models.update({path.stem: path.read_bytes() for path in args.models})
    for name, model in models.items():
        for label, kwargs in _options(name).items():
            try:
                result = _digest(tflm_train.convert(model, **kwargs))
            except tflm_train.ConversionError as exc:
                result = f"{type(exc).__name__}: {exc}"
            print(f"{name} {label} {result}", flush=True)
        scheme = zoo.scheme(name) if name in zoo.NAMES else None
        small = len(model) < 100_000  # full_update of a 128x128 model plans for minutes
        for variant in ("sparse", "sparse_reorder", "inference_only") + \
                (("full_update",) if small else ()):
            try:
                result = _variant_line(model, scheme, variant)
            except tflm_train.ConversionError as exc:
                result = f"{type(exc).__name__}: {exc}"
            print(f"{name} variant:{variant} {result}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
