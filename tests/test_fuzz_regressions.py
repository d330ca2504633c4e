"""Inputs the fuzzers (fuzz/, README "Reliability") found crashing, kept as regression tests.

Each crash input is stored under fuzz/regressions/<target>/ and replayed here through the same
entry point its target used; fuzz/smoke.sh also replays them through the targets themselves."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

import tflm_train
from tflm_train.binding import NativeSession, RuntimeFailure
from tflm_train.data import DEMO_MODEL
from tflm_train.converter.errors import ConversionError, InvalidModelError, UnsupportedOpError
from tflm_train.converter.program import METADATA_NAME
from tflm_train.converter.tflite_io import get_metadata, read_model, set_metadata, write_model

ROOT = Path(__file__).resolve().parent.parent
REGRESSIONS = ROOT / "fuzz" / "regressions"
DEMO = DEMO_MODEL


def regression(target: str, name: str) -> bytes:
    return (REGRESSIONS / target / name).read_bytes()


def test_every_stored_converter_crash_raises_only_conversion_errors():
    for path in sorted((REGRESSIONS / "converter").iterdir()):
        try:
            tflm_train.convert(path.read_bytes())
        except ConversionError:
            pass


def test_tensor_name_that_is_not_utf8_converts():
    # UnicodeDecodeError in graph._s: TFLite never checks that names are UTF-8.
    model = read_model(DEMO.read_bytes())
    model.subgraphs[0].tensors[1].name = b"conv\x9b\xff"
    extended = tflm_train.convert(write_model(model))
    NativeSession(extended)
    tflm_train.convert(regression("converter", "tensor_name_not_utf8"))


def test_asymmetric_weights_are_refused_by_converter_and_runtime_alike():
    # The converter accepted a CONV_2D weight zero point of 1 and wrote a plan the runtime then
    # refused (kUnsupported); TFLM's int8 kernels would ignore the zero point.
    tree = read_model(DEMO.read_bytes())
    conv = tree.subgraphs[0].operators[0]
    weights = tree.subgraphs[0].tensors[conv.inputs[1]]
    weights.quantization.zeroPoint = np.ones(len(weights.quantization.scale), dtype=np.int64)
    model = write_model(tree)
    with pytest.raises(UnsupportedOpError, match="symmetric"):
        tflm_train.convert(model)
    with pytest.raises(UnsupportedOpError, match="symmetric"):
        tflm_train.convert(regression("converter", "weight_zero_point_nonzero"))


def test_plan_beyond_32_bits_is_a_conversion_error():
    # struct.error from Program.encode: a tensor shape blown up to ~26 GB of arena. The fuzzer's
    # input grew one tensor only, which the structure checks now refuse first; a model whose
    # shapes agree with each other (every activation's batch x 2^22) still reaches the encoder.
    with pytest.raises(ConversionError, match="does not match"):
        tflm_train.convert(regression("converter", "plan_beyond_int32"))
    tree = read_model(DEMO.read_bytes())
    for t in tree.subgraphs[0].tensors:
        if tree.buffers[t.buffer].data is None and len(t.shape) >= 1:
            shape = np.array(t.shape)
            shape[0] *= 2**22
            t.shape = shape
    with pytest.raises(ConversionError, match="32-bit"):
        tflm_train.convert(write_model(tree))


def test_metadata_pointing_past_the_buffers_is_an_invalid_model():
    # IndexError in get_metadata.
    tree = read_model(DEMO.read_bytes())
    set_metadata(tree, "OfflineMemoryAllocation", b"\0" * 8)
    tree.metadata[-1].buffer = len(tree.buffers) + 5
    with pytest.raises(InvalidModelError, match="buffer"):
        tflm_train.convert(write_model(tree))


def patched_program(extended: bytes, patch) -> bytes:
    """`extended` with its training program's words changed by patch(words) (a list of int32)."""
    tree = read_model(extended)
    blob = get_metadata(tree, METADATA_NAME)
    words = list(struct.unpack(f"<{len(blob) // 4}i", blob))
    patch(words)
    set_metadata(tree, METADATA_NAME, struct.pack(f"<{len(words)}i", *words))
    return write_model(tree)


def test_layer_factor_offset_near_int32_max_is_refused():
    # program.cc Program::Load: weight_factors + out_channels overflowed int (UBSan); without a
    # sanitizer the sum wrapped negative, passed the bound and QAS factors were read far outside
    # the blob.
    off_layers = 13          # header word (program.h ProgramHeader)
    weight_factors, bias_factors = 6, 7   # LayerInfo words
    extended = tflm_train.convert(DEMO.read_bytes())
    for field in (weight_factors, bias_factors):
        def patch(words, field=field):
            words[words[off_layers] + field] = 2**31 - 1
        with pytest.raises(RuntimeFailure, match="layer 0 is malformed"):
            NativeSession(patched_program(extended, patch))
    # The fuzzer's input: the demo program with mutated layer words.
    assert (REGRESSIONS / "program_reader" / "layer_factor_offset_overflow").is_file()


def test_int32_sums_past_the_limit_wrap_like_tflm():
    # kernels/dot_product.h: with a bias trained to saturation (lr=1e30 in test_numeric_faults)
    # a conv sum left the int32 range: signed-overflow UB (UBSan). It now wraps explicitly, the
    # bits SMLAD and TFLM's int32 sums give; outputs equal the wheel at the limit.
    from tests.model_factory import wheel_outputs

    tree = read_model(DEMO.read_bytes())
    sg = tree.subgraphs[0]
    for op in sg.operators:
        if len(op.inputs) < 3:
            continue
        weights, bias = sg.tensors[op.inputs[1]], sg.tensors[op.inputs[2]]
        w = np.resize(np.array([127, -127, 127, 127], np.int8), int(np.prod(weights.shape)))
        b = np.resize(np.array([2**31 - 64, -2**31 + 64, 2**31 - 1], np.int32),
                      int(np.prod(bias.shape)))
        tree.buffers[weights.buffer].data = w.view(np.uint8)
        tree.buffers[bias.buffer].data = b.view(np.uint8)
    model = write_model(tree)
    session = NativeSession(tflm_train.convert(model, tflm_train.SparseUpdate(
        inference_only=True)))
    xs = np.random.default_rng(0).integers(-128, 128, size=(4, 28 * 28), dtype=np.int8)
    xs[0] = 127
    ours = np.stack([session.invoke(x) for x in xs])
    np.testing.assert_array_equal(ours, wheel_outputs(model, xs.reshape(4, 28, 28, 1)))


def test_denormal_output_scale_of_a_fused_activation_converts_or_is_refused_by_name():
    # OverflowError in autodiff._quantize_bound: RELU6 bound / 3e-45 was infinite.
    try:
        tflm_train.convert(regression("converter", "activation_bound_infinite"))
    except ConversionError:
        pass


def test_weight_scale_count_that_fits_no_channel_count_is_an_invalid_model():
    # ValueError from numpy's broadcast in autodiff (3 scales for 92 output channels); the
    # runtime refuses the same model as kInvalidModel ("weights need 1 or N scales").
    # The fuzzer's input also has an output of rank 9, which the structure checks refuse first.
    with pytest.raises(InvalidModelError, match="op 4 .FULLY_CONNECTED."):
        tflm_train.convert(regression("converter", "weight_scale_count"))
    with pytest.raises(InvalidModelError, match="need 1 or 8 scales, have 3"):
        tflm_train.convert(_demo_with_first_conv_scales(input_index=1, count=3))


@pytest.mark.parametrize("field", ["inputs", "outputs"])
def test_subgraph_io_naming_a_missing_tensor_is_an_invalid_model(field):
    # IndexError in compile_model's int8 check of the graph's inputs and outputs.
    tree = read_model(DEMO.read_bytes())
    setattr(tree.subgraphs[0], field, np.array([len(tree.subgraphs[0].tensors) + 3],
                                               dtype=np.int32))
    with pytest.raises(InvalidModelError, match="names tensor"):
        tflm_train.convert(write_model(tree))


def test_layer_without_weights_is_an_invalid_model():
    # IndexError in scheme.resolve: a CONV_2D whose inputs list was emptied (its outputs too:
    # refused by the first check that sees it).
    with pytest.raises(InvalidModelError, match=r"op 1 \(CONV_2D\) has no output tensor"):
        tflm_train.convert(regression("converter", "layer_without_weights"))


@pytest.mark.parametrize("scale", [float("nan"), float("inf"), 0.0, -0.5])
def test_weight_scale_that_is_not_positive_and_finite_is_refused_alike(scale):
    # kernels/quant_math.cc QuantizeMultiplier: a NaN weight scale reached a float-to-int64
    # conversion (UBSan, session fuzz target at tt_open). The runtime now refuses it by name,
    # and so does the converter.
    extended = read_model(tflm_train.convert(DEMO.read_bytes()))
    original = read_model(DEMO.read_bytes())
    for tree in (extended, original):
        conv = tree.subgraphs[0].operators[1]   # the depthwise conv
        quantization = tree.subgraphs[0].tensors[conv.inputs[1]].quantization
        quantization.scale = np.array(quantization.scale, dtype=np.float32)
        quantization.scale[2] = scale
    with pytest.raises(RuntimeFailure, match="weight scale 2 is .*not a positive finite number"):
        NativeSession(write_model(extended))
    with pytest.raises(InvalidModelError, match="weight scale 2 of tensor"):
        tflm_train.convert(write_model(original))


def test_int8_operand_without_quantization_is_an_invalid_model():
    # TypeError in autodiff.activation_mask_bounds: a ReLU output without scale / zero point;
    # the runtime refuses the same model (kInvalidModel, "no int8 quantisation parameters").
    with pytest.raises(InvalidModelError, match="has no quantisation parameters"):
        tflm_train.convert(regression("converter", "int8_output_without_quantization"))


def test_bias_scale_count_that_fits_no_channel_count_is_no_crash():
    # ValueError from numpy's broadcast in qas.factors (2 bias scales for 4 channels).
    # The fuzzer's input also has a SOFTMAX whose sizes differ, refused first by the structure
    # checks. TFLM never reads bias quantisation, so since issue 12 the same bias fault on the
    # demo model alone converts (QAS takes input x weight scale; tests/test_acceptance.py).
    with pytest.raises(InvalidModelError, match="op 5 .SOFTMAX."):
        tflm_train.convert(regression("converter", "bias_scale_count"))
    tflm_train.convert(_demo_with_first_conv_scales(input_index=2, count=2))


def _demo_with_first_conv_scales(input_index: int, count: int) -> bytes:
    """The demo model with the first conv's weights (1) or bias (2) cut to `count` scales."""
    tree = read_model(DEMO.read_bytes())
    t = tree.subgraphs[0].tensors[tree.subgraphs[0].operators[0].inputs[input_index]]
    t.quantization.scale = np.asarray(t.quantization.scale[:count])
    t.quantization.zeroPoint = np.zeros(count, dtype=np.int64)
    return write_model(tree)


def test_conv_stride_near_int32_max_is_refused():
    # kernels/quant_math.cc ComputePadding / ComputeOutSize summed file values in int32 (UBSan
    # at tt_open, session fuzz target); now in 64 bits, and the shape mismatch is refused.
    tree = read_model(tflm_train.convert(DEMO.read_bytes()))
    tree.subgraphs[0].operators[0].builtinOptions.strideW = 2**31 - 1
    with pytest.raises(RuntimeFailure, match="op 0"):
        NativeSession(write_model(tree))
    assert (REGRESSIONS / "session" / "conv_stride_overflow").is_file()


def test_activation_without_elements_is_refused_by_name():
    # ZeroDivisionError in fusions.emit_mean_head: a conv output of shape [1537, 0, 6, 6] made the
    # head's rows per channel group divide by zero positions.
    with pytest.raises(InvalidModelError, match=r"tensor 5 .* has no elements \(shape \[1537, 0, "
                                                r"6, 6\]\)"):
        tflm_train.convert(regression("converter", "activation_without_elements"))


def test_op_without_output_is_refused_by_name():
    # IndexError in autodiff._emit_backward: an op whose outputs list is empty.
    with pytest.raises(InvalidModelError, match=r"op \d+ \(\w+\) has no output tensor"):
        tflm_train.convert(regression("converter", "op_without_output"))


def test_op_with_too_few_inputs_is_refused_by_name():
    # IndexError in autodiff._emit_op_backward: an ADD listing one input.
    with pytest.raises(InvalidModelError, match=r"op 1 \(ADD\) needs 2 inputs; it has \[8\]"):
        tflm_train.convert(regression("converter", "add_with_one_input"))


@pytest.mark.parametrize("name, error, words", [
    # KeyError 'filter_h' in streaming.row_span: a pool whose options were mutated away.
    ("pool_without_options", InvalidModelError, r"op 1 \(AVERAGE_POOL_2D\): its builtin options"),
    # ValueError in qas.factors: 11 filter rows for 4 output channels.
    ("conv_filter_output_mismatch", UnsupportedOpError, r"op 0 \(CONV_2D\): filter \[11, 1, 1, 3\]"),
    # IndexError in emit.weight_scales: a pool output the window cannot produce.
    ("pool_output_negative", InvalidModelError, r"op 1 \(AVERAGE_POOL_2D\): output 4x9"),
    # A plan over 16 M rows (60 s hang in streaming): a conv output the window cannot produce.
    ("pool_output_mismatch_slow_plan", InvalidModelError, r"op 0 \(CONV_2D\): output 16252933x5"),
    # IndexError in autodiff: the model's output had no class dimension.
    ("model_output_scalar", InvalidModelError, r"op 1 \(AVERAGE_POOL_2D\): output 4x9"),
    # ValueError (NaN to int) in channel_data: an activation scale of NaN.
    ("activation_scale_nan", InvalidModelError, r"op 0 \(CONV_2D\): int8 tensor 6 .* scale nan"),
    # IndexError in the structure checks themselves: scales present, zero points empty (TFLM's
    # rule since issue 12: such a tensor is not quantised).
    ("zero_points_empty", InvalidModelError,
     r"op 5 \(FULLY_CONNECTED\): .* no quantisation parameters"),
    # struct.error in offline_plan.encode: the inference plan past 32-bit offsets (session 5,
    # after the issue-12 ops merged).
    ("inference_plan_beyond_int32", ConversionError, r"beyond TFLM's 32-bit offline-plan words"),
])
def test_structure_faults_found_by_the_converter_target_are_named(name, error, words):
    # Found in one hour of the converter target after session 4; since then the converter checks
    # each op's structure as the runtime's Prepare does (converter/structure.py) before any
    # analysis reads it, instead of one fix per finding.
    with pytest.raises(error, match=words):
        tflm_train.convert(regression("converter", name))


def test_scalar_model_output_is_refused_for_training():
    tree = read_model(DEMO.read_bytes())
    sg = tree.subgraphs[0]
    for t in (sg.tensors[sg.outputs[0]], sg.tensors[sg.operators[-1].inputs[0]]):
        t.shape = np.array([], dtype=np.int32)
    with pytest.raises(ConversionError):
        tflm_train.convert(write_model(tree))
