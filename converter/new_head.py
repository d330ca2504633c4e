"""A fresh K-way classifier in place of a model's final one (transfer to the user's classes).

`replace(model, K)` rewrites the flatbuffer object tree before `build_graph`, so everything
downstream (scheme, autodiff, plan, runtime, export) sees an ordinary model: the last trainable
op (a FULLY_CONNECTED, or a CONV_2D classifier as in MobileNet heads) gets new K-row weights and
a new bias, and every tensor from its output to the model output (through RESHAPE, pooling and
SOFTMAX) gets K classes and the quantisation below.

Choices, made for training (measured: NOTES.md, "Issue 12", bench/accuracy/new_head.py):
- Logits range, symmetric, zero point 0: [-R, R] with R = LOGIT_MARGIN * ln(512 (K - 1)).
  The softmax's int8 output (scale 1/256) shows a class below half a step as 0, so the
  cross-entropy gradient p - onehot vanishes once the label's logit leads every other by
  about ln(512 (K - 1)); a margin over that leaves room for the spread of logits across
  samples. Centred because p - onehot sums to zero over the classes and the head starts
  centred, so the mean logit stays near 0. The old head's range was calibrated on the old task
  (the demo CNN's MNIST head: [-41.5, 21.4]): new classes' trained logits pass its top, several
  classes saturate at +127 and argmax ties.
- Weight budget (the real value of int8 +-127), from that range and the features' real range
  X (the classifier input's int8 range): B = WEIGHT_REACH * R / X, i.e. one weight at its
  limit on a feature at the top of its range moves a logit by R / 2. The budget also bounds
  the logits: the loss gradient passes a saturated logit unchanged, so unbounded weights can
  push several logits past +R for good (what collapses training at a large learning rate).
  One scale, or K equal per-channel scales where the old weights were per channel.
- Initial weights: seeded uniform integers in +-127 // INIT_FRACTION (+-15, an eighth of the
  budget): the first logits are small, so the first loss is near ln K, and layers trained
  below the head get a gradient from the first step (zeros would give them none).
- Bias: zeros, scale = input scale x weight scale per channel, as TFLM requires.
- The softmax output keeps TFLM's fixed int8 parameters (1/256, -128).
"""
from __future__ import annotations

import json
import math

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from .errors import ConversionError, InvalidModelError, UnsupportedOpError
from .graph import Graph, Op, build_graph
from .tflite_io import get_metadata, set_metadata

# Marks the model's new classifier (inspect shows it; export() drops the mark).
METADATA_NAME = "tflm_train_new_head"
LOGIT_MARGIN = 4.0
WEIGHT_REACH = 0.5   # x R: what one weight at its int8 limit adds to a logit on a maximal feature
INIT_FRACTION = 8
WEIGHTS_NAME, BIAS_NAME = "new_head/weights", "new_head/bias"
# Ops that may stand between the classifier and the model output; pooling turns a map of class
# scores into a vector, RESHAPE only drops unit dimensions of a vector.
_POOLING = ("AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN")
# DEQUANTIZE: a float-output model's last op (its output keeps no quantisation).
_PASS_THROUGH = _POOLING + ("RESHAPE", "SOFTMAX", "DEQUANTIZE")
_PROBABILITY_SCALE, _PROBABILITY_ZERO_POINT = 1.0 / 256.0, -128


def logit_range(num_classes: int) -> float:
    """R: the new logits are quantised over [-R, R] (see the module docstring)."""
    return LOGIT_MARGIN * math.log(512.0 * (num_classes - 1))


def replace(model: schema.ModelT, num_classes: int, seed: int = 0) -> None:
    """Replace the final classifier of `model` (in place) with a fresh `num_classes`-way one."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 2:
        raise ConversionError(f"num_classes={num_classes!r}: a classifier needs an integer "
                              "number of classes >= 2")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConversionError(f"seed={seed!r}: the new classifier's seed must be an integer "
                              ">= 0")
    k = int(num_classes)
    graph = build_graph(model)
    head, chain = _find_classifier(graph)
    sg = model.subgraphs[0]
    x = graph.tensors[head.inputs[0]]
    old_w = graph.tensors[head.inputs[1]]
    feature_max = max(abs(float(x.scale[0]) * (q - int(x.zero_point[0]))) for q in (-128, 127))
    if not (math.isfinite(feature_max) and feature_max > 0):
        raise InvalidModelError(f"num_classes: the classifier's input tensor {head.inputs[0]} "
                                f"({x.name}) has scale {float(x.scale[0])}, so its real range "
                                "is empty or infinite")
    r = logit_range(k)
    budget = WEIGHT_REACH * r / feature_max
    w_scale = np.float32(budget / 127.0)
    n_scales = 1 if len(old_w.scale) == 1 else k
    rng = np.random.default_rng(seed)
    limit = 127 // INIT_FRACTION
    weights = rng.integers(-limit, limit + 1, size=(k,) + old_w.shape[1:]).astype(np.int8)

    w_t = _own_tensor(sg, graph, head.index, 1, WEIGHTS_NAME)
    _set_constant(model, sg.tensors[w_t], weights, schema.TensorType.INT8)
    _set_quantization(sg.tensors[w_t], [w_scale] * n_scales, [0] * n_scales)
    b_scale = [np.float32(float(x.scale[0]) * float(w_scale))] * n_scales
    if len(head.inputs) > 2 and head.inputs[2] >= 0:
        b_t = _own_tensor(sg, graph, head.index, 2, BIAS_NAME)
    else:  # the classifier had no bias: the new one gets one (it is trained with the weights)
        b_t = _append_tensor(sg, BIAS_NAME)
        op_t = sg.operators[head.index]
        op_t.inputs = list(op_t.inputs[:2]) + [b_t] + list(op_t.inputs[3:])
    _set_constant(model, sg.tensors[b_t], np.zeros(k, np.int32), schema.TensorType.INT32)
    _set_quantization(sg.tensors[b_t], b_scale, [0] * n_scales)

    logits_q = ([np.float32(2.0 * r / 255.0)], [0])
    quant = logits_q
    _resize(sg.tensors[head.outputs[0]], k, quant)
    for op in chain:
        if op.kind == "SOFTMAX":
            quant = ([np.float32(_PROBABILITY_SCALE)], [_PROBABILITY_ZERO_POINT])
        elif op.kind == "DEQUANTIZE":
            quant = None
        out = sg.tensors[op.outputs[0]]
        _resize(out, k, quant)
        if op.kind == "RESHAPE":
            _set_reshape_target(model, sg, graph, op, list(out.shape))
    set_metadata(model, METADATA_NAME, json.dumps(
        {"op": head.index, "num_classes": k, "seed": int(seed), "replaced_classes":
         int(old_w.shape[0]), "logit_range": r, "weight_scale": float(w_scale)}).encode())


def new_head_info(model: schema.ModelT) -> dict | None:
    """What replace() recorded ({"op", "num_classes", "seed", ...}), or None."""
    blob = get_metadata(model, METADATA_NAME)
    if blob is None:
        return None
    try:
        info = json.loads(blob.decode())
    except ValueError:
        info = None
    if not isinstance(info, dict) or not all(
            isinstance(info.get(key), int) for key in ("op", "num_classes", "seed",
                                                       "replaced_classes")):
        raise InvalidModelError(f"metadata '{METADATA_NAME}' does not hold what "
                                "convert(num_classes=...) writes")
    return info


def check_trained(graph: Graph, updates) -> None:
    """The new classifier starts from random weights: a scheme that does not train all of
    them would leave (part of) it random. `updates`: scheme.resolve's list."""
    head = graph.trainable_ops()[-1]
    for u in updates:
        if u.op.index == head.index and u.weight_channels == u.out_channels:
            return
    raise ConversionError("num_classes: the new classifier starts from random weights, so the "
                          "scheme must train all its weights (weights={-1: 1}, the default "
                          "scheme does)")


def _find_classifier(graph: Graph) -> tuple[Op, list[Op]]:
    """The last trainable op and the ops from its output to the model output, checked to form
    a classifier: class scores that end as a vector of the classes."""
    layers = graph.trainable_ops()
    if not layers:
        raise ConversionError("num_classes: the model has no trainable layer to replace "
                              "(CONV_2D or FULLY_CONNECTED classifier)")
    head = layers[-1]
    if head.kind not in ("FULLY_CONNECTED", "CONV_2D"):
        raise UnsupportedOpError(f"num_classes: the last trainable layer, op {head.index} "
                                 f"({head.kind}), is not a classifier (FULLY_CONNECTED or "
                                 "CONV_2D)")
    n = graph.tensors[head.inputs[1]].shape[0]
    t = head.outputs[0]
    chain: list[Op] = []
    while True:
        shape = graph.tensors[t].shape
        what = (f"op {chain[-1].index} ({chain[-1].kind})" if chain else
                f"the classifier, op {head.index} ({head.kind}),")
        if not shape or shape[-1] != n:
            raise UnsupportedOpError(f"num_classes: {what} outputs shape {list(shape)}, whose "
                                     f"last dimension is not the classifier's {n} classes")
        readers = graph.consumers(t)
        if not readers:
            break
        if len(readers) > 1:
            raise UnsupportedOpError(
                f"num_classes: tensor {t} ({graph.tensors[t].name}) after the classifier, op "
                f"{head.index}, is read by {len(readers)} ops; the class scores must reach the "
                "model output through one chain of RESHAPE, pooling and SOFTMAX")
        op = readers[0]
        if op.kind not in _PASS_THROUGH:
            raise UnsupportedOpError(
                f"num_classes: op {op.index} ({op.kind}) follows the classifier, op "
                f"{head.index}; only RESHAPE, AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, SOFTMAX and "
                "DEQUANTIZE may stand between it and the model output")
        is_vector = int(np.prod(shape[1:], dtype=np.int64)) == n
        if op.kind in ("RESHAPE", "SOFTMAX") and not is_vector:
            raise UnsupportedOpError(
                f"num_classes: the classifier, op {head.index} ({head.kind}), outputs a map "
                f"{list(shape)}, and op {op.index} ({op.kind}) reads it before any pooling to a "
                f"vector of the {n} classes; such a model is not a classifier this can replace")
        chain.append(op)
        t = op.outputs[0]
    if t not in graph.outputs:
        raise UnsupportedOpError(f"num_classes: the classifier's scores end in tensor {t} "
                                 f"({graph.tensors[t].name}), which is not a model output")
    shape = graph.tensors[t].shape
    if int(np.prod(shape[1:], dtype=np.int64)) != n:
        raise UnsupportedOpError(
            f"num_classes: the model output {t} has shape {list(shape)}, not a vector of the "
            f"classifier's {n} classes (a map of class scores needs a pooling to a vector)")
    return head, chain


def _own_tensor(sg, graph: Graph, op_index: int, slot: int, name: str) -> int:
    """The tensor in input `slot` of op `op_index`, rewritten in place if only that op reads it,
    else a new tensor (another op keeps the old one)."""
    t = sg.operators[op_index].inputs[slot]
    if len(graph.consumers(t)) == 1:
        sg.tensors[t].name = name
        return t
    new = _append_tensor(sg, name)
    inputs = list(sg.operators[op_index].inputs)
    inputs[slot] = new
    sg.operators[op_index].inputs = inputs
    return new


def _append_tensor(sg, name: str) -> int:
    t = schema.TensorT()
    t.name = name
    sg.tensors = list(sg.tensors) + [t]
    return len(sg.tensors) - 1


def _set_constant(model, tensor, data: np.ndarray, dtype: int) -> None:
    """Give `tensor` a buffer of its own holding `data`; an old buffer no other tensor uses is
    emptied (buffer indices must not move)."""
    old = tensor.buffer
    buf = schema.BufferT()
    buf.data = np.frombuffer(data.tobytes(), np.uint8).copy()
    model.buffers = list(model.buffers) + [buf]
    tensor.buffer = len(model.buffers) - 1
    tensor.type = dtype
    tensor.shape = list(data.shape)
    tensor.shapeSignature = None
    users = sum(t.buffer == old for sg in model.subgraphs for t in sg.tensors or [])
    if 0 < old < len(model.buffers) - 1 and users == 0 and not _is_metadata_buffer(model, old):
        model.buffers[old].data = None


def _is_metadata_buffer(model, index: int) -> bool:
    return any(m.buffer == index for m in model.metadata or [])


def _set_quantization(tensor, scales, zero_points) -> None:
    q = schema.QuantizationParametersT()
    q.scale = [float(s) for s in scales]
    q.zeroPoint = [int(z) for z in zero_points]
    q.quantizedDimension = 0
    tensor.quantization = q


def _resize(tensor, k: int, quant) -> None:
    """Last dimension -> k classes, with the given (scales, zero points) or, for a float
    tensor (quant None), none."""
    tensor.shape = list(tensor.shape[:-1]) + [k]
    if tensor.shapeSignature is not None and len(tensor.shapeSignature):
        tensor.shapeSignature = list(tensor.shapeSignature[:-1]) + [k]
    if quant is not None:
        _set_quantization(tensor, *quant)


def _set_reshape_target(model, sg, graph: Graph, op: Op, shape: list[int]) -> None:
    """RESHAPE to the new output shape: its shape input and its new_shape option, keeping a -1
    (inferred dimension) where the model had one."""
    op_t = sg.operators[op.index]
    opts = op_t.builtinOptions
    if opts is not None and getattr(opts, "newShape", None) is not None \
            and len(opts.newShape) == len(shape):
        opts.newShape = [-1 if int(d) == -1 else s for d, s in zip(opts.newShape, shape)]
    if len(op.inputs) > 1 and op.inputs[1] >= 0:
        old = graph.tensors[op.inputs[1]]
        target = shape
        if old.data is not None and old.data.size == len(shape):
            target = [-1 if int(d) == -1 else s for d, s in zip(old.data.reshape(-1), shape)]
        t = _own_tensor(sg, graph, op.index, 1, old.name)
        _set_constant(model, sg.tensors[t], np.asarray(target, np.int32),
                      schema.TensorType.INT32)
