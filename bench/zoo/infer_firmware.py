"""Build and run the inference firmware (bench/firmware/infer) for a board and kernel path,
and parse what it prints. Used by tests/test_zoo.py and bench/forward.py.

Bazel's bazel-bin is shared by every configuration, so each build's ELFs are copied out."""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import ROOT
from .board_builds import INSNS_PER_TICK as BOARD_INSNS_PER_TICK, is_board_build

PACKAGE = "//bench/firmware/infer"
REFERENCE_COPT = "--copt=-DTFLM_TRAIN_KERNELS_REFERENCE"
INSNS_PER_TICK = 40  # QEMU -icount shift=0 with SysTick at 25 MHz (board.h)


@dataclass
class InferRun:
    rc: int
    text: str
    outputs: list[bytes] = field(default_factory=list)   # first 64 output bytes per inference
    fnv: list[int] = field(default_factory=list)          # FNV-1a of each whole output
    ticks: list[int] = field(default_factory=list)
    planned_arena: int | None = None
    available_arena: int | None = None
    checksum: int | None = None
    error: str | None = None
    op_ticks: list[int] = field(default_factory=list)    # profile firmware: ticks per op
    kernels: str | None = None   # "reference" or "default ..." as the firmware was built
    profile_fnv: int | None = None  # profile firmware: FNV-1a of the output after all ops

    per_tick: int = INSNS_PER_TICK  # the board's (board_builds.INSNS_PER_TICK)

    @property
    def instructions(self) -> list[int]:
        return [t * self.per_tick for t in self.ticks]


def build(board: str, names, reference: bool, out_dir: Path,
          prefix: str = "infer") -> dict[str, Path]:
    """Build <prefix>_<name>.elf for each name (prefix "infer", or "profile" for the per-op
    profile firmware); copy them to out_dir/<board>-<path>/."""
    targets = [f"{PACKAGE}:{prefix}_{n}.elf" for n in names]
    cmd = ["bazel", "build", f"--config={board}"] + ([REFERENCE_COPT] if reference else []) + \
        targets
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    # bazel-bin follows the last build in this workspace (anyone's): check what was copied.
    dest = out_dir / f"{board}-{'reference' if reference else 'default'}"
    dest.mkdir(parents=True, exist_ok=True)
    elfs = {}
    for n in names:
        src = ROOT / "bazel-bin" / "bench" / "firmware" / "infer" / f"{prefix}_{n}.elf"
        elfs[n] = dest / src.name
        shutil.copyfile(src, elfs[n])
        if not is_board_build(board, elfs[n]):
            raise RuntimeError(f"{src} is not a {board} build (another build replaced bazel-bin "
                               "meanwhile?); rerun")
    return elfs


def run(board: str, elf: Path, timeout: int = 600) -> InferRun:
    proc = subprocess.run([str(ROOT / "targets" / "qemu" / "run_qemu.sh"), board, str(elf)],
                          capture_output=True, text=True, timeout=timeout,
                          env={"QEMU_TIMEOUT": str(timeout), "PATH": "/usr/bin:/bin"})
    r = parse(proc.returncode, proc.stdout + proc.stderr)
    r.per_tick = BOARD_INSNS_PER_TICK.get(board, INSNS_PER_TICK)
    return r


def parse(rc: int, text: str) -> InferRun:
    r = InferRun(rc=rc, text=text)
    for line in text.splitlines():
        if m := re.match(r"\[infer\] kernels (.*)$", line):
            r.kernels = m.group(1)
        elif m := re.match(r"infer (\d+) out ([0-9a-f]*) fnv 0x([0-9a-f]{8})$", line):
            r.outputs.append(bytes.fromhex(m.group(2)))
            r.fnv.append(int(m.group(3), 16))
        elif m := re.match(r"\[profile\] op \d+ ticks (\d+)$", line):
            r.op_ticks.append(int(m.group(1)))
        elif m := re.match(r"\[infer\] ticks \d+ (\d+)$", line):
            r.ticks.append(int(m.group(1)))
        elif m := re.match(r"\[infer\] model \d+ bytes, planned arena (\d+) bytes, available "
                           r"(\d+) bytes", line):
            r.planned_arena, r.available_arena = int(m.group(1)), int(m.group(2))
        elif m := re.match(r"profile out fnv 0x([0-9a-f]{8})$", line):
            r.profile_fnv = int(m.group(1), 16)
        elif m := re.match(r"checksum 0x([0-9a-f]{8})$", line):
            r.checksum = int(m.group(1), 16)
        elif m := re.match(r"\[infer\] error: (.*)$", line):
            r.error = m.group(1)
    return r


def code_size(elf: Path) -> dict[str, int]:
    """text/data/bss of the ELF (arm-none-eabi-size, Berkeley format)."""
    out = subprocess.run(["arm-none-eabi-size", str(elf)], capture_output=True, text=True,
                         check=True).stdout.splitlines()[1].split()
    return {"text": int(out[0]), "data": int(out[1]), "bss": int(out[2])}


def fnv1a(data: bytes) -> int:
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h
