"""Each method's learning rate, chosen on a validation split that is never reported: seed 0,
the pool minus a stratified validation part, shards of the rest drawn at the run's alpha; a
rate scores the same basis as the headline (run.headline: the mean over the last rounds,
local-only its final round); the best score wins, ties to the smaller rate. Centralised
training sees the union of the shards whatever alpha is, so its rate is chosen once."""
from __future__ import annotations

from tflm_train.fleet import dirichlet_shards
from tflm_train.fleet.baselines import centralised

from .replay import replay


def choose(scores: dict[float, float]) -> float:
    """The rate with the best score; a tie goes to the smaller rate."""
    return min(scores, key=lambda lr: (-scores[lr], lr))


def tune_alpha(ctx, alpha: float, val, headline, log) -> dict:
    """{method: {"scores": {lr: validation score}, "lr": chosen}} for the fleet, its fp32
    twin and local-only at one alpha. ctx: run.Context (model, fp32 twin, settings); a
    method in ctx.args.fixed_rates is not tuned (fp32_fedavg None: the fleet's rate)."""
    x_fit, y_fit, x_val, y_val = val
    a = ctx.args
    shards = dirichlet_shards(x_fit, y_fit, a.clients, alpha, seed=0)
    every = [list(range(a.clients))] * a.rounds
    runs = {
        "fleet_int8": lambda lr: headline(replay(
            ctx.model, shards, a.rounds, a.local_epochs, lr, (x_val, y_val), 0, a.batch_size,
            a.server_momentum, a.server_lr)),
        "fp32_fedavg": lambda lr: headline(ctx.fp32.run(
            shards, a.rounds, a.local_epochs, lr, a.batch_size, 0, (x_val, y_val), every,
            a.server_momentum, a.server_lr)),
        "local_only": lambda lr: ctx.local_final(shards, lr, (x_val, y_val), 0),
    }
    fixed = a.fixed_rates
    follows_fleet = "fp32_fedavg" in fixed and fixed["fp32_fedavg"] is None
    out = {m: _grid(f"alpha {alpha} {m}", run, a.lr_grid, log, fixed.get(m))
           for m, run in runs.items() if not (m == "fp32_fedavg" and follows_fleet)}
    if follows_fleet:
        out["fp32_fedavg"] = {"scores": {}, "lr": out["fleet_int8"]["lr"],
                              "fixed": "the int8 fleet's"}
    return {m: out[m] for m in runs}


def tune_centralised(ctx, val, headline, log) -> dict:
    x_fit, y_fit, x_val, y_val = val
    a = ctx.args
    shards = [(x_fit, y_fit)]
    return _grid("centralised", lambda lr: headline(centralised(
        ctx.model, shards, a.rounds, a.local_epochs, lr, (x_val, y_val), 0, a.batch_size)),
        a.lr_grid, log, a.fixed_rates.get("centralised_int8"))


def _grid(what, run, grid, log, fixed: float | None = None) -> dict:
    if fixed is not None:  # chosen on validation before the run (run.DEFAULTS says where)
        return {"scores": {}, "lr": fixed, "fixed": "chosen before the run"}
    if len(grid) == 1:  # nothing to choose: no validation runs
        return {"scores": {}, "lr": grid[0]}
    scores = {}
    for lr in grid:
        scores[lr] = float(run(lr))
        log(f"  validation {what} lr {lr:g}: {100 * scores[lr]:.2f}")
    return {"scores": {str(k): v for k, v in scores.items()}, "lr": choose(scores)}
