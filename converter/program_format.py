"""The one definition of the training-program format, as plain data.

The Python encoder/decoder (program.py) and the C++ runtime both take their names and numbers
from here: `python -m tflm_train.converter.gen_headers` writes
tflm_train/runtime/program_format.h from this file (tests/test_program_format.py fails when the
checked-in header is stale). Changing a layout means bumping VERSION.

Layout: little-endian int32 words (floats as their IEEE bits), so the runtime can verify it with
plain bounds checks. Sections, in file order after the header:
  model tensor table: one word per subgraph-0 tensor: its arena offset, or -1 (constant in
      flash, or unused)
  extra tensor table: EXTRA_TENSOR_FIELDS per extra tensor (gradients, scratch)
  op table: OP_FIELDS per subgraph-0 op: arena offset of its prepared state (-1: folded at
      convert time, never prepared or run, converter/shape_fold.py), and word offset of its
      per-channel requantisation data in the channel-data section (-1 when it has none)
  layer table: LAYER_FIELDS per updated layer, including the persistent offsets of its
      optimizer state (momentum / mini-batch gradient sums) or -1
  instruction stream: per instruction: opcode, argument count, arguments
  float pool: QAS factors and per-channel weight scales
  channel-data section: per op with one, out_channels multipliers then out_channels shifts
      (converter/channel_data.py); the runtime reads them in place from flash after checking
      each channel against its own computation
"""
from __future__ import annotations

from dataclasses import dataclass

METADATA_NAME = "tflm_train"
MAGIC = 0x4E525454  # b"TTRN" read as a little-endian word
VERSION = 5
# Bytes the converter reserves per op for the runtime's prepared state (OpState in
# tflm_train/runtime/op_state.h, which static_asserts that it fits): OP_STATE_BYTES, or less
# for the kinds below (the registration pointer and that kind's member of the union, on a
# 64-bit host; the sizes are the same on every target so host and board plans agree). Op
# states sit back to back in op order; the runtime checks each slot against its op's kind.
OP_STATE_BYTES = 64
OP_STATE_KIND_BYTES = {"CONV_2D": 48, "DEPTHWISE_CONV_2D": 56, "FULLY_CONNECTED": 56,
                       "AVERAGE_POOL_2D": 40, "MAX_POOL_2D": 40, "MEAN": 32, "SOFTMAX": 24}
# Arena offsets the planner hands out are multiples of this.
ALIGNMENT = 16
# Longest argument list an instruction may have (the runtime decodes into a fixed array).
MAX_INSTRUCTION_ARGS = 16

# Header words in order: (name, what it holds). A field's word index is its position.
HEADER = (
    ("magic", "MAGIC"),
    ("version", "VERSION"),
    ("total_words", "words in the whole program"),
    ("n_model_tensors", "subgraph-0 tensors (entries of the model tensor table)"),
    ("n_extra", "extra tensors (gradients, scratch)"),
    ("n_ops", "subgraph-0 ops (entries of the op table)"),
    ("n_layers", "updated layers"),
    ("n_instructions", "instructions in the stream"),
    ("n_forward", "leading instructions that make up inference"),
    ("n_floats", "floats in the float pool"),
    ("off_model", "word offset of the model tensor table"),
    ("off_extra", "word offset of the extra tensor table"),
    ("off_ops", "word offset of the op table"),
    ("off_layers", "word offset of the layer table"),
    ("off_instructions", "word offset of the instruction stream"),
    ("off_floats", "word offset of the float pool"),
    ("persistent_bytes", "arena bytes of op states, trained tensors and optimizer state"),
    ("arena_bytes", "whole planned arena"),
    ("input_tensor", "model input tensor"),
    ("output_tensor", "model output tensor"),
    ("num_classes", "output elements (classes, or regression targets)"),
    ("flags", "FLAGS"),
    ("instruction_words", "words of the instruction stream"),
    ("momentum_bits", "SGD momentum as float bits"),
    ("off_channel_data", "word offset of the per-channel requantisation words"),
    ("channel_data_words", "words of the channel-data section"),
)
HEADER_FIELDS = tuple(name for name, _ in HEADER)
HEADER_WORDS = len(HEADER_FIELDS)

# One entry of the extra tensor table.
EXTRA_TENSOR_FIELDS = ("dtype", "elements", "offset")
# One entry of the op table.
OP_FIELDS = ("state_offset", "channel_data")
# One entry of the layer table: (name, what it holds).
LAYER = (
    ("op_index", "the trained op"),
    ("weight_tensor", "its weight tensor"),
    ("bias_tensor", "its bias tensor, or -1"),
    ("out_channels", "output channels"),
    ("weight_channels", "leading output channels whose weights are updated"),
    ("update_bias", "1 if the bias is updated"),
    ("weight_factors", "float pool index of out_channels QAS factors"),
    ("bias_factors", "float pool index of out_channels bias QAS factors, or -1"),
    ("weight_state", "persistent offset of weight_channels x per-channel floats, or -1"),
    ("bias_state", "persistent offset of out_channels floats, or -1"),
)
LAYER_FIELDS = tuple(name for name, _ in LAYER)
LAYER_WORDS = len(LAYER_FIELDS)

DTYPES = (("FLOAT32", 0), ("INT8", 1), ("INT32", 2))

FLAGS = (
    ("QAS", 1, "weight updates are scaled by QAS factors"),
    ("LOSS_FROM_SOFTMAX", 2, "the loss folds the final SOFTMAX in (LOSS_SOFTMAX_CE)"),
    ("OPTIMIZER_STATE", 4, "layers carry float state: momentum and/or mini-batch sums"),
    ("LOSS_MSE", 8, "regression: per-step real targets instead of a class label"),
    ("INPUT_SOURCE", 16, "the input tensor is never stored: the STREAM_CHAIN reading it asks "
                         "the caller's input source for its rows (tt_set_input_source)"),
)


@dataclass(frozen=True)
class OpcodeSpec:
    name: str
    number: int
    args: tuple[str, ...]  # argument names in order; "|-1" marks an optional one
    doc: str

    @property
    def arg_names(self) -> tuple[str, ...]:
        return tuple(a.split("|")[0] for a in self.args)


OPCODES = (
    OpcodeSpec("FORWARD", 1, ("op",), "run subgraph-0 op `op`"),
    OpcodeSpec("LOSS_SOFTMAX_CE", 2, ("logits", "grad"),
               "cross-entropy of the final SOFTMAX from the int8 logits it reads (its beta "
               "applied); grad (float) of the logits"),
    OpcodeSpec("LOSS_LOGITS_CE", 3, ("logits", "grad"), "cross-entropy from int8 logits"),
    OpcodeSpec("ACTIVATION_GRAD", 4, ("grad", "output", "lo", "hi"),
               "float grad in place, masked where the saved int8 output is outside (lo, hi)"),
    OpcodeSpec("INPUT_GRAD", 5, ("op", "grad_out", "grad_in", "weight_scales|-1"),
               "gradient of op's input 0; weight_scales: float pool index"),
    OpcodeSpec("BIAS_UPDATE", 6, ("op", "grad_out", "layer"), "bias update of a layer"),
    OpcodeSpec("WEIGHT_UPDATE", 7, ("op", "grad_out", "layer", "scratch"),
               "weight update of a layer, one output channel at a time"),
    OpcodeSpec("LOSS_MSE", 8, ("prediction", "grad"),
               "mean squared error of the int8 output; targets given per step"),
    OpcodeSpec("GRAD_ACCUMULATE", 9, ("src", "dst"),
               "dst += src (a tensor with several consumers)"),
    OpcodeSpec("GRAD_COPY", 10, ("src", "dst"), "dst = src"),
    OpcodeSpec("INPUT_GRAD_AT", 11, ("op", "grad_out", "grad_in", "input"),
               "gradient of op's input `input` (ops with several inputs)"),
    OpcodeSpec("SAVE_MASK", 12, ("output", "mask", "lo", "hi"),
               "forward: 1 bit per element of the int8 output, inside (lo, hi)"),
    OpcodeSpec("MASK_GRAD", 13, ("grad", "mask", "output", "lo", "hi"),
               "activation backward from the bits SAVE_MASK saved of `output`"),
    OpcodeSpec("MEAN_HEAD_BACKWARD", 14,
               ("conv", "g_mean", "group", "mask|-1", "g_in|-1", "temp|-1", "layer|-1",
                "scales|-1"),
               "backward of a CONV_2D whose output only feeds a spatial MEAN, one group of "
               "output channels at a time (the MEAN input's gradient never exists whole)"),
    OpcodeSpec("DEPTHWISE_GRAD_IN_PLACE", 15,
               ("op", "grad", "scratch", "weight_scales", "channel_group"),
               "depthwise input gradient written over its output gradient"),
    OpcodeSpec("STREAM_CHAIN", 16, ("first_op", "op_count", "scratch"),
               "forward ops [first_op, first_op + op_count) row by row; scratch: the row windows, "
               "then the conv kernels' scratch (converter/streaming.py)"),
    OpcodeSpec("BOTTLENECK_BACKWARD", 17,
               ("p", "d", "x", "g_out", "g_x|-1", "grad_e2", "grad_e1", "temp|-1", "group",
                "mask_d|-1", "mask_x|-1", "layer_d|-1", "layer_x|-1", "scales_p", "scales_d",
                "scales_x|-1"),
               "inverted-bottleneck backward (1x1 project P <- depthwise D <- expand conv X) by "
               "groups of expanded channels (tflm_train/runtime/block_backward.cc)"),
    OpcodeSpec("MEAN_HEAD_FORWARD", 18, ("conv", "mean", "group", "mask|-1", "lo", "hi"),
               "forward CONV_2D `conv` and the spatial MEAN `mean` that alone reads it, one group "
               "of output channels at a time through `group` (int8 [positions, G]); with "
               "training, the conv output's activation mask bits inside (lo, hi): the conv "
               "output never exists whole"),
    OpcodeSpec("SAVE_CHANNELS", 19, ("src", "dst", "channels"),
               "forward: channels [0, channels) of int8 activation `src` ([positions, C]) into "
               "`dst` ([positions, channels]): a partially trained depthwise filter's gradient "
               "(BOTTLENECK_BACKWARD) reads only those, so `src` need not live until the "
               "backward pass"),
)

assert all(len(op.args) <= MAX_INSTRUCTION_ARGS for op in OPCODES)
assert len({op.number for op in OPCODES}) == len(OPCODES)
