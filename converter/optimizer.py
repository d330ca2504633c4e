"""Convert-time optimizer choice: it decides how much SRAM the training step needs."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import ConversionError


@dataclass(frozen=True)
class SGD:
    """SGD on the int8 weights (rounded, saturated updates; QAS factors from the scheme).

    momentum: mu of SGD with momentum, 0 <= mu < 1 (0: plain SGD).
    mini_batch: keep a float32 buffer per updated parameter so that `Trainer.fit(batch_size=B)`
        (and the C API's tt_train with batch_size > 1) averages the gradients of B samples and
        applies one update per mini-batch, without more activation memory.
    Momentum needs the same buffer (it holds the velocity, into which the mini-batch is summed),
    so either option costs 4 bytes per updated weight and bias, shown by `memory_report`.
    """

    momentum: float = 0.0
    mini_batch: bool = False

    def __post_init__(self):
        if not 0.0 <= float(self.momentum) < 1.0:
            raise ConversionError(f"momentum={self.momentum!r} must be in [0, 1)")

    @property
    def has_state(self) -> bool:
        return self.momentum != 0.0 or self.mini_batch


LOSSES = ("cross_entropy", "mse")
