"""Mirrors of the kernels' params structs and of the argument structs of
tests/native/training_shim.cc (checked by test_layouts.py)."""
from __future__ import annotations

import ctypes
import functools
import sys

from tests.kernels.native import ActivationRange, Args, Dims, Shim, Tile

F, I, U, P = ctypes.c_float, ctypes.c_int32, ctypes.c_uint32, ctypes.c_void_p


class ConvParams(ctypes.Structure):
    _fields_ = [("input_offset", I), ("output_offset", I), ("stride", Tile), ("padding", Tile),
                ("dilation", Tile), ("activation", ActivationRange)]


class DepthwiseParams(ctypes.Structure):
    _fields_ = [("input_offset", I), ("output_offset", I), ("depth_multiplier", I),
                ("stride", Tile), ("padding", Tile), ("dilation", Tile),
                ("activation", ActivationRange)]


class PoolParams(ctypes.Structure):
    _fields_ = [("stride", Tile), ("padding", Tile), ("filter", Tile),
                ("activation", ActivationRange)]


class FilterRows(ctypes.Structure):
    _fields_ = [("base", P), ("head", P), ("head_rows", I), ("row_size", I)]


class SgdParams(ctypes.Structure):
    _fields_ = [("learning_rate", F), ("momentum", F), ("rounding", I)]


class ChannelSlice(ctypes.Structure):
    _fields_ = [("outer", I), ("channels", I), ("inner", I), ("c_begin", I), ("c_end", I)]


FULL_RANGE = ActivationRange(-128, 127)


def conv_params(stride, padding, dilation, input_zero_point=0) -> ConvParams:
    """Backward kernels read the geometry and the input offset; no output stage."""
    return ConvParams(input_offset=-input_zero_point, output_offset=0, stride=stride,
                      padding=padding, dilation=dilation, activation=FULL_RANGE)


def depthwise_params(stride, padding, dilation, depth_multiplier,
                     input_zero_point=0) -> DepthwiseParams:
    return DepthwiseParams(input_offset=-input_zero_point, output_offset=0,
                           depth_multiplier=depth_multiplier, stride=stride, padding=padding,
                           dilation=dilation, activation=FULL_RANGE)


def pool_params(stride, padding, filter) -> PoolParams:
    return PoolParams(stride=stride, padding=padding, filter=filter, activation=FULL_RANGE)


class FloatMathArgs(Args):
    _fields_ = [("size", I), ("x", P), ("y", P)]


class ConvInputGradArgs(Args):
    _fields_ = [("params", ConvParams), ("output_dims", Dims), ("grad_output", P),
                ("filter_dims", Dims), ("filter", P), ("filter_scales", P), ("input_dims", Dims),
                ("grad_input", P)]


class ConvFilterGradArgs(Args):
    _fields_ = [("params", ConvParams), ("input_dims", Dims), ("input", P), ("input_scale", F),
                ("output_dims", Dims), ("grad_output", P), ("filter_dims", Dims),
                ("c_begin", I), ("c_end", I), ("grad_filter", P)]


class DepthwiseInputGradArgs(Args):
    _fields_ = [("params", DepthwiseParams), ("output_dims", Dims), ("grad_output", P),
                ("filter_dims", Dims), ("filter", P), ("filter_stride", I),
                ("filter_scales", P), ("input_dims", Dims), ("grad_input", P), ("head", P),
                ("head_stride", I), ("head_channels", I)]
    _optional_ = ("head", "head_stride", "head_channels")  # a split filter


class DepthwiseInPlaceArgs(Args):
    _fields_ = [("params", DepthwiseParams), ("dims", Dims), ("filter_dims", Dims),
                ("filter", P), ("filter_scales", P), ("group", I), ("scratch", P), ("grad", P),
                ("head", P), ("head_stride", I), ("head_channels", I)]
    _optional_ = ("head", "head_stride", "head_channels")


class DepthwiseFilterGradArgs(Args):
    _fields_ = [("params", DepthwiseParams), ("input_dims", Dims), ("input", P),
                ("input_scale", F), ("output_dims", Dims), ("grad_output", P),
                ("filter_dims", Dims), ("c_begin", I), ("c_end", I), ("grad_filter", P)]


class BiasGradArgs(Args):
    _fields_ = [("positions", I), ("channels", I), ("grad_output", P), ("c_begin", I),
                ("c_end", I), ("grad_bias", P)]


class FullyConnectedInputGradArgs(Args):
    _fields_ = [("batches", I), ("output_depth", I), ("grad_output", P), ("filter", P),
                ("filter_scales", P), ("input_depth", I), ("grad_input", P)]


class FullyConnectedFilterGradArgs(Args):
    _fields_ = [("batches", I), ("input_depth", I), ("input", P), ("input_offset", I),
                ("input_scale", F), ("output_depth", I), ("grad_output", P), ("r_begin", I),
                ("r_end", I), ("grad_filter", P)]


class PointwiseInputGradChannelsArgs(Args):
    _fields_ = [("positions", I), ("output_channels", I), ("grad_output", P),
                ("filter", FilterRows), ("filter_scales", P), ("ci_begin", I), ("ci_end", I),
                ("grad_input", P)]


class PoolGradArgs(Args):
    _fields_ = [("params", PoolParams), ("input_dims", Dims), ("input", P),
                ("output_dims", Dims), ("grad_output", P), ("grad_input", P)]


class MeanGradArgs(Args):
    _fields_ = [("input_dims", Dims), ("grad_output", P), ("grad_input", P)]


class PadGradArgs(Args):
    _fields_ = [("output_dims", Dims), ("grad_output", P), ("pad_before", I * 4),
                ("input_dims", Dims), ("grad_input", P)]


class ConcatenationGradArgs(Args):
    _fields_ = [("outer", I), ("inner", I), ("num_inputs", I), ("axis_sizes", P),
                ("grad_output", P), ("grad_inputs", P)]


class ActivationGradArgs(Args):
    _fields_ = [("size", I), ("output", P), ("range", ActivationRange), ("grad_output", P),
                ("grad_input", P)]


class UnaryGradArgs(Args):
    _fields_ = [("size", I), ("input", P), ("scale", F), ("zero_point", I), ("alpha", F),
                ("grad_output", P), ("grad_input", P)]


class TransposeGradArgs(Args):
    _fields_ = [("rank", I), ("input_shape", P), ("perm", P), ("grad_output", P),
                ("grad_input", P)]


class BinaryGradArgs(Args):
    _fields_ = [("rank1", I), ("shape1", P), ("rank2", I), ("shape2", P), ("which", I),
                ("other", P), ("other_scale", F), ("other_zero_point", I), ("grad_output", P),
                ("grad_input", P)]


class MaskGroupArgs(Args):
    _fields_ = [("positions", I), ("channels", I), ("c_begin", I), ("group", I), ("mask", P),
                ("grad", P)]


class SoftmaxCrossEntropyLogitsArgs(Args):
    _fields_ = [("num_classes", I), ("logits", P), ("label", I), ("grad", P), ("loss", F)]
    _outputs_ = ("loss",)


class SoftmaxCrossEntropyInt8LogitsArgs(Args):
    _fields_ = [("num_classes", I), ("logits", P), ("scale", F), ("beta", F), ("label", I),
                ("grad", P), ("loss", F)]
    _outputs_ = ("loss",)


class MeanSquaredErrorArgs(Args):
    _fields_ = [("size", I), ("prediction", P), ("target", P), ("grad", P), ("loss", F)]
    _outputs_ = ("loss",)


class MeanSquaredErrorInt8Args(Args):
    _fields_ = [("size", I), ("prediction", P), ("scale", F), ("zero_point", I),
                ("target", P), ("grad", P), ("loss", F)]
    _outputs_ = ("loss",)


_SGD_FIELDS = [("weights", P), ("params", SgdParams), ("slice", ChannelSlice), ("grad", P),
               ("factor", P), ("momentum", P), ("rng_state", U)]


class SgdInt8Args(Args):
    _fields_ = _SGD_FIELDS


class SgdInt32Args(Args):
    """weights: the int32 biases."""
    _fields_ = _SGD_FIELDS


class GradAccumulateArgs(Args):
    _fields_ = [("size", I), ("grad", P), ("accumulator", P)]


class GradScaleArgs(Args):
    _fields_ = [("size", I), ("factor", F), ("buffer", P)]


class DeterminismDigestArgs(Args):
    _fields_ = [("digest", U * 12)]
    _outputs_ = ("digest",)


@functools.lru_cache(maxsize=None)
def load() -> Shim:
    return Shim("training_shim", sys.modules[__name__])
