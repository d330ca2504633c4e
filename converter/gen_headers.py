"""Writes the runtime's generated C++ headers from the Python definitions:
tflm_train/runtime/program_format.h from program_format.py, and
tflm_train/runtime/op_registrations.h from ops.py.

    python -m tflm_train.converter.gen_headers          # rewrite the checked-in headers
    python -m tflm_train.converter.gen_headers --check  # exit 1 if one is stale

tests/test_program_format.py renders them in memory and compares with the checked-in files.
"""
from __future__ import annotations

import argparse
import re
import sys
import textwrap
from pathlib import Path

from . import program_format as fmt
from .ops import OPS

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "python -m tflm_train.converter.gen_headers"


def camel(name: str) -> str:
    """SNAKE_CASE -> CamelCase, keeping TFLite's spelling of dimensions and versions:
    CONV_2D -> Conv2D, PADV2 -> PadV2, FLOAT32 -> Float32."""
    words = "".join(w[:1].upper() + w[1:].lower() for w in name.split("_"))
    words = re.sub(r"(?<=\d)[a-z]", lambda m: m.group(0).upper(), words)
    return re.sub(r"v(\d+)$", r"V\1", words)


def _comment(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, 100, initial_indent=indent + "// ",
                         subsequent_indent=indent + "// ")


def _banner(source: str) -> list[str]:
    return [f"// Generated from {source}: do not edit. Regenerate with", f"//   {COMMAND}"]


def _guard(path: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", path.upper()) + "_"


def _struct(name: str, fields: tuple[tuple[str, str], ...]) -> list[str]:
    lines = [f"struct {name} {{"]
    lines += [f"  int32_t {field};  // {doc}" for field, doc in fields]
    return lines + ["};"]


def _field_enum(name: str, prefix: str, fields: tuple[str, ...]) -> list[str]:
    lines = [f"enum {name} : int32_t {{"]
    lines += [f"  k{prefix}{camel(f)} = {i}," for i, f in enumerate(fields)]
    return lines + [f"  k{prefix}Words = {len(fields)},", "};"]


def program_format_h() -> str:
    path = "tflm_train/runtime/program_format.h"
    out = _banner("converter/program_format.py") + [
        "// The training-program format: names and numbers shared with the converter.",
        f"#ifndef {_guard(path)}",
        f"#define {_guard(path)}",
        "",
        "#include <cstdint>",
        "",
        "namespace tflm_train {",
        "",
        f'constexpr char kProgramMetadataName[] = "{fmt.METADATA_NAME}";',
        f"constexpr int32_t kProgramMagic = 0x{fmt.MAGIC:08X};",
        f"constexpr int32_t kProgramVersion = {fmt.VERSION};",
        f"constexpr int32_t kProgramHeaderWords = {fmt.HEADER_WORDS};",
        f"constexpr int32_t kLayerWords = {fmt.LAYER_WORDS};",
        f"constexpr int32_t kOpStateBytes = {fmt.OP_STATE_BYTES};",
        f"constexpr int32_t kProgramAlignment = {fmt.ALIGNMENT};",
        f"constexpr int32_t kMaxInstructionArgs = {fmt.MAX_INSTRUCTION_ARGS};",
        "",
        "// Op-state bytes of the kinds that take less than kOpStateBytes.",
    ]
    out += [f"constexpr int32_t kOpStateBytes{camel(kind)} = {size};"
            for kind, size in fmt.OP_STATE_KIND_BYTES.items()]
    out += ["", "// The op-state bytes the converter reserves for an op of this builtin code.",
            "constexpr int32_t OpStateBytesOf(int32_t builtin_code) {",
            "  switch (builtin_code) {"]
    for kind in fmt.OP_STATE_KIND_BYTES:
        out += [f"    case {OPS[kind].code}:  // {kind}",
                f"      return kOpStateBytes{camel(kind)};"]
    out += ["    default:", "      return kOpStateBytes;", "  }", "}", "",
            "enum class Opcode : int32_t {"]
    for op in fmt.OPCODES:
        out += _comment(f"{op.name}({', '.join(op.args)}): {op.doc}", "  ")
        out.append(f"  k{camel(op.name)} = {op.number},")
    out += ["};", "",
            "// X(Name) for every opcode, in definition order.",
            "#define TT_PROGRAM_OPCODES(X) \\"]
    entries = [f"  X({camel(op.name)})" for op in fmt.OPCODES]
    out += [e + " \\" for e in entries[:-1]] + entries[-1:]
    out += ["", "// Argument positions of each opcode; kCount is the argument count."]
    for op in fmt.OPCODES:
        names = ", ".join(f"k{camel(a)} = {i}" for i, a in enumerate(op.arg_names))
        out += textwrap.wrap(f"struct {camel(op.name)}Args {{ enum : int32_t {{ {names}, "
                             f"kCount = {len(op.args)} }}; }};", 100, subsequent_indent="    ")
    out += ["", "enum class DType : int32_t {"]
    out += [f"  k{camel(name)} = {value}," for name, value in fmt.DTYPES]
    out += ["};", "", "enum ProgramFlags : int32_t {"]
    out += [f"  kFlag{camel(name)} = {value},  // {doc}" for name, value, doc in fmt.FLAGS]
    out += ["};", "", "// The header, word by word."]
    out += _struct("ProgramHeader", fmt.HEADER)
    out += ["static_assert(sizeof(ProgramHeader) == kProgramHeaderWords * 4, \"header layout\");",
            "", "// One entry of the layer table, word by word."]
    out += _struct("LayerInfo", fmt.LAYER)
    out += ["static_assert(sizeof(LayerInfo) == kLayerWords * 4, \"layer layout\");", ""]
    out += _field_enum("ExtraTensorField", "ExtraTensor", fmt.EXTRA_TENSOR_FIELDS) + [""]
    out += _field_enum("OpRecordField", "OpRecord", fmt.OP_FIELDS) + [""]
    out += ["}  // namespace tflm_train", "", f"#endif  // {_guard(path)}", ""]
    return "\n".join(out)


def op_registrations_h() -> str:
    path = "tflm_train/runtime/op_registrations.h"
    out = _banner("converter/ops.py") + [
        "// The runtime's op registrations (one op_*.cc file each), in converter/ops.py's order.",
        "// Included once, by ops_common.cc.",
        f"#ifndef {_guard(path)}",
        f"#define {_guard(path)}",
        "",
        '#include "tflm_train/runtime/ops.h"',
        "",
        "namespace tflm_train {",
        "",
    ]
    out += [f"extern const OpRegistration k{camel(name)}Registration;  // builtin {info.code}"
            for name, info in OPS.items() if info.registered]
    out += ["", "constexpr const OpRegistration* kRegistrations[] = {"]
    out += [f"    &k{camel(name)}Registration," for name, info in OPS.items() if info.registered]
    out += ["};", "", "}  // namespace tflm_train", "", f"#endif  // {_guard(path)}", ""]
    return "\n".join(out)


HEADERS = {
    "tflm_train/runtime/program_format.h": program_format_h,
    "tflm_train/runtime/op_registrations.h": op_registrations_h,
}


def stale() -> list[str]:
    """Checked-in headers that differ from what the definitions generate."""
    return [path for path, render in HEADERS.items()
            if not (ROOT / path).exists() or (ROOT / path).read_text() != render()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a header is stale")
    args = parser.parse_args(argv)
    if args.check:
        paths = stale()
        for path in paths:
            print(f"{path} is stale: run `{COMMAND}`", file=sys.stderr)
        return 1 if paths else 0
    for path, render in HEADERS.items():
        (ROOT / path).write_text(render())
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
