"""SparseUpdate(inference_only=True): a forward-only plan that infers exactly like the wheel, needs
less arena than any training plan, and refuses to train with a clear message."""
from __future__ import annotations


import numpy as np
import pytest

import tflm_train
from tflm_train import ConversionError, SparseUpdate, Trainer
from tflm_train.binding import RuntimeFailure
from tflm_train.data import DEMO_MODEL

DEMO = DEMO_MODEL.read_bytes()


def test_forward_only_plan_matches_wheel_and_is_smaller():
    from tflite_micro.python.tflite_micro import runtime

    ext = tflm_train.convert(DEMO, SparseUpdate(inference_only=True))
    trained = tflm_train.convert(DEMO)
    assert tflm_train.memory_report(ext).arena_bytes < tflm_train.memory_report(trained).arena_bytes
    assert tflm_train.memory_report(ext).updated_weight_bytes == 0
    tr = Trainer(ext)
    x = np.random.default_rng(0).integers(-128, 128, (4, *tr.input_shape[1:]), dtype=np.int8)
    interp = runtime.Interpreter.from_bytes(DEMO)
    for sample in x:
        interp.set_input(sample[None], 0)
        interp.invoke()
        assert np.array_equal(tr.predict(sample[None])[0], interp.get_output(0)[0])


def test_training_an_inference_only_model_is_refused():
    tr = Trainer(tflm_train.convert(DEMO, SparseUpdate(inference_only=True)))
    with pytest.raises(RuntimeFailure, match="inference only"):
        tr.train_step(np.zeros(tr.input_shape[1:], np.int8), 0)


def test_inference_only_cannot_also_train():
    with pytest.raises(ConversionError, match="inference_only"):
        tflm_train.convert(DEMO, SparseUpdate(n_bias=1, inference_only=True))
