"""The structured schemes a user would try by hand, as search points: the joint check trains
the ones that fit beside the evolution's finalists, so the search never returns a scheme that
trains worse on the held-out split than these (the bench's baselines are the same families).

- bias_only: the biases of the last k layers, the largest k that fits;
- last_layer: the last layer's weights and biases;
- last_n_full: the last n layers' weights and biases, the largest n that fits.

With a new head (num_classes) its weights train in every scheme (scheme_of adds them), so the
head's own ratio stays 0 here, as in the evolution's points.
"""
from __future__ import annotations

from .memory import SchemeMemory


def last_n_full_point(n: int, n_layers: int, head: bool) -> tuple:
    ratios = [1.0 if i >= n_layers - n else 0.0 for i in range(n_layers)]
    if head:
        ratios[-1] = 0.0
    return n, tuple(ratios)


class StructuredPoints:
    """Plans the structured families once (through the shared SchemeMemory), then answers per
    budget. last_n_full is planned for n = 1, 2, ... until a plan exceeds the largest budget:
    deeper schemes only add trained layers, so they are taken not to fit either (the one
    assumption here; the evolution's points have no such shortcut)."""

    def __init__(self, memory: SchemeMemory, n_layers: int, head: bool, largest_budget: int):
        self.memory, self.n_layers, self.head = memory, n_layers, head
        zeros = (0.0,) * n_layers
        self.bias = [(k, zeros) for k in range(1, n_layers + 1)]
        self.last_layer = last_n_full_point(1, n_layers, head)
        self.full = []
        for n in range(1, n_layers + 1):
            point = last_n_full_point(n, n_layers, head)
            if not memory.fits(*point, largest_budget):
                break
            self.full.append(point)

    def _fits(self, point, budget: int) -> bool:
        return self.memory.fits(*point, budget)

    def points(self, budget: int) -> dict[str, tuple]:
        """{family: point} of the families that fit `budget`."""
        out = {}
        bias = [p for p in self.bias if self._fits(p, budget)]
        if bias:
            out["bias_only"] = bias[-1]
        if self._fits(self.last_layer, budget):
            out["last_layer"] = self.last_layer
        full = [p for p in self.full if self._fits(p, budget)]
        if full:
            out["last_n_full"] = full[-1]
        return out
