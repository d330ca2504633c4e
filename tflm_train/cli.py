"""The `tflm-train` command line: convert, inspect, train, export, search, fleet, demo."""
from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path

import click
import numpy as np

from . import __version__
from .binding import RuntimeFailure
from .boards import STANDINS, names as board_names


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


def _parse_ratio(item: str, ratio: str, what: str = "RATIO") -> float:
    """'1/8', '0.25' or '1' -> float (an exact fraction first, so '1/8' is 0.125 exactly)."""
    try:
        return float(Fraction(ratio.strip()))
    except (ValueError, ZeroDivisionError) as exc:
        raise click.BadParameter(f"{item!r}: {what.lower()} {ratio!r} is not a number (write "
                                 "it like 1/8, 0.25 or 1)") from exc


def _parse_weights(spec: str) -> dict:
    """'-1:1,-2:0.5' or 'dense/kernel:1/4' -> {layer: ratio}."""
    return _parse_layer_values(spec, "RATIO")


def _parse_layer_values(spec: str, what: str) -> dict:
    """'-1:1,-2:0.5' or 'dense/kernel:1/4' -> {layer: value}; what names the value in errors."""
    out = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        key, _, ratio = item.rpartition(":")
        if not key:
            raise click.BadParameter(f"{item!r}: expected LAYER:{what}")
        try:
            layer = int(key)
        except ValueError:
            layer = key
        out[layer] = _parse_ratio(item, ratio, what)
    return out


def _weights_option(ctx, param, value: str | None) -> dict | None:
    return None if value is None else _parse_weights(value)


def _lr_scale_option(ctx, param, value: str | None) -> dict | None:
    return None if value is None else _parse_layer_values(value, "FACTOR")


def _fail(exc: Exception) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


@click.group()
@click.version_option(__version__)
def main():
    """On-device training for TensorFlow Lite Micro int8 models."""


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the extended .tflite.")
@click.option("--n-bias", type=int, default=None,
              help="Update the biases of the last N trainable layers.")
@click.option("--weights", default=None, callback=_weights_option,
              help="Layers whose weights to update, LAYER:RATIO,... (LAYER: index among "
                   "conv/depthwise/FC layers, negative from the end, or weight tensor name; "
                   "RATIO in 0,1/8,1/4,1/2,1).")
@click.option("--lr-scale", default=None, callback=_lr_scale_option,
              help="Per-layer learning-rate factors, LAYER:FACTOR,... (layers named as in "
                   "--weights, each one the scheme trains; e.g. a new head faster than the "
                   "backbone: -1:10).")
@click.option("--no-qas", is_flag=True, help="Disable quantization-aware scaling.")
@click.option("--inference-only", is_flag=True, help="Train nothing: a forward-only plan.")
@click.option("--loss", type=click.Choice(["cross_entropy", "mse"]), default="cross_entropy",
              show_default=True, help="mse: regression head, real targets per step.")
@click.option("--momentum", type=float, default=0.0, show_default=True,
              help="SGD momentum (costs 4 bytes of SRAM per updated parameter).")
@click.option("--mini-batch", is_flag=True,
              help="Allow batch sizes > 1 (gradient sums: 4 bytes per updated parameter).")
@click.option("--sram-budget", type=click.IntRange(min=1), default=None,
              help="Fail if the step needs more SRAM bytes: arena + session storage + stack "
                   "bound + the firmware's static RAM.")
@click.option("--flash-budget", type=click.IntRange(min=1), default=None,
              help="Fail if the model file + the firmware's code need more flash bytes.")
@click.option("--board", type=click.Choice(board_names()), default=None,
              help="Count for this board's build; its SRAM and flash are the budgets unless "
                   "given.")
@click.option("--scheme", "scheme_file", type=click.Path(exists=True, dir_okay=False),
              default=None, help="A scheme JSON (from `tflm-train search`) instead of "
                                 "--n-bias/--weights/--no-qas.")
@click.option("--num-classes", type=int, default=None,
              help="Replace the final classifier with a fresh K-way one (new classes).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seeds the new classifier's initial weights (with --num-classes).")
@click.option("--input-source", is_flag=True,
              help="Read the input row by row from the caller's source (tt_set_input_source) "
                   "where that lowers the arena: the input frame is never stored.")
def convert(model, output, n_bias, weights, lr_scale, no_qas, inference_only, loss, momentum,
            mini_batch, sram_budget, flash_budget, board, scheme_file, num_classes, seed, input_source):
    """Convert an int8 MODEL into an extended, trainable .tflite."""
    from .converter import (SGD, ConversionError, SparseUpdate, convert as do_convert,
                            memory_report)
    from .converter.scheme_json import scheme_from_json
    scheme = None
    try:
        if scheme_file is not None:
            if (n_bias is not None or weights is not None or lr_scale is not None or no_qas
                    or inference_only):
                raise click.UsageError("--scheme gives the whole scheme: drop --n-bias, "
                                       "--weights, --lr-scale, --no-qas and --inference-only")
            scheme = scheme_from_json(Path(scheme_file).read_text())
        elif n_bias is not None or weights is not None or no_qas or inference_only:
            scheme = SparseUpdate(n_bias=n_bias or 0, weights=weights or {},
                                  qas=not no_qas, inference_only=inference_only,
                                  lr_scale=lr_scale or {})
        elif lr_scale is not None:
            raise click.UsageError("--lr-scale scales layers the scheme trains: give --n-bias "
                                   "and/or --weights too")
        ext = do_convert(_read(model), scheme, loss=loss,
                         optimizer=SGD(momentum=momentum, mini_batch=mini_batch),
                         sram_budget=sram_budget, flash_budget=flash_budget, board=board,
                         num_classes=num_classes, seed=seed, input_source=input_source)
    except ConversionError as exc:
        _fail(exc)
    Path(output).write_bytes(ext)
    click.echo(f"wrote {output} ({len(ext)} bytes)")
    click.echo(str(memory_report(ext)))
    if board is not None:
        from .inspection import budget_lines, whole_count
        click.echo("\n".join(budget_lines(whole_count(ext, board))))


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Write a memory-over-time plot of the training step (PNG).")
@click.option("--elf", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Firmware ELF: add its code size to the flash split.")
@click.option("--board", type=click.Choice(board_names()), default=None,
              help="Show the whole count for this board only (default: every board).")
def inspect(model, as_json, plot, elf, board):
    """Show a model's ops, trainable layers and (if extended) its training plan, with peak SRAM
    and flash split into their parts."""
    from .inspection import describe, plot_memory
    from .converter import ConversionError
    try:
        info = describe(_read(model), elf, board)
    except ConversionError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        click.echo(info["text"])
    if plot:
        plot_memory(_read(model), plot)
        click.echo(f"wrote {plot}")


def _load_data(name: str):
    from .data import load_fashion_mnist, load_mnist, load_sklearn_digits
    if name == "digits":
        return load_sklearn_digits()
    if name == "mnist":
        return load_mnist("test")
    if name == "fashion-mnist":
        return load_fashion_mnist("test")
    path = Path(name)
    if path.suffix == ".npz" and path.exists():
        d = np.load(path)
        if "x" not in d or "y" not in d:
            raise click.BadParameter(f"{name}: an .npz needs arrays 'x' and 'y'")
        return d["x"], d["y"]
    raise click.BadParameter(f"--data {name!r}: use digits, mnist, fashion-mnist or an .npz "
                             "file with arrays x and y")


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--data", default="digits", show_default=True,
              help="digits | mnist | fashion-mnist | PATH.npz (arrays x, y).")
@click.option("--n-train", type=int, default=500, show_default=True,
              help="Samples used for training; the rest is held out for evaluation.")
@click.option("--epochs", type=int, default=3, show_default=True)
@click.option("--lr", "learning_rate", type=float, default=0.02, show_default=True)
@click.option("--batch-size", type=int, default=1, show_default=True,
              help="Samples per update (> 1 needs a model converted with --mini-batch).")
@click.option("--warmup", type=int, default=0, show_default=True,
              help="Linear learning-rate warm-up over this many updates.")
@click.option("--cosine", is_flag=True, help="Cosine learning-rate decay to 0 over the run.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the trained model (extended, can keep training) here.")
def train(model, data, n_train, epochs, learning_rate, batch_size, warmup, cosine, seed, output):
    """Fine-tune an extended MODEL on the host (bit-exact with the board)."""
    from .data import split
    from .trainer import LRSchedule, Trainer
    x, y = _load_data(data)
    if not 0 < n_train < len(x):
        raise click.BadParameter(f"--n-train must be between 1 and {len(x) - 1}")
    xtr, ytr, xte, yte = split(x, y, n_train, seed=seed)
    schedule = LRSchedule(warmup_steps=warmup, cosine=cosine) if warmup or cosine else None
    try:
        trainer = Trainer(_read(model), learning_rate=learning_rate, seed=seed,
                          schedule=schedule)
        before = trainer.evaluate(xte, yte)
        history = trainer.fit(xtr, ytr, epochs=epochs, batch_size=batch_size)
    except (ValueError, RuntimeFailure) as exc:
        _fail(exc)
    after = trainer.evaluate(xte, yte)
    click.echo(f"held-out accuracy {before['accuracy']:.3f} -> {after['accuracy']:.3f}; "
               f"epoch losses: " + ", ".join(f"{v:.3f}" for v in history.loss))
    if output:
        Path(output).write_bytes(trainer.save())
        click.echo(f"wrote {output}")


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--data", required=True,
              help="digits | mnist | fashion-mnist | PATH.npz (arrays x, y): the task.")
@click.option("--board", type=click.Choice(board_names()), default=None,
              help="The board the step must fit: its SRAM is the budget, its firmware's "
                   "session storage, stack and static RAM are counted.")
@click.option("--sram-budget", type=click.IntRange(min=1), default=None,
              help="Budget in bytes instead of (or below) the board's SRAM.")
@click.option("--num-classes", type=int, default=None,
              help="Train a new K-way classifier (see convert --num-classes).")
@click.option("--samples", type=int, default=1000, show_default=True,
              help="Use at most this many samples of the data (30% held out).")
@click.option("--epochs", type=int, default=1, show_default=True,
              help="Epochs of each candidate's fine-tune.")
@click.option("--train-epochs", type=click.IntRange(min=1), default=None,
              help="Epochs your training will run: the finalists are trained that long "
                   "(default: --epochs).")
@click.option("--joint-folds", type=click.IntRange(min=1), default=3, show_default=True,
              help="Finalists are ranked by cross-validation over this many folds of the "
                   "data (1: train on 70%, score on the 30% held out).")
@click.option("--joint-seeds", type=click.IntRange(min=1), default=1, show_default=True,
              help="Training seeds per finalist, learning rate and fold; finalists are ranked "
                   "by their mean held-out accuracy.")
@click.option("--lr", "learning_rate", type=float, default=None,
              help="Fine-tune learning rate (default: tuned on the held-out split).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Write accuracy against SRAM (PNG).")
@click.option("--report", type=click.Path(dir_okay=False), default=None,
              help="Write the full report (JSON).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the scheme JSON (for `convert --scheme`).")
def search(model, data, board, sram_budget, num_classes, samples, epochs, train_epochs,
           joint_folds, joint_seeds, learning_rate, seed, plot, report, output):
    """Find what to update in MODEL for a board or an SRAM budget: contribution analysis on
    the task's data, then an evolutionary search whose every point is planned by the
    converter."""
    from .converter import ConversionError
    from .scheme_search import search as do_search
    if board is None and sram_budget is None:
        raise click.UsageError("give --board or --sram-budget")
    x, y = _load_data(data)
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.permutation(len(x))[:samples]) if len(x) > samples else np.arange(len(x))
    try:
        result = do_search(_read(model), x[keep], y[keep], board=board,
                           sram_budget=sram_budget, num_classes=num_classes, seed=seed,
                           learning_rate=learning_rate, epochs=epochs,
                           train_epochs=train_epochs, joint_seeds=joint_seeds,
                           joint_folds=joint_folds)
    except (ConversionError, ValueError, RuntimeFailure) as exc:
        _fail(exc)
    Path(output).write_text(result.to_json())
    chosen = result.report["chosen"]
    click.echo(f"wrote {output}: n_bias={result.scheme.n_bias}, weights={result.scheme.weights}; "
               f"SRAM {chosen['sram_bytes'] / 1024:.1f} KB of "
               f"{result.report['budget_bytes'] / 1024:.1f} KB; "
               f"predicted held-out accuracy {100 * chosen['predicted_accuracy']:.1f}% "
               + (f"(trained jointly: {100 * chosen['held_out_accuracy']:.1f}% at learning "
                  f"rate {chosen['learning_rate']:g}, "
                  + (f"{joint_folds}-fold cross-validation, " if joint_folds > 1 else "")
                  + f"mean of {joint_seeds} seed{'s' if joint_seeds > 1 else ''}) "
                  if chosen.get("held_out_accuracy") is not None else "")
               + f"(untrained {100 * result.report['baseline_accuracy']:.1f}%)")
    if report:
        Path(report).write_text(json.dumps(result.report, indent=1) + "\n")
        click.echo(f"wrote {report}")
    if plot:
        result.plot(plot)
        click.echo(f"wrote {plot}")


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--data", default="digits", show_default=True,
              help="digits | mnist | fashion-mnist | PATH.npz (arrays x, y).")
@click.option("--clients", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--rounds", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--dirichlet", "alpha", type=float, default=1.0, show_default=True,
              help="Label skew of the client shards (Dirichlet alpha; small: few classes each).")
@click.option("--local-epochs", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--lr", "learning_rate", type=float, default=0.005, show_default=True)
@click.option("--batch-size", type=int, default=1, show_default=True,
              help="Samples per update (> 1 needs a model converted with --mini-batch).")
@click.option("--fraction", type=float, default=1.0, show_default=True,
              help="Fraction of the clients that train in each round (seeded).")
@click.option("--server-momentum", type=float, default=0.0, show_default=True,
              help="FedAvgM's server momentum (0: FedAvg).")
@click.option("--n-test", type=int, default=None,
              help="Held-out test samples (default: 30% of the data).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False), default="fleet.png", show_default=True,
              help="Accuracy against round beside local-only and centralised training (PNG).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Write the curves and the bytes of every round (JSON).")
def fleet(model, data, clients, rounds, alpha, local_epochs, learning_rate, batch_size,
          fraction, server_momentum, n_test, seed, plot, json_path):
    """Federated training of an extended MODEL over simulated clients (Flower, 2 CPUs): only
    the scheme's trained bytes travel; compared with local-only and centralised training."""
    from .data import split
    from .fleet import FlowerUnavailable, FleetModel, dirichlet_shards, simulate
    from .fleet.baselines import centralised, local_only, plot as plot_curves
    x, y = _load_data(data)
    n_test = int(0.3 * len(x)) if n_test is None else n_test
    if not 0 < n_test < len(x):
        raise click.BadParameter(f"--n-test must be between 1 and {len(x) - 1}")
    x_tr, y_tr, x_te, y_te = split(x, y, len(x) - n_test, seed=seed)
    try:
        shards = dirichlet_shards(x_tr, y_tr, clients, alpha, seed=seed)
        ext = _read(model)
        result = simulate(ext, shards, rounds, local_epochs, learning_rate, (x_te, y_te),
                          seed=seed, fraction=fraction, batch_size=batch_size,
                          server_momentum=server_momentum)
        fm = FleetModel(ext)
        args = (fm, shards, rounds, local_epochs, learning_rate, (x_te, y_te), seed, batch_size)
        local, central = local_only(*args), centralised(*args)
    except (ValueError, RuntimeFailure, FlowerUnavailable) as exc:
        _fail(exc)
    curves = {"fleet (int8 FedAvg)": result.accuracy, "local-only (mean of clients)": local,
              "centralised": central}
    for label, curve in curves.items():
        click.echo(f"{label:30s} " + " ".join(f"{100 * v:5.1f}" for v in curve))
    per_client = result.trained_bytes + result.header_bytes
    click.echo(f"bytes per client per round: {per_client} each way ({result.trained_bytes} "
               f"trained + {result.header_bytes} header); total {result.total_bytes} over "
               f"{rounds} rounds")
    for reason in result.rejected:
        click.echo(f"rejected: {reason}")
    plot_curves(plot, curves, f"{clients} clients, Dirichlet alpha {alpha}, {data}")
    click.echo(f"wrote {plot}")
    if json_path:
        Path(json_path).write_text(json.dumps({"curves": curves, **result.to_dict()}, indent=1))
        click.echo(f"wrote {json_path}")


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False))
def export(model, output):
    """Write a stock int8 .tflite (training program removed) from an extended MODEL."""
    from .trainer import Trainer
    try:
        stock = Trainer(_read(model)).export()
    except (ValueError, RuntimeFailure) as exc:
        _fail(exc)
    Path(output).write_bytes(stock)
    click.echo(f"wrote {output} ({len(stock)} bytes)")


@main.command()
@click.option("--board", type=click.Choice(list(STANDINS) + ["none"]), default="an386",
              show_default=True, help="Firmware to replay the training steps on (none: skip).")
def demo(board):
    """Convert the MNIST demo CNN, fine-tune it on scikit-learn digits, replay on the board."""
    from .demo import run_demo
    from .firmware import FirmwareUnavailable
    try:
        run_demo(None if board == "none" else board, echo=click.echo)
    except FirmwareUnavailable as exc:
        _fail(exc)


if __name__ == "__main__":
    main()
