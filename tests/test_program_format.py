"""The converter and the C++ runtime agree on the file format and the op list; the planner
never lets live buffers overlap."""
import re
from pathlib import Path

from hypothesis import given, settings, strategies as st

from converter.ops import OPS
from converter.planner import Buffer, plan
from converter.program import HEADER_WORDS, LAYER_WORDS, MAGIC, OP_STATE_BYTES, VERSION, Opcode

ROOT = Path(__file__).resolve().parent.parent
PROGRAM_H = (ROOT / "tflm_train" / "runtime" / "program.h").read_text()


def _cpp_constant(name: str) -> int:
    m = re.search(rf"constexpr int32_t {name} = (0x[0-9A-Fa-f]+|\d+);", PROGRAM_H)
    assert m, name
    return int(m.group(1), 0)


def test_opcodes_match_cpp_enum():
    cpp = {m.group(1): int(m.group(2)) for m in re.finditer(r"k(\w+) = (\d+),", PROGRAM_H.split(
        "enum class Opcode")[1].split("};")[0])}
    py = {op.name.replace("_", "").lower(): int(op) for op in Opcode}
    assert {k.lower(): v for k, v in cpp.items()} == py


def test_format_constants_match_cpp():
    assert _cpp_constant("kProgramMagic") == MAGIC
    assert _cpp_constant("kProgramVersion") == VERSION
    assert _cpp_constant("kProgramHeaderWords") == HEADER_WORDS
    assert _cpp_constant("kLayerWords") == LAYER_WORDS
    assert _cpp_constant("kOpStateBytes") == OP_STATE_BYTES


def test_op_lists_match():
    registry = (ROOT / "tflm_train" / "runtime" / "ops_common.cc").read_text()
    cpp_ops = set(re.findall(r"&k(\w+)Registration", registry))
    py_ops = {name.title().replace("_", "") for name in OPS}
    py_ops = {n.replace("2D", "2D").replace("Conv2D", "Conv2D") for n in py_ops}
    normalise = lambda s: s.lower().replace("_", "")  # noqa: E731
    assert {normalise(o) for o in cpp_ops} == {normalise(o) for o in OPS}


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
