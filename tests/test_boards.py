"""The board table (tflm_train/boards.py) is the one definition of each board's sizes; the linker
scripts, targets/boards.bzl, the QEMU runner and the build data must say the same."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from tflm_train import boards
from tflm_train.boards import BOARDS, STANDINS, board

ROOT = Path(__file__).resolve().parents[1]
K, M = 1024, 1024 * 1024


def _bzl(name: str):
    tree = ast.parse((ROOT / "targets" / "boards.bzl").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == name:
            return ast.literal_eval(node.value)
    raise KeyError(name)


def _size(expr: str) -> int:
    """A linker size expression such as `1M - 64K` or `512K`."""
    expr = re.sub(r"(\d+)K\b", r"(\1*1024)", expr)
    expr = re.sub(r"(\d+)M\b", r"(\1*1048576)", expr)
    if not re.fullmatch(r"[\d\s()*+-]+|0x[0-9a-fA-F]+", expr):
        raise ValueError(f"not a size: {expr!r}")
    return int(eval(expr, {}, {}), 0) if expr.startswith("0x") else int(eval(expr, {}, {}))


def linker_map(path: Path) -> dict[str, int]:
    """MEMORY lengths and the board symbols of a linker script."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
    out = {}
    for region, length in re.findall(r"^\s*(\w+)\s*\([rwx]+\)\s*:.*LENGTH\s*=\s*([^\n]+)", text,
                                     re.M):
        out[region] = _size(length.strip())
    for sym, value in re.findall(r"^(__board_tick_hz|__checkpoint_size)\s*=\s*([^;]+);", text,
                                 re.M):
        out[sym] = _size(value.strip())
    return out


def _label_path(label: str) -> Path:
    package, _, name = label.lstrip("/").partition(":")
    return ROOT / package / name


@pytest.mark.parametrize("name", list(BOARDS))
def test_real_linker_script_states_the_table(name):
    b = BOARDS[name]
    real = linker_map(ROOT / b.linker_script)
    assert real["RAM"] == b.sram_bytes
    assert real["FLASH"] == b.flash_bytes  # the application's part
    assert real["__checkpoint_size"] == b.checkpoint_bytes
    if not b.linker_script.startswith("targets/qemu/"):  # (a QEMU map keeps checkpoints past it)
        assert b.flash_bytes + b.checkpoint_bytes == 1 * M  # the real parts have 1 MB of flash
        # the firmware keeps the reset clock, which never exceeds the core's maximum
        assert 0 < real["__board_tick_hz"] <= b.clock_hz


@pytest.mark.parametrize("name", list(BOARDS))
def test_qemu_standin_has_the_real_ram(name):
    b = BOARDS[name]
    qemu_ld, real_ld = _bzl("LINKER_SCRIPTS")[b.standin]
    # a board no real part runs (None) is budgeted with its QEMU map
    assert _label_path(real_ld or qemu_ld) == ROOT / b.linker_script
    qemu = linker_map(_label_path(qemu_ld))
    assert qemu["RAM"] == b.sram_bytes
    # QEMU's map keeps the whole 1 MB for code (its checkpoints live past it, in code SRAM)
    assert qemu["FLASH"] >= b.flash_bytes


# Bazel boards without an entry in the budget table (none since issue 17's M55M1 and ESP32-C3).
NO_BUDGET: list[str] = []


def test_bazel_boards_and_qemu_runner_agree_with_the_table():
    assert sorted(_bzl("ALL_BOARDS")) == sorted(list(STANDINS) + NO_BUDGET)
    assert "rv32 | virt) machine=virt" in (ROOT / "targets" / "qemu" / "run_qemu.sh").read_text()
    assert linker_map(ROOT / "targets" / "qemu" / "rv32.ld")["RAM"] == 400 * K  # ESP32-C3
    flags = _bzl("CPU_FLAGS")
    runner = (ROOT / "targets" / "qemu" / "run_qemu.sh").read_text()
    for b in BOARDS.values():
        assert f"-mcpu={b.cpu}" in flags[b.standin] or f"-march={b.cpu}" in flags[b.standin]
        assert f"{b.standin} | {b.qemu_machine}) machine={b.qemu_machine}" in runner


def test_every_board_has_build_data():
    data = json.loads((ROOT / "tflm_train" / "data" / "board_build.json").read_text())
    assert sorted(data["boards"]) == sorted(STANDINS)


def test_names_resolve_to_one_entry():
    assert board("an386") is board("nano33ble") and board("an500") is board("stm32f746")
    assert board("an505") is board("nrf5340") and board("an385") is board("rp2040_m3")
    assert board("nano33ble").sram_bytes == 256 * K and board("stm32f746").sram_bytes == 320 * K
    assert board("nrf5340").sram_bytes == 512 * K and board("rp2040_m3").sram_bytes == 264 * K
    assert board("an547") is board("m55m1") and board("m55m1").sram_bytes == 1344 * K
    assert board("rv32") is board("esp32c3") and board("esp32c3").sram_bytes == 400 * K
    assert boards.names() == ["nano33ble", "stm32f746", "nrf5340", "rp2040_m3", "m55m1",
                              "esp32c3", "an386", "an500", "an505", "an385", "an547", "rv32"]
    with pytest.raises(ValueError, match=r"unknown board 'uno'.*nano33ble"):
        board("uno")


def test_board_ids_are_unique_and_named_by_the_board_layer():
    """Each linker script's __board_id is its own, and board.h / board.cc name it."""
    ids = {}
    for ld in list((ROOT / "targets" / "qemu").glob("*.ld")) + list(
            (ROOT / "targets" / "boards").glob("*/*.ld")):
        m = re.search(r"^__board_id = (\d+);", ld.read_text(), re.M)
        assert m, ld
        assert m.group(1) not in ids, (ld, ids.get(m.group(1)))
        ids[m.group(1)] = ld
    header = (ROOT / "targets" / "board" / "board.h").read_text()
    for board_id in ids:
        assert re.search(rf"^\s+k\w+ = {board_id},", header, re.M), board_id
