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
}

# Linker scripts per board: (QEMU memory map, real board with the same CPU).
LINKER_SCRIPTS = {
    "an386": ("//targets:qemu/an386.ld", "//targets/boards/nano33ble:nano33ble.ld"),
    "an500": ("//targets:qemu/an500.ld", "//targets/boards/stm32f746:stm32f746.ld"),
}

# The section layout every board script INCLUDEs (found through -L its directory).
COMMON_LD = "//targets/board:common.ld"

ALL_BOARDS = ["an386", "an500"]
