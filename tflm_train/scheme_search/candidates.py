"""What the contribution analysis measures: each candidate update alone, as a scheme.

- bias(k): the biases of the last k trainable layers;
- weight(i, r): the first r of layer i's output channels (r in 1/8, 1/4, 1/2, 1), with the
  last layer's bias also trained, as in Lin et al. 2022 (its gain is counted over bias(1)).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..converter.scheme import SparseUpdate

WEIGHT_RATIOS = (1 / 8, 1 / 4, 1 / 2, 1.0)


@dataclass(frozen=True, order=True)
class Candidate:
    kind: str      # "bias" or "weight"
    layer: int     # bias: k (how many last layers); weight: trainable-layer index from 0
    ratio: float = 0.0

    @property
    def key(self) -> str:
        return f"bias{self.layer}" if self.kind == "bias" else f"w{self.layer}@{self.ratio:g}"

    def scheme(self, qas: bool = True) -> SparseUpdate:
        if self.kind == "bias":
            return SparseUpdate(n_bias=self.layer, qas=qas)
        return SparseUpdate(n_bias=1, weights={self.layer: self.ratio}, qas=qas)


def candidates(n_layers: int) -> list[Candidate]:
    """Every bias depth 1..n_layers, then every layer at every weight ratio, last layer first
    (the cheapest and usually the most useful are measured first)."""
    out = [Candidate("bias", k) for k in range(1, n_layers + 1)]
    for i in reversed(range(n_layers)):
        out += [Candidate("weight", i, r) for r in WEIGHT_RATIOS]
    return out


def scheme_of(n_bias: int, ratios: tuple[float, ...], qas: bool = True) -> SparseUpdate:
    """The scheme of one search point: bias depth and a ratio (0 = frozen) per layer. A layer
    whose weights train also trains its bias (resolve() does that), and the last layer's bias
    trains whenever any weight does, as the weight candidates were measured."""
    weights = {i: r for i, r in enumerate(ratios) if r > 0}
    return SparseUpdate(n_bias=max(n_bias, 1 if weights else 0), weights=weights, qas=qas)
