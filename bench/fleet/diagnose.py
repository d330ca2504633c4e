"""Where the int8 model's predictions leave the fp32 twin's float forward pass (issue 19's
int8 - fp32 goal at alpha 1.0 on person_detect), sample by sample.

The fp32 twin trains as in the bench (fp32.py: tune.py's fit part of the pool, shards drawn
at `--alpha` with the seed, the bench's settings and the fleet's fixed rate); its float
weights after each of the last LAST rounds are scored on tune.py's validation samples and on
`--extra` Fashion-MNIST train samples outside the pool (tasks.person_heldout; never the test
split). Each step of the chain changes one thing, so a sample's prediction moving at a step
is that step's doing:

  P0 float forward, the twin's float weights (its score in the bench)
  P1 float forward, trained tensors re-quantised (fp32.deployed_tensors): the int8 weight
     grid; split into saturation at +-127 alone (`clip_only`) and rounding alone
     (`round_only`)
  P2 the float classifier (P1's weights) on the int8 model's features: int8 activations
     below the head
  P3 argmax of the int8 logits (first index on a tie): their rounding and saturation at +-R
  P4 argmax of the int8 softmax output (first index on a tie): the runtime's prediction
     (checked equal to Trainer.predict on the validation samples)

    python -m bench.fleet.diagnose [--alpha 1.0] [--seed 0] [--extra 600] [--out F.json]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from tflm_train.fleet import dirichlet_shards
from tflm_train.fleet.aggregate import dequantize, round_nearest

from .run import DEFAULTS, LAST, _context, headline
from .tasks import person_heldout, tasks, validation_split

TASK = "person_detect"


def _args(argv):
    p = argparse.ArgumentParser(prog="python -m bench.fleet.diagnose", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--alpha", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--extra", type=int, default=600,
                   help="held-out train samples outside the pool (0: validation only)")
    p.add_argument("--out", default=None, help="write the report as JSON here")
    return p.parse_args(argv)


def _wheel_tensors(tflite: bytes, xq, tensors: list[int]) -> list[np.ndarray]:
    """Each listed tensor's int8 values per sample, read from the TFLM wheel with every
    tensor preserved (its forward pass is bit-exact with the runtime's, tests/test_zoo.py)."""
    from tflite_micro.python.tflite_micro import runtime
    interp = runtime.Interpreter.from_bytes(
        tflite, intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    out: list[list[np.ndarray]] = [[] for _ in tensors]
    for sample in xq:
        interp.set_input(sample[None], 0)
        interp.invoke()
        for i, t in enumerate(tensors):
            out[i].append(np.asarray(interp.GetTensor(t, 0)["tensor_data"]).reshape(-1))
    return [np.asarray(o).astype(np.int32) for o in out]


def _on_grid(weights: dict, quants: dict, mode: str) -> dict:
    """The twin's weights with each trained part half-way to the int8 model's grid (the whole
    grid is fp32.deployed_tensors): "clip_only" (saturated at the type's limits, not
    rounded) or "round_only" (rounded as the runtime rounds, not saturated)."""
    out = {}
    for t, w in weights.items():
        v = w.reshape(-1).astype(np.float64)
        q = quants[t]
        n = len(q.scale)
        x = v[:n] / q.scale
        if mode == "clip_only":
            lim = np.iinfo(q.dtype)
            x = np.clip(x, lim.min, lim.max)
        elif mode == "round_only":
            x = round_nearest(x)
        else:
            raise ValueError(f"mode {mode!r}: clip_only or round_only")
        v[:n] = x * q.scale
        out[t] = v.reshape(w.shape).astype(np.float32)
    return out


def chain(fp, model, weights: dict, x, y, check_runtime: bool) -> dict:
    """The chain's accuracies and counts for one set of twin weights on (x, y)."""
    import tensorflow as tf
    twin, g = fp.twin, fp.twin.graph
    head = g.trainable_ops()[-1]
    feat_t, logit_t, out_t = head.inputs[0], head.outputs[0], g.outputs[0]
    n = len(y)

    def float_logits(w, features=False):
        fp._set(w)
        env = twin.forward(tf.constant(x, tf.float32), logit_t)
        lg = env[logit_t].numpy().reshape(n, -1)
        return (lg, env[feat_t].numpy().reshape(n, -1)) if features else lg

    l0 = float_logits(weights)
    fp._set(weights)
    deployed = fp.deployed_tensors(model)
    grid = {t: w.copy() for t, w in weights.items()}
    for t, q in model.quants.items():
        flat = grid[t].reshape(-1)
        flat[:len(q.scale)] = dequantize(deployed[t], q)
    l1, f1 = float_logits(grid, features=True)
    splits = {m: float(np.mean(float_logits(_on_grid(weights, model.quants, m)).argmax(1) == y))
              for m in ("clip_only", "round_only")}
    trainer = model.trainer(deployed)
    xq = trainer.quantize_input(x)
    fq, lq, pq = _wheel_tensors(trainer.export(), xq, [feat_t, logit_t, out_t])
    if check_runtime and not np.array_equal(trainer.predict(x).astype(np.int32), pq):
        raise AssertionError("the wheel's outputs differ from Trainer.predict")
    ft, lt = g.tensors[feat_t], g.tensors[logit_t]
    features = (fq - int(ft.zero_point[0])) * float(ft.scale[0])
    fp._set(grid)
    w_head = twin.vars[head.inputs[1]].numpy().reshape(l1.shape[1], -1)
    l2 = features @ w_head.T + twin.vars[head.inputs[2]].numpy()
    preds = [l0.argmax(1), l1.argmax(1), l2.argmax(1), lq.argmax(1), pq.argmax(1)]
    differ = preds[0] != preds[4]
    tied = (lq == lq.max(1, keepdims=True)).sum(1) > 1
    top2 = np.sort(l0, 1)[:, -2:]
    limit = 127 - int(lt.zero_point[0])
    return {
        "n": n,
        "accuracy": {k: float(np.mean(p == y)) for k, p in zip(
            ("P0_float", "P1_weight_grid", "P2_int8_features", "P3_int8_logits",
             "P4_int8_softmax"), preds)} | {f"P1_{k}": v for k, v in splits.items()},
        "differ_P0_P4": int(differ.sum()),
        "float_right_int8_wrong": int(np.sum(differ & (preds[0] == y))),
        "int8_right_float_wrong": int(np.sum(differ & (preds[4] == y))),
        # how many predictions each step moves (P1 vs P0, ..., P4 vs P3)
        "moved_by_step": [int(np.sum(preds[k] != preds[k - 1])) for k in range(1, 5)],
        "int8_logits_top_tied": int(tied.sum()),
        "int8_logits_top_tied_where_differ": int(np.sum(tied & differ)),
        "int8_softmax_top_tied": int(np.sum((pq == pq.max(1, keepdims=True)).sum(1) > 1)),
        "int8_logits_at_limits": int(np.sum(np.abs(lq) >= limit)),
        "float_logits_max_abs": float(np.abs(l0).max()),
        "logit_range_R": float(lt.scale[0]) * 127.5,
        "float_top2_margin_median": float(np.median(top2[:, 1] - top2[:, 0])),
        "trained_weights_past_grid": {
            str(t): float(np.mean(np.abs(weights[t].reshape(-1)[:len(q.scale)] / q.scale)
                                  > np.iinfo(q.dtype).max + 0.5))
            for t, q in model.quants.items() if q.dtype == "int8"},
    }


def _total(records: list[dict]) -> dict:
    """Counts summed and accuracies averaged over the scored rounds."""
    out = {"rounds": len(records)}
    for k, v in records[0].items():
        if k == "accuracy":
            out[k] = {m: float(np.mean([r[k][m] for r in records])) for m in v}
        elif k == "moved_by_step":
            out[k] = [int(sum(r[k][i] for r in records)) for i in range(len(v))]
        elif isinstance(v, int):
            out[k] = int(sum(r[k] for r in records))
        elif k == "float_logits_max_abs":
            out[k] = max(r[k] for r in records)
    return out


def main(argv=None) -> int:
    a = _args(argv)
    t0 = time.time()
    s = argparse.Namespace(**DEFAULTS[TASK])
    task = tasks()[TASK]
    x_pool, y_pool, _, _ = task.load(False)  # the test split is not used
    x_fit, y_fit, x_val, y_val = validation_split(x_pool, y_pool, s.val, seed=0)
    sets = {"validation": (x_val, y_val)}
    if a.extra:
        sets["heldout"] = person_heldout(a.extra)
    ctx = _context(task, s, a.seed)
    fp = ctx.fp32
    shards = dirichlet_shards(x_fit, y_fit, s.clients, a.alpha, seed=a.seed)
    kept: list[dict] = []
    lr = s.fixed_rates["fleet_int8"]
    curve = fp.run(shards, s.rounds, s.local_epochs, lr, s.batch_size, a.seed, (x_val, y_val),
                   [list(range(s.clients))] * s.rounds, s.server_momentum, s.server_lr,
                   kept=kept)
    per_set = {name: [chain(fp, ctx.model, w, x, y, name == "validation")
                      for w in kept[-LAST:]] for name, (x, y) in sets.items()}
    report = {"task": TASK, "alpha": a.alpha, "seed": a.seed, "learning_rate": lr,
              "scored_rounds": list(range(s.rounds - LAST + 1, s.rounds + 1)),
              "fp32_validation_last_rounds": headline(curve),
              "sets": {k: {"total": _total(v), "rounds": v} for k, v in per_set.items()},
              "seconds": round(time.time() - t0, 1)}
    for name, v in report["sets"].items():
        print(name, json.dumps(v["total"]))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
