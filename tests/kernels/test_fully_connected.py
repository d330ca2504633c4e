"""FULLY_CONNECTED (kernels/fully_connected.cc) bit-exact with the tflite-micro wheel, per-channel
and per-tensor weights, and the wheel's per-tensor multiplier formula the kernel relies on."""
from __future__ import annotations

import random

import numpy as np
import pytest

from tests import tflite_single_op as tso
from tests.kernels.helpers import (act_fn, check_equal, convert, f32, optional_data, rand_int8,
                                   rand_range, seeds, tf)


def _run_fc(forward, op, inp, batches, depth, units, zero_points=True, bias=True,
            activation=True):
    """Our FULLY_CONNECTED on a single-op model's tensors; the flags leave the input / output
    zero points, the bias or the fused activation out (0 / none)."""
    x, f, out = op.inputs[0], op.inputs[1], op.outputs[0]
    b = op.inputs[2] if len(op.inputs) > 2 else None
    ours = np.zeros(out.shape, np.int8)
    a = forward.fully_connected(
        input=inp, batches=batches, depth=depth, input_scale=x.scale,
        input_zero_point=x.zero_point if zero_points else 0, filter=np.ascontiguousarray(f.data),
        units=units, filter_scales=f32(f.scales), num_filter_scales=len(f.scales),
        filter_zero_point=int(f.zero_points[0]) if zero_points else 0,
        bias=optional_data(b, np.int32) if bias else None, output_scale=out.scale,
        output_zero_point=out.zero_point if zero_points else 0,
        activation=op.op.builtinOptions.fusedActivationFunction if activation else 0,
        output=ours)
    assert a.rc == 0
    return ours


def _fc_case(forward, seed, per_channel):
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
    assert (len(op.inputs[1].scales) > 1) == (per_channel and units > 1)
    inp = rand_int8(nrng, op.inputs[0].shape)
    ref = tso.run_tflm(buf, [inp])
    check_equal(_run_fc(forward, op, inp, batches, depth, units), ref,
                f"fc seed={seed} per_channel={per_channel}")


@pytest.mark.parametrize("seed", seeds(2000, range(8), range(100, 160)) +
                         seeds(3000, range(8), range(100, 160)))
def test_fully_connected(forward, seed):
    """Per-channel weights for seeds 2000.., per-tensor for 3000.."""
    _fc_case(forward, seed, per_channel=seed < 3000)


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


def test_fully_connected_per_tensor_multiplier_is_double_product(forward):
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
    assert np.array_equal(np.asarray(o.inputs[1].scales, np.float32), [sw])
    hi = np.round(hit_accs / 127).astype(np.int64)
    inp = np.stack([hi, hit_accs - 127 * hi], axis=1).astype(np.int8)
    assert np.array_equal(inp.astype(np.int64) @ np.array([127, 1]), hit_accs)
    ref = tso.run_tflm(mbuf, [inp]).reshape(-1)
    ours = _run_fc(forward, o, inp, len(hit_accs), 2, 1, zero_points=False, bias=False,
                   activation=False)
    check_equal(ours, ref, "fc per-tensor multiplier")
    assert np.array_equal(ref, np.clip(_np_mbqm(hit_accs, *d_prod), -128, 127))
    assert not np.array_equal(ref, np.clip(_np_mbqm(hit_accs, *f_prod), -128, 127))
