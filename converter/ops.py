"""The one list of ops tflm-train runs: forward support and what backward support each has."""
from __future__ import annotations

from dataclasses import dataclass

from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema


@dataclass(frozen=True)
class OpInfo:
    name: str            # TFLite builtin operator name
    code: int            # TFLite builtin operator code
    trainable: bool      # has weights/bias an update scheme can select
    differentiable: bool # the backward pass can propagate a gradient through it
    dtypes: tuple[str, ...] = ("int8", "int32")
    min_inputs: int = 1  # inputs TFLM's Prepare requires (a hostile file may list fewer)
    registered: bool = True  # False: no runtime registration, only ever folded (shape_fold.py)


def _op(name: str, trainable: bool = False, differentiable: bool = False,
        dtypes: tuple[str, ...] = ("int8", "int32"), min_inputs: int = 1,
        registered: bool = True) -> OpInfo:
    return OpInfo(name, getattr(schema.BuiltinOperator, name), trainable, differentiable, dtypes,
                  min_inputs, registered)


OPS: dict[str, OpInfo] = {info.name: info for info in (
    _op("CONV_2D", trainable=True, differentiable=True, min_inputs=2),
    _op("DEPTHWISE_CONV_2D", trainable=True, differentiable=True, min_inputs=2),
    _op("FULLY_CONNECTED", trainable=True, differentiable=True, min_inputs=2),
    _op("RESHAPE", differentiable=True),
    _op("AVERAGE_POOL_2D", differentiable=True),
    _op("MEAN", differentiable=True, min_inputs=2),
    # SOFTMAX only as the model's last op, folded into the cross-entropy loss.
    _op("SOFTMAX", differentiable=True),
    # A scheme whose gradient would pass through a non-differentiable op is rejected at
    # convert time (converter/autodiff.py reads this flag).
    _op("ADD", differentiable=True, min_inputs=2),
    _op("MAX_POOL_2D", differentiable=True),
    _op("PAD", differentiable=True, min_inputs=2),
    _op("PADV2", differentiable=True, min_inputs=3),
    _op("CONCATENATION", differentiable=True),
    # float32 appears only at a model's float input/output, which training rejects anyway.
    _op("QUANTIZE", differentiable=True, dtypes=("int8", "float32")),
    _op("DEQUANTIZE", dtypes=("int8", "float32")),
    # Element-wise and activation ops (issue 12). RELU's gradient is a fused RELU's (its output
    # gates it); HARD_SWISH, LOGISTIC, LEAKY_RELU, MUL and SUB have float backward kernels
    # (kernels/training/). RELU6 has none: TFLM clamps it in the input's quantisation and
    # ignores the output's, which the TFLite converter makes differ.
    _op("MUL", differentiable=True, min_inputs=2),
    _op("SUB", differentiable=True, min_inputs=2),
    _op("MAXIMUM", min_inputs=2),
    _op("MINIMUM", min_inputs=2),
    _op("HARD_SWISH", differentiable=True),
    _op("LOGISTIC", differentiable=True),
    _op("TANH"),
    _op("RELU", differentiable=True),
    _op("RELU6"),
    _op("LEAKY_RELU", differentiable=True),
    _op("PRELU", min_inputs=2),
    # Layout ops (issue 12). SQUEEZE and EXPAND_DIMS keep the bytes, so their gradient is the
    # output gradient reshaped, as for RESHAPE; TRANSPOSE's is permuted back. STRIDED_SLICE runs
    # on int8 data; on int32 only folded, like SHAPE and PACK, where they compute a RESHAPE's
    # static shape (shape_fold.py).
    _op("TRANSPOSE", differentiable=True, min_inputs=2),
    _op("STRIDED_SLICE", min_inputs=4),
    _op("SQUEEZE", differentiable=True),
    _op("EXPAND_DIMS", differentiable=True, min_inputs=2),
    _op("SPLIT", min_inputs=2),
    _op("SPLIT_V", min_inputs=3),
    _op("RESIZE_NEAREST_NEIGHBOR", min_inputs=2),
    _op("SHAPE", registered=False),
    _op("PACK", registered=False),
)}


def op_info_for_code(code: int) -> OpInfo | None:
    for info in OPS.values():
        if info.code == code:
            return info
    return None
