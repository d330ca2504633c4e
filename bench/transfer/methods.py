"""The compared methods: each trains the same parameters (except last-layer-only) of the same
fresh-head model on the same samples, order, mini-batches, momentum, epochs and schedule; only
the arithmetic and QAS differ, and each method gets its own learning rates chosen on the
validation splits.

The sparse scheme, in the paper's manner (weights of the last layers, partly, and more
biases): the new classifier's weights (all rows), the first 1/4 of the output channels of the
last 1x1 conv (256 -> 256) and 1/8 of the one before it (128 -> 256), the biases of the last 6
layers (classifier, 1x1, depthwise, 1x1, depthwise, 1x1). With momentum 0.9 over mini-batches
of 8 its step plans 152 KB of arena (K = 10), inside the training firmware's 160 KB on the
Nano 33 BLE stand-in (tests/test_transfer_firmware.py runs it there).

Two rates: the new classifier starts from random weights while the backbone layers are
pretrained, and with one rate (session 6) fp32's best lr moved the last 1x1 conv's trained rows
by more than their own norm in 75 updates while the head moved by a quarter of its own
(`python -m bench.transfer.diagnose`, NOTES issue 12). So a setting is a backbone lr and a head
lr; the head's is applied through `SparseUpdate.lr_scale` (folded into its QAS factors; the
fp32 twin's masks carry the same factor). int8 + QAS and fp32 search the same grid.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tflm_train.converter.scheme import SparseUpdate

from bench.accuracy.runs import Method

SCHEME = dict(n_bias=6, weights={-1: 1.0, -2: 0.25, -4: 0.125})
LAST_LAYER = dict(n_bias=1, weights={-1: 1.0})


@dataclass(frozen=True)
class Rate:
    """One learning-rate setting: `lr` for the backbone's trained layers (the Trainer's rate),
    `head_lr` for the new classifier (the scheme's lr_scale = head_lr / lr)."""
    lr: float
    head_lr: float

    def scheme(self, base: SparseUpdate) -> SparseUpdate:
        if self.head_lr == self.lr:
            return base
        return dataclasses.replace(base, lr_scale={-1: self.head_lr / self.lr})

    def text(self) -> str:
        return f"lr={self.lr:g} head={self.head_lr:g}"


def one(lr: float) -> Rate:
    return Rate(lr, lr)


# With QAS (and in fp32) lr is the real-valued SGD step. The grid covers what a pilot on
# fashion10 seed 0's validation split liked (head 3, backbone 0.09: 58 % in both arithmetics;
# head 1, backbone 0.03: 55 / 54 %; one rate 0.1: 51 / 53 %): head 1 or 3 over a backbone
# 10x..100x slower. (Wider grids did not fit the session's CPU budget: every setting runs on
# every seed; the machine's 2 cores gave a process ~5 % of a core.)
HEAD_LRS = (1.0, 3.0)
BACKBONE_LRS = (0.03, 0.1)
TWO_RATE_GRID = tuple(Rate(b, h) for h in HEAD_LRS for b in BACKBONE_LRS)
# Without QAS the step on W_q is lr * s * g (lr * s^2 in real units): per tensor the real rate
# already differs (the head's weight scale 0.028 against the 1x1 convs' 8e-4..2.4e-3: the head
# steps 100x..1000x faster). Its grid, and last-layer-only's (one rate, the head alone), are
# the two reference methods: their rates are session 6's choices on seed 0's validation split
# (decades 1e2..1e8 without QAS: 1e4 on both tasks; last layer 0.01..3: 3 and 0.03), not
# re-tuned for the CPU budget.
NOQAS_GRID = tuple(one(10.0 ** e) for e in range(2, 9))
LAST_GRID = tuple(one(lr) for lr in (0.01, 0.03, 0.1, 0.3, 1.0, 3.0))
FIXED_LR = {"int8_noqas": {"fashion10": one(1e4), "parity2": one(1e4)},
            "int8_last": {"fashion10": one(3.0), "parity2": one(0.03)}}


def methods() -> dict[str, Method]:
    return {m.name: m for m in (
        Method("int8_qas", "int8 + QAS", "int8", SparseUpdate(**SCHEME), TWO_RATE_GRID),
        Method("fp32", "fp32 SGD (TensorFlow twin)", "fp32", SparseUpdate(**SCHEME),
               TWO_RATE_GRID),
        Method("int8_noqas", "int8, no QAS, own lr", "int8", SparseUpdate(**SCHEME, qas=False),
               NOQAS_GRID),
        # the paper's comparison: fp32's hyper-parameters (both rates), only QAS switched off
        Method("int8_noqas_fp32lr", "int8, no QAS, fp32's lr", "int8",
               SparseUpdate(**SCHEME, qas=False), (), lr_from="fp32"),
        Method("int8_last", "int8 + QAS, last layer only", "int8", SparseUpdate(**LAST_LAYER),
               LAST_GRID),
    )}


# rates of --quick runs (no tuning)
QUICK_LR = {"int8_qas": Rate(0.01, 0.3), "fp32": Rate(0.01, 0.3), "int8_noqas": one(1e3),
            "int8_noqas_fp32lr": Rate(0.01, 0.3), "int8_last": one(0.3)}
