"""Forward parity of the element-wise and activation ops (MUL, SUB, MAXIMUM, MINIMUM,
HARD_SWISH, LOGISTIC, TANH, RELU, RELU6, LEAKY_RELU, PRELU): int8 models made by TensorFlow here,
converted with tflm_train.convert, inferred by Trainer.predict and compared byte for byte with
the tflite-micro wheel (TFLM's reference kernels).

Every unary case feeds all 256 int8 values, so a test covers the whole input domain of its
quantisation parameters. Edge parameters (extreme scales and zero points) are written into the
converted flatbuffer; where the wheel refuses such a model, the converter must refuse it too.
Two-operand ops get their second operand from a constant (broadcast shapes of every rank TFLM
allows, either operand order) or from the input itself (x * x, x - mean(x), squeeze-excite).
Seeds are in the parameter ids and the failure messages."""
from __future__ import annotations

import os
import random
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

import tflm_train
from tflm_train import SparseUpdate, Trainer
from tflm_train.binding import NativeSession

from . import model_factory as mf
from .kernels.helpers import seeds

tf = pytest.importorskip("tensorflow")
from tests import tflite_single_op as tso  # noqa: E402

REFUSED = (tflm_train.ConversionError,)


# -- running ---------------------------------------------------------------------------------

def _convert(fn, shape, in_range, seed=0) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tso.convert(tf.autograph.experimental.do_not_convert(fn), [shape], [in_range],
                           seed=seed)


def _inputs(shape, seed) -> np.ndarray:
    """Random int8 samples whose first 256 values are every int8 value."""
    x = np.random.default_rng(seed).integers(-128, 128, size=shape, dtype=np.int8)
    flat = x.reshape(-1)
    n = min(256, flat.size)
    flat[:n] = np.arange(-128, 128, dtype=np.int8)[:n]
    return x


def _wheel(buf: bytes, x: np.ndarray) -> np.ndarray | None:
    """The wheel's output, or None when it refuses the model."""
    try:
        return tso.run_tflm(buf, [x])
    except RuntimeError:
        return None


def _ours(buf: bytes, x: np.ndarray) -> np.ndarray:
    return NativeSession(tflm_train.convert(buf, SparseUpdate(inference_only=True))).invoke(x)


def check_parity(buf: bytes, x: np.ndarray, what: str) -> None:
    ref = _wheel(buf, x)
    if ref is None:
        with pytest.raises(REFUSED):
            tflm_train.convert(buf, SparseUpdate(inference_only=True))
        return
    ours = np.asarray(_ours(buf, x)).reshape(-1)
    ref = np.asarray(ref).reshape(-1)
    bad = np.nonzero(ours != ref)[0]
    assert bad.size == 0, (f"{what}: {bad.size}/{ref.size} bytes differ, first at {bad[0]}: "
                           f"input {x.reshape(-1)[bad[0] % x.size]} ours {ours[bad[0]]} "
                           f"wheel {ref[bad[0]]}")


def _op_index(model, name: str) -> int:
    ops = model.subgraphs[0].operators
    names = [tso.BUILTIN_NAMES[max(model.operatorCodes[o.opcodeIndex].builtinCode,
                                   model.operatorCodes[o.opcodeIndex].deprecatedBuiltinCode)]
             for o in ops]
    return names.index(name)


def with_quant(buf: bytes, op_name: str, **roles) -> bytes:
    """The model with new (scale, zero point) pairs on op_name's operands: input0=, input1=,
    output=."""
    m = tso.read_model(buf)
    sg = m.subgraphs[0]
    op = sg.operators[_op_index(m, op_name)]
    for role, (scale, zp) in roles.items():
        t = op.outputs[0] if role == "output" else op.inputs[int(role[-1])]
        q = sg.tensors[t].quantization
        q.scale = [float(scale)]
        q.zeroPoint = [int(zp)]
    return tso.write_model(m)


# -- unary ops -------------------------------------------------------------------------------

UNARY = {
    "HARD_SWISH": lambda x: x * tf.nn.relu6(x + 3.0) / 6.0,
    "LOGISTIC": tf.math.sigmoid,
    "TANH": tf.math.tanh,
    "RELU": tf.nn.relu,
    "RELU6": tf.nn.relu6,
    "LEAKY_RELU": lambda x: tf.nn.leaky_relu(x, 0.2),
}


def _random_range(rng: random.Random):
    lo = -rng.choice([0.05, 0.5, 2.0, 6.0, 30.0]) * rng.uniform(0.2, 1.0)
    hi = rng.choice([0.05, 0.5, 2.0, 6.0, 30.0]) * rng.uniform(0.2, 1.0)
    if rng.random() < 0.2:
        lo = rng.uniform(0.0, 1.0)  # an all-positive range: zero point -128
        hi = lo + rng.uniform(0.1, 8.0)
    return (lo, hi)


@pytest.mark.parametrize("seed", seeds(100, range(3), range(3, 12)))
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_matches_wheel(name, seed):
    rng = random.Random(seed)
    shape = rng.choice([(1, 256), (1, 4, 8, 8), (2, 5, 3, 7), (300,)])
    in_range = _random_range(rng)
    fn = UNARY[name]
    if name == "LEAKY_RELU":
        alpha = rng.choice([0.01, 0.1, 0.3, 0.9, 2.5])
        fn = lambda x, a=alpha: tf.nn.leaky_relu(x, a)  # noqa: E731
    buf = _convert(fn, shape, in_range, seed=seed)
    assert mf.op_names(buf) == [name]
    check_parity(buf, _inputs(shape, seed), f"{name} seed={seed} range={in_range}")


SCALES = (2.0 ** -20, 1e-4, 0.0039, 3.0 / 256.0, 0.0118, 0.05, 0.7, 6.0, 100.0, 5e3)
ZERO_POINTS = (-128, -3, 0, 127)


def _edge_cases(name: str, fast: bool):
    cases = []
    rng = random.Random(name)
    for s_in in SCALES:
        for zp_in in ZERO_POINTS:
            s_out = rng.choice(SCALES)
            zp_out = -128 if name == "LOGISTIC" else rng.choice(ZERO_POINTS)
            cases.append((s_in, zp_in, s_out, zp_out))
    return cases[::7] if fast else cases


@pytest.mark.parametrize("fast", [True, pytest.param(False, marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_edge_quantisation(name, fast):
    """Input and output parameters far from what calibration gives; cases the wheel refuses
    (HARD_SWISH with an output scale below input / 128) must be refused by the converter."""
    buf = _convert(UNARY[name], (1, 256), (-4.0, 4.0))
    x = _inputs((1, 256), 0)
    for s_in, zp_in, s_out, zp_out in _edge_cases(name, fast):
        edited = with_quant(buf, name, input0=(s_in, zp_in), output=(s_out, zp_out))
        check_parity(edited, x, f"{name} input {s_in}/{zp_in} output {s_out}/{zp_out}")


@pytest.mark.parametrize("alpha", [0.0, -0.5, 1.5, 1e-6, 40.0])
def test_leaky_relu_alpha_edges(alpha):
    buf = _convert(lambda x: tf.nn.leaky_relu(x, 0.2), (1, 256), (-3.0, 3.0))
    m = tso.read_model(buf)
    m.subgraphs[0].operators[0].builtinOptions.alpha = alpha
    check_parity(tso.write_model(m), _inputs((1, 256), 1), f"LEAKY_RELU alpha={alpha}")


def test_logistic_needs_output_zero_point_minus_128():
    buf = with_quant(_convert(tf.math.sigmoid, (1, 16), (-4.0, 4.0)), "LOGISTIC",
                     output=(1 / 256, 0))
    assert _wheel(buf, _inputs((1, 16), 0)) is None
    with pytest.raises(tflm_train.InvalidModelError, match=r"LOGISTIC.*zero point 0.*-128"):
        tflm_train.convert(buf, SparseUpdate(inference_only=True))


def test_hard_swish_output_scale_below_input_over_128_is_refused():
    buf = with_quant(_convert(UNARY["HARD_SWISH"], (1, 16), (-4.0, 4.0)), "HARD_SWISH",
                     input0=(1.0, 0), output=(1.0 / 512, 0))
    assert _wheel(buf, _inputs((1, 16), 0)) is None
    with pytest.raises(tflm_train.UnsupportedOpError, match=r"HARD_SWISH.*output scale"):
        tflm_train.convert(buf, SparseUpdate(inference_only=True))


@pytest.mark.parametrize("name,scale", [("LOGISTIC", 1e-10), ("TANH", 1e-10), ("TANH", 1e12),
                                        ("RELU6", 1e-12), ("HARD_SWISH", 3e38)])
def test_scales_where_tflm_is_undefined_are_refused(name, scale):
    """TFLM shifts by a negative amount (LOGISTIC/TANH input radius) or converts an out-of-range
    float to int (RELU6's quantised 6, HARD_SWISH's overflowing float multiplier) there: its
    bytes depend on the compiler, so we refuse rather than guess."""
    buf = with_quant(_convert(UNARY[name], (1, 16), (-4.0, 4.0)), name, input0=(scale, 0))
    with pytest.raises(tflm_train.UnsupportedOpError, match=name):
        tflm_train.convert(buf, SparseUpdate(inference_only=True))


def test_leaky_relu_overflowing_multiplier_is_refused():
    buf = with_quant(_convert(UNARY["LEAKY_RELU"], (1, 16), (-4.0, 4.0)), "LEAKY_RELU",
                     input0=(10.0, 0))
    m = tso.read_model(buf)
    m.subgraphs[0].operators[0].builtinOptions.alpha = 1e38
    with pytest.raises(tflm_train.UnsupportedOpError, match="LEAKY_RELU.*overflows"):
        tflm_train.convert(tso.write_model(m), SparseUpdate(inference_only=True))


# -- two-operand ops -------------------------------------------------------------------------

BINARY = {
    "MUL": lambda a, b: a * b,
    "SUB": lambda a, b: a - b,
    "MAXIMUM": tf.maximum,
    "MINIMUM": tf.minimum,
}
ACTIVATIONS = {"none": lambda v: v, "relu": tf.nn.relu, "relu6": tf.nn.relu6}


def _broadcast_pair(rng: random.Random, rank: int):
    out = [rng.randint(1, 4) for _ in range(rank)]
    const = [d if rng.random() < 0.5 else 1 for d in out]
    const = const[rng.randint(0, rank - 1):]  # sometimes of lower rank
    return tuple(out), tuple(const)


@pytest.mark.parametrize("seed", seeds(200, range(4), range(4, 16)))
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_with_constant_matches_wheel(name, seed):
    rng = random.Random(seed)
    max_rank = 5 if name in ("MAXIMUM", "MINIMUM") else 6
    shape, const_shape = _broadcast_pair(rng, rng.randint(1, max_rank))
    if rng.random() < 0.3:
        const_shape = shape
    const = np.random.default_rng(seed).uniform(-3, 3, const_shape).astype(np.float32)
    op, act = BINARY[name], ACTIVATIONS["none"]
    if name in ("MUL", "SUB"):
        act = ACTIVATIONS[rng.choice(list(ACTIVATIONS))]
    if rng.random() < 0.5:
        fn = lambda x: act(op(x, const))  # noqa: E731
    else:
        fn = lambda x: act(op(const, x))  # noqa: E731
    buf = _convert(fn, shape, _random_range(rng), seed=seed)
    assert name in mf.op_names(buf), mf.op_names(buf)
    check_parity(buf, _inputs(shape, seed), f"{name} seed={seed} {shape} with {const_shape}")


@pytest.mark.parametrize("name", ["MUL", "SUB"])
@pytest.mark.parametrize("form", ["square", "mean", "squeeze_excite"])
def test_binary_on_the_input_itself(name, form):
    shape = (1, 5, 6, 8)
    op = BINARY[name]
    if form == "square":  # x - x would have an all-zero (degenerate) output range
        fn = (lambda x: x * x) if name == "MUL" else (lambda x: x - tf.nn.relu(x))
    elif form == "mean":
        fn = lambda x: op(x, tf.reduce_mean(x, axis=[1, 2], keepdims=True))  # noqa: E731
    else:
        def fn(x):
            return op(x, tf.math.sigmoid(tf.reduce_mean(x, axis=[1, 2], keepdims=True)))
    buf = _convert(fn, shape, (-2.0, 3.0))
    assert name in mf.op_names(buf), mf.op_names(buf)
    check_parity(buf, _inputs(shape, 3), f"{name} {form}")


@pytest.mark.parametrize("fast", [True, pytest.param(False, marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_edge_quantisation(name, fast):
    """Extreme scales and zero points on both operands and the output (the constant operand's
    int8 values stay, its meaning changes); SUB refuses output scales TFLM refuses."""
    const = np.linspace(-2, 2, 8, dtype=np.float32)
    buf = _convert(lambda x: BINARY[name](x, const), (1, 4, 8), (-3.0, 3.0))
    x = _inputs((1, 4, 8), 5)
    rng = random.Random(name)
    cases = [(s, zp) for s in SCALES for zp in ZERO_POINTS]
    for s1, zp1 in (cases[::5] if fast else cases):
        s2, zp2 = rng.choice(SCALES), rng.choice(ZERO_POINTS)
        so, zpo = rng.choice(SCALES), rng.choice(ZERO_POINTS)
        edited = with_quant(buf, name, input0=(s1, zp1), input1=(s2, zp2), output=(so, zpo))
        what = f"{name} inputs {s1}/{zp1}, {s2}/{zp2} output {so}/{zpo}"
        if name == "SUB" and _sub_output_multiplier(s1, s2, so) >= 0.999:
            # The wheel aborts the process there (a failed TFLITE_CHECK), so it is not run.
            if _sub_output_multiplier(s1, s2, so) >= 1.001:
                with pytest.raises(tflm_train.UnsupportedOpError, match="SUB.*too small"):
                    tflm_train.convert(edited, SparseUpdate(inference_only=True))
            continue
        check_parity(edited, x, what)


def _sub_output_multiplier(s1: float, s2: float, so: float) -> float:
    """TFLM's (and ADD's) output rescaling factor, which must be below 1."""
    return 2 * max(np.float32(s1), np.float32(s2)) / (2.0 ** 20 * np.float32(so))


def test_maximum_broadcast_past_five_dimensions_is_refused():
    """TFLM's MAXIMUM/MINIMUM broadcast indexes 5-D shapes; a 6-D broadcast (which TensorFlow
    writes as BROADCAST_TO first, so the model is edited here) is refused by name."""
    buf = _convert(lambda x: tf.maximum(x, np.ones((1, 1, 1, 1, 3), np.float32)),
                   (2, 1, 2, 1, 3), (-1.0, 1.0))
    assert mf.op_names(buf) == ["MAXIMUM"]
    m = tso.read_model(buf)
    sg = m.subgraphs[0]
    op = sg.operators[0]
    for t in [*op.inputs, *op.outputs]:
        six_d = [1, 2, 1, 2, 1, 3] if np.prod(sg.tensors[t].shape) == 12 else [1, 1, 1, 1, 1, 3]
        sg.tensors[t].shape = np.array(six_d, np.int32)
    with pytest.raises(tflm_train.UnsupportedOpError, match=r"MAXIMUM.*more than 5 dimensions"):
        tflm_train.convert(tso.write_model(m), SparseUpdate(inference_only=True))


def test_broadcast_shapes_that_do_not_match_are_refused():
    const = np.array([[[0.5, -1.0, 2.0, 1.5]]], np.float32)
    buf = _convert(lambda x: x * const, (1, 3, 4), (-1.0, 1.0))
    m = tso.read_model(buf)
    sg = m.subgraphs[0]
    sg.tensors[sg.operators[0].outputs[0]].shape = np.array([1, 3, 5], np.int32)
    with pytest.raises(tflm_train.InvalidModelError, match=r"MUL.*output shape 1x3x5"):
        tflm_train.convert(tso.write_model(m), SparseUpdate(inference_only=True))


# -- PRELU -----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", seeds(300, range(3), range(3, 10)))
def test_prelu_matches_wheel(seed):
    rng = random.Random(seed)
    shape = (1, rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 6))
    shared = rng.choice([None, [1], [1, 2], [1, 2, 3]])
    layer = tf.keras.layers.PReLU(
        alpha_initializer=tf.keras.initializers.RandomUniform(-1.0, 2.0, seed=seed),
        shared_axes=shared)
    layer.build((None, *shape[1:]))
    buf = _convert(lambda x: layer(x), shape, _random_range(rng), seed=seed)
    assert mf.op_names(buf) == ["PRELU"]
    check_parity(buf, _inputs(shape, seed), f"PRELU seed={seed} shared={shared}")


@pytest.mark.parametrize("fast", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_prelu_edge_quantisation(fast):
    layer = tf.keras.layers.PReLU(
        alpha_initializer=tf.keras.initializers.RandomUniform(-1.0, 2.0, seed=4))
    layer.build((None, 4, 8))
    buf = _convert(lambda x: layer(x), (1, 4, 8), (-3.0, 3.0))
    x = _inputs((1, 4, 8), 6)
    rng = random.Random("prelu")
    cases = [(s, zp) for s in SCALES for zp in ZERO_POINTS]
    for s1, zp1 in (cases[::5] if fast else cases):
        sa, zpa = rng.choice(SCALES), rng.choice(ZERO_POINTS)
        so, zpo = rng.choice(SCALES), rng.choice(ZERO_POINTS)
        edited = with_quant(buf, "PRELU", input0=(s1, zp1), input1=(sa, zpa), output=(so, zpo))
        check_parity(edited, x, f"PRELU input {s1}/{zp1} alpha {sa}/{zpa} output {so}/{zpo}")


# -- in a model that trains ------------------------------------------------------------------

def _backbone_model() -> bytes:
    """Every new op before the trained layers: MobileNetV3/EfficientNet-like blocks (hard-swish,
    squeeze-excite with a logistic gate and MUL) plus the other activations and SUB, MAXIMUM,
    MINIMUM, PRELU, then a conv and a dense classifier."""
    L = tf.keras.layers
    tf.keras.utils.set_random_seed(5)
    inputs = tf.keras.Input((8, 8, 3), batch_size=1)
    x = L.Lambda(lambda t: t * tf.nn.relu6(t + 3.0) / 6.0)(inputs)
    gate = L.Lambda(lambda t: tf.math.sigmoid(tf.reduce_mean(t, axis=[1, 2], keepdims=True)))(x)
    x = L.Multiply()([x, gate])
    x = L.Lambda(lambda t: t - tf.constant([0.1, -0.2, 0.3]))(x)
    x = L.Lambda(lambda t: tf.maximum(t, -0.5))(x)
    x = L.Lambda(lambda t: tf.minimum(t, 2.0))(x)
    x = L.LeakyReLU(0.1)(L.Lambda(tf.math.tanh)(x))
    x = L.PReLU(alpha_initializer=tf.keras.initializers.Constant(0.25), shared_axes=[1, 2])(x)
    x = L.Conv2D(6, 3, padding="same", bias_initializer="random_normal")(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(4, bias_initializer="random_normal")(x)
    return mf._convert(tf.keras.Model(inputs, x), (8, 8, 3), seed=5)


@pytest.fixture(scope="module")
def backbone_model() -> bytes:
    return _backbone_model()


def test_model_with_new_ops_before_the_trained_layers(backbone_model):
    kinds = set(mf.op_names(backbone_model))
    assert {"HARD_SWISH", "LOGISTIC", "MUL", "SUB", "MAXIMUM", "MINIMUM", "TANH", "LEAKY_RELU",
            "PRELU"} <= kinds, kinds
    x = _inputs((4, 8, 8, 3), 7)
    ext = tflm_train.convert(backbone_model)  # the default scheme
    tr = Trainer(ext)
    for sample in x:
        check_parity(backbone_model, sample[None], "backbone model")
    assert np.isfinite(tr.train_step(x[0], 1))


def test_gradient_through_a_new_op_is_refused_at_convert_time():
    """An op without a backward kernel (TANH): training a layer before one is refused by name.
    (HARD_SWISH, LOGISTIC, LEAKY_RELU, MUL, SUB, TRANSPOSE have one: test_new_op_gradients.)"""
    L = tf.keras.layers
    tf.keras.utils.set_random_seed(6)
    inputs = tf.keras.Input((6, 6, 2), batch_size=1)
    x = L.Conv2D(4, 3, bias_initializer="random_normal")(inputs)
    x = L.Lambda(tf.math.tanh)(x)
    x = L.Dense(3, bias_initializer="random_normal")(L.GlobalAveragePooling2D()(x))
    model = mf._convert(tf.keras.Model(inputs, x), (6, 6, 2), seed=6)
    assert "TANH" in mf.op_names(model)
    tflm_train.convert(model, SparseUpdate(n_bias=1, weights={}))
    with pytest.raises(tflm_train.ConversionError, match="TANH"):
        tflm_train.convert(model, SparseUpdate(n_bias=2, weights={}))


def _standalone_relu_model(seed: int) -> bytes:
    """conv -> MEAN -> RELU -> FC: a RELU the TFLite converter cannot fuse into an op."""
    L = tf.keras.layers
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input((6, 6, 2), batch_size=1)
    x = L.Conv2D(6, 3, bias_initializer="random_normal")(inputs)
    x = L.ReLU()(L.GlobalAveragePooling2D()(x))
    x = L.Dense(4, bias_initializer="random_normal")(x)
    return mf._convert(tf.keras.Model(inputs, x), (6, 6, 2), seed=seed)


@pytest.mark.parametrize("seed", [0, 1, pytest.param(2, marks=pytest.mark.slow)])
def test_standalone_relu_gradient_matches_tf_autodiff(seed):
    """RELU is differentiable: its output gates the gradient as a fused RELU's does. One step
    training the conv before it, against TF autodiff (tests/test_gradients.py's method)."""
    from .test_gradients import run_check

    model = _standalone_relu_model(seed)
    assert mf.op_names(model) == ["CONV_2D", "MEAN", "RELU", "FULLY_CONNECTED"]
    xq = _inputs((6, 6, 2), 40 + seed)
    run_check(model, xq, seed % 4, SparseUpdate(n_bias=0, weights={0: 1.0}), {0: 6})
    run_check(model, xq, (seed + 1) % 4, SparseUpdate(n_bias=2, weights={}), {0: 0, 1: 0},
              which="bias")


@pytest.mark.parametrize("seed", range(4))
def test_plan_agreement_with_new_ops(backbone_model, seed):
    from .test_plan_agreement import check_plan

    check_plan(backbone_model, 900 + seed)


def test_inference_firmware_model_matches_wheel():
    """bench/firmware/infer runs this committed model on both boards and requires the host's
    bytes (bazel test --config=an386|an500 //bench/firmware/infer:infer_elementwise_ops_test);
    here the host's bytes for the firmware's inputs must equal the wheel's. (It was made by
    converting _backbone_model() with an inference-only plan; TensorFlow's bytes vary by
    machine, so it is not regenerated here.)"""
    from bench.zoo import firmware_inputs as fi

    model = (fi.INFER_MODELS / "elementwise_ops.tflite").read_bytes()
    assert {"HARD_SWISH", "LOGISTIC", "MUL", "SUB", "TANH", "PRELU"} <= set(mf.op_names(model))
    session = NativeSession(model)
    n = session.input_view().size
    for run in range(fi.INFER_RUNS):
        x = fi.fill_input(fi.INFER_SEED, run, n).reshape(1, 8, 8, 3)
        # The extended file is a stock model for the wheel (design contract 3).
        ours, ref = session.invoke(x), _wheel(model, x)
        assert ref is not None and np.array_equal(ours, np.asarray(ref).reshape(-1)), run


@pytest.mark.parametrize("seed", range(3))
def test_plan_agreement_through_a_standalone_relu(seed):
    from .test_plan_agreement import check_plan

    check_plan(_standalone_relu_model(seed), 950 + seed)
