"""The int8 fleet's rounds without Flower, for choosing the learning rate on the validation
split: the same clients (HostClient), seeds, FedAvg / FedAvgM and server rounding as
`tflm_train.fleet.simulate` with every client in every round, so the same bytes
(tests/test_fleet_bench.py checks it against a Flower run). Flower's simulation spends ~1-2 min
starting Ray workers per run on the shared machine; a grid of rates would spend most of its
time there."""
from __future__ import annotations

from tflm_train.fleet import (FleetModel, HostClient, RoundSettings, ServerMomentum, Update,
                              aggregation_rng, decode, fedavg)


def replay(model: FleetModel, shards, rounds: int, local_epochs: int, lr: float, test,
           seed: int, batch_size: int, server_momentum: float = 0.0,
           server_lr: float = 1.0, master: bool = True,
           rounding: str = "stochastic") -> list[float]:
    """Test accuracy of the global model before round 1 and after each round."""
    clients = [HostClient(model, i, *s) for i, s in enumerate(shards)]
    # the strategy's rule (Flower's FedAvgM switches its server step on for either setting)
    momentum = ServerMomentum(model.quants, server_momentum, server_lr, master) \
        if server_momentum or server_lr != 1.0 else None
    tensors = dict(model.initial)
    curve = [model.evaluate(tensors, *test)]
    for rnd in range(1, rounds + 1):
        message = Update(model.id, rnd, 0, tensors).encode()
        settings = RoundSettings(rnd, local_epochs, float(lr), batch_size, seed)
        ups = [decode(c.train(message, settings), str(c.index)) for c in clients]
        updates = [(u.tensors, u.samples) for u in ups]
        rng = aggregation_rng(seed, rnd) if rounding == "stochastic" else None
        tensors = momentum.step(tensors, updates, rng) if momentum else \
            fedavg(updates, model.quants, rng)
        curve.append(model.evaluate(tensors, *test))
    return curve
