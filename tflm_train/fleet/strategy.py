"""The server side on Flower: FedAvg / FedAvgM of int8 trained bytes (aggregate.py), seeded
client sampling, rejection of malformed updates, and the bytes of every round."""
from __future__ import annotations

import logging

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MessageType, MetricRecord, \
    RecordDict
from flwr.serverapp.strategy import FedAvgM

from .aggregate import ServerMomentum, aggregation_rng, fedavg
from .model import FleetModel
from .payload import Update, UpdateRejected, check, decode
from .round_log import RoundLog

log = logging.getLogger("tflm_train.fleet")


def to_record(message: bytes) -> ArrayRecord:
    return ArrayRecord({"payload": Array(np.frombuffer(message, np.uint8).copy())})


def from_record(record: ArrayRecord) -> bytes:
    return record["payload"].numpy().tobytes()


class Int8FedAvg(FedAvgM):
    """Flower's FedAvgM with our aggregation: only trained bytes travel, FedAvg on the
    dequantised values re-quantised as the runtime rounds (aggregate.py; `rounding` of the
    int8 weights: stochastic, seeded by (seed, round), or nearest), server momentum
    optional (stepping a float64 master copy of the weights, whose re-quantisation is
    broadcast: aggregate.ServerMomentum), `fraction` of the clients per round drawn from a generator seeded by (seed,
    round), so a run is deterministic. An update with the wrong model id, tensors or lengths
    is left out of the round and its reason (naming the client) kept in the round's log."""

    def __init__(self, model: FleetModel, clients: int, seed: int = 0, fraction: float = 1.0,
                 server_momentum: float = 0.0, server_learning_rate: float = 1.0,
                 rounding: str = "stochastic"):
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction={fraction} must be in (0, 1]")
        super().__init__(fraction_train=fraction, fraction_evaluate=0.0, min_train_nodes=1,
                         min_available_nodes=clients, server_momentum=server_momentum,
                         server_learning_rate=server_learning_rate)
        if rounding not in ("stochastic", "nearest"):
            raise ValueError(f"rounding={rounding!r}: use 'stochastic' or 'nearest'")
        self.model, self.clients, self.seed, self.rounding = model, clients, seed, rounding
        self.tensors = dict(model.initial)  # the global trained bytes
        self.partition_of: dict[int, int] = {}  # Flower node id -> partition (client) index
        self.rounds: list[RoundLog] = []
        self._momentum = ServerMomentum(model.quants, server_momentum, server_learning_rate) \
            if self.server_opt else None

    def sample(self, rnd: int) -> list[int]:
        k = max(1, int(round(self.fraction_train * self.clients)))
        rng = np.random.default_rng([self.seed, rnd])
        return sorted(int(c) for c in rng.choice(self.clients, size=k, replace=False))

    def message(self, rnd: int) -> bytes:
        return Update(self.model.id, rnd, 0, self.tensors).encode()

    def configure_train(self, server_round, arrays, config, grid):
        chosen = self.sample(server_round)
        node_of = {p: n for n, p in self.partition_of.items()}
        down = self.message(server_round)
        self.rounds.append(RoundLog(server_round, chosen, bytes_down=len(down)))
        config["server-round"] = server_round
        record = RecordDict({self.arrayrecord_key: to_record(down),
                             self.configrecord_key: config})
        return [Message(content=record, message_type=MessageType.TRAIN, dst_node_id=node_of[p])
                for p in chosen]

    def aggregate_train(self, server_round, replies):
        entry = self.rounds[-1]
        accepted = []
        for reply in replies:
            pid = self.partition_of.get(reply.metadata.src_node_id)
            client = str(pid) if pid is not None else f"node {reply.metadata.src_node_id}"
            try:
                if pid is None or reply.has_error():
                    raise UpdateRejected(f"client {client}: " + (
                        "not a node of this fleet" if pid is None
                        else f"failed: {reply.error.reason}"))
                message = from_record(reply.content[self.arrayrecord_key])
                entry.bytes_up[pid] = len(message)
                update = decode(message, client)
                check(update, self.model.id, self.model.sizes, server_round, client)
                accepted.append((pid, update))
            except UpdateRejected as exc:
                entry.rejected.append(str(exc))
                log.warning("round %d: rejected: %s", server_round, exc)
        if not accepted:
            return None, None
        # Replies arrive in any order: sorted, FedAvgM's float sums are the same every run.
        accepted.sort(key=lambda a: a[0])
        updates = [(u.tensors, u.samples) for _, u in accepted]
        rng = aggregation_rng(self.seed, server_round) if self.rounding == "stochastic" \
            else None
        if self._momentum is not None:
            self.tensors = self._momentum.step(self.tensors, updates, rng)
        else:
            self.tensors = fedavg(updates, self.model.quants, rng)
        samples = sum(n for _, n in updates)
        return to_record(self.message(server_round + 1)), MetricRecord(
            {"num-examples": samples, "clients": len(updates)})

    def configure_evaluate(self, server_round, arrays, config, grid):
        return []


def query_partitions(grid, clients: int, timeout: float = 600.0) -> dict[int, int]:
    """Flower node id -> partition index of every simulated node (a QUERY round)."""
    import time
    t0 = time.time()
    while len(nodes := list(grid.get_node_ids())) < clients:
        if time.time() - t0 > timeout:
            raise RuntimeError(f"only {len(nodes)} of {clients} fleet nodes connected in "
                               f"{timeout:.0f} s")
        time.sleep(0.05)
    replies = grid.send_and_receive([
        Message(RecordDict({"config": ConfigRecord({})}), message_type=MessageType.QUERY,
                dst_node_id=n) for n in nodes])
    out = {}
    for r in replies:
        if r.has_error():
            raise RuntimeError(f"fleet node {r.metadata.src_node_id} failed: {r.error.reason}")
        out[r.metadata.src_node_id] = int(r.content["partition"]["id"])
    return out
