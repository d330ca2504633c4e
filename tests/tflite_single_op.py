"""Builds single-op int8 .tflite models with TensorFlow and runs them in the tflite-micro wheel.

The wheel (TFLM reference kernels) is the oracle for the forward kernels: tests build a model
here, read its tensors / quantisation / options back with the flatbuffer object API, run our
kernel on the same int8 input and compare bit for bit.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf
from tensorflow.lite.python import schema_py_generated as schema
from tflite_micro.python.tflite_micro import runtime

BUILTIN_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def convert(fn, input_shapes, input_ranges, *, num_samples: int = 32, seed: int = 0,
            per_channel_dense: bool = True) -> bytes:
    """Converts `fn` (taking float tensors of `input_shapes`) to a full-int8 .tflite model.

    The representative dataset draws uniform samples in `input_ranges[i]`, which sets the input
    scales/zero points; output quantisation follows from the observed outputs.
    """
    specs = [tf.TensorSpec(shape, tf.float32) for shape in input_shapes]
    concrete = tf.function(fn, input_signature=specs).get_concrete_function()
    rng = np.random.default_rng(seed)

    def representative():
        for _ in range(num_samples):
            yield [rng.uniform(lo, hi, size=shape).astype(np.float32)
                   for shape, (lo, hi) in zip(input_shapes, input_ranges)]

    conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    if not per_channel_dense:
        conv._experimental_disable_per_channel_quantization_for_dense_layers = True
    return conv.convert()


def read_model(buf: bytes) -> schema.ModelT:
    return schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(buf, 0))


def write_model(model: schema.ModelT) -> bytes:
    import flatbuffers
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


@dataclass
class Tensor:
    shape: tuple
    dtype: int
    scales: np.ndarray | None
    zero_points: np.ndarray | None
    quantized_dimension: int
    data: np.ndarray | None  # constant data, or None for activations

    @property
    def scale(self) -> float:
        return float(self.scales[0])

    @property
    def zero_point(self) -> int:
        return int(self.zero_points[0])


_NP_TYPES = {schema.TensorType.INT8: np.int8, schema.TensorType.INT32: np.int32,
             schema.TensorType.FLOAT32: np.float32, schema.TensorType.INT64: np.int64,
             schema.TensorType.INT16: np.int16}


def _tensor(model: schema.ModelT, sg, idx: int) -> Tensor | None:
    if idx < 0:
        return None
    t = sg.tensors[idx]
    q = t.quantization
    scales = zps = None
    qdim = 0
    if q is not None and q.scale is not None and len(q.scale) > 0:
        scales = np.asarray(q.scale, dtype=np.float32)
        zps = np.asarray(q.zeroPoint, dtype=np.int64)
        qdim = q.quantizedDimension
    buf = model.buffers[t.buffer]
    data = None
    if buf is not None and buf.data is not None and len(buf.data) > 0:
        shape = tuple(int(s) for s in t.shape) if t.shape is not None else ()
        data = np.frombuffer(bytes(bytearray(buf.data)), dtype=_NP_TYPES[t.type]).reshape(shape)
    shape = tuple(int(s) for s in t.shape) if t.shape is not None else ()
    return Tensor(shape, t.type, scales, zps, qdim, data)


@dataclass
class SingleOp:
    buf: bytes
    model: schema.ModelT
    op_name: str
    op: object  # schema.OperatorT
    inputs: list  # list[Tensor | None], in operator order
    outputs: list
    graph_inputs: list  # operator input positions fed by graph inputs, in graph input order


def single_op(buf: bytes) -> SingleOp:
    """Parses a model that must hold exactly one operator."""
    model = read_model(buf)
    sg = model.subgraphs[0]
    ops = sg.operators
    names = [BUILTIN_NAMES[max(model.operatorCodes[o.opcodeIndex].builtinCode,
                               model.operatorCodes[o.opcodeIndex].deprecatedBuiltinCode)]
             for o in ops]
    assert len(ops) == 1, f"expected one op, got {names}"
    op = ops[0]
    ins = [_tensor(model, sg, int(i)) for i in op.inputs]
    outs = [_tensor(model, sg, int(i)) for i in op.outputs]
    positions = [list(op.inputs).index(int(g)) for g in sg.inputs]
    return SingleOp(buf, model, names[0], op, ins, outs, positions)


def run_tflm(buf: bytes, inputs) -> np.ndarray:
    """Runs the model in the TFLM wheel; `inputs` in graph-input order; returns output 0."""
    interp = runtime.Interpreter.from_bytes(buf, arena_size=1 << 22)
    for i, x in enumerate(inputs):
        interp.set_input(x, i)
    interp.invoke()
    return np.array(interp.get_output(0))
