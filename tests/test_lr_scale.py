"""SparseUpdate.lr_scale: a per-layer learning-rate factor folded into the QAS factors (one layer
steps at factor x lr, the others as before), its checks, its scheme-file form and the fp32
twin's matching masks."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tflm_train
from tflm_train import SGD, SparseUpdate, Trainer
from tflm_train.converter import ConversionError
from tflm_train.converter.graph import build_graph
from tflm_train.converter.scheme import resolve
from tflm_train.converter.scheme_json import scheme_from_json, scheme_to_json
from tflm_train.converter.tflite_io import read_model

from .test_optimizer import DEMO, _check_close, _expected_step, _fc, _samples

TWO = dict(n_bias=2, weights={-1: 1.0, -2: 1.0})


def _weights(tr: Trainer, op, graph) -> np.ndarray:
    wt = graph.tensors[op.inputs[1]]
    return np.frombuffer(tr.trained_tensors()[op.inputs[1]], np.int8).reshape(wt.shape)


def test_scaled_layer_steps_at_factor_times_lr_and_the_others_do_not_change():
    graph = build_graph(read_model(DEMO))
    fc, wt = _fc(graph)
    conv = graph.trainable_ops()[-2]
    xs, ys = _samples(1, 3)
    unit = _expected_step(DEMO, xs, ys, 1.0, graph)
    factor = 4.0
    lr = 30.0 / (factor * np.abs(unit).max())  # the largest FC step: 30 quanta
    scaled = Trainer(tflm_train.convert(DEMO, SparseUpdate(**TWO, lr_scale={-1: factor})),
                     learning_rate=lr, rounding="nearest")
    plain = Trainer(tflm_train.convert(DEMO, SparseUpdate(**TWO)), learning_rate=lr,
                    rounding="nearest")
    scaled.train_step(xs[0], ys[0])
    plain.train_step(xs[0], ys[0])
    # the FC moved by factor x lr x QAS factor x its TF gradient ...
    _check_close(_weights(scaled, fc, graph), np.float32(lr * factor) * unit, wt.data)
    assert np.abs(_weights(plain, fc, graph).astype(int) - wt.data).max() <= 8
    # ... and the unscaled conv layer took exactly the step it takes without lr_scale
    assert (_weights(scaled, conv, graph) != graph.tensors[conv.inputs[1]].data).any()
    assert np.array_equal(_weights(scaled, conv, graph), _weights(plain, conv, graph))


def test_factor_one_gives_the_same_model_bytes():
    def convert(**scheme):
        return tflm_train.convert(DEMO, SparseUpdate(**scheme),
                                  optimizer=SGD(momentum=0.9, mini_batch=True))
    assert convert(**TWO, lr_scale={-1: 1.0, -2: 1}) == convert(**TWO)
    assert convert(**TWO, qas=False, lr_scale={-2: 1.0}) == convert(**TWO, qas=False)


def test_resolve_keys_by_index_or_name():
    graph = build_graph(read_model(DEMO))
    fc_name = graph.tensors[graph.trainable_ops()[-1].inputs[1]].name
    for key in (-1, len(graph.trainable_ops()) - 1, fc_name):
        ups = resolve(graph, SparseUpdate(**TWO, lr_scale={key: 2.5}))
        assert [u.lr_scale for u in ups] == [1.0, 2.5]


@pytest.mark.parametrize("lr_scale, message", [
    ({-1: 0.0}, "factor 0.0 for layer -1 must be a finite number > 0"),
    ({-1: -2.0}, "must be a finite number > 0"),
    ({-1: math.nan}, "must be a finite number > 0"),
    ({-1: math.inf}, "must be a finite number > 0"),
    ({-1: "2"}, "factor '2' for layer -1"),
    ({-1: True}, "factor True for layer -1"),
    ({99: 2.0}, "lr_scale: layer 99 does not exist"),
    ({"nope": 2.0}, "lr_scale: no trainable layer has a weight tensor named 'nope'"),
    ({0: 2.0}, "are not trained by the scheme"),
])
def test_bad_lr_scale_is_refused_by_name(lr_scale, message):
    with pytest.raises(ConversionError, match=message.replace("(", r"\(")):
        tflm_train.convert(DEMO, SparseUpdate(**TWO, lr_scale=lr_scale))


def test_scheme_file_round_trip():
    s = SparseUpdate(**TWO, lr_scale={-1: 10.0, "conv": 0.5})
    back = scheme_from_json(scheme_to_json(s))
    assert back.lr_scale == {-1: 10.0, "conv": 0.5} and back.weights == s.weights
    assert "lr_scale" not in scheme_to_json(SparseUpdate(**TWO))  # older files unchanged
    assert scheme_from_json(scheme_to_json(SparseUpdate(**TWO))).lr_scale == {}
    twice = scheme_to_json(s).replace('"layer": "conv"', '"layer": -1')
    with pytest.raises(ConversionError, match="lr_scale: layer -1 is listed twice"):
        scheme_from_json(twice)
    zero = scheme_to_json(s).replace("0.5", "0")
    with pytest.raises(ConversionError, match="lr_scale"):
        scheme_from_json(zero)


def test_fp32_twin_masks_carry_the_factor():
    from bench.accuracy.twin import FloatTwin

    tw = FloatTwin(DEMO, SparseUpdate(**TWO, lr_scale={-1: 3.0}))
    graph = tw.graph
    fc, conv = graph.trainable_ops()[-1], graph.trainable_ops()[-2]
    for t in fc.inputs[1:3]:
        assert np.all(tw.masks[t].numpy() == 3.0)
    for t in conv.inputs[1:3]:
        assert np.all(tw.masks[t].numpy() == 1.0)
