"""Server-side arithmetic: FedAvg (and FedAvgM) of int8 weights and int32 biases.

FedAvg is defined on real values: dequantise each client's tensor with the layer's scales
(per output channel for int8 weights, input scale x weight scale for int32 biases), average
weighted by samples, re-quantise with the same scales and the runtime's rounding
(`kernels/training/sgd_update.h`, nearest: ties away from zero, then saturate to the type).
Every client of a round has the same scales (they are part of the model id), so for an element
with scale s the result is round(sum_k n_k s q_k / N / s) = round(sum_k n_k q_k / N): `fedavg`
computes that quotient in exact integer arithmetic, which is the real-valued FedAvg without any
float error (tests/test_fleet.py checks it against the float computation). FedAvgM's momentum and
the server's master copy of the weights are kept in real units (float64) and re-quantised the
same way (ServerMomentum).

Rounding of int8 weights: nearest, or stochastic (floor(x + u), u uniform in [0, 1) from a
generator the strategy seeds by (seed, round): deterministic for a seed). Stochastic is the
default, as it is the Trainer's: an average that moves a weight by less than half a quantum
is otherwise rounded away every round, and the fleet stalls (bench/fleet measured it: with
nearest, int8 FedAvg fell 4-7 points behind fp32 FedAvg at alpha 0.1). int32 biases always
round to nearest: their quantum (input scale x weight scale) is far below any update, so
the result is the exact real average re-quantised.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..converter.emit import bias_scales

_LIMITS = {"int8": (-128, 127), "int32": (-2**31, 2**31 - 1)}


@dataclass(frozen=True)
class TensorQuant:
    """How to read one trained tensor's bytes: its type and the real scale of each element of
    the trained part (zero points are 0: weights are symmetric, biases int32)."""
    index: int
    dtype: str
    scale: np.ndarray  # float64, one per element of the trained part


def tensor_quants(graph, sizes: dict[int, int]) -> dict[int, TensorQuant]:
    """TensorQuant of each trained tensor (index -> trained byte count)."""
    out = {}
    for op in graph.trainable_ops():
        for pos, t in enumerate(op.inputs[1:3], start=1):
            if t < 0 or t not in sizes or t in out:
                continue
            tensor = graph.tensors[t]
            if tensor.dtype not in _LIMITS:
                raise ValueError(f"tensor {t} ({tensor.name}): {tensor.dtype} is not an int8 "
                                 "weight or int32 bias")
            if pos == 2:
                per_channel = np.asarray(bias_scales(graph, op), np.float64)
                axis = 0
            else:
                per_channel = np.asarray(tensor.scale, np.float64)
                axis = tensor.quantized_dimension
            shape = [1] * len(tensor.shape)
            if per_channel.size > 1:
                shape[axis] = -1
            full = np.broadcast_to(per_channel.reshape(shape), tensor.shape).reshape(-1)
            n = sizes[t] // np.dtype(tensor.dtype).itemsize
            out[t] = TensorQuant(t, tensor.dtype, full[:n].copy())
    missing = set(sizes) - set(out)
    if missing:
        raise ValueError(f"trained tensors {sorted(missing)} are not weights or biases of a "
                         "trainable layer")
    return out


def to_int(data: bytes, q: TensorQuant) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype=q.dtype).astype(np.int64)


def dequantize(data: bytes, q: TensorQuant) -> np.ndarray:
    return to_int(data, q) * q.scale


def round_nearest(x: np.ndarray) -> np.ndarray:
    """Nearest whole number, ties away from zero (the runtime's nearest rounding)."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def requantize(real: np.ndarray, q: TensorQuant, rng: np.random.Generator | None = None
               ) -> bytes:
    """Real values -> q's integers, saturated: int8 stochastically with `rng` (floor(x + u)),
    else nearest, ties away from zero (the runtime's two roundings)."""
    x = np.asarray(real, np.float64) / q.scale
    if rng is not None and q.dtype == "int8":
        r = np.floor(x + rng.random(x.shape))
    else:
        r = round_nearest(x)
    lo, hi = _LIMITS[q.dtype]
    return np.clip(r, lo, hi).astype(q.dtype).tobytes()


def aggregation_rng(seed: int, rnd: int) -> np.random.Generator:
    """The generator of round `rnd`'s stochastic re-quantisation (the strategy's)."""
    return np.random.default_rng([seed, rnd, 1])


def fedavg(updates: list[tuple[dict[int, bytes], int]], quants: dict[int, TensorQuant],
           rng: np.random.Generator | None = None) -> dict[int, bytes]:
    """Sample-weighted FedAvg of [(tensors, samples), ...], re-quantised (module docstring):
    int8 stochastically with `rng`, nearest without; int32 nearest."""
    total = sum(n for _, n in updates)
    if not updates or total < 1 or total >= 2**30:
        raise ValueError(f"FedAvg needs 1 .. 2^30 samples in all, got {total}")
    out = {}
    for t in sorted(quants):  # the generator's draws in a fixed order
        q = quants[t]
        num = sum(n * to_int(tensors[t], q) for tensors, n in updates)  # < 2^61: exact int64
        if rng is not None and q.dtype == "int8":
            # floor(num / total + u) = floor(num / total) + (frac + u >= 1), frac exact
            whole = num // total
            frac = (num - whole * total) / total
            r = whole + (frac + rng.random(num.shape) >= 1.0)
        else:
            # round(num / total), ties away from zero, in integers
            r = np.sign(num) * ((2 * np.abs(num) + total) // (2 * total))
        lo, hi = _LIMITS[q.dtype]
        out[t] = np.clip(r, lo, hi).astype(q.dtype).tobytes()
    return out


class ServerMomentum:
    """FedAvgM: the server treats broadcast - average as a gradient, keeps m = mu m + g in real
    units and steps lr m (lr 1, mu 0 is plain FedAvg).

    With `master` (the default) the server keeps a float64 master copy of the trained tensors,
    started from the first broadcast's dequantised values: the step is applied to it and the
    clients receive its re-quantisation. Without it the step starts from the dequantised
    broadcast, so every round's re-quantisation error (and, stochastically rounded, its noise)
    becomes the server's state: an average below half a quantum is lost with nearest rounding,
    and the momentum carries the rounding noise into the next round. A server is not short of
    memory; the float twin (bench/fleet/fp32.py) keeps float weights the same way. The master
    is clipped to the type's range: the broadcast saturates there, and a master beyond it
    would wind up where no client can follow. `step` must be given the previous step's
    broadcast as `old` (the strategy's global bytes)."""

    def __init__(self, quants: dict[int, TensorQuant], momentum: float,
                 learning_rate: float = 1.0, master: bool = True):
        self.quants, self.momentum, self.learning_rate = quants, momentum, learning_rate
        self.master = master
        self._m: dict[int, np.ndarray] | None = None
        self._master: dict[int, np.ndarray] | None = None

    def step(self, old: dict[int, bytes], updates: list[tuple[dict[int, bytes], int]],
             rng: np.random.Generator | None = None) -> dict[int, bytes]:
        total = sum(n for _, n in updates)
        out, grads = {}, {}
        for t, q in self.quants.items():
            avg = sum(n * dequantize(tensors[t], q) for tensors, n in updates) / total
            grads[t] = dequantize(old[t], q) - avg
        if self._m is None:
            self._m = grads
        else:
            self._m = {t: self.momentum * self._m[t] + grads[t] for t in grads}
        if self._master is None or not self.master:
            self._master = {t: dequantize(old[t], q) for t, q in self.quants.items()}
        for t in sorted(self.quants):
            q = self.quants[t]
            self._master[t] = self._master[t] - self.learning_rate * self._m[t]
            if self.master:
                lo, hi = _LIMITS[q.dtype]
                self._master[t] = np.clip(self._master[t], lo * q.scale, hi * q.scale)
            out[t] = requantize(self._master[t], q, rng)
        return out
