"""QUANTIZE (float -> int8 and int8 -> int8) and DEQUANTIZE (kernels/quantize.cc,
dequantize.cc) bit-exact with the tflite-micro wheel, including rounding ties."""
from __future__ import annotations

import random

import numpy as np
import pytest

from tests import tflite_single_op as tso
from tests.kernels.helpers import check_equal, rand_int8, rand_range, tf


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
def test_quantize_float_to_int8(forward, seed):
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
    assert forward.quantize(input=x, size=x.size, scale=float(out.scale[0]),
                            zero_point=int(out.zeroPoint[0]), output=ours).rc == 0
    check_equal(ours, ref, "quantize")


@pytest.mark.parametrize("seed", range(4))
def test_requantize_int8(forward, seed):
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
    assert forward.requantize(input=x, size=x.size, input_scale=q.scale[0],
                              input_zero_point=q.zeroPoint[0], output_scale=float(out.scale[0]),
                              output_zero_point=int(out.zeroPoint[0]), output=ours).rc == 0
    check_equal(ours, ref, "requantize")


@pytest.mark.parametrize("seed", range(4))
def test_dequantize(forward, seed):
    rng = random.Random(seed)
    shape = (rng.randint(1, 3), rng.randint(1, 50))
    model, sg, op = _keep_only(_float_io_model(shape, rand_range(rng), seed), "DEQUANTIZE")
    buf = tso.write_model(model)
    q = sg.tensors[op.inputs[0]].quantization
    x = rand_int8(np.random.default_rng(seed), shape)
    ref = tso.run_tflm(buf, [x])
    ours = np.zeros(shape, np.float32)
    assert forward.dequantize(input=x, size=x.size, scale=float(q.scale[0]),
                              zero_point=int(q.zeroPoint[0]), output=ours).rc == 0
    check_equal(ours.view(np.int32), np.asarray(ref, np.float32).view(np.int32), "dequantize")
