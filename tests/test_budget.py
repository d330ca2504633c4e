"""The budget counts the whole step (tflm_train/budget.py): arena + session storage + stack bound
+ the firmware's static RAM, and model + firmware code; the stack bound against the high-water
marks measured in QEMU; the build data is current."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import tflm_train
from tflm_train import budget
from tflm_train.boards import BOARDS, board
from tflm_train.cli import main
from tflm_train.demo import DEMO_MODEL

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT / "bench" / "firmware" / "train_zoo" / "models"
# How far the per-model bound may lie above the measured high-water mark (NOTES, issue 13),
# besides the error-message path (stack_error_message_bytes). Session 9 widened it to 0.15 (and
# to 0.5 on the soft-float boards) because indirect calls were resolved by parameter types only
# and the registration's weight_grad_elements pointer reached the op Evals with a 2.6 KB DSP
# buffer; since session 10 they also match on the return type's class and every board is back
# within 0.10.
MAX_MARGIN = 0.10


@pytest.fixture(scope="module")
def extended():
    return tflm_train.convert(DEMO_MODEL.read_bytes())


@pytest.fixture(scope="module")
def mobilenet():
    """The zoo training firmware's committed MobileNetV2 model: 750 KB of flash."""
    return (ZOO / "mobilenetv2_w035.tflite").read_bytes()


def _numbers(text: str) -> set[int]:
    return {int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", text)}


def test_parts_add_up(extended):
    nano = board("nano33ble")
    sram = budget.sram_needed(extended, nano)
    assert sram["arena"] == tflm_train.memory_report(extended).arena_bytes
    session = int(re.search(r"#define TT_SESSION_BYTES (\d+)",
                            (ROOT / "tflm_train/runtime/c_api.h").read_text()).group(1))
    assert sram["session_storage"] == session  # the target's storage, not the host's struct
    assert sram["stack_bound"] > 4096 and 0 < sram["firmware_static"] < 4096
    assert sram["total"] == sum(sram[k] for k in ("arena", "session_storage", "stack_bound",
                                                  "firmware_static"))
    flash = budget.flash_needed(extended, nano)
    assert flash["total"] == len(extended) + flash["firmware_code"]
    assert flash["firmware_code"] > 100 * 1024
    # no board: each firmware part at its largest over the boards
    assert budget.sram_needed(extended)["total"] == max(
        budget.sram_needed(extended, b)["total"] for b in BOARDS.values())


@pytest.mark.parametrize("kind", ["sram", "flash"])
def test_budget_too_small_names_every_part(extended, kind):
    need = (budget.sram_needed if kind == "sram" else budget.flash_needed)(extended)
    with pytest.raises(tflm_train.BudgetError) as info:
        tflm_train.convert(DEMO_MODEL.read_bytes(), **{f"{kind}_budget": need["total"] - 1})
    msg = str(info.value)
    parts = {k: v for k, v in need.items() if k not in ("total", "board")}
    assert {need["total"], need["total"] - 1, *parts.values()} <= _numbers(msg), msg
    for name in parts:
        assert name.replace("_", " ") in msg
    assert ("SRAM" if kind == "sram" else "flash") in msg and "by 1 B" in msg
    # exactly enough is fine
    tflm_train.convert(DEMO_MODEL.read_bytes(), **{f"{kind}_budget": need["total"]})


def test_board_sets_both_budgets(mobilenet):
    budget.check_budget(mobilenet, board="nano33ble")  # 960 KB of application flash: fits
    for name in ("stm32f746", "an500"):  # 512 KB: the model alone does not fit
        with pytest.raises(tflm_train.BudgetError, match=r"flash .* over the 524,288 B budget "
                                                         r"of stm32f746"):
            budget.check_budget(mobilenet, board=name)
    # a budget given beside the board wins, and the message names the board's size too
    with pytest.raises(tflm_train.BudgetError, match=r"given; nano33ble has 262,144 B"):
        budget.check_budget(mobilenet, sram_budget=80_000, board="nano33ble")


def test_bad_budget_arguments(extended):
    with pytest.raises(ValueError, match="unknown board 'uno'"):
        budget.check_budget(extended, board="uno")
    for bad in (0, -5, 1.5, True):
        with pytest.raises(ValueError, match="sram_budget must be a positive number"):
            budget.check_budget(extended, sram_budget=bad)


def _measured():
    """(model, board, stack high-water) of the zoo training firmware runs in bench/mcu.json
    (every board it ran) and bench/memory.json (the M4)."""
    mcu = json.loads((ROOT / "bench/results/mcu.json").read_text())
    rows = [(name, b, r["stack_high_water_bytes"], r["planned_arena_bytes"])
            for name, per in mcu["models"].items() for b, r in per.items()
            if isinstance(r, dict) and r.get("stack_high_water_bytes")]
    memory = json.loads((ROOT / "bench/results/memory.json").read_text())
    rows += [(name, r["firmware"]["board"], r["firmware"]["stack_high_water_bytes"],
              r["firmware"]["planned_arena_bytes"])
             for name, r in memory["models"].items() if "stack_high_water_bytes" in
             r.get("firmware", {})]
    # Only runs of the committed plan (a run of an older plan, e.g. before issue 18's input
    # source lengthened the first streamed chain, measured another recursion depth), on the
    # boards whose bound is held to MAX_MARGIN.
    return [(name, b, stack) for name, b, stack, arena in rows
            if b in MARGIN_BOARDS and
            tflm_train.memory_report((ZOO / f"{name}.tflite").read_bytes()).arena_bytes ==
            arena]


MARGIN_BOARDS = ("an386", "an500", "an505", "an385", "rv32", "an547")


@pytest.mark.parametrize("name,standin,measured", _measured())
def test_stack_bound_covers_measured_high_water(name, standin, measured):
    model = (ZOO / f"{name}.tflite").read_bytes()
    bound = budget.stack_bound(model, board(standin), firmware="train_zoo")
    assert bound >= measured, (f"{name} on {standin}: bound {bound} B < measured {measured} B "
                               "(if the firmware changed since bench/results was written, "
                               "rerun python -m bench.mcu)")
    # a successful run never formats an error message, which the bound must cover at the
    # deepest point of a step (board_data.py's stack_error_message_bytes)
    slack = budget.firmware_data(board(standin), "train_zoo")["stack_error_message_bytes"]
    assert bound <= measured * (1 + MAX_MARGIN) + slack, \
        f"bound {bound} B, measured {measured} B, error message path {slack} B"


def test_stack_bound_follows_the_longest_streamed_chain():
    nano = board("nano33ble")
    chains, bounds = [], []
    for name in ("mnist_cnn", "mobilenetv2_w035", "proxylessnas_w03"):
        model = (ZOO / f"{name}.tflite").read_bytes()
        chains.append(budget.longest_stream_chain(model))
        bounds.append(budget.stack_bound(model, nano))
    # issue 18: the chain that reads the input source streams the stem and two blocks (in
    # MobileNetV2 one op more since its backward peak fell: the search then takes the lowest
    # forward peak, NOTES "Issue 18")
    assert chains == [3, 7, 6] and bounds[0] <= bounds[2] <= bounds[1]
    fw = budget.firmware_data(nano)
    level = fw["stream_level_bytes"]
    for n, bound in zip(chains, bounds):  # the recursion counted at the model's own depth
        thread = max(fw["stack_thread_without_stream_arena_scratch_bytes"],
                     fw["stack_thread_arena_scratch_bytes"]
                     - (fw["stream_max_levels"] - n) * level)
        assert bound == thread + fw["stack_handler_bytes"]
    worst = fw["stack_thread_bytes"] + fw["stack_handler_bytes"]  # kMaxStreamStages deep
    assert max(bounds) < worst


def test_cli_budget_options(tmp_path):
    out = tmp_path / "ext.tflite"
    runner = CliRunner()
    r = runner.invoke(main, ["convert", str(DEMO_MODEL), "-o", str(out), "--board", "nano33ble"])
    assert r.exit_code == 0, r.output
    assert "nano33ble  SRAM" in r.output and "stack bound" in r.output
    r = runner.invoke(main, ["convert", str(DEMO_MODEL), "-o", str(out), "--sram-budget", "20000"])
    assert r.exit_code == 1 and "over the 20,000 B budget" in r.output
    r = runner.invoke(main, ["convert", str(DEMO_MODEL), "-o", str(out), "--board", "an500",
                             "--flash-budget", "50000"])
    assert r.exit_code == 1 and "flash" in r.output and "over the 50,000 B budget" in r.output
    r = runner.invoke(main, ["convert", str(DEMO_MODEL), "-o", str(out), "--sram-budget", "0"])
    assert r.exit_code == 2  # click refuses it before converting
    r = runner.invoke(main, ["convert", str(DEMO_MODEL), "-o", str(out), "--board", "uno"])
    assert r.exit_code == 2 and "nano33ble" in r.output


def test_inspect_shows_the_whole_count(tmp_path, extended):
    path = tmp_path / "ext.tflite"
    path.write_bytes(extended)
    r = CliRunner().invoke(main, ["inspect", str(path)])
    assert r.exit_code == 0, r.output
    for b in BOARDS:  # names padded to the longest
        assert re.search(rf"^  {b} +SRAM", r.output, re.M), b
    for part in ("session storage", "stack bound", "firmware static", "firmware code"):
        assert part in r.output
    info = json.loads(CliRunner().invoke(main, ["inspect", str(path), "--json", "--board",
                                                "an500"]).output)
    assert list(info["budget"]) == ["stm32f746"]
    assert info["budget"]["stm32f746"]["sram"] == budget.sram_needed(extended, "stm32f746")


def test_signature_keys_match_pointer_and_definition():
    sys.path.insert(0, str(ROOT / "targets" / "tools"))
    import stack_bound
    pointer = stack_bound.signature_key("const struct OpContext &, int32_t, float *", named=False)
    definition = stack_bound.signature_key(
        "const struct OpContext & ctx, int32_t channel, float * D.1234", named=True)
    assert pointer == definition
    assert pointer != stack_bound.signature_key("const struct Job *", named=False)
    assert stack_bound.signature_key("const char *, ...", named=False) == (2, (), ("...",))


def test_return_keys_tell_a_registration_hook_from_an_eval():
    sys.path.insert(0, str(ROOT / "targets" / "tools"))
    import stack_bound
    key = stack_bound.return_key
    assert key("int32_t ") == key("int") == key("bool") == ("int",)
    assert key("void ") == ("void",) and key("float") == ("float",)
    assert key("Status ") == key("tflm_train::Status") == ("Status",)
    assert key("const char * ") == key("struct Foo & ") == ("*",)
    # the definition line's return part, templates and all
    header = "void tflm_train::{anonymous}::InputTile<4, 4> (int32_t depth, const float * gs)"
    assert stack_bound._return_part(header, "int32_t depth, const float * gs") == "void"
    header = "int32_t tflm_train::{anonymous}::WeightGradElements (const struct OpContext & ctx)"
    assert key(stack_bound._return_part(header, "const struct OpContext & ctx")) != key("void")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("arm-none-eabi-g++") is None, reason="needs arm-none-eabi-g++")
def test_build_data_is_current():
    r = subprocess.run([sys.executable, str(ROOT / "targets/tools/board_data.py"), "--check"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
