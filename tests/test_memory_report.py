"""`tflm-train inspect`: peak SRAM and flash split into their parts, text and --json."""
import json
import shutil
import subprocess

import pytest
from click.testing import CliRunner

import tflm_train
from tflm_train.cli import main
from tflm_train.demo import DEMO_MODEL
from tflm_train.footprint import flash_split, sram_split
from tflm_train.inspection import describe


@pytest.fixture(scope="module")
def extended():
    return tflm_train.convert(DEMO_MODEL.read_bytes(), tflm_train.SparseUpdate(
        n_bias=2, weights={-1: 1.0}), optimizer=tflm_train.SGD(momentum=0.9))


def test_parts_add_up(extended):
    report = tflm_train.memory_report(extended)
    sram = sram_split(extended, runtime_bytes=500)
    parts = ("activations_gradients", "updated_weights", "optimizer_state", "op_data")
    assert sum(sram[p] for p in parts) == sram["arena"] == report.arena_bytes
    assert "other_persistent" not in sram
    assert sram["optimizer_state"] > 0  # momentum is planned in SRAM
    assert sram["total"] == report.arena_bytes + 500 and sram["stack"] is None
    flash = flash_split(extended)
    assert flash["model_weights"] + flash["training_program"] + flash["model_other"] == \
        len(extended) == flash["total"]
    assert flash["code"] is None and flash["model_weights"] > 0 and flash["training_program"] > 0


def test_inspect_text_and_json(tmp_path, extended):
    path = tmp_path / "ext.tflite"
    path.write_bytes(extended)
    r = CliRunner().invoke(main, ["inspect", str(path)])
    assert r.exit_code == 0, r.output
    for word in ("peak SRAM", "activations+grads", "updated weights", "optimizer state",
                 "op data", "runtime structures", "model weights", "--elf"):
        assert word in r.output, word
    info = json.loads(CliRunner().invoke(main, ["inspect", str(path), "--json"]).output)
    assert info["sram"]["arena"] == info["memory"]["arena_bytes"]
    assert info["flash"]["model_file"] == len(extended)
    assert "sram" not in describe(DEMO_MODEL.read_bytes())  # plain model: no plan, no split


@pytest.mark.skipif(shutil.which("arm-none-eabi-objcopy") is None, reason="no arm toolchain")
def test_inspect_with_elf(tmp_path, extended):
    # An ELF whose only content is the model: code is what remains after taking the model out.
    model, elf = tmp_path / "m.tflite", tmp_path / "fw.elf"
    model.write_bytes(extended)
    subprocess.run(["arm-none-eabi-objcopy", "-I", "binary", "-O", "elf32-littlearm", "-B",
                    "arm", str(model), str(elf)], check=True, cwd=tmp_path)
    flash = describe(extended, str(elf))["flash"]
    assert flash["elf_embeds_model"] and flash["code"] == 0
    assert flash["total"] == len(extended)
    r = CliRunner().invoke(main, ["inspect", str(model), "--elf", str(elf)])
    assert r.exit_code == 0 and "code" in r.output and "ELF text+data" in r.output, r.output


def test_replan_reproduces_stored_plan(extended):
    # the --plot timeline comes from a recompile: it must be the plan the model carries
    from tflm_train.inspection import replan
    assert replan(extended).program.arena_bytes == tflm_train.memory_report(extended).arena_bytes
