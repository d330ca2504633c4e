"""scripts/quietly.sh (used by install.sh): a step's noise stays out of the output, and a
failure still shows its real error."""
import shlex
import subprocess
from pathlib import Path

QUIETLY = Path(__file__).resolve().parents[1] / "scripts" / "quietly.sh"
NOISY = ("for i in $(seq 300); do "
         "echo \"1796573196.74$i: src/main/tools/linux-sandbox-pid1.cc:291: remount ro: /dev\"; done; "
         "echo \"WARNING: Location 'file:///opt/x/simple/wrapt/' is ignored: it is neither a file "
         "nor a directory.\"; echo compiled foo.cc")


def _run(tmp_path, command: str):
    step = tmp_path / "step.sh"  # a file, so the FAILED line (which names the command) is short
    step.write_text(command + "\n")
    script = f"source {QUIETLY}\nquietly step bash {shlex.quote(str(step))}\necho after"
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          env={"LOG_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"})


def test_success_prints_nothing(tmp_path):
    run = _run(tmp_path, NOISY)
    assert run.returncode == 0 and run.stdout == "after\n" and run.stderr == ""


def test_failure_shows_the_real_error_without_the_noise(tmp_path):
    run = _run(tmp_path, NOISY + "; echo 'ERROR: foo.cc:3: expected ;' >&2; exit 3")
    assert run.returncode == 1 and "after" not in run.stdout
    assert "ERROR: foo.cc:3: expected ;" in run.stderr and "compiled foo.cc" in run.stderr
    assert "linux-sandbox" not in run.stderr and "is ignored" not in run.stderr
    assert "FAILED" in run.stderr and str(tmp_path / "step.log") in run.stderr
