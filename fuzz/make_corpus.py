"""Writes the fuzz targets' seed corpora (fuzz/corpus/<target>/) and the checkpoint target's
model (fuzz/checkpoint_model.tflite).

Seeds: the demo CNN converted with several schemes (sparse, full, momentum + mini-batch, MSE,
forward-only), small random models over every supported op and inverted-bottleneck blocks (the
zoo's structure at a few KB; the zoo's own models are ~630 KB each, too big to commit), and the
TFLM example models read from ../shared/models/tflm-examples (those under 32 KB; person_detect
is 300 KB and is skipped). Rerun after a program format change:

    .venv/bin/python fuzz/make_corpus.py
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tflm_train import binding  # noqa: E402
from tflm_train.converter import SGD, SparseUpdate, convert  # noqa: E402
from tflm_train.converter.errors import ConversionError  # noqa: E402
from tflm_train.data import DEMO_MODEL  # noqa: E402
from tflm_train.converter.program import METADATA_NAME  # noqa: E402
from tflm_train.converter.tflite_io import get_metadata, read_model  # noqa: E402
from tests.shared_models import tflm_examples_dir  # noqa: E402

CORPUS = ROOT / "fuzz" / "corpus"
CHECKPOINT_MODEL = ROOT / "fuzz" / "checkpoint_model.tflite"
MAX_SEED_BYTES = 32 * 1024
# The checkpoint target's flash (fuzz/checkpoint_restore_fuzz.cc): 16 KB, 2 KB pages.
FLASH_BYTES, PAGE_BYTES = 16384, 2048


def demo_variants(model: bytes) -> dict[str, bytes]:
    """The demo CNN under the scheme kinds the runtime distinguishes."""
    return {
        "demo_default": convert(model),
        "demo_sparse": convert(model, SparseUpdate(n_bias=2, weights={-1: 1.0, -2: 1 / 4})),
        "demo_all_biases_half": convert(model, SparseUpdate(n_bias=4, weights={-1: 1 / 2,
                                                                               -2: 1 / 8})),
        "demo_momentum": convert(model, SparseUpdate(n_bias=2, weights={-1: 1.0}),
                                 optimizer=SGD(momentum=0.9, mini_batch=True)),
        "demo_no_qas": convert(model, SparseUpdate(n_bias=1, weights={-1: 1.0}, qas=False)),
        "demo_inference_only": convert(model, SparseUpdate(inference_only=True)),
    }


def convert_sparse(model: bytes, **kwargs) -> bytes | None:
    """A sparse scheme over the last two layers, or the default scheme if the model has fewer;
    None if it does not convert at all."""
    for scheme in (SparseUpdate(n_bias=2, weights={-1: 1.0, -2: 1 / 2}), None):
        try:
            return convert(model, scheme, **kwargs)
        except ConversionError:
            continue
    return None


def small_models() -> dict[str, bytes]:
    """Random small int8 models over every supported op, an MSE regression head and
    inverted-bottleneck blocks (streamed chains, block backward), from the test factories."""
    from tests import model_factory as mf
    from tests.test_streaming import block_model, block_spec

    plain = {f"random_{seed}": mf.random_model(seed)[1] for seed in (1, 2, 3, 5)}
    plain["concat"] = mf.custom_model("concat")
    plain["add"] = mf.custom_model("add")
    out: dict[str, bytes] = {}
    for name, model in plain.items():
        out[name] = model
        out[name + "_ext"] = convert_sparse(model)
    reg = mf.regression_model()
    out["regression"] = reg
    out["regression_mse_ext"] = convert_sparse(reg, loss="mse")
    for seed in (0, 3):
        spec = dict(block_spec(seed), classes=4)
        model = block_model(spec)
        out[f"block_{seed}"] = model
        out[f"block_{seed}_ext"] = convert(model, SparseUpdate(n_bias=4, weights={-1: 1.0,
                                                                                  -2: 1 / 4}))
    return {k: v for k, v in out.items() if v is not None}


def example_models() -> dict[str, bytes]:
    d = tflm_examples_dir()
    if not d.is_dir():
        print(f"[corpus] {d} not found: TFLM example models skipped")
        return {}
    out: dict[str, bytes] = {}
    for path in sorted(d.glob("*.tflite")):
        data = path.read_bytes()
        if len(data) > MAX_SEED_BYTES:
            print(f"[corpus] {path.name}: {len(data)} B, over {MAX_SEED_BYTES} B: skipped")
            continue
        out[path.stem] = data
        try:
            out[path.stem + "_ext"] = convert(data)
        except ConversionError as e:
            print(f"[corpus] {path.name}: not convertible ({type(e).__name__}), reader seed only")
    return out


def flash_images(model: bytes) -> dict[str, bytes]:
    """Flash images of real checkpoint histories of `model`: one save, two saves (both slots),
    saves cut by power loss at several points, and a model with momentum state."""
    images: dict[str, bytes] = {}
    session = binding.NativeSession(model)
    flash = binding.SimFlash(FLASH_BYTES, PAGE_BYTES)
    binding.checkpoint_save(session, flash, step=1)
    images["one_save"] = flash.memory.tobytes()
    x = np.arange(session.input_view().size, dtype=np.int64).astype(np.int8)
    session.train_step(x, 2, 0.05)  # the second checkpoint holds different weights
    binding.checkpoint_save(session, flash, step=2)
    images["two_saves"] = flash.memory.tobytes()
    for cut in (1, 5, 40):
        torn = binding.SimFlash(FLASH_BYTES, PAGE_BYTES, image=images["one_save"])
        torn.cut_at(cut, seed=cut)
        try:
            binding.checkpoint_save(session, torn, step=3)
        except binding.CheckpointError:
            pass
        images[f"torn_at_{cut}"] = torn.memory.tobytes()
    return images


def write_dir(target: str, seeds: dict[str, bytes]) -> None:
    d = CORPUS / target
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    for name, data in sorted(seeds.items()):
        if len(data) <= MAX_SEED_BYTES:
            (d / f"{name}-{hashlib.sha1(data).hexdigest()[:8]}").write_bytes(data)
    total = sum(p.stat().st_size for p in d.iterdir())
    print(f"[corpus] {target}: {len(list(d.iterdir()))} seeds, {total / 1024:.1f} KB")


def op_models() -> dict[str, bytes]:
    """Committed small models over the issue-12 ops (bench/firmware/infer/models), stock and
    converted, so the targets start inside those ops' Prepare and planning code."""
    stock = (ROOT / "bench" / "firmware" / "infer" / "models" / "elementwise_ops.tflite").read_bytes()
    out = {"elementwise_ops": stock}
    extended = convert_sparse(stock)
    if extended is not None:
        out["elementwise_ops_sparse"] = extended
    return out


def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    demo = DEMO_MODEL.read_bytes()
    models = {"demo": demo, **demo_variants(demo), **small_models(), **example_models(),
              **op_models()}
    extended = {k: v for k, v in models.items()
                if get_metadata(read_model(v), METADATA_NAME) is not None}
    write_dir("model_reader", models)
    write_dir("session", extended)
    write_dir("converter", {k: v for k, v in models.items() if k not in extended})
    write_dir("program_reader", {k: get_metadata(read_model(v), METADATA_NAME)
                                 for k, v in extended.items()})
    CHECKPOINT_MODEL.write_bytes(models["demo_default"])
    images = flash_images(models["demo_default"])
    # The harness reads a mode byte first (bit 0: fix CRCs, bits 1-2: write unit 4 B); trailing
    # erased bytes are dropped because the harness pads with 0xFF.
    seeds = {}
    for name, image in images.items():
        body = image.rstrip(b"\xff")
        seeds[name] = b"\x00" + body
        seeds[name + "_fixcrc"] = b"\x01" + body
    write_dir("checkpoint_restore", seeds)
    print(f"[corpus] {CHECKPOINT_MODEL.relative_to(ROOT)}: {CHECKPOINT_MODEL.stat().st_size} B")
    return 0


if __name__ == "__main__":
    sys.exit(main())
