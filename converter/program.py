"""The training program stored in the extended .tflite (metadata entry "tflm_train"): its
encoder and decoder. The format itself (header fields, records, opcodes, flags, constants) is
defined once in program_format.py, which also generates the runtime's C++ names.
"""
from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field, fields, replace

import numpy as np

from .errors import ConversionError
from .program_format import (ALIGNMENT, DTYPES, EXTRA_TENSOR_FIELDS, FLAGS, HEADER_FIELDS,
                             HEADER_WORDS, LAYER_FIELDS, LAYER_WORDS, MAGIC, METADATA_NAME,
                             OP_FIELDS, OP_STATE_BYTES, OP_STATE_KIND_BYTES, OPCODES,
                             VERSION)

Opcode = enum.IntEnum("Opcode", [(op.name, op.number) for op in OPCODES], module=__name__)
DType = enum.IntEnum("DType", list(DTYPES), module=__name__)
Flags = enum.IntFlag("Flags", [(name, value) for name, value, _ in FLAGS], module=__name__)


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

    def copy(self) -> Program:
        """An independent copy (the planner changes offsets and instructions in place). The
        stream search copies a program per candidate: copy.deepcopy walked every int of the
        channel data and took most of a conversion's time."""
        return replace(
            self, model_offsets=list(self.model_offsets),
            extra=[replace(e) for e in self.extra], op_state=list(self.op_state),
            op_channel_data=list(self.op_channel_data), channel_words=list(self.channel_words),
            layers=[replace(layer) for layer in self.layers],
            instructions=[Instruction(i.opcode, list(i.args)) for i in self.instructions],
            floats=list(self.floats))

    def encode(self) -> bytes:
        words: list[int] = [0] * HEADER_WORDS
        def section(records, names):
            start = len(words)
            for record in records:
                words.extend(int(record[name]) for name in names)
            return start
        off_model = section(({"offset": o} for o in self.model_offsets), ("offset",))
        off_extra = section((vars(t) for t in self.extra), EXTRA_TENSOR_FIELDS)
        off_ops = section(({"state_offset": s, "channel_data": c}
                           for s, c in zip(self.op_state, self.op_channel_data)), OP_FIELDS)
        off_layers = section((vars(l) for l in self.layers), LAYER_FIELDS)
        off_instr = len(words)
        for ins in self.instructions:
            words.extend((int(ins.opcode), len(ins.args), *(int(a) for a in ins.args)))
        off_floats = len(words)
        words.extend(struct.unpack(f"<{len(self.floats)}i",
                                   np.asarray(self.floats, dtype="<f4").tobytes()))
        off_channel = len(words)
        words.extend(int(w) for w in self.channel_words)
        header = dict(
            magic=MAGIC, version=VERSION, total_words=len(words),
            n_model_tensors=self.n_model_tensors, n_extra=len(self.extra), n_ops=self.n_ops,
            n_layers=len(self.layers), n_instructions=len(self.instructions),
            n_forward=self.n_forward, n_floats=len(self.floats), off_model=off_model,
            off_extra=off_extra, off_ops=off_ops, off_layers=off_layers,
            off_instructions=off_instr, off_floats=off_floats,
            persistent_bytes=self.persistent_bytes, arena_bytes=self.arena_bytes,
            input_tensor=self.input_tensor, output_tensor=self.output_tensor,
            num_classes=self.num_classes, flags=int(self.flags),
            instruction_words=off_floats - off_instr,
            momentum_bits=struct.unpack("<i", struct.pack("<f", self.momentum))[0],
            off_channel_data=off_channel, channel_data_words=len(self.channel_words))
        words[:HEADER_WORDS] = [header[name] for name in HEADER_FIELDS]
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
        return list(HEADER_FIELDS)


def decode_header(blob: bytes) -> dict[str, int]:
    """Header fields of an encoded program (used by `inspect` and tests)."""
    if len(blob) < HEADER_WORDS * 4:
        raise ValueError(f"training program too short: {len(blob)} bytes")
    values = struct.unpack(f"<{HEADER_WORDS}i", blob[:HEADER_WORDS * 4])
    return dict(zip(HEADER_FIELDS, values))


def _records(blob: bytes, offset: int, count: int, names: tuple[str, ...]) -> list[dict[str, int]]:
    width = len(names)
    end = offset + count * width
    if offset < HEADER_WORDS or count < 0 or end * 4 > len(blob):
        raise ValueError(f"training program: a section of {count} x {width} words at word "
                         f"{offset} lies outside the {len(blob)}-byte program")
    words = struct.unpack_from(f"<{count * width}i", blob, offset * 4)
    return [dict(zip(names, words[i * width:(i + 1) * width])) for i in range(count)]


def decode_layers(blob: bytes) -> list[Layer]:
    """The layer table of an encoded program."""
    h = decode_header(blob)
    return [Layer(**{**r, "update_bias": bool(r["update_bias"])})
            for r in _records(blob, h["off_layers"], h["n_layers"], LAYER_FIELDS)]


def decode_extra(blob: bytes) -> list[ExtraTensor]:
    """The extra tensor table of an encoded program."""
    h = decode_header(blob)
    return [ExtraTensor(DType(r["dtype"]), r["elements"], r["offset"])
            for r in _records(blob, h["off_extra"], h["n_extra"], EXTRA_TENSOR_FIELDS)]


def decode_ops(blob: bytes) -> list[dict[str, int]]:
    """The op table of an encoded program: per subgraph-0 op, its OP_FIELDS."""
    h = decode_header(blob)
    return _records(blob, h["off_ops"], h["n_ops"], OP_FIELDS)


def decode_instructions(blob: bytes) -> list[Instruction]:
    """The instruction stream of an encoded program."""
    h = decode_header(blob)
    start, end = h["off_instructions"], h["off_instructions"] + h["instruction_words"]
    if start < HEADER_WORDS or end * 4 > len(blob) or start > end:
        raise ValueError("training program: the instruction stream lies outside the program")
    words = struct.unpack_from(f"<{end - start}i", blob, start * 4)
    out, i = [], 0
    while i < len(words):
        if i + 2 > len(words) or not 0 <= words[i + 1] <= len(words) - i - 2:
            raise ValueError(f"training program: instruction {len(out)} is truncated")
        out.append(Instruction(Opcode(words[i]), list(words[i + 2:i + 2 + words[i + 1]])))
        i += 2 + words[i + 1]
    return out


# The Layer dataclass is the layer record: same fields, same order.
assert tuple(f.name for f in fields(Layer)) == LAYER_FIELDS
assert tuple(f.name for f in fields(ExtraTensor)) == EXTRA_TENSOR_FIELDS

# Format names re-exported for the converter modules that build programs.
__all__ = ["ALIGNMENT", "HEADER_WORDS", "LAYER_WORDS", "MAGIC", "METADATA_NAME", "OP_STATE_BYTES",
           "OP_STATE_KIND_BYTES", "VERSION", "Opcode", "DType", "Flags", "ExtraTensor", "Layer", "Instruction",
           "Program", "decode_header", "decode_layers", "decode_extra", "decode_ops",
           "decode_instructions"]
