"""Writes model.tflite, the extended model the checkpoint firmware trains and saves:
the demo MNIST CNN with the weights of its last two trainable layers and the biases of the last
three updated (2632 trained bytes), SGD with momentum (a float32 velocity per trained parameter,
also checkpointed: 12656 payload bytes).

    .venv/bin/python examples/firmware/checkpoint/make_model.py

tests/test_checkpoint.py checks the committed file equals what this writes today.
"""
from __future__ import annotations

from pathlib import Path

from tflm_train.data import DEMO_MODEL

HERE = Path(__file__).resolve().parent
SOURCE = DEMO_MODEL
OUTPUT = HERE / "model.tflite"


def build() -> bytes:
    import tflm_train
    return tflm_train.convert(SOURCE.read_bytes(),
                              tflm_train.SparseUpdate(n_bias=3, weights={-1: 1.0, -2: 1.0}),
                              optimizer=tflm_train.SGD(momentum=0.9))


if __name__ == "__main__":
    OUTPUT.write_bytes(build())
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes)")
