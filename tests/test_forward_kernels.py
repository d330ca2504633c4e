"""Bit-exactness of the forward int8 kernels against the tflite-micro wheel (TFLM reference).

Each case builds a random single-op int8 model with TensorFlow, runs it in the wheel, then runs
our kernel (prepare + eval through tests/native/forward_shim.cc) on the same int8 input with the
raw float scales / zero points / options read back from the flatbuffer, and requires equality.
"""
from __future__ import annotations

import ctypes
import random

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from tests import tflite_single_op as tso  # noqa: E402
from tests.native_libs import load_shim  # noqa: E402

F, I, D, P = ctypes.c_float, ctypes.c_int32, ctypes.c_double, ctypes.c_void_p
IP = ctypes.POINTER(ctypes.c_int32)

_SIGS = {
    "fs_quantize_multiplier": [D, IP, IP],
    "fs_multiply_by_quantized_multiplier": [I, I, I],
    "fs_activation_range": [I, F, I, IP, IP],
    "fs_conv": [P, P, F, I, P, P, P, I, P, F, I, I, I, I, I, I, I, P, P],
    "fs_depthwise_conv": [P, P, F, I, P, P, P, I, P, F, I, I, I, I, I, I, I, I, P, P],
    "fs_fully_connected": [P, I, I, F, I, P, I, P, I, I, P, F, I, I, P],
    "fs_pool": [I, P, P, F, I, I, I, I, I, I, I, P, P],
    "fs_mean": [P, P, F, I, F, I, P],
    "fs_softmax": [P, I, I, F, F, P],
    "fs_add": [P, P, F, I, P, P, F, I, F, I, I, P, P],
    "fs_pad": [P, P, P, P, I, I, I, P],
    "fs_concatenation": [I, P, P, P, P, F, I, I, I, I, P],
    "fs_quantize": [P, I, F, I, P],
    "fs_requantize": [P, I, F, I, F, I, P],
    "fs_dequantize": [P, I, F, I, P],
    "fs_requantize_both": [P, P, P, P, P, P, I, P, P, P, P],
    "fs_requantize_doubled": [P, P, P, P, I, P, P, P],
}


@pytest.fixture(scope="module")
def shim():
    lib = load_shim("forward_shim")
    for name, args in _SIGS.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = ctypes.c_int if name not in ("fs_quantize_multiplier", "fs_activation_range",
                                                  "fs_requantize_both",
                                                  "fs_requantize_doubled") else None
    lib.fs_multiply_by_quantized_multiplier.restype = ctypes.c_int32
    return lib


def ptr(a):
    # data_as keeps the array alive for the duration of the call (temporaries are common here).
    return None if a is None else a.ctypes.data_as(ctypes.c_void_p)


def i32(xs):
    return np.ascontiguousarray(np.asarray(xs, dtype=np.int32))


def nhwc4(shape):
    """Extends a shape to 4-D NHWC with leading 1s."""
    shape = tuple(shape)
    return (1,) * (4 - len(shape)) + shape


def rand_int8(rng: np.random.Generator, shape):
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


def rand_range(rng: random.Random):
    lo = -rng.uniform(0.0, 4.0) if rng.random() < 0.8 else rng.uniform(0.0, 0.5)
    # Keep some positive range so fused ReLUs never see an all-zero (degenerate-scale) output.
    hi = max(lo + rng.uniform(0.05, 6.0), 0.3)
    return (lo, hi)


def act_fn(rng: random.Random):
    return rng.choice([
        lambda v: v,
        tf.nn.relu,
        tf.nn.relu6,
        lambda v: tf.clip_by_value(v, -1.0, 1.0),
    ])


def convert(fn, shapes, ranges, **kw):
    return tso.convert(tf.autograph.experimental.do_not_convert(fn), shapes, ranges, **kw)


def check_equal(ours, ref, what):
    ours = np.asarray(ours).reshape(-1)
    ref = np.asarray(ref).reshape(-1)
    bad = np.nonzero(ours != ref)[0]
    assert bad.size == 0, (f"{what}: {bad.size}/{ref.size} mismatches, first at {bad[0]}: "
                           f"ours {ours[bad[0]]} tflm {ref[bad[0]]}")


# ------------------------------------------------------------------------------ quant math

def test_quantize_multiplier_edge_cases(shim):
    def qm(x):
        m, s = ctypes.c_int32(), ctypes.c_int32()
        shim.fs_quantize_multiplier(x, ctypes.byref(m), ctypes.byref(s))
        return m.value, s.value
    assert qm(0.0) == (0, 0)
    assert qm(1.0) == (1 << 30, 1)
    assert qm(0.5) == (1 << 30, 0)
    assert qm(0.75) == (3 << 29, 0)
    # q rounds up to exactly 1.0 -> renormalised.
    assert qm(1.0 - 2.0 ** -40) == (1 << 30, 1)
    assert qm(-0.5) == (-(1 << 30), 0)
    assert qm(2.0 ** -40) == (0, 0)  # flushed to zero (shift < -31)
    assert qm(2.0 ** -31) == (1 << 30, -30)
    assert qm(2.0 ** 40) == ((1 << 31) - 1, 30)  # saturated
    # Round half away from zero in the mantissa.
    assert qm(0.5 + 2.0 ** -32) == ((1 << 30) + 1, 0)
    assert qm(0.5 + 2.0 ** -33) == (1 << 30, 0)


def test_multiply_by_quantized_multiplier(shim):
    mbqm = shim.fs_multiply_by_quantized_multiplier
    assert mbqm(100, 1 << 30, 0) == 50
    assert mbqm(3, 1 << 30, -1) == 1      # 0.75 -> 1
    assert mbqm(-3, 1 << 30, -1) == -1    # -0.75 -> -1
    assert mbqm(-2, 1 << 30, -2) == 0     # -0.25 -> 0
    assert mbqm(6, 1 << 30, -3) == 0      # 0.375 -> 0
    assert mbqm(10, 1 << 30, -3) == 1     # 0.625 -> 1
    assert mbqm(5, 1 << 30, -2) == 1      # 0.625 -> 1
    assert mbqm(-10, 1 << 30, -3) == -1   # -0.625 -> -1
    assert mbqm(-2**31, -2**31, 0) == 2**31 - 1
    assert mbqm(7, 1 << 30, 3) == 28


# ------------------------------------------------------------------------------ CONV_2D

def _conv_case(shim, seed, depthwise=False, groups=1):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    n = rng.choice([1, 1, 2])
    h, w = rng.randint(3, 10), rng.randint(3, 10)
    cin = rng.randint(1, 6)
    kh, kw = rng.randint(1, min(4, h)), rng.randint(1, min(4, w))
    padding = rng.choice(["SAME", "VALID"])
    if rng.random() < 0.3:
        dil, stride = rng.randint(2, 3), 1
    else:
        dil, stride = 1, rng.randint(1, 3)
    if padding == "VALID" and (kh - 1) * dil + 1 > h or (kw - 1) * dil + 1 > w:
        padding = "SAME"
    use_bias = rng.random() < 0.7
    act = act_fn(rng)
    if depthwise:
        dm = rng.randint(1, 3)
        wgt = nrng.normal(0, 1, (kh, kw, cin, dm)).astype(np.float32) * rng.uniform(0.1, 2)
        cout = cin * dm
    else:
        if groups > 1:
            cin = groups * rng.randint(1, 3)
            cout = groups * rng.randint(1, 3)
        else:
            cout = rng.randint(1, 8)
        wgt = (nrng.normal(0, 1, (kh, kw, cin // groups, cout)).astype(np.float32) *
               rng.uniform(0.1, 2))
    bias = nrng.normal(0, 1, (cout,)).astype(np.float32)

    def fn(x):
        if depthwise:
            y = tf.nn.depthwise_conv2d(x, wgt, [1, stride, stride, 1], padding,
                                       dilations=[dil, dil])
        else:
            y = tf.nn.conv2d(x, wgt, stride, padding, dilations=dil)
        if use_bias:
            y = y + bias
        return act(y)

    buf = convert(fn, [(n, h, w, cin)], [rand_range(rng)], seed=seed)
    op = tso.single_op(buf)
    assert op.op_name == ("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D")
    x, f = op.inputs[0], op.inputs[1]
    b = op.inputs[2] if len(op.inputs) > 2 else None
    out = op.outputs[0]
    o = op.op.builtinOptions
    inp = rand_int8(nrng, x.shape)
    ref = tso.run_tflm(buf, [inp])
    ours = np.zeros(out.shape, np.int8)
    od = np.zeros(4, np.int32)
    fscales = np.ascontiguousarray(f.scales, np.float32)
    fdata = np.ascontiguousarray(f.data)
    bdata = None if b is None or b.data is None else np.ascontiguousarray(b.data, np.int32)
    if depthwise:
        rc = shim.fs_depthwise_conv(ptr(inp), ptr(i32(x.shape)), x.scale, x.zero_point,
                                    ptr(fdata), ptr(i32(f.shape)), ptr(fscales), len(fscales),
                                    ptr(bdata), out.scale, out.zero_point, o.depthMultiplier or
                                    (f.shape[3] // x.shape[3]), o.strideH, o.strideW,
                                    o.dilationHFactor, o.dilationWFactor, o.padding,
                                    o.fusedActivationFunction, ptr(ours), ptr(od))
    else:
        rc = shim.fs_conv(ptr(inp), ptr(i32(x.shape)), x.scale, x.zero_point, ptr(fdata),
                          ptr(i32(f.shape)), ptr(fscales), len(fscales), ptr(bdata), out.scale,
                          out.zero_point, o.strideH, o.strideW, o.dilationHFactor,
                          o.dilationWFactor, o.padding, o.fusedActivationFunction, ptr(ours),
                          ptr(od))
    assert rc == 0
    assert tuple(od) == out.shape
    check_equal(ours, ref, f"conv seed={seed} dw={depthwise}")


@pytest.mark.parametrize("seed", range(12))
def test_conv(shim, seed):
    _conv_case(shim, seed)


@pytest.mark.parametrize("seed", range(4))
def test_conv_grouped(shim, seed):
    _conv_case(shim, 1500 + seed, groups=2 + seed % 2)


@pytest.mark.parametrize("seed", range(10))
def test_depthwise_conv(shim, seed):
    _conv_case(shim, 1000 + seed, depthwise=True)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 200))
def test_conv_sweep(shim, seed):
    _conv_case(shim, seed)
    _conv_case(shim, 1000 + seed, depthwise=True)


# ------------------------------------------------------------------------------ FULLY_CONNECTED

def _fc_case(shim, seed, per_channel):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    batches, depth, units = rng.randint(1, 4), rng.randint(1, 40), rng.randint(1, 20)
    wgt = (nrng.normal(0, 1, (depth, units)) * rng.uniform(0.05, 2)).astype(np.float32)
    bias = nrng.normal(0, 1, (units,)).astype(np.float32)
    use_bias = rng.random() < 0.7
    act = act_fn(rng)

    def fn(x):
        y = tf.matmul(x, wgt)
        return act(y + bias if use_bias else y)

    buf = convert(fn, [(batches, depth)], [rand_range(rng)], seed=seed,
                  per_channel_dense=per_channel)
    op = tso.single_op(buf)
    assert op.op_name == "FULLY_CONNECTED"
    x, f = op.inputs[0], op.inputs[1]
    b = op.inputs[2] if len(op.inputs) > 2 else None
    out = op.outputs[0]
    assert (len(f.scales) > 1) == (per_channel and units > 1)
    inp = rand_int8(nrng, x.shape)
    ref = tso.run_tflm(buf, [inp])
    ours = np.zeros(out.shape, np.int8)
    fscales = np.ascontiguousarray(f.scales, np.float32)
    bdata = None if b is None or b.data is None else np.ascontiguousarray(b.data, np.int32)
    rc = shim.fs_fully_connected(ptr(inp), batches, depth, x.scale, x.zero_point,
                                 ptr(np.ascontiguousarray(f.data)), units, ptr(fscales),
                                 len(fscales), int(f.zero_points[0]), ptr(bdata), out.scale,
                                 out.zero_point, op.op.builtinOptions.fusedActivationFunction,
                                 ptr(ours))
    assert rc == 0
    check_equal(ours, ref, f"fc seed={seed} per_channel={per_channel}")


@pytest.mark.parametrize("seed", range(8))
def test_fully_connected_per_channel(shim, seed):
    _fc_case(shim, 2000 + seed, True)


@pytest.mark.parametrize("seed", range(8))
def test_fully_connected_per_tensor(shim, seed):
    _fc_case(shim, 3000 + seed, False)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 160))
def test_fully_connected_sweep(shim, seed):
    _fc_case(shim, 2000 + seed, True)
    _fc_case(shim, 3000 + seed, False)


# ------------------------------------------------------------------------------ pools

def _pool_case(shim, seed, is_max):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    n, h, w, c = rng.choice([1, 2]), rng.randint(2, 10), rng.randint(2, 10), rng.randint(1, 5)
    fh, fw = rng.randint(1, min(4, h)), rng.randint(1, min(4, w))
    sh, sw = rng.randint(1, 3), rng.randint(1, 3)
    padding = rng.choice(["SAME", "VALID"])
    act = rng.choice([lambda v: v, tf.nn.relu, tf.nn.relu6])
    pool = tf.nn.max_pool2d if is_max else tf.nn.avg_pool2d
    buf = convert(lambda x: act(pool(x, [fh, fw], [sh, sw], padding)), [(n, h, w, c)],
                  [rand_range(rng)], seed=seed)
    op = tso.single_op(buf)
    assert op.op_name == ("MAX_POOL_2D" if is_max else "AVERAGE_POOL_2D")
    x, out, o = op.inputs[0], op.outputs[0], op.op.builtinOptions
    inp = rand_int8(nrng, x.shape)
    ref = tso.run_tflm(buf, [inp])
    ours = np.zeros(out.shape, np.int8)
    od = np.zeros(4, np.int32)
    rc = shim.fs_pool(int(is_max), ptr(inp), ptr(i32(x.shape)), out.scale, out.zero_point,
                      o.filterHeight, o.filterWidth, o.strideH, o.strideW, o.padding,
                      o.fusedActivationFunction, ptr(ours), ptr(od))
    assert rc == 0
    assert tuple(od) == out.shape
    check_equal(ours, ref, f"pool seed={seed} max={is_max}")


@pytest.mark.parametrize("seed", range(8))
def test_average_pool(shim, seed):
    _pool_case(shim, 4000 + seed, False)


@pytest.mark.parametrize("seed", range(6))
def test_max_pool(shim, seed):
    _pool_case(shim, 5000 + seed, True)


# ------------------------------------------------------------------------------ MEAN

def _mean_case(shim, seed, force_same_quant=False):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    n, h, w, c = rng.choice([1, 2]), rng.randint(1, 12), rng.randint(1, 12), rng.randint(1, 6)
    if h * w == 1:  # the converter folds a 1x1 keep_dims mean away
        w = 2
    keep = rng.random() < 0.5
    buf = convert(lambda x: tf.reduce_mean(x, axis=[1, 2], keepdims=keep), [(n, h, w, c)],
                  [rand_range(rng)], seed=seed)
    if force_same_quant:
        model = tso.read_model(buf)
        sg = model.subgraphs[0]
        qin = sg.tensors[sg.operators[0].inputs[0]].quantization
        qout = sg.tensors[sg.operators[0].outputs[0]].quantization
        qout.scale, qout.zeroPoint = list(qin.scale), list(qin.zeroPoint)
        buf = tso.write_model(model)
    op = tso.single_op(buf)
    assert op.op_name == "MEAN"
    x, out = op.inputs[0], op.outputs[0]
    inp = rand_int8(nrng, x.shape)
    ref = tso.run_tflm(buf, [inp])
    ours = np.zeros(out.shape, np.int8)
    rc = shim.fs_mean(ptr(inp), ptr(i32(x.shape)), x.scale, x.zero_point, out.scale,
                      out.zero_point, ptr(ours))
    assert rc == 0
    check_equal(ours, ref, f"mean seed={seed} same={force_same_quant}")


@pytest.mark.parametrize("seed", range(8))
def test_mean(shim, seed):
    _mean_case(shim, 6000 + seed)


@pytest.mark.parametrize("seed", range(4))
def test_mean_same_quant(shim, seed):
    _mean_case(shim, 6500 + seed, force_same_quant=True)


# ------------------------------------------------------------------------------ SOFTMAX

def _softmax_case(shim, seed):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    shape = rng.choice([(rng.randint(1, 4), rng.randint(1, 40)),
                        (1, rng.randint(1, 4), rng.randint(1, 4), rng.randint(2, 12))])
    lo = -rng.uniform(0.5, 20)
    buf = convert(lambda x: tf.nn.softmax(x), [shape], [(lo, lo + rng.uniform(0.5, 30))],
                  seed=seed)
    beta = rng.choice([1.0, 1.0, rng.uniform(0.2, 3.0)])
    if beta != 1.0:
        model = tso.read_model(buf)
        model.subgraphs[0].operators[0].builtinOptions.beta = beta
        buf = tso.write_model(model)
    op = tso.single_op(buf)
    assert op.op_name == "SOFTMAX"
    x, out = op.inputs[0], op.outputs[0]
    beta = float(np.float32(op.op.builtinOptions.beta))
    inp = rand_int8(nrng, x.shape)
    ref = tso.run_tflm(buf, [inp])
    ours = np.zeros(out.shape, np.int8)
    depth = x.shape[-1]
    rc = shim.fs_softmax(ptr(inp), inp.size // depth, depth, beta, x.scale, ptr(ours))
    assert rc == 0
    check_equal(ours, ref, f"softmax seed={seed}")


@pytest.mark.parametrize("seed", range(10))
def test_softmax(shim, seed):
    _softmax_case(shim, 7000 + seed)


# ------------------------------------------------------------------------------ ADD

def _add_case(shim, seed, broadcast):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    out_shape = [rng.choice([1, 2]), rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 6)]
    s1, s2 = list(out_shape), list(out_shape)
    if broadcast:
        for d in range(4):
            r = rng.random()
            if r < 0.3:
                s1[d] = 1
            elif r < 0.6:
                s2[d] = 1
    act = rng.choice([lambda v: v, tf.nn.relu, tf.nn.relu6])
    buf = convert(lambda a, b: act(a + b), [tuple(s1), tuple(s2)],
                  [rand_range(rng), rand_range(rng)], seed=seed)
    op = tso.single_op(buf)
    assert op.op_name == "ADD"
    a, b, out = op.inputs[0], op.inputs[1], op.outputs[0]
    ia, ib = rand_int8(nrng, a.shape), rand_int8(nrng, b.shape)
    feeds = [None, None]
    feeds[op.graph_inputs[0]], feeds[op.graph_inputs[1]] = 0, 1
    graph_in = [ia, ib]
    ordered = [graph_in[feeds.index(g)] for g in range(2)]
    # Graph input g feeds operator input op.graph_inputs[g].
    ordered = [[ia, ib][op.graph_inputs[g]] for g in range(2)]
    ref = tso.run_tflm(buf, ordered)
    ours = np.zeros(out.shape, np.int8)
    rc = shim.fs_add(ptr(ia), ptr(i32(nhwc4(a.shape))), a.scale, a.zero_point, ptr(ib),
                     ptr(i32(nhwc4(b.shape))), b.scale, b.zero_point, out.scale, out.zero_point,
                     op.op.builtinOptions.fusedActivationFunction, ptr(i32(nhwc4(out.shape))),
                     ptr(ours))
    assert rc == 0
    check_equal(ours, ref, f"add seed={seed} broadcast={broadcast}")


@pytest.mark.parametrize("seed", range(6))
def test_add(shim, seed):
    _add_case(shim, 8000 + seed, False)


@pytest.mark.parametrize("seed", range(8))
def test_add_broadcast(shim, seed):
    _add_case(shim, 8500 + seed, True)


# ------------------------------------------------------------------------------ PAD / PADV2

def _pad_case(shim, seed):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    rank = rng.choice([2, 3, 4])
    shape = tuple(rng.randint(1, 5) for _ in range(rank))
    pads = [[rng.randint(0, 2), rng.randint(0, 2)] for _ in range(rank)]
    const = rng.choice([None, rng.uniform(-1, 1)])
    if const is None:
        fn = lambda x: tf.pad(x, pads)  # noqa: E731
    else:
        fn = lambda x: tf.pad(x, pads, constant_values=const)  # noqa: E731
    buf = convert(fn, [shape], [rand_range(rng)], seed=seed)
    op = tso.single_op(buf)
    assert op.op_name in ("PAD", "PADV2")
    x, out = op.inputs[0], op.outputs[0]
    paddings = op.inputs[1].data.reshape(-1, 2)
    before = [0] * (4 - rank) + [int(p[0]) for p in paddings]
    after = [0] * (4 - rank) + [int(p[1]) for p in paddings]
    has_const = len(op.inputs) > 2 and op.inputs[2] is not None
    cval = int(op.inputs[2].data.reshape(-1)[0]) if has_const else 0
    inp = rand_int8(nrng, x.shape)
    ref = tso.run_tflm(buf, [inp])
    ours = np.zeros(out.shape, np.int8)
    rc = shim.fs_pad(ptr(inp), ptr(i32(nhwc4(x.shape))), ptr(i32(before)), ptr(i32(after)),
                     int(has_const), cval, out.zero_point, ptr(ours))
    assert rc == 0
    check_equal(ours, ref, f"pad seed={seed}")


@pytest.mark.parametrize("seed", range(6))
def test_pad(shim, seed):
    _pad_case(shim, 9000 + seed)


# ------------------------------------------------------------------------------ CONCATENATION

def _concat_case(shim, seed):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    rank = rng.choice([2, 3, 4])
    base = [rng.randint(1, 4) for _ in range(rank)]
    axis = rng.randrange(rank)
    k = rng.randint(2, 3)
    shapes = []
    for _ in range(k):
        s = list(base)
        s[axis] = rng.randint(1, 4)
        shapes.append(tuple(s))
    neg_axis = rng.random() < 0.3
    buf = convert(lambda *xs: tf.concat(list(xs), axis=axis - rank if neg_axis else axis),
                  shapes, [rand_range(rng) for _ in shapes], seed=seed)
    op = tso.single_op(buf)
    assert op.op_name == "CONCATENATION"
    out = op.outputs[0]
    ax = op.op.builtinOptions.axis
    ax = ax + rank if ax < 0 else ax
    ins = [rand_int8(nrng, t.shape) for t in op.inputs]
    ref = tso.run_tflm(buf, [ins[op.graph_inputs[g]] for g in range(len(ins))])
    outer = int(np.prod(out.shape[:ax]))
    inner = int(np.prod(out.shape[ax + 1:]))
    ptrs = (ctypes.c_void_p * len(ins))(*[a.ctypes.data for a in ins])
    scales = np.array([t.scale for t in op.inputs], np.float32)
    zps = i32([t.zero_point for t in op.inputs])
    ours = np.zeros(out.shape, np.int8)
    rc = shim.fs_concatenation(len(ins), ctypes.cast(ptrs, ctypes.c_void_p),
                               ptr(i32([t.shape[ax] for t in op.inputs])), ptr(scales), ptr(zps),
                               out.scale, out.zero_point, 0, outer, inner, ptr(ours))
    assert rc == 0
    check_equal(ours, ref, f"concat seed={seed}")


@pytest.mark.parametrize("seed", range(6))
def test_concatenation(shim, seed):
    _concat_case(shim, 9500 + seed)


# ------------------------------------------------------------------------------ (DE)QUANTIZE

def _float_io_model(shape, rng_range, seed):
    """QUANTIZE -> ADD(x, x) -> DEQUANTIZE model with float input/output."""
    def fn(x):
        return x + x
    conv_fn = tf.autograph.experimental.do_not_convert(fn)
    specs = [tf.TensorSpec(shape, tf.float32)]
    concrete = tf.function(conv_fn, input_signature=specs).get_concrete_function()
    r = np.random.default_rng(seed)
    conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: (
        [r.uniform(*rng_range, size=shape).astype(np.float32)] for _ in range(16))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return conv.convert()


def _keep_only(buf, op_name):
    model = tso.read_model(buf)
    sg = model.subgraphs[0]
    names = [tso.BUILTIN_NAMES[max(model.operatorCodes[o.opcodeIndex].builtinCode,
                                   model.operatorCodes[o.opcodeIndex].deprecatedBuiltinCode)]
             for o in sg.operators]
    op = sg.operators[names.index(op_name)]
    sg.operators = [op]
    sg.inputs = [int(op.inputs[0])]
    sg.outputs = [int(op.outputs[0])]
    return model, sg, op


@pytest.mark.parametrize("seed", range(4))
def test_quantize_float_to_int8(shim, seed):
    rng = random.Random(seed)
    shape = (rng.randint(1, 3), rng.randint(1, 50))
    rr = rand_range(rng)
    model, sg, op = _keep_only(_float_io_model(shape, rr, seed), "QUANTIZE")
    buf = tso.write_model(model)
    out = sg.tensors[op.outputs[0]].quantization
    nrng = np.random.default_rng(seed)
    x = nrng.uniform(rr[0] - 1, rr[1] + 1, size=shape).astype(np.float32)
    # Include exact half-way points, which exercise the rounding rule.
    x.reshape(-1)[: min(x.size, 8)] = (np.arange(min(x.size, 8)) - 4 + 0.5) * out.scale[0]
    ref = tso.run_tflm(buf, [x])
    ours = np.zeros(shape, np.int8)
    assert shim.fs_quantize(ptr(x), x.size, float(out.scale[0]), int(out.zeroPoint[0]),
                            ptr(ours)) == 0
    check_equal(ours, ref, "quantize")


@pytest.mark.parametrize("seed", range(4))
def test_requantize_int8(shim, seed):
    rng = random.Random(seed)
    shape = (1, rng.randint(1, 64))
    model, sg, op = _keep_only(_float_io_model(shape, rand_range(rng), seed), "QUANTIZE")
    t_in = sg.tensors[op.inputs[0]]
    t_in.type = tso.schema.TensorType.INT8
    q = tso.schema.QuantizationParametersT()
    q.scale = [float(np.float32(rng.uniform(0.001, 0.1)))]
    q.zeroPoint = [rng.randint(-128, 127)]
    t_in.quantization = q
    buf = tso.write_model(model)
    out = sg.tensors[op.outputs[0]].quantization
    x = rand_int8(np.random.default_rng(seed), shape)
    ref = tso.run_tflm(buf, [x])
    ours = np.zeros(shape, np.int8)
    assert shim.fs_requantize(ptr(x), x.size, q.scale[0], q.zeroPoint[0], float(out.scale[0]),
                              int(out.zeroPoint[0]), ptr(ours)) == 0
    check_equal(ours, ref, "requantize")


@pytest.mark.parametrize("seed", range(4))
def test_dequantize(shim, seed):
    rng = random.Random(seed)
    shape = (rng.randint(1, 3), rng.randint(1, 50))
    model, sg, op = _keep_only(_float_io_model(shape, rand_range(rng), seed), "DEQUANTIZE")
    buf = tso.write_model(model)
    q = sg.tensors[op.inputs[0]].quantization
    x = rand_int8(np.random.default_rng(seed), shape)
    ref = tso.run_tflm(buf, [x])
    ours = np.zeros(shape, np.float32)
    assert shim.fs_dequantize(ptr(x), x.size, float(q.scale[0]), int(q.zeroPoint[0]),
                              ptr(ours)) == 0
    check_equal(ours.view(np.int32), np.asarray(ref, np.float32).view(np.int32), "dequantize")


# ------------------------------------------------- output stage: SMULL formulation == reference

_I32_MIN, _I32_MAX = -2**31, 2**31 - 1


def _requantize_both(shim, acc, mult, shift, offset, lo, hi):
    """Runs the reference and the SMULL output stage (kernels/conv_window.h) on the same arrays,
    asserts the int32 requantised values and the int8 bytes are identical, returns the count."""
    acc, mult, shift = i32(acc), i32(mult), i32(shift)
    offset, lo, hi = i32(offset), i32(lo), i32(hi)
    n = acc.size
    assert mult.size == shift.size == offset.size == lo.size == hi.size == n
    v_ref, v_smull = np.zeros(n, np.int32), np.zeros(n, np.int32)
    o_ref, o_smull = np.zeros(n, np.int8), np.zeros(n, np.int8)
    shim.fs_requantize_both(ptr(acc), ptr(mult), ptr(shift), ptr(offset), ptr(lo), ptr(hi), n,
                            ptr(v_ref), ptr(v_smull), ptr(o_ref), ptr(o_smull))
    bad = np.flatnonzero((v_ref != v_smull) | (o_ref != o_smull))
    assert bad.size == 0, [(int(acc[i]), int(mult[i]), int(shift[i]), int(offset[i]),
                            int(v_ref[i]), int(v_smull[i]), int(o_ref[i]), int(o_smull[i]))
                           for i in bad[:10]]
    return n


def _edge_accumulators():
    """INT32 extremes, powers of two and their neighbours, and ties of both roundings: with
    multiplier 2^30 every odd x puts the doubling high multiply on a half; with multiplier
    INT32_MIN the high multiply returns exactly -x, so x = -(k * 2^e + 2^(e-1)) puts the rounding
    shift by e on a half (both signs)."""
    v = {_I32_MIN, _I32_MIN + 1, _I32_MIN + 2, -1, 0, 1, 2, 3, _I32_MAX - 1, _I32_MAX}
    for b in range(31):
        for d in (-1, 0, 1):
            v.update({(1 << b) + d, -(1 << b) + d})
    for e in range(1, 32):
        for k in (0, 1, 2, 3, 1000):
            t = k * (1 << e) + (1 << (e - 1))
            v.update({t, -t, t - 1, -t + 1})
    return np.array(sorted(x for x in v if _I32_MIN <= x <= _I32_MAX), np.int64)


_EDGE_MULTIPLIERS = [_I32_MIN, _I32_MIN + 1, -(1 << 30), -1, 0, 1, 2, 3, (1 << 30) - 1, 1 << 30,
                     (1 << 30) + 1, 1518500250, _I32_MAX - 1, _I32_MAX]


def test_requantize_smull_edge_cases(shim):
    """Every edge accumulator x every edge multiplier x every shift in [-31, 31], with the
    output offsets and activation ranges at the int8 extremes (the offset add wraps like the
    reference's when shift > 0 leaves the value near INT32_MAX)."""
    acc = _edge_accumulators()
    n = 0
    for m in _EDGE_MULTIPLIERS:
        a, s = np.meshgrid(acc, np.arange(-31, 32), indexing="ij")
        a, s = a.ravel(), s.ravel()
        k = a.size
        for off, lo, hi in ((0, -128, 127), (-128, -128, 127), (127, -128, 127), (-128, -128, -1),
                            (5, 0, 6), (100, -128, 127)):
            n += _requantize_both(shim, a, np.full(k, m), s, np.full(k, off), np.full(k, lo),
                                  np.full(k, hi))
    assert n > 1_000_000


@pytest.mark.parametrize("seed", range(4))
def test_requantize_smull_random(shim, seed):
    """Random inputs from several distributions: uniform int32, small accumulators with real
    multipliers in [2^30, 2^31) (what kernels see), uniform multipliers of both signs."""
    rng = np.random.default_rng(1000 + seed)
    n = 1 << 20
    full = lambda: rng.integers(_I32_MIN, _I32_MAX, n, endpoint=True)  # noqa: E731
    small = rng.integers(-(1 << 20), 1 << 20, n)
    acc = np.where(rng.random(n) < 0.5, full(), small)
    real_mult = rng.integers(1 << 30, _I32_MAX, n, endpoint=True)
    mult = np.where(rng.random(n) < 0.7, real_mult, full())
    shift = rng.integers(-31, 31, n, endpoint=True)
    offset = rng.integers(-128, 127, n, endpoint=True)
    lo = rng.integers(-128, 127, n, endpoint=True)
    hi = np.maximum(lo, rng.integers(-128, 127, n, endpoint=True))
    assert _requantize_both(shim, acc, mult, shift, offset, lo, hi) == n


def test_requantize_smull_known_values(shim):
    """A few hand-checked values through the SMULL formulation (ties of both roundings)."""
    cases = [(100, 1 << 30, 0, 50), (3, 1 << 30, -1, 1), (-3, 1 << 30, -1, -1),
             (-2, 1 << 30, -2, 0), (6, 1 << 30, -3, 0), (10, 1 << 30, -3, 1),
             (-10, 1 << 30, -3, -1), (_I32_MIN, _I32_MIN, 0, _I32_MAX), (7, 1 << 30, 3, 28),
             (-1, 1 << 30, 0, 0), (1, 1 << 30, 0, 1), (-3, _I32_MIN, -1, 2), (3, _I32_MIN, -1, -2)]
    acc, mult, shift, want = (np.array(c) for c in zip(*cases))
    k = len(cases)
    v_ref, v_smull = np.zeros(k, np.int32), np.zeros(k, np.int32)
    o = np.zeros(k, np.int8)
    z = i32(np.zeros(k))
    shim.fs_requantize_both(ptr(i32(acc)), ptr(i32(mult)), ptr(i32(shift)), ptr(z),
                            ptr(i32(np.full(k, -128))), ptr(i32(np.full(k, 127))), k,
                            ptr(v_ref), ptr(v_smull), ptr(o), ptr(o.copy()))
    assert v_ref.tolist() == want.tolist()
    assert v_smull.tolist() == want.tolist()


# ------------------------------- output stage: the DSP kernels' doubled one == reference


def _requantize_doubled(shim, acc, mult, shift, offset):
    """RequantizeDoubledInt32 / RequantizeDoubled (quant_math.h, portable helper) against the
    reference plus the output offset, before and after the int8 saturation, on inputs inside its
    domain (|acc| < 2^30); returns how many were eligible."""
    acc, mult, shift, offset = i32(acc), i32(mult), i32(shift), i32(offset)
    assert np.all(np.abs(acc.astype(np.int64)) < (1 << 30))
    n = acc.size
    eligible, doubled, doubled8 = (np.zeros(n, np.int32) for _ in range(3))
    shim.fs_requantize_doubled(ptr(acc), ptr(mult), ptr(shift), ptr(offset), n, ptr(eligible),
                               ptr(doubled), ptr(doubled8))
    want_eligible = ((mult >= 0) & (shift <= -1) & (shift >= -22) & (offset >= -128)
                     & (offset <= 127))
    assert eligible.tolist() == want_eligible.astype(np.int32).tolist()
    # The reference's requantised value (before its offset and clamp), vectorised.
    ref, unused = np.zeros(n, np.int32), np.zeros(n, np.int32)
    z = i32(np.zeros(n))
    shim.fs_requantize_both(ptr(acc), ptr(mult), ptr(shift), ptr(z), ptr(i32(np.full(n, -128))),
                            ptr(i32(np.full(n, 127))), n, ptr(ref), ptr(unused),
                            ptr(np.zeros(n, np.int8)), ptr(np.zeros(n, np.int8)))
    idx = np.flatnonzero(eligible)
    want = ref[idx].astype(np.int64) + offset[idx]
    bad = idx[(doubled[idx] != want) | (doubled8[idx] != np.clip(want, -128, 127))]
    assert bad.size == 0, [(int(acc[i]), int(mult[i]), int(shift[i]), int(offset[i]),
                            int(doubled[i]), int(doubled8[i]), int(ref[i])) for i in bad[:10]]
    return idx.size


def test_requantize_doubled_edge_cases(shim):
    """Accumulators at the domain's edges (+-(2^30 - 1)), powers of two and the rounding ties of
    both roundings, every multiplier edge, every right shift the domain allows and one past it,
    output offsets at the int8 extremes."""
    acc = _edge_accumulators()
    acc = acc[np.abs(acc) < (1 << 30)]
    acc = np.concatenate([acc, [(1 << 30) - 1, -(1 << 30) + 1]])
    n = 0
    for m in [0, 1, 3, (1 << 30) - 1, 1 << 30, (1 << 30) + 1, 1518500250, _I32_MAX, -1, _I32_MIN]:
        a, s = np.meshgrid(acc, np.arange(-23, 2), indexing="ij")
        a, s = a.ravel(), s.ravel()
        for off in (-128, -1, 0, 1, 127, 128):
            n += _requantize_doubled(shim, a, np.full(a.size, m), s, np.full(a.size, off))
    assert n > 100_000


def test_requantize_doubled_random(shim):
    rng = np.random.default_rng(77)
    k = 200_000
    acc = np.where(rng.random(k) < 0.5, rng.integers(-(1 << 30) + 1, 1 << 30, k),
                   rng.integers(-(1 << 20), 1 << 20, k))
    mult = rng.integers(1 << 30, _I32_MAX, k, endpoint=True)
    shift = rng.integers(-22, -1, k, endpoint=True)
    offset = rng.integers(-128, 127, k, endpoint=True)
    assert _requantize_doubled(shim, acc, mult, shift, offset) == k


# ------------------------------------------------------------------------------ TFLM facts

def _np_srdhm(a, b):
    ab = a.astype(np.int64) * np.int64(b)
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    s = ab + nudge
    return np.where(s >= 0, s // (1 << 31), -((-s) // (1 << 31)))


def _np_mbqm(x, m, shift):
    left, right = max(shift, 0), max(-shift, 0)
    v = _np_srdhm(x * (1 << left), m)
    mask = (1 << right) - 1
    rem = v & mask
    thr = (mask >> 1) + (v < 0)
    return (v >> right) + (rem > thr)


def _py_qm(real):
    m, e = np.frexp(real)
    q = int(np.round(m * 2.0 ** 31)) if m >= 0 else -int(np.round(-m * 2.0 ** 31))
    if q == 1 << 31:
        q //= 2
        e += 1
    return q, int(e)


def test_fully_connected_per_tensor_multiplier_is_double_product(shim):
    """Older TFLite computed the per-tensor FC multiplier as double(float(s_in * s_w)) / s_out
    (product rounded to float first). The wheel's TFLM does the whole thing in double, like the
    per-channel conv formula. Search scale triples where the two formulas give different
    multipliers AND some reachable accumulator requantises differently, build that FC (depth 2,
    weights [127, 1] so any accumulator in range is reachable), and check which one TFLM uses."""
    rng = np.random.default_rng(123)
    accs = np.arange(-16000, 16000, dtype=np.int64)
    found = None
    for _ in range(20000):
        si = np.float32(rng.uniform(0.001, 0.05))
        sw = np.float32(rng.uniform(0.001, 0.05))
        so = np.float32(float(si) * float(sw) * rng.uniform(60, 250))
        f_prod = _py_qm(float(np.float32(si * sw)) / float(so))
        d_prod = _py_qm(float(si) * float(sw) / float(so))
        if f_prod == d_prod:
            continue
        a, b = _np_mbqm(accs, *f_prod), _np_mbqm(accs, *d_prod)
        hit = np.nonzero((a != b) & (np.abs(a) < 100))[0]
        if hit.size:
            found = (si, sw, so, f_prod, d_prod, accs[hit])
            break
    assert found is not None
    si, sw, so, f_prod, d_prod, hit_accs = found
    wgt = rng.normal(0, 1, (2, 1)).astype(np.float32)
    buf = convert(lambda x: tf.matmul(x, wgt), [(len(hit_accs), 2)], [(-1.0, 1.0)],
                  per_channel_dense=False)
    model = tso.read_model(buf)
    sg = model.subgraphs[0]
    op = sg.operators[0]
    assert len(op.inputs) == 2 or op.inputs[2] < 0, "expected FC without bias"
    for idx, s in ((op.inputs[0], si), (op.inputs[1], sw), (op.outputs[0], so)):
        sg.tensors[idx].quantization.scale = [float(s)]
        sg.tensors[idx].quantization.zeroPoint = [0]
    model.buffers[sg.tensors[op.inputs[1]].buffer].data = np.array([127, 1], np.int8).view(
        np.uint8)
    mbuf = tso.write_model(model)
    o = tso.single_op(mbuf)
    x, f, out = o.inputs[0], o.inputs[1], o.outputs[0]
    hi = np.round(hit_accs / 127).astype(np.int64)
    inp = np.stack([hi, hit_accs - 127 * hi], axis=1).astype(np.int8)
    assert np.array_equal(inp.astype(np.int64) @ np.array([127, 1]), hit_accs)
    ref = tso.run_tflm(mbuf, [inp]).reshape(-1)
    ours = np.zeros(out.shape, np.int8)
    fs = np.array([sw], np.float32)
    assert shim.fs_fully_connected(ptr(inp), len(hit_accs), 2, x.scale, 0,
                                   ptr(np.ascontiguousarray(f.data)), 1, ptr(fs), 1, 0, None,
                                   out.scale, 0, 0, ptr(ours)) == 0
    check_equal(ours, ref, "fc per-tensor multiplier")
    assert np.array_equal(ref, np.clip(_np_mbqm(hit_accs, *d_prod), -128, 127))
    assert not np.array_equal(ref, np.clip(_np_mbqm(hit_accs, *f_prod), -128, 127))


def test_conv_per_tensor_weights(shim):
    """A single filter scale is broadcast to all output channels (conv formula, in double)."""
    rng = np.random.default_rng(7)
    wgt = rng.normal(0, 1, (3, 3, 3, 6)).astype(np.float32)
    buf = convert(lambda x: tf.nn.conv2d(x, wgt, 1, "SAME"), [(1, 6, 6, 3)], [(-1, 1)])
    model = tso.read_model(buf)
    sg = model.subgraphs[0]
    q = sg.tensors[sg.operators[0].inputs[1]].quantization
    q.scale, q.zeroPoint = [float(max(q.scale))], [0]
    bias_idx = sg.operators[0].inputs[2] if len(sg.operators[0].inputs) > 2 else -1
    if bias_idx >= 0:  # keep the bias consistent with the new per-tensor scale
        bq = sg.tensors[bias_idx].quantization
        s_in = sg.tensors[sg.operators[0].inputs[0]].quantization.scale[0]
        bq.scale, bq.zeroPoint = [float(np.float32(s_in) * np.float32(q.scale[0]))] * 1, [0]
    buf = tso.write_model(model)
    op = tso.single_op(buf)
    x, f, out = op.inputs[0], op.inputs[1], op.outputs[0]
    b = op.inputs[2] if len(op.inputs) > 2 else None
    inp = rand_int8(rng, x.shape)
    ref = tso.run_tflm(buf, [inp])
    ours = np.zeros(out.shape, np.int8)
    od = np.zeros(4, np.int32)
    bdata = None if b is None or b.data is None else np.ascontiguousarray(b.data, np.int32)
    rc = shim.fs_conv(ptr(inp), ptr(i32(x.shape)), x.scale, x.zero_point,
                      ptr(np.ascontiguousarray(f.data)), ptr(i32(f.shape)),
                      ptr(np.ascontiguousarray(f.scales, np.float32)), 1, ptr(bdata), out.scale,
                      out.zero_point, 1, 1, 1, 1, 0, 0, ptr(ours), ptr(od))
    assert rc == 0
    check_equal(ours, ref, "conv per-tensor weights")


def test_concatenation_requantizing_path_matches_requantize(shim):
    """TFLM rejects int8 CONCATENATION unless every input has the output's scale and zero point
    (Prepare fails), so our optional requantising path is checked against our QUANTIZE
    int8->int8 kernel (which is checked against TFLM) instead."""
    rng = np.random.default_rng(5)
    a, b = rand_int8(rng, (3, 4, 5)), rand_int8(rng, (3, 2, 5))
    scales = np.array([0.02, 0.05], np.float32)
    zps = i32([-10, 17])
    out_scale, out_zp = 0.03, 3
    ptrs = (ctypes.c_void_p * 2)(a.ctypes.data, b.ctypes.data)
    ours = np.zeros((3, 6, 5), np.int8)
    assert shim.fs_concatenation(2, ctypes.cast(ptrs, ctypes.c_void_p), ptr(i32([4, 2])),
                                 ptr(scales), ptr(zps), out_scale, out_zp, 1, 3, 5,
                                 ptr(ours)) == 0
    ra, rb = np.zeros_like(a), np.zeros_like(b)
    shim.fs_requantize(ptr(a), a.size, scales[0], -10, out_scale, out_zp, ptr(ra))
    shim.fs_requantize(ptr(b), b.size, scales[1], 17, out_scale, out_zp, ptr(rb))
    check_equal(ours, np.concatenate([ra, rb], axis=1), "concat requantize")


@pytest.mark.parametrize("shapes", [((5,), (2, 3, 5)), ((2, 1, 5), (4, 1)), ((3, 1, 1, 2), (1, 4, 2)),
                                    ((1,), (2, 2, 2, 3))])
def test_add_broadcast_lower_rank(shim, shapes):
    rng = random.Random(str(shapes))
    nrng = np.random.default_rng(len(str(shapes)))
    buf = convert(lambda a, b: a + b, list(shapes), [rand_range(rng), rand_range(rng)])
    op = tso.single_op(buf)
    assert op.op_name == "ADD"
    a, b, out = op.inputs[0], op.inputs[1], op.outputs[0]
    ia, ib = rand_int8(nrng, a.shape), rand_int8(nrng, b.shape)
    ref = tso.run_tflm(buf, [[ia, ib][op.graph_inputs[g]] for g in range(2)])
    ours = np.zeros(out.shape, np.int8)
    assert shim.fs_add(ptr(ia), ptr(i32(nhwc4(a.shape))), a.scale, a.zero_point, ptr(ib),
                       ptr(i32(nhwc4(b.shape))), b.scale, b.zero_point, out.scale,
                       out.zero_point, op.op.builtinOptions.fusedActivationFunction,
                       ptr(i32(nhwc4(out.shape))), ptr(ours)) == 0
    check_equal(ours, ref, f"add broadcast {shapes}")


@pytest.mark.parametrize("hw", [(1, 1), (16, 16), (32, 40), (64, 64)])
def test_mean_large_counts(shim, hw):
    """Counts up to 4096 exercise the folded 1/count multiplier and its shift clamping."""
    nrng = np.random.default_rng(hw[0] * 100 + hw[1])
    shape = (1, hw[0], hw[1], 3)
    buf = convert(lambda x: tf.reduce_mean(x, axis=[1, 2]), [shape], [(-2.0, 1.0)])
    op = tso.single_op(buf)
    x, out = op.inputs[0], op.outputs[0]
    inp = rand_int8(nrng, shape)
    ref = tso.run_tflm(buf, [inp])
    ours = np.zeros(out.shape, np.int8)
    assert shim.fs_mean(ptr(inp), ptr(i32(shape)), x.scale, x.zero_point, out.scale,
                        out.zero_point, ptr(ours)) == 0
    check_equal(ours, ref, f"mean {hw}")


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 140))
def test_other_ops_sweep(shim, seed):
    _pool_case(shim, 4000 + seed, False)
    _pool_case(shim, 5000 + seed, True)
    _mean_case(shim, 6000 + seed)
    _mean_case(shim, 6500 + seed, force_same_quant=True)
    _softmax_case(shim, 7000 + seed)
    _add_case(shim, 8000 + seed, False)
    _add_case(shim, 8500 + seed, True)
    _pad_case(shim, 9000 + seed)
    _concat_case(shim, 9500 + seed)


@pytest.mark.parametrize("width,beta", [(60.0, 1.0), (200.0, 2.5), (2000.0, 5.0), (4.0, 0.3),
                                        (0.5, 1.0)])
def test_softmax_extreme_scales(shim, width, beta):
    """Large beta * input_scale makes diff_min bite (inputs far below the row max give exactly
    zero), and beyond 2^5 the input multiplier saturates at 2^31 - 1; tiny scales give flat rows."""
    nrng = np.random.default_rng(int(width * 10))
    buf = convert(lambda x: tf.nn.softmax(x), [(4, 33)], [(-width / 2, width / 2)])
    model = tso.read_model(buf)
    model.subgraphs[0].operators[0].builtinOptions.beta = beta
    buf = tso.write_model(model)
    op = tso.single_op(buf)
    x = op.inputs[0]
    inp = rand_int8(nrng, x.shape)
    inp[0, :] = -128
    inp[0, 5] = 127  # one dominant element: all others below diff_min when scale is large
    ref = tso.run_tflm(buf, [inp])
    ours = np.zeros(x.shape, np.int8)
    assert shim.fs_softmax(ptr(inp), 4, 33, float(np.float32(beta)), x.scale, ptr(ours)) == 0
    check_equal(ours, ref, f"softmax width={width} beta={beta}")


def test_conv_deep_accumulation(shim):
    """Many input channels and a 5x5 kernel: large int32 accumulators and small multipliers."""
    rng = np.random.default_rng(11)
    wgt = rng.normal(0, 0.2, (5, 5, 48, 16)).astype(np.float32)
    bias = rng.normal(0, 1, (16,)).astype(np.float32)
    buf = convert(lambda x: tf.nn.relu6(tf.nn.conv2d(x, wgt, 2, "SAME") + bias),
                  [(1, 12, 12, 48)], [(-3.0, 3.0)])
    op = tso.single_op(buf)
    x, f, b, out = op.inputs[0], op.inputs[1], op.inputs[2], op.outputs[0]
    o = op.op.builtinOptions
    inp = rand_int8(rng, x.shape)
    ref = tso.run_tflm(buf, [inp])
    ours = np.zeros(out.shape, np.int8)
    od = np.zeros(4, np.int32)
    assert shim.fs_conv(ptr(inp), ptr(i32(x.shape)), x.scale, x.zero_point,
                        ptr(np.ascontiguousarray(f.data)), ptr(i32(f.shape)),
                        ptr(np.ascontiguousarray(f.scales, np.float32)), len(f.scales),
                        ptr(np.ascontiguousarray(b.data, np.int32)), out.scale, out.zero_point,
                        o.strideH, o.strideW, o.dilationHFactor, o.dilationWFactor, o.padding,
                        o.fusedActivationFunction, ptr(ours), ptr(od)) == 0
    check_equal(ours, ref, "conv deep")
