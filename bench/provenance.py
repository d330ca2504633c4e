"""What every bench JSON starts with: which bench, the command, when, at which commit, and which
of the sources it measured differed from that commit (the working tree is what ran)."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def provenance(bench: str, argv: list[str] | None, sources: list[str]) -> dict:
    """The header fields, in order: bench, command, date_utc, git_commit,
    uncommitted_source_changes (`git status --porcelain` of `sources`)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    return {
        "bench": bench,
        "command": f"python -m bench.{bench} " + " ".join(argv if argv is not None
                                                          else sys.argv[1:]),
        "date_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": git("rev-parse", "--short", "HEAD").strip(),
        "uncommitted_source_changes": git("status", "--porcelain", "--", *sources).splitlines(),
    }
