"""The compared methods: each trains the same parameters (except last-layer-only) of the same
fresh-head model on the same samples, order, mini-batches, momentum, epochs and schedule; only
the arithmetic and QAS differ, and each method gets its own lr chosen on the validation split.

The sparse scheme, in the paper's manner (weights of the last layers, partly, and more
biases): the new classifier's weights (all rows), the first 1/4 of the output channels of the
last 1x1 conv (256 -> 256) and 1/8 of the one before it (128 -> 256), the biases of the last 6
layers (classifier, 1x1, depthwise, 1x1, depthwise, 1x1). With momentum 0.9 over mini-batches
of 8 its step plans 152 KB of arena (K = 10), inside the training firmware's 160 KB on the
Nano 33 BLE stand-in (tests/test_transfer_firmware.py runs it there).
"""
from __future__ import annotations

from tflm_train.converter.scheme import SparseUpdate

from bench.accuracy.runs import Method

SCHEME = dict(n_bias=6, weights={-1: 1.0, -2: 0.25, -4: 0.125})
LAST_LAYER = dict(n_bias=1, weights={-1: 1.0})

# With QAS (and in fp32) lr is the real-valued SGD step. With 75 updates per run (200 samples,
# 3 epochs, batches of 8) small rates barely move the new head (a pilot at 0.01: fashion10 34
# -> 44 % over the epochs, still rising), and runs over 0.01..0.3 and then 0.01..1 chose the
# top rate on parity2: so the grid reaches 3 (bench/accuracy's spacing and count, shifted).
LR_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
# Without QAS the step on W_q is lr * s * g (lr * s^2 in real units). The trained tensors'
# median scales: 1x1 conv weights 8e-4..2.4e-3, depthwise 6e-3..8e-3, the new head's 0.028,
# biases 2e-5..5e-4: the rate matching a QAS rate is 1e3..1e9 times higher, and no single
# one matches for all tensors. Decades 1e2..1e8 (x10 spacing, for the time budget).
NOQAS_GRID = tuple(10.0 ** e for e in range(2, 9))


def methods() -> dict[str, Method]:
    return {m.name: m for m in (
        Method("int8_qas", "int8 + QAS", "int8", SparseUpdate(**SCHEME), LR_GRID),
        Method("fp32", "fp32 SGD (TensorFlow twin)", "fp32", SparseUpdate(**SCHEME), LR_GRID),
        Method("int8_noqas", "int8, no QAS, own lr", "int8", SparseUpdate(**SCHEME, qas=False),
               NOQAS_GRID),
        # the paper's comparison: fp32's hyper-parameters, only QAS switched off
        Method("int8_noqas_fp32lr", "int8, no QAS, fp32's lr", "int8",
               SparseUpdate(**SCHEME, qas=False), (), lr_from="fp32"),
        Method("int8_last", "int8 + QAS, last layer only", "int8", SparseUpdate(**LAST_LAYER),
               LR_GRID),
    )}


# lr of --quick runs (no tuning): a middle of each grid
QUICK_LR = {"int8_qas": 0.01, "fp32": 0.01, "int8_noqas": 1e3, "int8_noqas_fp32lr": 0.01,
            "int8_last": 0.01}
