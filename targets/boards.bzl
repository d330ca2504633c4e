"""The supported boards, defined once: the toolchain (targets/toolchain), the firmware macros
(targets/defs.bzl) and the tests that call the cross compiler themselves read them from here.

Each Bazel board (--config=<name>) is a QEMU stand-in with the CPU of a real board; the same
objects link for both memory maps.
"""

# Compiler and linker flags of each board's CPU. The toolchain passes exactly these, in this
# order, to every compile and link: a change here changes every firmware byte.
CPU_FLAGS = {
    "an386": ["-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mthumb", "-mfloat-abi=hard"],
    "an500": ["-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mthumb", "-mfloat-abi=hard"],
    # Cortex-M33 with the DSP extension and the single-precision FPv5 (nRF5340 app core, RP2350)
    "an505": ["-mcpu=cortex-m33", "-mfpu=fpv5-sp-d16", "-mthumb", "-mfloat-abi=hard"],
    # Cortex-M3: no FPU, no DSP extension; float and double arithmetic is libgcc's software
    "an385": ["-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"],
    # Cortex-M55: Armv8.1-M with MVE (Helium), the DSP extension and a double-precision FPU.
    # No auto-vectorisation: GCC 12 turns plain float loops into MVE float code at -O2, and MVE
    # float flushes subnormals to zero where the scalar FPU and the host keep them
    # (kernels/firmware:mve_float_test found `to[j] + sum[j]` so changed); the MVE kernels are
    # written with intrinsics and guard against subnormals themselves (grad_product_mve.h).
    "an547": ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard", "-fno-tree-vectorize"],
    # RISC-V RV32IMC, no FPU (ESP32-C3 class): float is libgcc's software, as on the M3
    "rv32": ["-march=rv32imc", "-mabi=ilp32"],
}

# Cross tools of each board (the prefix of gcc, objcopy, ...): arm-none-eabi- unless named here.
TOOL_PREFIX = {
    "rv32": "riscv64-unknown-elf-",
}

# Linker scripts per board: (QEMU memory map, real board with the same CPU, or None where no
# real board runs these objects: the an385's M3 code does not run on the RP2040's M0+).
LINKER_SCRIPTS = {
    "an386": ("//targets:qemu/an386.ld", "//targets/boards/nano33ble:nano33ble.ld"),
    "an500": ("//targets:qemu/an500.ld", "//targets/boards/stm32f746:stm32f746.ld"),
    "an505": ("//targets:qemu/an505.ld", "//targets/boards/nrf5340:nrf5340.ld"),
    "an385": ("//targets:qemu/an385.ld", None),
    "an547": ("//targets:qemu/an547.ld", None),
    "rv32": ("//targets:qemu/rv32.ld", None),
}

# The section layout every board script INCLUDEs (found through -L its directory).
COMMON_LD = "//targets/board:common.ld"

ALL_BOARDS = ["an386", "an500", "an505", "an385", "an547", "rv32"]

# The Cortex-M boards on QEMU's MPS2 machines: Arm's fault registers, SysTick, SYSRESETREQ, the
# CMSDK UART and timers at the addresses the tests know, arm-none-eabi-g++ called directly by some
# tests. (The an547 is an MPS3 machine: its tests are the firmware ones, not these.)
ARM_BOARDS = ["an386", "an500", "an505", "an385"]

# The boards whose CPU has the DSP extension (the forward kernels' *_dsp paths) and a
# single-precision FPU (the backward kernels' VFP forms): the kernel firmware tests run there.
DSP_BOARDS = ["an386", "an500", "an505", "an547"]
FPU_BOARDS = ["an386", "an500", "an505", "an547"]
