"""The Flower apps: one ClientApp serving every simulated node from its partition's client,
one ServerApp running the strategy. Flower is imported here only (the `fleet` extra)."""
from __future__ import annotations

from dataclasses import replace


class FlowerUnavailable(RuntimeError):
    """Flower is not installed or the simulation did not run."""


def require_flower() -> None:
    try:
        import flwr  # noqa: F401
        import ray  # noqa: F401
    except ImportError as exc:
        raise FlowerUnavailable(
            f"tflm_train.fleet needs Flower's simulation engine ({exc.name} is missing): "
            "pip install 'tflm-train[fleet]' (flwr[simulation]==1.42.0)") from exc


def client_app(clients, settings):
    """A ClientApp: QUERY answers the node's partition, TRAIN runs that client's round."""
    from flwr.app import Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp

    from .strategy import from_record, to_record

    app = ClientApp()

    @app.query()
    def query(msg, context):
        pid = int(context.node_config["partition-id"])
        return Message(RecordDict({"partition": MetricRecord(
            {"id": pid, "samples": clients[pid].samples})}), reply_to=msg)

    @app.train()
    def train(msg, context):
        pid = int(context.node_config["partition-id"])
        cfg = msg.content["config"]
        rnd = replace(settings, round=int(cfg["server-round"]))
        out = clients[pid].train(from_record(msg.content["arrays"]), rnd)
        return Message(RecordDict({"arrays": to_record(out), "metrics": MetricRecord(
            {"num-examples": clients[pid].samples})}), reply_to=msg)

    return app


def server_app(strategy, clients: int, rounds: int, config, evaluate, failures: list):
    """A ServerApp: map nodes to partitions, then run `rounds` of the strategy. The
    simulation runs it in a thread and drops its exceptions, so they go to `failures`."""
    from flwr.serverapp import ServerApp

    from .strategy import query_partitions, to_record

    app = ServerApp()

    @app.main()
    def main(grid, context):
        try:
            strategy.partition_of = query_partitions(grid, clients)
            strategy.start(grid, initial_arrays=to_record(strategy.message(1)),
                           num_rounds=rounds, train_config=config, evaluate_fn=evaluate)
        except BaseException as exc:  # noqa: BLE001 (re-raised by simulate)
            failures.append(exc)

    return app
