#!/usr/bin/env python3
"""Writes tflm_train/data/board_build.json: per board build (Bazel config), what the firmware
itself needs besides the model's plan, so that convert() can budget a board without a cross
compiler.

    python targets/tools/board_data.py           # rebuild and write
    python targets/tools/board_data.py --check   # exit 1 if the committed file is stale

For each config in targets/boards.bzl it compiles the training demo firmware
(examples/firmware/train: runtime, kernels, board layer, the demo's driver and main) with the
toolchain's flags (targets/toolchain/cc_config.bzl, .bazelrc) plus -fstack-usage,
-fcallgraph-info=su and -fdump-tree-optimized-lineno, links it with the real board's map and
records:
- code_bytes: text + data of the image less the embedded model and steps file;
- static_ram_bytes: data + bss less the arena and the session storage;
- session_bytes: the session storage (TT_SESSION_BYTES, as the target build reserves it);
- stack_bound_bytes: Reset_Handler's deepest call path + SysTick_Handler's + the exception frame
  with FPU state (targets/tools/stack_bound.py), over every kernel linked in;
and the same stack bound for the zoo training firmware (bench/firmware/train_zoo), whose
measured high-water marks are in bench/results/memory.json (tests/test_budget.py compares).
"""
from __future__ import annotations

import argparse
import ast
import concurrent.futures
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import stack_bound  # noqa: E402  (a script beside this one)

OUT = ROOT / "tflm_train" / "data" / "board_build.json"
# cc_config.bzl's compile and link flags besides the CPU's
TOOLCHAIN_COMPILE = ["-g", "-ffunction-sections", "-fdata-sections"]
TOOLCHAIN_LINK = ["--specs=nano.specs", "--specs=rdimon.specs", "-nostartfiles",
                  "-Wl,--gc-sections"]
BOARD_LINK = ["-Wl,-u,_printf_float"]  # targets/board:board linkopts
LIBS = ["-lstdc++", "-lm"]
ANALYSIS = ["-fstack-usage", "-fcallgraph-info=su", "-fdump-tree-optimized-lineno"]
# Exception entry with the FPU's extended frame: 26 words, plus 4 bytes of alignment padding.
EXCEPTION_FRAME_BYTES = 26 * 4 + 4
LIBRARY_SOURCES = (["tflm_train/runtime/*.cc", "kernels/*.cc", "kernels/training/*.cc"],
                   ["targets/board/board.cc", "targets/board/board_cortex_m.cc", "targets/board/startup.cc",
                    "examples/firmware/train/train_driver.cc"])


@dataclass(frozen=True)
class Isa:
    """How one instruction set's firmware is compiled, linked and rooted (cc_config.bzl)."""
    prefix: str
    compile: list[str]
    link: list[str]
    libs: list[str]
    board_sources: list[str]  # replace the Cortex-M board layer of LIBRARY_SOURCES
    thread_root: str
    handler_root: str | None  # the one interrupt handler that runs on the thread's stack
    exception_frame_bytes: int
    linker: str = "g++"  # gcc where no libstdc++ exists


ARM = Isa("arm-none-eabi-", [], TOOLCHAIN_LINK, LIBS,
          ["targets/board/board.cc", "targets/board/board_cortex_m.cc", "targets/board/startup.cc"],
          "Reset_Handler", "SysTick_Handler", EXCEPTION_FRAME_BYTES)
# RV32 (picolibc, no libstdc++): no interrupt is enabled (ticks read mcycle); a trap moves sp to
# the top of RAM and never returns, so the thread's path is the whole bound.
RV32 = Isa("riscv64-unknown-elf-", ["--specs=picolibc.specs", "-isystem", "targets/rv32/include"],
           ["--specs=picolibc.specs", "--oslib=semihost", "-nostartfiles", "-Wl,--gc-sections"],
           [], ["targets/board/board.cc", "targets/rv32/board_rv32.cc",
                "targets/rv32/startup_rv32.cc"], "_start", None, 0, "gcc")
# The one recursion in the firmware: a streamed chain's stage k makes its input rows by running
# stage k - 1 (kernels/row_stream.cc), at most kMaxStreamStages deep.
STREAM_RECURSION = ("10ProduceRow", "9InputRows")
# stream_chain.cc's path for a chain whose kernels' scratch is not planned in the arena
STACK_SCRATCH_PATH = "25RowStreamWithStackScratch"
# ErrorMessage::Set, which formats a failed check's message
ERROR_MESSAGE = "12ErrorMessage3Set"
FIRMWARES = {
    # name: (main, defines, embedded (symbol, file))
    "demo": ("examples/firmware/train/fw_main.cc", [],
             [("model", "examples/firmware/train/demo/model.tflite", "examples/firmware/train/model"),
              ("steps", "examples/firmware/train/demo/steps.bin", "examples/firmware/train/steps")]),
    "train_zoo": ("bench/firmware/train_zoo/fw_main.cc", ["-DARENA_BYTES=4096"],
                  [("zoo_model", "bench/firmware/train_zoo/models/mnist_cnn.tflite", "zoo_model"),
                   ("zoo_steps", "bench/firmware/train_zoo/models/mnist_cnn.steps", "zoo_steps")]),
}


def max_stream_stages() -> int:
    """kMaxStreamStages (kernels/row_stream.h): how deep the row-stream recursion nests."""
    m = re.search(r"kMaxStreamStages = (\d+);", (ROOT / "kernels" / "row_stream.h").read_text())
    return int(m.group(1))


def cpu_flags() -> dict[str, list[str]]:
    """CPU_FLAGS of targets/boards.bzl (a literal dict, read without Bazel)."""
    tree = ast.parse((ROOT / "targets" / "boards.bzl").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "CPU_FLAGS":
            return ast.literal_eval(node.value)
    raise RuntimeError("targets/boards.bzl has no CPU_FLAGS")


def bazelrc_flags() -> list[str]:
    """The `build --copt/--cxxopt` flags of .bazelrc (every config's)."""
    flags = []
    for line in (ROOT / ".bazelrc").read_text().splitlines():
        if line.startswith("build "):
            flags += re.findall(r"--(?:copt|cxxopt)=(\S+)", line)
    return flags


def _compile(args):
    src, obj, flags, prefix = args
    obj.parent.mkdir(parents=True, exist_ok=True)
    # relative to the repository, as Bazel compiles: nothing depends on where the checkout is
    rel = src.relative_to(ROOT) if src.is_relative_to(ROOT) else src
    proc = subprocess.run([f"{prefix}g++", *flags, "-c", str(rel), "-o", str(obj)],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"compiling {src} failed:\n{proc.stderr[-3000:]}")
    return obj


def _embed(work: Path, symbol: str, data: str, header: str) -> Path:
    """firmware_embed's sources for one file (targets/tools/embed.py), header at `header`.h."""
    h = work / "gen" / f"{header}.h"
    h.parent.mkdir(parents=True, exist_ok=True)
    cc = work / "gen" / f"{header}_embed.cc"
    subprocess.run([sys.executable, str(ROOT / "targets" / "tools" / "embed.py"), "--symbol",
                    symbol, "--input", str(ROOT / data), "--cc", str(cc), "--header", str(h),
                    "--header-include", f"{header}.h"], check=True)
    return cc


def _sections(elf: Path, prefix: str) -> dict[str, int]:
    out = subprocess.run([f"{prefix}size", "-A", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\.\S+)\s+(\d+)", out, re.M)}


def _symbol_size(elf: Path, suffix: str, prefix: str) -> int:
    out = subprocess.run([f"{prefix}nm", "-S", "-C", str(elf)], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split(maxsplit=3)
        if len(parts) == 4 and parts[3].endswith(suffix):
            return int(parts[1], 16)
    raise RuntimeError(f"{elf.name} has no symbol {suffix}")


def build_board(config: str, flags: list[str], ld: str, work: Path, jobs: int) -> dict:
    """Compile, link and analyse both firmwares for one Bazel config."""
    isa = RV32 if config == "rv32" else ARM
    compile_flags = flags + isa.compile + TOOLCHAIN_COMPILE + bazelrc_flags() + ANALYSIS + [
        "-I.", f"-I{work / 'gen'}"]
    board_layer = set(ARM.board_sources)
    lib = sorted({p for pattern in LIBRARY_SOURCES[0] for p in ROOT.glob(pattern)}) + \
        [ROOT / s for s in isa.board_sources] + \
        [ROOT / s for s in LIBRARY_SOURCES[1] if s not in board_layer]
    jobs_list = []
    for src in lib:
        jobs_list.append((src, work / config / "lib" / (src.relative_to(ROOT).as_posix()
                                                       .replace("/", "__") + ".o"),
                          compile_flags, isa.prefix))
    mains = {}
    for name, (main, defines, embeds) in FIRMWARES.items():
        extra = [_embed(work, sym, data, header) for sym, data, header in embeds]
        objs = []
        for src in [ROOT / main] + extra:
            obj = work / config / name / (src.name + ".o")
            jobs_list.append((src, obj, compile_flags + defines, isa.prefix))
            objs.append(obj)
        mains[name] = (objs, embeds)
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        list(pool.map(_compile, jobs_list))
    lib_objs = [j[1] for j in jobs_list if j[1].parent.name == "lib"]
    out = {}
    for name, (objs, embeds) in mains.items():
        elf = work / config / f"{name}.elf"
        subprocess.run([f"{isa.prefix}{isa.linker}", *flags, *isa.link, *BOARD_LINK,
                        f"-T{ROOT / ld}", f"-L{ROOT / 'targets' / 'board'}",
                        *map(str, objs + lib_objs), *isa.libs, "-o", str(elf)],
                       check=True, capture_output=True, text=True)
        units = [o for o in objs + lib_objs]
        levels = max_stream_stages()
        graph = stack_bound.StackGraph(
            elf, [o.with_suffix(".ci") for o in units],
            [d for o in units for d in o.parent.glob(o.stem + "*.optimized")],
            recursion={STREAM_RECURSION: levels})
        if graph.unresolved:
            raise RuntimeError("indirect calls whose pointer type was not found: " +
                               "; ".join(graph.unresolved))
        thread = graph.bound(isa.thread_root)
        handler = graph.bound(isa.handler_root) if isa.handler_root else \
            stack_bound.Bound(0, [])
        # the same without the row-stream recursion: a model whose longest streamed chain has
        # n < levels stages needs max(without, thread - (levels - n) * level_bytes)
        stream = sorted(f for f in graph.funcs if any(n in f for n in STREAM_RECURSION))
        level_bytes = sum(graph.funcs[f].frame for f in stream)
        graph.exclude, graph._memo = set(stream), {}
        without = graph.bound(isa.thread_root)
        # the same two for a program whose chains all have their kernels' scratch in the arena
        # (budget.chains_with_stack_scratch): the runtime never enters the stack-scratch path
        fallback = {f for f in graph.funcs if STACK_SCRATCH_PATH in f}
        graph.exclude, graph._memo = fallback, {}
        thread_arena = graph.bound(isa.thread_root)
        graph.exclude, graph._memo = set(stream) | fallback, {}
        without_arena = graph.bound(isa.thread_root)
        # a failing check formats its message (newlib's printf, %g) wherever it fails, also at
        # the deepest point of a step; a run that succeeds never goes there, so a measured
        # high-water lies this far below the bound at most by this much more
        graph.exclude, graph._memo = set(), {}
        message = max(graph.bound(f).bytes for f in graph.funcs if ERROR_MESSAGE in f)
        sec = _sections(elf, isa.prefix)
        # flash: everything the image loads (.text with rodata, unwind tables, init arrays, the
        # .data initialisers); RAM: .data + .bss (the ._stack reserve is the stack's, counted
        # by the stack bound instead)
        flash = sum(v for k, v in sec.items() if k in (".text", ".ARM.extab", ".ARM.exidx",
                                                       ".init_array", ".data"))
        data, bss = sec.get(".data", 0), sec.get(".bss", 0)
        embedded = sum((ROOT / f).stat().st_size for _, f, _ in embeds)
        arena = _symbol_size(elf, "g_arena", isa.prefix)
        session = _symbol_size(elf, "g_session", isa.prefix)
        out[name] = {
            "stack_bound_bytes": thread.bytes + handler.bytes + isa.exception_frame_bytes,
            "stack_thread_bytes": thread.bytes,
            "stack_thread_without_stream_bytes": without.bytes,
            "stack_thread_arena_scratch_bytes": thread_arena.bytes,
            "stack_thread_without_stream_arena_scratch_bytes": without_arena.bytes,
            "stack_error_message_bytes": message,
            "stack_deepest_path_arena_scratch": [f"{f} {graph.funcs[f].frame}" + (
                f" x {levels} levels" if f in stream else "") for f in thread_arena.path],
            "stream_functions": stream,
            "stream_level_bytes": level_bytes,
            "stream_max_levels": levels,
            "stack_handler_bytes": handler.bytes + isa.exception_frame_bytes,
            "stack_deepest_path": [f"{f} {graph.funcs[f].frame}" + (
                f" x {levels} levels" if f in stream else "") for f in thread.path],
            "code_bytes": flash - embedded,
            "static_ram_bytes": data + bss - arena - session,
            "session_bytes": session,
            "functions_from_su": sum(f.frame_source == "su" for f in graph.funcs.values()),
            "functions_from_prologue": sum(f.frame_source == "prologue"
                                           for f in graph.funcs.values()),
            "address_taken_functions": len(graph.taken),
        }
    return out


def generate(jobs: int = 2) -> dict:
    from tflm_train.boards import STANDINS

    version = subprocess.run(["arm-none-eabi-gcc", "--version"], capture_output=True,
                             text=True, check=True).stdout.splitlines()[0]
    flags = cpu_flags()
    result = {"generated_by": "targets/tools/board_data.py", "compiler": version,
              "exception_frame_bytes": EXCEPTION_FRAME_BYTES, "boards": {}}
    with tempfile.TemporaryDirectory(prefix="board_data_") as tmp:
        for config in sorted(flags):
            fw = build_board(config, flags[config], STANDINS[config].linker_script, Path(tmp),
                             jobs)
            result["boards"][config] = fw
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare with the committed file")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    text = json.dumps(generate(args.jobs), indent=1) + "\n"
    if args.check:
        if OUT.read_text() != text:
            diff = difflib.unified_diff(OUT.read_text().splitlines(), text.splitlines(),
                                        "committed", "rebuilt", lineterm="", n=1)
            print(f"{OUT.relative_to(ROOT)} is stale: run python targets/tools/board_data.py\n"
                  + "\n".join(list(diff)[:40]), file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
