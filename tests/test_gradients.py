"""One training step of the C++ runtime against TensorFlow autodiff on the dequantised graph.

Method. The reference gradient g_TF is computed with tf.GradientTape, op by op in reverse, on a
float re-implementation of subgraph 0 built from the dequantised int8 weights / int32 biases.
Every op's *input* activation is the int8 value the runtime computed (read from the tflite-micro
wheel with kPreserveAllTensors; the forward pass is separately proven bit-exact with the wheel in
test_forward_parity.py), so forward rounding does not pollute the check. The loss gradient is
p - onehot with p the float softmax of the dequantised int8 logits (a final SOFTMAX's input,
times its beta, or the output of a model without SOFTMAX), and fused activations pass the gradient iff
lo < q_out < hi on the saved int8 output -- exactly the runtime's definition.

Then ONE train_step with rounding="nearest" and a learning rate picked so the largest step of
the layer under test is ~40 quanta. Per element the expected new value is
sat(q - round(lr * f[c] * g_TF)) with f[c] = 1/max(s[c], clamp * median(s)) (QAS) or s[c].

Tolerances (differences come only from float32 summation order, which can move a step that
lies within a hair of .5 to the other integer):
  * int8 weights: >= 98 % of the elements exact-or-+-1 (in practice 100 %), none off by more
    than 2, and ||delta_observed - lr*f*g_TF|| / ||lr*f*g_TF|| < 3 % on the updated channels;
  * int32 biases: |error| <= max(1, 1e-5 * |step|) for every channel;
  * channels the scheme does not select stay byte-identical.
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


import numpy as np
import pytest

import tflm_train
import tflm_train.data
from tflm_train.converter.graph import build_graph
from tflm_train.converter.tflite_io import read_model
from tflm_train.data import DEMO_MODEL

from . import model_factory as mf

DEMO = DEMO_MODEL
TARGET_STEP = 40.0   # quanta of the largest weight step of the layer under test
CLAMP = 0.05         # SparseUpdate.qas_clamp default


@pytest.fixture(scope="module")
def demo_model() -> bytes:
    return DEMO.read_bytes()


@pytest.fixture(scope="module")
def digit_sample():
    x, y = tflm_train.data.load_sklearn_digits()
    return x[:8], y[:8]


# -- reference ---------------------------------------------------------------------------------

def runtime_activations(model: bytes, xq: np.ndarray) -> dict[int, np.ndarray]:
    """Every non-constant tensor's int8 value after one inference in the TFLM wheel."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(
        bytes(model), intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    interp.set_input(np.asarray(xq, np.int8).reshape((1,) + xq.shape[-3:] if xq.ndim >= 3
                                                     else (1, -1)), 0)
    interp.invoke()
    g = build_graph(read_model(model))
    acts = {}
    for t in g.tensors:
        if not t.is_constant:
            acts[t.index] = np.asarray(interp.GetTensor(t.index, 0)["tensor_data"]).reshape(t.shape)
    return acts


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x.astype(np.float64) - x.max())
    return e / e.sum()


def _deq(t, q):
    return (q.astype(np.float64) - float(t.zero_point[0])) * float(t.scale[0])


def _real_operand(graph, acts, t):
    """An element-wise op's operand as real values: its runtime activation, or its constant."""
    tensor = graph.tensors[t]
    q = np.asarray(tensor.data) if tensor.is_constant else acts[t]
    return _deq(tensor, q).reshape(tensor.shape)


def _weights_real(t):
    """Dequantised per-channel (or per-tensor) symmetric weights/biases, TFLite layout."""
    s = t.scale.astype(np.float64)
    axis = t.quantized_dimension
    shape = [1] * t.data.ndim
    shape[axis] = -1
    return t.data.astype(np.float64) * (s.reshape(shape) if s.size > 1 else s[0])


def _mask(graph, op, q_out):
    """Exclusive int8 pass band of a fused activation (or a standalone RELU), from its real
    bounds."""
    act = "RELU" if op.kind == "RELU" else op.activation
    if act == "NONE":
        return np.ones(q_out.shape, bool)
    out = graph.tensors[op.outputs[0]]
    s, zp = float(out.scale[0]), int(out.zero_point[0])
    lo_r, hi_r = {"RELU": (0.0, None), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}[act]
    lo = max(-128, zp + int(np.round(lo_r / s)))
    hi = 128 if hi_r is None else min(127, zp + int(np.round(hi_r / s)))
    return (q_out > lo) & (q_out < hi)


def reference_gradients(model: bytes, xq: np.ndarray, label: int, output_grad=None):
    """{op index: (grad of weights in TFLite layout, grad of bias)} of the CE loss, or of the
    loss whose gradient w.r.t. the real model output is `output_grad` (e.g. MSE).

    Tensors read by several ops get the sum of their consumers' gradients; ADD passes its
    output gradient to both inputs."""
    import tensorflow as tf

    graph = build_graph(read_model(model))
    acts = runtime_activations(model, xq)
    out_t = graph.tensors[graph.outputs[0]]
    last = graph.producer(graph.outputs[0])
    q_out = acts[graph.outputs[0]].reshape(-1)
    onehot = np.eye(q_out.size)[label]
    grad: dict[int, np.ndarray] = {}
    if output_grad is not None:
        grad[graph.outputs[0]] = np.asarray(output_grad, np.float64).reshape(out_t.shape)
        skip = set()
    elif last.kind == "SOFTMAX":  # the softmax of the int8 logits it reads, its beta applied
        logits = graph.tensors[last.inputs[0]]
        beta = float(last.options.get("beta", 1.0))
        grad[last.inputs[0]] = (beta * (_softmax(beta * _deq(logits, acts[last.inputs[0]])
                                                 .reshape(-1)) - onehot)).reshape(logits.shape)
        skip = {last.index}
    else:
        grad[graph.outputs[0]] = (_softmax(_deq(out_t, q_out)) - onehot).reshape(out_t.shape)
        skip = set()

    result = {}
    for op in reversed(graph.ops):
        if op.index in skip or op.outputs[0] not in grad:
            continue
        g_out = grad[op.outputs[0]] * _mask(graph, op, acts[op.outputs[0]])
        t_in = graph.tensors[op.inputs[0]]

        def give(t, g):
            grad[t] = grad.get(t, 0) + np.asarray(g, np.float64).reshape(graph.tensors[t].shape)

        if op.kind == "ADD":
            give(op.inputs[0], g_out)
            give(op.inputs[1], g_out)
            continue
        if op.kind == "CONCATENATION":
            axis = op.options.get("axis", -1) % g_out.ndim
            sizes = [graph.tensors[t].shape[axis] for t in op.inputs]
            for t, part in zip(op.inputs, np.split(g_out, np.cumsum(sizes)[:-1], axis=axis)):
                give(t, part)
            continue
        if op.kind in ("MUL", "SUB"):  # TF reduces over the broadcast axes itself
            a, b = (tf.constant(_real_operand(graph, acts, t), tf.float32) for t in op.inputs[:2])
            with tf.GradientTape(persistent=True) as tape:
                tape.watch([a, b])
                y = a * b if op.kind == "MUL" else a - b
            for t, gt in zip(op.inputs[:2], tape.gradient(
                    y, [a, b], output_gradients=tf.constant(g_out.reshape(y.shape), tf.float32))):
                if not graph.tensors[t].is_constant:
                    give(t, gt.numpy())
            continue
        x = tf.constant(_deq(t_in, acts[op.inputs[0]]).reshape(t_in.shape), tf.float32)
        o = op.options
        if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            wt = graph.tensors[op.inputs[1]]
            w = tf.Variable(_weights_real(wt), dtype=tf.float32)
            has_b = len(op.inputs) > 2 and op.inputs[2] >= 0
            bt = graph.tensors[op.inputs[2]] if has_b else None
            b = tf.Variable(_weights_real(bt) if has_b else np.zeros(1), dtype=tf.float32)
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(x)
                if op.kind == "CONV_2D":
                    y = tf.nn.conv2d(x, tf.transpose(w, (1, 2, 3, 0)),
                                     strides=[1, o["stride_h"], o["stride_w"], 1],
                                     padding=o["padding"],
                                     dilations=[1, o["dilation_h"], o["dilation_w"], 1])
                elif op.kind == "DEPTHWISE_CONV_2D":
                    cin = t_in.shape[-1]
                    _, kh, kw, cout = wt.shape
                    y = tf.nn.depthwise_conv2d(
                        x, tf.reshape(w, (kh, kw, cin, cout // cin)),
                        strides=[1, o["stride_h"], o["stride_w"], 1], padding=o["padding"],
                        dilations=[o["dilation_h"], o["dilation_w"]])
                else:
                    y = tf.matmul(tf.reshape(x, (-1, wt.shape[1])), w, transpose_b=True)
                if has_b:
                    y = y + b
                y = tf.reshape(y, g_out.shape)
            gx, gw, gb = tape.gradient(y, [x, w, b],
                                       output_gradients=tf.constant(g_out, tf.float32))
            result[op.index] = (gw.numpy().astype(np.float64),
                                gb.numpy().astype(np.float64) if has_b else None)
        elif op.kind in ("MEAN", "AVERAGE_POOL_2D", "MAX_POOL_2D", "PAD", "RESHAPE",
                         "SQUEEZE", "EXPAND_DIMS", "QUANTIZE", "RELU"):  # RELU: masked above
            with tf.GradientTape() as tape:
                tape.watch(x)
                if op.kind == "MEAN":
                    axes = [int(a) for a in np.asarray(graph.tensors[op.inputs[1]].data)
                            .reshape(-1)]
                    y = tf.reduce_mean(x, axis=axes)
                elif op.kind == "AVERAGE_POOL_2D":
                    y = tf.nn.avg_pool2d(x, (o["filter_h"], o["filter_w"]),
                                         (o["stride_h"], o["stride_w"]), o["padding"])
                elif op.kind == "MAX_POOL_2D":
                    y = tf.nn.max_pool2d(x, (o["filter_h"], o["filter_w"]),
                                         (o["stride_h"], o["stride_w"]), o["padding"])
                elif op.kind == "PAD":
                    pads = np.asarray(graph.tensors[op.inputs[1]].data).reshape(-1, 2)
                    y = tf.pad(x, pads.tolist())
                else:
                    y = tf.identity(x)
                y = tf.reshape(y, g_out.shape)
            gx = tape.gradient(y, x, output_gradients=tf.constant(g_out, tf.float32))
        elif op.kind in ("HARD_SWISH", "LOGISTIC", "LEAKY_RELU", "TRANSPOSE"):
            with tf.GradientTape() as tape:
                tape.watch(x)
                if op.kind == "HARD_SWISH":
                    y = x * tf.nn.relu6(x + 3.0) / 6.0
                elif op.kind == "LOGISTIC":
                    y = tf.math.sigmoid(x)
                elif op.kind == "LEAKY_RELU":
                    # graph.py keeps no alpha (the runtime reads it from the options)
                    alpha = read_model(model).subgraphs[0].operators[op.index].builtinOptions.alpha
                    y = tf.nn.leaky_relu(x, alpha=float(np.float32(alpha)))
                else:
                    y = tf.transpose(x, np.asarray(graph.tensors[op.inputs[1]].data).reshape(-1))
            gx = tape.gradient(y, x, output_gradients=tf.constant(g_out.reshape(y.shape),
                                                                  tf.float32))
        else:
            raise AssertionError(f"no reference backward for {op.kind}")
        give(op.inputs[0], gx.numpy())
    return graph, result


def factors(scales: np.ndarray, channels: int, qas: bool) -> np.ndarray:
    s = np.broadcast_to(np.asarray(scales, np.float64), (channels,))
    if not qas:
        return s.copy()
    return 1.0 / np.maximum(s, CLAMP * np.median(s))


def round_half_away(v):
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


# -- one step, compared ----------------------------------------------------------------------

def channel_axis(kind: str) -> int:
    return 3 if kind == "DEPTHWISE_CONV_2D" else 0


def run_check(model: bytes, xq: np.ndarray, label: int, scheme: tflm_train.SparseUpdate,
              layers: dict[int, int], *, lr: float | None = None, which: str = "weights",
              reference=None, extended: bytes | None = None):
    """layers: {trainable-layer position: updated weight channels (0: bias only)}.

    Picks lr (unless given) so the largest step among the updated elements is TARGET_STEP
    quanta, runs one train_step and checks every trained tensor. Returns per-layer stats.
    `reference` (reference_gradients' result) and `extended` (the converted model) may be
    given when one large model is checked layer by layer."""
    graph, ref = reference or reference_gradients(model, xq, label)
    trainable = graph.trainable_ops()
    ideal_unit = {}     # layer -> (weight step per unit lr, bias step per unit lr)
    for pos, k in layers.items():
        op = trainable[pos]
        wt = graph.tensors[op.inputs[1]]
        ax = channel_axis(op.kind)
        cout = wt.shape[ax]
        gw, gb = ref[op.index]
        shape = [1] * gw.ndim
        shape[ax] = -1
        fw = factors(wt.scale, cout, scheme.qas).reshape(shape)
        sw = fw * gw
        sb = None
        if gb is not None:
            bt = graph.tensors[op.inputs[2]]
            sb = factors(bt.scale, cout, scheme.qas) * gb
        ideal_unit[pos] = (sw, sb)
    if lr is None:
        if which == "weights":
            peak = max(np.abs(np.take(sw, range(k), axis=channel_axis(trainable[p].kind))).max()
                       for p, k in layers.items() if k for sw in [ideal_unit[p][0]])
        else:
            peak = min(np.abs(ideal_unit[p][1]).max() for p in layers)
        lr = TARGET_STEP / peak if which == "weights" else 1000.0 / peak

    ext = extended or tflm_train.convert(model, scheme)
    tr = tflm_train.Trainer(ext, learning_rate=lr, seed=0, rounding="nearest")
    tr.train_step(xq[None], label)
    after = tr.trained_tensors()
    stats = {}
    for pos, k in layers.items():
        op = trainable[pos]
        wt = graph.tensors[op.inputs[1]]
        ax = channel_axis(op.kind)
        sw, sb = ideal_unit[pos]
        sw32 = np.float32(lr) * sw
        if k:
            w_after = np.frombuffer(after[op.inputs[1]], np.int8).reshape(wt.shape)
            w0 = wt.data.astype(np.int64)
            expected = np.clip(w0 - round_half_away(sw32), -128, 127)
            sel = np.take(np.arange(wt.shape[ax]), range(k))
            upd_after = np.take(w_after, sel, axis=ax).astype(np.int64)
            upd_exp = np.take(expected, sel, axis=ax)
            err = np.abs(upd_after - upd_exp)
            frac = float(np.mean(err <= 1))
            assert frac >= 0.98, f"layer {pos}: only {frac:.3%} of weights exact-or-+-1"
            assert err.max() <= 2, f"layer {pos}: a weight is off by {err.max()} quanta"
            exact = float(np.mean(err == 0))
            assert exact >= 0.95, f"layer {pos}: only {exact:.3%} of the weights exact"
            ideal = np.take(sw32, sel, axis=ax)
            obs = np.take(w0, sel, axis=ax) - upd_after
            unsat = np.abs(np.take(w0, sel, axis=ax) - ideal) < 127.5  # not saturated
            rel = rel_round = 0.0
            norm = np.linalg.norm(ideal[unsat])
            if norm > 0:  # (tiny layers can have every element saturated: checked above)
                rel = np.linalg.norm((obs - ideal)[unsat]) / norm
                # the unavoidable part: rounding each step to an integer
                rel_round = np.linalg.norm((round_half_away(ideal) - ideal)[unsat]) / norm
                assert rel < rel_round + 0.01, \
                    f"layer {pos}: relative L2 error {rel:.3%} (rounding alone: {rel_round:.3%})"
            rest = np.take(np.arange(wt.shape[ax]), range(k, wt.shape[ax]))
            assert np.array_equal(np.take(w_after, rest, axis=ax), np.take(wt.data, rest, axis=ax)), \
                f"layer {pos}: channels {k}.. outside the ratio changed"
            assert np.abs(ideal).max() >= 5, "steps too small to test anything"
            stats[pos] = {"exact": exact, "pm1": frac, "rel": float(rel),
                          "rel_round": float(rel_round), "max_step": float(np.abs(ideal).max())}
        elif op.inputs[1] in after:
            # bias-only layer: its weights are held in the arena but must not move
            assert after[op.inputs[1]] == wt.data.tobytes(), f"layer {pos}: weights moved"
        if sb is not None:
            bt = graph.tensors[op.inputs[2]]
            b_after = np.frombuffer(after[op.inputs[2]], np.int32).astype(np.int64)
            step = np.float32(lr) * sb
            expected = bt.data.astype(np.int64) - round_half_away(step).astype(np.int64)
            err = np.abs(b_after - expected)
            tol = np.maximum(1, 1e-5 * np.abs(step))
            assert np.all(err <= tol), \
                f"layer {pos}: bias errors {err[err > tol]} for steps {step[err > tol]}"
            if which == "bias":
                assert np.abs(step).max() >= 5, "bias steps too small to test anything"
    return lr, stats


def _sample(digit_sample, i=0):
    x, y = digit_sample
    xq = np.clip(np.round(x[i] * 255) - 128, -128, 127).astype(np.int8)
    return xq, int(y[i])


# -- demo model: layer by layer -------------------------------------------------------------------
# trainable layers of the demo: 0 conv1 (8 ch), 1 dw2 (8 ch), 2 pw3 (16), 3 conv4 (16, below
# MEAN), 4 FC (10)

@pytest.mark.parametrize("qas", [True, False], ids=["qas", "no_qas"])
def test_last_fc_layer(demo_model, digit_sample, qas):
    xq, label = _sample(digit_sample)
    run_check(demo_model, xq, label, tflm_train.SparseUpdate(n_bias=1, weights={-1: 1.0}, qas=qas),
              {4: 10})


@pytest.mark.parametrize("qas", [True, False], ids=["qas", "no_qas"])
def test_conv_below_mean(demo_model, digit_sample, qas):
    xq, label = _sample(digit_sample, 1)
    run_check(demo_model, xq, label, tflm_train.SparseUpdate(n_bias=0, weights={3: 1.0}, qas=qas),
              {3: 16})


def test_depthwise_layer(demo_model, digit_sample):
    xq, label = _sample(digit_sample, 2)
    run_check(demo_model, xq, label, tflm_train.SparseUpdate(n_bias=0, weights={1: 1.0}), {1: 8})


@pytest.mark.parametrize("pos,ratio,k", [(0, 0.25, 2), (1, 0.5, 4), (1, 0.25, 2), (2, 0.125, 2),
                                         (3, 0.5, 8), (4, 0.5, 5)])
def test_partial_channel_ratio(demo_model, digit_sample, pos, ratio, k):
    """Only the first k output channels' weights move; the others stay byte-identical (the
    depthwise at 2 of 8: 4 channels in SRAM, the kernels' multiple of 4, 2 of them frozen)."""
    xq, label = _sample(digit_sample, 3)
    run_check(demo_model, xq, label, tflm_train.SparseUpdate(n_bias=0, weights={pos: ratio}),
              {pos: k})


def test_bias_only_all_layers(demo_model, digit_sample):
    xq, label = _sample(digit_sample, 4)
    run_check(demo_model, xq, label, tflm_train.SparseUpdate(n_bias=5),
              {p: 0 for p in range(5)}, which="bias")


def test_all_layers_one_step(demo_model, digit_sample):
    """Everything trained at once: each layer's update uses the pre-step weights downstream
    (input gradients are taken before the in-place updates)."""
    xq, label = _sample(digit_sample, 5)
    # lr from the layer with the largest steps (the others get smaller, still checked to +-1)
    graph, ref = reference_gradients(demo_model, xq, label)
    scheme = tflm_train.SparseUpdate(n_bias=5, weights={p: 1.0 for p in range(5)})
    layers = {p: (8, 8, 16, 16, 10)[p] for p in range(5)}
    peak = []
    for p in layers:
        op = graph.trainable_ops()[p]
        wt = graph.tensors[op.inputs[1]]
        shape = [1] * wt.data.ndim
        shape[channel_axis(op.kind)] = -1
        peak.append(np.abs(factors(wt.scale, layers[p], True).reshape(shape)
                           * ref[op.index][0]).max())
    lr = TARGET_STEP / max(peak)
    # every layer's step is at least ~5 quanta at this lr, or the check would be vacuous
    strong = {p: k for p, k in layers.items() if TARGET_STEP * peak[p] / max(peak) >= 8}
    assert len(strong) >= 3, peak
    # all five layers train; those whose steps are big enough to be meaningful are checked
    run_check(demo_model, xq, label, scheme, strong, lr=lr)


def test_qas_factor_scales_steps(demo_model, digit_sample):
    """QAS vs no-QAS: with the same lr the steps differ per channel by 1/s^2 (f = 1/s vs s)."""
    xq, label = _sample(digit_sample, 6)
    lr_q, _ = run_check(demo_model, xq, label,
                        tflm_train.SparseUpdate(n_bias=0, weights={-1: 1.0}, qas=True), {4: 10})
    lr_n, _ = run_check(demo_model, xq, label,
                        tflm_train.SparseUpdate(n_bias=0, weights={-1: 1.0}, qas=False), {4: 10})
    graph = build_graph(read_model(demo_model))
    s = graph.tensors[graph.trainable_ops()[4].inputs[1]].scale.astype(np.float64)
    # the same 40-quanta peak needs lr ratio ~ median 1/s^2 (exact up to which channel peaks)
    ratio = lr_n / lr_q
    assert (1 / s.max() ** 2) * 0.99 <= ratio <= (1 / s.min() ** 2) * 1.01


# -- random models -----------------------------------------------------------------------------

def _random_case(seed):
    spec, model = mf.random_model(seed)
    graph = build_graph(read_model(model))
    trainable = graph.trainable_ops()
    rng = np.random.default_rng(seed)
    xq = mf.random_inputs(model, 1, seed)[0]
    label = int(rng.integers(0, spec["classes"]))
    return spec, model, graph, trainable, xq, label


def _random_check(seed):
    spec, model, graph, trainable, xq, label = _random_case(seed)
    for pos, op in enumerate(trainable):
        wt = graph.tensors[op.inputs[1]]
        cout = wt.shape[channel_axis(op.kind)]
        _, ref = reference_gradients(model, xq, label)
        gw = ref.get(op.index, (None,))[0]
        if gw is None or np.abs(gw).max() == 0:
            continue  # dead layer for this input (e.g. all-masked ReLU): nothing to compare
        try:
            run_check(model, xq, label, tflm_train.SparseUpdate(n_bias=0, weights={pos: 1.0}),
                      {pos: cout})
        except AssertionError as e:
            raise AssertionError(f"seed {seed}, layer {pos} ({op.kind}), spec {spec}: {e}") from e


@pytest.mark.parametrize("seed", [1, 7, 11, 100])
def test_random_models(seed):
    _random_check(seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(200, 230))
def test_random_models_slow(seed):
    _random_check(seed)
