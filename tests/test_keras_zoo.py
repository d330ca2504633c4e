"""keras.applications networks end to end (issue 12 item 3): MobileNetV2 (alpha 0.35),
MobileNetV3Small, MobileNetV3Large and EfficientNetB0 with their default heads (1000 classes),
random weights, int8-quantised by the TFLite converter. Each converts with the default scheme,
infers bit-exactly like the tflite-micro wheel, trains (the loss of a seeded 2-class toy task
goes down over four epochs of four samples) and exports a model the wheel runs exactly as the
trained session infers. V3 and EfficientNet train through HARD_SWISH / LOGISTIC and MUL (the
default scheme's gradient passes the head's activation); a deeper scheme reaches through the
last squeeze-excite block (MUL broadcasting its gate over H and W).

Batch-norm statistics come from the calibration images (as in test_ops_layout's MobileNet):
with Keras' untouched random statistics the activations collapse. The random classifier is
scaled to spread its logits (_spread_logits), or the wheel's own softmax aborts. Inputs are
64x64; the TensorFlow conversion is most of each test's time."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

import tflm_train
from tflm_train import SparseUpdate

from . import model_factory as mf

pytestmark = pytest.mark.slow
keras = pytest.importorskip("keras")

# name -> (constructor, input side, ops the model must contain)
_NETS = {
    "mobilenet_v2_035": (lambda s: keras.applications.MobileNetV2(
        alpha=0.35, weights=None, input_shape=s), 64, {"ADD", "FULLY_CONNECTED"}),
    "mobilenet_v3_small": (lambda s: keras.applications.MobileNetV3Small(
        weights=None, input_shape=s), 64, {"HARD_SWISH", "MUL"}),
    "mobilenet_v3_large": (lambda s: keras.applications.MobileNetV3Large(
        weights=None, input_shape=s, minimalistic=False), 64, {"HARD_SWISH", "MUL"}),
    "efficientnet_b0": (lambda s: keras.applications.EfficientNetB0(
        weights=None, input_shape=s), 64, {"LOGISTIC", "MUL"}),
}
_CACHE: dict[str, bytes] = {}
LEARNING_RATES = (0.05, 0.5, 5.0, 50.0)


LOGIT_STD = 4.0


def _spread_logits(net, images: np.ndarray) -> None:
    """Scale the classifier (the last layer with weights) so its logits on `images` have a
    standard deviation of LOGIT_STD. A random 1000-way head's logits are nearly equal, and
    TFLM's int8 softmax aborts (a shift past 31 bits, a debug check in the wheel) once the
    exponentials of the classes near the maximum add up to more than 256; ours is then
    undefined in the same way. Trained heads spread their logits."""
    head = [layer for layer in net.layers if getattr(layer, "kernel", None) is not None][-1]
    features = keras.Model(net.inputs, head.input)(images, training=False)
    kernel, bias = (np.asarray(w) for w in head.get_weights())
    logits = np.asarray(features).reshape(len(images), -1) @ kernel.reshape(-1, kernel.shape[-1])
    factor = LOGIT_STD / float(np.std(logits + bias))
    head.set_weights([kernel * factor, bias * factor])


def keras_net(name: str) -> bytes:
    if name not in _CACHE:
        make, side, _ = _NETS[name]
        keras.utils.set_random_seed(0)
        shape = (side, side, 3)
        net = make(shape)
        for layer in net.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = 0.0
        images = np.random.default_rng(0).uniform(0, 1, (16, *shape)).astype(np.float32)
        net(images, training=True)
        _spread_logits(net, images)
        _CACHE[name] = mf._convert(net, shape, samples=8)
    return _CACHE[name]


def _epoch_losses(tr: tflm_train.Trainer, xs, labels, epochs: int = 4) -> list[float]:
    return [float(np.mean([tr.train_step(x, y) for x, y in zip(xs, labels)]))
            for _ in range(epochs)]


@pytest.mark.parametrize("name", sorted(_NETS))
def test_converts_infers_trains_exports(name):
    model = keras_net(name)
    names = set(mf.op_names(model))
    assert _NETS[name][2] <= names, names
    ext = tflm_train.convert(model)  # the default scheme
    xs = mf.random_inputs(model, 4, 0)
    tr = tflm_train.Trainer(ext, seed=0)
    assert np.array_equal(tr.predict(xs).reshape(4, -1), mf.wheel_outputs(model, xs)), \
        f"{name}: differs from the wheel"
    # The nets' output scales differ by orders of magnitude (random weights), so the toy task
    # takes the first rate of a fixed grid at which the loss goes down.
    labels = [3, 7, 3, 7]
    tried = {}
    for lr in LEARNING_RATES:
        tr = tflm_train.Trainer(ext, learning_rate=lr, seed=0)
        losses = _epoch_losses(tr, xs, labels)
        assert all(np.isfinite(losses)), (lr, losses)
        tried[lr] = losses
        if losses[-1] < losses[0]:
            break
    else:
        raise AssertionError(f"{name}: the loss never went down: {tried}")
    exported = tr.export()
    assert np.array_equal(tr.predict(xs).reshape(4, -1), mf.wheel_outputs(exported, xs)), \
        f"{name}: the exported model differs from the trained session"


@pytest.mark.parametrize("name", ["mobilenet_v3_small", "efficientnet_b0"])
def test_training_through_squeeze_excite(name):
    """Biases far enough back that the gradient crosses the last squeeze-excite block's MUL (to
    both operands) and its gate's activation; the step changes bytes behind it."""
    from tflm_train.converter import compile_model
    from tflm_train.converter.program import Opcode

    model = keras_net(name)
    scheme = SparseUpdate(n_bias=8, weights={-1: 1.0})
    _, graph, step = compile_model(model, scheme)
    program = step.program
    ops = {op.index: op for op in graph.ops}
    kinds = {ops[ins.args[0]].kind for ins in program.instructions[program.n_forward:]
             if ins.opcode in (Opcode.INPUT_GRAD, Opcode.INPUT_GRAD_AT)}
    assert {"MUL", "MEAN"} <= kinds, kinds
    muls = [ins for ins in program.instructions[program.n_forward:]
            if ins.opcode == Opcode.INPUT_GRAD_AT and ops[ins.args[0]].kind == "MUL"]
    assert any(graph.tensors[ops[m.args[0]].inputs[m.args[3]]].shape[1:3] == (1, 1)
               for m in muls), "no gradient of a broadcast squeeze-excite gate"
    ext = tflm_train.convert(model, scheme)
    tr = tflm_train.Trainer(ext, learning_rate=0.5, seed=0)
    xs = mf.random_inputs(model, 2, 1)
    before = tr.trained_tensors()
    assert all(np.isfinite([tr.train_step(x, 5) for x in xs]))
    after = tr.trained_tensors()
    assert sum(before[t] != after[t] for t in before) >= 2
