"""fp32 FedAvg of the same parameters: bench/accuracy's TensorFlow float twin, started from the
dequantised int8 weights, each client training the scheme's slice with the same samples,
shuffles, mini-batches, momentum and rates as its int8 counterpart; the server averages the
float values weighted by samples (no quantisation anywhere), with the int8 server's momentum
and server learning rate when FedAvgM is used (aggregate.ServerMomentum's rule in float64).

The twin scores its float weights with a float forward pass. `deployed_int8` scores the same
weights the way a board would run them: re-quantised (nearest, saturated) into the int8
model's trained tensors and evaluated by the runtime, so it separates what int8 *inference*
costs (fixed activation scales, the int8 weight grid) from what int8 *training* costs."""
from __future__ import annotations

import numpy as np

from tflm_train.fleet import requantize
from tflm_train.fleet.model import client_seed


class Fp32Fleet:
    def __init__(self, tflite: bytes, scheme, momentum: float):
        from bench.accuracy.twin import FloatTwin  # imports TensorFlow
        self.twin = FloatTwin(tflite, scheme, momentum=momentum)
        self.trained = list(self.twin.masks)
        self.initial = self._get()  # the dequantised int8 weights: every run starts here

    def _get(self) -> dict[int, np.ndarray]:
        return {t: self.twin.vars[t].numpy().copy() for t in self.trained}

    def _set(self, values: dict[int, np.ndarray]) -> None:
        for t, v in values.items():
            self.twin.vars[t].assign(v)
        for vel in self.twin._velocity:  # a client starts each round without momentum
            vel.assign(np.zeros(vel.shape, np.float32))

    def local(self, start, x, y, epochs: int, lr: float, batch: int, seed: int, rnd: int,
              index: int) -> dict[int, np.ndarray]:
        """One client's round (Trainer.fit's order: one permutation per epoch)."""
        self._set(start)
        rng = np.random.default_rng(client_seed(seed, rnd, index))
        for _ in range(epochs):
            order = rng.permutation(len(y))
            for s in range(0, len(order), batch):
                i = order[s:s + batch]
                self.twin.train_step(x[i], y[i], lr)
        return self._get()

    def deployed_tensors(self, model) -> dict[int, bytes]:
        """The current float weights re-quantised for `model` (a FleetModel of the same
        extended model): each trained tensor's trained part (its leading elements, as the
        fleet sends them) rounded to nearest with its scales, saturated."""
        return {t: requantize(self.twin.vars[t].numpy().reshape(-1)[:len(q.scale)]
                              .astype(np.float64), q) for t, q in model.quants.items()}

    def deployed_int8(self, model, x, y) -> float:
        """Accuracy of deployed_tensors(model) run by the runtime."""
        return model.evaluate(self.deployed_tensors(model), x, y)

    def run(self, shards, rounds: int, epochs: int, lr: float, batch: int, seed: int,
            test, chosen: list[list[int]], server_momentum: float = 0.0,
            server_lr: float = 1.0, deployed=None, kept: list | None = None) -> list[float]:
        """Test accuracy before and after each round; chosen[r]: the clients of round r + 1
        (the int8 run's sample, so both average the same clients). deployed: (FleetModel,
        list) to append deployed_int8's accuracy after each float score; kept: a list to
        append the trained float weights to, before round 1 and after each round."""
        glob = dict(self.initial)
        m = None
        self._set(glob)
        curve = []

        def score():
            curve.append(self.twin.evaluate(*test))
            if kept is not None:
                kept.append(self._get())
            if deployed is not None:
                deployed[1].append(self.deployed_int8(deployed[0], *test))

        score()
        for rnd in range(1, rounds + 1):
            outs = [(self.local(glob, *shards[c], epochs, lr, batch, seed, rnd, c),
                     len(shards[c][1])) for c in chosen[rnd - 1]]
            total = sum(n for _, n in outs)
            avg = {t: sum(n * o[t].astype(np.float64) for o, n in outs) / total
                   for t in self.trained}
            if server_momentum or server_lr != 1.0:
                g = {t: glob[t].astype(np.float64) - avg[t] for t in self.trained}
                m = g if m is None else {t: server_momentum * m[t] + g[t] for t in g}
                avg = {t: glob[t].astype(np.float64) - server_lr * m[t] for t in self.trained}
            glob = {t: avg[t].astype(np.float32) for t in self.trained}
            self._set(glob)
            score()
        return curve
