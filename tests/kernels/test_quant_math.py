"""Quantisation arithmetic (kernels/quant_math.h, kernels/conv_window.h): TFLM's
QuantizeMultiplier and MultiplyByQuantizedMultiplier on hand-checked values, and the DSP
kernels' output stages (the SMULL formulation, the doubled one) equal to the reference on edge
and random inputs."""
from __future__ import annotations

import numpy as np
import pytest

from tests.kernels.helpers import i32

_I32_MIN, _I32_MAX = -2**31, 2**31 - 1


def test_quantize_multiplier_edge_cases(forward):
    def qm(x):
        a = forward.quantize_multiplier(real=x)
        return a.multiplier, a.shift
    assert qm(0.0) == (0, 0)
    assert qm(1.0) == (1 << 30, 1)
    assert qm(0.5) == (1 << 30, 0)
    assert qm(0.75) == (3 << 29, 0)
    # q rounds up to exactly 1.0 -> renormalised.
    assert qm(1.0 - 2.0 ** -40) == (1 << 30, 1)
    assert qm(-0.5) == (-(1 << 30), 0)
    assert qm(2.0 ** -40) == (0, 0)  # flushed to zero (shift < -31)
    assert qm(2.0 ** -31) == (1 << 30, -30)
    assert qm(2.0 ** 40) == ((1 << 31) - 1, 30)  # saturated
    # Round half away from zero in the mantissa.
    assert qm(0.5 + 2.0 ** -32) == ((1 << 30) + 1, 0)
    assert qm(0.5 + 2.0 ** -33) == (1 << 30, 0)


def test_multiply_by_quantized_multiplier(forward):
    def mbqm(x, multiplier, shift):
        return forward.multiply_by_quantized_multiplier(x=x, multiplier=multiplier,
                                                        shift=shift).result
    assert mbqm(100, 1 << 30, 0) == 50
    assert mbqm(3, 1 << 30, -1) == 1      # 0.75 -> 1
    assert mbqm(-3, 1 << 30, -1) == -1    # -0.75 -> -1
    assert mbqm(-2, 1 << 30, -2) == 0     # -0.25 -> 0
    assert mbqm(6, 1 << 30, -3) == 0      # 0.375 -> 0
    assert mbqm(10, 1 << 30, -3) == 1     # 0.625 -> 1
    assert mbqm(5, 1 << 30, -2) == 1      # 0.625 -> 1
    assert mbqm(-10, 1 << 30, -3) == -1   # -0.625 -> -1
    assert mbqm(-2**31, -2**31, 0) == 2**31 - 1
    assert mbqm(7, 1 << 30, 3) == 28


# ------------------------------------------------- output stage: SMULL formulation == reference

def _requantize_both(forward, acc, mult, shift, offset, lo, hi):
    """Runs the reference and the SMULL output stage (kernels/conv_window.h) on the same arrays;
    returns (int32 requantised values, int8 bytes) of each: (v_ref, v_smull, o_ref, o_smull)."""
    acc, mult, shift = i32(acc), i32(mult), i32(shift)
    offset, lo, hi = i32(offset), i32(lo), i32(hi)
    n = acc.size
    assert mult.size == shift.size == offset.size == lo.size == hi.size == n
    v_ref, v_smull = np.zeros(n, np.int32), np.zeros(n, np.int32)
    o_ref, o_smull = np.zeros(n, np.int8), np.zeros(n, np.int8)
    forward.requantize_both(acc=acc, multiplier=mult, shift=shift, output_offset=offset,
                            act_min=lo, act_max=hi, n=n, mbqm_ref=v_ref, mbqm_smull=v_smull,
                            out_ref=o_ref, out_smull=o_smull)
    return v_ref, v_smull, o_ref, o_smull


def _smull_equals_reference(forward, acc, mult, shift, offset, lo, hi):
    """Asserts the int32 requantised values and the int8 bytes are identical; returns the
    count."""
    v_ref, v_smull, o_ref, o_smull = _requantize_both(forward, acc, mult, shift, offset, lo, hi)
    acc, mult, shift, offset = i32(acc), i32(mult), i32(shift), i32(offset)
    bad = np.flatnonzero((v_ref != v_smull) | (o_ref != o_smull))
    assert bad.size == 0, [(int(acc[i]), int(mult[i]), int(shift[i]), int(offset[i]),
                            int(v_ref[i]), int(v_smull[i]), int(o_ref[i]), int(o_smull[i]))
                           for i in bad[:10]]
    return acc.size


def _edge_accumulators():
    """INT32 extremes, powers of two and their neighbours, and ties of both roundings: with
    multiplier 2^30 every odd x puts the doubling high multiply on a half; with multiplier
    INT32_MIN the high multiply returns exactly -x, so x = -(k * 2^e + 2^(e-1)) puts the rounding
    shift by e on a half (both signs)."""
    v = {_I32_MIN, _I32_MIN + 1, _I32_MIN + 2, -1, 0, 1, 2, 3, _I32_MAX - 1, _I32_MAX}
    for b in range(31):
        for d in (-1, 0, 1):
            v.update({(1 << b) + d, -(1 << b) + d})
    for e in range(1, 32):
        for k in (0, 1, 2, 3, 1000):
            t = k * (1 << e) + (1 << (e - 1))
            v.update({t, -t, t - 1, -t + 1})
    return np.array(sorted(x for x in v if _I32_MIN <= x <= _I32_MAX), np.int64)


_EDGE_MULTIPLIERS = [_I32_MIN, _I32_MIN + 1, -(1 << 30), -1, 0, 1, 2, 3, (1 << 30) - 1, 1 << 30,
                     (1 << 30) + 1, 1518500250, _I32_MAX - 1, _I32_MAX]


def test_requantize_smull_edge_cases(forward):
    """Every edge accumulator x every edge multiplier x every shift in [-31, 31], with the
    output offsets and activation ranges at the int8 extremes (the offset add wraps like the
    reference's when shift > 0 leaves the value near INT32_MAX)."""
    acc = _edge_accumulators()
    n = 0
    for m in _EDGE_MULTIPLIERS:
        a, s = np.meshgrid(acc, np.arange(-31, 32), indexing="ij")
        a, s = a.ravel(), s.ravel()
        k = a.size
        for off, lo, hi in ((0, -128, 127), (-128, -128, 127), (127, -128, 127), (-128, -128, -1),
                            (5, 0, 6), (100, -128, 127)):
            n += _smull_equals_reference(forward, a, np.full(k, m), s, np.full(k, off),
                                         np.full(k, lo), np.full(k, hi))
    assert n > 1_000_000


@pytest.mark.parametrize("seed", range(4))
def test_requantize_smull_random(forward, seed):
    """Random inputs from several distributions: uniform int32, small accumulators with real
    multipliers in [2^30, 2^31) (what kernels see), uniform multipliers of both signs."""
    rng = np.random.default_rng(1000 + seed)
    n = 1 << 20
    full = lambda: rng.integers(_I32_MIN, _I32_MAX, n, endpoint=True)  # noqa: E731
    small = rng.integers(-(1 << 20), 1 << 20, n)
    acc = np.where(rng.random(n) < 0.5, full(), small)
    real_mult = rng.integers(1 << 30, _I32_MAX, n, endpoint=True)
    mult = np.where(rng.random(n) < 0.7, real_mult, full())
    shift = rng.integers(-31, 31, n, endpoint=True)
    offset = rng.integers(-128, 127, n, endpoint=True)
    lo = rng.integers(-128, 127, n, endpoint=True)
    hi = np.maximum(lo, rng.integers(-128, 127, n, endpoint=True))
    assert _smull_equals_reference(forward, acc, mult, shift, offset, lo, hi) == n


def test_requantize_smull_known_values(forward):
    """A few hand-checked values through the SMULL formulation (ties of both roundings)."""
    cases = [(100, 1 << 30, 0, 50), (3, 1 << 30, -1, 1), (-3, 1 << 30, -1, -1),
             (-2, 1 << 30, -2, 0), (6, 1 << 30, -3, 0), (10, 1 << 30, -3, 1),
             (-10, 1 << 30, -3, -1), (_I32_MIN, _I32_MIN, 0, _I32_MAX), (7, 1 << 30, 3, 28),
             (-1, 1 << 30, 0, 0), (1, 1 << 30, 0, 1), (-3, _I32_MIN, -1, 2), (3, _I32_MIN, -1, -2)]
    acc, mult, shift, want = (np.array(c) for c in zip(*cases))
    k = len(cases)
    v_ref, v_smull, _, _ = _requantize_both(forward, acc, mult, shift, np.zeros(k),
                                            np.full(k, -128), np.full(k, 127))
    assert v_ref.tolist() == want.tolist()
    assert v_smull.tolist() == want.tolist()


# ------------------------------- output stage: the DSP kernels' doubled one == reference


def _requantize_doubled(forward, acc, mult, shift, offset):
    """RequantizeDoubledInt32 / RequantizeDoubled (quant_math.h, portable helper) against the
    reference plus the output offset, before and after the int8 saturation, on inputs inside its
    domain (|acc| < 2^30); returns how many were eligible."""
    acc, mult, shift, offset = i32(acc), i32(mult), i32(shift), i32(offset)
    assert np.all(np.abs(acc.astype(np.int64)) < (1 << 30))
    n = acc.size
    eligible, doubled, doubled8 = (np.zeros(n, np.int32) for _ in range(3))
    forward.requantize_doubled(acc=acc, multiplier=mult, shift=shift, output_offset=offset, n=n,
                               eligible=eligible, out=doubled, out8=doubled8)
    want_eligible = ((mult >= 0) & (shift <= -1) & (shift >= -22) & (offset >= -128)
                     & (offset <= 127))
    assert eligible.tolist() == want_eligible.astype(np.int32).tolist()
    # The reference's requantised value (before its offset and clamp), vectorised.
    ref = _requantize_both(forward, acc, mult, shift, np.zeros(n), np.full(n, -128),
                           np.full(n, 127))[0]
    idx = np.flatnonzero(eligible)
    want = ref[idx].astype(np.int64) + offset[idx]
    bad = idx[(doubled[idx] != want) | (doubled8[idx] != np.clip(want, -128, 127))]
    assert bad.size == 0, [(int(acc[i]), int(mult[i]), int(shift[i]), int(offset[i]),
                            int(doubled[i]), int(doubled8[i]), int(ref[i])) for i in bad[:10]]
    return idx.size


def test_requantize_doubled_edge_cases(forward):
    """Accumulators at the domain's edges (+-(2^30 - 1)), powers of two and the rounding ties of
    both roundings, every multiplier edge, every right shift the domain allows and one past it,
    output offsets at the int8 extremes."""
    acc = _edge_accumulators()
    acc = acc[np.abs(acc) < (1 << 30)]
    acc = np.concatenate([acc, [(1 << 30) - 1, -(1 << 30) + 1]])
    n = 0
    for m in [0, 1, 3, (1 << 30) - 1, 1 << 30, (1 << 30) + 1, 1518500250, _I32_MAX, -1, _I32_MIN]:
        a, s = np.meshgrid(acc, np.arange(-23, 2), indexing="ij")
        a, s = a.ravel(), s.ravel()
        for off in (-128, -1, 0, 1, 127, 128):
            n += _requantize_doubled(forward, a, np.full(a.size, m), s, np.full(a.size, off))
    assert n > 100_000


def test_requantize_doubled_random(forward):
    rng = np.random.default_rng(77)
    k = 200_000
    acc = np.where(rng.random(k) < 0.5, rng.integers(-(1 << 30) + 1, 1 << 30, k),
                   rng.integers(-(1 << 20), 1 << 20, k))
    mult = rng.integers(1 << 30, _I32_MAX, k, endpoint=True)
    shift = rng.integers(-22, -1, k, endpoint=True)
    offset = rng.integers(-128, 127, k, endpoint=True)
    assert _requantize_doubled(forward, acc, mult, shift, offset) == k
