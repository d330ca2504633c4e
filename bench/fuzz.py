"""Fuzz bench (issue 15): every fuzz target for a time budget -> bench/results/fuzz.json.

    .venv/bin/python -m bench.fuzz --seconds 600            # all targets, both cores, 10 minutes

Targets (fuzz/README.md): the C++ libFuzzer targets model_reader, program_reader, session and
checkpoint_restore (built by fuzz/build.sh with ASan + UBSan + float-cast-overflow) and, if
atheris is installed, the converter. All run at once for the whole --seconds of wall time, so
the machine's cores are shared between them by the OS (--workers N runs at most N at a time
instead, each for its share of N x seconds). Each keeps its corpus in build/fuzz/corpus/<target>
(grown across runs, seeded from fuzz/corpus/<target>) and writes a crashing, hanging or
out-of-memory input to build/fuzz/artifacts/. A target stops at its first finding.

Recorded per target: executions, wall and CPU seconds, executions per CPU second (what to plan a
long run with), coverage (libFuzzer's `cov` = instrumented edges reached, `ft` = features),
corpus size, and crashes / hangs / out-of-memory / sanitizer reports with their inputs.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.provenance import provenance

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "fuzz.json"
BUILD = ROOT / "build" / "fuzz"
NATIVE_TARGETS = ("model_reader", "program_reader", "session", "checkpoint_restore")
CONVERTER = "converter"
# One input running longer than this (wall clock, as libFuzzer measures it) is a hang. The
# converter's planner is linear in tensor rows, and a mutated shape of millions of rows takes a
# few CPU seconds: not a hang, but 10 s of wall time on a loaded machine.
HANG_SECONDS = {"converter": 60}
DEFAULT_HANG_SECONDS = 10
RSS_LIMIT_MB = 2048


def atheris_available() -> bool:
    return subprocess.run([sys.executable, "-c", "import atheris"], capture_output=True,
                          cwd=ROOT).returncode == 0


def target_command(name: str, seconds: int | None, runs: int | None, seed: int) -> list[str]:
    """The libFuzzer command line of one target (its working corpus first: new inputs go
    there; the checked-in seeds second, read only)."""
    if name == CONVERTER:
        exe = [sys.executable, str(ROOT / "fuzz" / "converter_fuzz.py")]
    else:
        exe = [str(BUILD / f"{name}_fuzz")]
    limits = [f"-max_total_time={seconds}"] if seconds is not None else [f"-runs={runs}"]
    hang = HANG_SECONDS.get(name, DEFAULT_HANG_SECONDS)
    return [*exe, *limits, f"-seed={seed}", f"-timeout={hang}",
            f"-rss_limit_mb={RSS_LIMIT_MB}", "-print_final_stats=1",
            f"-artifact_prefix={BUILD / 'artifacts' / name}-",
            str(BUILD / "corpus" / name), str(ROOT / "fuzz" / "corpus" / name)]


_STAT = re.compile(r"^stat::(\w+):\s+(\d+)", re.M)
_STATUS_LINE = re.compile(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/", re.M)
_ARTIFACT = re.compile(r"Test unit written to (\S+)")


def classify(log: str) -> str | None:
    """What ended a run early: hang, oom, sanitizer or crash (None: ran to its limit)."""
    if "ERROR: libFuzzer: timeout" in log:
        return "hang"
    if "out-of-memory" in log or "ERROR: libFuzzer: out-of-memory" in log:
        return "oom"
    if re.search(r"ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer)", log) or \
            "runtime error:" in log:
        return "sanitizer"
    if "ERROR: libFuzzer" in log or "Uncaught Python exception" in log:
        return "crash"
    return None


def summarize(name: str, log: str, returncode: int, wall: float, cpu: float,
              command: list[str]) -> dict:
    stats = {k: int(v) for k, v in _STAT.findall(log)}
    status = _STATUS_LINE.findall(log)
    execs = stats.get("number_of_executed_units", int(status[-1][0]) if status else 0)
    finding = classify(log) if returncode != 0 else None
    if returncode != 0 and finding is None:
        finding = "crash"  # exited abnormally without libFuzzer's own report
    return {
        "executions": execs,
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "exec_per_cpu_second": round(execs / cpu, 1) if cpu > 0 else None,
        "exec_per_wall_second": round(execs / wall, 1) if wall > 0 else None,
        "coverage_edges": int(status[-1][1]) if status else None,
        "features": int(status[-1][2]) if status else None,
        "corpus_units": int(status[-1][3]) if status else None,
        "new_units": stats.get("new_units_added"),
        "peak_rss_mb": stats.get("peak_rss_mb"),
        "slowest_unit_seconds": stats.get("slowest_unit_time_sec"),
        "crashes": int(finding == "crash"),
        "hangs": int(finding == "hang"),
        "out_of_memory": int(finding == "oom"),
        "sanitizer_reports": int(finding == "sanitizer"),
        "artifacts": [str(Path(p).relative_to(ROOT)) if Path(p).is_absolute() else p
                      for p in _ARTIFACT.findall(log)],
        "returncode": returncode,
        "command": " ".join(str(Path(c).relative_to(ROOT)) if c.startswith(str(ROOT)) else c
                            for c in command),
    }


def run_targets(names: list[str], seconds: int, workers: int, seed: int) -> dict:
    """Runs the targets, at most `workers` at once, each for its share of the budget."""
    per_target = seconds if workers >= len(names) else max(1, seconds * workers // len(names))
    (BUILD / "artifacts").mkdir(parents=True, exist_ok=True)
    pending = list(names)
    running: dict[int, tuple] = {}
    results: dict = {}
    logs = BUILD / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    while pending or running:
        while pending and len(running) < workers:
            name = pending.pop(0)
            (BUILD / "corpus" / name).mkdir(parents=True, exist_ok=True)
            command = target_command(name, per_target, None, seed)
            log = (logs / f"{name}.log").open("w")
            proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                    env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            running[proc.pid] = (name, proc, log, time.monotonic(), command)
            print(f"[fuzz] {name}: {per_target} s", flush=True)
        pid, status, usage = os.wait4(-1, 0)
        if pid not in running:
            continue
        name, proc, log, start, command = running.pop(pid)
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.close()
        text = (logs / f"{name}.log").read_text(errors="replace")
        results[name] = summarize(name, text, proc.returncode, time.monotonic() - start,
                                  usage.ru_utime + usage.ru_stime, command)
        r = results[name]
        print(f"[fuzz] {name}: {r['executions']} executions, {r['exec_per_cpu_second']}/CPU s, "
              f"cov {r['coverage_edges']}, findings "
              f"{r['crashes'] + r['hangs'] + r['out_of_memory'] + r['sanitizer_reports']}"
              + (f" -> {r['artifacts']}" if r["artifacts"] else ""), flush=True)
    return results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=int, required=True, help="wall-clock budget of the run")
    p.add_argument("--workers", type=int, default=0,
                   help="targets run at once (default: all; the OS shares the cores)")
    p.add_argument("--targets", nargs="*", default=None,
                   help=f"default: {', '.join(NATIVE_TARGETS)} and {CONVERTER} if atheris is "
                        "installed")
    p.add_argument("--seed", type=int, default=1, help="libFuzzer -seed of every target")
    p.add_argument("--no-build", action="store_true", help="use the targets already built")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    if args.seconds < 1:
        p.error("--seconds must be at least 1")
    has_atheris = atheris_available()
    names = args.targets or [*NATIVE_TARGETS, *([CONVERTER] if has_atheris else [])]
    unknown = [n for n in names if n not in (*NATIVE_TARGETS, CONVERTER)]
    if unknown:
        p.error(f"unknown target(s) {unknown}; known: {[*NATIVE_TARGETS, CONVERTER]}")
    if CONVERTER in names and not has_atheris:
        p.error("the converter target needs atheris (requirements.txt; scripts/install.sh)")
    if not args.no_build and any(n != CONVERTER for n in names):
        print("[fuzz] building the targets (fuzz/build.sh)", flush=True)
        subprocess.run([str(ROOT / "fuzz" / "build.sh")], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    # A target that cannot run is reported, never silently left out of the totals.
    skipped = {} if has_atheris else {CONVERTER: "atheris is not installed (scripts/install.sh)"}
    for name, why in skipped.items():
        print(f"[fuzz] {name}: SKIPPED, {why}", flush=True)
    workers = args.workers if args.workers > 0 else len(names)
    results = run_targets(names, args.seconds, workers, args.seed)
    keys = ("executions", "crashes", "hangs", "out_of_memory", "sanitizer_reports")
    totals = {k: sum(r[k] for r in results.values()) for k in keys}
    doc = {
        **provenance("fuzz", argv, ["kernels", "tflm_train/runtime", "converter", "fuzz"]),
        "seconds": args.seconds,
        "workers": workers,
        "cpus": os.cpu_count(),
        "seed": args.seed,
        "clang": subprocess.run(["clang", "--version"], capture_output=True,
                                text=True).stdout.splitlines()[0] if shutil.which("clang")
        else None,
        "notes": [
            "C++ targets: clang -fsanitize=fuzzer,address,undefined,float-cast-overflow "
            "-fno-sanitize-recover=all -O1 (fuzz/build.sh); any sanitizer report ends the run",
            "converter: atheris over tflm_train.convert; any exception outside the "
            "ConversionError family is a crash",
            "exec_per_cpu_second is the rate to plan with: the targets share the cores, so "
            "wall-second rates depend on how many ran at once and on the machine's load",
            "coverage_edges: libFuzzer `cov` (instrumented edges reached, cumulative over the "
            "working corpus); not comparable between targets",
            "a target stops at its first crash / hang / OOM / sanitizer report: its input is "
            "in artifacts; hang = one input over 10 s of wall time (converter: 60 s, its "
            "planner takes seconds on mutated shapes of millions of rows)",
        ],
        "totals": totals,
        "targets": results,
        "skipped_targets": skipped,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"[fuzz] total {totals['executions']} executions; crashes {totals['crashes']}, hangs "
          f"{totals['hangs']}, OOM {totals['out_of_memory']}, sanitizer reports "
          f"{totals['sanitizer_reports']}"
          + (f"; skipped: {', '.join(skipped)}" if skipped else "") + f"; wrote {args.out}")
    return 0 if sum(totals[k] for k in keys[1:]) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
