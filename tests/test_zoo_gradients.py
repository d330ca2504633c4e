"""One training step of MobileNetV2-w0.35 (128x128, the zoo model) at the paper's scheme, every
trained weight and bias against TensorFlow autodiff on the dequantised graph.

The demo-sized gradient tests exercise each backward instruction on small graphs; the zoo
programs were checked only host against board, which is the same algorithm twice. At this
size the converter fuses the inverted bottlenecks (BOTTLENECK_BACKWARD), streams the frozen
chains (STREAM_CHAIN) and trains partial channel ratios, so this test is what shows those
routines compute the gradient TensorFlow does.

Gradients of different layers differ by orders of magnitude, and one learning rate moves one
layer by whole quanta while leaving another below a quantum, so each trained layer is checked
by its own step from the same start, at the learning rate that makes that layer's largest step
TARGET_STEP quanta (weights) or ~1000 quanta (bias-only layers). The gradient of one step does
not depend on the learning rate; only which layer's rounding is visible does.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tflm_train
from tflm_train.converter import compile_model
from tflm_train.converter.program import Opcode

from .test_gradients import reference_gradients, run_check

ZOO_MODEL = Path(__file__).resolve().parents[1] / "bench" / "zoo" / "models" / \
    "mobilenetv2_w035.tflite"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def case():
    from bench.zoo.schemes import sparse_update_for

    model = ZOO_MODEL.read_bytes()
    scheme = sparse_update_for("mobilenetv2_w035", model)
    xq = np.random.default_rng(12).integers(-128, 128, size=(128, 128, 3), dtype=np.int8)
    label = 3
    _, graph, step = compile_model(model, scheme)
    reference = reference_gradients(model, xq, label)
    extended = tflm_train.convert(model, scheme)
    return model, scheme, xq, label, graph, step.program, reference, extended


def test_the_step_uses_the_fused_and_streamed_routines(case):
    used = {Opcode(i.opcode).name for i in case[5].instructions}
    for opcode in ("BOTTLENECK_BACKWARD", "STREAM_CHAIN", "WEIGHT_UPDATE"):
        assert opcode in used, f"{opcode} not in the zoo program: {sorted(used)}"


def test_every_trained_weight_matches_autodiff(case):
    model, scheme, xq, label, graph, _, reference, extended = case
    checked = []
    trainable = graph.trainable_ops()
    for pos, ratio in sorted(scheme.weights.items()):
        if not ratio:
            continue
        op = trainable[pos]
        cout = graph.tensors[op.inputs[1]].shape[3 if op.kind == "DEPTHWISE_CONV_2D" else 0]
        k = max(1, int(round(float(ratio) * cout)))
        _, stats = run_check(model, xq, label, scheme, {pos: k}, reference=reference,
                             extended=extended)
        checked.append((pos, op.kind, k, stats[pos]["exact"], stats[pos]["rel"]))
    assert len(checked) == sum(1 for r in scheme.weights.values() if r), checked


def test_every_trained_bias_matches_autodiff(case):
    model, scheme, xq, label, graph, _, reference, extended = case
    trainable = graph.trainable_ops()
    # layers whose weights train had their bias checked with the weights
    bias_only = [p for p in range(len(trainable) - scheme.n_bias, len(trainable))
                 if not scheme.weights.get(p)]
    assert bias_only, "the paper's scheme trains biases of layers whose weights are frozen"
    for pos in bias_only:
        run_check(model, xq, label, scheme, {pos: 0}, which="bias", reference=reference,
                  extended=extended)
