"""bench/fleet: a quick run on Flower writes the JSON (both bases, per-method rates, goals) and
the PNG, and the Flower-free replay the rates are chosen with gives that run's exact curve."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from bench.fleet.replay import replay
from bench.fleet.run import LAST, headline, main
from bench.fleet.tasks import tasks, validation_split
from bench.fleet.tune import choose, tune_alpha, tune_centralised
from tflm_train.fleet import FleetModel, dirichlet_shards


def test_choose_prefers_best_then_smaller_rate():
    assert choose({0.01: 0.8, 0.003: 0.9, 0.1: 0.9}) == 0.003
    assert choose({0.02: 0.5, 0.05: 0.7}) == 0.05


def test_fixed_rates_skip_the_grid_and_fp32_can_follow_the_fleet():
    # every method fixed: nothing is trained (the context has no model to train with)
    args = argparse.Namespace(clients=4, rounds=2, local_epochs=1, batch_size=8,
                              server_momentum=0.0, server_lr=1.0, lr_grid=[0.1, 0.2],
                              fixed_rates={"centralised_int8": 0.1, "fleet_int8": 0.2,
                                           "local_only": 0.1, "fp32_fedavg": None})
    ctx = argparse.Namespace(args=args, model=None, fp32=None)
    rng = np.random.default_rng(0)
    val = (rng.random((40, 3)), np.arange(40) % 10, rng.random((8, 3)), np.arange(8) % 10)
    log = []
    got = tune_alpha(ctx, 1.0, val, headline, log.append)
    assert {m: v["lr"] for m, v in got.items()} == {
        "fleet_int8": 0.2, "fp32_fedavg": 0.2, "local_only": 0.1}
    assert tune_centralised(ctx, val, headline, log.append)["lr"] == 0.1
    assert log == []


def test_headline_is_the_mean_of_the_last_rounds_after_round_0():
    assert headline([0.1, 0.2, 0.4]) == pytest.approx(0.3)
    curve = list(np.linspace(0, 1, 12))
    assert headline(curve) == pytest.approx(np.mean(curve[-LAST:]))


def test_validation_split_is_disjoint_and_stratified():
    x_pool, y_pool, _, _ = tasks()["digits"].load(True)
    x_fit, y_fit, x_val, y_val = validation_split(x_pool, y_pool, 40)
    assert len(y_val) == 40 and len(y_fit) == len(y_pool) - 40
    assert set(map(bytes, x_fit)).isdisjoint(map(bytes, x_val))
    assert len(np.unique(y_val)) == 10


def test_heldout_samples_are_outside_the_pool_and_the_test_split():
    from bench.fleet.tasks import person_heldout
    x_pool, _, x_test, _ = tasks()["person_detect"].load(False)
    x, y = person_heldout(200)
    assert x.shape[1:] == x_pool.shape[1:] and len(y) == 200 and len(np.unique(y)) == 10
    seen = set(map(bytes, x_pool)) | set(map(bytes, x_test))
    assert seen.isdisjoint(map(bytes, x))
    assert np.array_equal(person_heldout(200)[0], x)  # the same draw every time


def test_diagnose_grid_splits_into_saturation_and_rounding():
    """clip_only then round_only is the deployed grid (the runtime's re-quantisation), and
    each alone changes only its own part."""
    from bench.fleet.diagnose import _on_grid
    from tflm_train.fleet import TensorQuant, requantize
    from tflm_train.fleet.aggregate import dequantize
    q = TensorQuant(0, "int8", np.full(6, 0.5))
    w = {0: np.array([0.26, -0.74, 63.2, -70.0, 10.0, 0.0, 9.0], np.float32)}  # 1 frozen
    clip, rnd = _on_grid(w, {0: q}, "clip_only")[0], _on_grid(w, {0: q}, "round_only")[0]
    assert clip.tolist() == pytest.approx([0.26, -0.74, 63.2, -64.0, 10.0, 0.0, 9.0])
    assert rnd.tolist() == pytest.approx([0.5, -0.5, 63.0, -70.0, 10.0, 0.0, 9.0])
    both = _on_grid({0: clip}, {0: q}, "round_only")[0]
    assert both[:6].tolist() == pytest.approx(
        dequantize(requantize(w[0][:6].astype(np.float64), q), q).tolist())
    with pytest.raises(ValueError, match="clip_only or round_only"):
        _on_grid(w, {0: q}, "grid")


@pytest.mark.slow
def test_quick_bench_and_replay(tmp_path):
    pytest.importorskip("flwr")
    argv = ["--tasks", "digits", "--quick", "--local-epochs", "2", "--server-momentum", "0.5",
            "--server-lr", "1.5", "--out", str(tmp_path)]
    assert main(argv) == 0
    entry = json.loads((tmp_path / "fleet.json").read_text())["tasks"]["digits"]
    assert entry["command"].startswith("python -m bench.fleet --tasks digits")
    assert (tmp_path / "fleet.png").stat().st_size > 0
    c = entry["config"]
    assert (c["clients"], c["rounds"], c["local_epochs"], c["server_momentum"],
            c["server_learning_rate"]) == (4, 2, 2, 0.5, 1.5)
    s = entry["summary"]["alpha_1.0"]
    # one rate in the grid: the fp32 twin's own choice is the fleet's, so the same curve
    run = entry["runs"][0]
    assert run["fp32_fedavg_own_rate"] == run["fp32_fedavg"]
    # the twin's weights run as int8: before round 1 they are the int8 model's own bytes
    deployed = run["fp32_fedavg_deployed_int8"]
    assert len(deployed) == 3 and deployed[0] == run["fleet_int8"][0]
    assert "fleet_minus_fp32_deployed_int8_points" in s[f"last_{LAST}_rounds"]
    assert set(s) >= {f"last_{LAST}_rounds", "final_round", "local_only"}
    assert entry["goals"]["bytes_per_client_per_round_equal_trained_plus_header"]["met"]
    # the replay (no Flower) gives the Flower run's curve exactly
    task = tasks()["digits"]
    model = FleetModel(task.extended(0, c["momentum"], True))
    x_pool, y_pool, x_te, y_te = task.load(True)
    shards = dirichlet_shards(x_pool, y_pool, 4, 1.0, seed=0)
    lr = c["learning_rates"]["alpha_1.0"]["fleet_int8"]["lr"]
    curve = replay(model, shards, 2, 2, lr, (x_te, y_te), 0, 8, 0.5, 1.5)
    assert curve == entry["runs"][0]["fleet_int8"]
