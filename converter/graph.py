"""A small graph IR over subgraph 0 of a .tflite model: tensors, ops, producers and consumers."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from .errors import InvalidModelError, UnsupportedOpError
from .ops import OPS, op_info_for_code
from .structure import check_structure
from .shape_fold import refuse_unfolded, shape_only_ops
from .tflite_io import builtin_op_name

_DTYPES = {
    schema.TensorType.FLOAT32: ("float32", np.float32),
    schema.TensorType.INT8: ("int8", np.int8),
    schema.TensorType.INT32: ("int32", np.int32),
    schema.TensorType.INT64: ("int64", np.int64),
    schema.TensorType.UINT8: ("uint8", np.uint8),
    schema.TensorType.INT16: ("int16", np.int16),
    schema.TensorType.BOOL: ("bool", np.bool_),
}

ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    buffer: int
    scale: np.ndarray | None = None        # float32, one per channel or one per tensor
    zero_point: np.ndarray | None = None   # int64
    quantized_dimension: int = 0
    data: np.ndarray | None = None         # constant contents (weights, biases, shapes)

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


@dataclass
class Op:
    index: int
    kind: str                  # TFLite builtin name, e.g. "CONV_2D"
    inputs: list[int]          # tensor indices, -1 for an omitted optional input
    outputs: list[int]
    options: dict = field(default_factory=dict)
    has_options: bool = False  # the file holds this op kind's own builtin options

    @property
    def activation(self) -> str:
        return self.options.get("activation", "NONE")


@dataclass
class Graph:
    tensors: list[Tensor]
    ops: list[Op]
    inputs: list[int]
    outputs: list[int]
    # Values derived from the graph alone, computed once (the planner asks for them per plan).
    derived: dict = field(default_factory=dict, repr=False, compare=False)
    # Ops that only compute a RESHAPE's static shape: not run by the training program
    # (shape_fold.py).
    folded: frozenset[int] = frozenset()

    def producer(self, tensor: int) -> Op | None:
        for op in self.ops:
            if tensor in op.outputs:
                return op
        return None

    def consumers(self, tensor: int) -> list[Op]:
        return [op for op in self.ops if tensor in op.inputs]

    def trainable_ops(self) -> list[Op]:
        """Ops with weights the update scheme can select (conv, depthwise conv, FC), graph order."""
        return [op for op in self.ops if OPS[op.kind].trainable]


# The options table each op kind reads. Options of another type (or none) leave the op without
# options: TFLM's parser then uses defaults, the runtime refuses the ops that need them.
_OPTIONS_TYPE = {"CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
                 "FULLY_CONNECTED": "FullyConnectedOptions", "AVERAGE_POOL_2D": "Pool2DOptions",
                 "MAX_POOL_2D": "Pool2DOptions", "ADD": "AddOptions",
                 "CONCATENATION": "ConcatenationOptions", "SOFTMAX": "SoftmaxOptions",
                 "RESHAPE": "ReshapeOptions", "MEAN": "ReducerOptions", "PAD": "PadOptions",
                 "PADV2": "PadV2Options", "QUANTIZE": "QuantizeOptions",
                 "DEQUANTIZE": "DequantizeOptions"}


def _has_own_options(op_t, kind: str) -> bool:
    expected = _OPTIONS_TYPE.get(kind)
    return (op_t.builtinOptions is not None and expected is not None
            and op_t.builtinOptionsType == getattr(schema.BuiltinOptions, expected))


def _options(op_t, kind: str) -> dict:
    opts = op_t.builtinOptions
    if opts is None or (kind in _OPTIONS_TYPE and not _has_own_options(op_t, kind)):
        return {}
    out = {}
    for attr, key in (("padding", "padding"), ("strideW", "stride_w"), ("strideH", "stride_h"),
                      ("dilationWFactor", "dilation_w"), ("dilationHFactor", "dilation_h"),
                      ("depthMultiplier", "depth_multiplier"), ("filterWidth", "filter_w"),
                      ("filterHeight", "filter_h"), ("keepDims", "keep_dims"),
                      ("keepNumDims", "keep_num_dims"), ("beta", "beta"), ("axis", "axis"),
                      ("weightsFormat", "weights_format"), ("newShape", "new_shape")):
        if hasattr(opts, attr):
            value = getattr(opts, attr)
            out[key] = list(value) if isinstance(value, (list, np.ndarray)) else value
    if hasattr(opts, "fusedActivationFunction"):
        code = opts.fusedActivationFunction
        if code not in ACTIVATIONS:
            raise UnsupportedOpError(f"{kind}: fused activation code {code} is not supported "
                                     f"(supported: {', '.join(ACTIVATIONS.values())})")
        out["activation"] = ACTIVATIONS[code]
    if "padding" in out:
        out["padding"] = "SAME" if out["padding"] == schema.Padding.SAME else "VALID"
    return out


def build_graph(model: schema.ModelT) -> Graph:
    """IR of subgraph 0; raises UnsupportedOpError naming every op the runtime cannot run."""
    sg = model.subgraphs[0]
    buffers = model.buffers or []
    tensors = []
    for i, t in enumerate(sg.tensors or []):
        if t.type not in _DTYPES:
            raise UnsupportedOpError(f"tensor {i} ({_s(t.name)}): type {t.type} is not supported")
        dtype, np_dtype = _DTYPES[t.type]
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
        data = None
        if t.buffer < 0 or t.buffer >= max(len(buffers), 1) and t.buffer != 0:
            raise InvalidModelError(f"tensor {i} ({_s(t.name)}) refers to buffer {t.buffer}, "
                                    f"but the model has {len(buffers)} buffers")
        # An empty data vector is no data, as in TFLM (some tools write one for activations).
        if 0 < t.buffer < len(buffers) and buffers[t.buffer].data is not None \
                and len(buffers[t.buffer].data) > 0:
            raw = np.asarray(buffers[t.buffer].data, dtype=np.uint8).tobytes()
            count = int(np.prod(shape, dtype=np.int64))
            if len(raw) != count * np.dtype(np_dtype).itemsize:
                raise InvalidModelError(
                    f"tensor {i} ({_s(t.name)}): buffer {t.buffer} has {len(raw)} bytes, "
                    f"shape {list(shape)} of {dtype} needs {count * np.dtype(np_dtype).itemsize}")
            data = np.frombuffer(raw, dtype=np_dtype).reshape(shape).copy()
        q = t.quantization
        scale = zp = None
        qdim = 0
        # TFLM's rule: a tensor is quantised only if it has both scales and zero points (the
        # counts may differ; kernels read the first, per-channel weights read every scale).
        if q is not None and q.scale is not None and len(q.scale) > 0 \
                and q.zeroPoint is not None and len(q.zeroPoint) > 0:
            scale = np.asarray(q.scale, dtype=np.float32)
            zp = np.asarray(q.zeroPoint, dtype=np.int64)
            qdim = int(q.quantizedDimension)
        tensors.append(Tensor(i, _s(t.name), shape, dtype, int(t.buffer), scale, zp, qdim, data))

    ops = []
    unsupported = []
    for i, op_t in enumerate(sg.operators or []):
        if op_t.opcodeIndex >= len(model.operatorCodes or []):
            raise InvalidModelError(f"op {i} refers to operator code {op_t.opcodeIndex}, but the "
                                    f"model has {len(model.operatorCodes or [])}")
        code_t = model.operatorCodes[op_t.opcodeIndex]
        code = max(int(code_t.builtinCode), int(code_t.deprecatedBuiltinCode))
        info = op_info_for_code(code)
        if code == schema.BuiltinOperator.CUSTOM:
            unsupported.append(f"op {i}: custom op '{_s(code_t.customCode)}'")
            continue
        if info is None:
            unsupported.append(f"op {i}: {builtin_op_name(code)}")
            continue
        inputs = [int(x) for x in (op_t.inputs if op_t.inputs is not None else [])]
        outputs = [int(x) for x in (op_t.outputs if op_t.outputs is not None else [])]
        for t in inputs + outputs:
            if t < -1 or t >= len(tensors):
                raise InvalidModelError(f"op {i} ({info.name}) refers to tensor {t}, but the "
                                        f"subgraph has {len(tensors)} tensors")
        if not outputs or outputs[0] < 0:
            raise InvalidModelError(f"op {i} ({info.name}) has no output tensor")
        if len(inputs) < info.min_inputs or any(t < 0 for t in inputs[:info.min_inputs]):
            raise InvalidModelError(f"op {i} ({info.name}) needs {info.min_inputs} inputs; it has "
                                    f"{inputs}")
        ops.append(Op(i, info.name, inputs, outputs, _options(op_t, info.name),
                      _has_own_options(op_t, info.name)))
    if unsupported:
        supported = ", ".join(sorted(OPS))
        raise UnsupportedOpError("the model uses ops tflm-train does not support: "
                                 + "; ".join(unsupported) + f". Supported ops: {supported}")
    for op in ops:
        for t in op.inputs + op.outputs:
            if t >= 0 and tensors[t].dtype not in OPS[op.kind].dtypes:
                raise UnsupportedOpError(
                    f"op {op.index} ({op.kind}): tensor {t} ({tensors[t].name}) is "
                    f"{tensors[t].dtype}; supported types for {op.kind}: "
                    f"{', '.join(OPS[op.kind].dtypes)}")
            # An op on a tensor without elements computes nothing and would divide by its size
            # when planned (a fused head's rows per channel group).
            if t >= 0 and tensors[t].data is None and 0 in tensors[t].shape:
                raise InvalidModelError(f"op {op.index} ({op.kind}): tensor {t} "
                                        f"({tensors[t].name}) has no elements (shape "
                                        f"{list(tensors[t].shape)})")
            # The runtime refuses an int8 operand without quantisation (CheckInt8Quantized).
            if t >= 0 and tensors[t].dtype == "int8" and tensors[t].scale is None:
                raise InvalidModelError(f"op {op.index} ({op.kind}): int8 tensor {t} "
                                        f"({tensors[t].name}) has no quantisation parameters")
    inputs = [int(x) for x in (sg.inputs if sg.inputs is not None else [])]
    outputs = [int(x) for x in (sg.outputs if sg.outputs is not None else [])]
    for t in inputs + outputs:
        if not 0 <= t < len(tensors):
            raise InvalidModelError(f"subgraph 0 names tensor {t} as an input or output, but it "
                                    f"has {len(tensors)} tensors")
    folded = shape_only_ops(ops, tensors, set(outputs))
    if refuse_unfolded(ops, folded):
        raise UnsupportedOpError("; ".join(refuse_unfolded(ops, folded)))
    graph = Graph(tensors, ops, inputs, outputs, folded=frozenset(folded))
    check_structure(graph)
    for op in ops:
        if OPS[op.kind].trainable:  # input, weights and output exist (min_inputs, outputs)
            _check_weight_quantization(op, tensors)
    return graph


def _check_weight_quantization(op: Op, tensors: list[Tensor]) -> None:
    """What the runtime's WeightScales (ops_common.cc) refuses, refused at convert time."""
    w = tensors[op.inputs[1]]
    # TFLM's int8 reference kernels would silently ignore another zero point.
    if w.zero_point is not None and np.any(w.zero_point != 0):
        raise UnsupportedOpError(f"op {op.index} ({op.kind}): weights {op.inputs[1]} ({w.name}) "
                                 "must be symmetric (zero point 0)")
    out = tensors[op.outputs[0]] if op.outputs and op.outputs[0] >= 0 else None
    channels = out.shape[-1] if out is not None and out.shape else None
    if w.scale is None or (channels is not None and len(w.scale) not in (1, channels)):
        raise InvalidModelError(
            f"op {op.index} ({op.kind}): weights {op.inputs[1]} ({w.name}) need 1 or {channels} "
            f"scales, have {0 if w.scale is None else len(w.scale)}")
    bad = ~(np.isfinite(w.scale) & (w.scale > 0))
    if np.any(bad):
        raise InvalidModelError(
            f"op {op.index} ({op.kind}): weight scale {int(np.argmax(bad))} of tensor "
            f"{op.inputs[1]} ({w.name}) is {w.scale[np.argmax(bad)]}, not a positive finite number")
    # Per-channel scales must run along the axis quantized_dimension names, and that axis must
    # have one entry per scale (TFLM's Prepare checks this); per-tensor weights ignore it.
    if len(w.scale) > 1 and not (0 <= w.quantized_dimension < len(w.shape)
                                 and w.shape[w.quantized_dimension] == len(w.scale)):
        axis = (f"axis {w.quantized_dimension} has {w.shape[w.quantized_dimension]} entries"
                if 0 <= w.quantized_dimension < len(w.shape) else
                f"it is outside the tensor rank {len(w.shape)}")
        raise InvalidModelError(
            f"op {op.index} ({op.kind}): weights {op.inputs[1]} ({w.name}) have {len(w.scale)} "
            f"scales along quantized_dimension {w.quantized_dimension}, but {axis}")
    # The bias's own quantisation is not checked: TFLM never reads it (the kernels take the
    # bias scale to be input scale x weight scale), and older converters left stale values.


def _s(value) -> str:
    if value is None:
        return ""
    # Flatbuffer strings should be UTF-8 but TFLite never checks, and the wheel runs a model
    # whatever its names hold: an undecodable byte becomes U+FFFD in messages, not an error.
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
