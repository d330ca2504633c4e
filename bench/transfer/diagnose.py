"""Why int8 + QAS and the fp32 twin differ on one transfer run (issue 12's missed goal).

Trains one seed's samples of a task with int8 + QAS and with the fp32 twin at the same lr and
compares, per trained tensor, the real-valued change of the trained slice (||dW||, relative to
||W0||), the fraction of int8 values at the int8/int32 limits, and the logits' saturation;
validation accuracy only (the test split is not read).

    python -m bench.transfer.diagnose --task fashion10 --lr 0.1 [--seed 0] [--rounding nearest]
"""
from __future__ import annotations

import argparse

import numpy as np

import tflm_train
from tflm_train.binding import learning_rate as scheduled_rate
from tflm_train.converter.emit import bias_scales
from tflm_train.converter.graph import build_graph
from tflm_train.converter.scheme import resolve
from tflm_train.converter.tflite_io import read_model

from bench.accuracy.runs import Optim

from .methods import methods
from .runs import extended
from .tasks import backbone, input_quantization, tasks


def _args(argv):
    p = argparse.ArgumentParser(prog="python -m bench.transfer.diagnose", description=__doc__)
    p.add_argument("--task", default="fashion10")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--rounding", choices=("stochastic", "nearest"), default="stochastic")
    p.add_argument("--no-fp32", action="store_true", help="int8 run only")
    return p.parse_args(argv)


def _real(graph, op, t: int, data: bytes) -> np.ndarray:
    """A trained tensor's bytes as real values (weights per channel, biases at QAS's scales)."""
    tt = graph.tensors[t]
    if t == op.inputs[1]:
        q = np.frombuffer(data, np.int8).astype(np.float64).reshape(tt.shape)
        shape = [1] * q.ndim
        if tt.scale.size > 1:
            shape[tt.quantized_dimension] = -1
        return (q - tt.zero_point.reshape(shape)) * tt.scale.astype(np.float64).reshape(shape)
    q = np.frombuffer(data, np.int32).astype(np.float64)
    return q * bias_scales(graph, op).astype(np.float64)


def main(argv=None) -> int:
    a = _args(argv)
    task = tasks()[a.task]
    base, opt = backbone(), Optim()
    data = task.data(a.seed, task.task.load(), input_quantization(base))
    m = methods()["int8_qas"]
    model = extended(base, m, task.classes, a.seed, opt)
    graph = build_graph(read_model(model))
    n, epochs = len(data.split.x_train), a.epochs
    sched = opt.schedule(n, epochs)

    tr = tflm_train.Trainer(model, learning_rate=a.lr, seed=a.seed, rounding=a.rounding,
                            schedule=sched)
    w0 = tr.trained_tensors()
    losses = [tr.fit(data.split.x_train, data.split.y_train, epochs=1,
                     batch_size=opt.batch_size, progress=False).loss[0] for _ in range(epochs)]
    w1 = tr.trained_tensors()
    logits = tr.predict(data.split.x_val)
    print(f"int8 + QAS ({a.rounding}): loss per epoch {np.round(losses, 3).tolist()}, "
          f"val {tr.evaluate(data.split.x_val, data.split.y_val)['accuracy']:.3f}")

    tw = None
    if not a.no_fp32:
        from bench.accuracy.twin import FloatTwin
        tw = FloatTwin(model, m.scheme, momentum=opt.momentum)
        rs = data.real_split
        rng = np.random.default_rng(a.seed)
        init = {t: v.numpy().copy() for t, v in tw.vars.items()}
        step, fl = 0, []
        for _ in range(epochs):
            order, ep = rng.permutation(n), []
            for s in range(0, n, opt.batch_size):
                i = order[s:s + opt.batch_size]
                rate = scheduled_rate(a.lr, step, sched.warmup_steps, sched.total_steps)
                ep.append(tw.train_step(rs.x_train[i], rs.y_train[i], rate))
                step += 1
            fl.append(float(np.mean(ep)))
        print(f"fp32 twin: loss per epoch {np.round(fl, 3).tolist()}, "
              f"val {tw.evaluate(rs.x_val, rs.y_val):.3f}")

    print(f"{'tensor':>28} {'kind':>5} {'rows':>5} {'scale':>9} {'|W0|':>8} "
          f"{'|dW| int8':>10} {'|dW| fp32':>10} {'cos':>6} {'at limit':>8}")
    for u in resolve(graph, m.scheme):
        op = u.op
        for kind, t in (("W", op.inputs[1]), ("b", op.inputs[2] if len(op.inputs) > 2 else -1)):
            if t < 0 or t not in w1:
                continue
            r0, r1 = _real(graph, op, t, w0[t]), _real(graph, op, t, w1[t])
            rows = u.weight_channels if kind == "W" else r0.shape[0]
            if kind == "W" and op.kind == "DEPTHWISE_CONV_2D":
                sl = (Ellipsis, slice(0, rows))
            else:
                sl = (slice(0, rows),)
            d8 = (r1 - r0)[sl].ravel()
            lim = (np.frombuffer(w1[t], np.int8) if kind == "W"
                   else np.frombuffer(w1[t], np.int32))
            at_limit = np.mean(np.abs(lim.astype(np.int64)) >= (127 if kind == "W" else 2**31 - 1))
            scale = graph.tensors[t].scale if kind == "W" else bias_scales(graph, op)
            line = (f"{graph.tensors[t].name[-28:]:>28} {kind:>5} {rows:>5} "
                    f"{float(np.median(scale)):9.2e} {np.linalg.norm(r0[sl]):8.3f} "
                    f"{np.linalg.norm(d8):10.4f}")
            if tw is not None:
                df = (tw.vars[t].numpy().astype(np.float64) - init[t])[sl].ravel()
                cos = float(d8 @ df / max(np.linalg.norm(d8) * np.linalg.norm(df), 1e-30))
                line += f" {np.linalg.norm(df):10.4f} {cos:6.3f}"
            else:
                line += f" {'':>10} {'':>6}"
            print(line + f" {at_limit:8.3f}")
    q = np.asarray(logits).reshape(len(logits), -1)
    print(f"int8 outputs at -128 / 127: {np.mean(q == -128):.3f} / {np.mean(q == 127):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
