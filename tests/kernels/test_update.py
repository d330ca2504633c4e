"""Parameter updates (kernels/training/sgd_update.cc, grad_accumulate.cc): SGD on int8 weights
and int32 biases exactly equal to an independent Fraction reference (nearest ties away from zero,
stochastic rounding with the xorshift32 stream, saturation, momentum), stochastic rounding
unbiased, and gradient accumulation / scaling."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from tests.kernels.helpers import f32, rand_q


def xorshift32(state):
    state ^= (state << 13) & 0xFFFFFFFF
    state ^= state >> 17
    state ^= (state << 5) & 0xFFFFFFFF
    return state


def ref_round(step32, mode, state):
    """Exact rounding of a float32 step with Fractions; returns (int, new_state)."""
    u = Fraction(0)
    if mode == 1:
        state = xorshift32(state)
        u = Fraction(state >> 8, 1 << 24)
    if np.isnan(step32):
        return 0, state
    if np.isinf(step32):
        return (10**12 if step32 > 0 else -10**12), state
    s = Fraction(float(step32))
    if mode == 0:
        a = abs(s)
        r = int(a + Fraction(1, 2))  # floor(|s| + 1/2): ties away from zero
        return (r if s >= 0 else -r), state
    total = s + u
    return int(total.numerator // total.denominator), state


def ref_sgd(w, g, factor, lr, mode, state, outer, channels, inner, c0, c1, lo, hi, mu=None,
            m=None):
    w = w.astype(object).reshape(outer, channels, inner).copy()
    g = g.reshape(outer, c1 - c0, inner)
    m = None if m is None else m.reshape(outer, c1 - c0, inner).copy()
    for o in range(outer):
        for j in range(c1 - c0):
            c = c0 + j
            for k in range(inner):
                gv = g[o, j, k]
                if m is not None:
                    gv = np.float32(np.float32(mu) * m[o, j, k]) + gv
                    m[o, j, k] = gv
                step = np.float32(np.float32(lr) * factor[c]) * gv
                r, state = ref_round(step, mode, state)
                w[o, c, k] = min(max(int(w[o, c, k]) - r, lo), hi)
    return w.reshape(-1), state, m


def run_sgd(training, w, g, factor, lr, mode, state, slice_, mu=0.0, m=None):
    """SgdUpdateInt8 / SgdUpdateInt32 (by w's type) on a copy of w; returns (w, rng state)."""
    w = w.copy()
    run = training.sgd_int8 if w.dtype == np.int8 else training.sgd_int32
    a = run(params=(np.float32(lr), np.float32(mu), mode), slice=slice_, grad=g, factor=factor,
            momentum=m, rng_state=state, weights=w)
    return w, int(a.rng_state)


@pytest.mark.parametrize("mode", [0, 1])
@pytest.mark.parametrize("layout", ["conv", "depthwise", "bias"])
def test_sgd_int8_and_int32_exact(training, mode, layout):
    rng = np.random.default_rng(12 + mode)
    if layout == "conv":
        outer, channels, inner, dtype = 1, 6, 12, np.int8
    elif layout == "depthwise":
        outer, channels, inner, dtype = 9, 5, 1, np.int8
    else:
        outer, channels, inner, dtype = 1, 40, 1, np.int32
    lo, hi = (-128, 127) if dtype == np.int8 else (-2**31, 2**31 - 1)
    c0, c1 = 1, channels - 1
    info = np.iinfo(dtype)
    w = rng.integers(info.min, int(info.max) + 1, size=outer * channels * inner,
                     dtype=np.int64).astype(dtype)
    w[:4] = [info.max, info.min, info.max - 1, info.min + 1]
    count = outer * (c1 - c0) * inner
    g = f32(rng.standard_normal(count) * rng.choice([0.01, 1, 100, 1e6, 1e12], count))
    special = f32([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 1e30, -1e30, np.inf, -np.inf, np.nan, 0.0,
                   3e9, -3e9, 2.1474836e9, -2.1474836e9, 1e-30, -1e-30])
    g[:special.size] = special
    factor = f32(rng.uniform(0.5, 2.0, channels))
    factor[c0] = 1.0
    lr = 1.0
    state = 0x12345678
    out, new_state = run_sgd(training, w, g, factor, lr, mode, state,
                             (outer, channels, inner, c0, c1))
    ref, ref_state, _ = ref_sgd(w, g, factor, lr, mode, state, outer, channels, inner, c0, c1,
                                lo, hi)
    assert out.tolist() == ref.tolist()
    assert new_state == ref_state
    untouched = np.ones((outer, channels, inner), bool)
    untouched[:, c0:c1] = False
    assert out[untouched.ravel()].tolist() == w[untouched.ravel()].tolist()


def test_sgd_rounding_ties_and_saturation(training):
    w = np.zeros(8, np.int8)
    g = f32([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999997, -0.49999997])
    out, _ = run_sgd(training, w, g, f32(np.ones(8)), 1.0, 0, 1, (1, 8, 1, 0, 8))
    # w - round(step), ties away from zero.
    assert out.tolist() == [-1, 1, -2, 2, -3, 3, 0, 0]
    w = np.array([127, -128, 100, -100, 127, -128], np.int8)
    g = f32([-1.0, 1.0, -1e9, 1e9, np.inf, -np.inf])
    out, _ = run_sgd(training, w, g, f32(np.ones(6)), 1.0, 0, 1, (1, 6, 1, 0, 6))
    assert out.tolist() == [127, -128, 127, -128, -128, 127]
    b = np.array([2**31 - 1, -2**31, 0, 0, 2**31 - 5, -2**31 + 5], np.int32)
    g = f32([-1.0, 1.0, 3e9, -3e9, -4.0, 4.0])
    out, _ = run_sgd(training, b, g, f32(np.ones(6)), 1.0, 0, 1, (1, 6, 1, 0, 6))
    assert out.tolist() == [2**31 - 1, -2**31, -2**31, 2**31 - 1, 2**31 - 1, -2**31 + 1]


@pytest.mark.parametrize("mode", [0, 1])
def test_sgd_int32_steps_beyond_int32(training, mode):
    # Bias steps from 2^31 up are whole floats the kernel converts without a 64-bit cast: each
    # lands inside int32 from the far end of the range, so a wrong magnitude shows unsaturated.
    big = f32([2.0**31 - 128, 2.0**31, 2.0**31 + 256, 3e9, 4e9, 4.29e9, 2.0**32 - 256,
               8589934592.0, 1.5, 0.25, 2.0**31 - 0.5e3, 7.75])
    g = np.concatenate([big, -big])
    w = np.concatenate([np.full(big.size, 2**31 - 1), np.full(big.size, -2**31)]).astype(
        np.int32)
    n = g.size
    factor = f32(np.ones(n))
    state = 0x2468ACE1
    out, new_state = run_sgd(training, w, g, factor, 1.0, mode, state, (1, n, 1, 0, n))
    ref, ref_state, _ = ref_sgd(w, g, factor, 1.0, mode, state, 1, n, 1, 0, n,
                                -2**31, 2**31 - 1)
    assert out.tolist() == ref.tolist()
    assert new_state == ref_state
    assert out[2] == 2**31 - 1 - (2**31 + 256) and out[big.size + 4] == -2**31 + 4_000_000_000


def test_sgd_stochastic_rounding_is_unbiased(training):
    n = 200_000
    for step in (0.3, -0.3, 2.75, -1.125):
        w = np.zeros(n, np.int32)
        g = np.full(n, step, np.float32)
        out, _ = run_sgd(training, w, g, f32([1.0]), 1.0, 1, 99, (1, 1, n, 0, 1))
        r = -out.astype(np.float64)
        frac = step - np.floor(step)
        assert set(np.unique(r)) <= {np.floor(step), np.floor(step) + 1}
        sigma = np.sqrt(frac * (1 - frac) / n)
        assert abs(r.mean() - np.float32(step)) < 4 * sigma + 1e-6


def test_sgd_momentum_exact(training):
    rng = np.random.default_rng(13)
    outer, channels, inner, c0, c1 = 1, 4, 8, 1, 3
    w = rand_q(rng, outer * channels * inner)
    m = f32(rng.standard_normal(outer * (c1 - c0) * inner))
    factor = f32(rng.uniform(10, 50, channels))
    for mode in (0, 1):
        g = f32(rng.standard_normal(m.size) * 0.1)
        ref, ref_state, ref_m = ref_sgd(w, g, factor, 0.05, mode, 7, outer, channels, inner, c0,
                                        c1, -128, 127, mu=0.9, m=m)
        m_c = m.copy()
        out, state = run_sgd(training, w, g, factor, 0.05, mode, 7,
                             (outer, channels, inner, c0, c1), mu=0.9, m=m_c)
        assert out.tolist() == ref.tolist()
        assert m_c.tobytes() == np.asarray(ref_m.reshape(-1), np.float32).tobytes()
        w, m = out, m_c


def test_grad_accumulate_and_scale(training):
    rng = np.random.default_rng(14)
    acc = f32(rng.standard_normal(33))
    g = f32(rng.standard_normal(33))
    expected = (acc + g).astype(np.float32)
    training.grad_accumulate(size=33, grad=g, accumulator=acc)
    assert acc.tobytes() == expected.tobytes()
    expected = (acc * np.float32(0.25)).astype(np.float32)
    training.grad_scale(size=33, factor=np.float32(0.25), buffer=acc)
    assert acc.tobytes() == expected.tobytes()


def test_sgd_int8_nearest_around_every_half(training):
    """Nearest rounding of int8 steps (computed from trunc(2 * step) in the kernel) at, just below
    and just above every whole and half up to 260 (beyond, saturation hides the step), at the
    1024 step limit and at subnormals, both signs, against the Fraction reference; the weight
    starts at the far end so the difference shows unsaturated."""
    base = []
    for k in range(260):
        for v in (k + 0.5, float(k)):
            v32 = np.float32(v)
            base += [v32, np.nextafter(v32, np.float32(np.inf)),
                     np.nextafter(v32, np.float32(-np.inf))]
    base += [1023.5, 1024.0, 1024.5, 2047.75, 1e-45, 1e-40, 0.25, 0.75]
    steps = f32(base)
    steps = f32(np.concatenate([steps, -steps]))
    w = np.where(steps >= 0, 127, -128).astype(np.int8)
    n = steps.size
    out, _ = run_sgd(training, w, steps, f32(np.ones(n)), 1.0, 0, 1, (1, n, 1, 0, n))
    ref, _, _ = ref_sgd(w, steps, f32(np.ones(n)), 1.0, 0, 1, 1, n, 1, 0, n, -128, 127)
    assert out.tolist() == ref.tolist()
