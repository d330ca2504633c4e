"""tflm_train.search (tflm_train/scheme_search): budget errors, determinism, the contribution cache, the scheme file, and
that the chosen scheme really fits (its arena from a real conversion)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import tflm_train
from tflm_train.cli import main as cli
from tflm_train.converter.errors import ConversionError
from tflm_train.converter.scheme_json import scheme_from_json, scheme_to_json
from tflm_train.data import DEMO_MODEL
from tflm_train.data.loaders import load_sklearn_digits
from tflm_train.scheme_search import Evolution, contribution, search

DEMO = DEMO_MODEL.read_bytes()
SMALL = Evolution(population=8, generations=4, parents=3, seed=0)


@pytest.fixture(scope="module")
def task():
    x, y = load_sklearn_digits()
    keep = np.random.default_rng(7).permutation(len(x))[:160]
    return x[keep], y[keep]


def run(task, tmp_path, budget=40 * 1024, **kw):
    kw.setdefault("cache_dir", tmp_path / "cache")
    return search(DEMO, *task, sram_budget=budget, seed=0, learning_rate=0.03, workers=1,
                  progress=False, evolution=SMALL, **kw)


def test_budget_too_small_names_the_numbers(task, tmp_path):
    with pytest.raises(tflm_train.BudgetError, match=r"no scheme fits 1000 B .* needs \d+ B "
                                                     r"\(\d+ B arena \+ 500 B"):
        run(task, tmp_path, budget=1000, overhead_bytes=500)


def test_chosen_scheme_fits_and_is_deterministic(task, tmp_path):
    budget = 24 * 1024
    a = run(task, tmp_path, budget=budget, overhead_bytes=2048)
    b = run(task, tmp_path / "other", budget=budget, overhead_bytes=2048)
    assert a.scheme == b.scheme
    assert a.report["trace"] == b.report["trace"]
    extended = tflm_train.convert(DEMO, a.scheme)
    arena = tflm_train.memory_report(extended).arena_bytes
    assert arena + 2048 == a.report["chosen"]["sram_bytes"] <= budget
    # Every candidate that fits alone was measured; the others are listed unmeasured.
    for c in a.report["candidates"]:
        assert c["measured"] == (c["sram_bytes"] is not None and c["sram_bytes"] <= budget)


def test_a_rerun_reads_every_fine_tune_from_the_cache(task, tmp_path, monkeypatch):
    first = run(task, tmp_path)

    def no_fine_tunes(*args, **kw):
        raise AssertionError("fine-tuned again: the cache missed")

    monkeypatch.setattr(contribution, "accuracy", no_fine_tunes)
    again = run(task, tmp_path)
    assert again.scheme == first.scheme
    # Another budget reuses the same measurements too.
    run(task, tmp_path, budget=30 * 1024)


def test_the_cache_separates_data_and_settings(task, tmp_path):
    x, y = task
    cache = contribution.ContributionCache(tmp_path)
    tune = contribution.FineTune(0.03)
    key = contribution.data_digest(DEMO, x, y, x, y)
    cache.put(key, tune, "bias1", 0.5)
    assert cache.get(key, tune, "bias1") == 0.5
    assert cache.get(key, contribution.FineTune(0.1), "bias1") is None
    assert cache.get(contribution.data_digest(DEMO, x, y[::-1], x, y), tune, "bias1") is None


def test_scheme_file_round_trips_through_convert(task, tmp_path):
    result = run(task, tmp_path)
    path = tmp_path / "scheme.json"
    path.write_text(result.to_json())
    assert scheme_from_json(path.read_text()) == result.scheme
    out = tmp_path / "ext.tflite"
    r = CliRunner().invoke(cli, ["convert", str(DEMO_MODEL), "--scheme", str(path),
                                 "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == tflm_train.convert(DEMO, result.scheme)
    result.plot(tmp_path / "search.png")
    assert (tmp_path / "search.png").stat().st_size > 10_000


@pytest.mark.parametrize("edit, words", [
    (lambda d: d.update(n_bias=-1), "n_bias: -1 is less than the minimum of 0"),
    (lambda d: d["weights"].append({"layer": 0, "ratio": "1/3"}), "weights/0/ratio: '1/3'"),
    (lambda d: d.update(format="other"), "format: 'tflm-train-scheme' was expected"),
    (lambda d: d.update(extra=1), "Additional properties are not allowed"),
])
def test_a_wrong_scheme_file_names_the_field(edit, words):
    doc = json.loads(scheme_to_json(tflm_train.SparseUpdate(n_bias=2)))
    edit(doc)
    with pytest.raises(ConversionError, match=words.replace("[", r"\[")):
        scheme_from_json(json.dumps(doc))
    with pytest.raises(ConversionError, match="not JSON"):
        scheme_from_json("{")


def test_cli_search_writes_a_scheme_and_report(tmp_path, task):
    x, y = task
    np.savez(tmp_path / "task.npz", x=x, y=y)
    out, report = tmp_path / "s.json", tmp_path / "r.json"
    r = CliRunner().invoke(cli, ["search", str(DEMO_MODEL), "--data", str(tmp_path / "task.npz"),
                                 "--sram-budget", str(40 * 1024), "--lr", "0.03",
                                 "-o", str(out), "--report", str(report)],
                           env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert r.exit_code == 0, r.output
    assert "predicted held-out accuracy" in r.output
    scheme_from_json(out.read_text())
    assert json.loads(report.read_text())["budget_bytes"] == 40 * 1024
