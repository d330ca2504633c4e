"""Build the zoo: Keras model -> BN statistics -> full-int8 .tflite in bench/zoo/models/, and
print each model's op list, size and conv-layer count (checked against the paper's count).

    python -m bench.zoo.build [--only NAME ...] [--calibration 64] [--seed 0]

Writes bench/zoo/models/<name>.tflite and bench/zoo/models/manifest.json. Deterministic on one
machine for a given TensorFlow version (seeded init and calibration images); across CPUs
TensorFlow's float calibration may round a few scales or weights differently, so the committed
files are the reference and tests compare a rebuild by `structure()`, never by bytes."""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time

from . import DESCRIPTIONS, MODELS_DIR, NAMES, load, path
from .schemes import CONV_KINDS, PAPER_SCHEMES

#: Ops the zoo is expected to need (issue 4); anything else is reported.
EXPECTED_OPS = frozenset({
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "AVERAGE_POOL_2D", "MAX_POOL_2D",
    "MEAN", "PAD", "RESHAPE", "SOFTMAX", "CONCATENATION", "QUANTIZE", "DEQUANTIZE"})
FLASH_BYTES = 1 << 20
INPUT_SHAPE = (128, 128, 3)


def op_names(model: bytes) -> list[str]:
    """Builtin op names in execution order, read with the TFLite schema (not our converter, so
    ops our converter does not know are still listed)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    m = schema.Model.GetRootAs(model, 0)
    by_code = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = [max(m.OperatorCodes(i).BuiltinCode(), m.OperatorCodes(i).DeprecatedBuiltinCode())
             for i in range(m.OperatorCodesLength())]
    g = m.Subgraphs(0)
    return [by_code[codes[g.Operators(i).OpcodeIndex()]] for i in range(g.OperatorsLength())]


def describe(name: str, model: bytes) -> dict:
    ops = op_names(model)
    convs = sum(op in CONV_KINDS for op in ops)
    info = {
        "description": DESCRIPTIONS[name],
        "bytes": len(model),
        "ops": len(ops),
        "op_counts": dict(sorted(collections.Counter(ops).items())),
        "unexpected_ops": sorted(set(ops) - EXPECTED_OPS),
        "conv_layers": convs,
    }
    if name in PAPER_SCHEMES:
        info["paper_conv_layers"] = PAPER_SCHEMES[name].conv_layers
    return info


def structure(model: bytes) -> dict:
    """What a rebuild must reproduce on any CPU: the ops in order with their tensors, and per
    tensor its name, shape, type, buffer size and quantisation layout (how many scales, which
    dimension). Scale values and weight bytes are left out: TensorFlow computes them in float,
    and the last bit of a float calibration depends on the CPU."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    m = schema.Model.GetRootAs(model, 0)
    g = m.Subgraphs(0)

    def tensor(i: int) -> tuple:
        t = g.Tensors(i)
        q = t.Quantization()
        buf = m.Buffers(t.Buffer())
        return (t.Name().decode(), tuple(t.ShapeAsNumpy().tolist()) if t.ShapeLength() else (),
                t.Type(), buf.DataLength() if buf is not None else 0,
                q.ScaleLength() if q is not None else 0,
                q.QuantizedDimension() if q is not None and q.ScaleLength() > 1 else 0)

    ops = []
    for name, i in zip(op_names(model), range(g.OperatorsLength())):
        op = g.Operators(i)
        ops.append((name, tuple(tensor(j) for j in op.InputsAsNumpy().tolist() if j >= 0),
                    tuple(tensor(j) for j in op.OutputsAsNumpy().tolist())))
    return {"ops": ops, "inputs": g.InputsAsNumpy().tolist(), "outputs": g.OutputsAsNumpy().tolist()}


def builder(name: str):
    from . import mcunet_like, mobilenet_v2, proxylessnas

    return {m.NAME: m for m in (mobilenet_v2, proxylessnas, mcunet_like)}[name]


def build_one(name: str, calibration: int, seed: int) -> bytes:
    import tensorflow as tf

    from tflm_train.data.demo_model import convert_int8

    from .convert import calibration_images, set_batchnorm_statistics, set_dense_bias

    tf.keras.utils.set_random_seed(seed)
    model = builder(name).build(INPUT_SHAPE, 10)
    images = calibration_images(calibration, INPUT_SHAPE, seed)
    set_batchnorm_statistics(model, images)
    set_dense_bias(model, seed)
    return convert_int8(model, images)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", choices=[n for n in NAMES if n != "mnist_cnn"])
    p.add_argument("--calibration", type=int, default=64, help="calibration images")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    manifest_path = MODELS_DIR / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    failed = False
    for name in NAMES:
        if name != "mnist_cnn" and (args.only is None or name in args.only):
            t0 = time.time()
            path(name).write_bytes(build_one(name, args.calibration, args.seed))
            print(f"{name}: built and converted in {time.time() - t0:.0f} s")
        if not path(name).exists():
            continue
        info = describe(name, load(name))
        if name != "mnist_cnn":
            info["build"] = {"seed": args.seed, "calibration_images": args.calibration,
                             "input_shape": list(INPUT_SHAPE), "classes": 10}
        manifest[name] = info
        print(f"{name}: {info['bytes']} bytes, {info['ops']} ops, {info['conv_layers']} conv "
              f"layers; {info['op_counts']}")
        if info["unexpected_ops"]:
            print(f"  REPORT: ops outside the expected set: {info['unexpected_ops']}")
        if info["bytes"] > FLASH_BYTES:
            print(f"  ERROR: {info['bytes']} bytes do not fit 1 MB of flash")
            failed = True
        want = info.get("paper_conv_layers")
        if want is not None and want != info["conv_layers"]:
            print(f"  ERROR: {info['conv_layers']} conv layers, the paper's model has {want}")
            failed = True
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
