"""Fleet clients: what one device does in a round, whatever carries its messages.

A client gets the round's message (payload.py: the global trained bytes) and the round's
settings, trains locally and answers with its own message. HostClient trains with the host
runtime; board clients (boards.py) run the same step in QEMU firmware.
"""
from __future__ import annotations

from dataclasses import dataclass

from .model import FleetModel, client_seed
from .payload import decode


@dataclass(frozen=True)
class RoundSettings:
    round: int
    local_epochs: int
    learning_rate: float
    batch_size: int
    seed: int


class HostClient:
    """A client whose local training runs on the host runtime (bit-exact with the boards)."""

    def __init__(self, model: FleetModel, index: int, x, y):
        if len(y) == 0:
            raise ValueError(f"client {index} has no samples")
        self.model, self.index, self.x, self.y = model, index, x, y

    @property
    def samples(self) -> int:
        return len(self.y)

    def train(self, message: bytes, settings: RoundSettings) -> bytes:
        start = decode(message, "server")
        update = self.model.local_train(
            start.tensors, self.x, self.y, settings.local_epochs, settings.learning_rate,
            client_seed(settings.seed, settings.round, self.index), settings.round,
            settings.batch_size)
        return update.encode()
