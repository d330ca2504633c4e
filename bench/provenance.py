"""What every bench JSON starts with: which bench, the command, when, at which commit, and which
of the sources it measured differed from that commit (the working tree is what ran)."""
from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def provenance(bench: str, argv: list[str] | None, sources: list[str]) -> dict:
    """The header fields, in order: bench, command, date_utc, git_commit,
    uncommitted_source_changes (`git status --porcelain` of `sources`), machine (the CPU the
    numbers were measured on: sessions run on different machines)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    return {
        "bench": bench,
        "command": f"python -m bench.{bench} " + " ".join(argv if argv is not None
                                                          else sys.argv[1:]),
        "date_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": git("rev-parse", "--short", "HEAD").strip(),
        "uncommitted_source_changes": git("status", "--porcelain", "--", *sources).splitlines(),
        "machine": {"cpu": _cpu_model(), "cores": os.cpu_count(), "arch": platform.machine()},
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
