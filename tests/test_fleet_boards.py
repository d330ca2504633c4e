"""Boards in the loop: the an386 (Nano 33 BLE stand-in) and an500 (STM32F746 stand-in) fleet
firmware take part in Flower rounds beside a host client; every board round gives the host
runtime's bytes and losses (examples/firmware/fleet, tflm_train/fleet/boards.py)."""
from __future__ import annotations

import shutil

import pytest

from tflm_train.data import load_sklearn_digits
from tflm_train.fleet import (FleetModel, HostClient, RoundSettings, Update,
                              aggregation_rng, decode, dirichlet_shards, fedavg)

pytestmark = pytest.mark.slow

BOARDS = ("an386", "an500")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    if shutil.which("bazel") is None or shutil.which("qemu-system-arm") is None:
        pytest.skip("needs bazel and qemu-system-arm (scripts/install.sh)")
    from tflm_train.fleet.boards import BOARD_MODEL, build
    out = tmp_path_factory.mktemp("fleet_elf")
    elves = {b: build(b, out) for b in BOARDS}
    model = FleetModel(BOARD_MODEL.read_bytes())
    x, y = load_sklearn_digits()
    shards = dirichlet_shards(x[:90], y[:90], 3, 1.0, seed=1)
    return model, elves, shards, (x[1000:1300], y[1000:1300])


def test_board_round_equals_host(setup):
    from tflm_train.fleet.boards import BoardClient
    model, elves, shards, _ = setup
    settings = RoundSettings(round=1, local_epochs=2, learning_rate=0.01, batch_size=1, seed=5)
    message = Update(model.id, 1, 0, model.initial).encode()
    for i, board in enumerate(BOARDS):
        x, y = shards[i]
        on_board = BoardClient(model, board, i, x, y, elves[board])
        got = on_board.train(message, settings)
        assert got == HostClient(model, i, x, y).train(message, settings), board
        assert len(on_board.last_run.losses) == 2 * len(y)
        assert decode(got, board).samples == len(y)


def test_boards_as_flower_clients(setup):
    """Two rounds on Flower: clients 0 and 1 are the boards, client 2 the host; the global
    bytes equal a replay in which every client runs on the host."""
    pytest.importorskip("flwr")
    from tflm_train.fleet import simulate
    from tflm_train.fleet.boards import BoardClient
    model, elves, shards, test = setup
    boards = {i: BoardClient(model, b, i, *shards[i], elves[b]) for i, b in enumerate(BOARDS)}
    result = simulate(model.extended, shards, rounds=2, local_epochs=1, learning_rate=0.01,
                      test=test, seed=2, batch_size=8, clients=boards, progress=False)
    assert result.rejected == []
    hosts = [HostClient(model, i, *s) for i, s in enumerate(shards)]
    tensors = dict(model.initial)
    for rnd in (1, 2):
        message = Update(model.id, rnd, 0, tensors).encode()
        settings = RoundSettings(rnd, 1, 0.01, 8, 2)
        ups = [decode(c.train(message, settings), str(c.index)) for c in hosts]
        tensors = fedavg([(u.tensors, u.samples) for u in ups], model.quants,
                         aggregation_rng(2, rnd))
    assert result.tensors == tensors
    assert [r.clients for r in result.rounds] == [[0, 1, 2], [0, 1, 2]]
