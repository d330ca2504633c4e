"""Fleet learning (tflm_train.fleet): the int8 FedAvg arithmetic, the update messages and their
rejection, loading trained bytes into a session, and a 3-client, 2-round Flower simulation
replayed without Flower (same bytes: deterministic, and Flower adds nothing to the math)."""
from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

import tflm_train
from tflm_train.data import DEMO_MODEL, load_sklearn_digits
from tflm_train.fleet import (FleetModel, HostClient, RoundSettings, ServerMomentum, Update,
                              UpdateRejected, aggregation_rng, check, decode, dequantize,
                              dirichlet_shards, fedavg, header_bytes, requantize)

# The demo scheme with half of conv4's rows: a partially trained tensor travels as its rows.
SCHEME = tflm_train.SparseUpdate(n_bias=4, weights={-1: 1.0, -2: 0.5})


@pytest.fixture(scope="module")
def model():
    return FleetModel(tflm_train.convert(DEMO_MODEL.read_bytes(), SCHEME))


@pytest.fixture(scope="module")
def digits():
    return load_sklearn_digits()


def _random_updates(model, k, seed):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(k):
        tensors = {}
        for t, q in model.quants.items():
            n = len(q.scale)
            lo, hi = (-128, 128) if q.dtype == "int8" else (-2**31, 2**31)
            tensors[t] = rng.integers(lo, hi, n, dtype=np.int64).astype(q.dtype).tobytes()
        out.append((tensors, int(rng.integers(1, 200))))
    return out


def _round_half_away(f: Fraction) -> int:
    r = int(abs(f) + Fraction(1, 2))
    return r if f >= 0 else -r


def test_payload_is_trained_bytes_plus_header(model):
    # conv4 trained on half its rows: 8 of 16 rows of 3x3x16 travel, not the whole tensor
    conv4 = model.graph.tensors[5]
    assert model.sizes[5] == conv4.data.nbytes // 2
    assert model.trained_bytes == 160 + 40 + 1152 + 64 + 64 + 32
    message = Update(model.id, 3, 17, model.initial).encode()
    assert len(message) == model.trained_bytes + header_bytes(6) == model.trained_bytes + 72
    back = decode(message, "c")
    assert back == Update(model.id, 3, 17, model.initial)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("stochastic", [False, True])
def test_int8_fedavg_equals_float_fedavg(model, seed, stochastic):
    """Weights within one quantum of the float FedAvg of the dequantised values (half of one
    with nearest rounding); biases (int32) exactly the real average re-quantised."""
    updates = _random_updates(model, 5, seed)
    out = fedavg(updates, model.quants, aggregation_rng(seed, 1) if stochastic else None)
    total = sum(n for _, n in updates)
    for t, q in model.quants.items():
        float_avg = sum(n * dequantize(ts[t], q) for ts, n in updates) / total
        got = dequantize(out[t], q)
        bound = 1.0 if stochastic and q.dtype == "int8" else 0.5
        assert np.all(np.abs(got - float_avg) <= q.scale * (bound + 1e-9)), t
        if q.dtype == "int32":
            for i in range(len(q.scale)):
                s = Fraction(float(q.scale[i]))
                real = sum(n * int(np.frombuffer(ts[t], np.int32)[i]) * s
                           for ts, n in updates) / total
                assert int(np.frombuffer(out[t], np.int32)[i]) == _round_half_away(real / s)
        if not stochastic and q.dtype == "int8":
            # what aggregate.py's docstring says: the same as requantising the float average
            assert requantize(float_avg, q) == out[t]


def test_fedavg_rounds_ties_away_from_zero_and_weighs_samples(model):
    t8 = next(t for t, q in model.quants.items() if q.dtype == "int8")
    q = model.quants[t8]
    n = len(q.scale)
    a = {t: bytes(model.sizes[t]) for t in model.sizes}
    b = dict(a)
    a[t8] = np.array([1, -1] * (n // 2), np.int8).tobytes()
    b[t8] = np.array([2, -2] * (n // 2), np.int8).tobytes()
    tie = np.frombuffer(fedavg([(a, 3), (b, 3)], model.quants)[t8], np.int8)
    assert list(tie[:2]) == [2, -2]  # 1.5 -> 2, -1.5 -> -2 (sgd_update.h: nearest)
    weighted = np.frombuffer(fedavg([(a, 1), (b, 3)], model.quants)[t8], np.int8)
    assert list(weighted[:2]) == [2, -2]  # 1.75, -1.75
    low = np.frombuffer(fedavg([(a, 3), (b, 1)], model.quants)[t8], np.int8)
    assert list(low[:2]) == [1, -1]  # 1.25, -1.25


def test_stochastic_requantisation_is_unbiased_and_seeded(model):
    """A fleet average 0.3 quanta above a weight moves it by 0.3 on average (nearest would
    leave it where it is every round), and the same seed gives the same bytes."""
    t8 = next(t for t, q in model.quants.items() if q.dtype == "int8")
    n = len(model.quants[t8].scale)
    a = {t: bytes(model.sizes[t]) for t in model.sizes}
    b = {**a, t8: np.ones(n, np.int8).tobytes()}
    updates = [(a, 7), (b, 3)]
    near = np.frombuffer(fedavg(updates, model.quants)[t8], np.int8)
    assert not near.any()
    means = [np.frombuffer(fedavg(updates, model.quants, aggregation_rng(s, 1))[t8],
                           np.int8).mean() for s in range(20)]
    assert abs(np.mean(means) - 0.3) < 0.02
    assert fedavg(updates, model.quants, aggregation_rng(4, 2)) == \
        fedavg(updates, model.quants, aggregation_rng(4, 2))


def test_fedavg_is_independent_of_client_order(model):
    updates = _random_updates(model, 4, 7)
    assert fedavg(updates, model.quants) == fedavg(updates[::-1], model.quants)


def test_server_momentum(model):
    updates = _random_updates(model, 3, 11)
    old = model.initial
    # FedAvgM without momentum at server rate 1 is FedAvg (to the rounding of float math)
    plain = ServerMomentum(model.quants, 0.0, 1.0).step(old, updates)
    exact = fedavg(updates, model.quants)
    for t, q in model.quants.items():
        diff = np.abs(np.frombuffer(plain[t], q.dtype).astype(np.int64)
                      - np.frombuffer(exact[t], q.dtype).astype(np.int64))
        assert diff.max() <= 1
    # momentum 0.5: the second step moves by g2 + 0.5 g1 (real units), saturated; g is
    # broadcast - average. Without the master copy the step starts from the broadcast, with
    # it from the server's float master (the first broadcast, stepped by g1, clipped).
    total = sum(n for _, n in updates)
    for master in (False, True):
        m = ServerMomentum(model.quants, 0.5, 1.0, master=master)
        first = m.step(old, updates)
        second = m.step(first, updates)
        for t, q in model.quants.items():
            avg = sum(n * dequantize(ts[t], q) for ts, n in updates) / total
            g1 = dequantize(old[t], q) - avg
            g2 = dequantize(first[t], q) - avg
            lo, hi = (-128, 127) if q.dtype == "int8" else (-2**31, 2**31 - 1)
            start = np.clip(dequantize(old[t], q) - g1, lo * q.scale, hi * q.scale) \
                if master else dequantize(first[t], q)
            want = requantize(start - (g2 + 0.5 * g1), q)
            assert second[t] == want


@pytest.mark.parametrize("momentum", [0.0, 0.7])
def test_master_copy_keeps_updates_below_half_a_quantum(model, momentum):
    """3 of 10 equal clients move every element by +1 quantum from the broadcast each round:
    the average moves 0.3 quantum a round. The float reference accumulates it (with momentum,
    its steps grow towards 1 quantum); the master copy's broadcast follows it to nearest;
    without momentum, re-quantised to nearest from the broadcast, it is lost every round."""
    rounds = 10
    # away from int8's saturation, which would stop the float reference's arithmetic
    start = {t: np.clip(np.frombuffer(b, model.quants[t].dtype), -100, 100).tobytes()
             for t, b in model.initial.items()}
    runs = {}
    for master in (False, True):
        server = ServerMomentum(model.quants, momentum, 1.0, master=master)
        bcast = start
        for _ in range(rounds):
            moved = {t: (np.frombuffer(b, model.quants[t].dtype) + 1).tobytes()
                     for t, b in bcast.items()}
            bcast = server.step(bcast, [(moved, 5)] * 3 + [(bcast, 5)] * 7)
        runs[master] = bcast
    # the float reference: m = mu m + 0.3 each round (g = -0.3 quantum), w += m
    m, moved = 0.0, 0.0
    for _ in range(rounds):
        m = momentum * m + 0.3
        moved += m
    for t, q in model.quants.items():
        first = np.frombuffer(start[t], q.dtype).astype(np.int64)
        without = np.frombuffer(runs[False][t], q.dtype).astype(np.int64)
        with_master = np.frombuffer(runs[True][t], q.dtype).astype(np.int64)
        if momentum == 0.0:
            assert np.array_equal(without, first)
        # the master is the float reference to float64 error; the broadcast is its nearest
        assert np.abs(with_master - first - moved).max() <= 0.5 + 1e-6


def test_malformed_updates_are_rejected_naming_the_client(model):
    good = Update(model.id, 2, 10, model.initial)
    check(decode(good.encode(), "7"), model.id, model.sizes, 2, "7")
    t = sorted(model.sizes)[0]
    cases = {
        "model id": Update(b"\0" * 8, 2, 10, model.initial),
        "round 1": Update(model.id, 1, 10, model.initial),
        "wrong tensors": Update(model.id, 2, 10, {**model.initial, 99: b"\0" * 4}),
        "missing": Update(model.id, 2, 10, {k: v for k, v in model.initial.items() if k != t}),
        f"tensor {t} has": Update(model.id, 2, 10, {**model.initial, t: model.initial[t][:-1]}),
        "0 samples": Update(model.id, 2, 0, model.initial),
    }
    for what, update in cases.items():
        with pytest.raises(UpdateRejected, match=f"client 7: .*{what}"):
            check(decode(update.encode(), "7"), model.id, model.sizes, 2, "7")
    message = good.encode()
    for bad, what in ((message[:-1], "its header describes"), (message + b"x", "describes"),
                      (message[:10], "shorter than"), (b"XXXX" + message[4:], "not a tflm")):
        with pytest.raises(UpdateRejected, match=f"client 7: .*{what}"):
            decode(bad, "7")


def test_model_id_covers_frozen_part_and_program(model):
    other_scheme = FleetModel(tflm_train.convert(
        DEMO_MODEL.read_bytes(), tflm_train.SparseUpdate(n_bias=4, weights={-1: 1.0, -2: 1.0})))
    assert other_scheme.id != model.id
    # trained bytes do not change the id: a saved, trained model is the same fleet model
    tr = model.trainer(model.initial, 0.05, 0)
    x, y = load_sklearn_digits()
    tr.fit(x[:16], y[:16], progress=False)
    assert FleetModel(tr.save()).id == model.id


def test_load_trained_tensors(model, digits):
    x, y = digits
    a = model.trainer(model.initial, 0.01, seed=1)
    a.fit(x[:40], y[:40], progress=False)
    b = model.trainer(a.trained_tensors(whole=False))
    assert b.trained_tensors() == a.trained_tensors()
    assert np.array_equal(b.predict(x[100:120]), a.predict(x[100:120]))
    whole = a.trained_tensors()
    c = model.trainer(whole)  # whole tensors are accepted when the frozen rows match
    assert c.trained_tensors() == whole
    bad = dict(whole)
    bad[5] = whole[5][:-1] + bytes([(whole[5][-1] + 1) % 256])  # a frozen row of conv4
    with pytest.raises(ValueError, match="tensor 5: the bytes past the first 1152 differ"):
        model.trainer(bad)
    with pytest.raises(ValueError, match="tensor 0 is not trained"):
        model.trainer({0: b""})
    with pytest.raises(ValueError, match="tensor 3: 7 bytes; the model trains 160"):
        model.trainer({3: bytes(7)})


def test_dirichlet_shards(digits):
    x, y = digits
    for alpha in (0.1, 1.0):
        shards = dirichlet_shards(x, y, 20, alpha, seed=3)
        assert sum(len(s[1]) for s in shards) == len(y)
        assert all(len(s[1]) >= 1 for s in shards)
        again = dirichlet_shards(x, y, 20, alpha, seed=3)
        assert all(np.array_equal(a[1], b[1]) for a, b in zip(shards, again))
    skew = lambda shards: np.mean([np.bincount(s[1], minlength=10).max() / len(s[1])
                                   for s in shards])
    assert skew(dirichlet_shards(x, y, 20, 0.1, 0)) > skew(dirichlet_shards(x, y, 20, 1.0, 0))


def test_tflm_train_imports_without_flower():
    """The extra is optional: tflm_train and the fleet's message/aggregation code import with
    flwr unimportable; simulate() says which extra to install."""
    code = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('flwr', 'ray'):
            raise ImportError(f'No module named {name!r}', name=name)
sys.meta_path.insert(0, Block())
import tflm_train, tflm_train.fleet
from tflm_train.fleet import simulate, FlowerUnavailable
try:
    simulate(b'', [(1, 2)], 1, 1, 0.1, test=(0, 0))
except FlowerUnavailable as exc:
    print('refused:', exc)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "pip install 'tflm-train[fleet]'" in out.stdout


class _WrongIdInRound2(HostClient):
    """A client whose round-2 update claims another model."""

    def train(self, message, settings):
        out = super().train(message, settings)
        if settings.round == 2:
            update = decode(out, "self")
            out = Update(b"\xff" * 8, update.round, update.samples, update.tensors).encode()
        return out


def test_simulation_three_clients_two_rounds(model, digits):
    """Flower's simulation (Ray, 2 CPUs; ~1 min, most of it Ray starting workers that import
    TensorFlow through flwr) gives exactly the bytes of the same rounds replayed here without
    Flower; client 2's malformed round-2 update is rejected by name and left out."""
    pytest.importorskip("flwr")
    from tflm_train.fleet import simulate
    x, y = digits
    shards = dirichlet_shards(x[:150], y[:150], 3, 1.0, seed=0)
    test = (x[1000:1300], y[1000:1300])
    bad = _WrongIdInRound2(model, 2, *shards[2])
    result = simulate(model.extended, shards, rounds=2, local_epochs=1, learning_rate=0.005,
                      test=test, seed=4, clients={2: bad}, progress=False)
    assert len(result.rejected) == 1 and "client 2: model id ffffffffffffffff" in \
        result.rejected[0]
    # replay: same clients, same seeds, FedAvg of the accepted updates
    clients = [HostClient(model, i, *s) for i, s in enumerate(shards)]
    tensors, acc = dict(model.initial), [model.evaluate(model.initial, *test)]
    for rnd in (1, 2):
        message = Update(model.id, rnd, 0, tensors).encode()
        settings = RoundSettings(rnd, 1, 0.005, 1, 4)
        ups = [decode(c.train(message, settings), str(c.index)) for c in clients]
        ups = ups if rnd == 1 else ups[:2]
        tensors = fedavg([(u.tensors, u.samples) for u in ups], model.quants,
                         aggregation_rng(4, rnd))
        acc.append(model.evaluate(tensors, *test))
    assert result.tensors == tensors
    assert result.accuracy == acc
    assert acc[2] > acc[0]  # the fleet learns
    size = model.trained_bytes + model.header_bytes
    assert result.bytes[0]["up"] == {0: size, 1: size, 2: size}
    assert result.bytes[0]["down_per_client"] == size
    assert result.total_bytes == 2 * 6 * size


@pytest.mark.slow
def test_cli_fleet(tmp_path):
    """`tflm-train fleet` on digits: curves for the fleet, local-only and centralised, the bytes
    per client per round, a PNG and the JSON."""
    pytest.importorskip("flwr")
    from click.testing import CliRunner
    from tflm_train.cli import main
    ext = tmp_path / "ext.tflite"
    ext.write_bytes(tflm_train.convert(DEMO_MODEL.read_bytes(), SCHEME))
    data = tmp_path / "task.npz"
    x, y = load_sklearn_digits()
    np.savez(data, x=x[:240], y=y[:240])
    plot, js = tmp_path / "fleet.png", tmp_path / "fleet.json"
    res = CliRunner().invoke(main, ["fleet", str(ext), "--data", str(data), "--clients", "3",
                                    "--rounds", "2", "--dirichlet", "0.5", "--plot", str(plot),
                                    "--json", str(js)])
    assert res.exit_code == 0, res.output
    assert "bytes per client per round: 1584 each way (1512 trained + 72 header)" in res.output
    assert plot.stat().st_size > 0
    import json
    d = json.loads(js.read_text())
    assert len(d["curves"]["centralised"]) == len(d["accuracy"]) == 3
    bad = CliRunner().invoke(main, ["fleet", str(ext), "--data", str(data), "--clients", "300",
                                    "--dirichlet", "0.1"])
    assert bad.exit_code != 0 and "cannot give 300 clients" in bad.output
