"""bench.fuzz's bookkeeping: what ended a run, and that a target which cannot run is reported."""
from __future__ import annotations

import json

from bench import fuzz


def test_classify_names_what_ended_the_run():
    assert fuzz.classify("==1== ERROR: libFuzzer: timeout after 61 seconds") == "hang"
    assert fuzz.classify("==1== ERROR: libFuzzer: out-of-memory (used: 2100Mb)") == "oom"
    assert fuzz.classify("x.cc:3:5: runtime error: signed integer overflow") == "sanitizer"
    assert fuzz.classify("==1==ERROR: AddressSanitizer: heap-buffer-overflow") == "sanitizer"
    assert fuzz.classify(" === Uncaught Python exception: ===\nKeyError") == "crash"
    assert fuzz.classify("Done 1000 runs in 3 second(s)") is None


def test_summary_counts_executions_and_the_finding():
    log = ("#4096\tpulse  cov: 120 ft: 300 corp: 40/2Kb exec/s: 1000 rss: 50Mb\n"
           "==1== ERROR: libFuzzer: deadly signal\n"
           "Test unit written to build/fuzz/artifacts/session-crash-abc\n"
           "stat::number_of_executed_units: 5000\nstat::new_units_added: 7\n")
    r = fuzz.summarize("session", log, 1, 10.0, 5.0, ["session_fuzz"])
    assert (r["executions"], r["crashes"], r["hangs"], r["coverage_edges"]) == (5000, 1, 0, 120)
    assert r["exec_per_cpu_second"] == 1000.0
    assert r["artifacts"] == ["build/fuzz/artifacts/session-crash-abc"]


def test_a_target_that_cannot_run_is_reported_as_skipped(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fuzz, "atheris_available", lambda: False)
    ran = {}

    def run_targets(names, seconds, workers, seed):
        ran["names"] = names
        return {n: fuzz.summarize(n, "stat::number_of_executed_units: 10\n", 0, 1.0, 1.0, [n])
                for n in names}

    monkeypatch.setattr(fuzz, "run_targets", run_targets)
    out = tmp_path / "fuzz.json"
    assert fuzz.main(["--seconds", "1", "--no-build", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert "converter" not in ran["names"]
    assert "atheris" in doc["skipped_targets"]["converter"]
    assert doc["totals"]["executions"] == 10 * len(fuzz.NATIVE_TARGETS)
    assert "converter: SKIPPED" in capsys.readouterr().out
