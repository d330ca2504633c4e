"""The boards tflm-train builds for: the one table of their SRAM, application flash, clock and CPU.

Budgets (`convert(board=...)`, `tflm-train convert --board`), the benches and the tests read it
from here. The linker scripts (targets/boards/*/*.ld, targets/qemu/*.ld) and targets/boards.bzl
are checked against it by tests/test_boards.py. Each entry is a real board; its QEMU stand-in
(the Bazel config that builds and tests its CPU) is a field, and its name resolves to the same
entry: the stand-ins are budgeted with the real part's sizes.

Adding a board: one entry here, plus what targets/README.md "Adding a board" lists (the linker
scripts must state the sizes written here) and `python targets/tools/board_data.py` for its
build data.
"""
from __future__ import annotations

from dataclasses import dataclass

KB = 1024


@dataclass(frozen=True)
class Board:
    name: str
    title: str            # board and microcontroller, as reports name it
    cpu: str              # -mcpu (-march on RISC-V) of its core (targets/boards.bzl CPU_FLAGS)
    sram_bytes: int       # the linker script's RAM
    flash_bytes: int      # the application's flash (linker FLASH), without the checkpoint region
    checkpoint_bytes: int  # flash kept for two-slot checkpoints, after the application
    clock_hz: int         # the core's maximum clock (time estimates); firmware keeps the reset clock
    standin: str          # Bazel config / QEMU machine with this CPU and these sizes
    qemu_machine: str
    linker_script: str    # the real board's map, relative to the repository


BOARDS: dict[str, Board] = {b.name: b for b in (
    Board("nano33ble", "Arduino Nano 33 BLE (nRF52840)", "cortex-m4", 256 * KB, 960 * KB,
          64 * KB, 64_000_000, "an386", "mps2-an386",
          "targets/boards/nano33ble/nano33ble.ld"),
    Board("stm32f746", "STM32F746", "cortex-m7", 320 * KB, 512 * KB, 512 * KB, 216_000_000,
          "an500", "mps2-an500", "targets/boards/stm32f746/stm32f746.ld"),
    Board("nrf5340", "nRF5340 application core", "cortex-m33", 512 * KB, 960 * KB, 64 * KB,
          128_000_000, "an505", "mps2-an505", "targets/boards/nrf5340/nrf5340.ld"),
    # The RP2040's memory (264 KB SRAM, a Pico's 2 MB flash) with a Cortex-M3: the FPU-less,
    # DSP-less class. The RP2040's own Cortex-M0+ cannot run Armv7-M code, so no real board runs
    # this build and its map is the QEMU one (2 MB for code, checkpoints past it).
    Board("rp2040_m3", "RP2040-class part (264 KB SRAM, no FPU), Cortex-M3 build", "cortex-m3",
          264 * KB, 2048 * KB, 64 * KB, 133_000_000, "an385", "mps2-an385",
          "targets/qemu/an385.ld"),
    # A public Cortex-M55 MCU: Nuvoton NuMicro M55M1 (M55M1H2LJAE, NuMaker-M55M1 board): 220 MHz,
    # 1344 KB SRAM (plus 128 KB DTCM / 64 KB ITCM, not counted), 2 MB flash (Nuvoton's board
    # documentation, as the Zephyr board page quotes it). Its SRAM is budgeted as one region; no
    # map of the real part is linked (no flash driver), so its map is the QEMU one: 1920 KB for
    # code, then the checkpoints and 4 KB of reset-surviving RAM, inside QEMU's 2 MB code SRAM
    # (the zoo images outgrow 1 MB on the M55: its MVE kernels sit beside the DSP ones).
    Board("m55m1", "Nuvoton M55M1 (Cortex-M55)", "cortex-m55", 1344 * KB, 1920 * KB, 64 * KB,
          220_000_000, "an547", "mps3-an547", "targets/qemu/an547.ld"),
    # Espressif ESP32-C3 (RV32IMC, 160 MHz): 400 KB SRAM, of which 16 KB serve the flash cache by
    # default, and the usual 4 MB flash (ESP32-C3 datasheet). No map of the real part is linked:
    # the QEMU one (the whole 4 MB for code, checkpoints past it).
    Board("esp32c3", "Espressif ESP32-C3 (RV32IMC)", "rv32imc", 400 * KB, 4096 * KB, 64 * KB,
          160_000_000, "rv32", "virt", "targets/qemu/rv32.ld"),
)}

STANDINS: dict[str, Board] = {b.standin: b for b in BOARDS.values()}


def standin_label(standin: str) -> str:
    """How reports name a QEMU stand-in: the board it stands in for, machine, CPU, sizes."""
    b = STANDINS[standin]
    return (f"{b.title} stand-in (QEMU {b.qemu_machine}, {b.cpu}, {b.sram_bytes // KB} KB RAM, "
            f"{b.flash_bytes // KB} KB application flash)")


def board(name: str) -> Board:
    """The board called `name`, or whose QEMU stand-in is called `name`."""
    found = BOARDS.get(name) or STANDINS.get(name)
    if found is None:
        raise ValueError(f"unknown board {name!r}; known: {', '.join(names())}")
    return found


def names() -> list[str]:
    """Every name board() accepts: the real boards, then their stand-ins."""
    return list(BOARDS) + list(STANDINS)


__all__ = ["Board", "BOARDS", "STANDINS", "board", "names", "standin_label"]
