"""Mirrors of the argument structs of tests/native/forward_shim.cc (checked by test_layouts.py)."""
from __future__ import annotations

import ctypes
import functools
import sys

from tests.kernels.native import Args, Dims, Shim, Tile

F, D, I, P = ctypes.c_float, ctypes.c_double, ctypes.c_int32, ctypes.c_void_p


class QuantizeMultiplierArgs(Args):
    _fields_ = [("real", D), ("multiplier", I), ("shift", I)]
    _outputs_ = ("multiplier", "shift")


class MultiplyByQuantizedMultiplierArgs(Args):
    _fields_ = [("x", I), ("multiplier", I), ("shift", I), ("result", I)]
    _outputs_ = ("result",)


class RequantizeBothArgs(Args):
    _fields_ = [("acc", P), ("multiplier", P), ("shift", P), ("output_offset", P),
                ("act_min", P), ("act_max", P), ("n", I), ("mbqm_ref", P), ("mbqm_smull", P),
                ("out_ref", P), ("out_smull", P)]


class RequantizeDoubledArgs(Args):
    _fields_ = [("n", I), ("acc", P), ("multiplier", P), ("shift", P), ("output_offset", P),
                ("eligible", P), ("out", P), ("out8", P)]


class ConvArgs(Args):
    """CONV_2D (depth_multiplier 1) and DEPTHWISE_CONV_2D."""
    _fields_ = [("input", P), ("input_dims", Dims), ("input_scale", F), ("input_zero_point", I),
                ("filter", P), ("filter_dims", Dims), ("filter_scales", P),
                ("num_filter_scales", I), ("bias", P), ("output_scale", F),
                ("output_zero_point", I), ("depth_multiplier", I), ("stride", Tile),
                ("dilation", Tile), ("padding", I), ("activation", I), ("output", P),
                ("output_dims", Dims), ("filter_head", P), ("filter_head_channels", I)]
    _outputs_ = ("output_dims",)
    _optional_ = ("filter_head", "filter_head_channels")  # a split depthwise filter


class FullyConnectedArgs(Args):
    _fields_ = [("input", P), ("batches", I), ("depth", I), ("input_scale", F),
                ("input_zero_point", I), ("filter", P), ("units", I), ("filter_scales", P),
                ("num_filter_scales", I), ("filter_zero_point", I), ("bias", P),
                ("output_scale", F), ("output_zero_point", I), ("activation", I), ("output", P)]


class PoolArgs(Args):
    _fields_ = [("input", P), ("input_dims", Dims), ("output_scale", F),
                ("output_zero_point", I), ("filter", Tile), ("stride", Tile), ("padding", I),
                ("activation", I), ("output", P), ("output_dims", Dims)]
    _outputs_ = ("output_dims",)


class MeanArgs(Args):
    _fields_ = [("input", P), ("input_dims", Dims), ("input_scale", F), ("input_zero_point", I),
                ("output_scale", F), ("output_zero_point", I), ("output", P)]


class SoftmaxArgs(Args):
    _fields_ = [("input", P), ("outer", I), ("depth", I), ("beta", F), ("input_scale", F),
                ("output", P)]


class AddArgs(Args):
    _fields_ = [("input1", P), ("input1_dims", Dims), ("input1_scale", F),
                ("input1_zero_point", I), ("input2", P), ("input2_dims", Dims),
                ("input2_scale", F), ("input2_zero_point", I), ("output_scale", F),
                ("output_zero_point", I), ("activation", I), ("output_dims", Dims),
                ("output", P)]


class PadArgs(Args):
    _fields_ = [("input", P), ("input_dims", Dims), ("before", I * 4), ("after", I * 4),
                ("has_constant", I), ("constant", I), ("output_zero_point", I), ("output", P)]


class ConcatenationArgs(Args):
    _fields_ = [("num_inputs", I), ("inputs", P), ("axis_sizes", P), ("scales", P),
                ("zero_points", P), ("output_scale", F), ("output_zero_point", I),
                ("requantize", I), ("outer", I), ("inner", I), ("output", P)]


class QuantizeArgs(Args):
    _fields_ = [("input", P), ("size", I), ("scale", F), ("zero_point", I), ("output", P)]


class RequantizeArgs(Args):
    _fields_ = [("input", P), ("size", I), ("input_scale", F), ("input_zero_point", I),
                ("output_scale", F), ("output_zero_point", I), ("output", P)]


class DequantizeArgs(Args):
    _fields_ = [("input", P), ("size", I), ("scale", F), ("zero_point", I), ("output", P)]


@functools.lru_cache(maxsize=None)
def load() -> Shim:
    return Shim("forward_shim", sys.modules[__name__])
