"""Boards without an FPU compute float with libgcc's software routines: their + - * /,
int <-> float and float -> double conversions must give the host's bits (design contract 2 under
soft-float). targets/softfloat/soft_float_check.cc prints each operation's operands and result
over special operands (zeros, subnormals, FLT_MIN/MAX, infinities, NaNs, rounding ties) and
seeded random bit patterns; here every line is recomputed with numpy float32 / float64.

NaN results are compared as NaN only: their sign and payload differ between targets with or
without an FPU (x86 SSE's default NaN is 0xffc00000, Arm's 0x7fc00000; libgcc's a - b flips the
sign of a NaN b; RISC-V always returns the canonical 0x7fc00000) and the runtime refuses
non-finite training steps (README "Reliability").

Boards: an385 (Cortex-M3, libgcc's Arm soft-float) and rv32 (RV32IMC, libgcc's RISC-V soft-fp)."""
from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOFT_FLOAT_BOARDS = ["an385", "rv32"]


def _cpu_flags(board: str) -> list[str]:
    tree = ast.parse((ROOT / "targets" / "boards.bzl").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "CPU_FLAGS":
            return ast.literal_eval(node.value)[board]
    raise KeyError("CPU_FLAGS")


def build(board: str, out: Path, seed: int, randoms: int) -> Path:
    """The check firmware for `board`, compiled with the flags board_firmware uses."""
    rv32 = board == "rv32"
    cxx, qemu = (("riscv64-unknown-elf-gcc", "qemu-system-riscv32") if rv32 else
                 ("arm-none-eabi-g++", "qemu-system-arm"))
    if not (shutil.which(cxx) and shutil.which(qemu)):
        pytest.skip(f"{cxx} / {qemu} not installed")
    elf = out / f"soft_float_{board}.elf"
    board_dir = ROOT / "targets" / "board"
    if rv32:  # targets/toolchain/cc_config.bzl's picolibc flags
        libc = ["--specs=picolibc.specs", "-isystem", str(ROOT / "targets" / "rv32" / "include"),
                "--oslib=semihost"]
        cpu_part = [str(ROOT / "targets" / "rv32" / "board_rv32.cc"),
                    str(ROOT / "targets" / "rv32" / "startup_rv32.cc")]
    else:
        libc = ["--specs=nano.specs", "--specs=rdimon.specs", f"-L{board_dir}"]
        cpu_part = [str(board_dir / "board_cortex_m.cc"), str(board_dir / "startup.cc")]
    subprocess.run([cxx, *_cpu_flags(board), *libc, "-std=c++17", "-fno-exceptions",
                    "-fno-rtti", "-O2", "-ffp-contract=off", "-fno-fast-math",
                    "-ffunction-sections", "-fdata-sections", f"-I{ROOT}",
                    f"-DSOFT_FLOAT_SEED={seed}", f"-DSOFT_FLOAT_RANDOM={randoms}",
                    "-nostartfiles", "-Wl,--gc-sections",
                    "-T", str(ROOT / "targets" / "qemu" / f"{board}.ld"),
                    str(ROOT / "targets" / "softfloat" / "soft_float_check.cc"),
                    str(board_dir / "board.cc"), *cpu_part, "-o", str(elf)],
                   check=True, capture_output=True)
    return elf


def _f32(h: str):
    return np.array([int(h, 16)], dtype=np.uint32).view(np.float32)[0]


def _f64(h: str):
    return np.array([int(h, 16)], dtype=np.uint64).view(np.float64)[0]


def host_result(op: str, a: str, b: str) -> int:
    """The bits numpy gives for one printed operation."""
    with np.errstate(all="ignore"):
        if op in ("fadd", "fsub", "fmul", "fdiv"):
            x, y = _f32(a), _f32(b)
            r = {"fadd": x + y, "fsub": x - y, "fmul": x * y, "fdiv": x / y}[op]
            return int(np.float32(r).view(np.uint32))
        if op == "i2f":
            return int(np.float32(np.uint32(int(a, 16)).view(np.int32)).view(np.uint32))
        if op == "f2i":
            return int(np.int32(_f32(a)).view(np.uint32))
        if op == "f2d":
            return int(np.float64(_f32(a)).view(np.uint64))
        x, y = _f64(a), _f64(b)
        r = {"dadd": x + y, "dmul": x * y, "ddiv": x / y}[op]
        return int(np.float64(r).view(np.uint64))


def compare(output: str) -> tuple[int, int, list[str]]:
    """(operations, NaN results, lines whose bits differ from the host's)."""
    n = nans = 0
    wrong = []
    for line in output.splitlines():
        parts = line.split()
        if len(parts) != 4 or line.startswith("["):
            continue
        op, a, b, r = parts
        n += 1
        want, got = host_result(op, a, b), int(r, 16)
        is_nan = np.isnan(_f32(r) if len(r) == 8 else _f64(r))
        want_nan = np.isnan(_f32(f"{want:08x}") if len(r) == 8 else _f64(f"{want:016x}"))
        if is_nan or want_nan:
            nans += 1
            if is_nan != want_nan:
                wrong.append(f"{line} (host {want:x})")
        elif got != want:
            wrong.append(f"{line} (host {want:x})")
    return n, nans, wrong


@pytest.mark.parametrize("board", SOFT_FLOAT_BOARDS)
def test_software_float_gives_the_hosts_bits(board, tmp_path):
    elf = build(board, tmp_path, seed=17, randoms=1500)
    run = subprocess.run([str(ROOT / "targets" / "qemu" / "run_qemu.sh"), board, str(elf)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr
    n, nans, wrong = compare(run.stdout)
    assert n > 10_000 and 0 < nans < n // 10
    assert not wrong, f"{len(wrong)} of {n} results differ from numpy:\n" + "\n".join(wrong[:20])


def test_compare_catches_a_wrong_bit():
    """The comparison itself: one flipped result bit, or a NaN for a number, is a difference."""
    good = "fadd 3f800000 33800000 3f800000\nfmul 7f800000 00000000 7fc00000\n"
    assert compare(good) == (2, 1, [])
    assert len(compare("fadd 3f800000 33800000 3f800001\n")[2]) == 1
    assert len(compare("fdiv 3f800000 40400000 7fc00000\n")[2]) == 1
    assert len(compare("dadd 3ff0000000000000 3ff0000000000000 4000000000000001\n")[2]) == 1
