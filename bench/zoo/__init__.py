"""Model zoo for the benches and the zoo tests: int8 .tflite files at 128x128 (random init,
batch-norm statistics from seeded synthetic images) plus the small demo CNN.

    python -m bench.zoo.build            # rebuild every model into bench/zoo/models/
    from bench import zoo; zoo.load("mobilenetv2_w035"); zoo.scheme("mobilenetv2_w035")
"""
from __future__ import annotations

from pathlib import Path

from tflm_train.data import DEMO_MODEL

ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = Path(__file__).resolve().parent / "models"
DEMO = DEMO_MODEL

#: Zoo model names in bench order; the demo CNN is the committed example model.
NAMES = ("mnist_cnn", "mobilenetv2_w035", "proxylessnas_w03", "mcunet_like")

DESCRIPTIONS = {
    "mnist_cnn": "demo CNN, 28x28x1 (tflm_train/data/mnist_cnn.tflite)",
    "mobilenetv2_w035": "MobileNetV2 width 0.35, 128x128x3 (keras.applications)",
    "proxylessnas_w03": "ProxylessNAS-Mobile width 0.3, 128x128x3",
    "mcunet_like": "MCUNet-like (APPROXIMATION of MCUNet-5FPS), 128x128x3",
}


def path(name: str) -> Path:
    if name not in NAMES:
        raise KeyError(f"unknown zoo model {name!r}; known: {', '.join(NAMES)}")
    return DEMO if name == "mnist_cnn" else MODELS_DIR / f"{name}.tflite"


def load(name: str) -> bytes:
    return path(name).read_bytes()


def scheme(name: str):
    """The paper's sparse-update scheme mapped onto this model (None for the demo CNN)."""
    from .schemes import sparse_update_for

    return sparse_update_for(name, load(name))
