"""What the zoo benches need to know per Bazel board besides its name: how many instructions one
tick of its counter is under QEMU, and how to tell its ELF from another board's (bazel-bin is
shared by every build in the workspace, so a copied ELF is checked before it is measured)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

# QEMU -icount shift=0: one instruction per ns. SysTick runs at the machine's CPU clock (25 MHz
# on mps2-an385/386/500: 40 instructions per tick; 20 MHz on mps2-an505: 50); rv32 reads mcycle,
# which counts instructions there (targets/board/board.h). The an547's SysTick runs at 32 MHz:
# 31.25 instructions per tick, so its counts are ticks x 31.25 rounded, exact to one tick (+-32
# instructions) as the others' (targets/smoke checks 2*100000+1 instructions read right there).
INSNS_PER_TICK = {"an386": 40, "an500": 40, "an505": 50, "an385": 40, "an547": 31.25, "rv32": 1}

# `readelf -A` attributes only that board's build has (fpv4-sp-d16, fpv5-d16, Armv8-M mainline,
# Armv7-M without FP attributes, RISC-V).
BUILD_TAG = {"an386": r"VFPv4-D16", "an500": r"FPv5/FP-D16 for ARMv8", "an505": r"v8-M\.mainline",
             "an385": r"Tag_CPU_arch: v7\n(?![\s\S]*Tag_FP_arch)", "an547": r"Tag_MVE_arch",
             "rv32": r"Tag_RISCV_arch"}
# (the an500's fpv5-d16 and the an505's fpv5-sp-d16 both say FPv5; the an505 is told apart by
# its architecture)

# Boards no real part's budget covers are labelled here (tflm_train.boards has the others:
# every board since issue 17).
EXTRA_LABELS: dict[str, str] = {}


def is_board_build(board: str, elf: Path) -> bool:
    attrs = subprocess.run(["arm-none-eabi-readelf", "-A", str(elf)], capture_output=True,
                           text=True).stdout
    if board == "an500" and re.search(BUILD_TAG["an505"], attrs):
        return False
    return re.search(BUILD_TAG[board], attrs) is not None


__all__ = ["INSNS_PER_TICK", "BUILD_TAG", "EXTRA_LABELS", "is_board_build"]
