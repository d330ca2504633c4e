"""Inputs of the zoo training firmware (bench/firmware/train_zoo): for each zoo model, the
extended model converted with the paper's sparse-update scheme and a steps file of a few
deterministic random samples, written to models/<name>.tflite and models/<name>.steps.

    .venv/bin/python bench/firmware/train_zoo/generate.py          # (re)write all
    .venv/bin/python bench/firmware/train_zoo/generate.py --check  # exit 1 if stale

Reconverting (not patching) the committed models is how a runtime format change is absorbed.
Accuracy does not matter here: the samples are random images with random labels.
"""
from __future__ import annotations

import argparse
import sys
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

MODELS_DIR = HERE / "models"
FLASH_BYTES = 1 << 20
# Flash kept free for everything in the image that is not the model or the steps (runtime,
# kernels, board layer, newlib): the zoo training ELFs measured 140-150 KB of it with the DSP
# forward and blocked backward kernels, 191 KB (an386) in session 10, when ProxylessNAS's
# second sample no longer fit beside it.
CODE_RESERVE = 192 * 1024
MAX_STEPS = 4
LEARNING_RATE = 0.01
SEED = 1


def extended_model(name: str) -> bytes:
    """The zoo model converted with the paper's scheme (bench.zoo.scheme; the demo CNN has
    none, so it gets the converter's default) and the input source where it lowers the arena
    (the driver feeds every program through tt_set_input_source)."""
    import tflm_train
    from bench import zoo

    return tflm_train.convert(zoo.load(name), zoo.scheme(name), input_source=True)


def steps_for(name: str, extended: bytes):
    """As many (at most MAX_STEPS) random samples as fit the flash left by the model."""
    from tflm_train.converter.graph import build_graph
    from tflm_train.converter.tflite_io import read_model
    from tflm_train.firmware import StepsFile

    graph = build_graph(read_model(extended))
    size = graph.tensors[graph.inputs[0]].nbytes
    classes = graph.tensors[graph.outputs[0]].shape[-1]
    stride = 4 + (size + 3) // 4 * 4
    room = FLASH_BYTES - CODE_RESERVE - len(extended) - 44  # 44 = steps header
    n = min(MAX_STEPS, room // stride)
    if n < 1:
        raise SystemExit(f"{name}: the extended model ({len(extended)} B) leaves no flash for "
                         f"one sample ({stride} B) within {FLASH_BYTES} B - {CODE_RESERVE} B")
    # seeded per name (crc32 is stable across Python runs, unlike hash())
    rng = np.random.default_rng([SEED, zlib.crc32(name.encode())])
    return StepsFile(samples=rng.integers(-128, 128, size=(n, size), dtype=np.int8),
                     labels=rng.integers(0, classes, size=n), learning_rate=LEARNING_RATE,
                     seed=SEED, rounding="nearest")


def generate(name: str) -> dict[str, bytes]:
    ext = extended_model(name)
    return {f"{name}.tflite": ext, f"{name}.steps": steps_for(name, ext).encode()}


def main(argv=None) -> int:
    from bench import zoo

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare, do not write")
    p.add_argument("--models", nargs="*", default=list(zoo.NAMES), choices=list(zoo.NAMES))
    args = p.parse_args(argv)
    MODELS_DIR.mkdir(exist_ok=True)
    stale = []
    for name in args.models:
        for fname, data in generate(name).items():
            path = MODELS_DIR / fname
            if args.check:
                if not path.exists() or path.read_bytes() != data:
                    stale.append(fname)
            else:
                path.write_bytes(data)
                print(f"{path.relative_to(ROOT)}: {len(data)} bytes")
    if stale:
        print("stale (rerun generate.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
