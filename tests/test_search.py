"""tflm_train.search (tflm_train/scheme_search): budget errors, determinism, the contribution cache, the scheme file, and
that the chosen scheme really fits (its arena from a real conversion)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import tflm_train
from tflm_train.cli import main as cli
from tflm_train.converter.errors import ConversionError
from tflm_train.converter.scheme_json import scheme_from_json, scheme_to_json
from tflm_train.data import DEMO_MODEL
from tflm_train.data.loaders import load_sklearn_digits
from tflm_train.data.splits import fold_indices, fold_splits
from tflm_train.budget import sram_needed
from tflm_train.scheme_search import Evolution, contribution, search
from tflm_train.scheme_search.memory import SchemeMemory

DEMO = DEMO_MODEL.read_bytes()
ROOT = Path(__file__).resolve().parents[1]
SMALL = Evolution(population=8, generations=4, parents=3, seed=0)


@pytest.fixture(scope="module")
def task():
    x, y = load_sklearn_digits()
    keep = np.random.default_rng(7).permutation(len(x))[:160]
    return x[keep], y[keep]


def run(task, tmp_path, budget=48 * 1024, **kw):
    kw.setdefault("cache_dir", tmp_path / "cache")
    return search(DEMO, *task, sram_budget=budget, seed=0, learning_rate=0.03, workers=1,
                  progress=False, evolution=SMALL, **kw)


def test_budget_too_small_names_the_numbers(task, tmp_path):
    with pytest.raises(tflm_train.BudgetError, match=r"no scheme fits 1000 B .* needs \d+ B "
                                                     r"\(\d+ B arena \+ \d+ B session storage"):
        run(task, tmp_path, budget=1000)
    with pytest.raises(ValueError, match="board= .* or sram_budget="):
        search(DEMO, *task, progress=False)


def test_chosen_scheme_fits_and_is_deterministic(task, tmp_path):
    budget = 40 * 1024
    a = run(task, tmp_path, budget=budget, board="nano33ble")
    b = run(task, tmp_path / "other", budget=budget, board="nano33ble")
    assert a.scheme == b.scheme
    assert a.report["trace"] == b.report["trace"]
    assert a.report["joint_check"] == b.report["joint_check"]
    assert a.report["chosen"] == b.report["chosen"]
    # The search's count is convert()'s whole count for the board.
    extended = tflm_train.convert(DEMO, a.scheme, board="nano33ble", sram_budget=budget)
    assert sram_needed(extended, "nano33ble")["total"] == a.report["chosen"]["sram_bytes"] <= budget
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
    run(task, tmp_path, budget=40 * 1024)


def test_the_cache_separates_data_and_settings(task, tmp_path):
    x, y = task
    cache = contribution.ContributionCache(tmp_path)
    tune = contribution.FineTune(0.03)
    key = contribution.data_digest(DEMO, x, y, x, y)
    cache.put(key, tune, "bias1", 0.5)
    assert cache.get(key, tune, "bias1") == 0.5
    assert cache.get(key, contribution.FineTune(0.1), "bias1") is None
    assert cache.get(contribution.data_digest(DEMO, x, y[::-1], x, y), tune, "bias1") is None
    # the joint check's further seeds are other entries; the first seed keeps the old key
    other = contribution.FineTune(0.03, trainer_seed=1)
    assert cache.get(key, other, "bias1") is None
    cache.put(key, other, "bias1", 0.25)
    assert cache.get(key, other, "bias1") == 0.25 and cache.get(key, tune, "bias1") == 0.5
    assert cache._path(key, tune, "bias1") == cache._path(
        key, contribution.FineTune(0.03, trainer_seed=None), "bias1")


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


@pytest.mark.forks  # the CLI's default: a worker per core
def test_cli_search_writes_a_scheme_and_report(tmp_path, task):
    x, y = task
    np.savez(tmp_path / "task.npz", x=x, y=y)
    out, report = tmp_path / "s.json", tmp_path / "r.json"
    r = CliRunner().invoke(cli, ["search", str(DEMO_MODEL), "--data", str(tmp_path / "task.npz"),
                                 "--sram-budget", str(48 * 1024), "--lr", "0.03",
                                 "--train-epochs", "2", "--joint-seeds", "1",
                                 "-o", str(out), "--report", str(report)],
                           env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert r.exit_code == 0, r.output
    assert "predicted held-out accuracy" in r.output and "at learning rate" in r.output
    scheme_from_json(out.read_text())
    written = json.loads(report.read_text())
    assert written["budget_bytes"] == 48 * 1024 and written["train_epochs"] == 2
    assert written["joint_seeds"] == 1 and written["joint_folds"] == 3
    assert "3-fold cross-validation, mean of 1 seed)" in r.output
    assert json.loads(out.read_text())["notes"]["learning_rate"] == \
        written["chosen"]["learning_rate"] in (0.003, 0.01, 0.03, 0.1)


def test_new_head_is_trained_in_every_scheme(task, tmp_path):
    x, y = task
    five = (x[y < 5], y[y < 5])  # a 5-class task for a new 5-way head
    result = run(five, tmp_path, num_classes=5, budget=48 * 1024)
    assert result.scheme.weights[4] == 1.0  # the demo's fifth and last layer: the new head
    assert not any(c["kind"] == "weight" and c["layer"] == 4 for c in result.report["candidates"])
    tr = tflm_train.Trainer(tflm_train.convert(DEMO, result.scheme, num_classes=5), seed=0)
    assert tr.num_classes == 5


# ---- item 4: the frozen prefix computed once; several budgets share one analysis ------------

@pytest.mark.parametrize("scheme, head", [
    (tflm_train.SparseUpdate(n_bias=2), None),
    (tflm_train.SparseUpdate(n_bias=1, weights={1: 0.5}), None),
    (tflm_train.SparseUpdate(n_bias=3, weights={-1: 1.0}), 5),
])
def test_the_suffix_trains_the_same_bytes_as_the_whole_model(task, scheme, head):
    from tflm_train.scheme_search.prefix import FrozenPrefix

    x, y = task
    y = y % 5 if head else y
    frozen = FrozenPrefix(DEMO, x[:60], x[60:100])
    layer = frozen.layer_of(scheme, head is not None)
    assert layer is not None and layer > 0  # the demo is a chain: every layer above 0 cuts

    def fit(model, s, xt, xv):
        tr = tflm_train.Trainer(tflm_train.convert(model, s, num_classes=head, seed=0),
                                learning_rate=0.05, seed=3)
        tr.fit(xt, y[:60], progress=False)
        return tr.predict(xv), list(tr.trained_tensors().values())

    whole = fit(DEMO, scheme, x[:60], x[60:100])
    part = fit(frozen.suffix(layer), frozen.suffix_scheme(scheme, layer),
               *frozen.features(layer))
    assert np.array_equal(whole[0], part[0])
    assert [bytes(a) for a in whole[1]] == [bytes(b) for b in part[1]]


def test_prefix_path_measures_what_the_whole_model_does(task, tmp_path):
    fast = run(task, tmp_path / "a", prefix=True)
    whole = run(task, tmp_path / "b", prefix=False)
    assert [c["accuracy"] for c in fast.report["candidates"]] == \
        [c["accuracy"] for c in whole.report["candidates"]]
    assert fast.scheme == whole.scheme


def test_budgets_share_one_contribution_analysis(task, tmp_path, monkeypatch):
    calls = []
    real = contribution.accuracy

    def counted(*args, **kw):
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(contribution, "accuracy", counted)
    budgets = [32 * 1024, 48 * 1024]
    both = run(task, tmp_path, budget=budgets)
    shared = len(calls)
    assert [r.report["budget_bytes"] for r in both] == budgets
    assert both[0].report["timing"]["shared"] == both[1].report["timing"]["shared"]
    # alone, the larger budget finds the same scheme and needs no new fine-tune
    alone = run(task, tmp_path, budget=budgets[1])
    assert alone.scheme == both[1].scheme and len(calls) == shared
    for r in both:
        t = r.report["timing"]
        assert {"evolution_seconds", "evolution_cpu_seconds", "evolution_plan_cpu_seconds"
                } <= set(t)
    # CPU per phase; the joint check runs once for both budgets
    cpu = both[0].report["timing"]["shared"]["cpu_seconds"]
    phases = ("setup", "candidate_plans", "learning_rate", "contribution", "structured_plans",
              "evolution", "joint_check")
    assert set(cpu) == {*phases, "total"}
    assert all(cpu[k] >= 0 for k in phases) and cpu["contribution"] > 0
    assert abs(sum(cpu[k] for k in phases) - cpu["total"]) < 0.1
    assert cpu["evolution"] == round(sum(r.report["timing"]["evolution_cpu_seconds"]
                                         for r in both), 2)


def test_the_joint_check_returns_the_best_trained_finalist(task, tmp_path):
    result = run(task, tmp_path, budget=48 * 1024, joint_check=3)
    checked = result.report["joint_check"]
    evolved = [c for c in checked if c["source"].startswith("evolution")]
    assert 1 <= len(evolved) <= 3
    best = max(c["held_out_accuracy"] for c in checked)
    chosen = result.report["chosen"]
    assert chosen["held_out_accuracy"] == best
    assert all(c["sram_bytes"] <= 48 * 1024 for c in checked)
    # the evolution's best predicted point is always among the finalists
    top = max(p["predicted_gain"] for p in result.report["trace"])
    assert checked[0]["predicted_gain"] == top
    # every structured family that fits is checked, each finalist trains something different
    families = {f for c in checked for f in c["source"].split("=")}
    assert {"bias_only", "last_layer", "last_n_full"} <= families
    memory = SchemeMemory(DEMO, None)
    idents = [memory.identity(c["n_bias"], tuple(c["ratios"])) for c in checked]
    assert None not in idents and len(set(idents)) == len(idents)
    unchecked = run(task, tmp_path, budget=48 * 1024, joint_check=0)
    assert unchecked.report["joint_check"] == [] and \
        unchecked.report["chosen"]["predicted_gain"] == top
    assert unchecked.report["chosen"]["learning_rate"] is None


def test_the_joint_check_trains_like_the_users_training(task, tmp_path):
    """Each finalist trains on every fold's training part (not fine_tune_samples of it), for
    train_epochs, at each rate of the grid around the search's; its score is the accuracy over
    every held-out sample of the folds, and the chosen scheme comes with the rate it trained
    best at: what that training gives, retrained here by hand on the whole model."""
    from tflm_train.scheme_search import joint_rates, lower_rate

    assert joint_rates(0.03) == (0.01, 0.03, 0.1) and joint_rates(0.1) == (0.01, 0.03, 0.1)
    assert joint_rates(0.003) == (0.003, 0.01, 0.03)
    assert lower_rate(0.003) == 0.001 and lower_rate(0.01) == 0.003 and \
        lower_rate(0.02 / 3) == 0.003
    assert joint_rates(0.02) == pytest.approx((0.02 / 3, 0.02, 0.06))
    result = run(task, tmp_path, budget=40 * 1024, joint_check=2, fine_tune_samples=40,
                 train_epochs=2)
    r = result.report
    x, y = task
    parts = fold_indices(y, 3, 0)
    assert r["samples"]["train"] == 40 and r["joint_folds"] == 3 and r["joint_seeds"] == 1
    assert r["samples"]["joint_check_held_out"] == [len(p) for p in parts]
    assert r["samples"]["joint_check_train"] == [len(y) - len(p) for p in parts]
    shared = r["timing"]["shared"]
    assert r["train_epochs"] == 2 and shared["joint_learning_rates"] == [0.01, 0.03, 0.1]
    assert shared["joint_lower_rate"] == 0.003
    extended = 0
    for c in r["joint_check"]:
        rates, folds = c["held_out_by_learning_rate"], c["held_out_by_fold"]
        grid = {lr: rates[lr] for lr in ("0.01", "0.03", "0.1")}
        # trained one rate lower exactly when the grid's lowest rate was its best (ties: lower)
        at_edge = max(grid, key=lambda lr: (grid[lr], -float(lr))) == "0.01"
        assert set(rates) == set(folds) == set(grid) | ({"0.003"} if at_edge else set())
        extended += at_edge
        # the score weighs each fold by its held-out samples: every sample counts once
        assert all(len(a) == 3 and rates[lr] == pytest.approx(
            sum(acc * len(p) for acc, p in zip(a, parts)) / len(y)) for lr, a in folds.items())
        assert c["held_out_accuracy"] == max(rates.values())
        assert rates[f"{c['learning_rate']:g}"] == c["held_out_accuracy"]
    assert 0 < extended == shared["joint_lower_rate_finalists"] <= len(r["joint_check"])
    assert shared["joint_check_fine_tunes"] == (len(r["joint_check"]) * 3 + extended) * 3
    chosen = r["chosen"]
    assert chosen["learning_rate"] in (0.003, 0.01, 0.03, 0.1)
    # the same training by hand, on the whole model: each fold held out once, the others trained
    by_hand = []
    for f, held in enumerate(parts):
        rest = np.concatenate([p for j, p in enumerate(parts) if j != f])  # (by hand)
        trainer = tflm_train.Trainer(tflm_train.convert(DEMO, result.scheme),
                                     learning_rate=chosen["learning_rate"], seed=0)
        trainer.fit(x[rest], y[rest], epochs=2, progress=False)
        by_hand.append(trainer.evaluate(x[held], y[held])["accuracy"])
    picked = next(c for c in r["joint_check"] if c["sram_bytes"] == chosen["sram_bytes"] and
                  c["held_out_accuracy"] == chosen["held_out_accuracy"])
    assert picked["held_out_by_fold"][f"{chosen['learning_rate']:g}"] == by_hand
    assert len(set(by_hand)) > 1  # the folds really are different trainings
    assert chosen["held_out_accuracy"] == pytest.approx(
        sum(a * len(p) for a, p in zip(by_hand, parts)) / len(y))


def test_folds_are_disjoint_stratified_and_cover_the_data():

    y = np.repeat(np.arange(4), [10, 7, 5, 3])
    parts = fold_indices(y, 3, seed=5)
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(y)))  # disjoint, covering
    assert sorted(len(p) for p in parts) == [8, 8, 9]  # sizes differ by at most one
    for c, n in zip(range(4), (10, 7, 5, 3)):  # each class dealt evenly
        counts = [int(np.sum(y[p] == c)) for p in parts]
        assert max(counts) - min(counts) <= 1 and sum(counts) == n
    for f, (train, held) in enumerate(fold_splits(y, 3, seed=5)):  # the others train
        assert np.array_equal(held, parts[f]) and sorted(np.concatenate([train, held]).tolist()) \
            == list(range(len(y)))
    again = fold_indices(y, 3, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    assert not all(np.array_equal(a, b) for a, b in zip(parts, fold_indices(y, 3, seed=6)))
    for bad in (1, 0, len(y) + 1, 2.0, True):
        with pytest.raises(ValueError, match="folds="):
            fold_indices(y, bad)


def test_the_joint_check_folds_are_cached_apart(task, tmp_path):
    """Another fold count trains again (other data, other names); a rerun trains nothing."""
    with pytest.raises(ValueError, match="joint_folds=0"):
        run(task, tmp_path, budget=40 * 1024, joint_folds=0)
    with pytest.raises(ValueError, match="joint_folds=100: more folds than the samples"):
        run(task, tmp_path, budget=40 * 1024, joint_folds=100)
    three = run(task, tmp_path, budget=40 * 1024, joint_check=2).report["timing"]["shared"]
    assert three["joint_check_fine_tunes_run"] == three["joint_check_fine_tunes"] > 0
    two = run(task, tmp_path, budget=40 * 1024, joint_check=2, joint_folds=2)
    shared = two.report["timing"]["shared"]
    assert shared["joint_folds"] == 2 and two.report["samples"]["joint_check_held_out"] == \
        [len(p) for p in fold_indices(task[1], 2, 0)]
    assert shared["joint_check_fine_tunes_run"] == shared["joint_check_fine_tunes"] > 0
    again = run(task, tmp_path, budget=40 * 1024, joint_check=2).report["timing"]["shared"]
    assert again["joint_check_fine_tunes_run"] == 0


def test_the_joint_check_ranks_by_the_mean_over_seeds(task, tmp_path):
    """One seed (joint_seeds=1) is the first seed of two: the same trainings, scored alone;
    two seeds rank by their mean and can choose differently."""
    with pytest.raises(ValueError, match="joint_seeds=0"):
        run(task, tmp_path, budget=40 * 1024, joint_seeds=0)
    # (one split, the rule before the folds: training seeds are its only repetition; a grid
    # given: no finalist trains at a lower rate, which seeds could decide differently)
    grid = dict(joint_check=3, joint_folds=1, joint_learning_rates=(0.01, 0.03, 0.1))
    two = run(task, tmp_path, budget=40 * 1024, joint_seeds=2, **grid).report
    one = run(task, tmp_path, budget=40 * 1024, **grid).report
    assert two["timing"]["shared"]["joint_lower_rate"] is None
    assert one["joint_seeds"] == 1 and len(one["joint_check"]) == len(two["joint_check"])
    for a, b in zip(one["joint_check"], two["joint_check"]):
        assert (a["n_bias"], a["ratios"]) == (b["n_bias"], b["ratios"])
        assert {lr: [s[0]] for lr, s in b["held_out_by_seed"].items()} == a["held_out_by_seed"]
    # the seeds really differ somewhere (a second seed that repeated the first would add
    # nothing)
    assert any(s[0] != s[1] for c in two["joint_check"] for s in c["held_out_by_seed"].values())
    best = max(two["joint_check"], key=lambda c: c["held_out_accuracy"])
    assert two["chosen"]["held_out_accuracy"] == best["held_out_accuracy"]


def test_finalists_spread_over_the_front():
    from tflm_train.scheme_search.evolution import SearchTrace, finalists

    trace = SearchTrace()
    for i, (gain, sram) in enumerate([(0.1, 10), (0.05, 20), (0.2, 30), (0.3, 40), (0.25, 50),
                                      (0.4, 60)]):
        trace.add(0, (i, (0.0,)), sram, gain)
    # front by SRAM: points 0, 2, 3, 5 (1 and 4 have less gain than a cheaper point)
    assert finalists(trace, 1) == [(5, (0.0,))]
    assert finalists(trace, 3) == [(5, (0.0,)), (3, (0.0,)), (0, (0.0,))]
    assert finalists(trace, 9) == [(5, (0.0,)), (0, (0.0,)), (2, (0.0,)), (3, (0.0,))]


def test_finalists_are_distinct_schemes_that_train_something():
    from tflm_train.scheme_search.evolution import SearchTrace, finalists

    memory = SchemeMemory(DEMO, None)
    zeros = (0.0,) * 5
    last = (0.0, 0.0, 0.0, 0.0, 1.0)
    trace = SearchTrace()
    # (0, last), (1, last) and (2, last) train the same thing: the last layer and its bias
    # (n_bias 2 adds layer 3's bias: a different scheme); (0, zeros) trains nothing.
    for point, gain, sram in [((0, zeros), 0.0, 1), ((1, zeros), 0.05, 2), ((0, last), 0.3, 9),
                              ((1, last), 0.3, 9), ((2, last), 0.35, 10), ((1, (0.0, 0.0, 0.0,
                              0.5, 0.0)), 0.2, 5)]:
        trace.add(0, point, sram, gain)
    picked = finalists(trace, 9, lambda p: memory.identity(*p))
    assert picked == [(2, last), (1, zeros), (1, (0.0, 0.0, 0.0, 0.5, 0.0)), (0, last)]
    assert memory.identity(0, last) == memory.identity(1, last) != memory.identity(2, last)
    assert memory.identity(0, zeros) is None


# ---- item 4 of the acceptance: a searched person_detect scheme really fits, in QEMU ----------

@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bazel") is None or shutil.which("qemu-system-arm") is None,
                    reason="needs bazel and qemu-system-arm")
def test_a_searched_person_detect_scheme_fits_its_budget_in_qemu():
    from bench import search_qemu
    from tests.shared_models import tflm_examples_dir

    doc = json.loads((ROOT / "bench" / "results" / "search.json").read_text())
    task = doc["models"]["person_detect"]["tasks"]["fashion96"]
    row = task["rows"][0]  # the smallest budget
    chosen = row["search"]["chosen"]
    scheme = tflm_train.SparseUpdate(n_bias=chosen["n_bias"], weights={
        int(k): v for k, v in chosen["weights"].items()})
    base = (tflm_examples_dir() / "person_detect.tflite").read_bytes()
    name = "test_person_detect"
    search_qemu.write_inputs(name, base, scheme, doc["board"], row["budget_bytes"],
                             task["num_classes"])
    try:
        got = search_qemu.measure({name: row["budget_bytes"]}, doc["board"])[name]
    finally:
        for suffix in (".tflite", ".steps"):
            (search_qemu.MODELS_DIR / (name + suffix)).unlink()
    assert "error" not in got, got
    assert got["losses_equal_host"]
    assert got["measured_bytes"] <= row["budget_bytes"], got
    # the arena the step wrote is the plan, and the search counted at least what was measured
    assert got["measured_parts"]["arena_high_water"] <= got["planned_arena_bytes"]
    assert got["measured_bytes"] <= chosen["sram_bytes"]


# ---- item 4, speed: a bound that needs no plan; repairs planned on workers ------------------

def test_the_lower_bound_never_exceeds_the_plan():
    from tflm_train.scheme_search.evolution import LEVELS

    for head in (None, 5):
        memory = SchemeMemory(DEMO, "nano33ble", num_classes=head)
        rng = np.random.default_rng(3)
        n = len(memory.graph.trainable_ops())
        checked = 0
        for _ in range(30):
            ratios = tuple(float(LEVELS[rng.integers(0, len(LEVELS))]) for _ in range(n))
            point = (int(rng.integers(0, n + 1)), ratios)
            sram = memory.sram(*point)
            if sram is not None:
                assert 0 < memory.lower_bound(*point) <= sram, point
                checked += 1
        assert checked >= 20
    # a point the bound rejects is never planned
    fresh = SchemeMemory(DEMO, "nano33ble")
    every = (5, (1.0,) * 5)
    assert not fresh.fits(*every, fresh.lower_bound(*every) - 1)
    assert fresh.plans == 0 and fresh.bound_rejections == 1
    assert fresh.lower_bound(0, (0.0,) * 5) == 0  # trains nothing


@pytest.mark.forks
def test_parallel_repairs_give_the_serial_search(task, tmp_path):
    one = run(task, tmp_path, budget=[24 * 1024, 40 * 1024], joint_check=0)
    two = search(DEMO, *task, sram_budget=[24 * 1024, 40 * 1024], seed=0, learning_rate=0.03,
                 workers=2, progress=False, evolution=SMALL, cache_dir=tmp_path / "cache",
                 joint_check=0)
    for a, b in zip(one, two):
        assert a.report["trace"] == b.report["trace"] and a.scheme == b.scheme
        assert a.report["timing"]["evolution_plans"] == b.report["timing"]["evolution_plans"]
