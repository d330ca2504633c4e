#!/usr/bin/env bash
# Builds the host shared library with Bazel and places it where the Python package loads it.
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build -c opt //tflm_train:libtflm_train.so
mkdir -p tflm_train/_lib
install -m 0755 bazel-bin/tflm_train/libtflm_train.so tflm_train/_lib/libtflm_train.so
