"""Contribution analysis: the held-out accuracy after a short fine-tune with each candidate
alone, on the host runtime (the bytes the board computes), each on the part of the model above
its first trained layer (prefix.py). Results are cached on disk by
everything they depend on, so a rerun (another budget, another board) is instant; the
fine-tunes run in parallel on all cores, with a progress bar.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..converter import convert
from ..converter.program_format import VERSION as PROGRAM_VERSION
from .candidates import Candidate
from .prefix import FrozenPrefix


@dataclass(frozen=True)
class FineTune:
    """How each candidate is measured."""
    learning_rate: float
    epochs: int = 1
    seed: int = 0
    qas: bool = True
    num_classes: int | None = None  # a new K-way head (convert(num_classes=...)), seeded by seed
    # The Trainer's seed (sample order, stochastic rounding); None: `seed`. Repeating a
    # training with another trainer_seed keeps the head's initial weights, as the user's
    # training and the bench's seeds do.
    trainer_seed: int | None = None

    @property
    def training_seed(self) -> int:
        return self.seed if self.trainer_seed is None else self.trainer_seed


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tflm-train" / "search"


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "little"))
        h.update(p)
    return h.hexdigest()


def _array_bytes(a: np.ndarray) -> bytes:
    a = np.ascontiguousarray(a)
    return f"{a.dtype.str}{a.shape}".encode() + a.tobytes()


def data_digest(tflite: bytes, x_train, y_train, x_val, y_val) -> str:
    return _digest(tflite, *(_array_bytes(np.asarray(a)) for a in (x_train, y_train, x_val,
                                                                     y_val)))


def accuracy(tflite: bytes, scheme, data, tune: FineTune) -> float:
    """Held-out accuracy after fine-tuning `scheme` on the training split (scheme None: the
    model as it is)."""
    from ..trainer import Trainer

    x_train, y_train, x_val, y_val = data
    if scheme is None:
        from ..converter.scheme import SparseUpdate
        scheme = SparseUpdate(inference_only=True)
    extended = convert(tflite, scheme, num_classes=tune.num_classes, seed=tune.seed)
    if scheme.inference_only:
        return Trainer(extended, seed=tune.seed).evaluate(x_val, y_val)["accuracy"]
    trainer = Trainer(extended, learning_rate=tune.learning_rate, seed=tune.training_seed)
    trainer.fit(x_train, y_train, epochs=tune.epochs, progress=False)
    return trainer.evaluate(x_val, y_val)["accuracy"]


_WORKER: dict = {}


def _init_worker(tflite: bytes, data, suffixes: dict) -> None:
    _WORKER.update(tflite=tflite, data=data, suffixes=suffixes)


def _run(args) -> tuple[str, float]:
    key, scheme, tune, layer = args
    if layer is None:
        return key, accuracy(_WORKER["tflite"], scheme, _WORKER["data"], tune)
    suffix, x_train, x_val = _WORKER["suffixes"][layer]
    _, y_train, _, y_val = _WORKER["data"]
    return key, accuracy(suffix, scheme, (x_train, y_train, x_val, y_val), tune)


class ContributionCache:
    """Accuracies on disk, one JSON per (model, data, fine-tune settings, candidate)."""

    def __init__(self, directory: Path | None):
        self.directory = Path(directory) if directory is not None else None

    def _path(self, data_key: str, tune: FineTune, name: str) -> Path | None:
        if self.directory is None:
            return None
        fields = [tune.learning_rate, tune.epochs, tune.seed, tune.qas, tune.num_classes,
                  PROGRAM_VERSION]
        if tune.trainer_seed is not None:  # (absent: the keys of the runs before it existed)
            fields.append(["trainer_seed", tune.trainer_seed])
        settings = json.dumps(fields).encode()
        return self.directory / _digest(data_key.encode(), settings, name.encode())[:40]

    def get(self, data_key: str, tune: FineTune, name: str) -> float | None:
        path = self._path(data_key, tune, name)
        if path is None or not path.is_file():
            return None
        return float(json.loads(path.read_text())["accuracy"])

    def put(self, data_key: str, tune: FineTune, name: str, value: float) -> None:
        path = self._path(data_key, tune, name)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"candidate": name, "accuracy": value}))
        tmp.replace(path)  # atomic: a killed run never leaves half a file


def measure(tflite: bytes, data, jobs: dict[str, tuple], cache: ContributionCache,
            workers: int | None = None, progress: bool = True,
            desc: str = "contribution analysis", prefix: bool = True,
            timing: dict | None = None) -> dict[str, float]:
    """{name: held-out accuracy} for jobs {name: (scheme or None = no training, FineTune)},
    from the cache where it has them, else fine-tuned on `workers` processes (default: all
    cores). With `prefix`, each scheme trains only the part of the model above its first
    trained layer, on that layer's input activations computed once (prefix.py: the same bytes
    as the whole model's). `timing` (a dict) gets the seconds spent on those activations
    ("prefix_seconds") and on the fine-tunes ("fine_tune_seconds") added to it."""
    data_key = data_digest(tflite, *data)
    out: dict[str, float] = {}
    todo = []
    for name, (scheme, tune) in jobs.items():
        hit = cache.get(data_key, tune, name)
        if hit is None:
            todo.append((name, scheme, tune, None))
        else:
            out[name] = hit
    start = time.perf_counter()
    suffixes = {}
    if prefix and todo:
        frozen = FrozenPrefix(tflite, data[0], data[2])
        cut = []
        for name, scheme, tune, _ in todo:
            layer = None if scheme is None or scheme.inference_only else \
                frozen.layer_of(scheme, tune.num_classes is not None)
            cut.append((name, scheme if layer is None else frozen.suffix_scheme(scheme, layer),
                        tune, layer))
        todo = cut
        for layer in sorted({job[3] for job in todo if job[3] is not None}):
            suffixes[layer] = (frozen.suffix(layer), *frozen.features(layer))
    prepared = time.perf_counter()
    tunes = {name: tune for name, (_, tune) in jobs.items()}
    workers = workers or os.cpu_count() or 1
    bar = tqdm(total=len(jobs), initial=len(out), desc=desc, unit="fine-tune",
               disable=not progress or not todo)
    if todo and workers == 1:
        _init_worker(tflite, data, suffixes)
        results = map(_run, todo)
    elif todo:
        # fork, not spawn: spawn re-runs the caller's script in every worker, which hangs a
        # script that calls search() without an `if __name__ == "__main__"` guard. The workers
        # use numpy, the runtime library and tqdm; tqdm's lock and monitor thread are made safe
        # across the fork by tflm_train.fork_safety.
        # The slowest fine-tunes (deepest suffixes) go first, so no core idles at the end.
        todo.sort(key=lambda job: -1 if job[3] is None else job[3])
        pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=get_context(
            "fork"), initializer=_init_worker, initargs=(tflite, data, suffixes))
        results = pool.map(_run, todo)
    else:
        results = iter(())
    try:
        for name, acc in results:
            out[name] = acc
            cache.put(data_key, tunes[name], name, acc)
            bar.update(1)
    finally:
        bar.close()
        if todo and workers > 1:
            pool.shutdown()
    if timing is not None:
        timing["prefix_seconds"] = timing.get("prefix_seconds", 0.0) + prepared - start
        timing["fine_tunes_run"] = timing.get("fine_tunes_run", 0) + len(todo)
        timing["fine_tune_seconds"] = timing.get("fine_tune_seconds", 0.0) + \
            time.perf_counter() - prepared
    return {name: out[name] for name in jobs}


def gains(accuracies: dict[str, float], candidates: list[Candidate]) -> dict[Candidate, float]:
    """Gain of each candidate: bias(k) over the untrained model, weight(i, r) over bias(1)
    (its measurement also trained the last bias)."""
    base, bias1 = accuracies["none"], accuracies[Candidate("bias", 1).key]
    return {c: accuracies[c.key] - (base if c.kind == "bias" else bias1) for c in candidates}
