"""Deterministic stratified train / held-out split."""
from __future__ import annotations

import numpy as np


def split_indices(y, n_train, seed: int = 0):
    """Stratified split of ``range(len(y))`` into (train_idx, heldout_idx).

    ``n_train`` is a sample count (int) or a fraction in (0, 1). Each class gets
    ``n_train * n_class / N`` training samples, rounded by largest remainder (ties broken
    by class id) so the total is exactly ``n_train``. Depends only on ``y``, ``n_train``
    and ``seed`` (numpy PCG64), not on global random state. Both index arrays are in a
    seeded random order.
    """
    y = np.asarray(y).reshape(-1)
    n = y.shape[0]
    if isinstance(n_train, float) and 0.0 < n_train < 1.0:
        n_train = int(round(n_train * n))
    n_train = int(n_train)
    if not 0 <= n_train <= n:
        raise ValueError(f"n_train must be in [0, {n}], got {n_train}")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    exact = n_train * counts / n
    alloc = np.floor(exact).astype(np.int64)
    rest = n_train - int(alloc.sum())
    if rest:
        order = np.lexsort((classes, -(exact - alloc)))  # biggest remainder first
        alloc[order[:rest]] += 1
    train, held = [], []
    for c, k in zip(classes, alloc):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(idx.size)]
        train.append(idx[:k])
        held.append(idx[k:])
    train = np.concatenate(train) if train else np.zeros(0, np.int64)
    held = np.concatenate(held) if held else np.zeros(0, np.int64)
    return train[rng.permutation(train.size)], held[rng.permutation(held.size)]


def split(x, y, n_train, seed: int = 0):
    """Stratified deterministic split -> ``(x_train, y_train, x_heldout, y_heldout)``.

    See :func:`split_indices` for how ``n_train`` and ``seed`` are used.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y differ in length: {x.shape[0]} vs {y.shape[0]}")
    tr, ho = split_indices(y, n_train, seed)
    return x[tr], y[tr], x[ho], y[ho]


def fold_indices(y, folds: int, seed: int = 0) -> list[np.ndarray]:
    """Stratified partition of ``range(len(y))`` into ``folds`` disjoint parts covering it.

    Each class's samples, in a seeded random order, are dealt to the folds in turn, starting
    where the previous class stopped, so fold sizes differ by at most one and every fold holds
    each class in proportion (to within one sample). Depends only on ``y``, ``folds`` and
    ``seed`` (numpy PCG64). Each fold's indices are in a seeded random order.
    """
    y = np.asarray(y).reshape(-1)
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or \
            not 2 <= folds <= y.shape[0]:
        raise ValueError(f"folds={folds!r}: give 2 to {y.shape[0]} (the sample count) folds")
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in range(folds)]
    start = 0
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(idx.size)]
        for f in range(folds):
            parts[(start + f) % folds].append(idx[f::folds])
        start = (start + idx.size) % folds
    out = []
    for p in parts:
        p = np.concatenate(p)
        out.append(p[rng.permutation(p.size)])
    return out


def fold_splits(y, folds: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation: ``[(train_idx, heldout_idx)]``, one per fold of
    :func:`fold_indices`, each holding that fold out and training on the others."""
    parts = fold_indices(y, folds, seed)
    return [(np.concatenate([q for j, q in enumerate(parts) if j != f]), p)
            for f, p in enumerate(parts)]
