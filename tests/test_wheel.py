"""`pip install .` (not editable) gives a package that runs the demo from any directory: the
host library and the demo model are in the wheel, nothing is read from the source tree. The
venv is created without pip and sees the project venv's third-party packages through a .pth
line (no download); that line does not process the project venv's .pth files, so its editable
install of this repository stays invisible, and the test checks every module and file comes
from the installed wheel."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = Path("tflm_train") / "_lib" / "libtflm_train.so"


def _source_copy(dest: Path, with_library: bool = True) -> Path:
    """What `pip install .` reads, copied so setuptools' build/ leftovers in the tree play no
    part."""
    dest.mkdir()
    for name in ("pyproject.toml", "setup.py"):
        shutil.copy(ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "runtime", "BUILD")
    for name in ("converter", "tflm_train"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    if not with_library:
        (dest / LIBRARY).unlink()
    return dest


def _pip(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args], cwd=cwd, capture_output=True,
                          text=True, env=_env())


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.mark.slow
def test_installed_wheel_runs_the_demo_from_elsewhere(tmp_path):
    assert (ROOT / LIBRARY).is_file(), "build the host library first: scripts/build_host.sh"
    src = _source_copy(tmp_path / "src")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; "
                                "print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "project_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    r = _pip("--python", str(python), "install", "--no-deps", "--no-build-isolation", str(src),
             cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    shutil.rmtree(src)  # nothing may be read from the copy either

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = subprocess.run([str(python), "-c", "import tflm_train, tflm_train.converter, "
                        "tflm_train.data, tflm_train._native as n; "
                        "print(tflm_train.__file__, tflm_train.converter.__file__, "
                        "tflm_train.data.DEMO_MODEL, n.library()._name)"],
                       cwd=elsewhere, capture_output=True, text=True, env=_env())
    assert r.returncode == 0, r.stderr
    paths = r.stdout.split()
    assert len(paths) == 4 and all(p.startswith(str(site / "tflm_train")) for p in paths), paths

    tool = venv / "bin" / "tflm-train"
    r = subprocess.run([str(tool), "demo", "--board", "none"], cwd=elsewhere,
                       capture_output=True, text=True, env=_env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert "base model: mnist_cnn.tflite" in r.stdout
    assert "held-out accuracy before" in r.stdout

    # the board table and its build data are in the wheel: a board budget works anywhere
    model = site / "tflm_train" / "data" / "mnist_cnn.tflite"
    r = subprocess.run([str(tool), "convert", str(model), "-o", "ext.tflite", "--board",
                        "nano33ble"], cwd=elsewhere, capture_output=True, text=True, env=_env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert "nano33ble  SRAM" in r.stdout and "stack bound" in r.stdout, r.stdout

    r = subprocess.run([str(tool), "demo", "--board", "an386"], cwd=elsewhere,
                       capture_output=True, text=True, env=_env())
    assert r.returncode == 1
    assert "has no source tree" in r.stderr and "--board none" in r.stderr, r.stderr
    assert "held-out" not in r.stdout  # refused before the host part ran


@pytest.mark.slow
def test_wheel_without_the_library_names_the_build_command(tmp_path):
    src = _source_copy(tmp_path / "src", with_library=False)
    r = _pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"),
             str(src), cwd=tmp_path)
    assert r.returncode != 0
    assert f"{LIBRARY} is missing" in r.stdout + r.stderr
    assert "scripts/build_host.sh" in r.stdout + r.stderr
    assert not list(tmp_path.glob("dist/*.whl"))
