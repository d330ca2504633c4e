"""The training program stored in the extended .tflite (metadata entry "tflm_train").

Layout: little-endian int32 words (floats as their IEEE bits), so the C++ runtime can verify it
with plain bounds checks. Its reader is tflm_train/runtime/program.h; the opcode numbers below
must equal the C++ enum there (a test checks it).

  header (HEADER_WORDS words): MAGIC, VERSION, total words, then the counts and word offsets of
  the sections below, arena sizes, input/output tensor, flags
  model tensor table: one word per subgraph-0 tensor: its arena offset, or -1 (constant in
      flash, or unused)
  extra tensor table: 3 words per extra tensor (gradients, scratch): dtype, elements, offset
  op table: 2 words per subgraph-0 op: arena offset of its prepared state, and word offset of
      its per-channel requantisation data in the channel-data section (-1 when it has none)
  layer table: LAYER_WORDS words per updated layer (see Layer), including the persistent
      offsets of its optimizer state (momentum / mini-batch gradient sums) or -1
  instruction stream: per instruction: opcode, argument count, arguments
  float pool: QAS factors
  channel-data section: per op with one, out_channels multipliers then out_channels shifts
      (converter/channel_data.py); the runtime reads them in place from flash after checking
      each channel against its own computation
"""
from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field

import numpy as np

from .errors import ConversionError

METADATA_NAME = "tflm_train"
MAGIC = 0x4E525454  # b"TTRN"
VERSION = 3
HEADER_WORDS = 26
LAYER_WORDS = 10
# Size of the runtime's per-op prepared state (OpState in tflm_train/runtime/op_state.h).
OP_STATE_BYTES = 64
ALIGNMENT = 16


class Opcode(enum.IntEnum):
    FORWARD = 1           # op_index: run subgraph-0 op op_index
    LOSS_SOFTMAX_CE = 2   # probs(int8 softmax output), grad(float, of softmax input)
    LOSS_LOGITS_CE = 3    # logits(int8), grad(float)
    ACTIVATION_GRAD = 4   # grad(float, in place), saved output(int8), lo, hi (exclusive)
    INPUT_GRAD = 5        # op_index, grad_out, grad_in, weight-scales float index or -1
    BIAS_UPDATE = 6       # op_index, grad_out, layer
    WEIGHT_UPDATE = 7     # op_index, grad_out, layer, scratch
    LOSS_MSE = 8          # prediction(int8 output), grad(float); target given per step
    GRAD_ACCUMULATE = 9   # src(float), dst(float): dst += src (a tensor with several consumers)
    GRAD_COPY = 10        # src(float), dst(float): dst = src
    INPUT_GRAD_AT = 11    # op_index, grad_out, grad_in, input index (ops with several inputs)
    SAVE_MASK = 12        # output(int8), mask(int8 bytes, 1 bit per element), lo, hi: forward
    MASK_GRAD = 13        # grad(float, in place), mask, output, lo, hi: activation backward
                          # from the bits SAVE_MASK saved of `output` (a forward tensor)
    MEAN_HEAD_BACKWARD = 14  # mean_op, conv_op, g_mean, group, mask|-1, g_in|-1, temp|-1,
                          # layer|-1: the backward of a CONV_2D whose output only feeds a
                          # spatial MEAN, one group of output channels at a time, so the
                          # broadcast gradient of the MEAN input never exists whole
    DEPTHWISE_GRAD_IN_PLACE = 15  # op_index, grad (output grad in, input grad out), scratch,
                          # weight-scales float index, channel group
    BOTTLENECK_BACKWARD = 17  # P, D, X ops (1x1 project <- depthwise <- expand conv), g_out(P),
                          # g_in(X)|-1, grad group of D's output, of D's input (+ filter group),
                          # temp|-1, group, mask(D out)|-1, mask(X out)|-1, layer D|-1,
                          # layer X|-1, scales P, D, X|-1: the block backward by groups of
                          # expanded channels (tflm_train/runtime/block_backward.cc)
    STREAM_CHAIN = 16     # first op, op count, int8 scratch: ops row by row (converter/streaming.py)


class DType(enum.IntEnum):
    FLOAT32 = 0
    INT8 = 1
    INT32 = 2


class Flags(enum.IntFlag):
    QAS = 1
    LOSS_FROM_SOFTMAX = 2
    OPTIMIZER_STATE = 4   # layers carry float state: momentum and/or mini-batch sums
    LOSS_MSE = 8          # regression: per-step real targets instead of a class label


@dataclass
class ExtraTensor:
    dtype: DType
    elements: int
    offset: int = -1

    @property
    def nbytes(self) -> int:
        return self.elements * (1 if self.dtype == DType.INT8 else 4)


@dataclass
class Layer:
    op_index: int
    weight_tensor: int
    bias_tensor: int          # -1 if the layer has no bias
    out_channels: int
    weight_channels: int      # leading output channels whose weights are updated
    update_bias: bool
    weight_factors: int = -1  # float pool index of out_channels QAS factors
    bias_factors: int = -1
    weight_state: int = -1    # persistent offset of weight_channels x per-channel floats
    bias_state: int = -1      # persistent offset of out_channels floats


@dataclass
class Instruction:
    opcode: Opcode
    args: list[int]


@dataclass
class Program:
    n_model_tensors: int
    n_ops: int
    input_tensor: int
    output_tensor: int
    num_classes: int
    flags: Flags
    model_offsets: list[int] = field(default_factory=list)
    extra: list[ExtraTensor] = field(default_factory=list)
    op_state: list[int] = field(default_factory=list)
    op_channel_data: list[int] = field(default_factory=list)  # word offsets into channel_words
    channel_words: list[int] = field(default_factory=list)
    layers: list[Layer] = field(default_factory=list)
    instructions: list[Instruction] = field(default_factory=list)
    n_forward: int = 0
    floats: list[float] = field(default_factory=list)
    persistent_bytes: int = 0
    arena_bytes: int = 0
    momentum: float = 0.0

    def encode(self) -> bytes:
        words: list[int] = [0] * HEADER_WORDS
        def section(values):
            start = len(words)
            words.extend(int(v) for v in values)
            return start
        off_model = section(self.model_offsets)
        off_extra = section(v for t in self.extra for v in (t.dtype, t.elements, t.offset))
        off_ops = section(v for pair in zip(self.op_state, self.op_channel_data) for v in pair)
        off_layers = section(v for l in self.layers for v in (
            l.op_index, l.weight_tensor, l.bias_tensor, l.out_channels, l.weight_channels,
            int(l.update_bias), l.weight_factors, l.bias_factors, l.weight_state,
            l.bias_state))
        off_instr = section(v for ins in self.instructions
                            for v in (int(ins.opcode), len(ins.args), *ins.args))
        off_floats = len(words)
        words.extend(struct.unpack(f"<{len(self.floats)}i",
                                   np.asarray(self.floats, dtype="<f4").tobytes()))
        off_channel = section(self.channel_words)
        header = [MAGIC, VERSION, len(words), self.n_model_tensors, len(self.extra), self.n_ops,
                  len(self.layers), len(self.instructions), self.n_forward, len(self.floats),
                  off_model, off_extra, off_ops, off_layers, off_instr, off_floats,
                  self.persistent_bytes, self.arena_bytes, self.input_tensor,
                  self.output_tensor, self.num_classes, int(self.flags),
                  off_floats - off_instr,
                  struct.unpack("<i", struct.pack("<f", self.momentum))[0],
                  off_channel, len(self.channel_words)]
        words[:HEADER_WORDS] = header
        # Every field is an int32 on the device: a model whose tensors need offsets or counts
        # past 2^31 cannot be planned (struct.error would not say why).
        too_big = [w for w in words if not -2**31 <= w < 2**31]
        if too_big:
            raise ConversionError(
                f"the training plan needs a value of {max(too_big, key=abs)}, beyond the "
                f"program format's 32-bit fields (arena {self.arena_bytes} B): the model's "
                "tensors are too large for a microcontroller")
        return struct.pack(f"<{len(words)}i", *words)

    @staticmethod
    def header_fields() -> list[str]:
        return ["magic", "version", "total_words", "n_model_tensors", "n_extra", "n_ops",
                "n_layers", "n_instructions", "n_forward", "n_floats", "off_model",
                "off_extra", "off_ops", "off_layers", "off_instructions", "off_floats",
                "persistent_bytes", "arena_bytes", "input_tensor", "output_tensor",
                "num_classes", "flags", "instruction_words", "momentum_bits",
                "off_channel_data", "channel_data_words"]


def decode_header(blob: bytes) -> dict[str, int]:
    """Header fields of an encoded program (used by `inspect` and tests)."""
    if len(blob) < HEADER_WORDS * 4:
        raise ValueError(f"training program too short: {len(blob)} bytes")
    values = struct.unpack(f"<{HEADER_WORDS}i", blob[:HEADER_WORDS * 4])
    return dict(zip(Program.header_fields(), values))
