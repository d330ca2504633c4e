"""bench/memory: planning variants (full update, sparse, sparse + reorder) ordered as they must
be, the no-reorder variant holding exactly the whole weight + bias gradients, and the JSON."""
import json
import shutil

import pytest

import tflm_train
from bench import zoo
from bench.memory import COLUMNS, main
from bench.variants import VARIANTS, plan_variant


def _held(step) -> int:
    return sum(b.size for b in step.buffers if isinstance(b.key, tuple))


@pytest.mark.parametrize("name", ["mnist_cnn", "mobilenetv2_w035"])
def test_variant_order(name):
    model, scheme = zoo.load(name), zoo.scheme(name)
    steps = {v: plan_variant(model, scheme, v) for v in VARIANTS}
    arena = {v: s.program.arena_bytes for v, s in steps.items()}
    assert arena["full_update"] >= arena["sparse"] >= arena["sparse_reorder"] > \
        arena["inference_only"], arena
    # sparse_reorder is what convert() writes; no gradient is held without a reason
    assert tflm_train.memory_report(tflm_train.convert(model, scheme)).arena_bytes == \
        arena["sparse_reorder"]
    assert _held(steps["sparse_reorder"]) == 0 and _held(steps["inference_only"]) == 0
    # sparse holds every updated layer's whole float gradient: 4 bytes per trained element
    p = steps["sparse"].program
    graph_bytes = {layer.op_index: 4 * (layer.weight_channels * (
        _weight_nbytes(model, layer.weight_tensor) // layer.out_channels) +
        (layer.out_channels if layer.update_bias else 0)) for layer in p.layers}
    assert _held(steps["sparse"]) == sum(graph_bytes.values()) > 0
    # each held gradient starts at its layer's own instruction; one starting at the backward's
    # first step means a fused backward opcode is missing from variants._FUSED_OPS
    starts = [b.first for b in steps["sparse"].buffers if isinstance(b.key, tuple)]
    assert min(starts) > p.n_forward, starts


def _weight_nbytes(model: bytes, t: int) -> int:
    from tflm_train.converter.graph import build_graph
    from tflm_train.converter.tflite_io import read_model
    return build_graph(read_model(model)).tensors[t].nbytes


def test_json_fields(tmp_path):
    out = tmp_path / "memory.json"
    assert main(["--models", "mnist_cnn", "--no-firmware", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["bench"] == "memory" and doc["command"].startswith("python -m bench.memory")
    assert "error" in doc["models"]["mnist_cnn"]["firmware"]  # skipped: said so
    row = doc["models"]["mnist_cnn"]
    for c in COLUMNS + ("inference_only",):
        plan = row["plans"][c]
        assert row["peak_sram_bytes"][c] == plan["arena_bytes"] + row["runtime_structures_bytes"]
        for key in ("activations_gradients_bytes", "updated_weight_bytes",
                    "optimizer_state_bytes", "op_data_bytes", "held_gradient_bytes"):
            assert key in plan
    assert row["stack_bytes"] is None and "not measured" in row["stack_note"]
    assert row["flash"]["code"] is None and row["flash"]["model_file"] > 0
    assert "paper_kb" not in row  # the demo CNN has no paper numbers
    assert (tmp_path / "memory.png").stat().st_size > 1000


def test_firmware_refuses_a_stale_input(tmp_path):
    # the firmware embeds the committed train_zoo model: another plan must not be measured as it
    from bench.memory import firmware_runs
    run = firmware_runs({"mnist_cnn": b"not the committed model"}, tmp_path)["mnist_cnn"]
    assert "--regenerate" in run["error"]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bazel") is None or shutil.which("qemu-system-arm") is None,
                    reason="needs Bazel and QEMU")
def test_firmware_measures_stack(tmp_path):
    # bench/firmware/train_zoo: the demo model's plan trains on the Nano 33 BLE stand-in,
    # losses and trained bytes as on the host
    from bench.memory import firmware_runs
    ext = tflm_train.convert(zoo.load("mnist_cnn"))
    run = firmware_runs({"mnist_cnn": ext}, tmp_path)["mnist_cnn"]
    assert "error" not in run, run
    assert run["board"] == "an386" and run["losses_equal_host"] is True and run["steps"] >= 1
    assert run["planned_arena_bytes"] == tflm_train.memory_report(ext).arena_bytes
    assert 0 < run["stack_high_water_bytes"] < run["stack_reserve_bytes"]
    assert 0 < run["session_bytes"] <= 1024 and run["code_bytes"] > 10_000
    assert 0 < run["board_static_bytes"] < 16_384
