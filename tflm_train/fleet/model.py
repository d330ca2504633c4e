"""The fleet's view of an extended model: which tensors travel, their sizes and scales, the
model id, and local training from a given set of trained bytes."""
from __future__ import annotations

import numpy as np

from ..converter.graph import build_graph
from ..converter.program import METADATA_NAME
from ..converter.tflite_io import get_metadata, read_model
from ..trainer import Trainer
from .aggregate import tensor_quants
from .payload import Update, header_bytes, model_id


def client_seed(seed: int, rnd: int, client: int) -> int:
    """Seed of one client's local training in one round (shuffle and stochastic rounding)."""
    return int(np.random.SeedSequence([seed, rnd, client]).generate_state(1)[0] >> 1)


class FleetModel:
    """An extended model (tflm_train.convert) as the fleet shares it."""

    def __init__(self, extended: bytes):
        self.extended = bytes(extended)
        trainer = Trainer(self.extended)
        self.initial: dict[int, bytes] = trainer.trained_tensors(whole=False)
        if not self.initial:
            raise ValueError("the model trains no tensors (an inference-only plan): nothing "
                             "for a fleet to average")
        self.sizes = {t: len(b) for t, b in self.initial.items()}
        model = read_model(self.extended)
        self.graph = build_graph(model)
        self.id = model_id(self.graph, get_metadata(model, METADATA_NAME), self.sizes)
        self.quants = tensor_quants(self.graph, self.sizes)
        self.has_optimizer_state = trainer.has_optimizer_state

    @property
    def trained_bytes(self) -> int:
        return sum(self.sizes.values())

    @property
    def header_bytes(self) -> int:
        return header_bytes(len(self.sizes))

    def trainer(self, tensors: dict[int, bytes], learning_rate: float = 0.05,
                seed: int = 0) -> Trainer:
        """A fresh Trainer (no optimizer state) holding `tensors`."""
        trainer = Trainer(self.extended, learning_rate=learning_rate, seed=seed)
        trainer.load_trained_tensors(tensors)
        return trainer

    def local_train(self, tensors: dict[int, bytes], x, y, epochs: int, learning_rate: float,
                    seed: int, rnd: int, batch_size: int = 1) -> Update:
        """One client's round: start from `tensors`, train `epochs` on (x, y), return the
        trained bytes as an update of this round."""
        trainer = self.trainer(tensors, learning_rate, seed)
        trainer.fit(x, y, epochs=epochs, batch_size=batch_size, progress=False)
        return Update(self.id, rnd, len(y), trainer.trained_tensors(whole=False))

    def evaluate(self, tensors: dict[int, bytes], x, y) -> float:
        return self.trainer(tensors).evaluate(x, y)["accuracy"]
