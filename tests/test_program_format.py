"""The converter and the C++ runtime share one definition of the program format and the op
list (converter/program_format.py, converter/ops.py, generated into C++ headers); the encoder
and decoder agree; the planner never lets live buffers overlap."""
import struct

import pytest
from hypothesis import given, settings, strategies as st

from converter import gen_headers, program_format
from converter.planner import Buffer, plan
from converter.program import (DType, ExtraTensor, Flags, Instruction, Layer, Opcode, Program,
                               decode_extra, decode_header, decode_instructions, decode_layers,
                               decode_ops)


@pytest.mark.parametrize("path", sorted(gen_headers.HEADERS))
def test_generated_header_is_current(path):
    checked_in = (gen_headers.ROOT / path).read_text()
    assert checked_in == gen_headers.HEADERS[path](), (
        f"{path} is stale: run `{gen_headers.COMMAND}`")


def test_generated_names_cover_the_definition():
    header = gen_headers.program_format_h()
    for op in program_format.OPCODES:
        assert f"k{gen_headers.camel(op.name)} = {op.number}," in header
    for name, value, _ in program_format.FLAGS:
        assert f"kFlag{gen_headers.camel(name)} = {value}," in header
    assert gen_headers.camel("CONV_2D") == "Conv2D" and gen_headers.camel("PADV2") == "PadV2"


def test_python_enums_are_the_definition():
    assert {o.name: int(o) for o in Opcode} == {o.name: o.number for o in program_format.OPCODES}
    assert {f.name: int(f) for f in Flags} == {n: v for n, v, _ in program_format.FLAGS}
    assert {d.name: int(d) for d in DType} == dict(program_format.DTYPES)


def _program() -> Program:
    return Program(
        n_model_tensors=3, n_ops=2, input_tensor=0, output_tensor=2, num_classes=4,
        flags=Flags.QAS | Flags.OPTIMIZER_STATE, model_offsets=[128, -1, 160],
        extra=[ExtraTensor(DType.FLOAT32, 4, 192), ExtraTensor(DType.INT8, 9, 208)],
        op_state=[0, 64], op_channel_data=[-1, 0], channel_words=[7, 8, -3, -4],
        layers=[Layer(1, 1, -1, 2, 1, False, 0, -1, 96, -1)],
        instructions=[Instruction(Opcode.FORWARD, [0]), Instruction(Opcode.FORWARD, [1]),
                      Instruction(Opcode.LOSS_LOGITS_CE, [2, 3])],
        n_forward=2, floats=[0.5, 2.0], persistent_bytes=128, arena_bytes=224, momentum=0.9)


def test_encode_decode_round_trip():
    p = _program()
    blob = p.encode()
    h = decode_header(blob)
    assert (h["magic"], h["version"], h["total_words"]) == (
        program_format.MAGIC, program_format.VERSION, len(blob) // 4)
    assert decode_layers(blob) == p.layers
    assert decode_extra(blob) == p.extra
    assert struct.unpack("<f", struct.pack("<i", h["momentum_bits"]))[0] == pytest.approx(0.9)
    words = struct.unpack(f"<{len(blob) // 4}i", blob)
    assert list(words[h["off_model"]:h["off_model"] + 3]) == p.model_offsets
    assert list(words[h["off_channel_data"]:]) == p.channel_words
    assert h["instruction_words"] == 3 + 3 + 4 and h["n_forward"] == 2
    assert decode_instructions(blob) == p.instructions
    assert decode_ops(blob) == [{"state_offset": 0, "channel_data": -1},
                                {"state_offset": 64, "channel_data": 0}]


def test_decoder_names_a_truncated_section():
    blob = _program().encode()
    with pytest.raises(ValueError, match="lies outside"):
        decode_layers(blob[:decode_header(blob)["off_layers"] * 4 + 8])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5000), st.integers(0, 40), st.integers(0, 40)),
                min_size=1, max_size=40))
def test_planner_never_overlaps_live_buffers(specs):
    buffers = [Buffer(i, size, min(a, b), max(a, b)) for i, (size, a, b) in enumerate(specs)]
    peak = plan(buffers, 16)
    for b in buffers:
        assert b.offset % 16 == 0 and b.offset + b.size <= peak
    for i, a in enumerate(buffers):
        for b in buffers[i + 1:]:
            if not (a.last < b.first or b.last < a.first):
                assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset
    # Never worse than giving every buffer its own bytes.
    assert peak <= sum((b.size + 15) // 16 * 16 for b in buffers)
