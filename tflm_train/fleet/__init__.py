"""Fleet learning: boards fine-tune locally, Flower averages their int8 trained bytes.

    from tflm_train.fleet import simulate, dirichlet_shards
    shards = dirichlet_shards(x, y, clients=20, alpha=0.1)
    result = simulate(extended, shards, rounds=10, local_epochs=1, learning_rate=0.005,
                      test=(x_test, y_test))
    result.accuracy, result.bytes

Flower (`pip install 'tflm-train[fleet]'`) is needed by `simulate` and the strategy only; the
message format, aggregation and shards import without it.
"""
from .aggregate import (ServerMomentum, TensorQuant, aggregation_rng, dequantize, fedavg,
                        requantize)
from .clients import HostClient, RoundSettings
from .flower import FlowerUnavailable
from .model import FleetModel
from .payload import Update, UpdateRejected, check, decode, header_bytes
from .shards import dirichlet_shards
from .simulate import FleetResult, simulate

__all__ = ["simulate", "FleetResult", "dirichlet_shards", "FleetModel", "HostClient",
           "RoundSettings", "Update", "UpdateRejected", "decode", "check", "header_bytes",
           "fedavg", "aggregation_rng", "ServerMomentum", "dequantize", "requantize", "TensorQuant",
           "FlowerUnavailable"]
