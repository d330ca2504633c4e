"""Client data: label-skewed shards drawn with a Dirichlet prior (the usual non-IID benchmark:
small alpha, each client sees few classes; large alpha, close to IID)."""
from __future__ import annotations

import numpy as np


def dirichlet_shards(x, y, clients: int, alpha: float, seed: int = 0,
                     min_samples: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split (x, y) over `clients`: for each class, the fractions going to each client are
    drawn from Dirichlet(alpha); redrawn (seeded) until every client has `min_samples`."""
    y = np.asarray(y).reshape(-1)
    if clients < 1 or alpha <= 0:
        raise ValueError(f"clients={clients}, alpha={alpha}: need clients >= 1 and alpha > 0")
    if len(y) < clients * min_samples:
        raise ValueError(f"{len(y)} samples cannot give {clients} clients {min_samples} each")
    rng = np.random.default_rng(seed)
    for _ in range(1000):
        owner = np.empty(len(y), np.int64)
        for c in np.unique(y):
            idx = rng.permutation(np.flatnonzero(y == c))
            cuts = (np.cumsum(rng.dirichlet(np.full(clients, alpha)))[:-1] * len(idx))
            for k, part in enumerate(np.split(idx, cuts.astype(int))):
                owner[part] = k
        counts = np.bincount(owner, minlength=clients)
        if counts.min() >= min_samples:
            return [(x[owner == k], y[owner == k]) for k in range(clients)]
    raise ValueError(f"alpha={alpha}: no split in 1000 draws gives every one of {clients} "
                     f"clients {min_samples} samples; use fewer clients or a larger alpha")
