"""Model zoo (bench/zoo): every model converts, fits 1 MB of flash, uses only expected ops, maps
the paper's sparse-update scheme onto the right layers, and runs on our runtime bit for bit like
the tflite-micro wheel (TFLM reference kernels): outputs and every intermediate tensor, on the
host and (slow) in the inference firmware under QEMU."""
from __future__ import annotations

import numpy as np
import pytest

import tflm_train
from bench import zoo
from bench.variants import unstreamed_inference_model
from bench.zoo import build as zoo_build
from bench.zoo import firmware_inputs, infer_firmware, schemes
from tflm_train.binding import NativeSession, invoke_op_by_op, num_ops
from tflm_train.converter.graph import build_graph
from tflm_train.converter.scheme import resolve
from tflm_train.converter.tflite_io import read_model

NAMES = list(zoo.NAMES)
SEEDS = (0, 1, 2)


def _inputs(model: bytes, seed: int, n: int = 1) -> np.ndarray:
    shape = tuple(build_graph(read_model(model)).tensors[
        build_graph(read_model(model)).inputs[0]].shape)
    return np.random.default_rng(seed).integers(-128, 128, size=(n, *shape[1:]), dtype=np.int8)


def _wheel(model: bytes, preserve: bool = False):
    from tflite_micro.python.tflite_micro import runtime

    config = runtime.InterpreterConfig.kPreserveAllTensors if preserve else \
        runtime.InterpreterConfig.kAllocationRecording
    return runtime.Interpreter.from_bytes(bytes(model), intrepreter_config=config)


@pytest.fixture(scope="module", params=NAMES)
def model(request):
    return request.param, zoo.load(request.param)


def test_flash_ops_and_conv_layers(model):
    name, data = model
    info = zoo_build.describe(name, data)
    assert info["bytes"] <= zoo_build.FLASH_BYTES
    assert info["unexpected_ops"] == [], f"{name}: ops outside the expected set"
    if name in schemes.PAPER_SCHEMES:
        assert info["conv_layers"] == schemes.PAPER_SCHEMES[name].conv_layers
        assert info["op_counts"]["ADD"] > 0  # residual blocks are really there
    # the committed manifest describes the committed file
    import json
    manifest = json.loads((zoo.MODELS_DIR / "manifest.json").read_text())
    assert manifest[name]["bytes"] == len(data)
    assert manifest[name]["op_counts"] == info["op_counts"]


def test_mobilenetv2_has_52_conv_layers():
    """The paper's count for MobileNetV2-w0.35; Keras' definition must give the same."""
    assert zoo_build.describe("mobilenetv2_w035",
                              zoo.load("mobilenetv2_w035"))["conv_layers"] == 52


@pytest.mark.parametrize("name", list(schemes.PAPER_SCHEMES))
def test_paper_scheme_maps_onto_conv_layers(name):
    """Paper conv index k is our trainable layer k; the FC is the last trainable layer; the
    scheme resolves with the paper's channel ratios and n_bias = paper's + 1 (classifier)."""
    data = zoo.load(name)
    paper = schemes.PAPER_SCHEMES[name]
    graph = build_graph(read_model(data))
    layers = graph.trainable_ops()
    convs = [op for op in graph.ops if op.kind in schemes.CONV_KINDS]
    assert layers[:-1] == convs and layers[-1].kind == "FULLY_CONNECTED"
    scheme = zoo.scheme(name)
    assert scheme.n_bias == paper.n_bias_update + 1
    updates = {u.op.index: u for u in resolve(graph, scheme)}
    for k, ratio in zip(paper.manual_weight_idx, paper.weight_update_ratio):
        u = updates.get(convs[k].index)
        if ratio == 0:  # frozen weights; its bias only if it is among the last n_bias layers
            assert u is None or u.weight_channels == 0
        else:
            assert u.weight_channels == max(1, round(ratio * u.out_channels)) and u.update_bias
    biased = [op.index for op in layers[-(paper.n_bias_update + 1):]]
    assert all(updates[i].update_bias for i in biased)  # conv biases and the classifier's
    assert not any(u.update_bias for i, u in updates.items() if i not in biased and
                   u.weight_channels == 0)
    fc = updates[layers[-1].index]
    assert fc.weight_channels == fc.out_channels and fc.update_bias


def test_scheme_layout_check_rejects_wrong_counts():
    with pytest.raises(ValueError, match="expected 52 conv"):
        schemes.check_layout(["CONV_2D"] * 51 + ["FULLY_CONNECTED"], 52)
    with pytest.raises(ValueError, match="does not exist"):
        schemes.to_sparse_update(schemes.PAPER_SCHEMES["proxylessnas_w03"], 52)


def test_outputs_equal_wheel(model):
    name, data = model
    session = NativeSession(tflm_train.convert(data, tflm_train.SparseUpdate(inference_only=True)))
    wheel = _wheel(data)
    outs = []
    for seed in SEEDS:
        x = _inputs(data, seed)[0]
        ours = session.invoke(x)
        wheel.set_input(x[None], 0)
        wheel.invoke()
        ref = np.asarray(wheel.get_output(0)).reshape(-1)
        assert ours.tobytes() == ref.tobytes(), f"{name} seed {seed}: {ours} != {ref}"
        outs.append(ours)
    assert len({o.tobytes() for o in outs}) == len(SEEDS)  # inputs matter: not a constant


def test_intermediate_tensors_equal_wheel(model):
    """Every op's output, read right after the op ran (tt_invoke_op), equals the wheel's tensor
    preserved with kPreserveAllTensors."""
    name, data = model
    graph = build_graph(read_model(data))
    session = NativeSession(unstreamed_inference_model(data))
    assert num_ops(session) == len(graph.ops)
    wheel = _wheel(data, preserve=True)
    for seed in SEEDS[:2]:
        x = _inputs(data, seed)[0]
        ours = invoke_op_by_op(session, x, [op.outputs for op in graph.ops])
        wheel.set_input(x[None], 0)
        wheel.invoke()
        assert len(ours) == len(graph.ops)
        for op in graph.ops:
            t = op.outputs[0]
            ref = wheel.GetTensor(t, 0)
            ref_bytes = np.asarray(ref["tensor_data"]).tobytes()
            assert ours[t] == ref_bytes, (
                f"{name} seed {seed}: op {op.index} {op.kind} output tensor {t} differs in "
                f"{sum(a != b for a, b in zip(ours[t], ref_bytes))} of {len(ref_bytes)} bytes")
        assert session.output().tobytes() == ours[graph.outputs[0]]


def test_firmware_models_are_current(model):
    """bench/firmware/infer embeds these; regenerate with python -m bench.zoo.firmware_inputs."""
    name, _ = model
    committed = firmware_inputs.INFER_MODELS / f"{name}.tflite"
    assert committed.read_bytes() == firmware_inputs.inference_model(name), (
        f"{committed} is stale: run python -m bench.zoo.firmware_inputs")


def test_firmware_input_generator_matches_driver():
    """Python mirror of FillInput: first bytes of sample 0/1 for seed 1 as the C++ computes them
    (xorshift32 13/17/5, top byte), checked here against an independent step-by-step rerun."""
    def reference(seed, index, n):
        x = (seed ^ (0x9E3779B9 * (index + 1))) % 2**32 or 1
        out = []
        for _ in range(n):
            x = (x ^ (x << 13)) % 2**32
            x = x ^ (x >> 17)
            x = (x ^ (x << 5)) % 2**32
            out.append(((x >> 24) + 128) % 256 - 128)
        return out
    for index in (0, 1):
        assert firmware_inputs.fill_input(1, index, 64).tolist() == reference(1, index, 64)


# -- firmware in QEMU (slow): board outputs equal the wheel's -----------------------------------

BOARD_MODELS = {  # boards whose RAM holds the planned inference arena (see infer/BUILD)
    "an386": list(zoo.NAMES),
    "an500": list(zoo.NAMES),
}


@pytest.fixture(scope="module")
def board_elfs(tmp_path_factory):
    cache = {}

    def get(board):
        if board not in cache:
            cache[board] = infer_firmware.build(board, BOARD_MODELS[board], reference=False,
                                                out_dir=tmp_path_factory.mktemp("infer"))
        return cache[board]
    return get


@pytest.mark.slow
@pytest.mark.parametrize("board,name", [(b, n) for b, ns in BOARD_MODELS.items() for n in ns])
def test_board_outputs_equal_wheel(board_elfs, board, name):
    """The firmware's outputs (inputs generated on the board) equal the wheel's on the same
    inputs; with the Bazel test infer_<name>_test (board == host twin) this closes the loop."""
    run = infer_firmware.run(board, board_elfs(board)[name])
    assert run.rc == 0, run.text[-2000:]
    data = zoo.load(name)
    wheel = _wheel(data)
    shape = wheel.get_input_details(0)["shape"]
    assert len(run.outputs) == firmware_inputs.INFER_RUNS
    for i, (out, fnv) in enumerate(zip(run.outputs, run.fnv)):
        x = firmware_inputs.fill_input(firmware_inputs.INFER_SEED, i, int(np.prod(shape)))
        wheel.set_input(x.reshape(shape), 0)
        wheel.invoke()
        ref = np.asarray(wheel.get_output(0)).tobytes()
        assert out == ref[:64] and fnv == infer_firmware.fnv1a(ref), f"{board} {name} run {i}"
    assert len(run.ticks) == firmware_inputs.INFER_RUNS and min(run.ticks) > 0


def test_arena_too_small_is_reported():
    """A plan larger than the arena (MobileNetV2 with whole tensors, ~250 KB, in the an386
    firmware's 236 KB arena) is refused at open with both numbers, not run into a crash."""
    from tflm_train.binding import RuntimeFailure
    from tflm_train.converter import memory_report

    model = unstreamed_inference_model(zoo.load("mobilenetv2_w035"))
    planned = memory_report(model).arena_bytes
    assert planned > 236 * 1024
    with pytest.raises(RuntimeFailure, match=f"arena of {236 * 1024} bytes is smaller than the "
                                            f"planned {planned} bytes"):
        NativeSession(model, arena_bytes=236 * 1024)


@pytest.mark.slow
def test_zoo_build_is_deterministic_and_matches_the_committed_structure():
    """A rebuild gives the same bytes twice on this machine (the build is deterministic), the
    committed model's structure (ops, tensors, shapes, quantisation layout) on any machine, and
    runs on our runtime bit for bit like the wheel. The committed bytes are not compared: they
    come from TensorFlow's float calibration, whose last bits depend on the CPU."""
    first = zoo_build.build_one("mcunet_like", 64, 0)
    assert zoo_build.build_one("mcunet_like", 64, 0) == first
    committed = zoo.load("mcunet_like")
    ours, theirs = zoo_build.structure(first), zoo_build.structure(committed)
    assert len(ours["ops"]) == len(theirs["ops"])
    for i, (a, b) in enumerate(zip(ours["ops"], theirs["ops"])):
        assert a == b, f"op {i}: rebuilt {a} != committed {b}"
    assert ours == theirs
    session = NativeSession(tflm_train.convert(first, tflm_train.SparseUpdate(inference_only=True)))
    wheel = _wheel(first)
    x = _inputs(first, 0)[0]
    wheel.set_input(x[None], 0)
    wheel.invoke()
    assert session.invoke(x).tobytes() == np.asarray(wheel.get_output(0)).tobytes()


def test_structure_sees_a_changed_layout():
    """structure() ignores how the file is laid out (a rewrite of the same model is equal) but
    not the model: one tensor's shape edited makes it differ."""
    from tflm_train.converter.tflite_io import write_model

    data = zoo.load("mnist_cnn")
    assert zoo_build.structure(write_model(read_model(data))) == zoo_build.structure(data)
    m = read_model(data)
    t = next(t for t in m.subgraphs[0].tensors if t.shape is not None and len(t.shape) == 4)
    t.shape = [*t.shape[:-1], t.shape[-1] + 1]
    assert zoo_build.structure(write_model(m)) != zoo_build.structure(data)


@pytest.mark.slow
def test_profile_firmware_runs_ops_one_by_one(tmp_path):
    """bench/forward.py --profile: the profile firmware runs every op alone with tt_invoke_op on
    both boards and kernel paths, gives the wheel's output (checked inside profile()), and its
    per-op instructions add up to about one whole inference."""
    from bench import forward

    prof = forward.profile(["mnist_cnn"], tmp_path)
    assert set(prof["mnist_cnn"]) == {"an386", "an500"}
    for board, p in prof["mnist_cnn"].items():
        assert "error" not in p, p
        classes = p["classes"]
        assert sum(c["ops"] for c in classes.values()) == 7
        assert classes["CONV_2D 3x3/2"]["macs"] > 0
        # whole inference of the same model and plan family is ~1.4 M instructions
        assert 1.0e6 < p["instructions_reference"] < 2.0e6
    assert not list((zoo.ROOT / "bench/firmware/infer/profile").glob("*.tflite"))
