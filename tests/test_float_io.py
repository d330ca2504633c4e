"""Float-I/O int8 models (issue 12 item 2): quantised without inference_input_type /
inference_output_type = tf.int8, so the input is float32 read by a QUANTIZE and the output
float32 made by a DEQUANTIZE. They convert, train and infer bit-exactly like the wheel; the
Trainer takes float32 samples and returns float32 outputs; export() keeps the float I/O."""
from __future__ import annotations

import numpy as np
import pytest

import tflm_train
from tflm_train import firmware
from tflm_train.converter.graph import build_graph
from tflm_train.converter.tflite_io import read_model

from . import model_factory as mf
from .demo_firmware import train_on_demo_firmware

SPARSE = tflm_train.SparseUpdate(n_bias=3, weights={-1: 1.0, -2: 0.5, -3: 0.25})


def wheel_float(model: bytes, xs: np.ndarray) -> np.ndarray:
    return mf.wheel_outputs(model, xs, np.float32)


def wheel_tensor(model: bytes, x: np.ndarray, t: int) -> np.ndarray:
    """Tensor t after one inference of float sample x in the TFLM wheel."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(
        bytes(model), intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    interp.set_input(x[None].astype(np.float32), 0)
    interp.invoke()
    return np.asarray(interp.GetTensor(t, 0)["tensor_data"])


def samples(n: int, seed: int) -> np.ndarray:
    # beyond the calibrated [0, 1] on both sides: the model's QUANTIZE saturates them
    return np.random.default_rng(seed).uniform(-0.5, 1.5, (n, 10, 10, 1)).astype(np.float32)


def io_types(model: bytes) -> tuple[str, str]:
    g = build_graph(read_model(model))
    return g.tensors[g.inputs[0]].dtype, g.tensors[g.outputs[0]].dtype


@pytest.mark.parametrize("scheme", [None, SPARSE], ids=["default", "sparse"])
@pytest.mark.parametrize("softmax", [True, False], ids=["softmax", "logits"])
def test_float_io_model_trains_and_runs_like_the_wheel(softmax, scheme):
    model = mf.float_io_model(softmax)
    kinds = mf.op_names(model)
    assert kinds[0] == "QUANTIZE" and kinds[-1] == "DEQUANTIZE", kinds
    assert io_types(model) == ("float32", "float32")
    xs, ys = samples(12, 1), np.arange(12) % 4
    tr = tflm_train.Trainer(tflm_train.convert(model, scheme), learning_rate=0.1, seed=3)
    before = tr.predict(xs)
    assert before.dtype == np.float32
    assert np.array_equal(before, wheel_float(model, xs))
    history = tr.fit(xs, ys, epochs=2, batch_size=1, progress=False)
    assert all(np.isfinite(history.loss))
    after = tr.predict(xs)
    assert not np.array_equal(before, after)  # training changed the model
    exported = tr.export()
    assert io_types(exported) == ("float32", "float32")
    assert np.array_equal(after, wheel_float(exported, xs))
    assert np.array_equal(tr.predict(xs, dequantize=True), after)  # already real values
    assert set(tr.evaluate(xs, ys)) == {"accuracy", "loss"}


def test_float_io_regression_trains_with_mse():
    model = mf.float_io_model(softmax=False)
    tr = tflm_train.Trainer(tflm_train.convert(model, loss="mse"), learning_rate=0.05)
    xs = samples(4, 2)
    targets = np.tile(np.float32([0.5, -0.5, 0.25, 0.0]), (4, 1))
    first = tr.evaluate(xs, targets)["mse"]
    tr.fit(xs, targets, epochs=5, progress=False)
    assert tr.evaluate(xs, targets)["mse"] < first
    assert np.array_equal(tr.predict(xs), wheel_float(tr.export(), xs))


@pytest.mark.parametrize("softmax", [True, False], ids=["softmax", "logits"])
def test_the_loss_is_the_cross_entropy_of_the_float_outputs(softmax):
    """The loss reads int8 logits: the tensor the final DEQUANTIZE reads, or the one a final
    SOFTMAX before it reads; its value is the cross-entropy of those logits as the wheel gives
    them, through a float softmax, up to the runtime's own Exp/Log."""
    model = mf.float_io_model(softmax)
    tr = tflm_train.Trainer(tflm_train.convert(model))
    xs = samples(4, 5)
    g = build_graph(read_model(model))
    result = g.producer(g.outputs[0]).inputs[0]  # the DEQUANTIZE's int8 input
    last = g.producer(result)
    logits_t = g.tensors[last.inputs[0] if softmax else result]
    assert (last.kind == "SOFTMAX") == softmax
    for x, label in zip(xs, [0, 1, 2, 3]):
        q = wheel_tensor(model, x, logits_t.index).astype(np.float64).reshape(-1)
        z = float(logits_t.scale[0]) * (q - q.max())
        expected = np.log(np.exp(z).sum()) - z[label]
        loss = tr.train_step(x, label)  # forward before the update: the same outputs
        tr = tflm_train.Trainer(tflm_train.convert(model))
        assert np.isclose(loss, expected, rtol=1e-5), (loss, expected)


def test_float_io_inputs_must_be_real_values():
    tr = tflm_train.Trainer(tflm_train.convert(mf.float_io_model()))
    with pytest.raises(ValueError, match="float32 inputs"):
        tr.predict(np.zeros((1, 10, 10, 1), np.int8))
    bad = samples(2, 0)
    bad[1, 3, 4, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tr.fit(bad, [0, 1], progress=False)
    assert tr.predict(samples(2, 0).astype(np.float64)).dtype == np.float32


def test_float_inputs_not_read_by_quantize_are_refused():
    with pytest.raises(tflm_train.UnsupportedOpError, match="float32"):
        tflm_train.convert(mf.custom_model("float"))


def test_firmware_steps_carry_float_samples():
    """The firmware copies each sample's bytes into tt_input (4 per element for float32): the
    host twin of the training firmware replays Trainer steps bit for bit."""
    ext = tflm_train.convert(mf.float_io_model(), SPARSE)
    xs, ys = samples(6, 7), np.arange(6) % 4
    steps = firmware.StepsFile(xs.reshape(6, -1), ys, 0.05, seed=11, rounding="stochastic")
    encoded = steps.encode()
    assert len(encoded) == 44 + 6 * (4 + 100 * 4)
    host = firmware.run_host(ext, steps)
    tr = tflm_train.Trainer(ext, learning_rate=0.05, seed=10)
    losses = [tr.train_step(x, y) for x, y in zip(xs, ys)]
    assert host.losses == [int(np.float32(v).view(np.uint32)) for v in losses]
    trained = tr.trained_tensors(whole=False)  # what the session holds: trained channels
    assert host.tensors and all(trained[t] == b for t, b in host.tensors.items())


@pytest.mark.slow
@pytest.mark.parametrize("board", ["an386", "an500"])
def test_float_io_training_on_the_board_equals_the_host(board):
    """The training firmware, unchanged, trains a float-I/O model in QEMU: float32 samples
    copied into tt_input, losses and trained bytes equal to the host's. Borrows the demo
    firmware's input files and puts them back."""
    ext = tflm_train.convert(mf.float_io_model(), SPARSE)
    xs, ys = samples(8, 7), np.arange(8) % 4
    steps = firmware.StepsFile(xs.reshape(8, -1), ys, 0.05, seed=11, rounding="stochastic")
    run = train_on_demo_firmware(board, ext, steps)
    host = firmware.run_host(ext, steps)
    assert len(run.losses) == 8 and run.losses == host.losses
    assert run.tensors and run.tensors == host.tensors
