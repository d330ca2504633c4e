"""The compared training methods. Every method of one task sees the same samples in the same
order, the same epochs and the same lr schedule; only the arithmetic, QAS and the updated
parameters differ, and each method gets its own lr chosen on the validation split."""
from __future__ import annotations

from tflm_train.converter.scheme import SparseUpdate

from .runs import Method

from pathlib import Path

from tflm_train.demo import DEMO_MODEL

from .bn_model import OUT as BN_MODEL

# Base models and the scheme each one updates (the same for every method except last-layer).
BASES = {
    # the demo CNN; the demo scheme: weights of FC and conv4, biases of the last four layers
    "demo": (DEMO_MODEL, dict(n_bias=4, weights={-1: 1.0, -2: 1.0})),
    # MobileNet-style blocks with folded BN: FC + the last two blocks' dw/pw weights, 6 biases
    "bn": (BN_MODEL, dict(n_bias=6, weights={-1: 1.0, -2: 1.0, -3: 1.0, -4: 1.0})),
}
LAST_LAYER = dict(n_bias=1, weights={-1: 1.0})

# With QAS (or in fp32) lr is the real-valued SGD step, so one grid serves all of them.
LR_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
# Without QAS the step on W_q is lr * s * g, i.e. lr * s^2 in real units (s_w ~ 1e-2, bias
# s_b ~ 1e-3..1e-4): the useful lr is 1e2..1e6 times larger, so its grid is shifted and wider
# (same x~3 spacing) to give it a fair chance.
NOQAS_GRID = tuple(m * 10.0 ** e for e in range(0, 7) for m in (1.0, 3.0))[:-1]


def base_model(base: str = "demo") -> Path:
    return BASES[base][0]


def methods(base: str = "demo") -> dict[str, Method]:
    SCHEME = BASES[base][1]  # noqa: N806 (reads like the constant it is per base)
    return {m.name: m for m in (
        Method("fp32", "fp32 SGD (TensorFlow)", "fp32", SparseUpdate(**SCHEME), LR_GRID),
        Method("int8_qas", "int8 + QAS", "int8", SparseUpdate(**SCHEME), LR_GRID),
        Method("int8_noqas", "int8, no QAS", "int8", SparseUpdate(**SCHEME, qas=False),
               NOQAS_GRID),
        # Does QAS let the fp32 lr carry over unchanged (no tuning on the device)?
        Method("int8_qas_fp32lr", "int8 + QAS, fp32's lr", "int8", SparseUpdate(**SCHEME), (),
               lr_from="fp32"),
        # The paper's comparison: the same hyper-parameters as fp32, only QAS switched off.
        Method("int8_noqas_fp32lr", "int8, no QAS, fp32's lr", "int8",
               SparseUpdate(**SCHEME, qas=False), (), lr_from="fp32"),
        Method("int8_last", "int8 + QAS, last layer only", "int8", SparseUpdate(**LAST_LAYER),
               LR_GRID),
        Method("fp32_last", "fp32, last layer only", "fp32", SparseUpdate(**LAST_LAYER),
               LR_GRID),
    )}


# lr used without tuning (--quick, momentum 0.9 over batches of 8): measured on the quick
# digits split, 0.003 (x1e4 without QAS) trains every method; 0.02 already diverges in fp32.
QUICK_LR = {"fp32": 0.003, "int8_qas": 0.003, "int8_noqas": 30.0, "int8_noqas_fp32lr": 0.003,
            "int8_qas_fp32lr": 0.003, "int8_last": 0.003, "fp32_last": 0.003}
