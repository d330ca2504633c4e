"""`simulate`: a fleet of host clients (or boards) on Flower's simulation engine."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from .clients import HostClient, RoundSettings
from .model import FleetModel
from .round_log import RoundLog


@dataclass
class FleetResult:
    """accuracy[r]: test accuracy of the global model after round r (r = 0: before any)."""
    accuracy: list[float]
    rounds: list[RoundLog]
    model_id: str
    trained_bytes: int     # the scheme's trained bytes: what each message carries
    header_bytes: int      # plus this header
    tensors: dict[int, bytes] = field(repr=False, default_factory=dict)  # final global bytes

    @property
    def bytes(self) -> list[dict]:
        """Per round: bytes each client sent (update) and received (global), and the total."""
        return [{"round": r.round, "up": dict(r.bytes_up), "down_per_client": r.bytes_down,
                 "total": sum(r.bytes_up.values()) + r.bytes_down * len(r.clients)}
                for r in self.rounds]

    @property
    def total_bytes(self) -> int:
        return sum(b["total"] for b in self.bytes)

    @property
    def rejected(self) -> list[str]:
        return [reason for r in self.rounds for reason in r.rejected]

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "model_id": self.model_id,
                "trained_bytes": self.trained_bytes, "header_bytes": self.header_bytes,
                "bytes": self.bytes, "total_bytes": self.total_bytes,
                "clients_per_round": [r.clients for r in self.rounds],
                "rejected": self.rejected}


def simulate(extended: bytes, shards, rounds: int, local_epochs: int, learning_rate: float,
             test, seed: int = 0, fraction: float = 1.0, batch_size: int = 1,
             server_momentum: float = 0.0, server_learning_rate: float = 1.0,
             rounding: str = "stochastic", clients=None, cpus: int = 2,
             progress: bool = True) -> FleetResult:
    """Federated training of an extended model's trained tensors on Flower's simulation
    engine (Ray, `cpus` CPUs, one per client at a time).

    shards: one (x, y) per client. Each round, `fraction` of the clients (seeded by seed and
    the round) start from the global trained bytes, train `local_epochs` on their shard
    (mini-batches of `batch_size`, rate `learning_rate`), and send back their trained bytes;
    the server averages them (FedAvg, or FedAvgM with server_momentum > 0) and re-quantises
    the int8 weights with `rounding` (aggregate.py: stochastic, seeded; or nearest).
    test: (x, y) the global model is scored on before the first round and after each.
    clients: optional replacements by index (e.g. board clients, boards.py), each with
    .samples and .train(message, RoundSettings)."""
    from .flower import FlowerUnavailable, require_flower
    require_flower()
    from flwr.app import ConfigRecord, MetricRecord
    from flwr.simulation import run_simulation
    from tqdm.auto import tqdm

    from .flower import client_app, server_app
    from .strategy import Int8FedAvg

    if rounds < 1 or local_epochs < 1:
        raise ValueError(f"rounds={rounds}, local_epochs={local_epochs}: both must be >= 1")
    if not shards:
        raise ValueError("no shards: give one (x, y) per client")
    model = FleetModel(extended)
    if batch_size > 1 and not model.has_optimizer_state:
        raise ValueError(f"batch_size={batch_size} needs a model converted with "
                         "optimizer=SGD(mini_batch=True)")
    fleet = [HostClient(model, i, x, y) for i, (x, y) in enumerate(shards)]
    for i, c in (clients or {}).items():
        fleet[i] = c
    strategy = Int8FedAvg(model, len(fleet), seed, fraction, server_momentum,
                          server_learning_rate, rounding)
    x_test, y_test = test
    accuracy: list[float] = []
    bar = tqdm(total=rounds + 1, desc="fleet rounds", unit="round", disable=not progress)

    def evaluate(rnd, arrays):
        accuracy.append(model.evaluate(strategy.tensors, x_test, y_test))
        bar.set_postfix(accuracy=f"{accuracy[-1]:.3f}")
        bar.update(1)
        return MetricRecord({"accuracy": accuracy[-1]})

    settings = RoundSettings(0, local_epochs, float(learning_rate), batch_size, seed)
    config = ConfigRecord({"local-epochs": local_epochs, "learning-rate": float(learning_rate),
                           "batch-size": batch_size, "seed": seed})
    failures: list[BaseException] = []
    server = server_app(strategy, len(fleet), rounds, config, evaluate, failures)
    quiet = logging.getLogger("flwr"), logging.getLogger("tflm_train.fleet")
    levels = [q.level for q in quiet]
    quiet[0].setLevel(logging.WARNING)
    try:
        run_simulation(server, client_app(fleet, settings), num_supernodes=len(fleet),
                       backend_config={"client_resources": {"num_cpus": 1},
                                       "init_args": {"num_cpus": cpus,
                                                     "logging_level": logging.ERROR,
                                                     "log_to_driver": False}})
    finally:
        for q, level in zip(quiet, levels):
            q.setLevel(level)
        bar.close()
    if failures:
        raise failures[0]
    if len(accuracy) != rounds + 1:
        raise FlowerUnavailable(f"the Flower simulation ended after {len(accuracy) - 1} of "
                                f"{rounds} rounds without an error from the server")
    return FleetResult(accuracy, strategy.rounds, model.id.hex(), model.trained_bytes,
                       model.header_bytes, dict(strategy.tensors))
